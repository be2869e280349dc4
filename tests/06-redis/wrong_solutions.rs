//! Exercise 06's known wrong solutions fail its spec, each with a message
//! that names the rule it breaks (the rules are listed at the top of
//! `spec.rs`). Each is the solution with one rule broken and nothing else:
//! a wrapper around the solution's store, or the solution's app with one
//! answer changed; each runs the spec's own scenario, through the same
//! function its test calls.
//!
//! They run in the solution's test target, beside the spec, once. The
//! Redis scenarios need a Redis, as the spec's do: without one they are
//! skipped, and with `REQUIRE_REDIS=1` they fail.

use crate::spec;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::Response;
use dont_ddos_yourself::store::{CachedStore, Cursor};
use governor::clock::DefaultClock;
use poll_endpoint::message::{Message, ValidMessage};
use redis::AsyncCommands;
use redis_chat::memory::MemoryStore;
use redis_chat::redis_store::RedisStore;
use redis_chat::store::{PollAnswer, Store, StoreError};
use redis_chat::{MAX_MESSAGES, app_with};
use spec::{R1, R2, R3, R4, R5, R6, R7, R8};
use spec_support::redis_server::RedisServer;
use spec_support::{assert_names, block_on, failure_message};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// An instance of the app on `store`.
fn app_on<S: Store>(store: S) -> Router {
    app_with(Arc::new(store), DefaultClock::default())
}

/// The solution's store on `url`.
fn redis_store(url: &str) -> RedisStore {
    RedisStore::new(url, MAX_MESSAGES).expect("a Redis URL")
}

// ---------------------------------------------------------------------------
// R1: a store that is down is 503
// ---------------------------------------------------------------------------

/// The solution's app with `store_unavailable` answering 500 (and no
/// Retry-After), as a handler that lets the store's error through would.
fn answers_500(app: Router) -> Router {
    app.layer(axum::middleware::map_response(|mut response: Response| async move {
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response.headers_mut().remove(header::RETRY_AFTER);
        }
        response
    }))
}

#[test]
fn r1_a_server_that_answers_500_while_the_store_is_down_fails_s01() {
    let message = failure_message("a 500 for a store that is down", || {
        block_on(spec::s01(answers_500(app_on(spec::Down))))
    });
    assert_names(R1, &message);
}

/// The solution's app with `store_unavailable` telling the client the
/// reason Redis gave, `error.0`, instead of the store's own words.
fn tells_the_reason(app: Router) -> Router {
    app.layer(axum::middleware::map_response(|response: Response| async move {
        if response.status() != StatusCode::SERVICE_UNAVAILABLE {
            return response;
        }
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        let body =
            serde_json::json!({ "error": "connection refused; try again in 5 s" })
                .to_string();
        Response::from_parts(parts, axum::body::Body::from(body))
    }))
}

#[test]
fn r1_a_503_that_tells_the_client_redis_s_reason_fails_s01() {
    let message = failure_message("a 503 that tells Redis's reason", || {
        block_on(spec::s01(tells_the_reason(app_on(spec::Down))))
    });
    assert_names(R1, &message);
}

// ---------------------------------------------------------------------------
// R2: a retried POST stores one message
// ---------------------------------------------------------------------------

/// A store that drops every idempotency key: each retry stores again.
struct IgnoresKeys<S>(S);

impl<S: Store> Store for IgnoresKeys<S> {
    async fn push(
        &self,
        message: ValidMessage,
        _key: Option<String>,
    ) -> Result<Message, StoreError> {
        self.0.push(message, None).await
    }
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        self.0.poll(cursor).await
    }
}

#[test]
fn r2_a_memory_store_that_ignores_idempotency_keys_fails_s02() {
    let message = failure_message("a memory store without idempotency keys", || {
        block_on(spec::s02(app_on(IgnoresKeys(MemoryStore::new(MAX_MESSAGES)))))
    });
    assert_names(R2, &message);
}

#[test]
fn r2_a_redis_store_that_ignores_idempotency_keys_fails_s05() {
    let Some(redis) = RedisServer::start("06") else { return };
    let message = failure_message("a Redis store without idempotency keys", || {
        block_on(spec::s05(&redis, |url| app_on(IgnoresKeys(redis_store(url)))))
    });
    assert_names(R2, &message);
}

