//! Exercise 07: true long polling.
//!
//! The server holds `GET /poll?since=..&wait=..` until there is something
//! new, and answers the moment a message is stored, on whichever instance:
//!
//! - [`news`]: the version every held request watches, and Redis pub/sub to
//!   move it on every instance;
//! - [`hold`]: holding a request, with one shared answer per new state
//!   (`chat_store::answers`, given);
//! - [`listen`]: Redis pub/sub messages turned into new versions;
//! - [`query`]: the long poll's `wait`;
//! - [`routes`]: the hanging `GET /poll`, and a `POST /poll` that wakes it.
//!
//! The stores are exercise 06's. `REDIS_URL` chooses one: unset, memory;
//! set, Redis.

// The `todo!()`s leave some imports and arguments unused until you write the
// code. Delete this line when you are done, so the compiler can check you.
#![allow(unused_imports, unused_variables, dead_code, unreachable_code)]

pub mod hold;
pub mod listen;
pub mod news;
pub mod query;
pub mod routes;

use axum::{
    Router, extract::DefaultBodyLimit, handler::Handler, middleware, routing::get,
};
use dont_ddos_yourself::rate_limit::{RateLimit, limit_long_polls};
use governor::clock::{Clock, DefaultClock};
use hold::Hub;
use news::News;
use redis_chat::memory::MemoryStore;
use redis_chat::redis_store::RedisStore;
use redis_chat::store::Store;
use std::sync::Arc;

pub use poll_endpoint::{MAX_BODY_BYTES, MAX_MESSAGES};

// ANCHOR: max_wait
/// The longest the server holds a request, in seconds. Well under the idle
/// timeouts of common proxies and load balancers (60 s is a usual default),
/// so none of them cuts a held request first.
pub const MAX_WAIT_SECONDS: u64 = 30;
// ANCHOR_END: max_wait

/// The page's client, given complete in the solution.
pub const CLIENT_JS: &str = include_str!("../client.js");

/// The chat page with this exercise's client, exercise 05's cursor and
/// exercise 04's backoff.
pub fn page() -> Router {
    dont_ddos_yourself::page_with_client(CLIENT_JS)
}

// ANCHOR: app
/// The app on `hub`, with exercise 05's rate limit, fitted to long polls
/// (`limit_long_polls`, in `helpers/limits`), reading `clock`.
pub fn app_with<S, C>(hub: Arc<Hub<S>>, clock: C) -> Router
where
    S: Store,
    C: Clock + Clone + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    let limit = Arc::new(RateLimit::new(clock));
    // Only a POST has a body to limit, so the limit goes on its route.
    let post = routes::post_poll::<S>.layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let poll = Router::new()
        .route("/poll", get(routes::get_poll::<S>).post(post))
        .route_layer(middleware::from_fn_with_state(limit, limit_long_polls::<C>))
        .with_state(hub);
    poll.merge(page())
        .fallback(poll_endpoint::error::not_found)
        .method_not_allowed_fallback(poll_endpoint::error::method_not_allowed)
}
// ANCHOR_END: app

/// A hub on the in-memory store: one instance, no Redis.
pub fn memory_hub() -> Arc<Hub<MemoryStore>> {
    Arc::new(Hub::new(Arc::new(MemoryStore::new(MAX_MESSAGES)), News::local()))
}

/// A hub on the Redis at `url`, woken by every instance that shares it.
/// Call it inside a tokio runtime.
pub fn redis_hub(url: &str) -> Result<Arc<Hub<RedisStore>>, String> {
    let problem =
        |error| format!("REDIS_URL={}: {error}", redis_chat::redacted(url));
    let store = RedisStore::new(url, MAX_MESSAGES).map_err(problem)?;
    let news = News::through_redis(url).map_err(problem)?;
    Ok(Arc::new(Hub::new(Arc::new(store), news)))
}

/// Serve the chat on the store `REDIS_URL` names (saying which), until
/// Ctrl-C. On Ctrl-C the held requests are answered at once, so the server
/// stops promptly.
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
