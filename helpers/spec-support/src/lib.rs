//! What the exercises' specs share, and nothing else: every exercise crate
//! has it as a dev-dependency, and its spec (`tests/<slug>/spec.rs`, with
//! the known wrong solutions beside it in `wrong_solutions.rs`) takes from
//! here what is the same in every spec.
//!
//! - [`Rule`]: a rule a chapter teaches, as a failure names it.
//! - [`learner_file`]: the file a failure sends the learner to, and
//!   [`replaced`], a wrong solution derived from the solution's file.
//! - [`requests`]: requests sent straight into an app, and the sentence a
//!   server's panic becomes.
//! - [`redis_server`]: a `redis-server` of a test's own, or a shared one.
//! - [`ClientSpec`]: a client exercise's page in the virtual browser, with
//!   [`check_rule`](ClientSpec::check_rule) and the failure message it
//!   writes; [`assert_trace_snapshot!`] compares a trace with the
//!   solution's.
//! - [`failure_message`], [`assert_names`] and [`KnownClients`]: the wrong
//!   solutions' side, a scenario run against one that must fail naming its
//!   rule.
//!
//! A spec takes the code under test as a parameter of each scenario (an
//! app, a hub, a store, a client's source), so a wrong solution runs the
//! very same scenario by calling it with its own.

mod client;
mod failure;
mod learner;
pub mod redis_server;
pub mod requests;
mod rule;
mod snapshot;

pub use client::{
    ClientSpec, KnownClients, Scenario, Scenarios, assert_breaks, assert_passes,
    shown_at, status_at, traces_match,
};
pub use failure::{
    assert_names, block_on, block_on_paused, failure_message, failure_of,
};
pub use learner::{learner_file, replaced};
pub use rule::Rule;
pub use snapshot::snapshot_failures_point_at;
