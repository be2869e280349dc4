//! What the server needs from a store, whichever it is: the in-memory one
//! ([`crate::memory::MemoryStore`]) or Redis ([`crate::redis_store::RedisStore`]).

use axum::body::Bytes;
use dont_ddos_yourself::store::Cursor;
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

    /// The entity tag of the current state, and the answer for `cursor`
    /// (exercise 05's `{"msg": [...], "epoch": .., "reset": ..}`), read together.
    fn poll(&self, cursor: Option<Cursor>) -> impl Future<Output = Result<(String, Bytes), StoreError>> + Send;
}
// ANCHOR_END: trait

/// How long an idempotency key is remembered: a client retries a POST
/// within seconds, and this is plenty more.
pub const IDEMPOTENCY_TTL_SECONDS: u64 = 600;

/// The store could not answer: Redis is down, or too slow. Nothing was
/// stored; the server answers `503` with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the message store is unavailable ({})", self.0)
    }
}

impl std::error::Error for StoreError {}
