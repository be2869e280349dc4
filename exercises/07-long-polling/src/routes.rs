//! `GET /poll?since=..&epoch=..&wait=..`, the hanging GET, and `POST /poll`,
//! which wakes it. Without `wait`, `GET /poll` is exercise 06's, unchanged:
//! interval clients keep working against this server.

use crate::hold::Hub;
use crate::query::{WaitQuery, wait_for};
use axum::http::Extensions;
use axum::{
    Json,
    extract::{
        Query, State,
        rejection::{JsonRejection, QueryRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use dont_ddos_yourself::rate_limit::{WasHeld, client_key_of};
use dont_ddos_yourself::routes::{PollQuery, cursor};
use poll_endpoint::error::ApiError;
use poll_endpoint::message::{Message, NewMessage};
use redis_chat::error::PollError;
use redis_chat::store::Store;
use std::sync::Arc;
use tokio::time::Instant;

// ANCHOR: get_poll
/// `GET /poll?since=41&epoch=..&wait=25`: what is new, as soon as there is
/// something. After `wait` seconds with nothing, `200` and an empty `msg`.
pub async fn get_poll<S: Store>(
    State(hub): State<Arc<Hub<S>>>,
    query: Result<Query<PollQuery>, QueryRejection>,
    long: Result<Query<WaitQuery>, QueryRejection>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Result<Response, PollError> {
    let Query(long) = long.map_err(ApiError::from)?;
    let Some(wait) = long.wait else {
        return redis_chat::routes::get_poll(
            State(hub.store.clone()),
            query,
            headers,
        )
        .await;
    };
    let Query(query) = query.map_err(ApiError::from)?;
    let (cursor, wait) = (cursor(&query)?, wait_for(&wait)?);
    // A slot first: past the caps, say so at once instead of holding.
    let _slot = match hub.caps.slot(&client_key_of(&headers, &extensions)) {
        Ok(slot) => slot,
        Err(not_held) => return Ok(not_held.into_response()),
    };
    let (version, asked) = (*hub.news.subscribe().borrow(), Instant::now());
    let body = hub.wait(cursor, wait).await?;
    let json = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Each answer is for one moment and one cursor: nothing to keep.
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let mut response = ([json, cache], body).into_response();
    // Held until news came, or until a wait of a second or more ran out: say
    // so to the rate limit. (`wait=0` is held for no time at all: it counts.)
    let waited_out = !wait.is_zero() && asked.elapsed() >= wait;
    if *hub.news.subscribe().borrow() != version || waited_out {
        response.extensions_mut().insert(WasHeld);
    }
    Ok(response)
}
// ANCHOR_END: get_poll

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
