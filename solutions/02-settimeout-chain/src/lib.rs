//! Exercise 02: chain `setTimeout`, so polls never overlap.
//!
//! The server is exercise 01's, finished. This exercise is the page's
//! client, `client.js` next to this crate's `Cargo.toml`: it is compiled in
//! and served at `/client.js`.

use axum::Router;

/// The client this exercise is about.
pub const CLIENT_JS: &str = include_str!("../client.js");

/// How long the client waits after each answer before it polls again, as
/// `INTERVAL_MS` in `client.js` says.
pub const INTERVAL_MS: u64 = 3000;

/// Exercise 01's poll endpoint and chat page, serving this client.
pub fn app() -> Router {
    poll_endpoint::app_with_client(CLIENT_JS)
}
