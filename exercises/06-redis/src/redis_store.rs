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
--
-- TODO, in Lua: a key (KEYS[4] not "") that already holds a message gets
-- that message back, and nothing changes. Otherwise one message is stored:
-- the chat's first message sets its epoch to ARGV[6], once; each message
-- gets the next id from KEYS[2], unique across every instance; the list
-- KEYS[3] keeps the newest ARGV[4] messages, oldest first; a key remembers
-- its message for ARGV[5] seconds. The script returns the message as JSON:
-- id, user, text, time. Rules R2 to R5 (s02 to s05); chapter 06,
-- «Appending atomically». API: `redis.call`, `cjson.encode`, `tonumber`.
return redis.error_reply('the APPEND script is not written yet (src/redis_store.rs)')
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
        // TODO: the message is stored by the APPEND script, in one round
        // trip, given the keys and arguments the script's own first two
        // comment lines name (for an idempotency key, its `Keys::posted`
        // name; "" without one), and
        // the answer is the `Message` its JSON says. A Redis error is a
        // `StoreError` (see `unavailable`). Rules R2, R4, R5 (s02 to s05);
        // chapter 06, «Appending atomically». API: `redis::Script`,
        // `ScriptInvocation`.
        todo!("RedisStore::push: run the APPEND script")
    }
    // ANCHOR_END: push

    // ANCHOR: poll
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        // TODO: exercise 05's answer for `cursor`, for the chat in Redis. A
        // poll reads the epoch and the newest id in one round trip (a key not
        // there yet counts as 0), and reads the list only when either differs
        // from what `self.mirror` saw last; the mirror then holds the two
        // numbers and a store made from that list. Rules R4, R6, R7 (s03,
        // s06, s08, s14); chapter 06, «Answering a poll». API: `redis::pipe`,
        // `CachedStore::from_messages`, `PollAnswer::read`.
        todo!(
            "RedisStore::poll: answer from Redis, reading the list only when it changed"
        )
    }
    // ANCHOR_END: poll
}
