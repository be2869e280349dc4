//! The spec for exercise 07, true long polling.
//!
//! The rules chapter 07 teaches, and the scenarios that pin each (a failure
//! names its rule):
//! - R1 news is answered at once: a cursor behind the store, or from another
//!   life of it, gets its answer without waiting (s01).
//! - R2 without news, hold, and a post wakes the held request the moment it
//!   is stored (s02).
//! - R3 after `wait` seconds with nothing new, an empty `200`; `wait` is
//!   capped at MAX_WAIT_SECONDS, and one that is not a whole number is a
//!   `400` (s03); a wake-up that brings nothing new does not start the wait
//!   again (s10).
//! - R4 subscribe before you look: a message stored between the look at the
//!   store and the wait for news is not lost (s09).
//! - R5 one read of the store per version and cursor, shared by every
//!   request at that cursor (s04).
//! - R6 a client that hangs up is forgotten: a held request lives only in
//!   its handler's future (s05).
//! - R7 shutting down answers the held requests at once, and any that
//!   arrives after (s06).
//! - R8 news crosses instances through Redis pub/sub, and flows again after
//!   Redis restarts (s07, s08).
//! - R9 the page long polls (`wait=25`) and shows a message the moment it is
//!   posted (s16).
//! - R10 after an empty answer, the page asks again at once (s17).
//! - R11 a held request that breaks is retried with exercise 04's backoff:
//!   its schedule, said on the status line until a request succeeds (s18),
//!   a `429` or `503`'s Retry-After (s20), and a fresh start after each
//!   success (s21).
//! - R12 a hidden page lets go of its request and catches up when shown
//!   (s19).
//! - R13 held long polls are not rate-limited: a long poll the server held
//!   until news came is limited by the held caps, not by exercise 05's 2 a
//!   second, so a reader in a busy chat is never refused for keeping up; a
//!   long poll answered at once (news already there, or `wait=0`) counts
//!   like any poll (s15; given code).
//!
//! One file checks both crates: `cargo test -p ex07-long-polling` runs it
//! against your starter, and the root `cargo test` runs it against the
//! solution. Each crate's `tests/spec.rs` names its own library
//! `long_polling` and includes this file. Each scenario is a function that
//! takes the code it runs (an app, a hub, a client), so the course's known
//! wrong solutions (`wrong_solutions.rs`, beside this file) run the very
//! same scenarios with theirs.
//!
//! s01 to s06 talk to the server (your `src/query.rs` and `src/hold.rs`) on
//! tokio's paused clock, so 30 s of holding take no real time; s05 and s06
//! use real sockets. s07 and s08 start a real `redis-server` and two
//! instances (your `listen` in `src/listen.rs`). s09 stores a message in the
//! gap between your `wait`'s look at the store and its wait for news, and
//! s10 wakes a held request with nothing new for it. s11 to s15 hold the
//! server to its limits (given code in `helpers/limits` and
//! `helpers/chat-store`): caps on held requests, a bounded answer cache, and
//! no failure kept as an answer. s16 to s21 run the page, with your
//! `client.js`, in the virtual browser. Work in number order.

use axum::{
    Router,
    body::Body,
    http::{Request, header},
};
use dont_ddos_yourself::store::Cursor;
use dont_ddos_yourself::{BACKOFF_JS, CURSOR_JS};
use governor::clock::FakeRelativeClock;
use long_polling::hold::Hub;
use long_polling::news::News;
use long_polling::{CLIENT_JS, MAX_MESSAGES, MAX_WAIT_SECONDS, app_with};
use redis_chat::memory::MemoryStore;
use redis_chat::redis_store::RedisStore;
use redis_chat::store::Store;
use serde_json::{Value, json};
use spec_support::redis_server::RedisServer;
use spec_support::requests::{self, Reply, send};
use spec_support::{ClientSpec, Rule, assert_trace_snapshot, shown_at, status_at};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use virtual_browser::{Event, Latency, VirtualClock, checks};

pub const R1: Rule = Rule::new("R1", "news is answered at once");
pub const R2: Rule = Rule::new("R2", "without news, hold");
/// R2's other half, as a failure to wake a held request names it.
pub const R2_WAKE: Rule = Rule::new("R2", "a post wakes the held request");
pub const R3: Rule = Rule::new("R3", "after the wait, an empty 200");
/// R3's other half, as a refused `wait` names it.
pub const R3_BAD_WAIT: Rule = Rule::new("R3", "a bad `wait` is a 400");
pub const R4: Rule = Rule::new("R4", "subscribe before you look");
pub const R5: Rule = Rule::new("R5", "one read per version and cursor");
pub const R6: Rule = Rule::new("R6", "a client that hangs up is forgotten");
pub const R7: Rule = Rule::new("R7", "shutting down answers the held requests");
pub const R8: Rule = Rule::new("R8", "news crosses instances");
pub const R9: Rule = Rule::new("R9", "every poll is a long poll");
/// R9's other half, as a message shown late names it.
pub const R9_AT_ONCE: Rule =
    Rule::new("R9", "a message shows the moment it is posted");
pub const R10: Rule = Rule::new("R10", "after an empty answer, ask again at once");
pub const R11: Rule =
    Rule::new("R11", "a broken held request is retried with backoff");
pub const R12: Rule = Rule::new("R12", "a hidden page lets go");
/// R12's other half, as a page that does not catch up names it.
pub const R12_CATCH_UP: Rule =
    Rule::new("R12", "a hidden page catches up when shown");
pub const R13: Rule = Rule::new("R13", "held long polls are not rate-limited");

/// The epoch the spec's stores use, so answers are predictable.
const EPOCH: u64 = 1_000;

/// `name` in the crate under test, as a learner finds it:
/// `exercises/07-long-polling/src/hold.rs`.
fn file(name: &str) -> String {
    spec_support::learner_file(env!("CARGO_MANIFEST_DIR"), name)
}

/// How a scenario makes the app on an in-memory hub (or, given `S`, a hub on
/// a store of the spec's own): `app_with`, the crate's own, or (in
/// `wrong_solutions.rs`) a known wrong variant of it.
pub type MakeApp<S = MemoryStore> = fn(Arc<Hub<S>>, FakeRelativeClock) -> Router;

/// How a Redis scenario makes an instance's hub, from the Redis URL:
/// [`redis_hub_on`], the crate's own, or a known wrong one.
pub type MakeRedisHub = fn(&str) -> Arc<Hub<RedisStore>>;

/// What the real-socket server does to its hub when it shuts down:
/// [`Hub::stop`], as `chat_page::serve_until_stopped` does, or (a known
/// wrong server) nothing, so the held requests have nothing to answer them.
pub type OnShutdown = fn(&Hub<MemoryStore>);

/// The crate's hub on the Redis at `url`.
fn redis_hub_on(url: &str) -> Arc<Hub<RedisStore>> {
    long_polling::redis_hub(url).expect("a hub on the test's Redis")
}

fn memory_hub() -> Arc<Hub<MemoryStore>> {
    Arc::new(Hub::new(
        Arc::new(MemoryStore::with_epoch(MAX_MESSAGES, EPOCH)),
        News::local(),
    ))
}

// ---------------------------------------------------------------------------
// Talking to the server
// ---------------------------------------------------------------------------

