//! Runs exercise 03's spec against this crate. The spec itself is shared with
//! the solution and lives at the workspace root: tests/03-pause-when-hidden/spec.rs.
extern crate ex03_pause_when_hidden as pause_when_hidden;

#[path = "../../../tests/03-pause-when-hidden/spec.rs"]
mod spec;
