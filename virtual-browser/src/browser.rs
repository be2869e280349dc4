//! The virtual browser: a page, a clock that only moves when we say so, and
//! a network that leads straight into an axum `Router`.

use crate::engine::{CHAT_STUB, Engine, HostCall, QuickJs, REAL_CHAT, ScriptError, Task};
use crate::trace::{Event, Outcome, Trace};
use axum::{Router, body::Body, http};
use http_body_util::BodyExt;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use tower::ServiceExt;

/// A frame every 16 ms of virtual time, while the page is visible.
pub const FRAME_MS: u64 = 16;
/// Timers in a hidden page run at most once a second, on the second, as
/// browsers' basic background throttling does.
pub const HIDDEN_TIMER_ALIGN_MS: u64 = 1000;
/// The origin the page is served from, for absolute URLs in `fetch`.
pub const ORIGIN: &str = "http://127.0.0.1:3000";
/// How many tasks one `run_until` may run before it stops the page, so a
/// page that keeps re-arming zero-delay work cannot hang a test.
const TASK_BUDGET: usize = 1_000_000;

thread_local! {
    /// The virtual time of the browser running on this thread, for servers
    /// that want their clock to follow it (see [`virtual_now`]).
    static NOW: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The virtual time, in ms, of the browser that is running on this thread
/// (0 before it runs, and again after it is dropped).
///
/// A server under test can base a clock on it (a rate limiter's, say), so
/// that its notion of time moves with the scenario's instead of the real
/// one: a virtual minute of polling takes milliseconds of real time.
pub fn virtual_now() -> u64 {
    NOW.with(|now| now.get())
}

/// How long each request of the page takes, from sending it to its answer
/// arriving when the server answers at once: half of it on the way to the
/// server, the rest on the way back. An answer the server holds (a long poll)
/// arrives the second half after the server lets it go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Latency {
    /// Every request takes this many milliseconds.
    Fixed(u64),
    /// Request #1 takes the first value, #2 the second, and so on; the last
    /// value holds for every request after it.
    Scripted(Vec<u64>),
}

impl Latency {
    fn for_request(&self, number: usize) -> u64 {
        match self {
            Latency::Fixed(ms) => *ms,
            Latency::Scripted(list) => list.get(number - 1).or(list.last()).copied().unwrap_or(0),
        }
    }
}

/// What goes wrong with the page's requests during a [`Browser::fail`] window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answers with this status and `{"error": "..."}`.
    Status(u16),
    /// The server answers with this status (429 or 503) and `Retry-After`.
    RetryAfter { status: u16, seconds: u64 },
    /// No answer at all: `fetch` rejects with `TypeError("Failed to fetch")`.
    NetworkError,
}

/// One page the browser opens: an ES module and the modules it may import.
#[derive(Debug, Clone)]
pub struct Page {
    pub name: String,
    pub source: String,
    pub modules: Vec<(String, String)>,
}

impl Page {
    /// A client script served at `name` (e.g. `/client.js`). It may import
    /// `/static/chat.js`, which the virtual browser provides (see `chat_stub.js`).
    pub fn client(name: &str, source: &str) -> Page {
        Page {
            name: name.to_owned(),
            source: source.to_owned(),
            modules: vec![
                ("/static/chat.js".to_owned(), CHAT_STUB.to_owned()),
                ("/static/real-chat.js".to_owned(), REAL_CHAT.to_owned()),
            ],
        }
    }

    /// Another module the page imports by `name`.
    pub fn with_module(mut self, name: &str, source: &str) -> Page {
        self.modules.push((name.to_owned(), source.to_owned()));
        self
    }
}

enum Job {
    Timer(u32),
    Restart(Router),
    Frame,
    Visibility(bool),
    /// The request reaches the server, which answers it (or holds it).
    Answer(usize),
    /// The server's answer reaches the page (`None`: the network failed).
    Deliver {
        index: usize,
        cached: Option<Kept>,
        answer: Option<Answer>,
    },
    OtherUserPosts {
        user: String,
        text: String,
    },
    UserSends {
        user: String,
        text: String,
    },
}

