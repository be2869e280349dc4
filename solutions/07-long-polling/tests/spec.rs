//! Runs exercise 07's spec against this crate, and its known wrong
//! solutions against the spec. Both live at the workspace root, shared
//! with the starter, which runs the spec alone: tests/07-long-polling/.
extern crate ex07_long_polling_solution as long_polling;

#[path = "../../../tests/07-long-polling/spec.rs"]
mod spec;
#[path = "../../../tests/07-long-polling/wrong_solutions.rs"]
mod wrong_solutions;
