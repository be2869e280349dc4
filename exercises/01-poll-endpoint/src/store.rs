//! The last few messages, kept in memory.
//!
//! `GET /poll` is the request every open page sends every few seconds, so it
//! must be cheap: it reads this store and nothing else. No disk, no database
//! round trip, no waiting on anything but a lock held for microseconds.

use crate::message::{Message, ValidMessage};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

// ANCHOR: store
/// A bounded, in-memory message store shared by every request.
///
/// A `std::sync::Mutex`, not tokio's: the lock is held only to copy or push
/// a few messages and never across an `.await`, which is the case tokio's own
/// documentation recommends the standard mutex for.
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Oldest first. A `VecDeque` drops from the front in O(1).
    messages: VecDeque<Message>,
    /// The id the next message gets. Starts at 1 and only ever grows, even
    /// when old messages are dropped, so an id is never handed out twice.
    next_id: u64,
}
// ANCHOR_END: store

impl MemoryStore {
    /// An empty store that keeps at most `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "a store must keep at least one message");
        MemoryStore {
            capacity,
            inner: Mutex::new(Inner {
                messages: VecDeque::with_capacity(capacity),
                next_id: 1,
            }),
        }
    }

    // ANCHOR: push
    /// Store `message` with the next id and the current time, dropping the
    /// oldest message if the store is full. Returns what was stored.
    pub fn push(&self, message: ValidMessage) -> Message {
        // TODO: all under one lock of `self.inner` (see `Mutex::lock`): the
        // message gets the next id, which no other message ever had or will
        // have, even posted at the same moment, and the current time; the
        // store then keeps at most `self.capacity` messages, the newest; the
        // stored message is returned. Rules R2, R4, R5 (s03, s06, s07); chapter
        // 01, «The store».
        todo!(
            "MemoryStore::push: give the message the next id and the time, keep at most `capacity`"
        )
    }
    // ANCHOR_END: push

    // ANCHOR: messages
    /// A copy of every stored message, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        // TODO: a copy of every stored message, oldest first, taken under the
        // lock, which is released before the caller serializes it. Rule R1
        // (s01, s04); chapter 01, «The store».
        todo!("MemoryStore::messages: copy every stored message, oldest first")
    }
    // ANCHOR_END: messages
}

/// Milliseconds since 1970-01-01 UTC, like JavaScript's `Date.now()`.
pub fn now_ms() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the system clock is set before 1970");
    since_epoch.as_millis() as u64
}
