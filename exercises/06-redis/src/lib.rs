//! Exercise 06: one chat, several servers, through Redis.
//!
//! Your work: `store_unavailable` in `src/error.rs`, and the APPEND script,
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
pub mod redis_store;
pub mod routes;

/// The store's interface, and the in-memory store (given code, in the
/// `chat-store` crate: `helpers/chat-store/src/`).
pub use chat_store::{memory, redacted, store, store_choice};

use axum::{
    Router, extract::DefaultBodyLimit, handler::Handler, middleware, routing::get,
};
use dont_ddos_yourself::rate_limit::{self, RateLimit};
use governor::clock::{Clock, DefaultClock};
use std::sync::Arc;
use store::Store;

pub use poll_endpoint::{MAX_BODY_BYTES, MAX_MESSAGES};

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

/// Serve the chat on the store `REDIS_URL` names (saying which), until
/// Ctrl-C: what `cargo run` does.
pub async fn serve(name: &str) -> Result<(), String> {
    println!("Messages: {}", store_choice());
    chat_page::serve(name, app()?).await
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
    // Only a POST has a body to limit, so the limit goes on its route.
    let post = routes::post_poll::<S>.layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let poll = Router::new()
        .route("/poll", get(routes::get_poll::<S>).post(post))
        .route_layer(middleware::from_fn_with_state(limit, rate_limit::limit::<C>))
        .with_state(store);
    poll.merge(dont_ddos_yourself::page())
        .fallback(poll_endpoint::error::not_found)
        .method_not_allowed_fallback(poll_endpoint::error::method_not_allowed)
}
// ANCHOR_END: app
