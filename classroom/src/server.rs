//! The class server: exercise 08's chat for the whole room, with the room
//! watching every learner's requests and the instructor's mode in front.
//!
//! - `/poll`, `/events` and the page: exercise 08's app (exercise 07's long
//!   polls, and 08's streams of Server-Sent Events). A request the join
//!   proxy tagged with a learner's name is recorded in the [`Room`]; the
//!   mode the instructor set decides whether it reaches the chat, late, or
//!   not at all. A stream is passed on frame by frame ([`Streamed`]), each
//!   event it carries a tick on its record, and a restart or the server
//!   going down breaks it, as it breaks held polls.
//! - `/class`: the dashboard for the projector, and `/class/feed`, the long
//!   poll that keeps it up to date.
//! - `/class/report`: what a learner's page (hidden, shown, threw) and their
//!   `check` (passed, run, done) say.
//! - `/class/control`: the instructor's controls; only with the key.

use crate::control::{Control, DOWN_RETRY_AFTER_SECONDS, Key, MAX_EXERCISE, Mode, TIGHT_EVERY_SECONDS};
use crate::room::{Feed, PageSaid, Progress, Refusal, Room, SignalKind, Tag};
use crate::rules::PageEvent;
use crate::tag;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Query, Request, State, rejection::QueryRejection};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_page::serve::CloseConnection;
use hyper::body::{Body as HttpBody, Frame};
use poll_endpoint::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

// ANCHOR: limits
/// The longest a dashboard's feed request is held when nothing changes.
pub const FEED_WAIT_SECONDS: u64 = 25;

/// How many dashboards may wait for news at once; more get 503.
pub const MAX_DASHBOARDS: usize = 16;

/// The largest report or control body: a few fields of JSON.
pub const MAX_CLASS_BODY_BYTES: usize = 4 * 1024;
// ANCHOR_END: limits

/// The header that carries the instructor's key.
pub const KEY_HEADER: &str = "x-class-key";

/// The chat the room uses: exercise 08's app, and how to answer every
/// request it holds and end every stream (on Ctrl-C).
#[derive(Clone)]
pub struct Chat {
    pub app: Router,
    pub stop: Arc<dyn Fn() + Send + Sync>,
}

/// Makes a new chat: at the start, and at each restart.
pub type MakeChat = Box<dyn Fn() -> Result<Chat, String> + Send + Sync>;

/// What the instructor has set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings {
    pub mode: Mode,
    /// Each client told to wait gets its own `Retry-After`, not everyone the same.
    pub spread: bool,
}

pub struct ClassServer {
    pub room: Arc<Room>,
    key: Key,
    settings: Mutex<Settings>,
    chat: RwLock<Chat>,
    make_chat: MakeChat,
    restarts: watch::Sender<u64>,
    /// What a restart does to the chat, for the marker: in memory, a new
    /// one; on Redis, the same messages and epoch.
    restart_says: &'static str,
    /// Moves on each time the server goes down: held requests go down too.
    downs: watch::Sender<u64>,
    dashboards: Arc<Semaphore>,
    /// For flaky answers and spread waits; seeded in tests.
    random: Mutex<fastrand::Rng>,
}

impl ClassServer {
    /// A class server on the chat `make_chat` makes.
    pub fn new(key: Key, make_chat: MakeChat) -> Result<Arc<ClassServer>, String> {
        ClassServer::seeded(key, make_chat, fastrand::u64(..))
    }

    /// The same, its flaky answers and spread waits drawn from `seed`, so a
    /// test sees the same ones every run.
    pub fn seeded(key: Key, make_chat: MakeChat, seed: u64) -> Result<Arc<ClassServer>, String> {
        ClassServer::with(key, make_chat, seed, "restarted: a new chat (a new epoch), held requests and streams broken")
    }

    /// The same on a chat kept in Redis: a restart keeps its messages and
    /// its epoch, and breaks the held requests and the streams.
    pub fn on_redis(key: Key, make_chat: MakeChat) -> Result<Arc<ClassServer>, String> {
        let says =
            "restarted: held requests and streams broken (the chat is in Redis: the same messages, the same epoch)";
        ClassServer::with(key, make_chat, fastrand::u64(..), says)
    }

    fn with(key: Key, make_chat: MakeChat, seed: u64, restart_says: &'static str) -> Result<Arc<ClassServer>, String> {
        let chat = make_chat()?;
        Ok(Arc::new(ClassServer {
            room: Arc::new(Room::new()),
            key,
            settings: Mutex::default(),
            chat: RwLock::new(chat),
            make_chat,
            restarts: watch::Sender::new(0),
            restart_says,
            downs: watch::Sender::new(0),
            dashboards: Arc::new(Semaphore::new(MAX_DASHBOARDS)),
            random: Mutex::new(fastrand::Rng::with_seed(seed)),
        }))
    }

