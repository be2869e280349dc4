//! `GET /poll` and `POST /poll` on any [`Store`]: exercise 05's answers, with
//! idempotent posts, and `503` when the store is down. The handlers return
//! [`PollError`] and use `?`: each failure knows its own answer
//! (`error.rs`).

use crate::error::PollError;
use crate::store::Store;
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
use dont_ddos_yourself::rate_limit::client_key_of;
use dont_ddos_yourself::routes::{PollQuery, cursor};
use poll_endpoint::error::ApiError;
use poll_endpoint::message::{Message, NewMessage};
use std::sync::Arc;

/// The header a client sends with a POST to make retrying it safe.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

// ANCHOR: key
/// The request's idempotency key, if any: 1 to 64 letters, digits, `-` or `_`.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let key = value.to_str().unwrap_or("");
    let fine = (1..=64).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if fine {
        Ok(Some(key.to_owned()))
    } else {
        Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            message: "`Idempotency-Key` must be 1 to 64 letters, digits, `-` or `_`"
                .to_owned(),
        })
    }
}
// ANCHOR_END: key

/// `GET /poll`, as in exercise 05, on any store.
pub async fn get_poll<S: Store>(
    State(store): State<Arc<S>>,
    query: Result<Query<PollQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, PollError> {
    let Query(query) = query.map_err(ApiError::from)?;
    let cursor = cursor(&query)?;
    // After Redis restarts, the first command on the old connection fails
    // while the connection manager reconnects: one more try, at once.
    let answer = match store.poll(cursor).await {
        Ok(answer) => answer,
        Err(_) => store.poll(cursor).await?,
    };
    let tag = answer.etag;
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // The same rule as exercise 05: the tag, a weak `W/` tag, `*`, or a list.
    if dont_ddos_yourself::routes::matches(&headers, &tag) {
        return Ok(
            (StatusCode::NOT_MODIFIED, [(header::ETAG, tag), cache]).into_response()
        );
    }
    let json = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(([json, (header::ETAG, tag), cache], answer.body).into_response())
}

// ANCHOR: post_poll
/// `POST /poll`: validate, then store, once per idempotency key.
pub async fn post_poll<S: Store>(
    State(store): State<Arc<S>>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Result<Json<NewMessage>, JsonRejection>,
) -> Result<(StatusCode, Json<Message>), PollError> {
    // A key is its client's own: another client that sends the same key
    // (by chance, or to drop your messages) gets a key of its own.
    let client = client_key_of(&headers, &extensions);
    let key = idempotency_key(&headers)?.map(|key| format!("{client}/{key}"));
    let Json(new) = body?;
    let valid = new.validate()?;
    let sent = (valid.user().to_owned(), valid.text().to_owned());
    // With a key, a retry is safe: once more at once if the first try failed
    // on a connection Redis had dropped.
    let stored = match store.push(valid.clone(), key.clone()).await {
        Ok(stored) => stored,
        Err(error) if key.is_none() => return Err(error.into()),
        Err(_) => store.push(valid, key.clone()).await?,
    };
    // The same key with another message is a mistake, not a retry: say so
    // (422, as the IETF Idempotency-Key draft has it), and store nothing.
    if key.is_some()
        && (stored.user.as_str(), stored.text.as_str()) != (&sent.0[..], &sent.1[..])
    {
        return Err(ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message:
                "this Idempotency-Key was sent before with another message; a retry \
                      sends the same message, and a new message needs a new key"
                    .to_owned(),
        }
        .into());
    }
    Ok((StatusCode::CREATED, Json(stored)))
}
// ANCHOR_END: post_poll
