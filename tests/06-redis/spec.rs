//! The spec for exercise 06, Redis.
//!
//! The rules chapter 06 teaches, and the scenarios that pin each (a failure
//! names its rule):
//! - R1 a store that is down is `503 Service Unavailable` with `Retry-After`
//!   and a JSON error, never a 500 or a hang (s01, s06).
//! - R2 a retried POST stores one message: the same `Idempotency-Key`
//!   answers the message stored the first time, in memory and across
//!   instances, even when both tries arrive at once (s02, s05).
//! - R3 idempotency keys are bounded: Redis forgets them by itself (`EX`),
//!   and a malformed one is refused with `400` (s02, s07).
//! - R4 one chat for every instance: a message posted through one is listed,
//!   in order, by every other, and they share the epoch, so a cursor or a tag
//!   from one means the same on another (s03).
//! - R5 the append is one script: ids come from `INCR` inside it, so 1,000
//!   posts through two instances at once get the ids 1 to 1,000, each once,
//!   and the newest 50 stay in order (s04).
//! - R6 read the list only when it changed: a poll reads the epoch and the
//!   newest id, and the list (`LRANGE`) only when they differ from what the
//!   instance saw last (s08); both, since a new life of the chat can reach
//!   the same newest id (s14).
//! - R7 recover by itself: after Redis restarts, the server answers again
//!   without being restarted, and every acknowledged message is there (s06).
//! - R8 every key carries the chat's hash tag: two chats on one Redis (a URL
//!   ending in `?chat=<name>`) never meet (s09).
//!
//! One file checks both crates: `cargo test -p ex06-redis` runs it against
//! your starter, and the root `cargo test` runs it against the solution.
//! Each crate's `tests/spec.rs` names its own library `redis_chat` and
//! includes this file. The course's known wrong solutions run the same
//! scenarios in `wrong_solutions.rs`, beside this file.
//!
//! s01 and s02 need no Redis. s03 to s09 run two instances of the server on a
//! real Redis: a `redis-server` of their own (a free port on 127.0.0.1, data
//! in a temporary folder), or, with `REDIS_URL` set, that server, each test
//! under a chat of its own (see `spec_support::redis_server`). Without
//! `redis-server` installed and without `REDIS_URL` they are skipped, with
//! one line that says how to install it; with `REQUIRE_REDIS=1` (as in CI) a
//! missing Redis fails them instead. s06 kills and restarts its Redis, so it
//! is skipped (and says so) on a shared one.

use axum::{
    Router,
    body::Body,
    http::{Request, header},
};
use dont_ddos_yourself::store::Cursor;
use governor::clock::DefaultClock;
use poll_endpoint::message::{Message, ValidMessage};
use redis_chat::error::RETRY_AFTER_SECONDS;
use redis_chat::memory::MemoryStore;
use redis_chat::redis_store::{Keys, RedisStore};
use redis_chat::store::{PollAnswer, Store, StoreError};
use redis_chat::{MAX_MESSAGES, app_with};
use serde_json::json;
use spec_support::Rule;
use spec_support::redis_server::RedisServer;
use spec_support::requests::{self, Reply, send};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub const R1: Rule = Rule::new("R1", "a store that is down is 503");
pub const R2: Rule = Rule::new("R2", "a retried POST stores one message");
pub const R3: Rule = Rule::new("R3", "idempotency keys are bounded");
pub const R4: Rule = Rule::new("R4", "one chat for every instance");
pub const R5: Rule = Rule::new("R5", "the append is one script");
pub const R6: Rule = Rule::new("R6", "read the list only when it changed");
pub const R7: Rule = Rule::new("R7", "recover by itself");
pub const R8: Rule = Rule::new("R8", "every key carries the chat's hash tag");

/// `name` in the crate under test, as a learner finds it:
/// `exercises/06-redis/src/redis_store.rs`.
pub fn file(name: &str) -> String {
    spec_support::learner_file(env!("CARGO_MANIFEST_DIR"), name)
}

#[path = "commands.rs"]
pub mod commands;
use commands::{Command, Commands};

// ---------------------------------------------------------------------------
// Talking to an instance
// ---------------------------------------------------------------------------

