//! Runs exercise 08's spec against this crate. The spec itself is shared with
//! the solution and lives at the workspace root: tests/08-server-sent-events/spec.rs.
extern crate ex08_server_sent_events as server_sent_events;

#[path = "../../../tests/08-server-sent-events/spec.rs"]
mod spec;
