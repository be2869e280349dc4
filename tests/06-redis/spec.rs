//! The spec for exercise 06, Redis.
//!
//! One file checks both crates: `cargo test -p ex06-redis` runs it against
//! your starter, and the root `cargo test` runs it against the solution.
//! Each crate's `tests/spec.rs` names its own library `redis_chat` and
//! includes this file.
//!
//! s01 and s02 need no Redis. s03 to s07 start a real `redis-server` of their
//! own (a free port on 127.0.0.1, data in a temporary folder) and run two
//! instances of the server against it. Without `redis-server` installed they
//! are skipped, with one line that says how to install it; with
//! `REQUIRE_REDIS=1` (as in CI) a missing Redis fails them instead.

use axum::{
    Router,
    body::Body,
    http::{Request, header},
};
use dont_ddos_yourself::store::Cursor;
use governor::clock::DefaultClock;
use poll_endpoint::message::{Message, ValidMessage};
use redis_chat::memory::MemoryStore;
use redis_chat::redis_store::RedisStore;
use redis_chat::store::{PollAnswer, Store, StoreError};
use redis_chat::{MAX_MESSAGES, app_with};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn file(name: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let name_of = |p: &std::path::Path| {
        p.file_name().unwrap_or_default().to_string_lossy().into_owned()
    };
    format!("{}/{}/{name}", name_of(dir.parent().unwrap_or(dir)), name_of(dir))
}

#[path = "../support/redis_server.rs"]
mod redis_server;
#[path = "../support/requests.rs"]
mod requests;
use redis_server::RedisServer;
use requests::{Reply, send};

// ---------------------------------------------------------------------------
// Talking to an instance
// ---------------------------------------------------------------------------

async fn get(app: &Router, path: &str) -> Reply {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

async fn post(app: &Router, text: &str, key: Option<&str>) -> Reply {
    let mut request =
        Request::post("/poll").header(header::CONTENT_TYPE, "application/json");
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    send(
        app,
        request
            .body(Body::from(json!({ "user": "ada", "text": text }).to_string()))
            .unwrap(),
    )
    .await
}

fn instance(redis: &RedisServer) -> Router {
    let store = RedisStore::new(&redis.url(), MAX_MESSAGES).expect("a Redis URL");
    app_with(Arc::new(store), DefaultClock::default())
}

// ---------------------------------------------------------------------------
// Without Redis
// ---------------------------------------------------------------------------

/// A store that is always down, like Redis when it has crashed.
struct Down;

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
    let app = app_with(Arc::new(Down), DefaultClock::default());
    for reply in [get(&app, "/poll").await, post(&app, "hello", None).await] {
        assert_eq!(
            reply.status,
            503,
            "while the store is down, GET and POST /poll should answer 503 Service Unavailable, never 500.\nLook \
             at `store_unavailable` in {}.",
            file("src/routes.rs")
        );
        assert_eq!(
            reply.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()),
            Some("5"),
            "and Retry-After: 5"
        );
        let error = reply.json()["error"].as_str().unwrap_or_default().to_owned();
        assert!(
            error.contains("unavailable"),
            "and say so in `error`, as JSON: {:?}",
            reply.body
        );
    }
    assert_eq!(
        get(&app, "/client.js").await.status,
        200,
        "the rest of the server keeps serving"
    );
}

#[tokio::test]
async fn s02_a_retried_post_is_stored_once_in_memory_too() {
    let app =
        app_with(Arc::new(MemoryStore::new(MAX_MESSAGES)), DefaultClock::default());
    let first = post(&app, "hello", Some("msg-1")).await;
    let again = post(&app, "hello", Some("msg-1")).await;
    assert_eq!((first.status, again.status), (201, 201));
    assert_eq!(
        first.json(),
        again.json(),
        "the same key answers the message stored the first time"
    );
    post(&app, "hello", Some("msg-2")).await;
    assert_eq!(get(&app, "/poll").await.ids(), [1, 2], "one message per key");
    assert_eq!(
        post(&app, "hello", Some("not a key!")).await.status,
        400,
        "a malformed key is refused"
    );
}

// ---------------------------------------------------------------------------
// With a real Redis
// ---------------------------------------------------------------------------