pub async fn get(app: &Router, path: &str) -> Reply {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

pub async fn post(app: &Router, text: &str, key: Option<&str>) -> Reply {
    let mut request =
        Request::post("/poll").header(header::CONTENT_TYPE, "application/json");
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let request = request
        .body(Body::from(json!({ "user": "ada", "text": text }).to_string()))
        .unwrap();
    match key {
        // The page that made a key is the one that retries with it: a key is
        // its client's own (see `page_of`).
        Some(key) => requests::send_as(app, request, Some(&page_of(key))).await,
        None => send(app, request).await,
    }
}

/// The client id of the page that posts with `key`.
pub fn page_of(key: &str) -> String {
    format!("page-of-{key}")
}

/// `post`, from another page with the same key.
async fn post_from(app: &Router, client: &str, text: &str, key: &str) -> Reply {
    let request = Request::post("/poll")
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", key)
        .body(Body::from(json!({ "user": "ada", "text": text }).to_string()))
        .unwrap();
    requests::send_as(app, request, Some(client)).await
}

/// An answer in words, for a failure message: `503 {"error": "..."}`.
pub fn shown(reply: &Reply) -> String {
    format!("{} {}", reply.status, String::from_utf8_lossy(&reply.body))
}

/// The texts of a poll answer's messages, oldest first.
fn texts(reply: &Reply) -> Vec<String> {
    reply.json()["msg"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["text"].as_str().map(String::from))
        .collect()
}

/// How a scenario makes an instance of the server on the Redis at a URL:
/// [`instance`], the crate's own, or (in `wrong_solutions.rs`) a known wrong
/// variant of it.
pub type Instance = fn(&str) -> Router;

/// An instance of the crate's server on its `RedisStore`.
pub fn instance(url: &str) -> Router {
    let store = RedisStore::new(url, MAX_MESSAGES).expect("a Redis URL");
    app_with(Arc::new(store), DefaultClock::default())
}

/// This chat's key names, as the store reads them from its URL.
pub fn keys(url: &str) -> Keys {
    Keys::of_url(url).expect("the spec's Redis URL names a usable chat")
}

// ---------------------------------------------------------------------------
// Without Redis
// ---------------------------------------------------------------------------

/// A store that is always down, like Redis when it has crashed.
pub struct Down;

impl Store for Down {
    async fn push(
        &self,
        _: ValidMessage,
        _: Option<String>,
    ) -> Result<Message, StoreError> {
        Err(StoreError("connection refused".to_owned()))
    }
    async fn poll(&self, _: Option<Cursor>) -> Result<PollAnswer, StoreError> {
        Err(StoreError("connection refused".to_owned()))
    }
}

#[tokio::test]
async fn s01_a_store_that_is_down_gets_503_with_retry_after() {
    s01(app_with(Arc::new(Down), DefaultClock::default())).await;
}

/// `app` is the server on a store that is always down.
pub async fn s01(app: Router) {
    let look =
        || format!("Look at `store_unavailable` in {}.", file("src/error.rs"));
    for (what, reply) in [
        ("GET", get(&app, "/poll").await),
        ("POST", post(&app, "hello", None).await),
    ] {
        assert_eq!(
            reply.status,
            503,
            "{R1:#}: while the store is down, {what} /poll should answer 503 Service \
             Unavailable, never 500, but it answered {}.\n{}",
            shown(&reply),
            look()
        );
        assert_eq!(
            reply.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()),
            Some("5"),
            "{R1:#} with Retry-After: the 503 to {what} /poll should say \
             `Retry-After: 5` (RETRY_AFTER_SECONDS), so clients back off; it sent {}.\n{}",
            reply
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map_or("no Retry-After".to_owned(), |v| format!(
                    "`Retry-After: {v}`"
                )),
            look()
        );
        let error = serde_json::from_slice::<serde_json::Value>(&reply.body)
            .ok()
            .and_then(|body| body["error"].as_str().map(str::to_owned))
            .unwrap_or_default();
        // The store's own words and when to come back; never the reason
        // Redis gave (here "connection refused"), which is for the log.
        assert_eq!(
            error,
            format!(
                "the message store is unavailable; try again in {RETRY_AFTER_SECONDS} s"
            ),
            "{R1:#} with a JSON error: the body should be {{\"error\": \"the message \
             store is unavailable; try again in 5 s\"}} (the `StoreError`'s `Display`, then when; Redis's own \
             reason goes to the server's log, not to the client), but it was {}.\n{}",
            String::from_utf8_lossy(&reply.body),
            look()
        );
    }
    assert_eq!(
        get(&app, "/client.js").await.status,
        200,
        "{R1:#}, and only /poll: GET /client.js should still answer 200 while the \
         store is down.\n{}",
        look()
    );
}

