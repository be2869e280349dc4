//! An answer from the store turned into events: one per message, each with
//! the id that resumes after it, and a `reset` first when the client's
//! cursor is from another life of the store.

use crate::resume::event_id;
use axum::response::sse::Event;
use dont_ddos_yourself::store::Cursor;
use poll_endpoint::message::Message;
use serde::Deserialize;
use serde_json::json;

/// The event type that tells the page to forget what it shows: the store
/// it came from is gone (a restart of the in-memory store, a new Redis).
pub const RESET_EVENT: &str = "reset";

/// The store's answer, as exercise 07's hub shares it: exercise 05's body.
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    pub msg: Vec<Message>,
    pub epoch: u64,
    pub reset: bool,
}

// ANCHOR: events
/// The events that bring a client at `cursor` up to date with `answer`,
/// oldest first, and the cursor it is at once it has them.
///
/// Each message is a `message` event (the type `onmessage` hears) whose
/// data is the message's JSON and whose id is its cursor. A reset comes
/// first, as a `reset` event whose id is the new life's start, so a
/// reconnection in between does not ask for the old life again.
pub fn events(
    answer: &Answer,
    cursor: Option<Cursor>,
) -> (Vec<Event>, Option<Cursor>) {
    // TODO: one `message` event per message of `answer`, oldest first, each
    // with the message's JSON as its data and `event_id` of the answer's
    // epoch and the message's id as its id; when the answer is a reset, a
    // `RESET_EVENT` event before them, whose id is the new life's start
    // (message 0) and whose data is `{"epoch": ...}`. Return them with the
    // cursor the client is at once it has them (the client had `cursor`).
    // Rules R1 and R4 (s02); chapter 08, «From an answer to events». API:
    // axum's `sse::Event` (`id`, `event`, `data`), `serde_json::to_string`.
    let _ = (answer, cursor, event_id, json!(null), RESET_EVENT);
    todo!("events: an answer from the store as events")
}
// ANCHOR_END: events
