//! Runs exercise 02's spec against this crate. The spec itself is shared with
//! the solution and lives at the workspace root: tests/02-settimeout-chain/spec.rs.
extern crate ex02_settimeout_chain_solution as settimeout_chain;

#[path = "../../../tests/02-settimeout-chain/spec.rs"]
mod spec;
