//! Exercise 06: one chat, several servers, through Redis.
//!
//! Your work: `store_unavailable` in `src/routes.rs`, and the APPEND script,
//! `push` and `poll` in `src/redis_store.rs`. Run `cargo test -p ex06-redis`;
//! its Redis tests need `redis-server` installed.
//!
//! - [`store`]: what the server needs from a store, as a trait;
//! - [`memory`]: the in-memory store (the default, with no Redis at all);
//! - [`redis_store`]: the chat in Redis, so any number of instances serve it;
//! - [`routes`]: exercise 05's poll endpoint on any store, with idempotent
//!   posts and `503` while the store is down.
//!
//! `REDIS_URL` chooses the store: unset, memory; set, Redis. Instances with
//! the same URL serve one chat; `?chat=<name>` at its end names another chat
//! on the same Redis (see [`redis_store::Keys`]).

// The `todo!()`s leave some imports and arguments unused until you write the
// code. Delete this line when you are done, so the compiler can check you.
#![allow(unused_imports, unused_variables, dead_code)]

pub mod error;
pub mod memory;
pub mod redis_store;
pub mod routes;
pub mod store;

use axum::{Router, extract::DefaultBodyLimit, handler::Handler, routing::get};
use dont_ddos_yourself::rate_limit::{LimitLayer, RateLimit};
use governor::clock::{Clock, DefaultClock};
use std::sync::Arc;
use store::Store;

pub use poll_endpoint::{MAX_BODY_BYTES, MAX_MESSAGES};

/// A Redis URL fit to print: its password, if it has one, as `***`.
pub fn redacted(url: &str) -> String {
    match redis::parse_redis_url(url) {
        Some(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Some(parsed) => parsed.to_string(),
        None => "(a URL that is not a Redis URL)".to_owned(),
    }
}

/// Which store `REDIS_URL` asks for, in words, for the start-up line.
pub fn store_choice() -> String {
    match std::env::var("REDIS_URL") {
        Ok(url) => format!("Redis at {}", redacted(&url)),
        Err(_) => {
            "in memory (set REDIS_URL to share the chat through Redis)".to_owned()
        }
    }
}

/// The app on the store `REDIS_URL` names, or in memory when it is unset.
pub fn app() -> Result<Router, String> {
    Ok(match std::env::var("REDIS_URL") {
        Ok(url) => {
            let store = redis_store::RedisStore::new(&url, MAX_MESSAGES)
                .map_err(|e| format!("REDIS_URL={}: {e}", redacted(&url)))?;
            app_with(Arc::new(store), DefaultClock::default())
        }
        Err(_) => app_with(
            Arc::new(memory::MemoryStore::new(MAX_MESSAGES)),
            DefaultClock::default(),
        ),
    })
}

// ANCHOR: app
/// The app on `store`, with exercise 05's rate limit reading `clock`.
pub fn app_with<S, C>(store: Arc<S>, clock: C) -> Router
where
    S: Store,
    C: Clock + Clone + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    let limit = Arc::new(RateLimit::new(clock));
    // Only a POST has a body to limit, so the limit goes on that route
    // alone: around the whole router it was one more layer for every
    // poll to pass (chapter 05, "where the time goes").
    let post = routes::post_poll::<S>.layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let poll = Router::new()
        .route("/poll", get(routes::get_poll::<S>).post(post))
        .route_layer(LimitLayer::new(limit))
        .with_state(store);
    poll.merge(dont_ddos_yourself::page())
        .fallback(poll_endpoint::error::not_found)
        .method_not_allowed_fallback(poll_endpoint::error::method_not_allowed)
}
// ANCHOR_END: app
