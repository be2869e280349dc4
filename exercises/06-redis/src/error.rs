//! Every way a request to this server can fail, as one type that handlers
//! return with `?`: a request that is wrong (exercise 01's `ApiError`, a 4xx)
//! or a store that cannot answer (`503`, see [`store_unavailable`]).

use crate::store::StoreError;
use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use poll_endpoint::error::ApiError;
use poll_endpoint::message::Invalid;
use serde_json::json;

// ANCHOR: poll_error
/// Why a request got no answer of its own.
#[derive(Debug)]
pub enum PollError {
    /// The request is wrong: a 4xx that says what to fix.
    Request(ApiError),
    /// The store is down or too slow: `503` with `Retry-After`.
    Store(StoreError),
}

impl IntoResponse for PollError {
    fn into_response(self) -> Response {
        match self {
            PollError::Request(error) => error.into_response(),
            PollError::Store(error) => {
                log_now_and_then(&error);
                store_unavailable(error)
            }
        }
    }
}

/// Say why the store failed in the server's log: each different reason at
/// most every 10 s, since an outage fails every request and one line says as
/// much as thousands, while a new reason (a script error after "connection
/// refused", say) is shown at once. At most 16 reasons are remembered.
fn log_now_and_then(error: &StoreError) {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    static SAID: Mutex<Vec<(String, Instant)>> = Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let now = Instant::now();
    said.retain(|(_, at)| now.duration_since(*at) < Duration::from_secs(10));
    if said.iter().any(|(reason, _)| *reason == error.0) || said.len() >= 16 {
        return;
    }
    said.push((error.0.clone(), now));
    eprintln!("warning: the message store failed: {} (answering 503)", error.0);
}
// ANCHOR_END: poll_error

impl From<ApiError> for PollError {
    fn from(error: ApiError) -> Self {
        PollError::Request(error)
    }
}

impl From<StoreError> for PollError {
    fn from(error: StoreError) -> Self {
        PollError::Store(error)
    }
}

/// A body axum's `Json` refused, in exercise 01's words.
impl From<JsonRejection> for PollError {
    fn from(rejection: JsonRejection) -> Self {
        PollError::Request(rejection.into())
    }
}

/// A message that breaks exercise 01's rules.
impl From<Invalid> for PollError {
    fn from(invalid: Invalid) -> Self {
        PollError::Request(invalid.into())
    }
}

// ANCHOR: unavailable
/// How long a client should wait when the store is down: long enough for a
/// restart, short enough not to lose readers.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// The store is down: `503 Service Unavailable`, `Retry-After`, and the
/// reason in plain words; the server keeps serving. A 503 to a POST does not
/// always mean "not stored": when Redis ran the script but its answer came
/// after the 1 s timeout, the message is there. A retry with the same
/// idempotency key then gets it back instead of storing it twice.
pub fn store_unavailable(error: StoreError) -> Response {
    // TODO: `503 Service Unavailable`, with `Retry-After` saying
    // RETRY_AFTER_SECONDS and the JSON body
    // `{"error": "<error>; try again in 5 s"}` (`error` displays as
    // "the message store is unavailable"). Rule R1 (s01, s06); chapter 06,
    // «When Redis is down».
    todo!("store_unavailable: 503, Retry-After and a JSON error")
}
// ANCHOR_END: unavailable