/// The solution's store, but a retry moves the id counter on, as a script
/// that runs `INCR` before it looks for the key would.
struct RetriesCountAnId {
    store: RedisStore,
    redis: redis::Client,
}

impl Store for RetriesCountAnId {
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        let mut redis = self.redis.get_multiplexed_async_connection().await.unwrap();
        let posted = key.as_deref().map(|key| self.store.keys().posted(key));
        let retry = match &posted {
            Some(posted) => redis.exists::<_, bool>(posted).await.unwrap(),
            None => false,
        };
        let stored = self.store.push(message, key).await?;
        if retry {
            let _: u64 = redis.incr(&self.store.keys().last, 1).await.unwrap();
        }
        Ok(stored)
    }
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        self.store.poll(cursor).await
    }
}

#[test]
fn r2_a_retry_that_moves_the_id_counter_fails_s05() {
    let Some(redis) = RedisServer::start("06") else { return };
    let message = failure_message("a retry that moves the id counter", || {
        block_on(spec::s05(&redis, |url| {
            let client = redis::Client::open(url).unwrap();
            app_on(RetriesCountAnId { store: redis_store(url), redis: client })
        }))
    });
    assert_names(R2, &message);
    assert!(message.contains("not even the id counter"), "{message}");
}

// ---------------------------------------------------------------------------
// R3: idempotency keys are bounded
// ---------------------------------------------------------------------------

/// The solution's store, but every idempotency key is kept forever, as with
/// `SET KEYS[4] message` without `EX` in the script.
struct KeepsKeysForever {
    store: RedisStore,
    redis: redis::Client,
}

impl Store for KeepsKeysForever {
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        let posted = key.as_deref().map(|key| self.store.keys().posted(key));
        let stored = self.store.push(message, key).await?;
        if let Some(posted) = posted {
            let mut redis =
                self.redis.get_multiplexed_async_connection().await.unwrap();
            let _: bool = redis.persist(posted).await.unwrap();
        }
        Ok(stored)
    }
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        self.store.poll(cursor).await
    }
}

#[test]
fn r3_a_store_that_keeps_idempotency_keys_forever_fails_s07() {
    let Some(redis) = RedisServer::start("06") else { return };
    let message = failure_message("a store that keeps keys forever", || {
        block_on(spec::s07(&redis, |url| {
            let redis = redis::Client::open(url).unwrap();
            app_on(KeepsKeysForever { store: redis_store(url), redis })
        }))
    });
    assert_names(R3, &message);
    assert!(message.contains("kept forever"), "{message}");
}

// ---------------------------------------------------------------------------
// R4: one chat for every instance
// ---------------------------------------------------------------------------

/// The solution's store, but each instance answers in an epoch of its own,
/// as a mirror made with `CachedStore::new` (whose epoch is the time it was
/// made) instead of Redis's epoch would.
struct OwnEpoch {
    store: RedisStore,
    epoch: u64,
}

impl Store for OwnEpoch {
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        self.store.push(message, key).await
    }
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        // A cursor in this instance's epoch is one of this life; any other
        // epoch is another life, as the mirror would see it.
        let cursor = cursor
            .map(|c| Cursor { epoch: c.epoch.filter(|e| *e != self.epoch), ..c });
        let answer = self.store.poll(cursor).await?;
        let mut body: serde_json::Value =
            serde_json::from_slice(&answer.body).unwrap();
        body["epoch"] = self.epoch.into();
        let etag = answer.etag.to_str().unwrap();
        let newest = etag.trim_matches('"').rsplit('-').next().unwrap().to_owned();
        Ok(PollAnswer {
            etag: format!("\"{}-{newest}\"", self.epoch).parse().unwrap(),
            body: serde_json::to_vec(&body).unwrap().into(),
            news: answer.news,
        })
    }
}

#[test]
fn r4_instances_with_epochs_of_their_own_fail_s03() {
    let Some(redis) = RedisServer::start("06") else { return };
    let message = failure_message("instances with epochs of their own", || {
        block_on(spec::s03(&redis, |url| {
            static NEXT: AtomicU64 = AtomicU64::new(1_000);
            let epoch = NEXT.fetch_add(1, Ordering::Relaxed);
            app_on(OwnEpoch { store: redis_store(url), epoch })
        }))
    });
    assert_names(R4, &message);
    assert!(message.contains("a cursor from A means the same on B"), "{message}");
}