#[tokio::test]
async fn s02_a_retried_post_is_stored_once_in_memory_too() {
    s02(app_with(Arc::new(MemoryStore::new(MAX_MESSAGES)), DefaultClock::default()))
        .await;
}

/// `app` is the server on an empty in-memory store.
pub async fn s02(app: Router) {
    let first = post(&app, "hello", Some("msg-1")).await;
    let again = post(&app, "hello", Some("msg-1")).await;
    assert_eq!(
        (first.status, again.status),
        (201, 201),
        "{R2:#}: two POSTs with `Idempotency-Key: msg-1` should both answer \
         201 Created, but they answered {} and {}.\nLook at `push` in {}.",
        shown(&first),
        shown(&again),
        "helpers/chat-store/src/memory.rs (given)"
    );
    assert_eq!(
        first.json(),
        again.json(),
        "{R2:#}: a second POST with the same Idempotency-Key should answer the \
         message stored the first time, not a new one; the first answered {} and the second {}.\nLook at \
         `push` in {}.",
        shown(&first),
        shown(&again),
        "helpers/chat-store/src/memory.rs (given)"
    );
    post(&app, "hello", Some("msg-2")).await;
    let ids = get(&app, "/poll").await.ids();
    assert_eq!(
        ids,
        [1, 2],
        "{R2:#}: three POSTs with the keys msg-1, msg-1 and msg-2 should store \
         two messages (ids 1 and 2), but GET /poll lists {ids:?}.\nLook at `push` in {}.",
        "helpers/chat-store/src/memory.rs (given)"
    );
    let refused = post(&app, "hello", Some("not a key!")).await;
    assert_eq!(
        refused.status,
        400,
        "{R3:#}, and a malformed one is refused: `Idempotency-Key: not a key!` should get 400 (1 to 64 \
         letters, digits, `-` or `_`), but it got {}.\nLook at `idempotency_key` in {}.",
        shown(&refused),
        file("src/routes.rs")
    );
}

// ---------------------------------------------------------------------------
// With a real Redis
// ---------------------------------------------------------------------------

#[tokio::test]
async fn s03_a_message_posted_through_one_instance_is_seen_through_another() {
    let Some(redis) = RedisServer::start("06") else { return };
    s03(&redis, instance).await;
}

