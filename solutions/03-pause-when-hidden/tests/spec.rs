//! Runs exercise 03's spec against this crate, and its known wrong
//! solutions against the spec. Both live at the workspace root, shared
//! with the starter, which runs the spec alone: tests/03-pause-when-hidden/.
extern crate ex03_pause_when_hidden_solution as pause_when_hidden;

#[path = "../../../tests/03-pause-when-hidden/spec.rs"]
mod spec;
#[path = "../../../tests/03-pause-when-hidden/wrong_solutions.rs"]
mod wrong_solutions;
