//! `GET /poll?since=..&epoch=..&wait=..`, the hanging GET, and `POST /poll`,
//! which wakes it. Without `wait`, `GET /poll` is exercise 06's, unchanged:
//! interval clients keep working against this server.

use crate::MAX_WAIT_SECONDS;
use crate::hold::{Hub, MAX_HELD_PER_CLIENT, NotHeld};
use axum::http::Extensions;
use axum::{
    Json,
    extract::{FromRequestParts, Request, State, rejection::JsonRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use dont_ddos_yourself::rate_limit::{Admitted, RateLimit, client_key_of};
use dont_ddos_yourself::routes::{PollQuery, cursor, read_params};
use futures_util::future::{BoxFuture, Either};
use governor::clock::Clock;
use poll_endpoint::error::ApiError;
use poll_endpoint::message::{Message, NewMessage};
use redis_chat::error::PollError;
use redis_chat::store::Store;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, Service};

/// The part of the query only long polling reads, read as exercise 05
/// reads `since` and `epoch`.
#[derive(Debug)]
pub struct WaitQuery {
    wait: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for WaitQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let [wait] = read_params(parts.uri.query().unwrap_or_default(), ["wait"])?;
        Ok(WaitQuery { wait })
    }
}

// ANCHOR: wait_for
/// Read `wait=25`: how many seconds the client is willing to wait, a whole
/// number. More than [`MAX_WAIT_SECONDS`] is not an error: the server holds
/// for its own maximum, and the client simply asks again.
pub fn wait_for(value: &str) -> Result<Duration, ApiError> {
    let seconds = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
        .then(|| value.parse::<u64>().unwrap_or(u64::MAX))
        .ok_or_else(|| ApiError {
            status: StatusCode::BAD_REQUEST,
            message: format!(
                "`wait` must be how many seconds to wait for news, a whole \
                 number like 25 (at most {MAX_WAIT_SECONDS} are used); \
                 got {value:?}"
            ),
        })?;
    Ok(Duration::from_secs(seconds.min(MAX_WAIT_SECONDS)))
}
// ANCHOR_END: wait_for

// ANCHOR: get_poll
/// `GET /poll?since=41&epoch=..&wait=25`: what is new, as soon as there is
/// something. After `wait` seconds with nothing, `200` and an empty `msg`.
pub async fn get_poll<S: Store>(
    State(hub): State<Arc<Hub<S>>>,
    query: PollQuery,
    long: WaitQuery,
    request: Request,
) -> Result<Response, PollError> {
    // The request itself, taken apart: its headers and extensions without
    // a copy of either (the `HeaderMap` and `Extensions` extractors clone).
    let (Parts { headers, extensions, .. }, _) = request.into_parts();
    let Some(wait) = long.wait else {
        return redis_chat::routes::get_poll(
            State(hub.store.clone()),
            query,
            headers,
        )
        .await;
    };
    let (cursor, wait) = (cursor(&query)?, wait_for(&wait)?);
    // A slot first: past the caps, say so at once instead of holding.
    let _slot = match hub.slot(&client_key_of(&headers, &extensions)) {
        Ok(slot) => slot,
        Err(not_held) => return Ok(not_held_answer(not_held)),
    };
    let (version, asked) = (*hub.news.subscribe().borrow(), Instant::now());
    let body = hub.wait(cursor, wait).await?;
    let json = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Each answer is for one moment and one cursor: nothing to keep.
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let mut response = ([json, cache], body).into_response();
    // Held until news came, or until a wait of a second or more ran out: say
    // so to `LongPollLimit`. (`wait=0` is held for no time at all: it counts.)
    let waited_out = !wait.is_zero() && asked.elapsed() >= wait;
    if *hub.news.subscribe().borrow() != version || waited_out {
        response.extensions_mut().insert(WasHeld);
    }
    Ok(response)
}
// ANCHOR_END: get_poll

/// Marks the answer to a long poll that the server held, until news came
/// or the wait ran out: [`LongPollLimit`] does not count it.
#[derive(Debug, Clone, Copy)]
pub struct WasHeld;

// ANCHOR: limit
/// Whether a request is a long poll: its query has a `wait`. (A name
/// written percent-encoded, `%77ait=25`, is not seen here, though
/// `WaitQuery` reads it: such a long poll is held, and counted as a plain
/// poll is, at once. Stricter, and no browser sends it.)
pub fn asks_to_wait(uri: &axum::http::Uri) -> bool {
    let query = uri.query().unwrap_or_default();
    query.split('&').any(|pair| pair.starts_with("wait="))
}

