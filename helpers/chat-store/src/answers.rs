//! One answer per version and cursor, made once and shared by every held
//! request that asks for it (exercise 07's rule R5): `Hub::answer` uses it.

use crate::store::{Store, StoreError};
use axum::body::Bytes;
use dont_ddos_yourself::store::Cursor;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// One answer to share: the body, and whether it has anything the client
/// does not have (new messages, or a `reset`).
pub type Shared = (Bytes, bool);

/// The answers made for one version: a cursor (`since`, `epoch`) -> its
/// answer, made once and shared. Only answers are kept, never a failure.
type Answers = HashMap<(u64, Option<u64>), Arc<OnceCell<Shared>>>;

// ANCHOR: limits
/// The most answers kept for one version. Readers who are up to date share
/// one cursor, so a handful is the usual count; cursors are the client's to
/// invent, though, and a flood of made-up ones must not grow the server.
/// Past this, a request reads the store itself, uncached.
pub const MAX_CACHED_ANSWERS: usize = 64;
// ANCHOR_END: limits

/// The answers already made for the current version, one per cursor, and
/// how many times the store was read to make them.
#[derive(Debug, Default)]
pub struct SharedAnswers {
    current: Mutex<(u64, Answers)>,
    store_reads: AtomicU64,
}

impl SharedAnswers {
    /// How many answers are kept for the current version.
    pub fn len(&self) -> usize {
        self.current.lock().expect("the answers' lock is poisoned").1.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times the store was read: once per version and cursor,
    /// however many requests share the answer.
    pub fn store_reads(&self) -> u64 {
        self.store_reads.load(Ordering::SeqCst)
    }

    // ANCHOR: answer
    /// The store's answer for `cursor` at `version`, read once and shared by
    /// every request at the same cursor. When a post wakes 10,000 readers
    /// who all had message 41, the first one reads (and, for Redis, fetches
    /// and serializes) the answer; the other 9,999 clone its `Bytes`.
    pub async fn get<S: Store>(
        &self,
        store: &S,
        version: u64,
        cursor: Option<Cursor>,
    ) -> Result<Shared, StoreError> {
        let key = cursor.map_or((u64::MAX, None), |c| (c.since, c.epoch));
        let cell = {
            let mut answers =
                self.current.lock().expect("the answers' lock is poisoned");
            if version > answers.0 {
                // A new version: the old answers are stale.
                *answers = (version, HashMap::new());
            }
            // A request that saw an older version reads the store itself,
            // and so does one at a new cursor once the cache is full.
            let room = answers.1.len() < MAX_CACHED_ANSWERS;
            match answers.1.get(&key) {
                _ if version != answers.0 => None,
                Some(cell) => Some(cell.clone()),
                None if room => Some(answers.1.entry(key).or_default().clone()),
                None => None,
            }
        }; // the lock is released here, before any waiting
        let read = || async {
            self.store_reads.fetch_add(1, Ordering::SeqCst);
            // As exercise 06's route does: after Redis restarts, the first
            // command on the old connection fails while it reconnects.
            let answer = match store.poll(cursor).await {
                Ok(answer) => answer,
                Err(_) => store.poll(cursor).await?,
            };
            Ok::<_, StoreError>((answer.body, answer.news))
        };
        // A failed read leaves the cell empty: the next request tries the
        // store again, instead of getting the failure for as long as the
        // version stays the same.
        match cell {
            Some(cell) => cell.get_or_try_init(read).await.cloned(),
            None => read().await,
        }
    }
    // ANCHOR_END: answer
}
