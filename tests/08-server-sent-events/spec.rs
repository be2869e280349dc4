//! The spec for exercise 08, Server-Sent Events.
//!
//! The rules chapter 08 teaches, and the scenarios that pin each (a failure
//! names its rule):
//! - R1 each message is one event: its `id:` is the cursor `<epoch>-<id>`,
//!   its data the message's JSON, oldest first; a stream without a cursor
//!   gets every stored message (s02, s04, s05).
//! - R2 a stream resumes from `Last-Event-ID`, which wins over the URL's
//!   `?since=`; without it, the URL's cursor; an id the server could not
//!   have sent is a `400` (s01, s05).
//! - R3 across wake-ups and reconnections, each message is sent once and
//!   none is skipped, not even one stored while the feed looks (s04, s06).
//! - R4 a cursor from another life of the store gets a `reset` event, whose
//!   id starts the new life (`<epoch>-0`), then every message (s02).
//! - R5 an idle stream gets a comment line every KEEP_ALIVE_EVERY (s07).
//! - R6 each stream's `retry:` comes first, drawn between RETRY_MIN and
//!   RETRY_MAX, so readers do not all come back in the same instant (s03,
//!   s08).
//! - R7 a stream keeps its slot under exercise 07's caps for as long as its
//!   feed runs, and gives it back when its reader hangs up (s09).
//! - R8 a reader that stops reading is dropped once MAX_QUEUED_EVENTS wait
//!   for it (s10).
//! - R9 shutting down ends every stream at once, and so does a store that
//!   fails (s11).
//! - R10 the page opens one stream, and shows a message the moment it is
//!   posted (s12).
//! - R11 a broken stream is the browser's to reconnect, after the server's
//!   `retry:` and from the last id: the page shows every message once, and
//!   its status line says it is reconnecting until the stream is open again
//!   (s13).
//! - R12 a `reset` empties the page before the new life's messages (s14).
//! - R13 a hidden page holds no stream, not even one its backoff was
//!   waiting to open, and catches up from its cursor when shown (s15).
//! - R14 a refused stream is retried with exercise 04's backoff, and the
//!   page says so; a stream that opens starts the backoff over (s16).
//!
//! One file checks both crates: `cargo test -p ex08-server-sent-events`
//! runs it against your starter, and the root `cargo test` runs it against
//! the solution. Each scenario is a function that takes the code it runs (a
//! function of yours, a feed, an app, a client), so the course's known wrong
//! solutions (`wrong_solutions.rs`, beside this file) run the very same
//! scenarios with theirs.
//!
//! s01 to s03 call your functions directly: `resume_from`, `events` and
//! `retry_for`. s04 to s11 run streams on tokio's paused clock, so 15 s of
//! keep-alive take no real time: s04 and s10 run your `feed` by itself, s05
//! to s08 the whole app, and s09 and s11 both. s12 to s16 run the page, with your
//! `client.js`, in the virtual browser, whose `EventSource` behaves as the
//! HTML standard says. Work in number order.

use axum::response::IntoResponse;
use axum::response::sse::{Event, Sse};
use axum::{
    Router,
    body::Body,
    http::{HeaderValue, Request, StatusCode, header},
};
use dont_ddos_yourself::routes::PollQuery;
use dont_ddos_yourself::store::Cursor;
use dont_ddos_yourself::{BACKOFF_JS, CURSOR_JS};
use futures_util::stream;
use governor::clock::FakeRelativeClock;
use http_body_util::BodyExt;
use limits::held::{MAX_HELD_PER_CLIENT, OwnedSlot};
use long_polling::hold::Hub;
use long_polling::news::News;
use poll_endpoint::error::ApiError;
use poll_endpoint::message::{Message, NewMessage};
use redis_chat::memory::MemoryStore;
use redis_chat::store::Store;
use serde_json::{Value, json};
use server_sent_events::events::{Answer, RESET_EVENT};
use server_sent_events::{
    CLIENT_JS, KEEP_ALIVE_EVERY, MAX_MESSAGES, MAX_QUEUED_EVENTS, RETRY_MAX,
    RETRY_MIN, app_with,
};
use spec_support::requests::respond;
use spec_support::{ClientSpec, Rule, assert_trace_snapshot, shown_at, status_at};
use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use virtual_browser::{Event as PageEvent, Failure, Latency, VirtualClock, checks};

pub const R1: Rule = Rule::new("R1", "each message is one event, its id the cursor");
pub const R2: Rule = Rule::new("R2", "a stream resumes from Last-Event-ID");
pub const R3: Rule = Rule::new("R3", "each message once, none skipped");
pub const R4: Rule = Rule::new("R4", "another life of the store is a reset");
pub const R5: Rule = Rule::new("R5", "an idle stream gets a comment line");
pub const R6: Rule = Rule::new("R6", "each stream's retry: is its own");
pub const R7: Rule = Rule::new("R7", "a stream keeps its slot while it runs");
pub const R8: Rule = Rule::new("R8", "a reader that stops reading is dropped");
pub const R9: Rule = Rule::new("R9", "shutting down ends every stream");
pub const R10: Rule = Rule::new("R10", "one stream, and a message shows at once");
pub const R11: Rule = Rule::new("R11", "a broken stream is the browser's to resume");
pub const R12: Rule = Rule::new("R12", "a reset empties the page");
pub const R13: Rule = Rule::new("R13", "a hidden page holds no stream");
pub const R14: Rule = Rule::new("R14", "a refused stream is retried with backoff");

/// The epoch the spec's stores use, so ids are predictable: `1000-1`.
const EPOCH: u64 = 1_000;

/// `name` in the crate under test, as a learner finds it:
/// `exercises/08-server-sent-events/src/feed.rs`.
fn file(name: &str) -> String {
    spec_support::learner_file(env!("CARGO_MANIFEST_DIR"), name)
}

/// The code under test, one type per part a scenario runs: the crate's own,
/// or (in `wrong_solutions.rs`) a known wrong one.
pub type ResumeFrom =
    fn(Option<&HeaderValue>, &PollQuery) -> Result<Option<Cursor>, ApiError>;
pub type Events = fn(&Answer, Option<Cursor>) -> (Vec<Event>, Option<Cursor>);
pub type RetryFor = fn(f64) -> Duration;
/// A feed, boxed so that a plain `fn` can name it.
pub type Feed = fn(
    Arc<Hub<SpecStore>>,
    Option<Cursor>,
    mpsc::Sender<Event>,
    OwnedSlot,
) -> Pin<Box<dyn Future<Output = ()> + Send>>;
/// How a scenario makes the app on a hub.
pub type MakeApp = fn(Arc<Hub<SpecStore>>) -> Router;

