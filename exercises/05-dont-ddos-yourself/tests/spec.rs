//! Runs exercise 05's spec against this crate. The spec itself is shared with
//! the solution and lives at the workspace root: tests/05-dont-ddos-yourself/spec.rs.
extern crate ex05_dont_ddos_yourself as dont_ddos_yourself;

#[path = "../../../tests/05-dont-ddos-yourself/spec.rs"]
mod spec;
