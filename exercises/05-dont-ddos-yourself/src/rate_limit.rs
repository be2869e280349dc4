//! A rate limit per client, and a larger one per address for all its
//! clients together, with the `governor` crate: past either, a client gets
//! `429 Too Many Requests` with `Retry-After` and a JSON error that says
//! which limit it was.

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
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// ANCHOR: limits
/// How many requests a second one client may send, on average. A client
/// that polls every 3 s sends one every 3 s; this is 6 times that.
pub const REQUESTS_PER_SECOND: u32 = 2;
/// How many it may send at once before the average applies: a page load
/// plus a few quick posts.
pub const BURST: u32 = 10;
/// How many requests a second one address may send, all its clients
/// together: the ceiling that a page which changes its id cannot escape.
/// Generous, because many readers share an address behind a classroom's or
/// an office's network: 20 a second is 60 pages polling every 3 s.
pub const ADDRESS_REQUESTS_PER_SECOND: u32 = 20;
/// How many one address may send at once: 100 pages opened together.
pub const ADDRESS_BURST: u32 = 100;
/// The header a client names itself with; without it, its address is used.
pub const CLIENT_ID_HEADER: &str = "x-client-id";
// ANCHOR_END: limits

/// A keyed limiter: an allowance for each key, on the clock `C`.
type Limiter<K, C> =
    RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The limiters, and the clock they read (a real one, or a test's own).
pub struct RateLimit<C: Clock> {
    /// Each client's allowance, by [`client_key`].
    clients: Limiter<String, C>,
    /// Each address's, shared by every client behind it.
    addresses: Limiter<IpAddr, C>,
    clock: C,
    checks: AtomicU64,
}

impl<C: Clock + Clone> RateLimit<C> {
    pub fn new(clock: C) -> RateLimit<C> {
        let quota = |per_second: u32, burst: u32| {
            let per_second = NonZeroU32::new(per_second).expect("a positive rate");
            let burst = NonZeroU32::new(burst).expect("a positive burst");
            Quota::per_second(per_second).allow_burst(burst)
        };
        let clients = quota(REQUESTS_PER_SECOND, BURST);
        let addresses = quota(ADDRESS_REQUESTS_PER_SECOND, ADDRESS_BURST);
        RateLimit {
            clients: RateLimiter::dashmap_with_clock(clients, clock.clone()),
            addresses: RateLimiter::dashmap_with_clock(addresses, clock.clone()),
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
    // Forget clients and addresses that have been quiet, now and then, so
    // the limiters' memory follows the clients there are, not all there
    // ever were.
    if limit.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
        limit.clients.retain_recent();
        limit.addresses.retain_recent();
    }
    // The client's own allowance first: a request it refuses does not count
    // against the address, so one runaway tab does not lock out its office.
    if let Err(not_until) = limit.clients.check_key(&client_key(&request)) {
        let wait = not_until.wait_time_from(limit.clock.now());
        return too_many(Limit::Client, wait);
    }
    // Then every client from its address together. A request that comes
    // from no known address (a test calling the app in-process) counts only
    // by its id.
    let address = request.extensions().get::<ConnectInfo<SocketAddr>>();
    if let Some(ConnectInfo(address)) = address
        && let Err(not_until) = limit.addresses.check_key(&address.ip())
    {
        let wait = not_until.wait_time_from(limit.clock.now());
        return too_many(Limit::Address, wait);
    }
    next.run(request).await
}

/// Which allowance a request ran out of.
enum Limit {
    Client,
    Address,
}

/// `429 Too Many Requests`, with `Retry-After` in whole seconds (rounded
/// up), and a JSON error that says which limit it was and what it allows.
fn too_many(limit: Limit, wait: Duration) -> Response {
    let (name, whose, per_second, burst) = match limit {
        Limit::Client => ("client", "this client", REQUESTS_PER_SECOND, BURST),
        Limit::Address => (
            "address",
            "this address, all its clients together",
            ADDRESS_REQUESTS_PER_SECOND,
            ADDRESS_BURST,
        ),
    };
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let error = format!(
        "too many requests from {whose}: at most {per_second} a second, \
         {burst} at once; try again in {seconds} s"
    );
    let headers = [(header::RETRY_AFTER, seconds.to_string())];
    let body = Json(json!({ "error": error, "limit": name }));
    (StatusCode::TOO_MANY_REQUESTS, headers, body).into_response()
}
// ANCHOR_END: middleware
