//! The embedded default: exercise 05's cached in-memory store, plus the
//! idempotency keys every store must honour.

use crate::store::{IDEMPOTENCY_TTL_SECONDS, PollAnswer, Store, StoreError};
use dont_ddos_yourself::store::{CachedStore, Cursor};
use poll_endpoint::message::{Message, ValidMessage};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Messages in this process only: for one instance, and for a machine with
/// no Redis.
pub struct MemoryStore {
    store: CachedStore,
    /// Idempotency key -> the message stored under it, and when.
    seen: Mutex<HashMap<String, (Message, Instant)>>,
}

impl MemoryStore {
    pub fn new(capacity: usize) -> MemoryStore {
        MemoryStore::on(CachedStore::new(capacity))
    }

    /// A store whose epoch is `epoch`: specs use it for predictable answers.
    pub fn with_epoch(capacity: usize, epoch: u64) -> MemoryStore {
        MemoryStore::on(CachedStore::with_epoch(capacity, epoch))
    }

    fn on(store: CachedStore) -> MemoryStore {
        MemoryStore { store, seen: Mutex::new(HashMap::new()) }
    }
}

impl Store for MemoryStore {
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        let Some(key) = key else { return Ok(self.store.push(message)) };
        // One lock for the check and the store, so two requests with the same
        // key cannot both store.
        let mut seen = self.seen.lock().expect("the key table's lock is poisoned");
        let ttl = Duration::from_secs(IDEMPOTENCY_TTL_SECONDS);
        seen.retain(|_, (_, at)| at.elapsed() < ttl);
        if let Some((stored, _)) = seen.get(&key) {
            return Ok(stored.clone());
        }
        let stored = self.store.push(message);
        seen.insert(key, (stored.clone(), Instant::now()));
        Ok(stored)
    }

    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        Ok(PollAnswer::read(&self.store, cursor))
    }
}
