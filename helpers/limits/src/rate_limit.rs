//! A rate limit per client, and a larger one per address for all its
//! clients together, with the `governor` crate: past either, a client gets
//! `429 Too Many Requests` with `Retry-After` and a JSON error that says
//! which limit it was. Exercise 05 puts [`limit`] in front of `/poll`;
//! exercise 07 puts [`limit_long_polls`], which does not count a long poll
//! the server held.
//!
//! Why not the `tower_governor` crate, which wraps the same `governor`: its
//! limiter is fixed to governor's real clock (`DefaultClock`), so the specs
//! could not move time by hand (`FakeRelativeClock`), and it keys one limit
//! per layer, where this checks a client's allowance and its address's in
//! one step, so that a request the first refuses is not counted by the
//! second.

use axum::{
    Json,
    extract::{ConnectInfo, Query, Request, State},
    http::{Extensions, HeaderMap, HeaderName, StatusCode, Uri, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{
    Quota, RateLimiter, clock::Clock, middleware::NoOpMiddleware,
    state::keyed::DashMapStateStore,
};
use serde::Deserialize;
use serde_json::json;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
/// The limiters forget quiet clients once they hold this many, and then
/// each time they have doubled since the last sweep: they hold at most twice
/// the clients that were active then, and a sweep's cost, spread over the
/// requests that grew the map, stays the same per request.
pub const FORGET_FROM: usize = 1_024;
// ANCHOR_END: limits

/// How many requests pass between two looks at the limiters' size.
const LOOK_EVERY: u64 = 1_024;

/// A keyed limiter: an allowance for each key, on the clock `C`.
type Limiter<K, C> =
    RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The limiters, and the clock they read (a real one, or a test's own).
pub struct RateLimit<C: Clock> {
    /// Each client's allowance, by the hash of its [`Client`]: eight bytes a
    /// client, however long its id, and no copy of the id per request. (Two
    /// clients whose hashes are equal would share an allowance: with 64 bits
    /// and a key chosen at random when the server starts, one pair in
    /// 2^64, which no one can aim for.)
    clients: Limiter<u64, C>,
    /// The hash of a [`Client`], keyed at random.
    hasher: RandomState,
    /// Each address's, shared by every client behind it.
    addresses: Limiter<IpAddr, C>,
    clock: C,
    /// Requests checked so far: every [`LOOK_EVERY`]th looks at the size.
    checks: AtomicU64,
    /// How many clients and addresses the last sweep kept.
    kept: AtomicUsize,
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
            hasher: RandomState::new(),
            clock,
            checks: AtomicU64::new(0),
            kept: AtomicUsize::new(0),
        }
    }
}

impl<C: Clock> RateLimit<C> {
    /// How many clients and addresses the limiters remember now.
    pub fn tracked(&self) -> usize {
        self.clients.len() + self.addresses.len()
    }

    /// Forget the clients and addresses that have their whole allowance back
    /// (they are the same as new), if the limiters have at least doubled
    /// since the last sweep. A sweep walks every entry; sweeping on doubling
    /// makes its cost per request constant, however many clients there are,
    /// where sweeping every few requests would walk a big map again and again.
    fn forget_quiet(&self) {
        let kept = self.kept.load(Ordering::Relaxed);
        if self.tracked() < (2 * kept).max(FORGET_FROM) {
            return;
        }
        self.clients.retain_recent();
        self.addresses.retain_recent();
        self.kept.store(self.tracked(), Ordering::Relaxed);
    }
}

// ANCHOR: key
/// Who is asking: the client's own id if it sent a usable one, else its
/// address, else no one we can tell apart (they share one allowance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client<'a> {
    Id(&'a str),
    Address(IpAddr),
    Unknown,
}

impl<'a> Client<'a> {
    /// The client a request's headers and extensions name. Borrowed, not
    /// copied: the limiter hashes it, and a poll allocates nothing for it.
    pub fn of(headers: &'a HeaderMap, extensions: &Extensions) -> Client<'a> {
        // A `HeaderName` made once, not parsed from the text on every request.
        static CLIENT_ID: HeaderName = HeaderName::from_static(CLIENT_ID_HEADER);
        let named = headers
            .get(&CLIENT_ID)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|id| !id.is_empty() && id.len() <= 64);
        if let Some(id) = named {
            return Client::Id(id);
        }
        match extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(address)) => Client::Address(address.ip()),
            None => Client::Unknown,
        }
    }
}