/// The crate's own feed, as a [`Feed`].
pub fn the_feed(
    hub: Arc<Hub<SpecStore>>,
    cursor: Option<Cursor>,
    queue: mpsc::Sender<Event>,
    slot: OwnedSlot,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(server_sent_events::feed::feed(hub, cursor, queue, slot))
}

/// The crate's own app, on the spec's clock.
pub fn the_app(hub: Arc<Hub<SpecStore>>) -> Router {
    app_with(hub, FakeRelativeClock::default())
}

pub fn memory_hub_at(epoch: u64) -> Arc<Hub<SpecStore>> {
    Arc::new(Hub::new(
        Arc::new(SpecStore {
            inner: MemoryStore::with_epoch(MAX_MESSAGES, epoch),
            gap: std::sync::Mutex::new(None),
            failing: std::sync::atomic::AtomicBool::new(false),
        }),
        News::local(),
    ))
}

/// The spec's store: exercise 05's in-memory store, which a scenario can
/// ask to store a message right after its next read, and tell the news: a
/// post landing exactly in the gap between a feed's look at the store and
/// its wait for news. On a real server that gap is rare and short; here it
/// comes when asked. A scenario can also make it fail, as Redis does when
/// it is gone.
pub struct SpecStore {
    inner: MemoryStore,
    /// The text to store after the next read, and the hub whose news to tell.
    gap: std::sync::Mutex<Option<(String, std::sync::Weak<Hub<SpecStore>>)>>,
    /// Whether every read fails.
    failing: std::sync::atomic::AtomicBool,
}

impl SpecStore {
    /// Store `text` (from `grace`) right after the next read, and tell
    /// `hub`'s news, as `POST /poll` would.
    pub fn post_after_the_next_read(&self, text: &str, hub: &Arc<Hub<SpecStore>>) {
        *self.gap.lock().expect("the gap's lock") =
            Some((text.to_owned(), Arc::downgrade(hub)));
    }

    /// From now on, every read fails.
    pub fn fail(&self) {
        self.failing.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Store for SpecStore {
    async fn push(
        &self,
        message: poll_endpoint::message::ValidMessage,
        key: Option<String>,
    ) -> Result<Message, redis_chat::store::StoreError> {
        self.inner.push(message, key).await
    }

    async fn poll(
        &self,
        cursor: Option<Cursor>,
    ) -> Result<redis_chat::store::PollAnswer, redis_chat::store::StoreError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(redis_chat::store::StoreError(
                "the spec's store is failing".to_owned(),
            ));
        }
        let answer = self.inner.poll(cursor).await?;
        let gap = self.gap.lock().expect("the gap's lock").take();
        if let Some((text, hub)) = gap
            && let Some(hub) = hub.upgrade()
        {
            let new = NewMessage { user: "grace".to_owned(), text };
            self.inner.push(new.validate().expect("a valid message"), None).await?;
            hub.news.tell().await;
        }
        Ok(answer)
    }
}

fn memory_hub() -> Arc<Hub<SpecStore>> {
    memory_hub_at(EPOCH)
}

/// Store a message from `ada` and tell the hub's news, as `POST /poll` does.
pub async fn post(hub: &Hub<SpecStore>, text: &str) -> Message {
    let valid = NewMessage { user: "ada".to_owned(), text: text.to_owned() }
        .validate()
        .expect("a valid message");
    let message = hub.store.push(valid, None).await.expect("the store stores");
    hub.news.tell().await;
    message
}

fn message(id: u64, text: &str) -> Message {
    Message {
        id,
        user: "ada".to_owned(),
        text: text.to_owned(),
        time: 1_767_225_600_000 + id,
    }
}

fn cursor(since: u64, epoch: u64) -> Option<Cursor> {
    Some(Cursor { since, epoch: Some(epoch) })
}

// ---------------------------------------------------------------------------
// Reading an event stream
// ---------------------------------------------------------------------------

/// One block of an event stream, up to its blank line, as its fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: Option<String>,
    pub retry: Option<u64>,
    /// The block is a comment line and nothing else.
    pub comment: bool,
}

impl Block {
    fn parse(text: &str) -> Block {
        let mut block = Block::default();
        let mut fields = 0;
        for line in text.lines() {
            if line.starts_with(':') {
                continue;
            }
            fields += 1;
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
            match name {
                "event" => block.event = Some(value),
                "id" => block.id = Some(value),
                "data" => block.data = Some(value),
                "retry" => block.retry = value.parse().ok(),
                _ => {}
            }
        }
        block.comment = fields == 0;
        block
    }

    /// A message event's message, as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(self.data.as_deref().unwrap_or(""))
            .unwrap_or(Value::Null)
    }

    /// What the block says, for a failure message.
    fn text(&self) -> String {
        match self {
            Block { comment: true, .. } => "a comment".to_owned(),
            Block { retry: Some(ms), event: None, id: None, data: None, .. } => {
                format!("retry: {ms}")
            }
            Block { event, id, data, .. } => format!(
                "{}id: {}, data: {}",
                event.as_ref().map(|e| format!("event: {e}, ")).unwrap_or_default(),
                id.as_deref().unwrap_or("(none)"),
                data.as_deref().unwrap_or("(none)")
            ),
        }
    }
}

/// Events as a stream writes them, read back as blocks.
pub async fn render(events: Vec<Event>) -> Vec<Block> {
    let sse = Sse::new(stream::iter(events.into_iter().map(Ok::<_, Infallible>)));
    let body = sse.into_response().into_body().collect().await.expect("a body");
    let text = String::from_utf8(body.to_bytes().to_vec()).expect("UTF-8");
    text.split("\n\n").filter(|b| !b.is_empty()).map(Block::parse).collect()
}

/// An open stream: an answer whose body is read block by block.
pub struct Reading {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    body: Body,
    buffer: String,
    ended: bool,
}

impl Reading {
    /// `GET path`, with these request headers, as client `client`.
    pub async fn open(
        app: &Router,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Reading {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::empty()).unwrap();
        let response = respond(app, request).await.unwrap_or_else(|panicked| {
            // Each `todo!` names its function: start in its file.
            let start_in =
                [("retry_for", "src/routes.rs"), ("events", "src/events.rs")]
                    .into_iter()
                    .find(|(name, _)| panicked.reason.contains(&format!("{name}:")))
                    .map_or("src/resume.rs", |(_, file)| file);
            panic!("{}", panicked.start_in(file(start_in)))
        });
        let (parts, body) = response.into_parts();
        Reading {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
            buffer: String::new(),
            ended: false,
        }
    }