    pub fn settings(&self) -> Settings {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Answer every request the chat holds, and end its streams (the
    /// server is stopping).
    pub fn stop(&self) {
        let chat = self.chat.read().unwrap_or_else(|p| p.into_inner()).clone();
        (chat.stop)();
    }

    /// Do what the instructor asked; say what changed.
    pub async fn control(&self, control: Control) -> Result<String, String> {
        if let Some(mode) = control.mode()? {
            self.settings.lock().unwrap_or_else(|p| p.into_inner()).mode = mode;
            if let Mode::Down { .. } = mode {
                // A server that goes down takes its held requests (and
                // its streams) with it.
                self.downs.send_modify(|n| *n += 1);
            }
            self.room.marker(mode.to_string());
            return Ok(mode.to_string());
        }
        match control {
            Control::Restart => {
                let chat = (self.make_chat)()?;
                *self.chat.write().unwrap_or_else(|p| p.into_inner()) = chat;
                // Every request the old chat holds is broken off.
                self.restarts.send_modify(|n| *n += 1);
                self.room.marker(self.restart_says.to_owned());
                Ok(self.restart_says.to_owned())
            }
            Control::RetryAfter { spread } => {
                self.settings.lock().unwrap_or_else(|p| p.into_inner()).spread = spread;
                let said = if spread {
                    "Retry-After spread: each client told to wait gets its own time"
                } else {
                    "Retry-After the same for everyone"
                };
                self.room.marker(said.to_owned());
                Ok(said.to_owned())
            }
            Control::Post { text } => {
                let body = json!({ "user": "instructor", "text": text }).to_string();
                let request = Request::post("/poll")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header("x-client-id", "instructor")
                    .body(Body::from(body))
                    .expect("a valid request");
                let response = self.forward(request).await;
                let status = response.status();
                if status == StatusCode::CREATED {
                    self.room.marker("the instructor posted".to_owned());
                    return Ok("posted".to_owned());
                }
                let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
                Err(format!("the chat answered {status}: {}", String::from_utf8_lossy(&bytes)))
            }
            Control::Exercise { number: number @ 1..=MAX_EXERCISE } => {
                self.room.set_exercise(number);
                let said = format!("the room is on exercise {number:02}");
                self.room.marker(said.clone());
                Ok(said)
            }
            Control::Exercise { .. } => Err(format!("an exercise is numbered 1 to {MAX_EXERCISE}")),
            Control::ClearFlags => {
                self.room.clear_flags();
                self.room.marker("flags cleared".to_owned());
                Ok("flags cleared".to_owned())
            }
            Control::ClearSignal { name } if self.room.clear_signal(&name) => Ok(format!("{name}'s signal cleared")),
            Control::Remove { name } if self.room.remove(&name) => Ok(format!("{name} removed")),
            Control::ClearSignal { name } | Control::Remove { name } => Err(format!("no learner named {name:?}")),
            _ => unreachable!("the controls that set a mode returned above"),
        }
    }

    /// A request into the current chat. A restart breaks it off (its
    /// connection is closed, as when a server process goes away), and so
    /// does the server going down while the chat holds it: it gets what
    /// "down" answers.
    async fn forward(&self, request: Request) -> Response {
        let chat = self.chat.read().unwrap_or_else(|p| p.into_inner()).clone();
        let (mut restarted, mut downed) = (self.restarts.subscribe(), self.downs.subscribe());
        tokio::select! {
            response = chat.app.oneshot(request) => response.unwrap_or_else(|never| match never {}),
            _ = restarted.changed() => closed(),
            _ = downed.changed() => self.down(),
        }
    }

    /// Ready when the class server restarts or goes down from now on: a
    /// stream then breaks, as the held requests do.
    fn breaks(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let (mut restarted, mut downed) = (self.restarts.subscribe(), self.downs.subscribe());
        Box::pin(async move {
            tokio::select! {
                _ = restarted.changed() => {}
                _ = downed.changed() => {}
            }
        })
    }

    /// What a request gets while the server is down.
    fn down(&self) -> Response {
        match self.settings() {
            Settings { mode: Mode::Down { close: false }, spread } => with_retry_after(
                error(StatusCode::SERVICE_UNAVAILABLE, "the class server is down (the instructor's doing)"),
                self.retry_after(DOWN_RETRY_AFTER_SECONDS, spread),
            ),
            _ => closed(),
        }
    }
}

/// The class server's routes.
pub fn router(server: Arc<ClassServer>) -> Router {
    Router::new()
        .route("/", get(join_page))
        .route("/chat", get(chat_page_at_root))
        .route("/class", get(|| async { page(crate::DASHBOARD_HTML, "text/html") }))
        .route("/class/dashboard.js", get(|| async { page(crate::DASHBOARD_JS, "text/javascript") }))
        .route("/class/dashboard.css", get(|| async { page(crate::DASHBOARD_CSS, "text/css") }))
        .route("/class/report.js", get(|| async { page(crate::REPORT_JS, "text/javascript") }))
        .route("/class/feed", get(feed))
        .route("/class/room", get(room_exercise))
        .route("/class/report", post(report))
        .route("/class/control", post(control))
        .layer(DefaultBodyLimit::max(MAX_CLASS_BODY_BYTES))
        .fallback(chat)
        .with_state(server)
}

/// `GET /`: what the projector shows while the room comes in: the one
/// command to type, with this server's address as the browser reached it.
async fn join_page(headers: HeaderMap) -> Response {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("<this address>");
    let command = chat_page::escape_html(&format!("cargo run -- join http://{host} --name \"Your Name\""));
    let html = crate::JOIN_HTML.replace("{command}", &command);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], html).into_response()
}

