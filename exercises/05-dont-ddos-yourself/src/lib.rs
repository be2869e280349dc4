//! Exercise 05: don't DDoS yourself.
//!
//! Your work: `poll` in `src/store.rs`, `cursor` and `get_poll` in
//! `src/routes.rs`, and `cursor.js`. Run `cargo test -p ex05-dont-ddos-yourself`
//! and make the spec pass in number order.
//!
//! Exercise 01's chat server, made cheap to poll:
//!
//! - [`store`]: answers are serialized once per change, not once per poll;
//! - [`view`]: one read of the store, and the answer it gives a cursor;
//! - [`routes`]: `GET /poll?since=..` sends only what is new, with an `ETag`
//!   for `304 Not Modified`;
//! - [`rate_limit`]: a client that asks too often gets `429` and `Retry-After`
//!   (given code, in the `limits` crate: `helpers/limits/src/rate_limit.rs`).
//!
//! The client keeps a cursor (`cursor.js`) and backs off with exercise 04's
//! `backoff.js` when the server says no.

// The `todo!()`s leave some imports and arguments unused until you write the
// code. Delete this line when you are done, so the compiler can check you.
#![allow(unused_imports, unused_variables, dead_code)]

pub mod routes;
pub mod store;
pub mod view;

use axum::{
    Router, extract::DefaultBodyLimit, handler::Handler, middleware, routing::get,
};
use governor::clock::{Clock, DefaultClock};
use rate_limit::RateLimit;
use std::sync::Arc;
use store::CachedStore;

/// The rate limit, given: `helpers/limits/src/rate_limit.rs`.
pub use limits::rate_limit;

pub use poll_endpoint::{MAX_BODY_BYTES, MAX_MESSAGES};

/// The page's client, given complete.
pub const CLIENT_JS: &str = include_str!("../client.js");
/// The cursor: what to ask for, and how to merge what comes back.
pub const CURSOR_JS: &str = include_str!("../cursor.js");
/// Exercise 04's backoff, finished: the client honours 429 and Retry-After with it.
pub const BACKOFF_JS: &str = backoff::BACKOFF_JS;

/// The app on a fresh store, limiting clients on the real clock.
pub fn app() -> Router {
    app_with(Arc::new(CachedStore::new(MAX_MESSAGES)), DefaultClock::default())
}

/// The chat page with this exercise's client and its modules: everything the
/// server serves besides `/poll` (exercise 06 serves it unchanged).
pub fn page() -> Router {
    page_with_client(CLIENT_JS)
}

/// The same page with another `/client.js`, which may import this
/// exercise's cursor and backoff modules (exercise 07's client does).
pub fn page_with_client(client_js: &'static str) -> Router {
    let scripts = [
        ("/client.js", client_js),
        ("/cursor.js", CURSOR_JS),
        ("/backoff.js", BACKOFF_JS),
    ];
    let scripts =
        scripts.into_iter().fold(Router::new(), |router, (path, source)| {
            router.route(
                path,
                get(move || async move { chat_page::javascript(source) }),
            )
        });
    scripts.merge(chat_page::routes())
}

// ANCHOR: app
/// The app on `store`, with the rate limit reading `clock` (tests pass a
/// clock they move by hand).
pub fn app_with<C>(store: Arc<CachedStore>, clock: C) -> Router
where
    C: Clock + Clone + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    let limit = Arc::new(RateLimit::new(clock));
    // Only a POST has a body to limit, so the limit goes on its route.
    let post = routes::post_poll.layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let poll = Router::new()
        .route("/poll", get(routes::get_poll).post(post))
        .route_layer(middleware::from_fn_with_state(limit, rate_limit::limit::<C>))
        .with_state(store);
    poll.merge(page())
        .fallback(poll_endpoint::error::not_found)
        .method_not_allowed_fallback(poll_endpoint::error::method_not_allowed)
}
// ANCHOR_END: app
