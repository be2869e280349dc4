//! `GET /poll` with a cursor and entity tags, and `POST /poll`.

use crate::store::{CachedStore, Cursor};
use axum::{
    Json,
    extract::{FromRequestParts, Request, State, rejection::JsonRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use percent_encoding::percent_decode_str;
use poll_endpoint::error::ApiError;
use poll_endpoint::message::{Message, NewMessage};
use std::borrow::Cow;
use std::sync::Arc;

// ANCHOR: poll_query
/// The query of `GET /poll`: `since` and `epoch`, both optional, as sent.
/// [`cursor`] checks them, so a bad value gets a sentence that says what to
/// send instead. A handler takes it as an argument, `query: PollQuery`.
#[derive(Debug, Default)]
pub struct PollQuery {
    since: Option<String>,
    epoch: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PollQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let [since, epoch] = read_params(query, ["since", "epoch"])?;
        Ok(PollQuery { since, epoch })
    }
}

/// The values of `names` in a query string such as `since=41&epoch=17`,
/// percent-decoded, in the order of `names`. Other parameters are left
/// alone; a name given twice is refused with `400`.
///
/// Written out rather than derived with serde (axum's `Query`): for two
/// numbers, serde's general machinery cost more than the whole rest of
/// `get_poll` (chapter 05, "Where the time goes").
pub fn read_params<const N: usize>(
    query: &str,
    names: [&str; N],
) -> Result<[Option<String>; N], ApiError> {
    let mut values = [const { None }; N];
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decoded(name);
        let Some(i) = names.iter().position(|known| *known == name) else {
            continue;
        };
        if values[i].is_some() {
            return Err(ApiError {
                status: StatusCode::BAD_REQUEST,
                message: format!("`{name}` is given twice; send it once"),
            });
        }
        values[i] = Some(decoded(value).into_owned());
    }
    Ok(values)
}

/// `text` percent-decoded, with `+` for a space, as a form encodes it; not
/// copied when there is nothing to decode, as in a poll's own numbers.
fn decoded(text: &str) -> Cow<'_, str> {
    if !text.contains(['%', '+']) {
        return Cow::Borrowed(text);
    }
    let spaced = text.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
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
/// It takes the request itself for its headers: a `HeaderMap` argument
/// would be a copy of them, made on every poll.
pub async fn get_poll(
    State(store): State<Arc<CachedStore>>,
    query: PollQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let cursor = cursor(&query)?;
    // One view for the whole answer: the tag and the body describe the same
    // state. (Two reads could straddle a new message and send an old body
    // under the new tag, which the client would then keep.)
    let view = store.read();
    let tag = view.etag();
    // `no-cache`: caches may keep the answer, but must ask (with the tag) each time.
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if matches(request.headers(), &tag) {
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
