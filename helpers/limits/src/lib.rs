//! The limits exercises 05 to 07 put on the chat server: given code that
//! the chapters explain but the learner does not write.
//!
//! - [`rate_limit`]: requests per client and per address (chapter 05,
//!   "Rate limits the client honours"), and its fitting to long polls
//!   (chapter 07);
//! - [`held`]: how many requests one server, and one client, may have held
//!   at once (chapter 07).

pub mod held;
pub mod rate_limit;
