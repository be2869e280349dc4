//! What the server needs from a store, whichever it is: the in-memory one
//! ([`crate::memory::MemoryStore`]) or Redis (exercise 06's `RedisStore`).

use axum::body::Bytes;
use axum::http::HeaderValue;
use dont_ddos_yourself::store::{CachedStore, Cursor};
use poll_endpoint::message::{Message, ValidMessage};
use std::fmt;
use std::future::Future;

// ANCHOR: trait
/// A message store shared by every request (and, for Redis, every instance).
pub trait Store: Send + Sync + 'static {
    /// Store `message` with the next id. With an idempotency `key`, the same
    /// key within [`IDEMPOTENCY_TTL_SECONDS`] stores nothing and answers the
    /// message stored the first time.
    fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> impl Future<Output = Result<Message, StoreError>> + Send;

    /// The answer for a client at `cursor`: exercise 05's body, with the
    /// entity tag of the state it was read from and whether it has news.
    fn poll(
        &self,
        cursor: Option<Cursor>,
    ) -> impl Future<Output = Result<PollAnswer, StoreError>> + Send;
}
// ANCHOR_END: trait

/// What a store answers a poll with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollAnswer {
    /// The entity tag of the state the answer was read from (`GET /poll`
    /// sends it as `ETag`, and compares it with `If-None-Match`).
    pub etag: HeaderValue,
    /// `{"msg": [...], "epoch": .., "reset": ..}`, serialized once and shared.
    pub body: Bytes,
    /// Whether the body has anything the client lacks: a message, or a
    /// reset. A long poll (exercise 07) answers at once only when it has.
    pub news: bool,
}

impl PollAnswer {
    /// `store`'s answer for a client at `cursor`: the tag, the body and the
    /// news from one view, as in exercise 05, so all three describe the same
    /// state.
    pub fn read(store: &CachedStore, cursor: Option<Cursor>) -> PollAnswer {
        let view = store.read();
        let etag = view.etag();
        let news = has_news(view.epoch(), view.newest(), cursor);
        PollAnswer { etag, body: view.poll(cursor), news }
    }
}

/// Whether a client at `cursor` lacks anything from a store in its life
/// `epoch` whose newest message is `newest`: exercise 05's rules, without the
/// bodies. A client with no cursor lacks every message there is; one from
/// another life, or ahead of the store, gets a reset; one at `newest` has all.
pub fn has_news(epoch: u64, newest: u64, cursor: Option<Cursor>) -> bool {
    match cursor {
        None => newest > 0,
        Some(cursor) => {
            cursor.epoch.is_some_and(|e| e != epoch) || cursor.since != newest
        }
    }
}

/// How long an idempotency key is remembered: a client retries a POST
/// within seconds, and this is plenty more.
pub const IDEMPOTENCY_TTL_SECONDS: u64 = 600;

/// The store could not answer: Redis is down, or too slow (then a message
/// may have been stored after all, which idempotency keys are for); the
/// server answers `503` with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

/// What a client is told: that the store is unavailable, not why. The why
/// (Redis's own words, "Connection refused (os error 111)", an address) is
/// for the server's log: see `PollError`.
impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the message store is unavailable")
    }
}

impl std::error::Error for StoreError {}
