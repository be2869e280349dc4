//! One read of the store: a [`View`], and the answer it gives a cursor.

use crate::store::{CachedStore, Cursor, Inner};
use axum::body::Bytes;
use axum::http::HeaderValue;
use std::sync::RwLockReadGuard;

/// The store as one [`CachedStore::read`] saw it. Drop it before anything
/// that waits: while a view lives, no message can be stored.
pub struct View<'a> {
    pub(crate) store: &'a CachedStore,
    pub(crate) inner: RwLockReadGuard<'a, Inner>,
}

impl View<'_> {
    /// The entity tag of this state (a shared copy: nothing is formatted).
    pub fn etag(&self) -> HeaderValue {
        self.inner.etag.clone()
    }

    /// The id of the newest message (0 while there is none).
    pub fn newest(&self) -> u64 {
        self.inner.next_id - 1
    }

    /// Which life of the store this is.
    pub fn epoch(&self) -> u64 {
        self.store.epoch()
    }

    // ANCHOR: poll
    /// The answer for a client at `cursor` (none: a client that has nothing).
    pub fn poll(&self, cursor: Option<Cursor>) -> Bytes {
        // TODO: the answer for `cursor`, from this view (it holds the read
        // lock), serializing only when no kept answer fits: no cursor gets
        // every message, and a cursor at the newest id gets nothing new, both
        // answers the store already keeps; a cursor in the middle gets the
        // messages after it; one from another epoch, or ahead of the newest
        // id, gets every message with `reset: true`, never a partial list.
        // Rules R1, R3, R4 (s01, s03, s04); chapter 05, «The store's answer».
        todo!("View::poll: answer a cursor from the cached bodies where you can")
    }
    // ANCHOR_END: poll
}