/// The client as text, for a handler that keeps it: `id:tab-7`,
/// `ip:10.0.0.7` or `unknown`.
pub fn client_key_of(headers: &HeaderMap, extensions: &Extensions) -> String {
    match Client::of(headers, extensions) {
        Client::Id(id) => format!("id:{id}"),
        Client::Address(address) => format!("ip:{address}"),
        Client::Unknown => "unknown".to_owned(),
    }
}
// ANCHOR_END: key

// ANCHOR: layer
/// The rate limit in front of the routes it wraps, as axum middleware:
/// `.route_layer(middleware::from_fn_with_state(limit, rate_limit::limit))`.
/// Each request is let through to the route, or answered 429 at once,
/// without calling the route at all.
pub async fn limit<C: Clock>(
    State(limit): State<Arc<RateLimit<C>>>,
    request: Request,
    next: Next,
) -> Response {
    match limit.check(limit.who(&request)) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}
// ANCHOR_END: layer

// ANCHOR: long_polls
/// Marks the answer to a long poll that the server held, until news came
/// or the wait ran out: [`limit_long_polls`] does not count it.
#[derive(Debug, Clone, Copy)]
pub struct WasHeld;

/// Whether a request is a long poll: its query has a `wait` (a query that
/// cannot be read is not one).
pub fn asks_to_wait(uri: &Uri) -> bool {
    #[derive(Deserialize)]
    struct Wait {
        wait: Option<String>,
    }
    Query::<Wait>::try_from_uri(uri).is_ok_and(|Query(query)| query.wait.is_some())
}

/// [`limit`], fitted to long polls. A plain poll, a post, and a long poll
/// answered at once (the client lacked something when it asked) count as
/// in exercise 05. A long poll that the server held ([`WasHeld`]) does
/// not: the held caps limit those (`held::MAX_HELD_PER_CLIENT` at once per
/// client), and each piece of news wakes it once. In a busy chat a reader
/// asks again after every message, more often than 2 a second, and is not
/// refused for keeping up; a client that asks with a stale cursor again and
/// again is.
pub async fn limit_long_polls<C: Clock>(
    State(limit): State<Arc<RateLimit<C>>>,
    request: Request,
    next: Next,
) -> Response {
    if !asks_to_wait(request.uri()) {
        return self::limit(State(limit), request, next).await;
    }
    // Counted after the answer, when it is known whether it was held.
    let who = limit.who(&request);
    let response = next.run(request).await;
    if response.extensions().get::<WasHeld>().is_some() {
        return response;
    }
    limit.check(who).map_or_else(IntoResponse::into_response, |()| response)
}
// ANCHOR_END: long_polls

// ANCHOR: check

/// Who sent a request, as the limiters count it: the hash of its
/// [`Client`], and its address if it came over a real connection.
#[derive(Debug, Clone, Copy)]
pub struct Who {
    client: u64,
    address: Option<IpAddr>,
}

impl<C: Clock> RateLimit<C> {
    /// Who sent `request`.
    pub fn who(&self, request: &Request) -> Who {
        let client = Client::of(request.headers(), request.extensions());
        let address = request.extensions().get::<ConnectInfo<SocketAddr>>();
        Who {
            client: self.hasher.hash_one(client),
            address: address.map(|ConnectInfo(address)| address.ip()),
        }
    }

    /// Count one request from `who`: `Ok`, or why it is refused (a
    /// [`Refused`] turns into the `429` to answer instead).
    pub fn check(&self, who: Who) -> Result<(), Refused> {
        // Now and then, forget clients that have been quiet, so the
        // limiters' memory follows the clients there are, not all there ever
        // were.
        if self.checks.fetch_add(1, Ordering::Relaxed) % LOOK_EVERY == LOOK_EVERY - 1
        {
            self.forget_quiet();
        }
        // The client's own allowance first: a request it refuses does not
        // count against the address, so one runaway tab does not lock out
        // its office.
        if let Err(not_until) = self.clients.check_key(&who.client) {
            let wait = not_until.wait_time_from(self.clock.now());
            return Err(Refused { limit: Limit::Client, wait });
        }
        // Then every client from its address together. A request that comes
        // from no known address (a test calling the app in-process) counts
        // only against its client's allowance.
        if let Some(address) = who.address
            && let Err(not_until) = self.addresses.check_key(&address)
        {
            let wait = not_until.wait_time_from(self.clock.now());
            return Err(Refused { limit: Limit::Address, wait });
        }
        Ok(())
    }
}

/// A request refused: which allowance it ran out of, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Refused {
    limit: Limit,
    wait: Duration,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        too_many(self.limit, self.wait)
    }
}

/// Which allowance a request ran out of.
#[derive(Debug, Clone, Copy)]
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
// ANCHOR_END: check
