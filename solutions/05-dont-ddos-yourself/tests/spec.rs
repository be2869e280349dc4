//! Runs exercise 05's spec against this crate, and its known wrong
//! solutions against the spec. Both live at the workspace root, shared
//! with the starter, which runs the spec alone: tests/05-dont-ddos-yourself/.
extern crate ex05_dont_ddos_yourself_solution as dont_ddos_yourself;

#[path = "../../../tests/05-dont-ddos-yourself/spec.rs"]
mod spec;
#[path = "../../../tests/05-dont-ddos-yourself/wrong_solutions.rs"]
mod wrong_solutions;
