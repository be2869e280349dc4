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
-- TODO, in Lua (redis.call('COMMAND', key, ...) runs a command):
--   1. if KEYS[4] is not "" and GET KEYS[4] finds a message, return it;
--   2. SET KEYS[1] ARGV[6] NX: the first message sets the epoch, once;
--   3. local id = INCR KEYS[2];
--   4. local message = cjson.encode({ id = id, user = ARGV[1], text = ARGV[2],
--      time = tonumber(ARGV[3]) });
--   5. RPUSH KEYS[3] message, then LTRIM KEYS[3] -tonumber(ARGV[4]) -1;
--   6. if KEYS[4] is not "", SET KEYS[4] message EX ARGV[5];
--   7. return message.
return redis.error_reply('the APPEND script is not written yet (src/redis_store.rs)')
"#;
// ANCHOR_END: script

/// Messages in Redis, and a copy of them in this instance, rebuilt only when
/// Redis has something new.
pub struct RedisStore {
    redis: ConnectionManager,
    capacity: usize,
    append: redis::Script,
    /// Exercise 05's cached answers, for the state Redis had last time we
    /// looked: (epoch, newest id, the store that answers for them).
    mirror: RwLock<(u64, u64, Arc<CachedStore>)>,
}

const EPOCH: &str = "{chat}:epoch";
const LAST: &str = "{chat}:last";
const MESSAGES: &str = "{chat}:messages";

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError(error.to_string())
}

impl RedisStore {
    // ANCHOR: connect
    /// A store on the Redis at `url` (`redis://127.0.0.1:6379`). It does not
    /// connect yet: the server starts even while Redis is down, answers 503
    /// until it is up, and reconnects by itself after Redis restarts. Call
    /// it inside a tokio runtime: the connection manager starts a task.
    pub fn new(url: &str, capacity: usize) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
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
            capacity,
            append: redis::Script::new(APPEND),
            mirror: RwLock::new((0, 0, empty)),
        })
    }
    // ANCHOR_END: connect
}

impl Store for RedisStore {
    // ANCHOR: push
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        // TODO: run the APPEND script with its four keys (EPOCH, LAST, MESSAGES,
        // and "{chat}:posted:<key>" or "" without a key) and six arguments
        // (user, text, now_ms(), self.capacity, IDEMPOTENCY_TTL_SECONDS,
        // now_ms() as the new epoch): `self.append.key(..)` starts an
        // invocation; `.key(..)` and `.arg(..)` add to it; `invoke_async(&mut
        // self.redis.clone())` runs it and gives the JSON string it returned.
        // Turn that into a `Message` with serde_json. Any Redis error becomes a
        // `StoreError` (the `unavailable` function does that).
        todo!("RedisStore::push: run the APPEND script")
    }
    // ANCHOR_END: push

    // ANCHOR: poll
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        // TODO:
        //   1. in one round trip, `redis::pipe().get(EPOCH).get(LAST)`, read
        //      `(Option<u64>, Option<u64>)` (None for a key not there yet: 0);
        //   2. if they are what `self.mirror` holds, answer from its store;
        //   3. otherwise LRANGE MESSAGES 0 -1, parse each JSON string into a
        //      `Message`, make `CachedStore::from_messages(self.capacity, epoch,
        //      messages)`, and keep it in `self.mirror` with epoch and last;
        //   4. answer `PollAnswer::read(&store, cursor)`.
        todo!(
            "RedisStore::poll: answer from Redis, reading the list only when it changed"
        )
    }
    // ANCHOR_END: poll
}