/// `GET /chat`: the class chat's own page (its `/`), to read along.
async fn chat_page_at_root(State(server): State<Arc<ClassServer>>) -> Response {
    server.forward(Request::get("/").body(Body::empty()).expect("a request")).await
}

fn page(body: &'static str, kind: &str) -> Response {
    let kind = HeaderValue::from_str(&format!("{kind}; charset=utf-8")).expect("a content type");
    // The dashboard is the class server's own: no cache to go stale between versions.
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))], body)
        .into_response()
}

/// An error answer in the course's shape: `{"error": "..."}`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError { status, message: message.into() }.into_response()
}

fn with_retry_after(mut response: Response, seconds: u32) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// No answer: the connection is closed (see [`CloseConnection`]).
pub fn closed() -> Response {
    let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
    response.extensions_mut().insert(CloseConnection);
    response
}

impl ClassServer {
    /// How long a client told to wait should wait: `base` for everyone,
    /// or, spread, anywhere from half of it to half as much again.
    fn retry_after(&self, base: u32, spread: bool) -> u32 {
        if !spread {
            return base;
        }
        self.random.lock().unwrap_or_else(|p| p.into_inner()).u32(base / 2..=base + base / 2).max(1)
    }

    /// Whether this answer is one of flaky mode's `percent` failures.
    fn fails(&self, percent: u8) -> bool {
        self.random.lock().unwrap_or_else(|p| p.into_inner()).u8(0..100) < percent
    }

    /// `wait` and up to as much again, spread.
    fn spread(&self, wait: u32) -> u32 {
        wait + self.random.lock().unwrap_or_else(|p| p.into_inner()).u32(0..=wait)
    }
}

/// A learner's request, recorded until it is answered; if the client hangs
/// up first, it is recorded as given up on.
struct Pending {
    room: Arc<Room>,
    ticket: Option<crate::room::Ticket>,
}

impl Pending {
    /// The answer is a stream, and it has begun: the record stays open,
    /// and the stream's body keeps the ticket to say when it ends.
    fn streaming(mut self) -> Option<(Arc<Room>, crate::room::Ticket)> {
        let ticket = self.ticket.take()?;
        self.room.opened(ticket);
        Some((self.room.clone(), ticket))
    }

    fn answered(mut self, response: &Response) {
        if let Some(ticket) = self.ticket.take() {
            let status = response.extensions().get::<CloseConnection>().is_none().then(|| response.status().as_u16());
            let retry_after =
                response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
            let held = response.extensions().get::<limits::rate_limit::WasHeld>().is_some();
            self.room.finish(ticket, status, retry_after, held);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.room.hung_up(ticket);
        }
    }
}

/// The chat's stream of Server-Sent Events (exercise 08).
pub const EVENTS_PATH: &str = "/events";

/// Everything that is not `/class`: the chat, behind the mode.
async fn chat(State(server): State<Arc<ClassServer>>, mut request: Request) -> Response {
    server.room.count_request();
    let learner = match tag::of(request.headers()) {
        Ok(learner) => learner,
        Err(problem) => return error(StatusCode::BAD_REQUEST, problem),
    };
    let stream = request.uri().path() == EVENTS_PATH;
    if request.uri().path() != "/poll" && !stream {
        return server.forward(request).await; // the page and its files
    }
    let post = request.method() == Method::POST;
    if let Some(learner) = &learner {
        let (load, events) = page_log(request.headers(), post);
        if let Some(load) = load {
            server.room.page_log(learner, &load, events);
        }
    }
    if let Some(learner) = &learner {
        name_the_client(&mut request, learner);
    }
    let long = limits::rate_limit::asks_to_wait(request.uri());
    let ticket = match &learner {
        None => None,
        Some(learner) if stream => match server.room.admit_stream(learner) {
            Ok(ticket) => Some(ticket),
            Err(refusal) => return refused(refusal),
        },
        Some(learner) => match server.room.admit(learner, post, long) {
            Ok(ticket) => Some(ticket),
            Err(refusal) => return refused(refusal),
        },
    };
    // From here on, a restart or the server going down breaks a stream
    // (before its answer, `in_mode` sees to that).
    let breaks = stream.then(|| server.breaks());
    let pending = Pending { room: server.room.clone(), ticket };
    let response = in_mode(&server, learner.as_ref(), request).await;
    if let Some(breaks) = breaks.filter(|_| is_event_stream(response.status(), response.headers())) {
        let record = pending.streaming();
        return response.map(|body| Body::new(Streamed::new(body, breaks, record)));
    }
    pending.answered(&response);
    response
}