    /// The next block, if one comes within `within` (on the paused clock:
    /// no real time passes); `None` if none comes, or the stream ended.
    pub async fn next(&mut self, within: Duration) -> Option<Block> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block = self.buffer[..end].to_owned();
                self.buffer.drain(..end + 2);
                return Some(Block::parse(&block));
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => self.ended = true,
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.push_str(&String::from_utf8_lossy(&data));
                    }
                }
            }
        }
    }

    /// The next event that is not a comment, within `within`.
    pub async fn next_event(&mut self, within: Duration) -> Option<Block> {
        loop {
            let block = self.next(within).await?;
            if !block.comment {
                return Some(block);
            }
        }
    }

    /// The next event with an id (a message or a reset), within `within`.
    pub async fn next_message(&mut self, within: Duration) -> Option<Block> {
        loop {
            let block = self.next(within).await?;
            if block.id.is_some() {
                return Some(block);
            }
        }
    }

    /// Whether the stream ends within `within`, reading what is left.
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while self.next(deadline - tokio::time::Instant::now()).await.is_some() {}
        self.ended
    }

    /// The JSON body of an answer that is not a stream.
    pub async fn json(self) -> Value {
        let body = self.body.collect().await.expect("a body").to_bytes();
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    }
}

/// Read the events of `queued` (a feed's queue) as blocks, for `within`.
async fn drain(queued: &mut mpsc::Receiver<Event>, within: Duration) -> Vec<Block> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Some(event)) =
        tokio::time::timeout_at(deadline, queued.recv()).await
    {
        events.push(event);
    }
    render(events).await
}

fn ids(blocks: &[Block]) -> Vec<String> {
    blocks
        .iter()
        .map(|b| b.id.clone().unwrap_or_else(|| "(no id)".to_owned()))
        .collect()
}

fn texts(blocks: &[Block]) -> String {
    if blocks.is_empty() {
        return "  (nothing)\n".to_owned();
    }
    blocks.iter().map(|b| format!("  {}\n", b.text())).collect()
}

/// Let the spawned tasks run (a paused clock moves on only when all wait).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

// ---------------------------------------------------------------------------
// Your functions: where a stream starts, its events, its retry
// ---------------------------------------------------------------------------

fn query(since: Option<&str>, epoch: Option<&str>) -> PollQuery {
    PollQuery { since: since.map(str::to_owned), epoch: epoch.map(str::to_owned) }
}

#[test]
fn s01_a_stream_resumes_from_last_event_id() {
    s01(server_sent_events::resume::resume_from);
}

/// s01's checks, for any `resume_from`.
pub fn s01(resume_from: ResumeFrom) {
    let header = |value: &'static str| HeaderValue::from_static(value);
    let cases = [
        (None, query(None, None), None, "no header, no query: every message"),
        (None, query(Some("41"), Some("7")), cursor(41, 7), "the URL's cursor"),
        (
            Some(header("7-42")),
            query(Some("41"), Some("7")),
            cursor(42, 7),
            "the header wins over the URL: the browser reconnects to the URL the page opened",
        ),
        (
            Some(header("1767225600000-0")),
            query(None, None),
            cursor(0, 1_767_225_600_000),
            "a new life's start",
        ),
    ];
    for (last_event_id, query, expected, why) in cases {
        let got = resume_from(last_event_id.as_ref(), &query);
        assert!(
            matches!(&got, Ok(c) if *c == expected),
            "{R2:#}: resume_from(Last-Event-ID: {last_event_id:?}, ?since={:?}&epoch={:?}) should be Ok({expected:?}) \
             ({why}), but is {got:?}.\nLook at `resume_from` in {}.",
            query.since,
            query.epoch,
            file("src/resume.rs")
        );
    }
    for bad in [
        "zz",
        "7",
        "7-",
        "-4",
        "7-4x",
        "7-4-5",
        " 7-4",
        "+7-4",
        "7-+4",
        "99999999999999999999-1",
    ] {
        let got = resume_from(Some(&header(bad)), &query(None, None));
        assert!(
            matches!(&got, Err(e) if e.status == StatusCode::BAD_REQUEST),
            "{R2:#}: Last-Event-ID: {bad:?} is no id this server sends (`<epoch>-<id>`, two whole numbers): a 400, \
             not {got:?}.\nLook at `resume_from` in {}.",
            file("src/resume.rs")
        );
        assert!(
            matches!(&got, Err(e) if e.message.contains("Last-Event-ID")),
            "{R2:#}: the 400 for Last-Event-ID: {bad:?} says what to fix, so its message names the header \
             (`Last-Event-ID`) and what it must be; it said {got:?}.\nLook at `resume_from` in {}.",
            file("src/resume.rs")
        );
    }
}

#[tokio::test]
async fn s02_each_message_is_one_event_and_another_life_a_reset() {
    s02(server_sent_events::events::events).await;
}

