//! Exercise 04: back off when polls fail, with jitter.
//!
//! The server is exercise 01's, finished. The client is exercise 03's
//! animation-frame loop, now asking `backoff.js` how long to wait before
//! each poll; `backoff.js` is this exercise. Both are compiled in and served
//! at `/client.js` and `/backoff.js`.

use axum::{Router, routing::get};

/// The page's client, given complete: it asks [`BACKOFF_JS`] how long to wait.
pub const CLIENT_JS: &str = include_str!("../client.js");

/// The retry schedule and its state: what this exercise is about.
pub const BACKOFF_JS: &str = include_str!("../backoff.js");

/// The normal wait between polls, as `INTERVAL_MS` in `backoff.js` says.
pub const INTERVAL_MS: u64 = 3000;

/// The waits after 1, 2, 3 and more failures in a row, as
/// `RETRY_SCHEDULE_MS` in `backoff.js` says: the last one is the cap.
pub const RETRY_SCHEDULE_MS: [u64; 4] = [0, 3000, 10_000, 30_000];

/// How much a `Retry-After` longer than the schedule's wait is spread, as
/// `RETRY_AFTER_SPREAD` in `backoff.js` says: the wait is the server's, plus
/// up to this part of it again, at random.
pub const RETRY_AFTER_SPREAD: f64 = 0.5;

/// Exercise 01's poll endpoint and chat page, serving this client and its
/// backoff module.
pub fn app() -> Router {
    poll_endpoint::app_with_client(CLIENT_JS)
        .route("/backoff.js", get(|| async { chat_page::javascript(BACKOFF_JS) }))
}
