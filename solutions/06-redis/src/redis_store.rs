//! The chat in Redis, so several instances of the server share one chat.
//!
//! Keys (all with the hash tag `{chat}`, so they live in one slot of a Redis
//! Cluster and one script may touch them all):
//!
//! | key | type | what |
//! |---|---|---|
//! | `{chat}:epoch` | string | this life of the chat: set on the first message |
//! | `{chat}:last` | string (counter) | the newest id; `INCR` gives the next |
//! | `{chat}:messages` | list | the newest messages as JSON, oldest first |
//! | `{chat}:posted:<key>` | string, with a TTL | the message stored under a key |
//!
//! `chat` is the default name. A Redis URL may name another chat, so that
//! several share one Redis without meeting: `redis://127.0.0.1:6379/?chat=room-42`
//! keeps its keys under `{room-42}:` (see [`Keys`]).

use crate::store::{IDEMPOTENCY_TTL_SECONDS, PollAnswer, Store, StoreError};
use dont_ddos_yourself::store::{CachedStore, Cursor};
use poll_endpoint::message::{Message, ValidMessage};
use poll_endpoint::store::now_ms;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::{Arc, RwLock};
use std::time::Duration;

// ANCHOR: script
/// Append one message, atomically: Redis runs a script as one command, so no
/// other client's command lands in the middle, whatever the number of
/// instances. One round trip.
const APPEND: &str = r#"
-- KEYS: epoch, last, messages, posted (or "" for no idempotency key)
-- ARGV: user, text, time, max messages, key TTL in seconds, a new epoch
if KEYS[4] ~= "" then
  local seen = redis.call('GET', KEYS[4])
  if seen then return seen end
end
redis.call('SET', KEYS[1], ARGV[6], 'NX')
local id = redis.call('INCR', KEYS[2])
local message = cjson.encode({
  id = id, user = ARGV[1], text = ARGV[2], time = tonumber(ARGV[3]),
})
redis.call('RPUSH', KEYS[3], message)
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
if KEYS[4] ~= "" then
  redis.call('SET', KEYS[4], message, 'EX', ARGV[5])
end
return message
"#;
// ANCHOR_END: script

/// Messages in Redis, and a copy of them in this instance, rebuilt only when
/// Redis has something new.
pub struct RedisStore {
    redis: ConnectionManager,
    /// The names of this chat's keys (see [`Keys`]).
    keys: Keys,
    capacity: usize,
    append: redis::Script,
    /// Exercise 05's cached answers, for the state Redis had last time we
    /// looked: (epoch, newest id, the store that answers for them).
    mirror: RwLock<(u64, u64, Arc<CachedStore>)>,
}

/// Which keys one chat uses in Redis (given: `helpers/chat-store/src/keys.rs`).
pub use chat_store::keys::{DEFAULT_CHAT, Keys};

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError(error.to_string())
}

impl RedisStore {
    // ANCHOR: connect
    /// A store on the Redis at `url` (`redis://127.0.0.1:6379`; ending in
    /// `?chat=<name>`, the keys of another chat than `{chat}`). It does not
    /// connect yet: the server starts even while Redis is down, answers 503
    /// until it is up, and reconnects by itself after Redis restarts. Call
    /// it inside a tokio runtime: the connection manager starts a task.
    pub fn new(url: &str, capacity: usize) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let keys = Keys::of_url(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(1000)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let redis = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(unavailable)?;
        let empty = Arc::new(CachedStore::with_epoch(capacity, 0));
        Ok(RedisStore {
            redis,
            keys,
            capacity,
            append: redis::Script::new(APPEND),
            mirror: RwLock::new((0, 0, empty)),
        })
    }
    // ANCHOR_END: connect

    /// The names of this chat's keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }
}

impl Store for RedisStore {
    // ANCHOR: push
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        let keys = &self.keys;
        let posted = key.map(|key| keys.posted(&key)).unwrap_or_default();
        let mut invocation = self.append.key(&keys.epoch);
        invocation.key(&keys.last).key(&keys.messages).key(posted);
        invocation.arg(message.user()).arg(message.text()).arg(now_ms());
        invocation.arg(self.capacity).arg(IDEMPOTENCY_TTL_SECONDS).arg(now_ms());
        let json: String = invocation
            .invoke_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)?;
        serde_json::from_str(&json).map_err(|error| {
            StoreError(format!("Redis holds a message that is not one: {error}"))
        })
    }
    // ANCHOR_END: push

    // ANCHOR: poll
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        let mut redis = self.redis.clone();
        // One round trip tells whether anything changed since we last looked.
        let (epoch, last): (Option<u64>, Option<u64>) = redis::pipe()
            .get(&self.keys.epoch)
            .get(&self.keys.last)
            .query_async(&mut redis)
            .await
            .map_err(unavailable)?;
        let (epoch, last) = (epoch.unwrap_or(0), last.unwrap_or(0));
        let known = {
            let mirror = self.mirror.read().expect("the mirror's lock is poisoned");
            (mirror.0 == epoch && mirror.1 == last).then(|| mirror.2.clone())
        };
        let store = match known {
            Some(store) => store,
            None => {
                // Something is new: read the list once, and answer from it
                // until Redis changes again.
                let list: Vec<String> = redis
                    .lrange(&self.keys.messages, 0, -1)
                    .await
                    .map_err(unavailable)?;
                let messages = list
                    .iter()
                    .filter_map(|json| serde_json::from_str::<Message>(json).ok())
                    .collect();
                let store = Arc::new(CachedStore::from_messages(
                    self.capacity,
                    epoch,
                    messages,
                ));
                *self.mirror.write().expect("the mirror's lock is poisoned") =
                    (epoch, last, store.clone());
                store
            }
        };
        Ok(PollAnswer::read(&store, cursor))
    }
    // ANCHOR_END: poll
}
