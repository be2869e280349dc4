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
    let seconds = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
        .then(|| value.parse::<u64>().unwrap_or(u64::MAX))
        .ok_or_else(|| ApiError {
            status: StatusCode::BAD_REQUEST,
            message: format!(
                "`wait` must be how many seconds to wait for news, a whole \
                 number like 25 (at most {MAX_WAIT_SECONDS} are used); \
                 got {value:?}"
            ),
        })?;
    Ok(Duration::from_secs(seconds.min(MAX_WAIT_SECONDS)))
}
// ANCHOR_END: wait_for
