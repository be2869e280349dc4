//! Runs exercise 07's spec against this crate. The spec itself is shared with
//! the solution and lives at the workspace root: tests/07-long-polling/spec.rs.
extern crate ex07_long_polling as long_polling;

#[path = "../../../tests/07-long-polling/spec.rs"]
mod spec;