#[tokio::test]
async fn s03_a_message_posted_through_one_instance_is_seen_through_another() {
    let Some(redis) = RedisServer::start("06") else { return };
    let (a, b) = (instance(&redis), instance(&redis));
    let first = post(&a, "through A", None).await;
    assert_eq!(
        first.status,
        201,
        "POST /poll through instance A should store the message in Redis; it answered {} {:?}.\nLook at `push` \
         and the APPEND script in {}.",
        first.status,
        first.body,
        file("src/redis_store.rs")
    );
    post(&b, "through B", None).await;
    post(&a, "through A again", None).await;
    for (name, app) in [("A", &a), ("B", &b)] {
        let reply = get(app, "/poll").await;
        let texts: Vec<String> = reply.json()["msg"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["text"].as_str().map(String::from))
            .collect();
        assert_eq!(
            (reply.ids(), texts),
            (
                vec![1, 2, 3],
                vec![
                    "through A".to_owned(),
                    "through B".to_owned(),
                    "through A again".to_owned()
                ]
            ),
            "instance {name} should list every message, from both instances, in order, with ids 1, 2, 3.\nLook \
             at `poll` in {}.",
            file("src/redis_store.rs")
        );
    }
    let cursor =
        format!("/poll?since=2&epoch={}", get(&a, "/poll").await.json()["epoch"]);
    assert_eq!(
        get(&b, &cursor).await.ids(),
        [3],
        "a cursor from A means the same on B: they share the epoch"
    );
    let tag = |r: &Reply| r.headers.get(header::ETAG).cloned();
    assert_eq!(
        tag(&get(&a, "/poll").await),
        tag(&get(&b, "/poll").await),
        "and the same state has the same tag"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s04_concurrent_posts_through_two_instances_lose_nothing() {
    let Some(redis) = RedisServer::start("06") else { return };
    let (a, b) = (instance(&redis), instance(&redis));
    let mut tasks = Vec::new();
    for (name, app) in [("A", a.clone()), ("B", b.clone())] {
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..500 {
                let reply = post(&app, &format!("{name} {n}"), None).await;
                assert_eq!(
                    reply.status, 201,
                    "post {n} through {name}: {:?}",
                    reply.body
                );
                ids.push(reply.json()["id"].as_u64().unwrap());
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let ids = task.await.unwrap();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "one instance's posts, in turn, get growing ids"
        );
        all.extend(ids);
    }
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=1000).collect::<Vec<u64>>(),
        "1,000 posts through two instances at once should get the ids 1 to 1,000, each once: hand ids out with \
         INCR inside the same script as the append.\nLook at the APPEND script in {}.",
        file("src/redis_store.rs")
    );
    let kept = get(&b, "/poll").await.ids();
    assert_eq!(
        kept,
        (951..=1000).collect::<Vec<u64>>(),
        "Redis keeps the newest {MAX_MESSAGES}, in order (LTRIM)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s05_a_retried_post_is_stored_once_across_instances() {
    let Some(redis) = RedisServer::start("06") else { return };
    let (a, b) = (instance(&redis), instance(&redis));
    // A client's POST times out and it tries again, maybe through another
    // instance, maybe while the first is still being handled.
    let (first, second) =
        tokio::join!(post(&a, "once", Some("k-1")), post(&b, "once", Some("k-1")));
    let third = post(&a, "once", Some("k-1")).await;
    assert_eq!((first.status, second.status, third.status), (201, 201, 201));
    assert!(
        first.json() == second.json() && second.json() == third.json(),
        "the same Idempotency-Key should always answer the message stored the first time"
    );
    assert_eq!(
        get(&a, "/poll").await.ids(),
        [1],
        "three tries with one key should store one message.\nLook at the APPEND script in {}.",
        file("src/redis_store.rs")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s06_while_redis_is_down_the_server_says_503_and_loses_nothing() {
    let Some(mut redis) = RedisServer::start("06") else { return };
    let (a, b) = (instance(&redis), instance(&redis));
    let mut acknowledged = Vec::new();
    for n in 0..5 {
        let reply =
            post(if n % 2 == 0 { &a } else { &b }, &format!("kept {n}"), None).await;
        assert_eq!(reply.status, 201);
        acknowledged.push(reply.json()["id"].as_u64().unwrap());
    }
    redis.stop();
    for app in [&a, &b] {
        for reply in [get(app, "/poll").await, post(app, "lost?", None).await] {
            assert_eq!(
                reply.status, 503,
                "with Redis down, the server should answer 503 (not {}, and not hang): {:?}",
                reply.status, reply.body
            );
            assert!(
                reply.headers.contains_key(header::RETRY_AFTER),
                "with Retry-After"
            );
        }
    }
    redis.start_again();
    // The instances reconnect by themselves; give them a few seconds.
    let deadline = Instant::now() + Duration::from_secs(15);
    let back = loop {
        let reply = get(&a, "/poll").await;
        if reply.status == 200 || Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        back.status, 200,
        "after Redis restarts, polling should work again without restarting the server"
    );
    assert_eq!(
        back.ids(),
        acknowledged,
        "every POST that got a 201 before the crash is still there"
    );
    let after = post(&b, "after", None).await;
    assert_eq!(
        (after.status, after.json()["id"].as_u64()),
        (201, Some(6)),
        "and the next message gets the next id"
    );
}

#[tokio::test]
async fn s07_idempotency_keys_expire_and_bad_ones_are_refused() {
    let Some(redis) = RedisServer::start("06") else { return };
    let a = instance(&redis);
    assert_eq!(post(&a, "hello", Some("a key with spaces")).await.status, 400);
    assert_eq!(post(&a, "hello", Some(&"k".repeat(65))).await.status, 400);
    post(&a, "hello", Some("k-2")).await;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg("{chat}:posted:k-2")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(
        (1..=redis_chat::store::IDEMPOTENCY_TTL_SECONDS as i64).contains(&ttl),
        "an idempotency key is kept with a time to live (EX), so Redis forgets it; TTL was {ttl}"
    );
}
