//! Runs exercise 02's spec against this crate, and its known wrong
//! solutions against the spec. Both live at the workspace root, shared
//! with the starter, which runs the spec alone: tests/02-settimeout-chain/.
extern crate ex02_settimeout_chain_solution as settimeout_chain;

#[path = "../../../tests/02-settimeout-chain/spec.rs"]
mod spec;
#[path = "../../../tests/02-settimeout-chain/wrong_solutions.rs"]
mod wrong_solutions;