/// Whether an answer with this status and these headers is a stream:
/// `200`, `text/event-stream`.
pub fn is_event_stream(status: StatusCode, headers: &HeaderMap) -> bool {
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    status == StatusCode::OK
        && kind.split(';').next().is_some_and(|kind| kind.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// A stream's body on its way from the chat to a learner's page, passed on
/// frame by frame as the chat writes it. Each event in it is a tick on the
/// stream's record; a restart or the server going down breaks it off (the
/// page sees its connection break, and its `EventSource` connects again by
/// itself); its end, or the page hanging up, ends the record.
pub struct Streamed {
    body: Body,
    breaks: Pin<Box<dyn Future<Output = ()> + Send>>,
    events: EventCounter,
    /// The room's record of the stream, while it is open (a learner's).
    record: Option<(Arc<Room>, crate::room::Ticket)>,
    done: bool,
}

impl Streamed {
    fn new(
        body: Body,
        breaks: Pin<Box<dyn Future<Output = ()> + Send>>,
        record: Option<(Arc<Room>, crate::room::Ticket)>,
    ) -> Streamed {
        Streamed { body, breaks, events: EventCounter::default(), record, done: false }
    }

    /// The stream ended: by the server (`Some(200)`), or broken (`None`);
    /// the chat's side of it goes at once.
    fn end(&mut self, status: Option<u16>) {
        self.done = true;
        self.body = Body::empty();
        if let Some((room, ticket)) = self.record.take() {
            room.finish(ticket, status, None, false);
        }
    }
}

impl HttpBody for Streamed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if this.breaks.as_mut().poll(cx).is_ready() {
            this.end(None);
            return Poll::Ready(Some(Err(axum::Error::new("the class server restarted or went down"))));
        }
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some((room, ticket))) = (frame.data_ref(), &this.record) {
                    room.tick(*ticket, this.events.count(data));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(problem))) => {
                this.end(None);
                Poll::Ready(Some(Err(problem)))
            }
            Poll::Ready(None) => {
                this.end(Some(200));
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Streamed {
    /// Dropped before its end: the page hung up (closed its `EventSource`).
    fn drop(&mut self) {
        if let Some((room, ticket)) = self.record.take() {
            room.hung_up(ticket);
        }
    }
}

/// Counts the events in a stream of Server-Sent Events as its bytes pass,
/// in constant memory: a block of lines ended by an empty line is an event
/// when one of its lines is a `data` field (what makes a browser dispatch
/// it). A comment (`:`, the keep-alive) or a `retry:` alone is none. Lines
/// end with LF, or CRLF.
#[derive(Debug, Default)]
pub struct EventCounter {
    /// The current line's length so far, and its first five bytes.
    line: usize,
    start: [u8; 5],
    /// The current block has a `data` line.
    data: bool,
}

impl EventCounter {
    /// The events that `bytes`, the stream's next bytes, complete.
    pub fn count(&mut self, bytes: &[u8]) -> usize {
        let mut events = 0;
        for &byte in bytes {
            match byte {
                b'\r' => {}
                b'\n' if self.line == 0 => {
                    events += usize::from(self.data);
                    self.data = false;
                }
                b'\n' => {
                    let field = &self.start[..self.line.min(5)];
                    self.data |= field == b"data" || field == b"data:";
                    self.line = 0;
                }
                _ => {
                    if self.line < 5 {
                        self.start[self.line] = byte;
                    }
                    self.line += 1;
                }
            }
        }
        events
    }
}

/// A joined learner's client is limited as that learner: a request without
/// its own client id gets one made from the name `join` tagged it with.
/// Otherwise the chat's rate limit would count by address, and the clients
/// of exercises 02 to 04 (which send no id) of every learner on one machine,
/// or behind one router, would share one allowance.
fn name_the_client(request: &mut Request, learner: &Tag) {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let id = limits::rate_limit::CLIENT_ID_HEADER;
    if request.headers().contains_key(id) {
        return;
    }
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(&learner.name);
    let value = HeaderValue::from_str(&format!("learner-{hash:016x}")).expect("hex is a header value");
    request.headers_mut().insert(id, value);
}

/// The header with which a joined page's reporter marks each of its polls:
/// `<load> <n> <ms>`, its id for this page load, the poll's number since
/// the load, and the page's time when it called `fetch`.
pub const PAGE_HEADER: &str = "x-class-page";

/// The polls that settled since the page's last one: `<n>:<ms>:<how>:<retry
/// after>`, comma-separated; `how` is a status, `error` or `aborted`.
pub const SETTLED_HEADER: &str = "x-class-settled";

/// The most settled polls one header may carry.
const MAX_SETTLED: usize = 20;

/// What a poll's headers say of the page's own log.
fn page_log(headers: &HeaderMap, post: bool) -> (Option<String>, Vec<(u64, PageEvent)>) {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut events = settled(text(SETTLED_HEADER));
    let mut parts = text(PAGE_HEADER).split(' ');
    let (load, n, at) =
        (parts.next(), parts.next().and_then(|n| n.parse().ok()), parts.next().and_then(|t| t.parse().ok()));
    let load = load.filter(|load| !load.is_empty()).map(str::to_owned);
    if let (Some(n), Some(at)) = (n, at) {
        events.push((at, PageEvent::Sent { n, post }));
    }
    (load, events)
}

fn settled(text: &str) -> Vec<(u64, PageEvent)> {
    text.split(',')
        .take(MAX_SETTLED)
        .filter_map(|entry| {
            let mut fields = entry.trim().split(':');
            let n = fields.next()?.parse().ok()?;
            let at = fields.next()?.parse().ok()?;
            let how = fields.next()?;
            let retry_after = fields.next().and_then(|s| s.parse().ok());
            let (status, aborted) = match how {
                "error" => (None, false),
                "aborted" => (None, true),
                code => (Some(code.parse().ok()?), false),
            };
            Some((at, PageEvent::Settled { n, status, aborted, retry_after }))
        })
        .collect()
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Full => error(
            StatusCode::FORBIDDEN,
            format!("the room is full: {} learners have joined", crate::room::MAX_LEARNERS),
        ),
        Refusal::Flood => with_retry_after(
            error(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "more than {} requests in one second from your client: does something poll in a loop?",
                    crate::room::MAX_REQUESTS_PER_SECOND
                ),
            ),
            1,
        ),
    }
}

