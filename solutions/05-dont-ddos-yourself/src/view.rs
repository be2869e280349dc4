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
        let inner = &self.inner;
        let newest = self.newest();
        let Some(cursor) = cursor else {
            return inner.everything.clone(); // no copy: `Bytes` is shared
        };
        let other_life = cursor.epoch.is_some_and(|epoch| epoch != self.epoch());
        if other_life || cursor.since > newest {
            // The client's ids mean nothing here: send everything, and say so.
            return self.store.serialize(inner.messages.iter().collect(), true);
        }
        if cursor.since == newest {
            return inner.nothing_new.clone();
        }
        self.store.serialize(
            inner.messages.iter().filter(|m| m.id > cursor.since).collect(),
            false,
        )
    }
    // ANCHOR_END: poll
}
