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
    // TODO: the cursor this stream starts from. A `Last-Event-ID` header
    // wins: the browser sends it on every reconnection, to the URL the page
    // first opened, whose cursor is older. Without the header, the URL's
    // cursor, as exercise 05 reads it; without either, none. A header that
    // is not an id this server sends (`event_id`: two whole numbers that
    // fit a u64, joined by `-`) is a `400`, with a message naming the header
    // and what it must be. Rule R2 (s01, s05); chapter 08, «The browser
    // reconnects, and the id is the cursor». API: `HeaderValue::to_str`,
    // `str::split_once`, `u64`'s `FromStr`, exercise 05's `cursor`.
    let _ = (last_event_id, query, cursor, StatusCode::BAD_REQUEST);
    todo!("resume_from: read Last-Event-ID, else the URL's cursor")
}
// ANCHOR_END: resume_from