/// The solution's store, but each message sets the epoch, as `SET` without
/// `NX` in the script would: the chat starts a new life at every post.
struct EachPostSetsTheEpoch {
    store: RedisStore,
    redis: redis::Client,
}

impl Store for EachPostSetsTheEpoch {
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        let stored = self.store.push(message, key).await?;
        let mut redis = self.redis.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis
            .set(&self.store.keys().epoch, poll_endpoint::store::now_ms())
            .await
            .unwrap();
        Ok(stored)
    }
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        self.store.poll(cursor).await
    }
}

#[test]
fn r4_a_script_that_sets_the_epoch_at_every_post_fails_s03() {
    let Some(redis) = RedisServer::start("06") else { return };
    let message =
        failure_message("a script that sets the epoch at every post", || {
            block_on(spec::s03(&redis, |url| {
                let client = redis::Client::open(url).unwrap();
                app_on(EachPostSetsTheEpoch {
                    store: redis_store(url),
                    redis: client,
                })
            }))
        });
    assert_names(R4, &message);
    assert!(message.contains("sets its epoch, and no later one"), "{message}");
}

/// The solution's store, but a poll of a chat whose keys are not there yet
/// fails, as one that reads them as `u64` rather than `Option<u64>` would.
struct NeedsTheKeys(RedisStore, redis::Client);

impl Store for NeedsTheKeys {
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        self.0.push(message, key).await
    }
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        let mut redis = self.1.get_multiplexed_async_connection().await.unwrap();
        let epoch: Result<u64, redis::RedisError> =
            redis.get(&self.0.keys().epoch).await;
        epoch.map_err(|error| StoreError(error.to_string()))?;
        self.0.poll(cursor).await
    }
}

#[test]
fn r4_a_poll_that_needs_the_keys_to_be_there_fails_s03() {
    let Some(redis) = RedisServer::start("06") else { return };
    let message = failure_message("a poll that needs the keys to be there", || {
        block_on(spec::s03(&redis, |url| {
            app_on(NeedsTheKeys(redis_store(url), redis::Client::open(url).unwrap()))
        }))
    });
    assert_names(R4, &message);
    assert!(message.contains("before any message"), "{message}");
}

// ---------------------------------------------------------------------------
// R5: the append is one script
// ---------------------------------------------------------------------------

/// A store that appends with separate commands and hands out ids itself:
/// each instance counts from 1, so two instances give out the same ids. It
/// polls as the solution does (the same keys).
struct CountsIdsItself {
    poller: RedisStore,
    redis: redis::Client,
    next: AtomicU64,
}

impl Store for CountsIdsItself {
    async fn push(
        &self,
        message: ValidMessage,
        _key: Option<String>,
    ) -> Result<Message, StoreError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let stored = message.into_message(id, poll_endpoint::store::now_ms());
        let keys = self.poller.keys();
        let json = serde_json::to_string(&stored).unwrap();
        let mut redis = self.redis.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::pipe()
            .cmd("SET")
            .arg(&keys.epoch)
            .arg(poll_endpoint::store::now_ms())
            .arg("NX")
            .ignore()
            .set(&keys.last, id)
            .ignore()
            .rpush(&keys.messages, json)
            .ignore()
            .ltrim(&keys.messages, -(MAX_MESSAGES as isize), -1)
            .ignore()
            .query_async(&mut redis)
            .await
            .unwrap();
        Ok(stored)
    }
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        self.poller.poll(cursor).await
    }
}

#[test]
fn r5_instances_that_count_ids_themselves_fail_s04() {
    let Some(redis) = RedisServer::start("06") else { return };
    let message = failure_message("ids counted by each instance", || {
        block_on(spec::s04(&redis, |url| {
            app_on(CountsIdsItself {
                poller: redis_store(url),
                redis: redis::Client::open(url).unwrap(),
                next: AtomicU64::new(1),
            })
        }))
    });
    assert_names(R5, &message);
    assert!(message.contains("came twice"), "{message}");
}

// ---------------------------------------------------------------------------
// R6: read the list only when it changed
// ---------------------------------------------------------------------------

/// The solution's store, but `poll` runs LRANGE every time and never uses
/// the mirror: right answers, at the price of the whole list per poll.
struct ReadsTheListEveryTime {
    store: RedisStore,
    redis: redis::Client,
}

