//! The four ways the course keeps a chat page up to date, side by side:
//! what each costs while nothing happens, and what each costs, and how
//! late it is, when messages come.
//!
//! ```console
//! cargo run --release -p benchmarks --bin compare
//! ```
//!
//! The techniques, each with the course's own server and a reader that
//! sends what the course's client sends:
//!
//! - **interval**: exercise 02's client on exercise 01's server, `GET /poll`
//!   3 s after each answer, and the whole chat in every answer;
//! - **cursor**: exercise 05's, every 3 s too, but `?since=&epoch=` brings
//!   only what is new, and the browser's cache asks with `If-None-Match`
//!   (`304` when nothing changed);
//! - **long polling**: exercise 07's, `GET /poll?since=&epoch=&wait=25`,
//!   asked again the moment each answer comes;
//! - **sse**: exercise 08's, one `GET /events` that stays open, an event
//!   per message.
//!
//! For each, a fresh server (this program again, with `--serve`, on a core
//! of its own as `--bin hold` does) is given a chat of 50 messages, as a chat
//! that has run a while holds; then `--readers` readers (1,000) arrive,
//! their first requests spread over one cycle of the technique (3 s, or
//! 25 s for long polling), so that their requests are spread as a crowd of
//! pages that loaded at different moments. Then:
//!
//! 1. **idle** for `--idle-seconds` (30): requests a minute per reader, and
//!    the server's resident memory per reader (its growth since before the
//!    readers came);
//! 2. **posting**: `--posts` messages (30), one a second. Bytes per
//!    delivered message (every byte the readers sent and received in the
//!    phase, over the messages that reached them, one message to one reader
//!    being one delivery), the server's CPU time per delivery (user +
//!    system, from `/proc`), and how long after each post the last reader
//!    had it (p50 and p99 over the posts).
//!
//! The table goes to `book/src/figures/08-comparison.md`, or to `--out`.
//! `--quick` is a short run (200 readers, 3 s idle, 3 posts; about a minute,
//! most of it the long polls' 25 s spread) that proves the benchmark works.

use axum::Router;
use benchmarks::{ServerProcess, connect_from, percentile, process_usage, raise_open_files_limit, read_answer};
use long_polling::hold::Hub;
use redis_chat::memory::MemoryStore;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How many messages the chat holds when the readers come: as many as every
/// server keeps, so exercise 01's answer is as big as it gets in a chat
/// that has run a while, not a new chat's few lines.
const HISTORY: usize = poll_endpoint::MAX_MESSAGES;

/// Between an interval client's answer and its next poll (exercise 02's
/// `INTERVAL_MS`, and exercise 04's backoff after a success).
const INTERVAL: Duration = Duration::from_secs(3);

/// How long exercise 07's client asks the server to hold a poll.
const WAIT_SECONDS: u64 = 25;

/// How many readers share a loopback address. The rate limit allows one
/// address 20 requests a second, 100 at once, for all its clients (each
/// client, named by `x-client-id` or, for a stream, by `?client=`, has its
/// own 2 a second besides). Five pages an address stay under it, as pages on
/// machines of their own do; 1,000 on 127.0.0.1 would be refused.
const READERS_PER_ADDRESS: usize = 5;

/// After the last post, how long the readers have to get it before the
/// run gives up on the ones that have not.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// The techniques, and the server side
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
enum Technique {
    /// Exercise 02's client on exercise 01's server: the whole chat every 3 s.
    Interval,
    /// Exercise 05: what is new since the cursor every 3 s, `304` when nothing is.
    Cursor,
    /// Exercise 07: one request always held, answered when there is news.
    LongPolling,
    /// Exercise 08: one stream, an event per message.
    Sse,
}

impl Technique {
    const ALL: [Technique; 4] = [Technique::Interval, Technique::Cursor, Technique::LongPolling, Technique::Sse];

