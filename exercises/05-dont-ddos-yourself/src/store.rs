//! The last messages in memory, and the answers to `GET /poll` already
//! serialized: a poll that finds nothing new costs a lock, a comparison and
//! a reference-count increment.

use axum::body::Bytes;
use axum::http::HeaderValue;
use poll_endpoint::message::{Message, ValidMessage};
use poll_endpoint::store::now_ms;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// What one read of the store sees, and the answer it gives (your part).
pub use crate::view::View;

/// Where a client is: the newest message it has, in which life of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The id of the newest message the client has (0: none).
    pub since: u64,
    /// The store's `epoch` when the client got it, if the client sent one.
    pub epoch: Option<u64>,
}

// ANCHOR: answer
/// The body of every `GET /poll` answer.
#[derive(Debug, Serialize)]
struct Answer<'a> {
    /// The messages the client does not have yet, oldest first.
    msg: Vec<&'a Message>,
    /// Which life of the store this is: it changes when the server restarts
    /// (and ids start again from 1). Clients send it back with `since`.
    epoch: u64,
    /// True when the client's cursor was not from this life of the store, or
    /// was ahead of it: `msg` is then everything, and replaces what it has.
    reset: bool,
}
// ANCHOR_END: answer

// ANCHOR: store
/// A bounded, in-memory store that keeps its poll answers serialized.
#[derive(Debug)]
pub struct CachedStore {
    capacity: usize,
    epoch: u64,
    inner: RwLock<Inner>,
    /// How many poll bodies were serialized so far: the spec and the book
    /// use it to show that unchanged polls serialize nothing.
    serializations: AtomicU64,
    /// How many views were taken so far: the spec uses it to check that one
    /// answer reads one state.
    reads: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) messages: VecDeque<Message>,
    pub(crate) next_id: u64,
    /// `{"msg": [every message], "epoch": .., "reset": false}`, made once
    /// per change.
    pub(crate) everything: Bytes,
    /// `{"msg": [], "epoch": .., "reset": false}`: what "nothing new" always is.
    pub(crate) nothing_new: Bytes,
    /// `"<epoch>-<newest id>"`: the entity tag of this state, made once per
    /// change too.
    pub(crate) etag: HeaderValue,
}
// ANCHOR_END: store

impl CachedStore {
    /// An empty store that keeps at most `capacity` messages. `epoch` names
    /// this life of the store; [`CachedStore::new`] uses the time.
    pub fn with_epoch(capacity: usize, epoch: u64) -> CachedStore {
        assert!(capacity > 0, "a store must keep at least one message");
        let store = CachedStore {
            capacity,
            epoch,
            inner: RwLock::new(Inner {
                messages: VecDeque::with_capacity(capacity),
                next_id: 1,
                everything: Bytes::new(),
                nothing_new: Bytes::new(),
                etag: entity_tag(epoch, 0),
            }),
            serializations: AtomicU64::new(0),
            reads: AtomicU64::new(0),
        };
        {
            let mut inner = store.inner.write().expect("a new lock");
            inner.everything =
                store.serialize(inner.messages.iter().collect(), false);
            inner.nothing_new = store.serialize(Vec::new(), false);
        }
        store
    }

    /// A store holding `messages` (oldest first, ids increasing), in the
    /// life `epoch`: a copy of a store kept elsewhere (exercise 06 mirrors
    /// Redis in one).
    pub fn from_messages(
        capacity: usize,
        epoch: u64,
        messages: Vec<Message>,
    ) -> CachedStore {
        let store = CachedStore::with_epoch(capacity, epoch);
        {
            let mut inner = store.inner.write().expect("a new lock");
            inner.next_id = messages.last().map_or(1, |m| m.id + 1);
            inner.messages =
                messages.into_iter().rev().take(capacity).rev().collect();
            inner.everything =
                store.serialize(inner.messages.iter().collect(), false);
            inner.etag = entity_tag(epoch, inner.next_id - 1);
        }
        store
    }

    /// An empty store whose epoch is the current time in milliseconds.
    pub fn new(capacity: usize) -> CachedStore {
        CachedStore::with_epoch(capacity, now_ms())
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// How many poll bodies have been serialized since the store was made.
    pub fn serializations(&self) -> u64 {
        self.serializations.load(Ordering::Relaxed)
    }

    /// How many views ([`CachedStore::read`]) have been taken so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    // ANCHOR: read
    /// One look at the store: its state as it is now, held still (under the
    /// read lock) until the view is dropped. Everything an answer needs, the
    /// tag and the body, comes from one view, so the two always agree.
    pub fn read(&self) -> View<'_> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let inner = self.inner.read().expect("the store's lock is poisoned");
        View { store: self, inner }
    }
    // ANCHOR_END: read

    pub(crate) fn serialize(&self, msg: Vec<&Message>, reset: bool) -> Bytes {
        self.serializations.fetch_add(1, Ordering::Relaxed);
        let answer = Answer { msg, epoch: self.epoch, reset };
        Bytes::from(serde_json::to_vec(&answer).expect("messages serialize"))
    }

    // ANCHOR: push
    /// Store a message with the next id and the time, drop the oldest if
    /// full, and serialize the "everything" answer again: once per change,
    /// instead of once per poll.
    pub fn push(&self, message: ValidMessage) -> Message {
        let mut inner = self.inner.write().expect("the store's lock is poisoned");
        let id = inner.next_id;
        inner.next_id += 1;
        let stored = message.into_message(id, now_ms());
        if inner.messages.len() == self.capacity {
            inner.messages.pop_front();
        }
        inner.messages.push_back(stored.clone());
        inner.everything = self.serialize(inner.messages.iter().collect(), false);
        inner.etag = entity_tag(self.epoch, id);
        stored
    }
    // ANCHOR_END: push
}

/// The entity tag of a state: it changes whenever an answer would (a new
/// message, or a new life of the store).
fn entity_tag(epoch: u64, newest: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{epoch}-{newest}\""))
        .expect("an entity tag is ASCII")
}