/// An answer a browser cache keeps: its tag, to ask `If-None-Match` with,
/// and what to hand the page on `304 Not Modified`.
#[derive(Debug, Clone)]
struct Kept {
    etag: String,
    headers: Vec<(String, String)>,
    body: String,
}

#[derive(Debug)]
struct Timer {
    delay: u64,
    repeat: bool,
    nesting: u32,
}

/// A server's answer: status, headers and body.
type Answer = (u16, Vec<(String, String)>, String);

/// A request the server is handling: it has arrived and has not answered
/// yet (a long poll holds it for as long as it likes).
struct Held {
    index: usize,
    cached: Option<Kept>,
    task: tokio::task::JoinHandle<Answer>,
}

#[derive(Debug)]
struct Request {
    aborted: bool,
    js_id: u32,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    failure: Option<Failure>,
    /// How long its answer takes to travel back: the second half of its latency.
    back: u64,
    /// Its whole latency, counted from when it leaves the browser.
    latency: u64,
    /// Held in the browser behind an earlier GET to the same URL (see `HostCall::Fetch`).
    waiting: bool,
    /// Its answer (or failure) has arrived, or the page aborted it.
    done: bool,
}

/// A browser tab with one page in it, on a virtual clock.
///
/// Set the scene first ([`latency`](Self::latency), [`fail`](Self::fail),
/// [`hide`](Self::hide), [`post_at`](Self::post_at)), then
/// [`open`](Self::open) the page and [`run_until`](Self::run_until) a time.
/// Nothing takes real time: a 10-minute scenario runs in milliseconds.
pub struct Browser {
    engine: Box<dyn Engine>,
    app: Router,
    tokio: tokio::runtime::Runtime,
    now: u64,
    agenda: BTreeMap<(u64, u64), Job>,
    next_seq: u64,
    timers: HashMap<u32, Timer>,
    nesting: u32,
    wants_frame: bool,
    frame_scheduled: bool,
    hidden: bool,
    latency: Latency,
    failures: Vec<(Range<u64>, Failure)>,
    requests: Vec<Request>,
    last_status: String,
    trace: Trace,
    halted: bool,
    /// Answers a browser cache may keep, by URL (see [`Browser::http_cache`]).
    cache: Option<HashMap<String, Kept>>,
    /// Requests the server is still working on, oldest first.
    held: Vec<Held>,
    /// Where the server's (paused) tokio clock is, in virtual ms.
    server_at: u64,
    /// The server clock's time 0.
    server_start: tokio::time::Instant,
    /// Each held request says here when it is answered.
    answered: tokio::sync::mpsc::UnboundedReceiver<()>,
    answered_tx: tokio::sync::mpsc::UnboundedSender<()>,
}

impl Browser {
    /// A browser whose requests go to `app`, with `Math.random` seeded with 1
    /// and a 50 ms server.
    pub fn new(app: Router) -> Browser {
        Browser::with_seed(app, 1)
    }

    /// The same, with another seed for `Math.random`.
    pub fn with_seed(app: Router, seed: u32) -> Browser {
        let engine = QuickJs::new(seed).unwrap_or_else(|ScriptError(e)| panic!("{e}"));
        Browser::with_engine(app, Box::new(engine))
    }

    /// A browser on another [`Engine`].
    pub fn with_engine(app: Router, engine: Box<dyn Engine>) -> Browser {
        // The server's clock is tokio's, paused: it moves only with the
        // virtual clock, so a server that holds a request for 30 s (a long
        // poll) does it in no real time.
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a tokio runtime for the in-process server");
        let server_start = tokio.block_on(async { tokio::time::Instant::now() });
        let (answered_tx, answered) = tokio::sync::mpsc::unbounded_channel();
        Browser {
            engine,
            app,
            tokio,
            now: 0,
            agenda: BTreeMap::new(),
            next_seq: 0,
            timers: HashMap::new(),
            nesting: 0,
            wants_frame: false,
            frame_scheduled: false,
            hidden: false,
            latency: Latency::Fixed(50),
            failures: Vec::new(),
            requests: Vec::new(),
            last_status: String::new(),
            trace: Trace::default(),
            halted: false,
            cache: None,
            held: Vec::new(),
            server_at: 0,
            server_start,
            answered,
            answered_tx,
        }
    }