/// s02's checks, for any `events`.
pub async fn s02(events: Events) {
    let look = || format!("Look at `events` in {}.", file("src/events.rs"));
    let answer = Answer {
        msg: vec![message(1, "one"), message(2, "two")],
        epoch: 7,
        reset: false,
    };
    let (made, after) = events(&answer, None);
    let blocks = render(made).await;
    assert_eq!(
        ids(&blocks),
        ["7-1", "7-2"],
        "{R1:#}: two messages, epoch 7: two events, with ids 7-1 and 7-2 (the cursor after each). The events:\n{}{}",
        texts(&blocks),
        look()
    );
    for (block, expected) in blocks.iter().zip(&answer.msg) {
        assert!(
            block.event.is_none() && block.json() == json!(expected),
            "{R1:#}: each message is a `message` event (no `event:` line) whose data is the message's JSON, {}; got {}.\n{}",
            json!(expected),
            block.text(),
            look()
        );
    }
    assert_eq!(
        after,
        cursor(2, 7),
        "{R1:#}: after messages 1 and 2 of epoch 7, the cursor is since 2, epoch 7.\n{}",
        look()
    );
    let later = Answer { msg: vec![message(3, "three")], ..answer.clone() };
    let (made, after) = events(&later, cursor(2, 7));
    assert_eq!(
        (ids(&render(made).await), after),
        (vec!["7-3".to_owned()], cursor(3, 7)),
        "{R1:#}: a client at 7-2 gets message 3 alone, and is then at 7-3.\n{}",
        look()
    );
    let reset = Answer { msg: vec![message(1, "fresh")], epoch: 9, reset: true };
    let (made, after) = events(&reset, cursor(5, 7));
    let blocks = render(made).await;
    let first_is_reset = blocks.first().is_some_and(|b| {
        b.event.as_deref() == Some(RESET_EVENT) && b.id.as_deref() == Some("9-0")
    });
    assert!(
        first_is_reset && ids(&blocks) == ["9-0", "9-1"] && after == cursor(1, 9),
        "{R4:#}: a client at 7-5 when the store's life is 9 gets a `reset` event first, with id 9-0 (so a reconnection \
         asks for the new life), then message 1 as 9-1; its cursor after is since 1, epoch 9. The events:\n{}and the \
         cursor after: {after:?}.\n{}",
        texts(&blocks),
        look()
    );
    let (made, after) =
        events(&Answer { msg: vec![], epoch: 9, reset: true }, cursor(5, 7));
    assert_eq!(
        (ids(&render(made).await), after),
        (vec!["9-0".to_owned()], cursor(0, 9)),
        "{R4:#}: a reset into an empty store is the reset event alone, and the cursor 0 in epoch 9.\n{}",
        look()
    );
}

#[test]
fn s03_each_stream_draws_its_own_retry() {
    s03(server_sent_events::routes::retry_for);
}

/// s03's checks, for any `retry_for`.
pub fn s03(retry_for: RetryFor) {
    let draws: Vec<Duration> =
        (0..=10).map(|i| retry_for(f64::from(i) / 10.5)).collect();
    let look = format!("Look at `retry_for` in {}.", file("src/routes.rs"));
    assert!(
        draws.iter().all(|d| (RETRY_MIN..=RETRY_MAX).contains(d)),
        "{R6:#}: every retry is between RETRY_MIN ({RETRY_MIN:?}) and RETRY_MAX ({RETRY_MAX:?}); for draws from 0.0 to \
         0.95 they were {draws:?}.\n{look}"
    );
    let spread = RETRY_MAX - RETRY_MIN;
    assert!(
        draws[0] == RETRY_MIN && draws[10] >= RETRY_MAX - spread / 10,
        "{R6:#}: the draw 0.0 is RETRY_MIN, and a draw near 1.0 near RETRY_MAX, so that the readers spread over the \
         whole range; they were {:?} and {:?}.\n{look}",
        draws[0],
        draws[10]
    );
    assert!(
        draws.windows(2).all(|w| w[0] < w[1]),
        "{R6:#}: a larger draw is a longer retry, or readers bunch up: {draws:?}.\n{look}"
    );
}

// ---------------------------------------------------------------------------
// Your feed
// ---------------------------------------------------------------------------

/// Start `feed` for a client at `cursor` on `hub`, with a queue of
/// MAX_QUEUED_EVENTS and a slot under the hub's caps.
fn start_feed(
    feed: Feed,
    hub: &Arc<Hub<SpecStore>>,
    cursor: Option<Cursor>,
    client: &str,
) -> (mpsc::Receiver<Event>, tokio::task::JoinHandle<()>) {
    let (queue, queued) = mpsc::channel(MAX_QUEUED_EVENTS);
    let slot = hub.caps.owned_slot(client).expect("a free slot");
    let task = tokio::spawn(feed(hub.clone(), cursor, queue, slot));
    (queued, task)
}

/// Whether `task` ends within `within` (on the paused clock).
async fn ends(task: &mut tokio::task::JoinHandle<()>, within: Duration) -> bool {
    tokio::time::timeout(within, task).await.is_ok()
}

#[tokio::test(start_paused = true)]
async fn s04_the_feed_sends_each_message_once_and_skips_none() {
    s04(the_feed).await;
}

/// s04's scene and checks, for any feed.
pub async fn s04(feed: Feed) {
    let hub = memory_hub();
    let look = || format!("Look at `feed` in {}.", file("src/feed.rs"));
    post(&hub, "one").await;
    post(&hub, "two").await;
    let (mut queued, _task) = start_feed(feed, &hub, None, "ann");
    let first = drain(&mut queued, Duration::from_secs(1)).await;
    assert_eq!(
        ids(&first),
        ["1000-1", "1000-2"],
        "{R1:#}: a feed with no cursor sends every stored message at once. It sent:\n{}{}",
        texts(&first),
        look()
    );
    post(&hub, "three").await;
    let next = drain(&mut queued, Duration::from_secs(1)).await;
    assert_eq!(
        ids(&next),
        ["1000-3"],
        "{R3:#}: message 3 was stored: the feed sends it, and only it (the client has 1 and 2). It sent:\n{}{}",
        texts(&next),
        look()
    );
    post(&hub, "four").await;
    post(&hub, "five").await;
    hub.news.tell().await; // a wake-up with nothing new
    let burst = drain(&mut queued, Duration::from_secs(1)).await;
    assert_eq!(
        ids(&burst),
        ["1000-4", "1000-5"],
        "{R3:#}: messages 4 and 5 were stored one after the other, then a wake-up came with nothing new: the feed \
         sends 4 and 5, once each, in order. It sent:\n{}{}",
        texts(&burst),
        look()
    );
    // A post lands in the gap: stored, and its news told, just after the
    // feed's next look at the store and before it waits for news again.
    hub.store.post_after_the_next_read("six", &hub);
    hub.news.tell().await; // a wake-up, so that the feed looks
    let gap = drain(&mut queued, Duration::from_secs(1)).await;
    assert_eq!(
        ids(&gap),
        ["1000-6"],
        "{R3:#}: message 6 was stored (and its news told) just as the feed looked at the store: the feed sends it at \
         once, not with whatever message comes next. Watch for news *before* looking (a message stored after \
         `subscribe` moves the version, so `changed()` completes even if it came during the look), as exercise \
         07's `Hub::wait` does. It sent:\n{}{}",
        texts(&gap),
        look()
    );
}

#[tokio::test(start_paused = true)]
async fn s05_a_stream_sends_every_message_and_then_each_new_one() {
    s05(the_app).await;
}

