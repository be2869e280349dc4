//! A stream's feed: the task that writes its events into its queue. The
//! route hands the queue's other end to axum's `Sse`, which writes each
//! event to the connection as the client reads.
//!
//! The feed is exercise 07's `Hub::wait` turned into a loop: look, send
//! what is new, wait for news, look again. It never waits for the client:
//! a client that stops reading fills its queue and is dropped, so no reader
//! can make the server hold more than
//! [`MAX_QUEUED_EVENTS`](crate::MAX_QUEUED_EVENTS) events for it.

use crate::events::{Answer, events};
use axum::response::sse::Event;
use dont_ddos_yourself::store::Cursor;
use limits::held::OwnedSlot;
use long_polling::hold::Hub;
use redis_chat::store::Store;
use std::sync::Arc;
use tokio::sync::mpsc;

// ANCHOR: feed
/// Feed a client at `cursor` every message stored from now on, through
/// `queue` (at most [`MAX_QUEUED_EVENTS`](crate::MAX_QUEUED_EVENTS)
/// waiting), until the client hangs up, stops reading, the store fails, or
/// the server stops. `slot` is the stream's place under the held caps: it is
/// given back when the feed ends.
pub async fn feed<S: Store>(
    hub: Arc<Hub<S>>,
    mut cursor: Option<Cursor>,
    queue: mpsc::Sender<Event>,
    slot: OwnedSlot,
) {
    let _slot = slot;
    // Watch first, then look, as in exercise 07: a message stored while we
    // look moves the version, and `changed()` below sees it.
    let mut news = hub.news.subscribe();
    let mut stopping = hub.stopping.subscribe();
    loop {
        if *stopping.borrow_and_update() {
            return;
        }
        let version = *news.borrow_and_update();
        let Ok((body, new)) = hub.answers.get(&*hub.store, version, cursor).await
        else {
            return; // the store failed: the browser reconnects after `retry:`
        };
        if new {
            let Ok(answer) = serde_json::from_slice::<Answer>(&body) else { return };
            let (batch, next) = events(&answer, cursor);
            for event in batch {
                // Never wait for the client: a full queue means it is not
                // reading. Drop it; it resumes from its last id if it returns.
                if queue.try_send(event).is_err() {
                    return;
                }
            }
            cursor = next;
        }
        tokio::select! {
            _ = news.changed() => {} // something was stored: look again
            _ = stopping.changed() => return,
            () = queue.closed() => return, // the client hung up
        }
    }
}
// ANCHOR_END: feed
