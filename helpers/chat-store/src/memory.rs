//! The embedded default: exercise 05's cached in-memory store, plus the
//! idempotency keys every store must honour.

use crate::store::{IDEMPOTENCY_TTL_SECONDS, PollAnswer, Store, StoreError};
use dont_ddos_yourself::store::{CachedStore, Cursor};
use poll_endpoint::message::{Message, ValidMessage};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most idempotency keys the in-memory store remembers at once. Keys
/// are the clients' to invent, so without a bound a stream of posts with
/// fresh keys would grow the table for the whole of the
/// [`IDEMPOTENCY_TTL_SECONDS`]; past it, the oldest key is forgotten first
/// (a retry comes within seconds, so the oldest matters least).
pub const MAX_IDEMPOTENCY_KEYS: usize = 10_000;

/// Messages in this process only: for one instance, and for a machine with
/// no Redis.
pub struct MemoryStore {
    store: CachedStore,
    seen: Mutex<Seen>,
}

/// The idempotency keys remembered: key -> the message stored under it, and
/// the keys in the order they came, with when, so that expiring them looks
/// only at the oldest, never at the whole table.
#[derive(Default)]
struct Seen {
    messages: HashMap<String, Message>,
    order: VecDeque<(Instant, String)>,
}

impl Seen {
    /// Forget the keys older than the TTL, and the oldest past the bound.
    fn expire(&mut self, now: Instant) {
        let ttl = Duration::from_secs(IDEMPOTENCY_TTL_SECONDS);
        while let Some((at, key)) = self.order.front() {
            if now.duration_since(*at) < ttl
                && self.order.len() < MAX_IDEMPOTENCY_KEYS
            {
                break;
            }
            self.messages.remove(key);
            self.order.pop_front();
        }
    }

    /// How many keys are remembered (for the spec and the benchmark).
    fn len(&self) -> usize {
        self.messages.len()
    }
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
        MemoryStore { store, seen: Mutex::new(Seen::default()) }
    }

    /// How many idempotency keys it remembers right now.
    pub fn remembered_keys(&self) -> usize {
        self.seen.lock().expect("the key table's lock is poisoned").len()
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
        let now = Instant::now();
        seen.expire(now);
        if let Some(stored) = seen.messages.get(&key) {
            return Ok(stored.clone());
        }
        let stored = self.store.push(message);
        seen.messages.insert(key.clone(), stored.clone());
        seen.order.push_back((now, key));
        Ok(stored)
    }

    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        Ok(PollAnswer::read(&self.store, cursor))
    }
}