/// s05's scene and checks, for any app.
pub async fn s05(make: MakeApp) {
    let hub = memory_hub();
    let app = make(hub.clone());
    post(&hub, "one").await;
    post(&hub, "two").await;
    let mut stream = Reading::open(&app, "/events?client=ann", &[]).await;
    let content_type = stream
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(
        (stream.status, content_type.as_deref()),
        (200, Some("text/event-stream")),
        "GET /events answers 200 with Content-Type text/event-stream. Look at `get_events` in {}.",
        file("src/routes.rs")
    );
    let mut blocks = Vec::new();
    while let Some(block) = stream.next_event(Duration::from_secs(1)).await {
        blocks.push(block);
    }
    let events: Vec<Block> = blocks.into_iter().filter(|b| b.id.is_some()).collect();
    assert_eq!(
        ids(&events),
        ["1000-1", "1000-2"],
        "{R1:#}: a new stream without a cursor gets every stored message. It got:\n{}Look at `feed` in {}.",
        texts(&events),
        file("src/feed.rs")
    );
    post(&hub, "three").await;
    let news = stream.next_event(Duration::from_millis(10)).await;
    assert!(
        news.as_ref().is_some_and(|b| b.id.as_deref() == Some("1000-3")),
        "{R1:#}: message 3, stored while the stream is open, is written to it at once; the stream wrote {:?}.\n\
         Look at `feed` in {}.",
        news.map(|b| b.text()),
        file("src/feed.rs")
    );
    let mut from_url =
        Reading::open(&app, "/events?since=2&epoch=1000&client=bob", &[]).await;
    let first = from_url.next_message(Duration::from_secs(1)).await;
    assert!(
        first.as_ref().is_some_and(|b| b.id.as_deref() == Some("1000-3")),
        "{R2:#}: GET /events?since=2&epoch=1000 starts after message 2: its first event is 1000-3, not {:?}.\n\
         Look at `resume_from` in {}.",
        first.map(|b| b.text()),
        file("src/resume.rs")
    );
    let refused =
        Reading::open(&app, "/events?client=cai", &[("last-event-id", "nonsense")])
            .await;
    let status = refused.status;
    let body = refused.json().await;
    assert!(
        status == 400 && body["error"].is_string(),
        "{R2:#}: Last-Event-ID: nonsense is a 400 with a JSON body that says why, {{\"error\": ...}}, not {status} {body}.\n\
         Look at `resume_from` in {}.",
        file("src/resume.rs")
    );
}

#[tokio::test(start_paused = true)]
async fn s06_a_reconnection_resumes_after_the_last_event() {
    s06(the_app).await;
}

/// s06's scene and checks, for any app.
pub async fn s06(make: MakeApp) {
    let hub = memory_hub();
    let app = make(hub.clone());
    post(&hub, "one").await;
    post(&hub, "two").await;
    let mut stream =
        Reading::open(&app, "/events?since=0&epoch=1000&client=ann", &[]).await;
    let mut last = None;
    while let Some(block) = stream.next_event(Duration::from_secs(1)).await {
        last = block.id.or(last);
    }
    drop(stream); // the connection breaks
    settle().await;
    post(&hub, "three").await;
    post(&hub, "four").await;
    let last = last.unwrap_or_default();
    // As a browser reconnects: the URL the page opened, and the last id.
    let mut again = Reading::open(
        &app,
        "/events?since=0&epoch=1000&client=ann",
        &[("last-event-id", last.as_str())],
    )
    .await;
    let mut blocks = Vec::new();
    while let Some(block) = again.next_event(Duration::from_secs(1)).await {
        blocks.push(block);
    }
    let events: Vec<Block> = blocks.into_iter().filter(|b| b.id.is_some()).collect();
    assert_eq!(
        ids(&events),
        ["1000-3", "1000-4"],
        "{R3:#}: the page had messages 1 and 2 (last id {last:?}) when its stream broke; 3 and 4 came while it was away. \
         Reconnecting with Last-Event-ID: {last}, it gets 3 and 4, once each, and nothing it had. It got:\n{}\
         Look at `resume_from` in {} and `feed` in {}.",
        texts(&events),
        file("src/resume.rs"),
        file("src/feed.rs")
    );
}

#[tokio::test(start_paused = true)]
async fn s07_an_idle_stream_gets_a_comment_line_to_keep_it_open() {
    s07(the_app).await;
}

/// s07's scene and checks, for any app (the keep-alive is given code in
/// `get_events`).
pub async fn s07(make: MakeApp) {
    let hub = memory_hub();
    let app = make(hub);
    let mut stream = Reading::open(&app, "/events?client=ann", &[]).await;
    let started = tokio::time::Instant::now();
    let mut comments = Vec::new();
    while let Some(block) =
        stream.next(KEEP_ALIVE_EVERY * 2 + Duration::from_secs(1)).await
    {
        if block.comment {
            comments.push(started.elapsed());
            if comments.len() == 2 {
                break;
            }
        }
    }
    assert!(
        !stream.ended,
        "{R5:#}: an idle stream stays open (and gets a comment line every KEEP_ALIVE_EVERY); this one ended after \
         {:?} with nothing to send.\nLook at `feed` in {}: it should wait for news, not return.",
        started.elapsed(),
        file("src/feed.rs")
    );
    assert!(
        comments.len() == 2
            && comments[1] <= KEEP_ALIVE_EVERY * 2 + Duration::from_millis(10),
        "{R5:#}: with nothing to send, a stream writes a comment line (`:`) every KEEP_ALIVE_EVERY \
         ({KEEP_ALIVE_EVERY:?}), so proxies keep it open and the server learns of a reader gone; in {:?} it wrote \
         {} at {comments:?}.\nLook at the `KeepAlive` in `get_events`, {}.",
        KEEP_ALIVE_EVERY * 2,
        comments.len(),
        file("src/routes.rs")
    );
}

#[tokio::test(start_paused = true)]
async fn s08_each_stream_starts_with_its_own_retry() {
    s08(the_app).await;
}

/// s08's scene and checks, for any app.
pub async fn s08(make: MakeApp) {
    let hub = memory_hub();
    let app = make(hub);
    let mut retries = Vec::new();
    for reader in 0..20 {
        let mut stream =
            Reading::open(&app, &format!("/events?client=r{reader}"), &[]).await;
        let first = stream.next(Duration::from_secs(1)).await;
        match first.as_ref().and_then(|b| b.retry) {
            Some(ms) => retries.push(ms),
            None => panic!(
                "{R6:#}: a stream's first block is its `retry:`, before any event; it was {:?}.\n\
                 Look at `get_events` in {}.",
                first.map(|b| b.text()),
                file("src/routes.rs")
            ),
        }
    }
    let (min, max) = (RETRY_MIN.as_millis() as u64, RETRY_MAX.as_millis() as u64);
    let lowest = retries.iter().min().copied().unwrap_or(0);
    let highest = retries.iter().max().copied().unwrap_or(0);
    assert!(
        lowest >= min && highest <= max && highest - lowest >= (max - min) / 4,
        "{R6:#}: twenty streams should be told twenty retries spread between {min} and {max} ms, so that after a \
         restart they do not all come back in the same instant; they were told {retries:?}.\n\
         Look at `retry_for` in {}.",
        file("src/routes.rs")
    );
}

