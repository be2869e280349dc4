//! Runs exercise 04's spec against this crate, and its known wrong
//! solutions against the spec. Both live at the workspace root, shared
//! with the starter, which runs the spec alone: tests/04-backoff/.
extern crate ex04_backoff_solution as backoff;

#[path = "../../../tests/04-backoff/spec.rs"]
mod spec;
#[path = "../../../tests/04-backoff/wrong_solutions.rs"]
mod wrong_solutions;