    /// Keep answers the way a browser's HTTP cache does: a GET answer with an
    /// `ETag` (and no `Cache-Control: no-store`) is kept, and the next GET of
    /// the same URL asks `If-None-Match`; on `304 Not Modified` the page gets
    /// the kept answer as a 200, as in a browser. Off unless asked for.
    pub fn http_cache(&mut self, on: bool) -> &mut Self {
        self.cache = on.then(HashMap::new);
        self
    }

    /// The server restarts at `at` ms: from then on, requests go to `app`.
    /// Requests the old server was holding fail as network errors.
    pub fn restart_at(&mut self, at: u64, app: Router) -> &mut Self {
        self.schedule(at, Job::Restart(app));
        self
    }

    /// How long the server takes to answer.
    pub fn latency(&mut self, latency: Latency) -> &mut Self {
        self.latency = latency;
        self
    }

    /// Requests the page *sends* during `window` (ms) fail this way.
    pub fn fail(&mut self, window: Range<u64>, failure: Failure) -> &mut Self {
        self.failures.push((window, failure));
        self
    }

    /// The page is hidden (another tab in front, window minimised) from
    /// `window.start` until `window.end`.
    pub fn hide(&mut self, window: Range<u64>) -> &mut Self {
        self.schedule(window.start, Job::Visibility(true));
        self.schedule(window.end, Job::Visibility(false));
        self
    }

    /// Another user posts a message at `at` ms, straight to the server, from
    /// a page of their own (`x-client-id: user:<user>`).
    pub fn post_at(&mut self, at: u64, user: &str, text: &str) -> &mut Self {
        self.schedule(at, Job::OtherUserPosts { user: user.to_owned(), text: text.to_owned() });
        self
    }

    /// The user types into the page's form and presses Send at `at` ms.
    pub fn send_at(&mut self, at: u64, user: &str, text: &str) -> &mut Self {
        self.schedule(at, Job::UserSends { user: user.to_owned(), text: text.to_owned() });
        self
    }

    /// Load `page` now, as the browser would when the HTML's
    /// `<script type="module">` runs.
    pub fn open(&mut self, page: Page) -> &mut Self {
        NOW.with(|now| now.set(self.now));
        self.trace.push(self.now, Event::Loaded { page: page.name.clone() });
        let loaded = self.engine.load(&page.name, &page.source, &page.modules);
        self.after_task(loaded);
        self
    }

    /// Run every task due up to and including `end` ms, then set the clock to `end`.
    ///
    /// The server's clock goes along: before each task, requests the server
    /// is still holding get the time until then, and those that answer in it
    /// are delivered at the moment they answer.
    pub fn run_until(&mut self, end: u64) -> &Trace {
        let mut tasks = 0;
        while !self.halted {
            let next = self.agenda.first_key_value().map(|(key, _)| key.0);
            let until = next.map_or(end, |at| at.min(end));
            if self.advance_server_to(until) {
                continue; // an answer came first, and may have scheduled more
            }
            let Some(entry) = self.agenda.first_entry().filter(|entry| entry.key().0 <= end) else { break };
            let ((at, _), job) = entry.remove_entry();
            self.now = at;
            NOW.with(|now| now.set(at));
            self.process(job);
            tasks += 1;
            if tasks == TASK_BUDGET {
                self.halt(format!("the page ran {TASK_BUDGET} tasks before {end} ms and was stopped"));
            }
        }
        self.now = self.now.max(end);
        NOW.with(|now| now.set(self.now));
        &self.trace
    }