async fn get(app: &Router, path: &str) -> Reply {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

async fn post(app: &Router, text: &str) -> Value {
    let body = json!({ "user": "ada", "text": text }).to_string();
    let request = Request::post("/poll")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body));
    let reply = send(app, request.unwrap()).await;
    assert_eq!(
        reply.status, 201,
        "POST /poll should store messages as in exercise 06: {:?}",
        reply.body
    );
    reply.json()
}

/// Start `GET path` in a task of its own: a held request answers later.
fn start(app: &Router, path: &str) -> tokio::task::JoinHandle<Reply> {
    let (app, path) = (app.clone(), path.to_owned());
    tokio::spawn(async move { get(&app, &path).await })
}

/// "1 request", "3 requests".
fn requests(n: usize) -> String {
    if n == 1 { "1 request".to_owned() } else { format!("{n} requests") }
}

/// Let the tasks run until the hub holds `n` requests (no time passes).
async fn until_held<S: Store>(hub: &Hub<S>, n: usize) {
    for _ in 0..100_000 {
        if hub.held() >= n {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!(
        "the server should be holding {} (nothing is new for them), but holds {}. If the server panicked, \
         the lines above say where; otherwise look at `wait` in {}.",
        requests(n),
        hub.held(),
        file("src/hold.rs")
    );
}

// ---------------------------------------------------------------------------
// The server: holding, waking, timing out
// ---------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn s01_a_poll_with_news_is_answered_at_once() {
    s01(app_with).await;
}

/// s01's scene and checks, for any app (see `MakeApp`).
pub async fn s01(make: MakeApp) {
    let app = make(memory_hub(), FakeRelativeClock::default());
    post(&app, "one").await;
    post(&app, "two").await;
    let started = Instant::now();
    for (path, expected) in [
        ("/poll?wait=30", vec![1, 2]),
        ("/poll?since=0&wait=30", vec![1, 2]),
        ("/poll?since=1&epoch=1000&wait=30", vec![2]),
    ] {
        let reply = get(&app, path).await;
        assert_eq!(
            (reply.status, reply.ids()),
            (200, expected.clone()),
            "{R1:#}: GET {path}: the store has messages newer than the cursor, so the answer is {expected:?}, at once.\n\
             Look at `wait` in {}.",
            file("src/hold.rs")
        );
    }
    let other_life = get(&app, "/poll?since=1&epoch=999&wait=30").await;
    assert_eq!(
        (other_life.ids(), other_life.json()["reset"].as_bool()),
        (vec![1, 2], Some(true)),
        "{R1:#}: a cursor from another life of the store gets everything with `reset: true`, at once"
    );
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "{R1:#}: no time should pass, none of these polls had to wait"
    );
}

#[tokio::test(start_paused = true)]
async fn s02_without_news_the_request_waits_for_the_next_message() {
    s02(app_with).await;
}

/// s02's scene and checks, for any app (see `MakeApp`).
pub async fn s02(make: MakeApp) {
    let hub = memory_hub();
    let app = make(hub.clone(), FakeRelativeClock::default());
    post(&app, "one").await;
    let started = Instant::now();
    let held = start(&app, "/poll?since=1&epoch=1000&wait=30");
    tokio::time::sleep(Duration::from_millis(12_300)).await;
    if held.is_finished() {
        match held.await {
            Ok(early) => panic!(
                "{R2:#}: GET /poll?since=1&epoch=1000&wait=30 answered {} at once, with nothing new: it should wait. {:?}\n\
                 Look at `wait` in {}.",
                early.status,
                early.body,
                file("src/hold.rs")
            ),
            Err(_) => panic!(
                "GET /poll?since=1&epoch=1000&wait=30 did not answer: see the message above"
            ),
        }
    }
    assert!(
        !held.is_finished(),
        "{R2:#}: GET /poll?since=1&epoch=1000&wait=30 answered before there was anything new: it should wait.\nLook at \
         `wait` in {}.",
        file("src/hold.rs")
    );
    assert_eq!(hub.held(), 1, "the server holds one request");
    post(&app, "two").await;
    let reply = tokio::time::timeout(Duration::from_secs(1), held).await.unwrap_or_else(|_| {
        panic!(
            "{R2_WAKE:#}: a message was posted at 12.3 s, but the held request was not answered: a post must wake it (subscribe \
             to the news *before* looking at the store, then wait for `changed()`).\nLook at `wait` in {}.",
            file("src/hold.rs")
        )
    });
    let reply = reply.unwrap();
    assert_eq!(
        (reply.status, reply.ids()),
        (200, vec![2]),
        "the held request answers with the new message"
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(12_300),
        "{R2_WAKE:#}: it answers the moment the message was posted"
    );
    assert_eq!(hub.held(), 0, "then the server holds nothing");
}

#[tokio::test(start_paused = true)]
async fn s03_after_the_wait_an_empty_answer_and_the_client_asks_again() {
    s03(app_with).await;
}

/// s03's scene and checks, for any app (see `MakeApp`).
pub async fn s03(make: MakeApp) {
    let hub = memory_hub();
    let app = make(hub.clone(), FakeRelativeClock::default());
    post(&app, "one").await;
    // Too many digits for a u64 is a great many seconds, not an error.
    for (wait, held_for) in [
        ("5", 5),
        ("30", 30),
        ("3600", MAX_WAIT_SECONDS),
        ("99999999999999999999999", MAX_WAIT_SECONDS),
        ("0", 0),
    ] {
        let started = Instant::now();
        let reply =
            get(&app, &format!("/poll?since=1&epoch=1000&wait={wait}")).await;
        assert_eq!(
            (reply.status, started.elapsed()),
            (200, Duration::from_secs(held_for)),
            "{R3:#}: with nothing new, GET /poll?since=1&epoch=1000&wait={wait} should be answered after {held_for} s (at \
             most MAX_WAIT_SECONDS = {MAX_WAIT_SECONDS}), with 200 and an empty list.\nLook at `wait` in {} and \
             `wait_for` in {}.",
            file("src/hold.rs"),
            file("src/query.rs")
        );
        assert_eq!(
            reply.json(),
            json!({ "msg": [], "epoch": EPOCH, "reset": false }),
            "nothing new, in the same shape"
        );
        assert_eq!(
            reply.headers[header::CACHE_CONTROL],
            "no-store",
            "a long-poll answer is for one moment only"
        );
    }

    let plain = get(&app, "/poll?since=1&epoch=1000").await;
    assert_eq!(
        (plain.status, plain.headers.get(header::ETAG).is_some()),
        (200, true),
        "without `wait`, GET /poll is exercise 06's, answered at once with an ETag: interval clients still work"
    );

    let mut catalogue = String::new();
    // A parameter given twice is refused too, in the same JSON shape.
    for query in [
        "wait=",
        "wait=soon",
        "wait=-1",
        "wait=2.5",
        "since=x&wait=5",
        "wait=5&wait=6",
    ] {
        let reply = get(&app, &format!("/poll?{query}")).await;
        assert_eq!(
            reply.status,
            400,
            "{R3_BAD_WAIT:#}: GET /poll?{query} should be refused with 400.\nLook at `wait_for` in {}.",
            file("src/query.rs")
        );
        catalogue.push_str(&format!(
            "?{query} -> 400 {}\n",
            reply.json()["error"].as_str().unwrap_or_default()
        ));
    }
    assert_eq!(hub.held(), 0, "a refused request is not held");
    spec_support::snapshot_failures_point_at(file!());
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("s03_refusals", catalogue);
    });
}