    /// The row's name in the table.
    fn title(self) -> &'static str {
        match self {
            Technique::Interval => "Interval polling, the whole chat each time (exercise 02)",
            Technique::Cursor => "Interval polling with a cursor and `ETag` (exercise 05)",
            Technique::LongPolling => "Long polling (exercise 07)",
            Technique::Sse => "Server-Sent Events (exercise 08)",
        }
    }

    /// The name `--serve` and `--only` take.
    fn arg(self) -> String {
        clap::ValueEnum::to_possible_value(&self).expect("no technique is skipped").get_name().to_owned()
    }

    /// The server the course gives this technique.
    fn app(self) -> Router {
        let clock = governor::clock::DefaultClock::default();
        match self {
            Technique::Interval => poll_endpoint::app(),
            Technique::Cursor => dont_ddos_yourself::app(),
            Technique::LongPolling => long_polling::app_with(uncapped_hub(), clock),
            Technique::Sse => server_sent_events::app_with(uncapped_hub(), clock),
        }
    }

    /// Over how long the readers' first requests are spread: one cycle of
    /// the technique, so that once all have come, their polls (and a long
    /// poll's 25 s running out) fall evenly over it, as they do for pages
    /// that loaded at different moments. A stream has no cycle: a second
    /// only spreads the connections.
    fn spread(self) -> Duration {
        match self {
            Technique::Interval | Technique::Cursor => INTERVAL,
            Technique::LongPolling => Duration::from_secs(WAIT_SECONDS),
            Technique::Sse => Duration::from_secs(1),
        }
    }
}

/// Exercise 07's hub on the in-memory store, as `memory_hub()` makes it
/// but with the cap on held requests lifted: 1,000 readers are more than
/// its 800, and the cap is a policy (`--bin robustness` measures it), not
/// what the technique costs.
fn uncapped_hub() -> Arc<Hub<MemoryStore>> {
    let store = Arc::new(MemoryStore::new(long_polling::MAX_MESSAGES));
    Arc::new(Hub::new(store, long_polling::news::News::local()).with_max_held(usize::MAX))
}

/// Be the server for `technique`: print the port, then serve until killed,
/// with the course's own `serve_with`, as `cargo run` serves.
fn serve(technique: Technique) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        // Its timeouts as shipped (an interval reader is quiet 3 s, under
        // the 10 s idle timeout); its cap of 1,000 connections lifted, as
        // the held cap is, for the readers and the poster together.
        let limits = chat_page::serve::Limits { max_connections: 1 << 20, ..chat_page::serve::Limits::default() };
        chat_page::serve::serve_with(listener, technique.app(), limits, std::future::pending(), || {}).await.unwrap();
    });
}

// ---------------------------------------------------------------------------
// What the readers count
// ---------------------------------------------------------------------------

/// What the readers of one run count, all together.
#[derive(Default)]
struct Tally {
    /// Requests the readers sent.
    requests: AtomicU64,
    /// HTTP bytes the readers sent and received (no TCP/IP headers).
    bytes: AtomicU64,
    /// Readers whose first request has been answered.
    started: AtomicUsize,
    /// Answers other than `200` and `304`, and broken connections.
    failures: AtomicU64,
    /// For each message id, how many readers have it, and when the last one got it.
    seen: Mutex<HashMap<u64, Seen>>,
}

#[derive(Clone, Copy)]
struct Seen {
    readers: usize,
    last: Instant,
}

impl Tally {
    fn sent(&self, request: &str) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(request.len() as u64, Ordering::Relaxed);
    }

    fn received(&self, bytes: usize) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// One reader got these messages, now.
    fn saw(&self, ids: &[u64]) {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap();
        for &id in ids {
            let entry = seen.entry(id).or_insert(Seen { readers: 0, last: now });
            entry.readers += 1;
            entry.last = now;
        }
    }

    fn readers_with(&self, id: u64) -> usize {
        self.seen.lock().unwrap().get(&id).map_or(0, |seen| seen.readers)
    }

    /// Requests and bytes so far.
    fn totals(&self) -> (u64, u64) {
        (self.requests.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed))
    }
}

