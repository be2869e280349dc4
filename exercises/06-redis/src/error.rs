//! Every way a request to this server can fail, as one type that handlers
//! return with `?`: a request that is wrong (exercise 01's `ApiError`, a 4xx)
//! or a store that cannot answer (`503`, see `routes::store_unavailable`).

use crate::routes::store_unavailable;
use crate::store::StoreError;
use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use poll_endpoint::error::ApiError;
use poll_endpoint::message::Invalid;

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

/// Say why the store failed in the server's log, at most every 10 s: an
/// outage fails every request, and one line says as much as thousands.
fn log_now_and_then(error: &StoreError) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST_SAID: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let last = LAST_SAID.load(Ordering::Relaxed);
    if now >= last + 10
        && LAST_SAID
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        eprintln!("warning: the message store failed: {} (answering 503)", error.0);
    }
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
