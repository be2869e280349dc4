//! The long poll's own query parameter, `wait`: how long the client is
//! willing to wait for news.

use crate::MAX_WAIT_SECONDS;
use axum::http::StatusCode;
use poll_endpoint::error::ApiError;
use serde::Deserialize;
use std::time::Duration;

/// The part of the query only long polling reads: `wait`, as sent
/// ([`wait_for`] checks it).
#[derive(Debug, Default, Deserialize)]
pub struct WaitQuery {
    pub wait: Option<String>,
}

// ANCHOR: wait_for
/// Read `wait=25`: how many seconds the client is willing to wait, a whole
/// number. More than [`MAX_WAIT_SECONDS`] is not an error: the server holds
/// for its own maximum, and the client simply asks again.
pub fn wait_for(value: &str) -> Result<Duration, ApiError> {
    // TODO: a non-empty run of ASCII digits is a number of seconds (one too
    // big for a u64 is simply "a lot"); anything else is a 400 `ApiError`
    // whose message says what `wait` must be, word for word:
    //   `wait` must be how many seconds to wait for news, a whole number
    //   like 25 (at most 30 are used); got "soon"
    // (30 is MAX_WAIT_SECONDS, "soon" the value as sent, quoted with {:?}).
    // The result is at most MAX_WAIT_SECONDS. Rule R3 (s03); chapter 07,
    // «The request».
    todo!("wait_for: read the `wait` parameter")
}
// ANCHOR_END: wait_for
