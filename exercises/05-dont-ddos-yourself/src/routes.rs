//! `GET /poll` with a cursor and entity tags, and `POST /poll`.

use crate::store::{CachedStore, Cursor};
use axum::{
    Json,
    extract::{
        Query, State,
        rejection::{JsonRejection, QueryRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use poll_endpoint::error::ApiError;
use poll_endpoint::message::{Message, NewMessage};
use serde::Deserialize;
use std::sync::Arc;

// ANCHOR: poll_query
/// The query of `GET /poll`: `since` and `epoch`, both optional, as sent.
/// Strings, not numbers: [`cursor`] checks them, so a bad value gets a
/// sentence that says what to send instead. A handler reads it with axum's
/// `Query` extractor, which refuses a parameter given twice.
#[derive(Debug, Default, Deserialize)]
pub struct PollQuery {
    pub since: Option<String>,
    pub epoch: Option<String>,
}
// ANCHOR_END: poll_query

// ANCHOR: cursor
/// Read `?since=41&epoch=1767225600000`. No `since`: no cursor.
pub fn cursor(query: &PollQuery) -> Result<Option<Cursor>, ApiError> {
    // TODO: no `since` is no cursor. Otherwise `since`, and `epoch` when it
    // is there, are each one or more of the digits 0-9 and nothing else (not
    // even a leading `+`), small enough for a u64; anything else is a `400`
    // `ApiError` whose sentence names the parameter and shows the value sent,
    // as s02's snapshot has it, e.g. `since` must be the id of the newest
    // message you have (0 for none), a whole number like 41; got "abc".
    // Rule R2 (s02); chapter 05, «Refusing a bad cursor».
    todo!("cursor: read `since` and `epoch`, or refuse them with 400")
}
// ANCHOR_END: cursor

// ANCHOR: get_poll
/// `GET /poll[?since=..&epoch=..]`: what is new, with an `ETag`; `304 Not
/// Modified` when the client already has this state (`If-None-Match`).
/// A query axum cannot read is refused in the course's JSON, through
/// `From<QueryRejection> for ApiError` (exercise 01's `error.rs`).
pub async fn get_poll(
    State(store): State<Arc<CachedStore>>,
    query: Result<Query<PollQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let cursor = cursor(&query)?;
    // TODO: entity tags. The tag and the body come from ONE view of the
    // store, so they describe the same state; every answer carries the tag as
    // `ETag`, with `Cache-Control: no-cache`; when `If-None-Match` names the
    // tag (weak `W/"..."` or not, in a comma-separated list, in any of the
    // headers, or `*`), the answer is `304 Not Modified` with those headers,
    // no body, and no body made. Rules R5, R16 (s05, s08); chapter 05, «Or
    // let HTTP say "not modified"». API: `CachedStore::read`, `View::etag`,
    // `HeaderMap::get_all`.
    let body = store.read().poll(cursor);
    let json = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(([json], body).into_response())
}
// ANCHOR_END: get_poll

/// `POST /poll`: as in exercise 01.
pub async fn post_poll(
    State(store): State<Arc<CachedStore>>,
    body: Result<Json<NewMessage>, JsonRejection>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let Json(new) = body?;
    let valid = new.validate()?;
    Ok((StatusCode::CREATED, Json(store.push(valid))))
}