// ---------------------------------------------------------------------------
// The readers
// ---------------------------------------------------------------------------

/// A poll answer's body, as far as a reader reads it.
#[derive(Deserialize)]
struct PollBody {
    msg: Vec<Id>,
    /// Exercise 05's and 07's answers say which life of the store they are from.
    epoch: Option<u64>,
}

#[derive(Deserialize)]
struct Id {
    id: u64,
}

/// One reader: a page with its own name and its own kept-alive connection.
struct Reader {
    n: usize,
    port: u16,
    tally: Arc<Tally>,
    /// The newest message id it has: a message is new to it past this.
    newest: u64,
    link: Option<TcpStream>,
    buffer: Vec<u8>,
    started: bool,
}

impl Reader {
    fn new(n: usize, port: u16, tally: Arc<Tally>) -> Reader {
        Reader { n, port, tally, newest: 0, link: None, buffer: Vec::with_capacity(8192), started: false }
    }

    /// The page's name for the server, as exercise 05's client makes one.
    fn name(&self) -> String {
        format!("page-{}", self.n)
    }

    fn host(&self) -> String {
        format!("host: 127.0.0.1:{}\r\n", self.port)
    }

    /// The loopback address this reader connects from: 127.0.0.2 for the
    /// first five, then 127.0.0.3, and so on (127.0.0.1 is the poster's).
    fn address(&self) -> Ipv4Addr {
        let k = 2 + self.n / READERS_PER_ADDRESS;
        Ipv4Addr::new(127, 0, (k / 256) as u8, (k % 256) as u8)
    }

