//! The virtual browser: a page, a clock that only moves when we say so, and
//! a network that leads straight into an axum `Router`.
//!
//! # How the parts fit
//!
//! A [`Browser`] is one loop: take the next [`Job`] from the agenda, set the
//! clock to its time, and hand it to the part it belongs to. A job that runs
//! page code is a task: the engine runs it, and the host calls the page made
//! on the way (timers, frames, fetches, log lines) are handed out to the parts
//! in turn, which schedule more jobs. Each part is a file, with a struct for
//! its state:
//!
//! - `event_loop.rs` ([`EventLoop`]): the agenda itself, the thread's
//!   virtual time, timers (with HTML's nesting clamp and a hidden page's
//!   throttling), animation frames and visibility;
//! - `network.rs` ([`Network`]): requests as the page sees them: latency,
//!   injected failures, Chromium's cache lock (one GET per URL at a time,
//!   for up to 20 s), the HTTP cache and `fetch`'s `cache` modes;
//! - `server.rs` ([`ServerBridge`]): the server under test on a paused
//!   tokio clock, the requests it holds, and restarts;
//! - `event_source.rs` ([`EventSources`]): `EventSource`, as the HTML
//!   standard gives it: connecting, reading the stream's events, and
//!   reconnecting with `Last-Event-ID`;
//! - `chat.rs` ([`Chat`]): the chat page's stand-in modules, other users'
//!   posts and the user's sending from the form.
//!
//! Opening a page again in the same [`Browser`] is a reload of the tab
//! ([`Browser::reload_at`] does it at a moment of the scene): the old page
//! is thrown away with its timers, frames and requests still on their way,
//! and the new one runs in a fresh document. What is the tab's stays: its
//! `sessionStorage` (kept by the engine, outside any document), the HTTP
//! cache, and whether it is hidden.
//!
//! While the server holds requests or writes streams, its clock is moved
//! towards the next job's time before the job runs, so an answer the server
//! gives in between (a long poll that times out, a stream's next event) is
//! delivered at the moment it is given, and comes before the job.

mod chat;
mod event_loop;
mod event_source;
mod network;
mod server;

use crate::engine::{Engine, HostCall, QuickJs, ScriptError, Task};
use crate::trace::{Event, Trace};
use axum::Router;
use chat::Chat;
use event_loop::{EventLoop, Job, TASK_BUDGET, set_virtual_now};
use event_source::EventSources;
use network::Network;
use server::ServerBridge;
use std::collections::HashMap;
use std::ops::Range;

/// Named in [`crate::engine`] too, for the test that checks its exports.
pub use chat::CHAT_STUB;
pub use event_loop::{FRAME_MS, HIDDEN_TIMER_ALIGN_MS, virtual_now};
pub use network::{Failure, Latency, ORIGIN};

/// One page the browser opens: an ES module and the modules it may import
/// (see [`Page::client`], in `chat.rs`, for the chat page's).
#[derive(Debug, Clone)]
pub struct Page {
    pub name: String,
    pub source: String,
    pub modules: Vec<(String, String)>,
}

impl Page {
    /// Another module the page imports by `name`.
    pub fn with_module(mut self, name: &str, source: &str) -> Page {
        self.modules.push((name.to_owned(), source.to_owned()));
        self
    }
}

