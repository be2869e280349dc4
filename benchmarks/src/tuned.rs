//! Hand-tuned versions of exercise 05's given code, for the load
//! benchmark's steps only (`load --steps`): the rate limit as a tower layer
//! written out, the headers taken from the request instead of a `HeaderMap`
//! copy, and the query read by hand instead of by serde. Each saves a few
//! thousand instructions per poll; none is how the course writes it, because
//! each costs more to read and to change than it saves (chapter 05's
//! Going-deeper page gives the measured difference).

use axum::{
    extract::{FromRequestParts, Query, Request, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use dont_ddos_yourself::rate_limit::RateLimit;
use dont_ddos_yourself::routes::{PollQuery, cursor, matches};
use dont_ddos_yourself::store::CachedStore;
use futures_util::future::Either;
use governor::clock::Clock;
use percent_encoding::percent_decode_str;
use poll_endpoint::error::ApiError;
use std::borrow::Cow;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// The rate limit as a tower layer written out: no boxed futures and no
/// clone of the stack per request, as `middleware::from_fn` has.
#[derive(Clone)]
pub struct LimitLayer<C: Clock> {
    limit: Arc<RateLimit<C>>,
}

impl<C: Clock> LimitLayer<C> {
    pub fn new(limit: Arc<RateLimit<C>>) -> LimitLayer<C> {
        LimitLayer { limit }
    }
}

impl<S, C: Clock> Layer<S> for LimitLayer<C> {
    type Service = Limited<S, C>;

    fn layer(&self, route: S) -> Limited<S, C> {
        Limited { route, limit: self.limit.clone() }
    }
}

/// A route behind [`LimitLayer`].
#[derive(Clone)]
pub struct Limited<S, C: Clock> {
    route: S,
    limit: Arc<RateLimit<C>>,
}

impl<S, C> Service<Request> for Limited<S, C>
where
    S: Service<Request, Response = Response>,
    C: Clock,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.route.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.limit.check(self.limit.who(&request)) {
            Ok(()) => Either::Left(self.route.call(request)),
            Err(refused) => Either::Right(ready(Ok(refused.into_response()))),
        }
    }
}

/// Exercise 05's `get_poll`, with the headers read from the request itself
/// (a `HeaderMap` argument is a copy of them).
pub async fn get_poll_from_request(
    State(store): State<Arc<CachedStore>>,
    query: Result<Query<PollQuery>, QueryRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    answer(&store, &query, request.headers())
}

/// The same, with the query read by hand ([`read_params`]) instead of by serde.
pub async fn get_poll_read_by_hand(
    State(store): State<Arc<CachedStore>>,
    query: ByHand,
    request: Request,
) -> Result<Response, ApiError> {
    answer(&store, &query.0, request.headers())
}

/// Exercise 05's answer, as `get_poll` gives it.
fn answer(store: &CachedStore, query: &PollQuery, headers: &HeaderMap) -> Result<Response, ApiError> {
    let cursor = cursor(query)?;
    let view = store.read();
    let tag = view.etag();
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if matches(headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag), cache]).into_response());
    }
    let body = view.poll(cursor);
    let json = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(([json, (header::ETAG, tag), cache], body).into_response())
}

/// A [`PollQuery`] read by hand from the query string.
pub struct ByHand(PollQuery);

impl<S: Send + Sync> FromRequestParts<S> for ByHand {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let [since, epoch] = read_params(query, ["since", "epoch"])?;
        Ok(ByHand(PollQuery { since, epoch }))
    }
}

/// The values of `names` in a query string such as `since=41&epoch=17`,
/// percent-decoded, in the order of `names`; a name given twice is refused.
fn read_params<const N: usize>(query: &str, names: [&str; N]) -> Result<[Option<String>; N], ApiError> {
    let mut values = [const { None }; N];
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decoded(name);
        let Some(i) = names.iter().position(|known| *known == name) else {
            continue;
        };
        if values[i].is_some() {
            let message = format!("`{name}` is given twice; send it once");
            return Err(ApiError { status: StatusCode::BAD_REQUEST, message });
        }
        values[i] = Some(decoded(value).into_owned());
    }
    Ok(values)
}

/// `text` percent-decoded, with `+` for a space; not copied when there is
/// nothing to decode.
fn decoded(text: &str) -> Cow<'_, str> {
    if !text.contains(['%', '+']) {
        return Cow::Borrowed(text);
    }
    let spaced = text.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
}