/// Exercise 05's rate limit, fitted to long polls. A plain poll, a post, and
/// a long poll answered at once (the client lacked something when it asked)
/// count as in exercise 05. A long poll that the server held does not: the
/// held caps limit those ([`MAX_HELD_PER_CLIENT`] at once per client), and
/// each piece of news wakes it once. In a busy chat a reader asks again after
/// every message, more often than 2 a second, and is not refused for
/// keeping up; a client that asks with a stale cursor again and again is.
///
/// A tower layer, as exercise 05's `LimitLayer` is, for the same reason:
/// a plain poll pays for the check alone.
#[derive(Clone)]
pub struct LongPollLimit<C: Clock> {
    limit: Arc<RateLimit<C>>,
}

impl<C: Clock> LongPollLimit<C> {
    pub fn new(limit: Arc<RateLimit<C>>) -> LongPollLimit<C> {
        LongPollLimit { limit }
    }
}
// ANCHOR_END: limit

impl<S, C: Clock> Layer<S> for LongPollLimit<C> {
    type Service = LongPollLimited<S, C>;

    fn layer(&self, route: S) -> LongPollLimited<S, C> {
        LongPollLimited { route, limit: self.limit.clone() }
    }
}

/// A route behind [`LongPollLimit`].
#[derive(Clone)]
pub struct LongPollLimited<S, C: Clock> {
    route: S,
    limit: Arc<RateLimit<C>>,
}

impl<S, C> Service<Request> for LongPollLimited<S, C>
where
    S: Service<Request, Response = Response>,
    S::Future: Send + 'static,
    C: Clock + Send + Sync + 'static,
{
    type Response = Response;
    type Error = S::Error;
    /// A plain poll's answer is exercise 05's; a long poll's is boxed, which
    /// costs next to nothing beside the seconds it may be held.
    type Future = Either<
        Admitted<S::Future, S::Error>,
        BoxFuture<'static, Result<Response, S::Error>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.route.poll_ready(cx)
    }

    // ANCHOR: limit_call
    fn call(&mut self, request: Request) -> Self::Future {
        if !asks_to_wait(request.uri()) {
            return Either::Left(self.limit.admit(request, &mut self.route));
        }
        // Counted after the answer, when it is known whether it was held.
        let (limit, who) = (self.limit.clone(), self.limit.who(&request));
        let answer = self.route.call(request);
        Either::Right(Box::pin(async move {
            let response = answer.await?;
            if response.extensions().get::<WasHeld>().is_some() {
                return Ok(response);
            }
            Ok(limit
                .check(who)
                .map_or_else(IntoResponse::into_response, |()| response))
        }))
    }
    // ANCHOR_END: limit_call
}

/// How long a request turned away at a cap is told to wait.
pub const RETRY_AFTER_NOT_HELD_SECONDS: u64 = 1;

/// The answer to a long poll past a cap: at once, with a status that says
/// which (the client's backoff honours both) and how long to wait.
fn not_held_answer(not_held: NotHeld) -> Response {
    let (status, error) = match not_held {
        NotHeld::ServerFull { max_held } => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the server holds {max_held} requests, the most it holds at once"
            ),
        ),
        NotHeld::ClientHoldsEnough => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "this client has {MAX_HELD_PER_CLIENT} requests held already, the most \
                 one client may have"
            ),
        ),
    };
    let wait = RETRY_AFTER_NOT_HELD_SECONDS;
    let body = Json(
        serde_json::json!({ "error": format!("{error}; try again in {wait} s") }),
    );
    (status, [(header::RETRY_AFTER, wait.to_string())], body).into_response()
}

// ANCHOR: post_poll
/// `POST /poll`: exercise 06's (validated, idempotent), then the news.
pub async fn post_poll<S: Store>(
    State(hub): State<Arc<Hub<S>>>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Result<Json<NewMessage>, JsonRejection>,
) -> Result<(StatusCode, Json<Message>), PollError> {
    let store = State(hub.store.clone());
    let created =
        redis_chat::routes::post_poll(store, headers, extensions, body).await?;
    hub.news.tell().await;
    Ok(created)
}
// ANCHOR_END: post_poll