impl Store for ReadsTheListEveryTime {
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        self.store.push(message, key).await
    }
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        let keys = self.store.keys();
        let mut redis = self.redis.get_multiplexed_async_connection().await.unwrap();
        let (epoch, list): (Option<u64>, Vec<String>) = redis::pipe()
            .get(&keys.epoch)
            .lrange(&keys.messages, 0, -1)
            .query_async(&mut redis)
            .await
            .map_err(|e| StoreError(e.to_string()))?;
        let messages =
            list.iter().filter_map(|json| serde_json::from_str(json).ok()).collect();
        let store =
            CachedStore::from_messages(MAX_MESSAGES, epoch.unwrap_or(0), messages);
        Ok(PollAnswer::read(&store, cursor))
    }
}

fn reads_the_list_every_time(url: &str) -> Router {
    let redis = redis::Client::open(url).unwrap();
    app_on(ReadsTheListEveryTime { store: redis_store(url), redis })
}

#[test]
fn r6_a_store_that_reads_the_list_on_every_poll_fails_s08() {
    let Some(redis) = RedisServer::start("06") else { return };
    let message =
        failure_message("a store that reads the list on every poll", || {
            block_on(spec::s08(&redis, reads_the_list_every_time))
        });
    assert_names(R6, &message);
    assert!(message.contains("LRANGE"), "{message}");
}

/// It breaks R6 only: the other Redis scenarios it could break pass with it.
#[test]
fn a_store_that_reads_the_list_on_every_poll_passes_the_other_scenarios() {
    // A Redis of its own (or a chat of its own) for each: a scenario starts
    // from an empty chat.
    let fresh = || RedisServer::start("06");
    block_on(async {
        let Some(redis) = fresh() else { return };
        spec::s03(&redis, reads_the_list_every_time).await;
        let Some(redis) = fresh() else { return };
        spec::s05(&redis, reads_the_list_every_time).await;
        let Some(redis) = fresh() else { return };
        spec::s09(&redis, reads_the_list_every_time).await;
    });
}

// ---------------------------------------------------------------------------
// R7: recover by itself
// ---------------------------------------------------------------------------

/// The solution's store, but once Redis has failed it stays failed, as a
/// plain multiplexed connection does once Redis closes it: every call after
/// that fails at once, without asking Redis.
struct StaysBroken {
    store: RedisStore,
    broken: AtomicBool,
}

/// A `StaysBroken` has stopped the clock of the test's runtime: only the
/// first may, since tokio panics when it is stopped twice.
static CLOCK_STOPPED: AtomicBool = AtomicBool::new(false);

impl StaysBroken {
    async fn check<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(StoreError("broken pipe".to_owned()));
        }
        let result = call.await;
        if result.is_err() {
            self.broken.store(true, Ordering::Relaxed);
            // Broken, it gives the same answer whatever the time. So the
            // clock of the test's runtime (one thread, `block_on`'s) stops
            // here, tokio's paused time: s06's 15 s wait for a recovery,
            // which counts on that clock, then passes poll by poll in no
            // time, instead of taking 15 s of every test run. Before the
            // crash (posts that Redis must answer within the store's
            // timeouts) it is still the real clock.
            if !CLOCK_STOPPED.swap(true, Ordering::Relaxed) {
                tokio::time::pause();
            }
        }
        result
    }
}

impl Store for StaysBroken {
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        self.check(self.store.push(message, key)).await
    }
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        self.check(self.store.poll(cursor)).await
    }
}

#[test]
fn r7_a_store_that_stays_broken_after_redis_restarts_fails_s06() {
    let Some(mut redis) = RedisServer::start_to_kill("06") else { return };
    let message = failure_message("a store that stays broken", || {
        block_on(spec::s06(&mut redis, |url| {
            app_on(StaysBroken {
                store: redis_store(url),
                broken: AtomicBool::new(false),
            })
        }))
    });
    assert_names(R7, &message);
    assert!(message.contains("after Redis restarted"), "{message}");
}

// ---------------------------------------------------------------------------
// R8: every key carries the chat's hash tag
// ---------------------------------------------------------------------------

