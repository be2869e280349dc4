//! `GET /poll` with a cursor and entity tags, and `POST /poll`.

use crate::store::{CachedStore, Cursor};
use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use poll_endpoint::error::{ApiError, Params};
use poll_endpoint::message::{Message, NewMessage};
use serde::Deserialize;
use std::sync::Arc;

/// The query of `GET /poll`: both optional, both checked by hand so a bad
/// value gets a sentence that says what to send instead.
#[derive(Debug, Deserialize)]
pub struct PollQuery {
    since: Option<String>,
    epoch: Option<String>,
}

// ANCHOR: cursor
/// Read `?since=41&epoch=1767225600000`. No `since`: no cursor.
pub fn cursor(query: &PollQuery) -> Result<Option<Cursor>, ApiError> {
    // TODO: no `since`: Ok(None). Otherwise both `since` and `epoch` (if
    // present) must be plain whole numbers: only the digits 0-9, at least one,
    // and small enough for a u64 (`str::parse::<u64>` checks that, but it also
    // accepts a leading `+`, so check the digits yourself). Anything else is an
    // `ApiError` with `StatusCode::BAD_REQUEST` and a message that names the
    // parameter and shows what was sent, e.g. `since` must be the id of the
    // newest message you have (0 for none), a whole number like 41; got "abc".
    todo!("cursor: read `since` and `epoch`, or refuse them with 400")
}
// ANCHOR_END: cursor

// ANCHOR: get_poll
/// `GET /poll[?since=..&epoch=..]`: what is new, with an `ETag`; `304 Not
/// Modified` when the client already has this state (`If-None-Match`).
pub async fn get_poll(
    State(store): State<Arc<CachedStore>>,
    query: Params<PollQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let cursor = cursor(&query)?;
    // TODO: entity tags. Take ONE view of the store, `store.read()`, and take
    // both the tag (`view.etag()`) and the body (`view.poll(cursor)`) from it:
    // see the chapter for why. Send the tag as the `ETag` header on every
    // answer, with `Cache-Control: no-cache`. If the request's `If-None-Match`
    // names that tag (or is `*`; a weak tag `W/"..."` counts as the same tag;
    // the header may list several, separated by commas), answer
    // `StatusCode::NOT_MODIFIED` with those two headers and no body, without
    // calling `view.poll`.
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