/// A browser tab with one page in it, on a virtual clock.
///
/// Set the scene first ([`latency`](Self::latency), [`fail`](Self::fail),
/// [`hide`](Self::hide), [`post_at`](Self::post_at)), then
/// [`open`](Self::open) the page and [`run_until`](Self::run_until) a time.
/// Nothing takes real time: a 10-minute scenario runs in milliseconds.
pub struct Browser {
    engine: Box<dyn Engine>,
    /// Right after the engine, as fields drop in order: the server's runtime
    /// (and what it holds) goes before the jobs still in the agenda.
    server: ServerBridge,
    now: u64,
    event_loop: EventLoop,
    network: Network,
    event_sources: EventSources,
    chat: Chat,
    trace: Trace,
    halted: bool,
    /// The page last opened, for a reload.
    page: Option<Page>,
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
        Browser {
            engine,
            server: ServerBridge::new(app),
            now: 0,
            event_loop: EventLoop::new(),
            network: Network::new(),
            event_sources: EventSources::default(),
            chat: Chat::default(),
            trace: Trace::default(),
            halted: false,
            page: None,
        }
    }

    /// Keep answers the way a browser's HTTP cache does: a GET answer with an
    /// `ETag` (and no `Cache-Control: no-store`) is kept, and the next GET of
    /// the same URL asks `If-None-Match`; on `304 Not Modified` the page gets
    /// the kept answer as a 200, as in a browser. Each `fetch` asks the cache
    /// as its `cache` option says (`network.rs`, `CacheMode`). Off unless
    /// asked for: then nothing is kept (the cache lock still holds).
    pub fn http_cache(&mut self, on: bool) -> &mut Self {
        self.network.cache = on.then(HashMap::new);
        self
    }

    /// The server restarts at `at` ms: from then on, requests go to `app`.
    /// Requests the old server was holding fail as network errors, and so
    /// do its streams (after what it wrote before it went), so an
    /// `EventSource` reconnects.
    pub fn restart_at(&mut self, at: u64, app: Router) -> &mut Self {
        self.event_loop.schedule(at, Job::Restart(app));
        self
    }

    /// How long the server takes to answer.
    pub fn latency(&mut self, latency: Latency) -> &mut Self {
        self.network.latency = latency;
        self
    }

    /// Requests the page *sends* during `window` (ms) fail this way.
    pub fn fail(&mut self, window: Range<u64>, failure: Failure) -> &mut Self {
        self.network.failures.push((window, failure));
        self
    }

    /// The page is hidden (another tab in front, window minimised) from
    /// `window.start` until `window.end`.
    pub fn hide(&mut self, window: Range<u64>) -> &mut Self {
        self.event_loop.schedule(window.start, Job::Visibility(true));
        self.event_loop.schedule(window.end, Job::Visibility(false));
        self
    }

    /// Another user posts a message at `at` ms, straight to the server, from
    /// a page of their own (`x-client-id: user:<user>`).
    pub fn post_at(&mut self, at: u64, user: &str, text: &str) -> &mut Self {
        self.event_loop.schedule(at, Job::OtherUserPosts { user: user.to_owned(), text: text.to_owned() });
        self
    }

    /// The user types into the page's form and presses Send at `at` ms.
    pub fn send_at(&mut self, at: u64, user: &str, text: &str) -> &mut Self {
        self.event_loop.schedule(at, Job::UserSends { user: user.to_owned(), text: text.to_owned() });
        self
    }

    /// The user presses reload at `at` ms: the page last opened loads again,
    /// in a new document (see [`open`](Self::open)).
    pub fn reload_at(&mut self, at: u64) -> &mut Self {
        self.event_loop.schedule(at, Job::Reload);
        self
    }

    /// The user duplicates the tab at `at` ms (Chromium's "Duplicate", or a
    /// link opened in a new tab), and from then on the scene follows the
    /// copy: a new document of the same page, with a copy of the tab's
    /// `sessionStorage` as it is now. The original goes on elsewhere, so it
    /// gets no `pagehide`; the scene stops following it, and its requests
    /// still on their way are dropped, as if that tab had closed.
    pub fn duplicate_at(&mut self, at: u64) -> &mut Self {
        self.event_loop.schedule(at, Job::Duplicate);
        self
    }

    /// Whether the page may use `sessionStorage` (it may unless told). When
    /// not, reading `sessionStorage` throws a `SecurityError`, as in a
    /// browser whose user blocks sites from keeping data.
    pub fn session_storage(&mut self, allowed: bool) -> &mut Self {
        self.engine.allow_storage(allowed);
        self
    }

    /// Load `page` now, as the browser would when the HTML's
    /// `<script type="module">` runs. If a page was open, this is a reload
    /// of the tab: that page goes first, with its timers, frame callbacks
    /// and requests still on their way, and the new one gets a new document
    /// with the tab's `sessionStorage`.
    pub fn open(&mut self, page: Page) -> &mut Self {
        set_virtual_now(self.now);
        if self.page.is_some() {
            self.unload();
        }
        self.page = Some(page.clone());
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
            let next = self.event_loop.next_at();
            let until = next.map_or(end, |at| at.min(end));
            if self.advance_server_to(until) {
                continue; // an answer came first, and may have scheduled more
            }
            let Some((at, job)) = self.event_loop.take_due(end) else { break };
            self.now = at;
            set_virtual_now(at);
            self.process(job);
            tasks += 1;
            if tasks == TASK_BUDGET {
                self.halt(format!("the page ran {TASK_BUDGET} tasks before {end} ms and was stopped"));
            }
        }
        self.now = self.now.max(end);
        set_virtual_now(self.now);
        &self.trace
    }

    /// Everything that happened so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The virtual time, in ms since the page was opened.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The open page goes, as when the tab navigates: its requests still on
    /// their way are cancelled (a server holding one lets it go), its timers
    /// and frame callbacks are forgotten, and the engine starts a new
    /// document. The tab's `sessionStorage`, HTTP cache and visibility stay.
    fn unload(&mut self) {
        // The document hears that it goes (`pagehide`), as in Chromium, before
        // anything of it is torn down: what it writes to `sessionStorage`
        // then is there for the next document of the tab.
        self.run_task(Task::WindowEvent { kind: "pagehide" });
        self.leave_the_page();
    }

    /// The open page is no longer followed: its requests are cancelled, its
    /// timers and frame callbacks forgotten, and the engine starts a new
    /// document with the tab's `sessionStorage` as it is.
    fn leave_the_page(&mut self) {
        self.cancel_requests();
        self.event_sources.forget_the_page();
        self.event_loop.forget_the_page();
        self.chat = Chat::default();
        let fresh = self.engine.new_document(self.now);
        self.after_task(fresh);
        if self.event_loop.hidden() {
            // The new document starts as hidden as its tab.
            self.run_task(Task::Visibility { hidden: true });
        }
    }

    /// A scene's duplicate: the page last opened, in a copy of the tab.
    fn duplicate(&mut self) {
        let Some(page) = self.page.clone() else { return };
        set_virtual_now(self.now);
        self.leave_the_page();
        self.trace.push(self.now, Event::Loaded { page: format!("{} (in a duplicated tab)", page.name) });
        let loaded = self.engine.load(&page.name, &page.source, &page.modules);
        self.after_task(loaded);
    }

    /// A scene's reload: the page last opened, again.
    fn reload(&mut self) {
        if let Some(page) = self.page.clone() {
            self.open(page);
        }
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
        self.event_loop.task_done();
        if let Err(ScriptError(reason)) = ran {
            self.halt(reason);
        }
    }

    /// Hand a due job to the part of the browser it belongs to.
    fn process(&mut self, job: Job) {
        match job {
            Job::Timer(id) => self.fire_timer(id),
            Job::Frame => self.run_frame(),
            Job::Visibility(hidden) => self.set_hidden(hidden),
            Job::Answer(index) => self.answer(index),
            Job::Deliver { index, cached, answer } => self.arrive(index, cached, answer),
            Job::Stream { index, piece } => self.stream_arrives(index, piece),
            Job::Reconnect(key) => self.reconnect(key),
            Job::FromCache { index, kept } => self.answer_from_cache(index, kept),
            Job::CacheLockTimeout(index) => self.cache_lock_timed_out(index),
            Job::Restart(app) => self.restart(app),
            Job::OtherUserPosts { user, text } => self.other_user_posts(user, text),
            Job::UserSends { user, text } => self.user_sends(user, text),
            Job::Reload => self.reload(),
            Job::Duplicate => self.duplicate(),
        }
    }

    /// Hand a call the page made during a task to the part it asks.
    fn handle(&mut self, call: HostCall) {
        match call {
            HostCall::Timer { id, delay, repeat } => self.event_loop.set_timer(self.now, id, delay, repeat),
            HostCall::ClearTimer { id } => self.event_loop.clear_timer(id),
            HostCall::WantFrame => self.event_loop.want_frame(self.now),
            HostCall::Fetch { id, method, url, headers, body, cache } => {
                self.fetch(id, method, url, headers, body, &cache);
            }
            HostCall::Abort { id } => self.abort(id),
            HostCall::EventSource { id, url } => self.open_event_source(id, url),
            HostCall::CloseEventSource { id } => self.close_event_source(id),
            HostCall::Console { level, text } => self.trace.push(self.now, Event::Console { level, text }),
            HostCall::Error { text } => self.trace.push(self.now, Event::ScriptError { text }),
            HostCall::Render { ids } => self.rendered(ids),
            HostCall::Status { text } => self.status(text),
        }
    }
}