pub async fn s03(redis: &RedisServer, instance: Instance) {
    let (a, b) = (instance(&redis.url()), instance(&redis.url()));
    // A chat with no message yet has no keys in Redis: each counts as 0.
    let empty = get(&a, "/poll").await;
    assert_eq!(
        (empty.status, empty.ids()),
        (200, vec![]),
        "{R4:#}: before any message, GET /poll should answer 200 with no messages (the epoch and newest-id keys \
         are not there yet, and a key not there counts as 0), but it answered {}.\nLook at `poll` in {}.",
        shown(&empty),
        file("src/redis_store.rs")
    );
    let first = post(&a, "through A", None).await;
    assert_eq!(
        first.status,
        201,
        "{R4:#}: POST /poll through instance A should store the message in Redis and \
         answer 201, but it answered {}.\nLook at `push` and the APPEND script in {}.",
        shown(&first),
        file("src/redis_store.rs")
    );
    let epoch_at_first = get(&a, "/poll").await.json()["epoch"].clone();
    // Each post offers a new epoch (its instance's clock): only the
    // chat's first message may set it.
    tokio::time::sleep(Duration::from_millis(5)).await;
    post(&b, "through B", None).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    post(&a, "through A again", None).await;
    for (name, app) in [("A", &a), ("B", &b)] {
        let reply = get(app, "/poll").await;
        assert_eq!(
            (reply.ids(), texts(&reply)),
            (
                vec![1, 2, 3],
                vec![
                    "through A".to_owned(),
                    "through B".to_owned(),
                    "through A again".to_owned()
                ]
            ),
            "{R4:#}: after posts through A, B and A, instance {name} should list all \
             three, in order, with ids 1, 2, 3; it answered {}.\nLook at `poll` in {}.",
            shown(&reply),
            file("src/redis_store.rs")
        );
    }
    let epoch = get(&a, "/poll").await.json()["epoch"].clone();
    assert_eq!(
        epoch,
        epoch_at_first,
        "{R4:#}: the chat's first message sets its epoch, and no later one: it was {epoch_at_first} after the \
         first post and {epoch} after two more, so every client's cursor would start over at each post.\n\
         Look at the APPEND script in {}: `SET` the epoch only if it is not there (`NX`).",
        file("src/redis_store.rs")
    );
    let cursor = format!("/poll?since=2&epoch={epoch}");
    let on_b = get(&b, &cursor).await;
    assert_eq!(
        on_b.ids(),
        [3],
        "{R4:#}: a cursor from A means the same on B, because both read the epoch from \
         Redis. GET {cursor} on B should answer message 3 only, but it answered {}.\nLook at `poll` in {}: \
         the mirror's CachedStore takes Redis's epoch, not one of its own.",
        shown(&on_b),
        file("src/redis_store.rs")
    );
    let tag = |r: &Reply| {
        r.headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map_or("no ETag".to_owned(), |v| format!("`ETag: {v}`"))
    };
    let (tag_a, tag_b) =
        (tag(&get(&a, "/poll").await), tag(&get(&b, "/poll").await));
    assert!(
        tag_a == tag_b && tag_a != "no ETag",
        "{R4:#}: the same state has the same ETag on every instance, so a browser's \
         cached answer from A is still good on B; A sent {tag_a} and B {tag_b}.\nLook at `poll` in {}.",
        file("src/redis_store.rs")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s04_concurrent_posts_through_two_instances_lose_nothing() {
    let Some(redis) = RedisServer::start("06") else { return };
    s04(&redis, instance).await;
}

pub async fn s04(redis: &RedisServer, instance: Instance) {
    let (a, b) = (instance(&redis.url()), instance(&redis.url()));
    let mut tasks = Vec::new();
    for (name, app) in [("A", a.clone()), ("B", b.clone())] {
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..500 {
                let reply = post(&app, &format!("{name} {n}"), None).await;
                assert_eq!(
                    reply.status,
                    201,
                    "{R5:#}: post {n} through instance {name} should answer 201, but it \
                     answered {}.\nLook at `push` and the APPEND script in {}.",
                    shown(&reply),
                    file("src/redis_store.rs")
                );
                ids.push(reply.json()["id"].as_u64().unwrap_or_default());
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let ids = match task.await {
            Ok(ids) => ids,
            Err(failed) => std::panic::resume_unwind(failed.into_panic()),
        };
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "{R5:#}: one instance's posts, one after another, should get growing ids, \
             but they got {:?}...\nLook at the APPEND script in {}.",
            &ids[..ids.len().min(20)],
            file("src/redis_store.rs")
        );
        all.extend(ids);
    }
    all.sort_unstable();
    let twice: Vec<u64> =
        all.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).take(10).collect();
    assert_eq!(
        all,
        (1..=1000).collect::<Vec<u64>>(),
        "{R5:#}: 1,000 posts through two instances at once should get the ids 1 to 1,000, \
         each once{}. Hand ids out with INCR inside the same script as the append, never in the instance.\n\
         Look at the APPEND script in {}.",
        if twice.is_empty() {
            String::new()
        } else {
            format!(", but these came twice: {twice:?}")
        },
        file("src/redis_store.rs")
    );
    let kept = get(&b, "/poll").await.ids();
    assert_eq!(
        kept,
        (951..=1000).collect::<Vec<u64>>(),
        "{R5:#}: Redis should keep the newest {MAX_MESSAGES} messages (951 to 1,000), in \
         order (RPUSH, then LTRIM, in the script), but GET /poll listed {} messages: {:?}.\nLook at the APPEND \
         script in {}.",
        kept.len(),
        kept,
        file("src/redis_store.rs")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s05_a_retried_post_is_stored_once_across_instances() {
    let Some(redis) = RedisServer::start("06") else { return };
    s05(&redis, instance).await;
}

pub async fn s05(redis: &RedisServer, instance: Instance) {
    let (a, b) = (instance(&redis.url()), instance(&redis.url()));
    // A client's POST times out and it tries again, maybe through another
    // instance, maybe while the first is still being handled.
    let (first, second) =
        tokio::join!(post(&a, "once", Some("k-1")), post(&b, "once", Some("k-1")));
    let third = post(&a, "once", Some("k-1")).await;
    let look =
        || format!("Look at the APPEND script in {}.", file("src/redis_store.rs"));
    assert_eq!(
        (first.status, second.status, third.status),
        (201, 201, 201),
        "{R2:#}: three tries with `Idempotency-Key: k-1` should each answer 201, \
         but they answered {}, {} and {}.\n{}",
        first.status,
        second.status,
        third.status,
        look()
    );
    assert!(
        first.json() == second.json() && second.json() == third.json(),
        "{R2:#}: every try with the same Idempotency-Key should answer the \
         message stored the first time, but they answered {}, {} and {}.\n{}",
        first.json(),
        second.json(),
        third.json(),
        look()
    );
    let ids = get(&a, "/poll").await.ids();
    assert_eq!(
        ids,
        [1],
        "{R2:#}: three tries with one key, two of them at once through two \
         instances, should store one message, but GET /poll lists {ids:?}. Check the key and store the \
         message in the same script.\n{}",
        look()
    );
    // A retry changes nothing: not even the id counter.
    let next = post(&b, "another", None).await;
    assert_eq!(
        next.json()["id"],
        2,
        "{R2:#}: a retry changes nothing in Redis, not even the id counter: the next message after three tries \
         of one should get id 2, but it got {}. Look for the key before the `INCR`.\n{}",
        next.json()["id"],
        look()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s06_while_redis_is_down_the_server_says_503_and_loses_nothing() {
    let Some(mut redis) = RedisServer::start_to_kill("06") else { return };
    s06(&mut redis, instance).await;
}

/// `redis` is one the test started, which it kills and starts again.
pub async fn s06(redis: &mut RedisServer, instance: Instance) {
    let (a, b) = (instance(&redis.url()), instance(&redis.url()));
    let mut acknowledged = Vec::new();
    for n in 0..5 {
        let reply =
            post(if n % 2 == 0 { &a } else { &b }, &format!("kept {n}"), None).await;
        assert_eq!(
            reply.status,
            201,
            "{R7:#}: with Redis up, post {n} should answer 201, but it answered {}.\nLook at \
             `push` in {}.",
            shown(&reply),
            file("src/redis_store.rs")
        );
        acknowledged.push(reply.json()["id"].as_u64().unwrap_or_default());
    }
    redis.stop();
    for (name, app) in [("A", &a), ("B", &b)] {
        for (what, reply) in [
            ("GET", get(app, "/poll").await),
            ("POST", post(app, "lost?", None).await),
        ] {
            assert!(
                reply.status == 503
                    && reply.headers.contains_key(header::RETRY_AFTER),
                "{R1:#}: with Redis down, {what} /poll on instance {name} should answer \
                 503 with Retry-After (not hang), but it answered {}.\nLook at `store_unavailable` in {} \
                 and at the `?` after each Redis call in {}.",
                shown(&reply),
                file("src/error.rs"),
                file("src/redis_store.rs")
            );
        }
    }
    redis.start_again();
    // The instances reconnect by themselves; give them a few seconds (on
    // the runtime's clock, which a test may stop: see `wrong_solutions.rs`).
    let deadline = Instant::now() + Duration::from_secs(15);
    let back = loop {
        let reply = get(&a, "/poll").await;
        if reply.status == 200 || Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        back.status,
        200,
        "{R7:#}: 15 s after Redis restarted, GET /poll should answer 200 again, without the \
         server being restarted, but it still answered {}. The ConnectionManager reconnects by itself: \
         keep one, and clone it for each command.\nLook at `new` and `poll` in {}.",
        shown(&back),
        file("src/redis_store.rs")
    );
    assert_eq!(
        back.ids(),
        acknowledged,
        "{R7:#}: every POST that got a 201 before the crash should still be there after it.\n\
         Look at `push` in {}.",
        file("src/redis_store.rs")
    );
    let after = post(&b, "after", None).await;
    assert_eq!(
        (after.status, after.json()["id"].as_u64()),
        (201, Some(6)),
        "{R7:#}: after the restart, the next message through instance B should get 201 and the \
         next id, 6; it got {}.\nLook at `push` in {}.",
        shown(&after),
        file("src/redis_store.rs")
    );
}

#[tokio::test]
async fn s07_idempotency_keys_expire_and_bad_ones_are_refused() {
    let Some(redis) = RedisServer::start("06") else { return };
    s07(&redis, instance).await;
}

pub async fn s07(redis: &RedisServer, instance: Instance) {
    let a = instance(&redis.url());
    for key in ["a key with spaces".to_owned(), "k".repeat(65)] {
        let reply = post(&a, "hello", Some(&key)).await;
        assert_eq!(
            reply.status,
            400,
            "{R3:#}, and a malformed one is refused: `Idempotency-Key: {key}` should get 400, but it got {}.\n\
             Look at `idempotency_key` in {}.",
            shown(&reply),
            file("src/routes.rs")
        );
    }
    post(&a, "hello", Some("k-2")).await;
    // The server keeps a key under its client's name: `id:<client>/<key>`.
    let posted = keys(&redis.url()).posted(&format!("id:{}/k-2", page_of("k-2")));
    let mut connection = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("a connection to the test's Redis");
    let ttl: i64 =
        redis::cmd("TTL").arg(&posted).query_async(&mut connection).await.unwrap();
    assert!(
        (1..=redis_chat::store::IDEMPOTENCY_TTL_SECONDS as i64).contains(&ttl),
        "{R3:#}: `{posted}` should be kept with a time to live (SET ... EX \
         IDEMPOTENCY_TTL_SECONDS, in the script), so Redis forgets it by itself; its TTL was {ttl} ({}).\nLook \
         at the APPEND script in {}.",
        match ttl {
            -2 => "no such key",
            -1 => "kept forever",
            _ => "too long",
        },
        file("src/redis_store.rs")
    );
}

#[tokio::test]
async fn s08_a_poll_with_nothing_new_reads_no_list() {
    let Some(redis) = RedisServer::start("06") else { return };
    s08(&redis, instance).await;
}

/// The commands in `seen` that read or write `keys`' list, sent by a client
/// (not run by a script).
fn list_commands(seen: &[String], keys: &Keys) -> Vec<String> {
    seen.iter()
        .map(|line| Command(line))
        .filter(|c| !c.run_by_a_script() && c.names(&keys.messages))
        .map(|c| c.text().to_owned())
        .collect()
}

pub async fn s08(redis: &RedisServer, instance: Instance) {
    let (a, b) = (instance(&redis.url()), instance(&redis.url()));
    let keys = keys(&redis.url());
    for text in ["one", "two", "three"] {
        post(&a, text, None).await;
    }
    // Each instance reads the list once, to learn the three messages.
    for app in [&a, &b] {
        get(app, "/poll").await;
    }
    let commands = Commands::watch(redis.client());
    let look = || {
        format!(
            "Look at `poll` in {}: compare the epoch and the newest id with `self.mirror`, and LRANGE only when \
             they differ.",
            file("src/redis_store.rs")
        )
    };
    let idle_polls = |app: &Router, since: u64| {
        let app = app.clone();
        async move {
            let full = get(&app, "/poll").await;
            let epoch = full.json()["epoch"].clone();
            get(&app, &format!("/poll?since={since}&epoch={epoch}")).await;
            let tag = full.headers.get(header::ETAG).cloned();
            let mut request = Request::get("/poll");
            if let Some(tag) = tag {
                request = request.header(header::IF_NONE_MATCH, tag);
            }
            send(&app, request.body(Body::empty()).unwrap()).await;
        }
    };
    for _ in 0..10 {
        for app in [&a, &b] {
            idle_polls(app, 3).await;
        }
    }
    let read = list_commands(&commands.since_last(), &keys);
    assert!(
        read.is_empty(),
        "{R6:#}: 60 polls through two instances, with nothing new since each \
         last looked, sent {} commands on the list `{}` (the first: {}). A poll that finds the epoch and the \
         newest id unchanged should answer from the instance's mirror, reading nothing else.\n{}",
        read.len(),
        keys.messages,
        read.first().map_or("", String::as_str),
        look()
    );
    // Something new: each instance must see it, and then read nothing again.
    post(&b, "four", None).await;
    for (name, app) in [("A", &a), ("B", &b)] {
        let epoch = get(app, "/poll").await.json()["epoch"].clone();
        let reply = get(app, &format!("/poll?since=3&epoch={epoch}")).await;
        assert_eq!(
            reply.ids(),
            [4],
            "{R6:#}, and when it has: after a post through B, instance {name} \
             should answer message 4 to a cursor at 3, but it answered {}.\n{}",
            shown(&reply),
            look()
        );
    }
    commands.since_last();
    for _ in 0..10 {
        for app in [&a, &b] {
            idle_polls(app, 4).await;
        }
    }
    let read = list_commands(&commands.since_last(), &keys);
    assert!(
        read.is_empty(),
        "{R6:#}: after each instance had read message 4, 60 more polls with \
         nothing new sent {} commands on the list `{}` (the first: {}).\n{}",
        read.len(),
        keys.messages,
        read.first().map_or("", String::as_str),
        look()
    );
}

#[tokio::test]
async fn s09_two_chats_on_one_redis_never_meet() {
    let Some(redis) = RedisServer::start("06") else { return };
    s09(&redis, instance).await;
}

pub async fn s09(redis: &RedisServer, instance: Instance) {
    let (url_a, url_b) = (redis.url_of_chat("a"), redis.url_of_chat("b"));
    let (a, b) = (instance(&url_a), instance(&url_b));
    let look = || {
        format!(
            "Look at `push` and `poll` in {}: name every key with `self.keys` (its `epoch`, `last`, `messages` \
             and `posted(..)`), never `{{chat}}` written out.",
            file("src/redis_store.rs")
        )
    };
    let in_a = post(&a, "in chat a", Some("k-1")).await;
    let in_b = post(&b, "in chat b", Some("k-1")).await;
    assert_eq!(
        (in_b.status, in_b.json()["id"].as_u64(), in_b.json()["text"].clone()),
        (201, Some(1), json!("in chat b")),
        "{R8:#}: the first message of chat b ({url_b}) should be its own \
         message 1, even with an Idempotency-Key that chat a ({url_a}) used too; it answered {} {}.\n{}",
        in_b.status,
        String::from_utf8_lossy(&in_b.body),
        look()
    );
    assert_eq!(
        in_a.status,
        201,
        "{R8:#}: the first message of chat a ({url_a}) should answer 201, \
         but it answered {}.\n{}",
        shown(&in_a),
        look()
    );
    post(&a, "again in chat a", None).await;
    for (chat, app, expected) in [
        ("a", &a, vec!["in chat a", "again in chat a"]),
        ("b", &b, vec!["in chat b"]),
    ] {
        let reply = get(app, "/poll").await;
        assert_eq!(
            texts(&reply),
            expected,
            "{R8:#}: chat {chat} should list only its own messages, but it \
             answered {}.\n{}",
            String::from_utf8_lossy(&reply.body),
            look()
        );
    }
    let mut connection = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("a connection to the test's Redis");
    let messages = keys(&url_b).messages;
    let held: i64 = redis::cmd("LLEN")
        .arg(&messages)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        held,
        1,
        "{R8:#}: chat b's one message should be in `{messages}`, but that \
         list holds {held}.\n{}",
        look()
    );
}

// ---------------------------------------------------------------------------
// Limits: what a client may do with keys, and a restart nobody saw
// ---------------------------------------------------------------------------

#[tokio::test]
async fn s10_a_key_is_bound_to_its_client_and_its_message() {
    s10(app_with(Arc::new(MemoryStore::new(MAX_MESSAGES)), DefaultClock::default()))
        .await;
}

/// `app` is the server on an empty in-memory store.
pub async fn s10(app: Router) {
    assert_eq!(post(&app, "hello", Some("k-1")).await.status, 201);
    let other_text = post(&app, "something else", Some("k-1")).await;
    assert_eq!(
        other_text.status,
        422,
        "the same Idempotency-Key sent again with another message is a mistake, not a retry: 422, and nothing \
         stored. It answered {}.",
        shown(&other_text)
    );
    let someone_else = post_from(&app, "another-page", "mine", "k-1").await;
    assert_eq!(
        someone_else.status,
        201,
        "another client's key is its own: its message must be stored, not dropped as a repeat of yours: {}",
        shown(&someone_else)
    );
    assert_eq!(
        texts(&get(&app, "/poll").await),
        ["hello", "mine"],
        "stored: the first message and the other client's, nothing for the refused one"
    );
}

#[tokio::test]
async fn s11_the_in_memory_key_table_stays_bounded() {
    s11(&MemoryStore::new(MAX_MESSAGES)).await;
}

/// `store` is an empty in-memory store.
pub async fn s11(store: &MemoryStore) {
    use redis_chat::memory::MAX_IDEMPOTENCY_KEYS;
    let message = || {
        poll_endpoint::message::NewMessage {
            user: "ada".to_owned(),
            text: "hi".to_owned(),
        }
        .validate()
        .unwrap()
    };
    for n in 0..MAX_IDEMPOTENCY_KEYS + 2_000 {
        store.push(message(), Some(format!("flood-{n}"))).await.unwrap();
    }
    assert!(
        store.remembered_keys() <= MAX_IDEMPOTENCY_KEYS,
        "a flood of fresh keys left {} in the table; it keeps at most {MAX_IDEMPOTENCY_KEYS}",
        store.remembered_keys()
    );
    // The newest keys are the ones kept: a retry of the last post is still one.
    let last = format!("flood-{}", MAX_IDEMPOTENCY_KEYS + 1_999);
    let again = store.push(message(), Some(last)).await.unwrap();
    assert_eq!(
        again.id,
        (MAX_IDEMPOTENCY_KEYS + 2_000) as u64,
        "a retry of the newest key stores nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s12_the_first_request_after_a_quick_redis_restart_is_answered() {
    let Some(mut redis) = RedisServer::start_to_kill("06") else { return };
    s12(&mut redis, instance).await;
}

/// `redis` is one the test started, which it kills and starts again.
pub async fn s12(redis: &mut RedisServer, instance: Instance) {
    let app = instance(&redis.url());
    assert_eq!(post(&app, "before", None).await.status, 201);
    // Redis restarts while this instance sends nothing: its connection is dead.
    redis.stop();
    redis.start_again();
    let reply = get(&app, "/poll").await;
    assert_eq!(
        reply.status,
        200,
        "Redis is back, so the first GET after its restart should be answered; it got {}. The first command on \
         the old connection fails while the connection manager reconnects: the route tries once more.",
        shown(&reply)
    );
}

#[tokio::test]
async fn s13_no_password_in_what_the_server_prints_and_no_plain_text_refusals() {
    s13(
        redis_chat::redacted,
        app_with(Arc::new(MemoryStore::new(MAX_MESSAGES)), DefaultClock::default()),
    )
    .await;
}

/// `redacted` hides a URL's password; `app` is the server on an empty
/// in-memory store.
pub async fn s13(redacted: fn(&str) -> String, app: Router) {
    assert_eq!(
        redacted("redis://:s3cret@db.example:6379/?chat=room"),
        "redis://:***@db.example:6379/?chat=room",
        "a Redis URL is printed with its password hidden"
    );
    assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    let twice = get(&app, "/poll?since=1&since=2").await;
    assert_eq!(twice.status, 400, "a parameter given twice is refused");
    assert!(
        twice.json()["error"].as_str().is_some_and(|error| !error.is_empty()),
        "in the same JSON shape as every refusal: {}",
        shown(&twice)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s14_a_new_life_of_the_chat_with_the_same_newest_id_is_noticed() {
    let Some(redis) = RedisServer::start("06") else { return };
    s14(&redis, instance).await;
}

/// `instance` serves the chat on the Redis at a URL. The chat starts a new
/// life (its keys gone, as after a restart without persistence) and gets
/// back to the same newest id: a mirror that compared only that id would
/// go on serving the old life's messages.
pub async fn s14(redis: &RedisServer, instance: Instance) {
    let (a, b) = (instance(&redis.url()), instance(&redis.url()));
    post(&a, "from the old life", None).await;
    assert_eq!(texts(&get(&a, "/poll").await), ["from the old life"]);
    let keys = keys(&redis.url());
    let mut connection =
        redis.client().get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&keys.epoch)
        .arg(&keys.last)
        .arg(&keys.messages)
        .query_async(&mut connection)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await; // a new epoch: a later time
    post(&b, "from the new life", None).await; // id 1 again
    assert_eq!(
        texts(&get(&a, "/poll").await),
        ["from the new life"],
        "{R6:#}: the chat started a new life (a new epoch) and its newest id is \
         1 again, as in the old life; instance A must see the change, which is the epoch's, and read the list \
         again. Compare both the epoch and the newest id with the mirror's.\nLook at `poll` in {}.",
        file("src/redis_store.rs")
    );
}