#[tokio::test(start_paused = true)]
async fn s04_one_message_wakes_a_thousand_waiters_with_one_read_of_the_store() {
    let store = Arc::new(CountsReads::new());
    let hub = Arc::new(Hub::new(store.clone(), News::local()));
    a_thousand_waiters_share_one_read(hub, store).await;
}

/// A store that counts its reads, so s04 counts them where they happen.
pub struct CountsReads {
    inner: MemoryStore,
    pub reads: std::sync::atomic::AtomicU64,
}

impl CountsReads {
    pub fn new() -> CountsReads {
        let inner = MemoryStore::with_epoch(MAX_MESSAGES, EPOCH);
        CountsReads { inner, reads: std::sync::atomic::AtomicU64::new(0) }
    }

    fn reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Store for CountsReads {
    async fn push(
        &self,
        message: poll_endpoint::message::ValidMessage,
        key: Option<String>,
    ) -> Result<poll_endpoint::message::Message, redis_chat::store::StoreError> {
        self.inner.push(message, key).await
    }

    async fn poll(
        &self,
        cursor: Option<Cursor>,
    ) -> Result<redis_chat::store::PollAnswer, redis_chat::store::StoreError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.poll(cursor).await
    }
}

/// What s04 needs of a hub: to hold a request, to say how many it holds,
/// and to hear that a message was stored.
pub trait Holds: Send + Sync + 'static {
    fn wait(
        &self,
        cursor: Option<Cursor>,
        wait: Duration,
    ) -> impl Future<
        Output = Result<axum::body::Bytes, redis_chat::store::StoreError>,
    > + Send;
    fn held(&self) -> usize;
    fn tell(&self) -> impl Future<Output = ()> + Send;
}

impl<S: Store> Holds for Hub<S> {
    fn wait(
        &self,
        cursor: Option<Cursor>,
        wait: Duration,
    ) -> impl Future<
        Output = Result<axum::body::Bytes, redis_chat::store::StoreError>,
    > + Send {
        Hub::wait(self, cursor, wait)
    }
    fn held(&self) -> usize {
        Hub::held(self)
    }
    fn tell(&self) -> impl Future<Output = ()> + Send {
        self.news.tell()
    }
}

/// s04's scene, for any hub on `store`.
pub async fn a_thousand_waiters_share_one_read<H: Holds>(
    hub: Arc<H>,
    store: Arc<CountsReads>,
) {
    const WAITERS: usize = 1_000;
    let message = |text: &str| {
        poll_endpoint::message::NewMessage {
            user: "ada".to_owned(),
            text: text.to_owned(),
        }
        .validate()
        .unwrap()
    };
    store.push(message("one"), None).await.unwrap();
    let cursor = Some(Cursor { since: 1, epoch: Some(EPOCH) });
    let probe = hub.clone();
    if let Err(panic) =
        tokio::spawn(async move { probe.wait(cursor, Duration::ZERO).await }).await
    {
        panic!(
            "`Hub::wait` panicked ({panic}): look at `wait` in {}",
            file("src/hold.rs")
        );
    }
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| {
            let hub = hub.clone();
            tokio::spawn(
                async move { hub.wait(cursor, Duration::from_secs(30)).await },
            )
        })
        .collect();
    for _ in 0..100_000 {
        if hub.held() >= WAITERS {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        hub.held(),
        WAITERS,
        "the server should be holding {WAITERS} requests (nothing is new for them)"
    );
    let reads_before = store.reads();
    store.push(message("two"), None).await.unwrap();
    hub.tell().await;
    let mut bodies = Vec::new();
    for waiter in waiters {
        bodies.push(waiter.await.unwrap().expect("the memory store does not fail"));
    }
    let reads = store.reads() - reads_before;
    assert!(
        reads <= 2,
        "{R5:#}: one message woke {WAITERS} requests at the same cursor, and they \
         read the store {reads} times: they should share one answer (`answer` makes it once per version and \
         cursor).\nLook at how `wait` gets its answer in {}.",
        file("src/hold.rs")
    );
    assert!(
        bodies.iter().all(|body| body.as_ptr() == bodies[0].as_ptr()
            && body.len() == bodies[0].len()),
        "{R5:#}: every waiter should get the same bytes, shared (`Bytes` clones of \
         the one answer `answer` made), not a copy each.\nLook at how `wait` gets its answer in {}.",
        file("src/hold.rs")
    );
    let answer: Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(
        answer["msg"][0]["text"], "two",
        "and they are the new message: {answer}"
    );
    assert_eq!(hub.held(), 0);
}

/// Serve the app `make` makes on `hub` on 127.0.0.1:0 until `stop` fires;
/// on it, do `on_shutdown` to the hub first (`chat_page::serve_until_stopped`
/// stops the hub on Ctrl-C).
async fn serve_on_a_port(
    hub: Arc<Hub<MemoryStore>>,
    make: MakeApp,
    on_shutdown: OnShutdown,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = make(hub.clone(), FakeRelativeClock::default());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
                on_shutdown(&hub);
            })
            .await
            .unwrap();
    });
    (address, stop, server)
}

/// Send a raw HTTP/1.1 long poll and return the open connection.
async fn raw_long_poll(
    address: std::net::SocketAddr,
    client: &str,
) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET /poll?since=0&epoch={EPOCH}&wait=30 HTTP/1.1\r\nhost: {address}\r\nx-client-id: {client}\r\nconnection: \
         close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

fn holds_three() -> String {
    format!(
        "three clients sent a long poll with nothing new for them, and the server should hold all three. If it \
         panicked, the lines above say where; otherwise look at `wait` in {}.",
        file("src/hold.rs")
    )
}

/// Before the real-socket tests wait (in real time) for the server to hold
/// requests, check in-process, in no time, that `wait` holds one at all: a
/// `wait` that is not written yet fails here at once, not after a deadline.
async fn holds_one_in_process(hub: &Arc<Hub<MemoryStore>>) {
    let probe = {
        let hub = hub.clone();
        let cursor = Some(Cursor { since: 0, epoch: Some(EPOCH) });
        tokio::spawn(async move { hub.wait(cursor, Duration::from_secs(30)).await })
    };
    for _ in 0..10_000 {
        if hub.held() >= 1 {
            probe.abort();
            while hub.held() > 0 {
                tokio::task::yield_now().await;
            }
            return;
        }
        if probe.is_finished() {
            break;
        }
        tokio::task::yield_now().await;
    }
    panic!("{}", holds_three());
}

