//! What a polling client did, and the course's rules about it.
//!
//! A [`Trace`] is what happened, in order: requests sent and answered, the
//! page hidden and shown, errors. [`checks`] are the rules a chapter teaches
//! (never two polls in flight, no polls while hidden, the backoff schedule,
//! `Retry-After`), each returning a message that says what went wrong.
//!
//! The virtual browser writes traces from a client run on a virtual clock,
//! and the specs check them. The classroom writes traces from the real
//! traffic of a room of learners, and flags each learner with the same
//! checks, so the projector and the specs never disagree.

pub mod checks;
mod trace;

pub use trace::{Event, Outcome, Span, Trace};
