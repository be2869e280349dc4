//! Runs exercise 08's spec against this crate, and its known wrong
//! solutions against the spec. Both live at the workspace root, shared
//! with the starter, which runs the spec alone: tests/08-server-sent-events/.
extern crate ex08_server_sent_events_solution as server_sent_events;

#[path = "../../../tests/08-server-sent-events/spec.rs"]
mod spec;
#[path = "../../../tests/08-server-sent-events/wrong_solutions.rs"]
mod wrong_solutions;