/// The URL with its `chat` cut back to the test's own (`<chat>.a` and
/// `<chat>.b` both become `<chat>`): one set of keys for every chat, as a
/// store that writes `{chat}:...` out instead of using `self.keys` has.
fn one_chat_for_all(url: &str) -> String {
    let mut parsed = redis::parse_redis_url(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(name, value)| match value.rsplit_once('.') {
            Some((base, _)) if name == "chat" => {
                (name.into_owned(), base.to_owned())
            }
            _ => (name.into_owned(), value.into_owned()),
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[test]
fn r8_a_store_that_ignores_the_chat_fails_s09() {
    let Some(redis) = RedisServer::start("06") else { return };
    let message = failure_message("a store that ignores the chat", || {
        block_on(spec::s09(&redis, |url| spec::instance(&one_chat_for_all(url))))
    });
    assert_names(R8, &message);
}

// ---------------------------------------------------------------------------
// The scenarios fail only for the wrong: the solution passes them all
// ---------------------------------------------------------------------------

/// The spec's own tests (beside these, in the same test target) run the
/// solution through every scenario. This runs the one a wrong solution
/// above was given through a wrapper that changes nothing, so the wrappers
/// themselves are no excuse.
struct Unchanged<S>(S);

impl<S: Store> Store for Unchanged<S> {
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        self.0.push(message, key).await
    }
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        self.0.poll(cursor).await
    }
}

#[test]
fn a_wrapper_that_changes_nothing_passes() {
    block_on(spec::s02(app_on(Unchanged(MemoryStore::new(MAX_MESSAGES)))));
    block_on(async {
        let unchanged = |url: &str| app_on(Unchanged(redis_store(url)));
        let fresh = || RedisServer::start("06");
        let Some(redis) = fresh() else { return };
        spec::s03(&redis, unchanged).await;
        let Some(redis) = fresh() else { return };
        spec::s07(&redis, unchanged).await;
        let Some(redis) = fresh() else { return };
        spec::s08(&redis, unchanged).await;
    });
}

/// The mirror checked by the newest id alone: a new life of the chat that
/// reaches the same id is never noticed.
struct ComparesOnlyTheNewestId {
    store: RedisStore,
    redis: redis::Client,
    mirror: std::sync::Mutex<Option<(u64, Arc<CachedStore>)>>,
}

impl Store for ComparesOnlyTheNewestId {
    async fn push(
        &self,
        message: ValidMessage,
        key: Option<String>,
    ) -> Result<Message, StoreError> {
        self.store.push(message, key).await
    }
    async fn poll(&self, cursor: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        let keys = self.store.keys();
        let mut redis = self.redis.get_multiplexed_async_connection().await.unwrap();
        let (epoch, last): (Option<u64>, Option<u64>) = redis::pipe()
            .get(&keys.epoch)
            .get(&keys.last)
            .query_async(&mut redis)
            .await
            .map_err(|e| StoreError(e.to_string()))?;
        let known = self
            .mirror
            .lock()
            .unwrap()
            .clone()
            .filter(|(seen, _)| Some(*seen) == last);
        let store = match known {
            Some((_, store)) => store,
            None => {
                let list: Vec<String> = redis::cmd("LRANGE")
                    .arg(&keys.messages)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut redis)
                    .await
                    .unwrap();
                let messages = list
                    .iter()
                    .filter_map(|json| serde_json::from_str(json).ok())
                    .collect();
                let store = Arc::new(CachedStore::from_messages(
                    MAX_MESSAGES,
                    epoch.unwrap_or(0),
                    messages,
                ));
                *self.mirror.lock().unwrap() =
                    Some((last.unwrap_or(0), store.clone()));
                store
            }
        };
        Ok(PollAnswer::read(&store, cursor))
    }
}

fn compares_only_the_newest_id(url: &str) -> Router {
    let store = ComparesOnlyTheNewestId {
        store: RedisStore::new(url, MAX_MESSAGES).expect("a Redis URL"),
        redis: redis::Client::open(url).expect("a Redis URL"),
        mirror: std::sync::Mutex::new(None),
    };
    app_on(store)
}

#[test]
fn r6_a_mirror_that_ignores_the_epoch_fails_s14() {
    let Some(redis) = RedisServer::start("06") else { return };
    let message = failure_message("a mirror checked by the newest id alone", || {
        block_on(spec::s14(&redis, compares_only_the_newest_id))
    });
    assert_names(R6, &message);
}
