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
    cursor: Option<Cursor>,
    queue: mpsc::Sender<Event>,
    slot: OwnedSlot,
) {
    // TODO: send the client every message it lacks, now and each time one
    // is stored, each once, in order, and none skipped; return (which gives
    // `slot` back) when the client hangs up (the queue's receiver is gone),
    // when the queue is full (never wait for a reader: one that stops
    // reading must not hold anything more), when the store fails, or when
    // the server stops. Watch for news before the first look, as exercise
    // 07's `Hub::wait` does, so a message stored during a look is not
    // skipped. Every look is a read of `hub.answers` (given: one answer
    // shared by every reader at a cursor), read as an `Answer`, and turned
    // into events by your `events`. Rules R1, R3, R7, R8 and R9 (s04, s05,
    // s06, s09 to s11); chapter 08, «A stream is a held request». API:
    // `hub.news`, `hub.stopping`, `mpsc::Sender::try_send` and `closed`,
    // `tokio::select!`.
    let _ = (hub, cursor, queue, slot);
    let _: fn(&Answer, Option<Cursor>) -> _ = events;
    todo!("feed: send each new message through the queue until the stream ends")
}
// ANCHOR_END: feed
