//! Where a stream starts: exercise 05's cursor, read from the
//! `Last-Event-ID` that a reconnecting `EventSource` sends by itself, or
//! from `?since=` and `?epoch=` on a first connection; and the event id
//! that carries the cursor to the browser.

use axum::http::{HeaderValue, StatusCode};
use dont_ddos_yourself::routes::{PollQuery, cursor};
use dont_ddos_yourself::store::Cursor;
use poll_endpoint::error::ApiError;

/// The header an `EventSource` sends when it connects again: the id of the
/// last event it received, as the server wrote it.
pub const LAST_EVENT_ID: &str = "last-event-id";

// ANCHOR: event_id
/// The id of the event that brings message `since` of the store's life
/// `epoch`: `1767225600000-42`. It is the whole cursor, so the browser keeps
/// it for us and sends it back when it connects again.
pub fn event_id(epoch: u64, since: u64) -> String {
    format!("{epoch}-{since}")
}
// ANCHOR_END: event_id

// ANCHOR: resume_from
/// The cursor a stream starts from. `Last-Event-ID` comes first: the
/// browser sends it on every reconnection, to the URL the page first
/// opened, whose `?since=` is older. Without it, the query's cursor; without
/// either, none (every stored message). An id this server could not have
/// sent is a `400`, like a bad `since`.
pub fn resume_from(
    last_event_id: Option<&HeaderValue>,
    query: &PollQuery,
) -> Result<Option<Cursor>, ApiError> {
    let Some(value) = last_event_id else { return cursor(query) };
    let refused = || ApiError {
        status: StatusCode::BAD_REQUEST,
        message: format!(
            "`Last-Event-ID` must be the id of an event this server sent, an \
             epoch and a message id like \"1767225600000-41\"; got {value:?}"
        ),
    };
    let text = value.to_str().map_err(|_| refused())?;
    let (epoch, since) = text.split_once('-').ok_or_else(refused)?;
    let number = |digits: &str| {
        let all_digits =
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        all_digits.then(|| digits.parse::<u64>().ok()).flatten().ok_or_else(refused)
    };
    Ok(Some(Cursor { since: number(since)?, epoch: Some(number(epoch)?) }))
}
// ANCHOR_END: resume_from