/// The request as the instructor's mode has it.
async fn in_mode(server: &ClassServer, learner: Option<&Tag>, request: Request) -> Response {
    let Settings { mode, spread } = server.settings();
    match mode {
        Mode::Normal => server.forward(request).await,
        Mode::Slow { seconds } => {
            let (mut restarted, mut downed) = (server.restarts.subscribe(), server.downs.subscribe());
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(seconds)) => server.forward(request).await,
                _ = restarted.changed() => closed(),
                // Going down reaches the requests being slowed too.
                _ = downed.changed() => server.down(),
            }
        }
        Mode::Down { .. } => server.down(),
        Mode::Flaky { percent } if server.fails(percent) => {
            error(StatusCode::INTERNAL_SERVER_ERROR, "the class server failed this request on purpose (flaky mode)")
        }
        Mode::Flaky { .. } => server.forward(request).await,
        Mode::Tight => {
            let wait = learner.and_then(|learner| server.room.tight(learner, u64::from(TIGHT_EVERY_SECONDS)));
            match wait {
                None => server.forward(request).await,
                Some(wait) => {
                    let wait = wait as u32;
                    let told = if spread { server.spread(wait) } else { wait };
                    with_retry_after(
                        error(
                            StatusCode::TOO_MANY_REQUESTS,
                            format!("tight rate limit: one request per {TIGHT_EVERY_SECONDS} s"),
                        ),
                        told,
                    )
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct FeedQuery {
    #[serde(default)]
    since: u64,
    #[serde(default)]
    wait: u64,
}

/// What the dashboard reads: the room, and the mode.
#[derive(Serialize)]
struct FeedAnswer {
    #[serde(flatten)]
    feed: Feed,
    mode: String,
    spread: bool,
}

/// `GET /class/feed?since=V&wait=S`: answered at once when the room has
/// moved on from version `V`, else held until it does (at most `S` s, at
/// most [`FEED_WAIT_SECONDS`]).
async fn feed(State(server): State<Arc<ClassServer>>, query: Result<Query<FeedQuery>, QueryRejection>) -> Response {
    let query = match query {
        Ok(Query(query)) => query,
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
    let mut version = server.room.watch();
    let current = *version.borrow_and_update();
    // A cursor from before the class server started again: start over.
    let since = if query.since > current { 0 } else { query.since };
    if current <= since && query.wait > 0 {
        let Ok(_permit) = server.dashboards.clone().try_acquire_owned() else {
            return with_retry_after(
                error(StatusCode::SERVICE_UNAVAILABLE, format!("{MAX_DASHBOARDS} dashboards are open already")),
                5,
            );
        };
        let wait = Duration::from_secs(query.wait.min(FEED_WAIT_SECONDS));
        let _ = tokio::time::timeout(wait, version.wait_for(|v| *v > since)).await;
    }
    let Settings { mode, spread } = server.settings();
    let answer = FeedAnswer { feed: server.room.feed(since), mode: mode.to_string(), spread };
    ([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response()
}

/// `POST /class/report`, from a tagged learner: from their page,
/// `{"kind": "loaded" | "hidden" | "shown", "load": ..., "at": ms,
/// "settled": ...}` (its load's id, its own time, and the polls settled
/// since its last, as in [`SETTLED_HEADER`]) or `{"kind": "threw", "text":
/// ...}`; from their check, `{"kind": "check", "passed": 3, "run": 5,
/// "done": false}`; from `hint`, `{"kind": "hint", "shown": 2}`; and their
/// own signal, `{"kind": "stuck"}` or `{"kind": "done"}`.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum Report {
    Loaded(Page),
    Hidden(Page),
    Shown(Page),
    Threw {
        #[serde(default)]
        text: String,
    },
    Check(Progress),
    /// From `hint`: the learner was shown hint `shown` of their exercise.
    Hint {
        shown: u32,
    },
    /// From the joined page's buttons or `cargo run -- signal`.
    Stuck,
    Done,
}

#[derive(Deserialize, Default)]
struct Page {
    #[serde(default)]
    load: String,
    #[serde(default)]
    at: Option<u64>,
    #[serde(default)]
    settled: String,
}

impl Page {
    /// Log it, with `event` at its time, in the page's log.
    fn log(self, room: &Room, learner: &Tag, event: Option<PageEvent>) {
        if self.load.is_empty() {
            return;
        }
        let mut events = settled(&self.settled);
        if let (Some(event), Some(at)) = (event, self.at) {
            events.push((at, event));
        }
        room.page_log(learner, &self.load, events);
    }
}

async fn report(State(server): State<Arc<ClassServer>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let learner = match tag::of(&headers) {
        Ok(Some(learner)) => learner,
        Ok(None) => return error(StatusCode::BAD_REQUEST, "a report needs the learner's name (join first)"),
        Err(problem) => return error(StatusCode::BAD_REQUEST, problem),
    };
    let report: Report = match serde_json::from_slice(&body) {
        Ok(report) => report,
        Err(problem) => return error(StatusCode::BAD_REQUEST, format!("not a report: {problem}")),
    };
    let room = &server.room;
    let done = match report {
        Report::Loaded(page) => {
            page.log(room, &learner, None);
            room.page_said(&learner, PageSaid::Loaded, None)
        }
        Report::Hidden(page) => {
            page.log(room, &learner, Some(PageEvent::Hidden));
            room.page_said(&learner, PageSaid::Hidden, None)
        }
        Report::Shown(page) => {
            page.log(room, &learner, Some(PageEvent::Shown));
            room.page_said(&learner, PageSaid::Shown, None)
        }
        Report::Threw { text } => room.page_said(&learner, PageSaid::Threw, Some(&text)),
        Report::Check(progress) => room.progress(&learner, progress),
        Report::Hint { shown } => room.hint(&learner, shown),
        Report::Stuck => room.signal(&learner, SignalKind::Stuck),
        Report::Done => room.signal(&learner, SignalKind::Done),
    };
    match done {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(refusal) => refused(refusal),
    }
}

/// `GET /class/room`: `{"exercise": 4}`, the exercise the instructor set
/// (or `null`), for `join` to follow. Anyone may ask: it is on the
/// projector anyway.
async fn room_exercise(State(server): State<Arc<ClassServer>>) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(json!({ "exercise": server.room.exercise() }))).into_response()
}

/// `POST /class/control` with the key in [`KEY_HEADER`]: without it, 403
/// and nothing changes.
async fn control(State(server): State<Arc<ClassServer>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let given = headers.get(KEY_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !server.key().matches(given) {
        return error(StatusCode::FORBIDDEN, "only the instructor's key may change the room");
    }
    let control: Control = match serde_json::from_slice(&body) {
        Ok(control) => control,
        Err(problem) => return error(StatusCode::BAD_REQUEST, format!("not a control: {problem}")),
    };
    match server.control(control).await {
        Ok(said) => Json(json!({ "done": said, "mode": server.settings().mode.to_string() })).into_response(),
        Err(problem) => error(StatusCode::BAD_REQUEST, problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class() -> Arc<ClassServer> {
        let chat = crate::memory_chat(governor::clock::DefaultClock::default());
        ClassServer::seeded(Key::given("0123456789abcdef").unwrap(), chat, 1).unwrap()
    }

    fn poll(path: &str) -> Request {
        Request::get(path).body(Body::empty()).unwrap()
    }

    /// A long poll held by the chat, with a fresh cursor.
    async fn held(server: &Arc<ClassServer>) -> tokio::task::JoinHandle<Response> {
        let app = router(server.clone());
        let first = app.clone().oneshot(poll("/poll")).await.unwrap();
        let body = axum::body::to_bytes(first.into_body(), 1 << 16).await.unwrap();
        let epoch = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["epoch"].clone();
        let path = format!("/poll?since=0&epoch={epoch}&wait=25");
        let waiting = tokio::spawn(async move { app.oneshot(poll(&path)).await.unwrap() });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiting.is_finished(), "the chat holds it");
        waiting
    }

    async fn soon(waiting: tokio::task::JoinHandle<Response>) -> Response {
        tokio::time::timeout(Duration::from_millis(100), waiting).await.expect("answered at once").unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn going_down_reaches_held_requests_and_slowed_ones() {
        let server = class();
        let waiting = held(&server).await;
        server.control(Control::Down { close: false }).await.unwrap();
        let answer = soon(waiting).await;
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.headers()[header::RETRY_AFTER], "10");

        server.control(Control::Slow { seconds: 10 }).await.unwrap();
        let app = router(server.clone());
        let slowed = tokio::spawn(async move { app.oneshot(poll("/poll")).await.unwrap() });
        tokio::time::sleep(Duration::from_secs(1)).await;
        server.control(Control::Down { close: true }).await.unwrap();
        let answer = soon(slowed).await;
        assert!(answer.extensions().get::<CloseConnection>().is_some(), "closed, not answered");
    }

    /// A request to `path` from learner `name`, as their `join` tags it.
    fn tagged(path: &str, name: &str, exercise: u32) -> Request {
        let mut request = poll(path);
        tag::put(request.headers_mut(), &Tag { name: name.to_owned(), exercise });
        request
    }

    /// Read `body` into `text` until `text` holds `wanted`: `Ok(false)` if
    /// the body ended first, the error if it failed.
    async fn read_until(body: &mut Body, text: &mut String, wanted: &str) -> Result<bool, axum::Error> {
        use http_body_util::BodyExt;
        while !text.contains(wanted) {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        text.push_str(&String::from_utf8_lossy(&data));
                    }
                }
                Some(Err(problem)) => return Err(problem),
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    #[test]
    fn events_are_counted_as_their_blocks_end() {
        let mut counter = EventCounter::default();
        assert_eq!(counter.count(b"retry: 3456\n\n:\n\n: keep-alive\n\n"), 0, "no event in a retry or a comment");
        assert_eq!(counter.count(b"id: 1-1\ndata: {\"id\":1}\n\nid: 1-2\nda"), 1);
        assert_eq!(counter.count(b"ta: {}\n"), 0, "cut anywhere");
        assert_eq!(counter.count(b"\n"), 1);
        let reset = b"event: reset\r\nid: 1-0\r\ndata\r\n\r\ndatax: no field data\n\nid: 9\n\n";
        assert_eq!(counter.count(reset), 1, "CRLF; `data` alone is data; an id alone is no event");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_is_one_open_request_with_a_tick_per_event_until_a_restart_breaks_it() {
        let server = class();
        let app = router(server.clone());
        let response = app.clone().oneshot(tagged("/events?client=page-1", "Ada", 8)).await.unwrap();
        assert!(is_event_stream(response.status(), response.headers()));
        let (mut body, mut text) = (response.into_body(), String::new());
        assert!(read_until(&mut body, &mut text, "retry:").await.unwrap());
        for said in ["hello", "again"] {
            server.control(Control::Post { text: said.to_owned() }).await.unwrap();
            assert!(read_until(&mut body, &mut text, said).await.unwrap(), "{text}");
        }
        let feed = server.room.feed(0);
        let [drawn] = &feed.learners[0].requests[..] else { panic!("{:?}", feed.learners[0].requests) };
        let stream = drawn.stream.as_ref().expect("a stream");
        assert_eq!((drawn.kind, stream.events, stream.ticks.len(), feed.room.streams), ("streaming", 2, 2, 1));

        server.control(Control::Restart).await.unwrap();
        assert!(read_until(&mut body, &mut text, "never written").await.is_err(), "broken off: {text}");
        let feed = server.room.feed(0);
        assert_eq!((feed.learners[0].requests[0].kind, feed.room.streams), ("error", 0));
    }

    #[tokio::test(start_paused = true)]
    async fn down_breaks_a_stream_and_refuses_the_next_and_slow_delays_its_opening() {
        let server = class();
        let app = router(server.clone());
        let open = || app.clone().oneshot(tagged("/events?client=page-1", "Ada", 8));
        let (mut body, mut text) = (open().await.unwrap().into_body(), String::new());
        assert!(read_until(&mut body, &mut text, "retry:").await.unwrap());
        server.control(Control::Down { close: false }).await.unwrap();
        assert!(read_until(&mut body, &mut text, "never written").await.is_err(), "broken off: {text}");
        drop(body);
        let refused = open().await.unwrap();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "10");
        server.control(Control::Down { close: true }).await.unwrap();
        assert!(open().await.unwrap().extensions().get::<CloseConnection>().is_some(), "closed, not answered");

        server.control(Control::Slow { seconds: 3 }).await.unwrap();
        let started = tokio::time::Instant::now();
        let slowed = open().await.unwrap();
        assert!(started.elapsed() >= Duration::from_secs(3) && is_event_stream(slowed.status(), slowed.headers()));
        let feed = server.room.feed(0);
        let kinds: Vec<&str> = feed.learners[0].requests.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, ["error", "503", "error", "streaming"]);
        let last = feed.learners[0].requests.last().unwrap();
        assert_eq!(last.stream.as_ref().unwrap().opened, last.sent + 3_000, "opened once the slow wait was over");
        // The page closes it.
        drop(slowed);
        let feed = server.room.feed(0);
        assert_eq!((feed.learners[0].requests.last().unwrap().kind, feed.room.streams), ("aborted", 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_breaks_held_requests() {
        let server = class();
        let waiting = held(&server).await;
        server.control(Control::Restart).await.unwrap();
        assert!(soon(waiting).await.extensions().get::<CloseConnection>().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn spread_waits_differ_and_the_same_one_does_not() {
        let server = class();
        server.control(Control::Down { close: false }).await.unwrap();
        let app = router(server.clone());
        // The waits 20 polls are told, each once.
        let told = || async {
            let mut told = std::collections::BTreeSet::new();
            for _ in 0..20 {
                let answer = app.clone().oneshot(poll("/poll")).await.unwrap();
                let seconds: u32 = answer.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
                told.insert(seconds);
            }
            told
        };
        let same = told().await;
        assert_eq!(same.len(), 1, "the same for all: {same:?}");
        server.control(Control::RetryAfter { spread: true }).await.unwrap();
        let spread = told().await;
        assert!(spread.iter().all(|seconds| (5..=15).contains(seconds)), "{spread:?}");
        assert!(spread.len() > 3, "spread: {spread:?}");
    }

    /// A report from learner `name`, as their `join` tags it.
    fn report_from(name: &str, exercise: u32, body: &str) -> Request {
        let mut request = Request::post("/class/report")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        tag::put(request.headers_mut(), &Tag { name: name.to_owned(), exercise });
        request
    }

    #[tokio::test(start_paused = true)]
    async fn the_room_has_an_exercise_signals_progress_and_learners_who_leave() {
        let server = class();
        let app = router(server.clone());
        let said = |response: Response| async move {
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        assert_eq!(said(app.clone().oneshot(poll("/class/room")).await.unwrap()).await["exercise"], json!(null));
        server.control(Control::Exercise { number: 4 }).await.unwrap();
        assert!(server.control(Control::Exercise { number: 0 }).await.is_err());
        assert_eq!(said(app.clone().oneshot(poll("/class/room")).await.unwrap()).await["exercise"], json!(4));

        for (name, body) in [
            ("Ada", r#"{"kind": "check", "passed": 13, "run": 13, "done": true}"#),
            ("Bo", r#"{"kind": "check", "passed": 2, "run": 13, "done": false}"#),
            ("Bo", r#"{"kind": "hint", "shown": 3}"#),
            ("Bo", r#"{"kind": "stuck"}"#),
        ] {
            let answer = app.clone().oneshot(report_from(name, 4, body)).await.unwrap();
            assert_eq!(answer.status(), StatusCode::NO_CONTENT, "{name}: {body}");
        }
        let feed = server.room.feed(0);
        assert_eq!(feed.room.exercise, Some(4));
        assert_eq!(feed.room.passing, [(4, 1)], "one of the two passes 04");
        let bo = feed.learners.iter().find(|l| l.name == "Bo").unwrap();
        assert_eq!(bo.hints, Some((4, 3)));
        assert_eq!(bo.signal.map(|s| s.kind), Some(crate::room::SignalKind::Stuck));
        assert!(bo.last_check.is_some() && bo.passed.is_empty());

        server.control(Control::ClearSignal { name: "Bo".to_owned() }).await.unwrap();
        assert!(server.room.feed(0).learners.iter().all(|l| l.signal.is_none()));
        server.control(Control::Remove { name: "Ada".to_owned() }).await.unwrap();
        assert_eq!(server.room.names(), ["Bo"]);
        assert!(server.control(Control::Remove { name: "Nobody".to_owned() }).await.is_err());
        // Ada comes back: a lane anew.
        app.clone().oneshot(report_from("Ada", 4, r#"{"kind": "done"}"#)).await.unwrap();
        assert_eq!(server.room.names(), ["Ada", "Bo"]);
        let ada = server.room.feed(0).learners.into_iter().find(|l| l.name == "Ada").unwrap();
        assert!(ada.passed.is_empty(), "a removed learner starts again");
    }

    #[tokio::test(start_paused = true)]
    async fn the_front_page_shows_the_command_to_join_with_this_address() {
        let app = router(class());
        let mut request = poll("/");
        request.headers_mut().insert(header::HOST, HeaderValue::from_static("192.168.1.20:4100"));
        let answer = app.oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(answer.into_body(), 1 << 16).await.unwrap();
        let page = String::from_utf8_lossy(&bytes);
        assert!(page.contains("cargo run -- join http://192.168.1.20:4100 --name &quot;Your Name&quot;"), "{page}");
    }

    #[test]
    fn a_joined_client_without_an_id_is_limited_by_its_name() {
        let tag = |name: &str| Tag { name: name.to_owned(), exercise: 2 };
        let id = |name: &str| {
            let mut request = poll("/poll");
            name_the_client(&mut request, &tag(name));
            request.headers()[limits::rate_limit::CLIENT_ID_HEADER].to_str().unwrap().to_owned()
        };
        assert_eq!(id("Ada"), id("Ada"));
        assert_ne!(id("Ada"), id("Bo"));
        let mut own = poll("/poll");
        own.headers_mut().insert(limits::rate_limit::CLIENT_ID_HEADER, HeaderValue::from_static("page-7"));
        name_the_client(&mut own, &tag("Ada"));
        assert_eq!(own.headers()[limits::rate_limit::CLIENT_ID_HEADER], "page-7", "its own id is kept");
    }
}
