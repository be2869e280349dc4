//! `GET /events`: the chat as a stream of Server-Sent Events.

use crate::feed::feed;
use crate::resume::{LAST_EVENT_ID, resume_from};
use crate::{KEEP_ALIVE_EVERY, MAX_QUEUED_EVENTS, RETRY_MAX, RETRY_MIN};
use axum::extract::{Query, Request, State, rejection::QueryRejection};
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use dont_ddos_yourself::rate_limit::{CLIENT_ID_HEADER, client_key_of};
use dont_ddos_yourself::routes::PollQuery;
use futures_util::stream::{self, StreamExt};
use long_polling::hold::Hub;
use poll_endpoint::error::ApiError;
use redis_chat::store::Store;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The page's name for itself, in the URL: `/events?client=page-x1y2`.
#[derive(Debug, Default, Deserialize)]
pub struct ClientQuery {
    pub client: Option<String>,
}

// ANCHOR: named_in_the_url
/// Middleware: an `EventSource` cannot send headers of its own, so the page
/// names itself in the URL (`?client=`); this puts that name where exercise
/// 05's rate limit and exercise 07's caps read it, the `x-client-id` header.
/// Without it, every page behind one address would share one allowance.
pub async fn named_in_the_url(mut request: Request, next: Next) -> Response {
    // A query that does not read is left to the route, which says why.
    let named = Query::<ClientQuery>::try_from_uri(request.uri()).ok();
    let id = named.and_then(|Query(named)| named.client);
    if let Some(id) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        request.headers_mut().insert(CLIENT_ID_HEADER, id);
    }
    next.run(request).await
}
// ANCHOR_END: named_in_the_url

// ANCHOR: retry_for
/// The `retry:` for one stream, from `draw`, a number in `0.0..1.0` drawn at
/// random: spread evenly from [`RETRY_MIN`] up to [`RETRY_MAX`].
pub fn retry_for(draw: f64) -> Duration {
    // TODO: a larger draw is a longer retry; 0.0 is RETRY_MIN, and draws
    // near 1.0 come near RETRY_MAX, so that readers told these spread over
    // the whole range. Rule R6 (s03, s08); chapter 08, «Each stream's own
    // `retry:`». API: `Duration`'s arithmetic, `Duration::mul_f64`.
    let _ = (draw, RETRY_MIN, RETRY_MAX);
    todo!("retry_for: spread the retries from RETRY_MIN to RETRY_MAX")
}
// ANCHOR_END: retry_for

// ANCHOR: get_events
/// `GET /events`: `200`, `text/event-stream`, and an answer that does not
/// end. First the stream's `retry:`, then every message the client lacks,
/// then each new one the moment it is stored; a comment line whenever
/// [`KEEP_ALIVE_EVERY`] passes without one.
pub async fn get_events<S: Store>(
    State(hub): State<Arc<Hub<S>>>,
    query: Result<Query<PollQuery>, QueryRejection>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(ApiError::from)?;
    let cursor = resume_from(headers.get(LAST_EVENT_ID), &query)?;
    // A stream is a held request that lasts: it takes a slot under exercise
    // 07's caps, and its feed keeps it for as long as it runs.
    let slot = match hub.caps.owned_slot(&client_key_of(&headers, &extensions)) {
        Ok(slot) => slot,
        Err(not_held) => return Ok(not_held.into_response()),
    };
    let (queue, queued) = mpsc::channel(MAX_QUEUED_EVENTS);
    tokio::spawn(feed(hub, cursor, queue, slot));
    let retry = Event::default().retry(retry_for(fastrand::f64()));
    let events = stream::unfold(queued, |mut queued| async move {
        queued.recv().await.map(|event| (event, queued))
    });
    let stream =
        stream::once(async { retry }).chain(events).map(Ok::<_, Infallible>);
    let keep_alive = KeepAlive::new().interval(KEEP_ALIVE_EVERY);
    // nginx buffers what it proxies (`proxy_buffering`, on by default)
    // unless the answer says not to: without this, events can come late,
    // in bursts.
    let unbuffered = (
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    Ok(([unbuffered], Sse::new(stream).keep_alive(keep_alive)).into_response())
}
// ANCHOR_END: get_events
