//! Runs exercise 01's spec against this crate, and its known wrong
//! solutions against the spec. Both live at the workspace root, shared
//! with the starter, which runs the spec alone: tests/01-poll-endpoint/.
extern crate ex01_poll_endpoint_solution as poll_endpoint;

#[path = "../../../tests/01-poll-endpoint/spec.rs"]
mod spec;
#[path = "../../../tests/01-poll-endpoint/wrong_solutions.rs"]
mod wrong_solutions;
