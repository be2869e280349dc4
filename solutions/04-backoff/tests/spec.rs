//! Runs exercise 04's spec against this crate. The spec itself is shared with
//! the solution and lives at the workspace root: tests/04-backoff/spec.rs.
extern crate ex04_backoff_solution as backoff;

#[path = "../../../tests/04-backoff/spec.rs"]
mod spec;