    /// Move the server's clock towards `until` while it holds requests. A
    /// paused tokio runtime that has nothing to do jumps its clock to its
    /// next timer, so this costs one step per timer, not per millisecond.
    /// When a held request is answered before `until`, stop there (the
    /// virtual clock too), deliver it, and say `true`.
    fn advance_server_to(&mut self, until: u64) -> bool {
        if self.held.is_empty() || self.server_at >= until {
            return false;
        }
        // Signals of answers already delivered are stale.
        while self.answered.try_recv().is_ok() {}
        let (start, answered) = (self.server_start, &mut self.answered);
        let deadline = start + std::time::Duration::from_millis(until);
        let reached = self.tokio.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {}
                _ = answered.recv() => {}
            }
            (tokio::time::Instant::now() - start).as_millis() as u64
        });
        self.server_at = self.server_at.max(reached);
        self.now = self.now.max(self.server_at.min(until));
        NOW.with(|now| now.set(self.now));
        self.deliver_answered()
    }

    /// Bring the server's clock up to the virtual time (it waits while
    /// nothing is held, see `advance_server_to`).
    fn catch_up_server(&mut self) {
        if self.server_at < self.now {
            self.tokio.block_on(tokio::time::advance(std::time::Duration::from_millis(self.now - self.server_at)));
            self.server_at = self.now;
        }
    }

    /// Let the server's tasks run as far as they can without time passing,
    /// then deliver every answer that is ready, oldest request first.
    fn deliver_answered(&mut self) -> bool {
        // Most answers take a poll or two; a held one never finishes here.
        let held = &self.held;
        self.tokio.block_on(async {
            for _ in 0..64 {
                if held.iter().all(|h| h.task.is_finished()) {
                    break;
                }
                tokio::task::yield_now().await;
            }
        });
        let (ready, waiting): (Vec<Held>, Vec<Held>) =
            std::mem::take(&mut self.held).into_iter().partition(|h| h.task.is_finished());
        self.held = waiting;
        let delivered = !ready.is_empty();
        for held in ready {
            let answer = self.tokio.block_on(held.task).expect("the server's task finished");
            let (index, cached) = (held.index, held.cached);
            self.schedule(self.now + self.requests[index].back, Job::Deliver { index, cached, answer: Some(answer) });
        }
        delivered
    }

    /// Everything that happened so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The virtual time, in ms since the page was opened.
    pub fn now(&self) -> u64 {
        self.now
    }

    fn schedule(&mut self, at: u64, job: Job) {
        self.agenda.insert((at, self.next_seq), job);
        self.next_seq += 1;
    }

    fn halt(&mut self, reason: String) {
        if !self.halted {
            self.trace.push(self.now, Event::Halted { reason });
            self.halted = true;
        }
    }

    fn run_task(&mut self, task: Task) {
        let ran = self.engine.run(self.now, task);
        self.after_task(ran);
    }

    fn after_task(&mut self, ran: Result<(), ScriptError>) {
        for call in self.engine.take_calls() {
            self.handle(call);
        }
        self.nesting = 0;
        if let Err(ScriptError(reason)) = ran {
            self.halt(reason);
        }
    }

    fn process(&mut self, job: Job) {
        match job {
            Job::Timer(id) => {
                let Some(timer) = self.timers.get(&id) else {
                    return;
                };
                // Background throttling: a hidden page's timers wait for the next whole second.
                let aligned = self.now.div_ceil(HIDDEN_TIMER_ALIGN_MS) * HIDDEN_TIMER_ALIGN_MS;
                if self.hidden && aligned != self.now {
                    self.schedule(aligned, Job::Timer(id));
                    return;
                }
                let (repeat, delay, nesting) = (timer.repeat, timer.delay, timer.nesting);
                if !repeat {
                    self.timers.remove(&id);
                }
                self.nesting = nesting;
                self.run_task(Task::Timer { id });
                // An interval re-arms after its callback, unless the callback cleared it.
                if let Some(timer) = self.timers.get_mut(&id) {
                    let delay = clamp(delay, timer.nesting);
                    timer.nesting += 1;
                    self.schedule(self.now + delay, Job::Timer(id));
                }
            }
            Job::Frame => {
                self.frame_scheduled = false;
                if self.hidden {
                    return; // frames stop in hidden pages; `show` schedules the next
                }
                self.wants_frame = false;
                self.run_task(Task::Frame);
            }
            Job::Visibility(hidden) => {
                if self.hidden == hidden {
                    return;
                }
                self.hidden = hidden;
                self.trace.push(self.now, if hidden { Event::Hidden } else { Event::Visible });
                self.run_task(Task::Visibility { hidden });
                self.schedule_frame();
            }
            Job::Answer(index) => self.answer(index),
            Job::Deliver { index, cached, answer } => {
                if self.requests[index].aborted {
                    return; // the page gave up on it before it arrived
                }
                self.finished(index);
                match answer {
                    Some(answer) => self.deliver(index, cached, answer),
                    None => {
                        let request = &self.requests[index];
                        let (js_id, method, path) = (request.js_id, request.method.clone(), request.path.clone());
                        let outcome = Outcome::NetworkError;
                        self.trace.push(self.now, Event::Answered { request: index + 1, method, path, outcome });
                        self.run_task(Task::FetchFailed { id: js_id });
                    }
                }
            }
            Job::Restart(app) => {
                self.app = app;
                self.trace.push(self.now, Event::ServerRestarted);
                // The old process is gone, and the connections it held with
                // it: each held request fails as a network error.
                for held in std::mem::take(&mut self.held) {
                    held.task.abort();
                    let _cancelled = self.tokio.block_on(held.task); // the server drops it now
                    self.finished(held.index);
                    let request = &self.requests[held.index];
                    let (js_id, method, path) = (request.js_id, request.method.clone(), request.path.clone());
                    let outcome = Outcome::NetworkError;
                    self.trace.push(self.now, Event::Answered { request: held.index + 1, method, path, outcome });
                    self.run_task(Task::FetchFailed { id: js_id });
                }
            }
            Job::OtherUserPosts { user, text } => {
                let body = serde_json::json!({ "user": user, "text": text }).to_string();
                let headers = vec![
                    ("content-type".to_owned(), "application/json".to_owned()),
                    // Each user posts from a page of their own.
                    ("x-client-id".to_owned(), format!("user:{user}")),
                ];
                let (status, _, _) = self.call_app("POST", "/poll", &headers, Some(body));
                self.trace.push(self.now, Event::OtherUserPosted { user, text, status });
                // The post may have woken requests the server holds: they answer now.
                self.deliver_answered();
            }
            Job::UserSends { user, text } => {
                self.trace.push(self.now, Event::UserSent { user: user.clone(), text: text.clone() });
                self.run_task(Task::Submit { user, text });
            }
        }
    }

    fn handle(&mut self, call: HostCall) {
        match call {
            HostCall::Timer { id, delay, repeat } => {
                // HTML's timer initialization: clamp by the level of the task
                // that set the timer, then the timer's task is one level deeper.
                let delay = clamp(delay.ceil() as u64, self.nesting);
                let nesting = self.nesting + 1;
                self.timers.insert(id, Timer { delay, repeat, nesting });
                self.schedule(self.now + delay, Job::Timer(id));
            }
            HostCall::ClearTimer { id } => {
                self.timers.remove(&id);
            }
            HostCall::WantFrame => {
                self.wants_frame = true;
                self.schedule_frame();
            }
            HostCall::Fetch { id, method, url, headers, body } => {
                let number = self.requests.len() + 1;
                let path = url.strip_prefix(ORIGIN).unwrap_or(&url).to_owned();
                let failure = self.failures.iter().find(|(w, _)| w.contains(&self.now)).map(|(_, f)| f.clone());
                self.trace.push(self.now, Event::Sent { request: number, method: method.clone(), path: path.clone() });
                // Half the latency on the way there, the rest on the way back:
                // an answer the server gives at once arrives `latency` ms
                // after the request was sent, and one it held arrives half
                // the latency after the server let it go.
                let latency = self.latency.for_request(number);
                let back = latency - latency / 2;
                // Chromium sends one GET per URL at a time: its HTTP cache
                // lets one request fill an entry, and a second GET to the same
                // URL waits in the browser until the first's answer is in.
                // (Measured in the real-browser tier: a setInterval client's
                // polls reach the server back to back, never two at once.)
                let waiting = method == "GET"
                    && self.requests.iter().any(|r| r.method == "GET" && r.path == path && !r.done && !r.aborted);
                if waiting {
                    let (method, path) = (method.clone(), path.clone());
                    self.trace.push(self.now, Event::Queued { request: number, method, path });
                } else {
                    self.schedule(self.now + latency / 2, Job::Answer(number - 1));
                }
                let (aborted, done) = (false, false);
                let request =
                    Request { aborted, js_id: id, method, path, headers, body, failure, back, latency, waiting, done };
                self.requests.push(request);
            }
            HostCall::Abort { id } => {
                let Some(index) = self.requests.iter().position(|r| r.js_id == id) else { return };
                let answered = self.trace.spans().iter().any(|s| s.request == index + 1 && s.answered.is_some());
                if answered || self.requests[index].aborted {
                    return;
                }
                self.requests[index].aborted = true;
                if self.requests[index].waiting {
                    self.requests[index].done = true; // it never left the browser
                } else {
                    self.finished(index);
                }
                // Held by the server: dropped, as when a browser closes the connection.
                if let Some(at) = self.held.iter().position(|h| h.index == index) {
                    self.held.remove(at).task.abort();
                }
                let (method, path) = (self.requests[index].method.clone(), self.requests[index].path.clone());
                let outcome = Outcome::Aborted;
                self.trace.push(self.now, Event::Answered { request: index + 1, method, path, outcome });
            }
            HostCall::Console { level, text } => self.trace.push(self.now, Event::Console { level, text }),
            HostCall::Error { text } => self.trace.push(self.now, Event::ScriptError { text }),
            HostCall::Render { ids } => self.trace.push(self.now, Event::Rendered { ids }),
            HostCall::Status { text } => {
                if text != self.last_status {
                    self.last_status = text.clone();
                    self.trace.push(self.now, Event::Status { text });
                }
            }
        }
    }

    /// Request `index` is over (answered, failed or aborted): the next GET
    /// waiting in the browser for the same URL, if any, leaves now.
    fn finished(&mut self, index: usize) {
        self.requests[index].done = true;
        let (method, path) = (self.requests[index].method.clone(), self.requests[index].path.clone());
        let next = self.requests.iter().position(|r| r.waiting && !r.aborted && r.method == method && r.path == path);
        if let Some(next) = next {
            self.requests[next].waiting = false;
            self.trace.push(self.now, Event::LeftBrowser { request: next + 1, method, path });
            self.schedule(self.now + self.requests[next].latency / 2, Job::Answer(next));
        }
    }

    fn schedule_frame(&mut self) {
        if self.wants_frame && !self.hidden && !self.frame_scheduled {
            let next = (self.now / FRAME_MS + 1) * FRAME_MS;
            self.schedule(next, Job::Frame);
            self.frame_scheduled = true;
        }
    }

    /// Request `index` reaches the server: its answer (or failure) is sent
    /// back, or the server holds it.
    fn answer(&mut self, index: usize) {
        let request = &self.requests[index];
        let (method, path, back) = (request.method.clone(), request.path.clone(), request.back);
        let (status, headers, body) = match request.failure.clone() {
            Some(Failure::NetworkError) => {
                self.schedule(self.now + back, Job::Deliver { index, cached: None, answer: None });
                return;
            }
            Some(Failure::Status(status)) => (status, json_headers(), injected_error(status)),
            Some(Failure::RetryAfter { status, seconds }) => {
                let mut headers = json_headers();
                headers.push(("retry-after".to_owned(), seconds.to_string()));
                (status, headers, injected_error(status))
            }
            None => {
                if request.aborted {
                    return; // the page gave up on it before it arrived
                }
                let (mut headers, body) = (request.headers.clone(), request.body.clone());
                let cached = self.cache.as_ref().and_then(|c| c.get(&path)).filter(|_| method == "GET").cloned();
                if let Some(kept) = &cached {
                    headers.push(("if-none-match".to_owned(), kept.etag.clone()));
                }
                // Most requests are answered at once: poll them here. One the
                // server holds (a long poll) goes on as a task of its own,
                // and is delivered when it answers.
                let mut serving = Box::pin(serve(self.app.clone(), &method, &path, &headers, body));
                let behind = std::time::Duration::from_millis(self.now - self.server_at);
                self.server_at = self.now;
                let at_once = self.tokio.block_on(async {
                    // The server's clock catches up first, in the same call.
                    if !behind.is_zero() {
                        tokio::time::advance(behind).await;
                    }
                    for _ in 0..16 {
                        tokio::select! {
                            biased;
                            answer = &mut serving => return Some(answer),
                            _ = tokio::task::yield_now() => {}
                        }
                    }
                    None
                });
                match at_once {
                    Some(answer) => {
                        self.schedule(self.now + back, Job::Deliver { index, cached, answer: Some(answer) })
                    }
                    None => {
                        let answered = self.answered_tx.clone();
                        let task = self.tokio.spawn(async move {
                            let answer = serving.await;
                            let _ = answered.send(());
                            answer
                        });
                        self.held.push(Held { index, cached, task });
                    }
                }
                return;
            }
        };
        self.schedule(self.now + back, Job::Deliver { index, cached: None, answer: Some((status, headers, body)) });
    }

    /// The server answered request `index`: show the page the answer (or, on
    /// a 304 to a cached request, the kept answer, as a browser does).
    fn deliver(&mut self, index: usize, cached: Option<Kept>, (status, headers, body): Answer) {
        let request = &self.requests[index];
        let (js_id, method, path) = (request.js_id, request.method.clone(), request.path.clone());
        if let (304, Some(Kept { headers: kept_headers, body: kept_body, .. })) = (status, cached) {
            let outcome =
                Outcome::Status { code: 304, messages: poll_messages(&kept_body), retry_after: None, bytes: 0 };
            self.trace.push(self.now, Event::Answered { request: index + 1, method, path, outcome });
            self.run_task(Task::FetchDone { id: js_id, status: 200, headers: kept_headers, body: kept_body });
            return;
        }
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let storable = !header("cache-control").is_some_and(|c| c.contains("no-store"));
        if let (Some(cache), Some(etag), true, true, "GET") =
            (self.cache.as_mut(), header("etag"), storable, status == 200, method.as_str())
        {
            cache.insert(path.clone(), Kept { etag, headers: headers.clone(), body: body.clone() });
        }
        let retry_after = header("retry-after");
        let outcome = Outcome::Status { code: status, messages: poll_messages(&body), retry_after, bytes: body.len() };
        self.trace.push(self.now, Event::Answered { request: index + 1, method, path, outcome });
        self.run_task(Task::FetchDone { id: js_id, status, headers, body });
    }

    /// Send one request through the app, in-process, and wait for it (for
    /// other users' posts). Requests of the page it woke up are delivered.
    fn call_app(&mut self, method: &str, path: &str, headers: &[(String, String)], body: Option<String>) -> Answer {
        self.catch_up_server();
        self.tokio.block_on(serve(self.app.clone(), method, path, headers, body))
    }
}

