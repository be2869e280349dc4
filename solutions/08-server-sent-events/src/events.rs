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
    let mut events = Vec::with_capacity(answer.msg.len() + 1);
    let mut since = cursor.filter(|_| !answer.reset).map_or(0, |c| c.since);
    if answer.reset {
        events.push(
            Event::default()
                .event(RESET_EVENT)
                .id(event_id(answer.epoch, 0))
                .data(json!({ "epoch": answer.epoch }).to_string()),
        );
    }
    for message in &answer.msg {
        let data = serde_json::to_string(message).expect("a message serializes");
        events.push(
            Event::default().id(event_id(answer.epoch, message.id)).data(data),
        );
        since = message.id;
    }
    (events, Some(Cursor { since, epoch: Some(answer.epoch) }))
}
// ANCHOR_END: events
