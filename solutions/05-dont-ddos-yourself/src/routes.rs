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
    let number = |name: &str, value: &str, what: &str| {
        let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| value.parse::<u64>().ok()).flatten().ok_or_else(|| ApiError {
            status: StatusCode::BAD_REQUEST,
            message: format!(
                "`{name}` must be {what}, a whole number like 41; got {value:?}"
            ),
        })
    };
    let Some(since) = &query.since else { return Ok(None) };
    let since = number(
        "since",
        since,
        "the id of the newest message you have (0 for none)",
    )?;
    let epoch = match &query.epoch {
        Some(epoch) => Some(number(
            "epoch",
            epoch,
            "the `epoch` of the answer you got it from",
        )?),
        None => None,
    };
    Ok(Some(Cursor { since, epoch }))
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
    // One view for the whole answer: the tag and the body describe the same
    // state. (Two reads could straddle a new message and send an old body
    // under the new tag, which the client would then keep.)
    let view = store.read();
    let tag = view.etag();
    // `no-cache`: caches may keep the answer, but must ask (with the tag) each time.
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if matches(&headers, &tag) {
        return Ok(
            (StatusCode::NOT_MODIFIED, [(header::ETAG, tag), cache]).into_response()
        );
    }
    let body = view.poll(cursor);
    let json = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(([json, (header::ETAG, tag), cache], body).into_response())
}

/// Whether `If-None-Match` names `etag` (or is `*`). Weak tags (`W/"..."`)
/// compare equal to strong ones, as RFC 9110 asks for this header.
pub fn matches(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|list| {
            list.split(',').map(str::trim).any(|tag| {
                tag == "*" || tag.trim_start_matches("W/").as_bytes() == etag
            })
        })
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