#[tokio::test(start_paused = true)]
async fn s09_a_stream_keeps_its_slot_while_it_runs() {
    s09(the_feed, the_app).await;
}

/// s09's scene and checks, for any feed and app.
pub async fn s09(feed: Feed, make: MakeApp) {
    let hub = memory_hub();
    let look = || format!("Look at `feed` in {}.", file("src/feed.rs"));
    let (queued, mut task) = start_feed(feed, &hub, None, "ann");
    settle().await;
    assert_eq!(
        hub.caps.taken(),
        1,
        "{R7:#}: while the feed runs, its stream holds its slot under the caps (the `slot` it is given).\n{}",
        look()
    );
    drop(queued); // the reader hangs up
    assert!(
        ends(&mut task, Duration::from_millis(10)).await && hub.caps.taken() == 0,
        "{R7:#}: when the reader hangs up (the queue's receiver is dropped), the feed ends and gives its slot back: \
         {} slots are still taken.\n{}",
        hub.caps.taken(),
        look()
    );
    let app = make(hub.clone());
    let mut open = Vec::new();
    for _ in 0..MAX_HELD_PER_CLIENT {
        open.push(Reading::open(&app, "/events?client=ann", &[]).await);
    }
    settle().await;
    let third = Reading::open(&app, "/events?client=ann", &[]).await;
    let retry_after = third.headers.get(header::RETRY_AFTER).is_some();
    assert!(
        third.status == 429 && retry_after,
        "{R7:#}: one client may hold {MAX_HELD_PER_CLIENT} streams (exercise 07's MAX_HELD_PER_CLIENT); its next one is \
         a 429 with Retry-After, not {}.\n{}",
        third.status,
        look()
    );
    open.pop();
    settle().await;
    let again = Reading::open(&app, "/events?client=ann", &[]).await;
    assert_eq!(
        again.status,
        200,
        "{R7:#}: one of the client's streams was closed, so its slot is free again and a new stream is a 200.\n{}",
        look()
    );
}

#[tokio::test(start_paused = true)]
async fn s10_a_reader_that_stops_reading_is_dropped() {
    s10(the_feed).await;
}

/// s10's scene and checks, for any feed.
pub async fn s10(feed: Feed) {
    let hub = memory_hub();
    let (mut queued, mut task) = start_feed(feed, &hub, None, "ann");
    // The reader never reads: each message waits in its queue.
    let posts = MAX_QUEUED_EVENTS + 10;
    for n in 0..posts {
        post(&hub, &format!("message {n}")).await;
        settle().await;
    }
    let dropped = ends(&mut task, Duration::from_millis(10)).await;
    assert!(
        dropped && hub.caps.taken() == 0,
        "{R8:#}: {posts} messages were posted to a reader that reads nothing; once MAX_QUEUED_EVENTS \
         ({MAX_QUEUED_EVENTS}) wait in its queue, the feed drops it (and its slot), instead of waiting for it or \
         queueing more. The feed is {}.\nLook at `feed` in {}.",
        if dropped { "over, but the slot is still taken" } else { "still running" },
        file("src/feed.rs")
    );
    let waiting = drain(&mut queued, Duration::from_millis(10)).await;
    assert!(
        waiting.len() == MAX_QUEUED_EVENTS,
        "{R8:#}: the feed queues events until the queue is full, and only then drops the reader: \
         {MAX_QUEUED_EVENTS} events should wait in it, not {}.\nLook at `feed` in {}.",
        waiting.len(),
        file("src/feed.rs")
    );
}

#[tokio::test(start_paused = true)]
async fn s11_shutting_down_ends_every_stream() {
    s11(the_feed, the_app).await;
}

/// s11's scene and checks, for any feed and app.
pub async fn s11(feed: Feed, make: MakeApp) {
    let hub = memory_hub();
    let (_ann, mut ann) = start_feed(feed, &hub, None, "ann");
    let (_bob, mut bob) = start_feed(feed, &hub, None, "bob");
    settle().await;
    assert!(
        !ann.is_finished() && !bob.is_finished(),
        "{R9:#}: before the server stops, two feeds with readers wait for news; one of them has already ended \
         (if it panicked, the lines above say where).\nLook at `feed` in {}.",
        file("src/feed.rs")
    );
    hub.stop(); // Ctrl-C: `serve_until_stopped` calls it
    let (ann_ended, bob_ended) = (
        ends(&mut ann, Duration::from_millis(10)).await,
        ends(&mut bob, Duration::from_millis(10)).await,
    );
    assert!(
        ann_ended && bob_ended,
        "{R9:#}: on Ctrl-C the hub stops, and every feed ends at once, so the server can stop; {} of 2 ended.\n\
         Look at `feed` in {}.",
        usize::from(ann_ended) + usize::from(bob_ended),
        file("src/feed.rs")
    );
    let app = make(hub);
    let mut late = Reading::open(&app, "/events?client=cai", &[]).await;
    assert!(
        late.ends_within(Duration::from_millis(10)).await,
        "{R9:#}: a stream opened while the server stops ends at once.\nLook at `feed` in {}.",
        file("src/feed.rs")
    );
    // The store fails (Redis is gone): a feed cannot tell what is new, so
    // it ends, and its reader's browser connects again after its `retry:`,
    // perhaps to an instance whose store answers.
    let hub = memory_hub();
    let (_dee, mut dee) = start_feed(feed, &hub, None, "dee");
    settle().await;
    hub.store.fail();
    hub.news.tell().await; // news, and the next look fails
    assert!(
        ends(&mut dee, Duration::from_millis(10)).await,
        "{R9:#}: when a look at the store fails, the feed ends at once (the browser connects again after its \
         `retry:`), rather than holding a stream that can say nothing.\nLook at `feed` in {}.",
        file("src/feed.rs")
    );
}

// ---------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------