/// One request through `app`, with its whole answer read.
fn serve(
    app: Router,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<String>,
) -> impl std::future::Future<Output = Answer> + Send + 'static {
    let mut request = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request.body(Body::from(body.unwrap_or_default())).expect("a valid request");
    async move {
        let response = app.oneshot(request).await.expect("a Router never fails");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or("").to_owned()))
            .collect();
        let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        (status, headers, String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// When a browser is done, the thread's virtual time goes back to 0, so the
/// next server made on this thread (whose clock may start reading it before
/// its browser exists) starts from the beginning too. One browser at a time
/// per thread, then.
impl Drop for Browser {
    fn drop(&mut self) {
        NOW.with(|now| now.set(0));
    }
}

/// How many messages a poll answer's `msg` list holds, if it is one.
fn poll_messages(body: &str) -> Option<usize> {
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    json.get("msg")?.as_array().map(Vec::len)
}

/// HTML's rule: a timer set by a task nested more than 5 deep waits at least 4 ms.
fn clamp(delay: u64, nesting: u32) -> u64 {
    if nesting > 5 { delay.max(4) } else { delay }
}

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".to_owned(), "application/json".to_owned())]
}

fn injected_error(status: u16) -> String {
    serde_json::json!({ "error": format!("the scenario made the server answer {status}") }).to_string()
}
