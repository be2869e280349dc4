//! Exercise 08: the chat pushed with Server-Sent Events.
//!
//! `GET /events` answers once and never finishes: each message stored is
//! written to the open answer as an event, the moment it is stored. The
//! browser's `EventSource` reads it, and when the answer breaks it connects
//! again by itself, saying which event it saw last (`Last-Event-ID`). What
//! the stream sends comes from exercise 07's hub (its news and its shared
//! answers), read with exercise 05's cursor:
//!
//! - [`resume`]: where a stream starts, from `Last-Event-ID` or `?since=`,
//!   and the event id that says it;
//! - [`events`]: an answer from the store turned into events;
//! - [`feed`]: the task that writes a stream's events into its queue, for as
//!   long as the client reads them;
//! - [`routes`]: `GET /events` (its `retry:`, keep-alive and caps), and
//!   exercise 07's `GET` and `POST /poll`, unchanged.
//!
//! The stores are exercise 06's. `REDIS_URL` chooses one: unset, memory;
//! set, Redis.

pub mod events;
pub mod feed;
pub mod resume;
pub mod routes;

use axum::{
    Router, extract::DefaultBodyLimit, handler::Handler, middleware, routing::get,
};
use dont_ddos_yourself::rate_limit::{RateLimit, limit_long_polls};
use governor::clock::{Clock, DefaultClock};
use long_polling::hold::Hub;
use redis_chat::store::Store;
use std::sync::Arc;
use std::time::Duration;

pub use long_polling::{MAX_BODY_BYTES, MAX_MESSAGES, memory_hub, redis_hub};

// ANCHOR: limits
/// How often an idle stream gets a comment line (`:`), which the page never
/// sees. Proxies and load balancers close a connection that says nothing
/// for a while (60 s is a usual default); a line every 15 s keeps it open,
/// and a write to a client that has gone fails, so the server learns it.
pub const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);

/// Each stream's `retry:` is drawn between these two: how long the browser
/// waits before it connects again when the stream breaks. Drawn at random,
/// so that after a restart the readers come back spread over the range,
/// not all in the same instant (chapter 04's jitter, from the server).
pub const RETRY_MIN: Duration = Duration::from_secs(1);
pub const RETRY_MAX: Duration = Duration::from_secs(6);

/// The most events waiting in one stream's queue. A reader that keeps up
/// holds a few; a catch-up of every stored message and a reset fit. A
/// reader that stops reading fills it, and is dropped: the server keeps no
/// more than this for anyone, and the reader, if it comes back, resumes from
/// its last id.
pub const MAX_QUEUED_EVENTS: usize = 64;
// ANCHOR_END: limits

/// The page's client, given complete in the solution.
pub const CLIENT_JS: &str = include_str!("../client.js");

/// The chat page with this exercise's client, exercise 05's cursor and
/// exercise 04's backoff.
pub fn page() -> Router {
    dont_ddos_yourself::page_with_client(CLIENT_JS)
}

// ANCHOR: app
/// The app on `hub`: `GET /events`, and exercise 07's `/poll` (a post wakes
/// the streams as it wakes held polls), behind exercise 05's rate limit.
pub fn app_with<S, C>(hub: Arc<Hub<S>>, clock: C) -> Router
where
    S: Store,
    C: Clock + Clone + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    let limit = Arc::new(RateLimit::new(clock));
    let post = long_polling::routes::post_poll::<S>
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    // The page's name moves from the URL to its header before the limit
    // reads it: the later layer runs first.
    let routes = Router::new()
        .route("/events", get(routes::get_events::<S>))
        .route("/poll", get(long_polling::routes::get_poll::<S>).post(post))
        .route_layer(middleware::from_fn_with_state(limit, limit_long_polls::<C>))
        .route_layer(middleware::from_fn(routes::named_in_the_url))
        .with_state(hub);
    routes
        .merge(page())
        .fallback(poll_endpoint::error::not_found)
        .method_not_allowed_fallback(poll_endpoint::error::method_not_allowed)
}
// ANCHOR_END: app

/// Serve the chat on the store `REDIS_URL` names (saying which), until
/// Ctrl-C. On Ctrl-C every stream ends at once, so the server stops
/// promptly; the browsers connect again, to whichever server is there.
pub async fn serve(name: &str) -> Result<(), String> {
    println!("Messages: {}", redis_chat::store_choice());
    async fn on<S: Store>(name: &str, hub: Arc<Hub<S>>) -> Result<(), String> {
        let app = app_with(hub.clone(), DefaultClock::default());
        chat_page::serve_until_stopped(name, app, move || hub.stop()).await
    }
    match std::env::var("REDIS_URL") {
        Ok(url) => on(name, redis_hub(&url)?).await,
        Err(_) => on(name, memory_hub()).await,
    }
}