thread_local! {
    /// The hub of the app the current client scenario opened, so that a
    /// scene can start the server again on the same store (a broken
    /// connection, not a new store).
    static HUB: RefCell<Option<Arc<Hub<SpecStore>>>> = const { RefCell::new(None) };
}

fn scenario_app() -> Router {
    // Each stream's `retry:` is random: the same seed makes the traces the
    // same from one run to the next (the server runs on this thread).
    fastrand::seed(8);
    let hub = memory_hub();
    HUB.with(|cell| *cell.borrow_mut() = Some(hub.clone()));
    app_with(hub, VirtualClock)
}

/// The app again, on the hub the scenario's page opened.
fn same_store() -> Router {
    let hub = HUB.with(|cell| cell.borrow().clone()).expect("a scenario's hub");
    app_with(hub, VirtualClock)
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

/// What the page showed last.
fn last_shown(trace: &virtual_browser::Trace) -> Vec<u64> {
    trace
        .events()
        .iter()
        .rev()
        .find_map(|(_, event)| match event {
            PageEvent::Rendered { ids } => Some(ids.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn s12_the_page_opens_one_stream_and_shows_a_message_at_once() {
    s12(&client());
}

/// s12's scene and checks, for any client (see `client`).
pub fn s12(spec: &ClientSpec) {
    let trace = spec.run(40_000, |browser| {
        browser.latency(Latency::Fixed(100)).post_at(12_300, "grace", "news");
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    let streams = trace.spans_to("/events");
    let polls = trace.spans_to("/poll");
    assert!(
        streams.len() == 1 && polls.is_empty(),
        "{R10:#}: the page opens one stream (`new EventSource(...)` on /events) and nothing else; it made {} requests \
         to /events and {} to /poll.\nWhat happened:\n{trace}Look at `open` in {}.",
        streams.len(),
        polls.len(),
        spec.client_path()
    );
    let at = shown_at(&trace, 1);
    assert!(
        at.is_some_and(|at| (12_300..=12_400).contains(&at)),
        "{R10:#}: a message posted at 12300 ms is written to the stream at once, and shows as soon as it arrives \
         (within the 100 ms latency); it showed at {at:?}.\nWhat happened:\n{trace}Look at `onmessage` in `open`, {}.",
        spec.client_path()
    );
    if spec.runs_the_solution() {
        assert_trace_snapshot!("s12_stream", trace);
    }
}

#[test]
fn s13_a_broken_stream_is_the_browsers_to_resume() {
    s13(&client());
}

/// s13's scene and checks, for any client (see `client`).
pub fn s13(spec: &ClientSpec) {
    let trace = spec.run(40_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .post_at(5_000, "grace", "before")
            // The server starts again on the same store: the stream breaks,
            // and nothing else is lost.
            .restart_at(10_000, same_store())
            .post_at(10_050, "grace", "while it was broken")
            .post_at(30_000, "grace", "after");
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    let streams = trace.spans_to("/events");
    let reopened = streams.iter().find(|s| s.sent >= 10_000);
    let retry_min = RETRY_MIN.as_millis() as u64;
    assert!(
        reopened.is_some_and(|s| s.sent >= 10_000 + retry_min),
        "{R11:#}: the stream broke at 10000 ms; the browser connects again by itself after the server's `retry:` \
         (at least {retry_min} ms), so the page should leave it to the browser rather than open a stream at once. \
         The next stream went at {:?}.\nWhat happened:\n{trace}Look at `onerror` in `open`, {}.",
        reopened.map(|s| s.sent),
        spec.client_path()
    );
    assert!(
        streams.iter().filter(|s| s.sent >= 10_000).count() == 1,
        "{R11:#}: one reconnection, not {}.\nWhat happened:\n{trace}Look at `onerror` in `open`, {}.",
        streams.iter().filter(|s| s.sent >= 10_000).count(),
        spec.client_path()
    );
    let back = reopened.map_or(10_000, |s| s.sent);
    assert!(
        status_at(&trace, back).is_some_and(|text| !text.is_empty()),
        "{R11:#}: from the break at 10000 ms until the browser is back, the status line says the page is \
         reconnecting; at {back} ms it said {:?}.\nWhat happened:\n{trace}Look at `onerror` in `open`, {}.",
        status_at(&trace, back).unwrap_or_default(),
        spec.client_path()
    );
    assert!(
        status_at(&trace, 29_999).is_some_and(|text| text.is_empty()),
        "{R11:#}: once the stream is open again, the status line is empty; at 29999 ms it still said {:?}.\n\
         What happened:\n{trace}Look at `onopen` in `open`, {}.",
        status_at(&trace, 29_999).unwrap_or_default(),
        spec.client_path()
    );
    let rendered_twice = trace.events().iter().find_map(|(at, event)| match event {
        PageEvent::Rendered { ids } if ids.windows(2).any(|w| w[0] >= w[1]) => {
            Some((*at, ids.clone()))
        }
        _ => None,
    });
    assert!(
        rendered_twice.is_none() && last_shown(&trace) == [1, 2, 3],
        "{R11:#}: across the broken stream the page shows messages 1, 2 and 3, each once, in order; it showed {:?} \
         last{}.\nWhat happened:\n{trace}Look at `onmessage` in `open`, {}.",
        last_shown(&trace),
        rendered_twice
            .map(|(at, ids)| format!(", and {ids:?} at {at} ms"))
            .unwrap_or_default(),
        spec.client_path()
    );
    if spec.runs_the_solution() {
        assert_trace_snapshot!("s13_broken", trace);
    }
}

#[test]
fn s14_a_reset_empties_the_page() {
    s14(&client());
}

/// s14's scene and checks, for any client (see `client`).
pub fn s14(spec: &ClientSpec) {
    let trace = spec.run(30_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .post_at(1_000, "grace", "one")
            .post_at(2_000, "grace", "two")
            .post_at(3_000, "grace", "three")
            // A new server with a new, empty store: a new life, ids from 1.
            .restart_at(10_000, app_with(memory_hub_at(EPOCH + 1), VirtualClock))
            .post_at(10_050, "grace", "fresh");
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    let resets = trace
        .events()
        .iter()
        .filter(|(_, e)| matches!(e, PageEvent::StreamEvent { kind, .. } if kind == RESET_EVENT))
        .count();
    assert!(
        resets >= 1 && last_shown(&trace) == [1],
        "{R12:#}: the server came back with a new store (a new epoch): its stream sends a `reset`, and the page \
         forgets messages 1 to 3 of the old life before it shows the new message 1; it got {resets} resets and \
         showed {:?} last.\nWhat happened:\n{trace}Look at the `reset` listener in `open`, {}.",
        last_shown(&trace),
        spec.client_path()
    );
}

#[test]
fn s15_a_hidden_page_holds_no_stream() {
    s15(&client());
}

/// s15's scene and checks, for any client (see `client`).
pub fn s15(spec: &ClientSpec) {
    let trace = spec.run(60_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            // At first the server is full, and the page hides while its
            // backoff waits to try again (its second wait, 1.5 to 3 s).
            .fail(0..3_000, Failure::RetryAfter { status: 503, seconds: 1 })
            .hide(1_000..4_000)
            .post_at(5_000, "grace", "seen")
            .hide(10_000..40_000)
            .post_at(20_000, "grace", "while you were away");
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    let streams = trace.spans_to("/events");
    let opened_while_hidden: Vec<_> = streams
        .iter()
        .filter(|s| (1_000..4_000).contains(&s.sent))
        .map(|s| (s.request, s.sent))
        .collect();
    assert!(
        opened_while_hidden.is_empty(),
        "{R13:#}: the page hid at 1000 ms while its backoff waited to open another stream; when the wait ended the page \
         was still hidden, so it opens nothing (it opens one when shown): it opened (request, ms) {:?}.\n\
         What happened:\n{trace}Look at the retry's timer in `onerror`, {}.",
        opened_while_hidden,
        spec.client_path()
    );
    assert!(
        streams.iter().any(|s| (4_000..=4_100).contains(&s.sent)),
        "{R13:#}: shown again at 4000 ms, with no retry waiting any more, the page opens a stream at once.\n\
         What happened:\n{trace}Look at the `visibilitychange` listener in {}.",
        spec.client_path()
    );
    let held_while_hidden: Vec<_> = streams
        .iter()
        .filter(|s| s.sent < 39_000 && s.answered.is_none_or(|end| end > 10_100))
        .map(|s| s.request)
        .collect();
    assert!(
        held_while_hidden.is_empty(),
        "{R13:#}: when the page hides at 10000 ms it closes its stream (`close()`), so the server can give the slot to \
         someone who is looking; stream #{:?} stayed open.\nWhat happened:\n{trace}Look at the `visibilitychange` \
         listener in {}.",
        held_while_hidden,
        spec.client_path()
    );
    let reopened = streams.iter().find(|s| s.sent >= 40_000);
    assert!(
        reopened.is_some_and(|s| s.sent <= 40_100 && s.path.contains("since=1")),
        "{R13:#}: shown again at 40000 ms, the page opens a stream at once, from its cursor (`since=1`, the last \
         message it has); it opened {:?}.\nWhat happened:\n{trace}Look at the `visibilitychange` listener in {}.",
        reopened.map(|s| (s.sent, s.path.clone())),
        spec.client_path()
    );
    assert!(
        shown_at(&trace, 2).is_some_and(|at| (40_000..=40_300).contains(&at)),
        "{R13:#}: the message posted while the page was hidden shows as soon as it is shown again.\n\
         What happened:\n{trace}"
    );
}

#[test]
fn s16_a_refused_stream_is_retried_with_backoff() {
    s16(&client());
}

/// s16's scene and checks, for any client (see `client`).
pub fn s16(spec: &ClientSpec) {
    let trace = spec.run(60_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            // The server is full: every stream is refused for 5 s. (The
            // backoff's third wait, 5 to 10 s, always ends after it.)
            .fail(0..5_000, Failure::RetryAfter { status: 503, seconds: 1 })
            .post_at(20_000, "grace", "back")
            // Later the server starts again, full: the browser's own
            // reconnection (1 to 6 s after the break) is refused too.
            .restart_at(30_000, same_store())
            .fail(30_000..37_000, Failure::RetryAfter { status: 503, seconds: 1 })
            .post_at(50_000, "grace", "again");
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    let streams = trace.spans_to("/events");
    let refused = streams.iter().filter(|s| s.sent < 5_000).count();
    assert!(
        (2..=5).contains(&refused),
        "{R14:#}: an EventSource the server refuses (503) is closed for good: the page opens another with exercise 04's \
         backoff (at once, then up to 3 s, up to 10 s, ...), so in the 5 s of refusals it opens 2 to 5, not {refused}.\n\
         What happened:\n{trace}Look at `onerror` in `open`, {}.",
        spec.client_path()
    );
    let said = trace.events().iter().any(|(at, e)| {
        *at < 5_000
            && matches!(e, PageEvent::Status { text } if text.contains("again"))
    });
    assert!(
        said,
        "{R14:#}: while it waits to try again, the page says so in its status line (`showStatus`), with when.\n\
         What happened:\n{trace}Look at `onerror` in `open`, {}.",
        spec.client_path()
    );
    assert!(
        shown_at(&trace, 1).is_some_and(|at| (20_000..=20_200).contains(&at)),
        "{R14:#}: after the refusals the page is streaming again: a message posted at 20000 ms shows at once.\n\
         What happened:\n{trace}Look at `onerror` in `open`, {}.",
        spec.client_path()
    );
    // The stream that opened after the first refusals was a success: the
    // next refusal starts the schedule over, at once (chapter 04's reset).
    let after_restart: Vec<_> =
        streams.iter().filter(|s| s.sent >= 30_000).collect();
    let refused_at = after_restart.first().and_then(|s| s.answered);
    let next = after_restart.get(1).map(|s| s.sent);
    let when =
        |at: Option<u64>| at.map_or("never".to_owned(), |at| format!("at {at} ms"));
    assert!(
        refused_at.zip(next).is_some_and(|(refused, next)| next <= refused + 1_000),
        "{R14:#}: the stream that opened after the first refusals starts the backoff over (`backoff.succeeded()`), so \
         when the server refuses the browser's reconnection after its restart at 30000 ms (answered {}), the page \
         tries again at once, as after a first failure; its next stream went {}.\n\
         What happened:\n{trace}Look at `onopen` in `open`, {}.",
        when(refused_at),
        when(next),
        spec.client_path()
    );
    assert!(
        shown_at(&trace, 2).is_some_and(|at| (50_000..=50_200).contains(&at)),
        "{R14:#}: after the second refusals the page is streaming again: a message posted at 50000 ms shows at once.\n\
         What happened:\n{trace}Look at `onerror` in `open`, {}.",
        spec.client_path()
    );
}
