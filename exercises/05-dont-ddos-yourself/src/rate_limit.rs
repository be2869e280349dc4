//! A rate limit per client, with the `governor` crate: past the limit, a
//! client gets `429 Too Many Requests` with `Retry-After` and a JSON error.

use axum::{
    Json,
    extract::{ConnectInfo, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{
    Quota, RateLimiter, clock::Clock, middleware::NoOpMiddleware,
    state::keyed::DashMapStateStore,
};
use serde_json::json;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

// ANCHOR: limits
/// How many requests a second one client may send, on average. A client
/// that polls every 3 s sends one every 3 s; this is 6 times that.
pub const REQUESTS_PER_SECOND: u32 = 2;
/// How many it may send at once before the average applies: a page load
/// plus a few quick posts.
pub const BURST: u32 = 10;
/// The header a client names itself with; without it, its address is used.
pub const CLIENT_ID_HEADER: &str = "x-client-id";
// ANCHOR_END: limits

/// The limiter, and the clock it reads (a real one, or a test's own).
pub struct RateLimit<C: Clock> {
    limiter: RateLimiter<
        String,
        DashMapStateStore<String>,
        C,
        NoOpMiddleware<C::Instant>,
    >,
    clock: C,
    checks: AtomicU64,
}

impl<C: Clock + Clone> RateLimit<C> {
    pub fn new(clock: C) -> RateLimit<C> {
        let per_second =
            NonZeroU32::new(REQUESTS_PER_SECOND).expect("a positive rate");
        let burst = NonZeroU32::new(BURST).expect("a positive burst");
        let quota = Quota::per_second(per_second).allow_burst(burst);
        RateLimit {
            limiter: RateLimiter::dashmap_with_clock(quota, clock.clone()),
            clock,
            checks: AtomicU64::new(0),
        }
    }
}

// ANCHOR: key
/// Who is asking: the client's own id if it sent a usable one, else its
/// address, else one shared bucket.
pub fn client_key(request: &Request) -> String {
    client_key_of(request.headers(), request.extensions())
}

/// [`client_key`] from a request's parts, for a handler that has them.
pub fn client_key_of(
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> String {
    let named = headers
        .get(CLIENT_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= 64);
    if let Some(id) = named {
        return format!("id:{id}");
    }
    match extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(address)) => format!("ip:{}", address.ip()),
        None => "unknown".to_owned(),
    }
}
// ANCHOR_END: key

// ANCHOR: middleware
/// Middleware: let the request through, or answer 429.
pub async fn limit<C>(
    State(limit): State<Arc<RateLimit<C>>>,
    request: Request,
    next: Next,
) -> Response
where
    C: Clock + Send + Sync + 'static,
{
    // Forget clients that have been quiet, now and then, so the limiter's
    // memory follows the clients there are, not all there ever were.
    if limit.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
        limit.limiter.retain_recent();
    }
    match limit.limiter.check_key(&client_key(&request)) {
        Ok(_) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(limit.clock.now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let error = format!(
                "too many requests from this client: at most \
                 {REQUESTS_PER_SECOND} a second, {BURST} at once; \
                 try again in {seconds} s"
            );
            let headers = [(header::RETRY_AFTER, seconds.max(1).to_string())];
            (StatusCode::TOO_MANY_REQUESTS, headers, Json(json!({ "error": error })))
                .into_response()
        }
    }
}
// ANCHOR_END: middleware
