//! Runs exercise 01's spec against this crate. The spec itself is shared with
//! the solution and lives at the workspace root: tests/01-poll-endpoint/spec.rs.
extern crate ex01_poll_endpoint as poll_endpoint;

#[path = "../../../tests/01-poll-endpoint/spec.rs"]
mod spec;