/// Wait (real time, at most `limit`) until `done` holds.
async fn within(limit: Duration, done: impl Fn() -> bool) -> bool {
    tokio::time::timeout(limit, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn s05_a_client_that_hangs_up_is_forgotten() {
    s05(app_with).await;
}

/// s05's scene and checks, for any app (see `MakeApp`).
pub async fn s05(make: MakeApp) {
    let hub = memory_hub();
    holds_one_in_process(&hub).await;
    let (address, stop, server) =
        serve_on_a_port(hub.clone(), make, Hub::stop).await;
    let mut connections = Vec::new();
    for n in 0..3 {
        connections.push(raw_long_poll(address, &format!("hangs-up-{n}")).await);
    }
    assert!(
        within(Duration::from_secs(5), || hub.held() == 3).await,
        "{}",
        holds_three()
    );
    drop(connections);
    assert!(
        within(Duration::from_secs(5), || hub.held() == 0).await,
        "{R6:#}: three clients closed their connections, but the server still holds {}: a held request must \
         live only in the handler's future (hyper drops it when the connection closes), not in a list of its own.",
        requests(hub.held())
    );
    let _ = stop.send(());
    server.await.unwrap();
}

#[tokio::test]
async fn s06_shutting_down_answers_the_held_requests_at_once() {
    s06(Hub::stop).await;
    let hub = memory_hub();
    hub.stop();
    a_request_after_the_stop_is_answered_at_once(hub).await;
}

/// The rest of s06, for any way of holding a request: one that arrives
/// after the stop began (`hub` is stopped already) is answered at once, not
/// held, or the server would wait for it before it could stop.
pub async fn a_request_after_the_stop_is_answered_at_once<H: Holds>(hub: Arc<H>) {
    let answered = tokio::time::timeout(
        Duration::from_secs(1),
        hub.wait(None, Duration::from_secs(30)),
    )
    .await;
    assert!(
        answered.is_ok(),
        "{R7:#}: a long poll that arrives after the server began to stop, on a chat with nothing new, is answered \
         at once, not held for its wait: a stop that came before the request is no change that `changed()` will \
         report, so read `stopping`'s value too.\nLook at how `wait` watches `stopping` in {}.",
        file("src/hold.rs")
    );
}

/// s06's scene and checks, for any way of shutting down (see `OnShutdown`).
pub async fn s06(on_shutdown: OnShutdown) {
    let hub = memory_hub();
    holds_one_in_process(&hub).await;
    let (address, stop, server) =
        serve_on_a_port(hub.clone(), app_with, on_shutdown).await;
    let mut connections = Vec::new();
    for n in 0..3 {
        connections.push(raw_long_poll(address, &format!("stays-{n}")).await);
    }
    assert!(
        within(Duration::from_secs(5), || hub.held() == 3).await,
        "{}",
        holds_three()
    );
    let asked = std::time::Instant::now();
    let _ = stop.send(());
    for mut connection in connections {
        let mut answer = String::new();
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            connection.read_to_string(&mut answer),
        )
        .await;
        assert!(
            read.is_ok() && answer.starts_with("HTTP/1.1 200"),
            "{R7:#}: on shutdown each held request should be answered at once (200, nothing new), so the server can stop \
             without waiting up to {MAX_WAIT_SECONDS} s; got {answer:?}.\nLook at how `wait` watches `stopping` in {}.",
            file("src/hold.rs")
        );
        assert!(
            answer.ends_with(&format!(
                "{{\"msg\":[],\"epoch\":{EPOCH},\"reset\":false}}"
            )),
            "{answer}"
        );
    }
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops")
        .unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "and it stopped promptly: {:?}",
        asked.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Several instances: news through Redis
// ---------------------------------------------------------------------------

/// Two instances of the app on one Redis, each with its own hub from `make`.
fn two_instances(
    redis: &RedisServer,
    make: MakeRedisHub,
) -> [(Arc<Hub<RedisStore>>, Router); 2] {
    [0, 1].map(|_| {
        let hub = make(&redis.url());
        let app = app_with(hub.clone(), FakeRelativeClock::default());
        (hub, app)
    })
}

/// Post on A and expect B's held request to answer with it, within `limit`.
async fn a_wakes_b(
    a: &Router,
    b: &Router,
    b_hub: &Hub<redis_chat::redis_store::RedisStore>,
    text: &str,
) -> Reply {
    let newest = get(b, "/poll").await.json();
    let since = newest["msg"].as_array().map_or(0, |m| m.len() as u64);
    let epoch = newest["epoch"].as_u64().unwrap_or(0);
    let held = start(b, &format!("/poll?since={since}&epoch={epoch}&wait=30"));
    until_held(b_hub, 1).await;
    // Let B's request reach its wait (it reads Redis first).
    tokio::time::sleep(Duration::from_millis(100)).await;
    if held.is_finished() {
        let early = held.await.unwrap();
        panic!(
            "B should hold the request: nothing is new yet; it answered {} {:?}",
            early.status, early.body
        );
    }
    let posted = std::time::Instant::now();
    post(a, text).await;
    let reply = tokio::time::timeout(Duration::from_secs(2), held).await.unwrap_or_else(|_| {
        panic!(
            "{R8:#}: a message was posted through instance A, but the request held by instance B was not woken within 2 s. \
             A publishes on the Redis channel `{}`; B's `listen` must subscribe to it and bump the version for each \
             message.\nLook at `listen` in {}.",
            long_polling::news::CHANNEL,
            file("src/listen.rs")
        )
    });
    let reply = reply.unwrap();
    assert!(
        posted.elapsed() < Duration::from_secs(2),
        "B answered {:?} after the post",
        posted.elapsed()
    );
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s07_a_post_on_one_instance_wakes_a_waiter_on_another() {
    s07(redis_hub_on).await;
}

/// s07's scene and checks, for any hub (see `MakeRedisHub`).
pub async fn s07(make: MakeRedisHub) {
    let Some(redis) = RedisServer::start("07") else { return };
    let [(_, a), (b_hub, b)] = two_instances(&redis, make);
    post(&a, "hello from A").await;
    let reply = a_wakes_b(&a, &b, &b_hub, "news from A").await;
    assert_eq!(
        (reply.status, reply.json()["msg"][0]["text"].clone()),
        (200, json!("news from A"))
    );
    assert_eq!(
        reply.ids(),
        [2],
        "B answers with the message A stored, by the cursor"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s08_after_redis_restarts_the_news_flows_again() {
    s08(redis_hub_on).await;
}

/// s08's scene and checks, for any hub (see `MakeRedisHub`). It kills and
/// restarts its Redis, so it starts one of its own (skipped on a shared one).
pub async fn s08(make: MakeRedisHub) {
    let Some(mut redis) = RedisServer::start_to_kill("07") else { return };
    let [(_, a), (b_hub, b)] = two_instances(&redis, make);
    post(&a, "before").await;
    a_wakes_b(&a, &b, &b_hub, "first").await;
    redis.stop();
    redis.start_again();
    // Until A and B have reconnected, requests may fail with 503: wait for both.
    let back = std::time::Instant::now();
    for (name, app) in [("A", &a), ("B", &b)] {
        while get(app, "/poll").await.status != 200 {
            assert!(
                back.elapsed() < Duration::from_secs(10),
                "instance {name} did not reconnect to Redis"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // B's listener subscribes again on its own (every 500 ms while Redis is away).
    tokio::time::sleep(long_polling::news::RESUBSCRIBE_AFTER * 3).await;
    let reply = a_wakes_b(&a, &b, &b_hub, "after the restart").await;
    assert_eq!(reply.json()["msg"][0]["text"], "after the restart");
}

// ---------------------------------------------------------------------------
// The gap between looking and waiting
// ---------------------------------------------------------------------------

/// What to run after the first read of a [`StoresWhileRead`]: tell the
/// waiting side's news, as a post's handler does after storing.
pub type AfterRead = Box<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// A store where, the first time it is read, another request's message is
/// stored (and told) right after the read: a post landing exactly in the gap
/// between the server's look at the store and its wait for news. On a real
/// server that gap is rare and short; here it happens every time.
pub struct StoresWhileRead {
    inner: MemoryStore,
    read_once: std::sync::atomic::AtomicBool,
    /// Set once the hub exists: it tells the hub's news.
    pub after_first_read: std::sync::OnceLock<AfterRead>,
}

impl StoresWhileRead {
    pub fn new() -> StoresWhileRead {
        StoresWhileRead {
            inner: MemoryStore::with_epoch(MAX_MESSAGES, EPOCH),
            read_once: std::sync::atomic::AtomicBool::new(false),
            after_first_read: std::sync::OnceLock::new(),
        }
    }
}

impl Store for StoresWhileRead {
    async fn push(
        &self,
        message: poll_endpoint::message::ValidMessage,
        key: Option<String>,
    ) -> Result<poll_endpoint::message::Message, redis_chat::store::StoreError> {
        self.inner.push(message, key).await
    }

    async fn poll(
        &self,
        cursor: Option<Cursor>,
    ) -> Result<redis_chat::store::PollAnswer, redis_chat::store::StoreError> {
        let answer = self.inner.poll(cursor).await?;
        if !self.read_once.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let new = poll_endpoint::message::NewMessage {
                user: "grace".to_owned(),
                text: "stored while the server looked".to_owned(),
            };
            let valid = new.validate().expect("a valid message");
            self.inner.push(valid, None).await?;
            if let Some(tell) = self.after_first_read.get() {
                tell().await;
            }
        }
        Ok(answer)
    }
}

/// The scenario of s09, for any way of holding a request: `hold` waits on
/// the store it is given, at the cursor, for at most the duration, and
/// `make` builds it on a [`StoresWhileRead`] with the news it must tell.
pub async fn a_message_in_the_gap_is_not_lost<H, F>(
    make: impl FnOnce(Arc<StoresWhileRead>) -> H,
    hold: impl FnOnce(H, Option<Cursor>, Duration) -> F,
) where
    F: std::future::Future<
            Output = Result<axum::body::Bytes, redis_chat::store::StoreError>,
        >,
{
    let store = Arc::new(StoresWhileRead::new());
    let one = poll_endpoint::message::NewMessage {
        user: "ada".to_owned(),
        text: "one".to_owned(),
    };
    store.push(one.validate().unwrap(), None).await.unwrap();
    let holder = make(store.clone());
    let cursor = Some(Cursor { since: 1, epoch: Some(EPOCH) });
    let started = Instant::now();
    let answered = tokio::time::timeout(
        Duration::from_secs(1),
        hold(holder, cursor, Duration::from_secs(30)),
    )
    .await;
    let body = match answered {
        Ok(body) => body.expect("the store answers"),
        Err(_) => panic!(
            "{R4:#}: a message was stored (and its news told) just after the server read \
             the store for a held request, and the request was not woken: it would have waited 30 s with a \
             message waiting for it. Subscribe to the news *before* looking at the store (a message stored after \
             the subscription bumps the version, so `changed()` completes even if it came while you were \
             looking).\nLook at the order of the steps in `wait` in {}.",
            file("src/hold.rs")
        ),
    };
    let ids: Vec<u64> = serde_json::from_slice::<Value>(&body).unwrap()["msg"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["id"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(
        (ids, started.elapsed()),
        (vec![2], Duration::ZERO),
        "{R4:#}: the message stored while the server looked (id 2) should be the answer, \
         at once.\nLook at `wait` in {}.",
        file("src/hold.rs")
    );
}

#[tokio::test(start_paused = true)]
async fn s09_a_message_stored_while_the_server_looks_is_not_lost() {
    a_message_in_the_gap_is_not_lost(
        |store| {
            let hub = Arc::new(Hub::new(store.clone(), News::local()));
            let weak = Arc::downgrade(&hub);
            let tell: AfterRead = Box::new(move || {
                let hub = weak.upgrade();
                Box::pin(async move {
                    if let Some(hub) = hub {
                        hub.news.tell().await;
                    }
                })
            });
            let _ = store.after_first_read.set(tell);
            hub
        },
        |hub, cursor, wait| async move { hub.wait(cursor, wait).await },
    )
    .await;
}

/// s10's hub: the solution's, over an in-memory store the scene can post to.
fn hub_and_store() -> (Arc<Hub<MemoryStore>>, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::with_epoch(MAX_MESSAGES, EPOCH));
    (Arc::new(Hub::new(store.clone(), News::local())), store)
}

#[tokio::test(start_paused = true)]
async fn s10_a_wake_up_with_nothing_new_does_not_restart_the_wait() {
    let (hub, store) = hub_and_store();
    s10(hub, store).await;
}

/// s10's scene, for any hub on `store`: a request held with a 10 s wait is
/// woken at 4 s by news that brings it nothing new (the version moves, as
/// it does when an instance subscribes to Redis again), and must still be
/// answered at 10 s, not 10 s after the wake-up.
pub async fn s10<H: Holds>(hub: Arc<H>, store: Arc<MemoryStore>) {
    let one = poll_endpoint::message::NewMessage {
        user: "ada".to_owned(),
        text: "one".to_owned(),
    };
    store.push(one.validate().unwrap(), None).await.unwrap();
    let cursor = Some(Cursor { since: 1, epoch: Some(EPOCH) });
    let started = Instant::now();
    let held = hub.clone();
    let answer =
        tokio::spawn(
            async move { held.wait(cursor, Duration::from_secs(10)).await },
        );
    tokio::time::sleep(Duration::from_secs(4)).await;
    hub.tell().await; // the version moves; nothing is new for this cursor
    let body = match answer.await {
        Ok(body) => body.expect("the in-memory store always answers"),
        Err(panic) => panic!(
            "`Hub::wait` panicked ({panic}): look at `wait` in {}",
            file("src/hold.rs")
        ),
    };
    let took = started.elapsed();
    assert_eq!(
        took,
        Duration::from_secs(10),
        "{R3:#}: a request held with a 10 s wait was woken at 4 s by news that brought \
         it nothing new (the version moved, as it does when an instance subscribes to Redis again), and was \
         answered after {took:?} instead of 10 s. The wait is from when the request came, not from the last \
         wake-up: take its deadline once.\nLook at `wait` in {}.",
        file("src/hold.rs")
    );
    let body: Value = serde_json::from_slice(&body).expect("an answer in JSON");
    assert_eq!(body["msg"], json!([]), "{}: after the wait, nothing new", R3.id);
}

// ---------------------------------------------------------------------------
// Limits: what no single client may take from the others
// ---------------------------------------------------------------------------

/// Start a long poll as client `client`, at cursor `since`.
fn start_as(
    app: &Router,
    client: &str,
    since: u64,
) -> tokio::task::JoinHandle<Reply> {
    let (app, client) = (app.clone(), client.to_owned());
    tokio::spawn(async move {
        let path = format!("/poll?since={since}&epoch={EPOCH}&wait=30");
        let request = Request::get(path).body(Body::empty()).unwrap();
        requests::send_as(&app, request, Some(&client)).await
    })
}

#[tokio::test(start_paused = true)]
async fn s11_held_requests_are_capped_per_client_and_per_server() {
    s11(app_with).await;
}

/// s11's scene and checks, for any app (see `MakeApp`).
pub async fn s11(make: MakeApp) {
    use long_polling::hold::{MAX_HELD, MAX_HELD_PER_CLIENT};
    let hub = memory_hub();
    let app = make(hub.clone(), FakeRelativeClock::default());
    post(&app, "one").await;
    // One client: a page and a second tab are held, a third is told at once.
    let held: Vec<_> =
        (0..MAX_HELD_PER_CLIENT).map(|_| start_as(&app, "greedy", 1)).collect();
    until_held(&hub, MAX_HELD_PER_CLIENT).await;
    let third = start_as(&app, "greedy", 1).await.unwrap();
    assert_eq!(
        (third.status, third.header(header::RETRY_AFTER)),
        (429, Some("1")),
        "a client that already has {MAX_HELD_PER_CLIENT} requests held should get 429 with Retry-After at once \
         for another, not a third held request: {:?}",
        third.body
    );
    // The server: past MAX_HELD held requests, 503 at once, and posts get in.
    let more: Vec<_> = (0..MAX_HELD - MAX_HELD_PER_CLIENT)
        .map(|n| start_as(&app, &format!("reader-{n}"), 1))
        .collect();
    until_held(&hub, MAX_HELD).await;
    let one_too_many = start_as(&app, "latecomer", 1).await.unwrap();
    assert_eq!(
        (one_too_many.status, one_too_many.header(header::RETRY_AFTER)),
        (503, Some("1")),
        "with {MAX_HELD} requests held, the server should answer another long poll with 503 and Retry-After at \
         once: {:?}",
        one_too_many.body
    );
    post(&app, "two").await; // room for posts: it answers 201
    for request in held.into_iter().chain(more) {
        assert_eq!(
            request.await.unwrap().ids(),
            [2],
            "the post wakes every held request"
        );
    }
    // Answered, the requests gave their slots back: the greedy client is held again.
    let again = start_as(&app, "greedy", 2);
    until_held(&hub, 1).await;
    again.abort();
}

#[tokio::test(start_paused = true)]
async fn s12_made_up_cursors_do_not_grow_the_answer_cache() {
    s12(app_with).await;
}

/// s12's scene and checks, for any app (see `MakeApp`).
pub async fn s12(make: MakeApp) {
    use long_polling::hold::MAX_CACHED_ANSWERS;
    let hub = memory_hub();
    let app = make(hub.clone(), FakeRelativeClock::default());
    post(&app, "one").await;
    // Cursors from lives of the store that never were: each answers at once
    // (a reset), and none may leave an answer behind past the cache's size.
    for epoch in 0..1_000u64 {
        let reply =
            get(&app, &format!("/poll?since=1&epoch={}&wait=30", 5_000 + epoch))
                .await;
        assert_eq!(reply.status, 200);
    }
    assert!(
        hub.answers.len() <= MAX_CACHED_ANSWERS,
        "1,000 made-up cursors left {} answers in the cache; it must keep at most {MAX_CACHED_ANSWERS}",
        hub.answers.len()
    );
}

/// A store that fails its next `failures` reads, as Redis does while it is
/// down or too slow, and then answers again.
pub struct FailsFor {
    inner: MemoryStore,
    failures: std::sync::atomic::AtomicUsize,
}

impl Store for FailsFor {
    async fn push(
        &self,
        message: poll_endpoint::message::ValidMessage,
        key: Option<String>,
    ) -> Result<poll_endpoint::message::Message, redis_chat::store::StoreError> {
        self.inner.push(message, key).await
    }

    async fn poll(
        &self,
        cursor: Option<Cursor>,
    ) -> Result<redis_chat::store::PollAnswer, redis_chat::store::StoreError> {
        let left = self.failures.load(std::sync::atomic::Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, std::sync::atomic::Ordering::SeqCst);
            return Err(redis_chat::store::StoreError(
                "Redis is not answering".to_owned(),
            ));
        }
        self.inner.poll(cursor).await
    }
}

#[tokio::test(start_paused = true)]
async fn s13_a_failed_read_of_the_store_is_not_kept_as_the_answer() {
    s13(app_with).await;
}

/// s13's scene and checks, for any app on a store that fails (see `MakeApp`).
pub async fn s13(make: MakeApp<FailsFor>) {
    let store = Arc::new(FailsFor {
        inner: MemoryStore::with_epoch(MAX_MESSAGES, EPOCH),
        failures: std::sync::atomic::AtomicUsize::new(0),
    });
    let hub = Arc::new(Hub::new(store.clone(), News::local()));
    let app = make(hub.clone(), FakeRelativeClock::default());
    post(&app, "one").await;
    // Two failures: the read, and the one retry the hub gives it.
    store.failures.store(2, std::sync::atomic::Ordering::SeqCst);
    let path = format!("/poll?since=1&epoch={EPOCH}&wait=30");
    assert_eq!(get(&app, &path).await.status, 503, "while the store fails, 503");
    // The store is back, and nothing was posted: the same cursor at the same
    // version must read the store again, and be held, not get the 503 again.
    let held = start(&app, &path);
    until_held(&hub, 1).await;
    post(&app, "two").await;
    let reply = held.await.unwrap();
    assert_eq!(
        (reply.status, reply.ids()),
        (200, vec![2]),
        "once the store answers again, a long poll at the cursor that failed is held and woken as usual; a \
         failure must never be kept as the answer for that cursor"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s14_a_long_poll_is_answered_within_a_second_of_redis_coming_back() {
    s14(redis_hub_on).await;
}

/// s14's scene and checks, for any hub (see `MakeRedisHub`). It kills and
/// restarts its Redis, so it starts one of its own (skipped on a shared one).
pub async fn s14(make: MakeRedisHub) {
    let Some(mut redis) = RedisServer::start_to_kill("07") else { return };
    let [(hub, app), _] = two_instances(&redis, make);
    post(&app, "before").await;
    let path = format!(
        "/poll?since=1&epoch={}&wait=30",
        get(&app, "/poll").await.json()["epoch"]
    );
    redis.stop();
    assert_eq!(
        get(&app, &path).await.status,
        503,
        "while Redis is down, a long poll gets 503"
    );
    redis.start_again();
    // Redis is back: within a second a long poll at the same cursor is
    // held again (not answered the 503 kept from before), and a post wakes it.
    let back = std::time::Instant::now();
    let held = start(&app, &path);
    while hub.held() == 0 {
        assert!(
            back.elapsed() < Duration::from_secs(1),
            "a second after Redis came back, a long poll at the cursor that failed should be held again, \
             not answered from a kept failure (look at `get` in {}, given code)",
            "helpers/chat-store/src/answers.rs"
        );
        if held.is_finished() {
            let early = held.await.unwrap();
            panic!(
                "a long poll right after Redis came back answered {} at once: a failure must never be kept as the \
                 answer, and the first read after a restart is tried once more",
                early.status
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    post(&app, "after").await;
    let reply = tokio::time::timeout(Duration::from_secs(2), held)
        .await
        .expect("woken")
        .unwrap();
    assert_eq!(
        (reply.status, reply.ids()),
        (200, vec![2]),
        "and it is answered 200 with the new message"
    );
}

#[tokio::test(start_paused = true)]
async fn s15_a_reader_who_keeps_up_is_not_refused() {
    s15(app_with).await;
}

/// s15's scene and checks, for any app (see `MakeApp`).
pub async fn s15(make: MakeApp) {
    let look = || {
        "Look at `limit_long_polls` in helpers/limits/src/rate_limit.rs (given code).".to_owned()
    };
    let hub = memory_hub();
    // The rate limit's clock never moves here: an allowance spent stays spent.
    let app = make(hub.clone(), FakeRelativeClock::default());
    post(&app, "one").await;
    // A busy chat: a reader is held, a message wakes it, it asks again at
    // once. Thirty times, far past the allowance of 10 at once.
    for round in 1..=30 {
        let mut held = start_as(&app, "reader", round);
        // Held, or answered at once (refused, say): whichever comes first.
        let mut answered = None;
        while hub.held() == 0 && answered.is_none() {
            tokio::task::yield_now().await;
            if held.is_finished() {
                answered = Some((&mut held).await.unwrap());
            }
        }
        let reply = match answered {
            Some(reply) => reply,
            None => {
                post(&app, &format!("message {}", round + 1)).await;
                held.await.unwrap()
            }
        };
        assert_eq!(
            reply.status,
            200,
            "{R13:#}: a reader in a busy chat is held, woken by each message, and asks again at once; its long \
             poll number {round} got {} ({:?}). A long poll the server held should not count against the rate \
             limit (the held caps limit those), or a reader that keeps up is refused for it.\n{}",
            reply.status,
            reply.body,
            look()
        );
    }
    // A client that asks with a stale cursor again and again is answered at
    // once every time: that is polling, and it counts.
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(start_as(&app, "spinner", 0).await.unwrap().status);
    }
    assert!(
        statuses.contains(&429),
        "{R13:#}, but a long poll answered at once counts: a client that sent 20 long polls with a stale \
         cursor, each answered at once, should be refused with 429 once past its allowance of 10, but got \
         {statuses:?}.\n{}",
        look()
    );
    // Nor is `wait=0` a way round the limit: it is answered at once too.
    let newest = 31;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let path = format!("/poll?since={newest}&epoch={EPOCH}&wait=0");
        let request = Request::get(path).body(Body::empty()).unwrap();
        statuses
            .push(requests::send_as(&app, request, Some("no-waiter")).await.status);
    }
    assert!(
        statuses.contains(&429),
        "{R13:#}, but only a request the server held counts as held: a client that sent 20 long polls with \
         `wait=0`, each answered at once, should be refused with 429 once past its allowance of 10, but got \
         {statuses:?}.\n{}",
        look()
    );
}

// ---------------------------------------------------------------------------
// The client: client.js in the page, in the virtual browser
// ---------------------------------------------------------------------------

/// The app for client scenarios: a fixed epoch, and the rate limit on the
/// virtual browser's clock.
fn scenario_app() -> Router {
    app_with(memory_hub(), VirtualClock)
}

/// The page as the client scenarios open it: `client_js` with exercise 04's
/// backoff and exercise 05's cursor.
pub fn client_with(client_js: &'static str) -> ClientSpec {
    ClientSpec::new(scenario_app, client_js, env!("CARGO_MANIFEST_DIR"))
        .with_module("/backoff.js", BACKOFF_JS)
        .with_module("/cursor.js", CURSOR_JS)
        .learner_edits("client.js")
}

fn client() -> ClientSpec {
    client_with(CLIENT_JS)
}

#[test]
fn s16_a_message_shows_the_moment_it_is_posted() {
    s16(&client());
}

/// s16's scene and checks, for any client (see `client`).
pub fn s16(spec: &ClientSpec) {
    let trace = spec.run(40_000, |browser| {
        browser.latency(Latency::Fixed(100)).post_at(12_300, "grace", "news");
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
    let polls = trace.spans_to("/poll");
    let without_wait: Vec<_> =
        polls.iter().filter(|p| !p.path.contains("wait=")).collect();
    assert!(
        without_wait.is_empty(),
        "{R9:#}: every poll should ask the server to wait (`wait=25`), but #{} asked {}.\nLook at `longPollPath` in {}.",
        without_wait[0].request,
        without_wait[0].path,
        spec.client_path()
    );
    let at = shown_at(&trace, 1);
    assert!(
        at.is_some_and(|at| (12_300..=12_400).contains(&at)),
        "{R9_AT_ONCE:#}: a message posted at 12300 ms should show as soon as the answer travels back (within the 100 ms latency), not \
         at a next interval; it showed \
         at {at:?}.\nWhat happened:\n{trace}Look at `pollForever` in {}.",
        spec.client_path()
    );
    assert!(
        polls.len() <= 4,
        "in 40 s with one message, a handful of requests, not {}:\n{trace}",
        polls.len()
    );
    assert_trace_snapshot!("s16_news", trace);
}

#[test]
fn s17_after_an_empty_answer_the_page_asks_again_at_once() {
    s17(&client());
}

/// s17's scene and checks, for any client (see `client`).
pub fn s17(spec: &ClientSpec) {
    let trace = spec.run(80_000, |browser| {
        browser.latency(Latency::Fixed(100));
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
    let polls = trace.spans_to("/poll");
    assert!(
        polls.len() >= 3,
        "in 80 s with no messages, three held polls of 25 s each:\n{trace}"
    );
    for pair in polls.windows(2) {
        let (before, next) = (&pair[0], &pair[1]);
        let answered = before.answered.unwrap_or(u64::MAX);
        assert!(
            answered >= before.sent + 25_000 && next.sent == answered,
            "{R10:#}: poll #{} was held until {answered} ms (nothing new for 25 s), and the next one should go out at once, \
             at {answered} ms; it went at {} ms.\nWhat happened:\n{trace}Look at `pollForever` in {}.",
            before.request,
            next.sent,
            spec.client_path()
        );
    }
}

#[test]
fn s18_a_held_request_that_breaks_is_retried_with_backoff() {
    s18(&client());
}

/// s18's scene and checks, for any client (see `client`).
pub fn s18(spec: &ClientSpec) {
    let trace = spec.run(60_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .post_at(5_000, "grace", "before")
            // The server restarts while holding the page's request (the
            // connection breaks), then is unreachable for 5 s.
            .restart_at(10_000, scenario_app())
            .fail(10_000..15_000, virtual_browser::Failure::NetworkError)
            .post_at(40_000, "grace", "after");
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
    spec.check(
        &trace,
        checks::keeps_polling_after_a_failure(&trace, 60_000, 30_000),
    );
    let polls = trace.spans_to("/poll");
    let failed = polls.iter().filter(|p| p.sent < 15_000 && p.sent >= 9_000).count();
    assert!(
        (2..=5).contains(&failed),
        "{R11:#}: while the server was away (10 s to 15 s), the page should back off (at once, then about 3 s, 10 s, ...): \
         it sent {failed} requests, not 2 to 5.\nWhat happened:\n{trace}Look at the `catch` in `pollForever` in {}.",
        spec.client_path()
    );
    let shown_late = trace.events().iter().any(|(at, e)| {
        matches!(e, Event::Rendered { .. }) && (40_000..=40_100).contains(at)
    });
    assert!(
        shown_late && shown_at(&trace, 1).is_some(),
        "after the failures the page should be long polling again: a message posted at 40000 ms should show by \
         40100 ms.\nWhat happened:\n{trace}"
    );
    // The words are the page's own; that it says something, and stops
    // saying it once a request succeeds, is the rule.
    let failing = status_at(&trace, 14_999).unwrap_or_default();
    assert!(
        !failing.is_empty(),
        "{R11:#}: while it waits to try again, the page says so in its status line (`showStatus`), with when; at \
         14999 ms, after the failures since 10000 ms, it said nothing.\nWhat happened:\n{trace}Look at the `catch` \
         in `pollForever` in {}.",
        spec.client_path()
    );
    let after = status_at(&trace, 39_999).unwrap_or_default();
    assert!(
        after.is_empty(),
        "{R11:#}: once a request succeeds again, the status line is cleared (`showStatus(\"\")`); at 39999 ms it still \
         said {after:?}.\nWhat happened:\n{trace}Look at what `pollForever` does after `refresh` succeeds, in {}.",
        spec.client_path()
    );
    // The waits are random and the status line is the page's own words: a
    // right client may draw and say them otherwise, so only the solution's
    // run is held to the snapshot; the checks above decide.
    if spec.runs_the_solution() {
        assert_trace_snapshot!("s18_breaks", trace);
    }
}

#[test]
fn s19_a_hidden_page_lets_go_of_its_request_and_catches_up_when_shown() {
    s19(&client());
}

/// s19's scene and checks, for any client (see `client`).
pub fn s19(spec: &ClientSpec) {
    let trace = spec.run(60_000, |browser| {
        browser.latency(Latency::Fixed(100)).hide(10_000..40_000).post_at(
            20_000,
            "grace",
            "while you were away",
        );
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
    spec.check(&trace, checks::no_polls_while_hidden(&trace, 60_000));
    spec.check(&trace, checks::resumes_when_shown(&trace, 60_000, 1_000));
    let aborted = trace.spans_to("/poll").iter().any(|p| {
        p.answered == Some(10_000)
            && matches!(p.outcome, Some(virtual_browser::Outcome::Aborted))
    });
    assert!(
        aborted,
        "{R12:#}: when the page hides at 10000 ms, it should abort its held request (an AbortController's `abort()`), so \
         the server can forget it.\nWhat happened:\n{trace}Look at the `visibilitychange` listener in {}.",
        spec.client_path()
    );
    assert!(
        shown_at(&trace, 1).is_some_and(|at| (40_000..=40_200).contains(&at)),
        "{R12_CATCH_UP:#}: the message posted while the page was hidden should show as soon as it is shown again (40000 ms), thanks \
         to the cursor.\nWhat happened:\n{trace}"
    );
    assert_trace_snapshot!("s19_hidden", trace);
}

// ---------------------------------------------------------------------------
// The client again: exercise 04's backoff, whole (s20, s21)
// ---------------------------------------------------------------------------
//
// s18 shows the page backs off; these two, that it keeps the rest of
// exercise 04's backoff: a server's Retry-After, and a fresh start after a
// success. Each runs the page as s16 to s19 do (see `client_with`, above).

#[test]
fn s20_a_503_with_retry_after_is_waited_out() {
    s20(&client());
}

/// s20's scene and checks, for any client (see `client`).
pub fn s20(spec: &ClientSpec) {
    // A post at 5 s answers the page's held request, and its next one goes
    // out into an outage: until 20 s every request gets 503 with
    // Retry-After: 5, as the server answers while its Redis is away
    // (exercise 06).
    let trace = spec.run(60_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .post_at(5_000, "grace", "before")
            .fail(
                5_000..20_000,
                virtual_browser::Failure::RetryAfter { status: 503, seconds: 5 },
            )
            .post_at(40_000, "grace", "after");
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
    if let Err(problem) = checks::honours_retry_after(&trace) {
        panic!(
            "{R11:#}, exercise 04's, which waits at least what \
             a 429 or 503 asks for with Retry-After: {problem} Pass the wait the answer asked for to the \
             backoff: `backoff.failed(error.retryAfterMs ?? 0)`.\nWhat happened:\n{trace}Look at the `catch` \
             in `pollForever` in {}.",
            spec.client_path()
        );
    }
    assert!(
        shown_at(&trace, 2).is_some_and(|at| (40_000..=40_100).contains(&at)),
        "after the outage the page should be long polling again: a message posted at 40000 ms should show by \
         40100 ms.\nWhat happened:\n{trace}Look at `pollForever` in {}.",
        spec.client_path()
    );
}

#[test]
fn s21_after_a_success_the_next_outage_is_retried_at_once() {
    s21(&client());
}

/// s21's scene and checks, for any client (see `client`).
pub fn s21(spec: &ClientSpec) {
    // A first outage takes the backoff up its schedule: the server restarts
    // at 10 s and is unreachable until 30 s. The page gets through again
    // and long polls; then the server restarts at 80 s, breaking the held
    // request, and is unreachable for half a second. The success in between
    // reset the backoff, so that break is a first failure: retried at once.
    let network_error = virtual_browser::Failure::NetworkError;
    let trace = spec.run(100_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .restart_at(10_000, scenario_app())
            .fail(10_000..30_000, network_error.clone())
            .restart_at(80_000, scenario_app())
            .fail(80_000..80_500, network_error)
            .post_at(95_000, "grace", "after");
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
    let polls = trace.spans_to("/poll");
    let first_failures =
        polls.iter().filter(|p| p.failed() && p.sent < 30_000).count();
    let got_through =
        polls.iter().any(|p| (30_000..80_000).contains(&p.sent) && !p.failed());
    assert!(
        first_failures >= 3 && got_through,
        "{R11:#}: the first outage (10 s to 30 s) should take \
         the page through several failures ({first_failures} here), and the page should get through again \
         before 80 s.\nWhat happened:\n{trace}Look at `pollForever` in {}.",
        spec.client_path()
    );
    let broke = polls
        .iter()
        .position(|p| p.failed() && p.answered.is_some_and(|at| at >= 80_000));
    let retry = broke.and_then(|i| polls.get(i + 1));
    let (Some(broke), Some(answered)) =
        (broke.map(|i| &polls[i]), broke.and_then(|i| polls[i].answered))
    else {
        panic!(
            "the server restarts at 80 s, which should break the page's held request, but no request \
             failed after 80 s.\nWhat happened:\n{trace}"
        );
    };
    assert!(
        retry.is_some_and(|r| r.sent < answered + 1_000),
        "{R11:#}, exercise 04's, which one success resets: \
         the page got through after the first outage, so #{} breaking at {answered} ms is a first failure \
         again, retried at once, but the next request went out {}. Tell the backoff each success \
         (`backoff.succeeded()`), or the failures of an outage long gone make every later one start at a \
         long wait.\nWhat happened:\n{trace}Look at `pollForever` in {}.",
        broke.request,
        retry.map_or("never".to_owned(), |r| format!("at {} ms", r.sent)),
        spec.client_path()
    );
    assert!(
        shown_at(&trace, 1).is_some_and(|at| (95_000..=95_100).contains(&at)),
        "after the second outage the page should be long polling again: a message posted at 95000 ms \
         should show by 95100 ms.\nWhat happened:\n{trace}Look at `pollForever` in {}.",
        spec.client_path()
    );
}