    /// The first answer came: the reader is one of the crowd.
    fn mark_started(&mut self) {
        if !self.started {
            self.started = true;
            self.tally.started.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The reader's connection, opened again if the last one broke.
    async fn connection(&mut self) -> std::io::Result<&mut TcpStream> {
        if self.link.is_none() {
            self.link = Some(connect_from(self.address(), self.port).await?);
        }
        Ok(self.link.as_mut().expect("just opened"))
    }

    /// Send `request` on the kept-alive connection and read its answer whole
    /// into the buffer; `None` (counted as a failure) if the connection broke.
    async fn ask(&mut self, request: &str) -> Option<benchmarks::Answer> {
        self.tally.sent(request);
        let mut buffer = std::mem::take(&mut self.buffer);
        let answer = async {
            let stream = self.connection().await?;
            stream.write_all(request.as_bytes()).await?;
            read_answer(stream, &mut buffer).await
        }
        .await;
        self.buffer = buffer;
        match answer {
            Ok(answer) => {
                // The buffer holds this answer, head and body, and nothing else.
                self.tally.received(self.buffer.len());
                self.mark_started();
                Some(answer)
            }
            Err(_) => {
                self.link = None;
                self.tally.failed();
                None
            }
        }
    }

    /// Read a poll answer's body: tell the tally which messages are new to
    /// this reader, and return the answer's epoch.
    fn take_messages(&mut self, body: std::ops::Range<usize>) -> Option<u64> {
        let Ok(body) = serde_json::from_slice::<PollBody>(&self.buffer[body]) else {
            self.tally.failed();
            return None;
        };
        let new: Vec<u64> = body.msg.iter().map(|m| m.id).filter(|&id| id > self.newest).collect();
        self.got(&new);
        body.epoch
    }

    fn got(&mut self, ids: &[u64]) {
        if let Some(&newest) = ids.iter().max() {
            self.newest = newest;
            self.tally.saw(ids);
        }
    }
}

/// Exercise 02's client: `GET /poll`, the whole chat, 3 s after each answer.
async fn interval(mut reader: Reader) {
    let request = format!("GET /poll HTTP/1.1\r\n{}\r\n", reader.host());
    loop {
        match reader.ask(&request).await {
            Some(answer) if answer.status == 200 => {
                reader.take_messages(answer.body);
            }
            Some(_) => reader.tally.failed(),
            None => {}
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Exercise 05's client, 3 s after each answer: `GET /poll`, then
/// `?since=&epoch=` from the newest message it has, named by `x-client-id`.
/// The browser's HTTP cache adds `If-None-Match`: the answers say
/// `no-cache`, so the browser keeps each one and asks again with its tag
/// when the page polls the same URL, which it does until a message moves the
/// cursor (the first poll at a new URL has nothing cached to name).
async fn cursor(mut reader: Reader) {
    let mut epoch: Option<u64> = None;
    // The cached answer: its URL and its entity tag.
    let mut cached: Option<(String, String)> = None;
    loop {
        let path = match epoch {
            None => "/poll".to_owned(),
            Some(epoch) => format!("/poll?since={}&epoch={epoch}", reader.newest),
        };
        let revalidate = match &cached {
            Some((url, tag)) if *url == path => format!("if-none-match: {tag}\r\n"),
            _ => String::new(),
        };
        let request =
            format!("GET {path} HTTP/1.1\r\n{}x-client-id: {}\r\n{revalidate}\r\n", reader.host(), reader.name());
        match reader.ask(&request).await {
            Some(answer) if answer.status == 200 => {
                epoch = reader.take_messages(answer.body.clone()).or(epoch);
                cached = answer.etag.map(|tag| (path, tag));
            }
            Some(answer) if answer.status == 304 => {}
            Some(_) => reader.tally.failed(),
            None => {}
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Exercise 07's client: `GET /poll?wait=25`, then with the cursor, asked
/// again the moment each answer comes. No `If-None-Match`: the client asks
/// with `cache: "no-store"`.
async fn long_polling(mut reader: Reader) {
    let mut epoch: Option<u64> = None;
    loop {
        let path = match epoch {
            None => format!("/poll?wait={WAIT_SECONDS}"),
            Some(epoch) => format!("/poll?since={}&epoch={epoch}&wait={WAIT_SECONDS}", reader.newest),
        };
        let request = format!("GET {path} HTTP/1.1\r\n{}x-client-id: {}\r\n\r\n", reader.host(), reader.name());
        match reader.ask(&request).await {
            Some(answer) if answer.status == 200 => epoch = reader.take_messages(answer.body).or(epoch),
            // A refusal or a broken connection (counted by `ask`): not
            // expected here; wait a moment, as the client's backoff would,
            // rather than spin.
            answer => {
                if answer.is_some() {
                    reader.tally.failed();
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Exercise 08's client: one `EventSource` on `/events?client=<name>` (it
/// cannot send `x-client-id`), with the headers a browser's `EventSource`
/// sends, and `Last-Event-ID` when it connects again after a break.
async fn stream(mut reader: Reader) {
    let mut last_event_id: Option<String> = None;
    loop {
        let resume = last_event_id.as_ref().map(|id| format!("last-event-id: {id}\r\n")).unwrap_or_default();
        let request = format!(
            "GET /events?client={} HTTP/1.1\r\n{}accept: text/event-stream\r\ncache-control: no-cache\r\n{resume}\r\n",
            reader.name(),
            reader.host()
        );
        // A stream ends only when something broke: count it, and connect
        // again after about the `retry:` the server gives (1 to 6 s).
        let _ = listen(&mut reader, &request, &mut last_event_id).await;
        reader.link = None;
        reader.tally.failed();
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

/// Open the stream with `request` and read its events until it ends.
async fn listen(reader: &mut Reader, request: &str, last_event_id: &mut Option<String>) -> std::io::Result<()> {
    reader.tally.sent(request);
    let tally = reader.tally.clone();
    let stream = reader.connection().await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::with_capacity(4096);
    let status = read_head(stream, &mut raw, &tally).await?;
    reader.mark_started();
    if status != 200 {
        return Err(std::io::ErrorKind::ConnectionRefused.into());
    }
    let mut text = Vec::new();
    loop {
        let ended = dechunk(&mut raw, &mut text);
        let ids: Vec<String> = message_event_ids(&mut text);
        let messages: Vec<u64> = ids.iter().filter_map(|id| id.split_once('-')?.1.parse().ok()).collect();
        let new: Vec<u64> = messages.into_iter().filter(|&id| id > reader.newest).collect();
        reader.got(&new);
        if let Some(id) = ids.last() {
            *last_event_id = Some(id.clone());
        }
        if ended {
            return Ok(());
        }
        let stream = reader.link.as_mut().expect("the stream's connection");
        let n = stream.read_buf(&mut raw).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        tally.received(n);
    }
}

/// Read up to the end of a response's head; leave what came after it in
/// `buffer`, and return the status.
async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>, tally: &Tally) -> std::io::Result<u16> {
    loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            let status = std::str::from_utf8(&buffer[9.min(end)..12.min(end)]).ok().and_then(|s| s.parse().ok());
            buffer.drain(..end + 4);
            return Ok(status.unwrap_or(0));
        }
        let n = stream.read_buf(buffer).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        tally.received(n);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// Move the data of each complete chunk at the front of `raw` (HTTP/1.1's
/// chunked coding, which an answer of unknown length comes in) to `data`.
/// True once the last chunk (size 0) has come, or the coding is garbled.
fn dechunk(raw: &mut Vec<u8>, data: &mut Vec<u8>) -> bool {
    let mut at = 0;
    let ended = loop {
        let Some(line) = find(&raw[at..], b"\r\n") else { break false };
        let size_text = String::from_utf8_lossy(&raw[at..at + line]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16) else {
            break true;
        };
        let start = at + line + 2;
        if size == 0 {
            break true;
        }
        if raw.len() < start + size + 2 {
            break false;
        }
        data.extend_from_slice(&raw[start..start + size]);
        at = start + size + 2;
    };
    raw.drain(..at);
    ended
}

/// Take the complete events off the front of `text` (the event stream
/// format: a field a line, an empty line after each event) and return the
/// ids of those a page's `onmessage` hears: with data, and no `event:` type
/// (a `reset`). The `retry:` and the keep-alive comments carry no message.
fn message_event_ids(text: &mut Vec<u8>) -> Vec<String> {
    let mut ids = Vec::new();
    while let Some(end) = find(text, b"\n\n") {
        let event = String::from_utf8_lossy(&text[..end]).into_owned();
        text.drain(..end + 2);
        let field = |name: &str| {
            event.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':').map(|v| v.trim_start().to_owned()))
        };
        if let (Some(id), Some(_), None) = (field("id"), field("data"), field("event")) {
            ids.push(id);
        }
    }
    ids
}

/// Start `readers` readers of `technique`, each at a random moment within
/// the technique's spread.
fn spawn_readers(
    technique: Technique,
    readers: usize,
    port: u16,
    tally: &Arc<Tally>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..readers)
        .map(|n| {
            let reader = Reader::new(n, port, tally.clone());
            let start = technique.spread().mul_f64(fastrand::f64());
            tokio::spawn(async move {
                tokio::time::sleep(start).await;
                match technique {
                    Technique::Interval => interval(reader).await,
                    Technique::Cursor => cursor(reader).await,
                    Technique::LongPolling => long_polling(reader).await,
                    Technique::Sse => stream(reader).await,
                }
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The poster, and one run
// ---------------------------------------------------------------------------

/// Post a message as a client of its own, on a connection of its own (so
/// the rate limit counts no post against another), from 127.0.0.1. Returns
/// when it was sent and the id the server gave it.
async fn post(port: u16, client: &str, text: &str) -> (Instant, u64) {
    let body = serde_json::json!({ "user": "poster", "text": text }).to_string();
    let request = format!(
        "POST /poll HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nx-client-id: {client}\r\ncontent-type: \
         application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let sent = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("the server accepts");
    stream.write_all(request.as_bytes()).await.expect("the post is sent");
    let mut buffer = Vec::new();
    let answer = read_answer(&mut stream, &mut buffer).await.expect("an answer to the post");
    let said = String::from_utf8_lossy(&buffer);
    assert_eq!(answer.status, 201, "a post was not stored: {said}");
    let stored: Id = serde_json::from_slice(&buffer[answer.body]).expect("the stored message");
    (sent, stored.id)
}

/// How big a run is.
#[derive(Clone, Copy)]
struct Plan {
    readers: usize,
    idle: Duration,
    posts: usize,
}

/// What one run measured: a row of the table.
struct Row {
    technique: Technique,
    idle: Idle,
    posting: Posting,
    /// Deliveries had every reader got every post.
    expected: u64,
    failures: u64,
}

/// What the idle phase measured, per reader.
struct Idle {
    requests_per_minute: f64,
    bytes_per_minute: f64,
    /// The server's CPU time, in µs a minute.
    cpu_us_per_minute: f64,
    kib_per_reader: f64,
}

/// What the posting phase measured.
struct Posting {
    bytes_per_delivery: f64,
    cpu_us_per_delivery: f64,
    /// Post → the last reader has it, in ms, for each post, sorted.
    last_reader_ms: Vec<f64>,
    delivered: u64,
}

/// One technique on its own server: a chat with history, the readers, the
/// idle phase, the posting phase.
async fn measure(server: &ServerProcess, technique: Technique, plan: Plan) -> Row {
    let (port, pid) = (server.port, server.pid());
    for n in 1..=HISTORY {
        post(port, &format!("history-{n}"), &format!("an earlier line of chat, number {n}, as long as most")).await;
    }
    // What the readers cost the server is its growth from here.
    let (_, rss_before) = process_usage(pid);
    let tally = Arc::new(Tally::default());
    let readers = spawn_readers(technique, plan.readers, port, &tally);
    until_started(&tally, plan.readers, technique.spread() + Duration::from_secs(30)).await;
    let idle = idle(&tally, pid, plan, rss_before).await;
    let posting = posting(&tally, port, pid, plan).await;
    for reader in readers {
        reader.abort();
    }
    let expected = (plan.posts * plan.readers) as u64;
    Row { technique, idle, posting, expected, failures: tally.failures.load(Ordering::Relaxed) }
}

/// No posts for `plan.idle`: what the readers ask, and what they cost the
/// server's memory once all are there (`rss_before`: before they came).
async fn idle(tally: &Tally, pid: u32, plan: Plan, rss_before: u64) -> Idle {
    let ((cpu, _), (requests, bytes)) = (process_usage(pid), tally.totals());
    tokio::time::sleep(plan.idle).await;
    let ((cpu_after, rss), (requests_after, bytes_after)) = (process_usage(pid), tally.totals());
    let minutes = plan.idle.as_secs_f64() / 60.0;
    let per_reader_minute = |count: u64| count as f64 / plan.readers as f64 / minutes;
    Idle {
        requests_per_minute: per_reader_minute(requests_after - requests),
        bytes_per_minute: per_reader_minute(bytes_after - bytes),
        cpu_us_per_minute: per_reader_minute(cpu_after - cpu),
        kib_per_reader: rss.saturating_sub(rss_before) as f64 / plan.readers as f64,
    }
}

/// `plan.posts` posts, one a second, then until the last reader has the
/// last one: what each delivery costs, and how late the last reader is.
async fn posting(tally: &Tally, port: u16, pid: u32, plan: Plan) -> Posting {
    let ((cpu, _), (_, bytes)) = (process_usage(pid), tally.totals());
    let started = Instant::now();
    let mut posted = Vec::with_capacity(plan.posts);
    for k in 0..plan.posts {
        tokio::time::sleep_until((started + Duration::from_secs(k as u64)).into()).await;
        let text = format!("a new line of chat, number {k}, as long as most");
        posted.push(post(port, &format!("poster-{k}"), &text).await);
    }
    until_delivered(tally, posted.last().map_or(0, |&(_, id)| id), plan.readers).await;
    let ((cpu_after, _), (_, bytes_after)) = (process_usage(pid), tally.totals());

    let seen = tally.seen.lock().unwrap().clone();
    let delivered: u64 = posted.iter().map(|(_, id)| seen.get(id).map_or(0, |s| s.readers as u64)).sum();
    let mut last_reader_ms: Vec<f64> = posted
        .iter()
        .filter_map(|(at, id)| seen.get(id).map(|s| s.last.duration_since(*at).as_secs_f64() * 1000.0))
        .collect();
    last_reader_ms.sort_by(f64::total_cmp);
    let per_delivery = |amount: u64| amount as f64 / delivered.max(1) as f64;
    Posting {
        bytes_per_delivery: per_delivery(bytes_after - bytes),
        cpu_us_per_delivery: per_delivery(cpu_after - cpu),
        last_reader_ms,
        delivered,
    }
}

/// Wait until every reader has had its first answer.
async fn until_started(tally: &Tally, readers: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while tally.started.load(Ordering::Relaxed) < readers {
        let started = tally.started.load(Ordering::Relaxed);
        assert!(Instant::now() < deadline, "{started} of {readers} readers had an answer after {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Wait until every reader has message `id`, or [`DELIVERY_DEADLINE`] has passed.
async fn until_delivered(tally: &Tally, id: u64, readers: usize) {
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    while tally.readers_with(id) < readers && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A delay, in the unit that reads best.
fn delay(ms: f64) -> String {
    match ms {
        ms if ms.is_nan() => "–".to_owned(),
        ms if ms >= 1000.0 => format!("{:.2} s", ms / 1000.0),
        ms if ms >= 10.0 => format!("{ms:.0} ms"),
        ms => format!("{ms:.1} ms"),
    }
}

fn table(rows: &[Row], plan: Plan, command: &str, pinned: bool) -> String {
    let cores = benchmarks::cores();
    let pinning = if pinned { ", each server pinned to one core and the readers to the other" } else { "" };
    let mut table = format!(
        "Measured with `{command}` on a machine with {cores} cores{pinning}: {} readers of a chat that holds {HISTORY} \
         messages, each technique on a fresh server process; {} s idle, then {} posts, one a second. Bytes are HTTP \
         as the readers sent and received it (without a browser's own headers, or TCP/IP's); a delivered message is \
         one message reaching one reader.\n\n\
         | Technique | Requests a minute per idle reader | Bytes per delivered message | Server memory per reader | \
         Server CPU per delivered message | Post → last reader, p50 | p99 |\n|---|---|---|---|---|---|---|\n",
        thousands(plan.readers as u64),
        plan.idle.as_secs(),
        plan.posts,
    );
    for row in rows {
        table.push_str(&table_row(row));
    }
    for row in rows.iter().filter(|row| row.posting.delivered < row.expected) {
        table.push_str(&format!(
            "\n{}: {} of {} deliveries came within {} s of the last post.\n",
            row.technique.title(),
            thousands(row.posting.delivered),
            thousands(row.expected),
            DELIVERY_DEADLINE.as_secs()
        ));
    }
    table
}

fn table_row(Row { technique, idle, posting, .. }: &Row) -> String {
    let delays = &posting.last_reader_ms;
    let (p50, p99) =
        if delays.is_empty() { (f64::NAN, f64::NAN) } else { (percentile(delays, 0.50), percentile(delays, 0.99)) };
    format!(
        "| {} | {:.1} | {} B | {:.1} KiB | {:.1} µs | {} | {} |\n",
        technique.title(),
        idle.requests_per_minute,
        thousands(posting.bytes_per_delivery.round() as u64),
        idle.kib_per_reader,
        posting.cpu_us_per_delivery,
        delay(p50),
        delay(p99),
    )
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

/// The four techniques compared (see the module's documentation).
#[derive(clap::Parser)]
#[command(
    about = "Interval polling, the cursor and ETag, long polling and Server-Sent Events, compared under 1,000 readers"
)]
struct Args {
    /// How many readers each technique has [default: 1000, or 200 with --quick].
    #[arg(long)]
    readers: Option<usize>,
    /// How long the idle phase lasts, in seconds [default: 30, or 3 with --quick].
    #[arg(long)]
    idle_seconds: Option<u64>,
    /// How many messages the posting phase posts, one a second [default: 30, or 3 with --quick].
    #[arg(long)]
    posts: Option<usize>,
    /// A short run, to prove the benchmark works (about a minute).
    #[arg(long)]
    quick: bool,
    /// Only these techniques, separated by commas.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Technique>,
    /// Where to write the table [default: book/src/figures/08-comparison.md].
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Be the server for this technique (the benchmark starts itself again with this).
    #[arg(long, value_enum, hide = true)]
    serve: Option<Technique>,
}

impl Args {
    fn plan(&self) -> Plan {
        let (readers, idle, posts) = if self.quick { (200, 3, 3) } else { (1_000, 30, 30) };
        Plan {
            readers: self.readers.unwrap_or(readers),
            idle: Duration::from_secs(self.idle_seconds.unwrap_or(idle)),
            posts: self.posts.unwrap_or(posts),
        }
    }

    /// The command that ran, for the table's first line (without `--out`).
    fn command(&self) -> String {
        let mut flags = Vec::new();
        if self.quick {
            flags.push("--quick".to_owned());
        }
        if let Some(readers) = self.readers {
            flags.push(format!("--readers {readers}"));
        }
        if let Some(idle) = self.idle_seconds {
            flags.push(format!("--idle-seconds {idle}"));
        }
        if let Some(posts) = self.posts {
            flags.push(format!("--posts {posts}"));
        }
        if !self.only.is_empty() {
            let only: Vec<String> = self.only.iter().map(|t| t.arg()).collect();
            flags.push(format!("--only {}", only.join(",")));
        }
        let command = "cargo run --release -p benchmarks --bin compare".to_owned();
        if flags.is_empty() { command } else { format!("{command} -- {}", flags.join(" ")) }
    }
}

fn main() {
    let args: Args = clap::Parser::parse();
    if let Some(technique) = args.serve {
        return serve(technique);
    }
    let plan = args.plan();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let out = args.out.clone().unwrap_or_else(|| root.join("book/src/figures/08-comparison.md"));
    // Each reader is a socket here and one in the server.
    let files = raise_open_files_limit();
    if plan.readers as u64 + 100 > files {
        eprintln!("error: {} readers need more open files than this process may have ({files})", plan.readers);
        std::process::exit(1);
    }
    let techniques = if args.only.is_empty() { Technique::ALL.to_vec() } else { args.only.clone() };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let started = Instant::now();
    let (mut rows, mut pinned) = (Vec::new(), false);
    for (i, &technique) in techniques.iter().enumerate() {
        eprintln!(
            "[{}/{}, {:.0} s so far] {}: {} readers, {} s idle, {} posts…",
            i + 1,
            techniques.len(),
            started.elapsed().as_secs_f64(),
            technique.title(),
            plan.readers,
            plan.idle.as_secs(),
            plan.posts
        );
        // A fresh server for each: memory one technique freed, and CPU time
        // it spent, would otherwise count in the next one's.
        let server = ServerProcess::start_with(&[&technique.arg()]);
        pinned = server.pinned;
        let row = runtime.block_on(measure(&server, technique, plan));
        eprintln!(
            "  idle, per reader: {:.0} bytes and {:.0} µs of server CPU a minute; {} failures (refused or broken)",
            row.idle.bytes_per_minute, row.idle.cpu_us_per_minute, row.failures
        );
        rows.push(row);
    }
    let table = table(&rows, plan, &args.command(), pinned);
    std::fs::write(&out, &table).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    print!("{table}");
    eprintln!("wrote {} in {:.0} s", out.display(), started.elapsed().as_secs_f64());
}
