//! The network as the page sees it: each request's way there and back
//! ([`Latency`]), the failures a scenario injects ([`Failure`]), Chromium's
//! cache lock (one GET per URL at a time, for up to 20 s), and the HTTP
//! cache: `ETag` revalidation, and `fetch`'s `cache` option ([`CacheMode`]).
//!
//! A request goes through three jobs: `fetch` sends it (or queues it behind
//! an earlier GET to the same URL), [`Job::Answer`] is its arrival at the
//! server (`server.rs` takes it from there), and [`Job::Deliver`] is its
//! answer's arrival back in the page. The cache is asked when the request
//! leaves the browser: it may answer at once ([`Job::FromCache`]), or add
//! `If-None-Match` to what goes to the server.

use super::Browser;
use super::chat::poll_messages;
use super::event_loop::Job;
use super::server::Answer;
use crate::engine::Task;
use crate::trace::{Event, Outcome};
use std::collections::HashMap;
use std::ops::Range;

/// The origin the page is served from, for absolute URLs in `fetch`.
pub const ORIGIN: &str = "http://127.0.0.1:3000";

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

/// An answer a browser cache keeps: its tag, to ask `If-None-Match` with,
/// and what to hand the page on `304 Not Modified`.
#[derive(Debug, Clone)]
pub(super) struct Kept {
    etag: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// How long a GET waits in the browser for the cache lock before it goes to
/// the network without the cache. Why 20 s: Chromium's
/// `HttpCache::Transaction::AddCacheLockTimeoutHandler`
/// (net/http/http_cache_transaction.cc) sets `int timeout_milliseconds = 20
/// * 1000;`, and on `ERR_CACHE_LOCK_TIMEOUT` `DoAddToEntryComplete` says "The
/// cache is busy, bypass it for this transaction": `mode_ = NONE`, so the
/// request neither revalidates a kept answer nor keeps its own (and an
/// `only-if-cached` one, which may not use the network, fails).
pub(super) const CACHE_LOCK_TIMEOUT_MS: u64 = 20_000;

/// A `fetch`'s `cache` option: how the request asks the HTTP cache, as the
/// Fetch standard's cache modes say and Chromium does (the web-platform
/// tests' `fetch/api/request/request-cache-*.html` check each):
///
/// | mode | reads a kept answer | stores the answer | cache lock |
/// |---|---|---|---|
/// | `default` | revalidates it (`If-None-Match`) | yes | waits |
/// | `no-store` | no | no | none |
/// | `reload` | no | yes | takes it, never waits |
/// | `no-cache` | revalidates it, always | yes | waits |
/// | `force-cache` | uses it as it is, without the network | yes | waits |
/// | `only-if-cached` | uses it as it is; without one, fails | no | waits |
///
/// `no-store` and `reload` also send `Pragma: no-cache` and `Cache-Control:
/// no-cache`, and `no-cache` sends `Cache-Control: max-age=0` (each unless
/// the page set that header). A `default` request that carries a
/// conditional header of the page's own (`If-None-Match`, say) is a
/// `no-store` one. Freshness (`max-age`, `Expires`) is not modelled: every
/// kept answer is revalidated, as the course's `Cache-Control: no-cache`
/// answers ask.
///
/// The lock is Chromium's (an `HttpCache::Transaction` adds itself to the
/// URL's cache entry and waits while another one writes it): `no-store`
/// (`LOAD_DISABLE_CACHE`) passes the cache by, so it neither takes the lock
/// nor waits for it; `reload` (`LOAD_BYPASS_CACHE`) dooms the entry and
/// writes a new one at once, and the GETs after it wait for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CacheMode {
    Default,
    NoStore,
    Reload,
    NoCache,
    ForceCache,
    OnlyIfCached,
}

impl CacheMode {
    /// The mode `fetch` was given (the page's prelude has refused any other).
    fn named(name: &str) -> CacheMode {
        match name {
            "no-store" => CacheMode::NoStore,
            "reload" => CacheMode::Reload,
            "no-cache" => CacheMode::NoCache,
            "force-cache" => CacheMode::ForceCache,
            "only-if-cached" => CacheMode::OnlyIfCached,
            _ => CacheMode::Default,
        }
    }
}

/// One `fetch` of the page (or one connection of an `EventSource`),
/// numbered by its place in `Network::requests`.
#[derive(Debug)]
pub(super) struct Request {
    pub(super) aborted: bool,
    js_id: u32,
    pub(super) method: String,
    pub(super) path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    failure: Option<Failure>,
    /// How long its answer takes to travel back: the second half of its latency.
    pub(super) back: u64,
    /// Its whole latency, counted from when it leaves the browser.
    latency: u64,
    /// Held in the browser behind an earlier GET to the same URL (see `fetch`).
    waiting: bool,
    /// Its answer (or failure) has arrived, or the page aborted it; for a
    /// stream, it has ended.
    pub(super) done: bool,
    /// How it asks the HTTP cache.
    cache: CacheMode,
    /// The URL's cache entry it writes or waits for (see `Network::entries`);
    /// `None` for a request that passes the cache by, and takes no lock.
    entry: Option<u32>,
    /// It waited for the cache lock too long, and went without the cache.
    bypassed: bool,
    /// The kept answer it revalidates (`If-None-Match`), chosen as it left.
    revalidating: Option<Kept>,
    /// It is a connection of this `EventSource` (the browser's number for
    /// it, see `event_source.rs`): its answer is read as a stream.
    pub(super) source: Option<u64>,
    /// The stream's answer came, and it is open.
    pub(super) opened: bool,
}

impl Request {
    /// It holds the lock of `path`'s cache entry `entry`, or waits for it.
    fn locks(&self, path: &str, entry: Option<u32>) -> bool {
        entry.is_some() && self.entry == entry && self.path == path && !self.done && !self.aborted && !self.bypassed
    }

    /// It may use a kept answer: revalidate it, or take it as it is.
    fn reads_the_cache(&self) -> bool {
        self.method == "GET"
            && !self.bypassed
            && matches!(
                self.cache,
                CacheMode::Default | CacheMode::NoCache | CacheMode::ForceCache | CacheMode::OnlyIfCached
            )
    }

    /// The cache may keep its answer.
    fn stores(&self) -> bool {
        self.method == "GET"
            && !self.bypassed
            && matches!(self.cache, CacheMode::Default | CacheMode::NoCache | CacheMode::Reload | CacheMode::ForceCache)
    }
}

/// The scenario's network and every request the page made on it.
pub(super) struct Network {
    pub(super) latency: Latency,
    pub(super) failures: Vec<(Range<u64>, Failure)>,
    pub(super) requests: Vec<Request>,
    /// Answers a browser cache may keep, by URL (see [`Browser::http_cache`]).
    pub(super) cache: Option<HashMap<String, Kept>>,
    /// Each URL's current cache entry, by number: a `reload` request dooms
    /// the one there was and writes a new one, and the GETs after it wait
    /// for that one (those already waiting go on waiting for theirs).
    entries: HashMap<String, u32>,
}

impl Network {
    /// A 50 ms network that never fails, and no cache.
    pub(super) fn new() -> Network {
        Network {
            latency: Latency::Fixed(50),
            failures: Vec::new(),
            requests: Vec::new(),
            cache: None,
            entries: HashMap::new(),
        }
    }
}

/// Request headers that make a request conditional: the page revalidates
/// for itself, and the Fetch standard turns a `default` request with one
/// into a `no-store` one.
const CONDITIONAL_HEADERS: [&str; 5] =
    ["if-modified-since", "if-none-match", "if-unmodified-since", "if-match", "if-range"];

/// `headers` with `name: value` added, unless the page set `name` itself.
fn add_unless_set(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
        headers.push((name.to_owned(), value.to_owned()));
    }
}

impl Browser {
    /// The page calls `fetch` (`cache` is its `cache` option): the request
    /// leaves now, or waits in the browser behind a GET to the same URL.
    pub(super) fn fetch(
        &mut self,
        id: u32,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
        cache: &str,
    ) {
        self.send(id, method, url, headers, body, cache, None);
    }

    /// Send a request of the page: a `fetch` (`id` is its promise's), or a
    /// connection of `EventSource` `source`. Says its index.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send(
        &mut self,
        id: u32,
        method: String,
        url: String,
        mut headers: Vec<(String, String)>,
        body: Option<String>,
        cache: &str,
        source: Option<u64>,
    ) -> usize {
        let number = self.network.requests.len() + 1;
        let path = url.strip_prefix(ORIGIN).unwrap_or(&url).to_owned();
        let failure = self.network.failures.iter().find(|(w, _)| w.contains(&self.now)).map(|(_, f)| f.clone());
        self.trace.push(self.now, Event::Sent { request: number, method: method.clone(), path: path.clone() });
        // Half the latency on the way there, the rest on the way back:
        // an answer the server gives at once arrives `latency` ms
        // after the request was sent, and one it held arrives half
        // the latency after the server let it go.
        let latency = self.network.latency.for_request(number);
        let back = latency - latency / 2;
        let mut cache = CacheMode::named(cache);
        let conditional = headers.iter().any(|(n, _)| CONDITIONAL_HEADERS.contains(&n.to_ascii_lowercase().as_str()));
        if cache == CacheMode::Default && conditional {
            cache = CacheMode::NoStore;
        }
        match cache {
            CacheMode::NoStore | CacheMode::Reload => {
                add_unless_set(&mut headers, "pragma", "no-cache");
                add_unless_set(&mut headers, "cache-control", "no-cache");
            }
            CacheMode::NoCache => add_unless_set(&mut headers, "cache-control", "max-age=0"),
            _ => {}
        }
        // Chromium sends one GET per URL at a time: its HTTP cache lets
        // one request fill an entry, and a second GET to the same URL
        // waits in the browser until the first's answer is in (measured
        // in the real-browser tier: a setInterval client's polls reach
        // the server back to back, never two at once), or for 20 s at
        // most. `no-store` passes the cache by, lock and all; `reload`
        // writes a new entry at once (see `CacheMode`).
        let entry = (method == "GET" && cache != CacheMode::NoStore).then(|| {
            let current = self.network.entries.entry(path.clone()).or_insert(0);
            if cache == CacheMode::Reload {
                *current += 1;
            }
            *current
        });
        let waiting = cache != CacheMode::Reload && self.network.requests.iter().any(|r| r.locks(&path, entry));
        if waiting {
            let (method, path) = (method.clone(), path.clone());
            self.trace.push(self.now, Event::Queued { request: number, method, path });
            self.event_loop.schedule(self.now + CACHE_LOCK_TIMEOUT_MS, Job::CacheLockTimeout(number - 1));
        }
        let (aborted, done, bypassed, revalidating, opened) = (false, false, false, None, false);
        let request = Request {
            aborted,
            js_id: id,
            method,
            path,
            headers,
            body,
            failure,
            back,
            latency,
            waiting,
            done,
            cache,
            entry,
            bypassed,
            revalidating,
            source,
            opened,
        };
        self.network.requests.push(request);
        if !waiting {
            self.leave(number - 1);
        }
        number - 1
    }

    /// Request `index` leaves the browser, and asks the HTTP cache first as
    /// its mode says: the cache answers it at once, or it goes to the server
    /// (with `If-None-Match` if it revalidates a kept answer).
    fn leave(&mut self, index: usize) {
        let request = &self.network.requests[index];
        let kept = match &self.network.cache {
            Some(cache) if request.reads_the_cache() => cache.get(&request.path).cloned(),
            _ => None,
        };
        let leaves_at = self.now + request.latency / 2;
        match (request.cache, kept) {
            (CacheMode::ForceCache | CacheMode::OnlyIfCached, Some(kept)) => {
                self.event_loop.schedule(self.now, Job::FromCache { index, kept });
            }
            (CacheMode::OnlyIfCached, None) => {
                // Nothing kept, and it may not use the network: it fails.
                self.event_loop.schedule(self.now, Job::Deliver { index, cached: None, answer: None });
            }
            (_, kept) => {
                self.network.requests[index].revalidating = kept;
                self.event_loop.schedule(leaves_at, Job::Answer(index));
            }
        }
    }

    /// Request `index` has waited [`CACHE_LOCK_TIMEOUT_MS`] for the cache
    /// lock: unless it has left already, it goes now, without the cache.
    pub(super) fn cache_lock_timed_out(&mut self, index: usize) {
        let request = &mut self.network.requests[index];
        if !request.waiting || request.aborted || request.done {
            return;
        }
        request.waiting = false;
        request.bypassed = true;
        if request.cache == CacheMode::OnlyIfCached {
            // It may not use the network, and could not use the cache: it fails.
            self.event_loop.schedule(self.now, Job::Deliver { index, cached: None, answer: None });
            return;
        }
        let (method, path) = (request.method.clone(), request.path.clone());
        self.trace.push(self.now, Event::LeftBrowser { request: index + 1, method, path });
        self.leave(index);
    }

    /// The HTTP cache answers request `index` with what it kept, as a `200`,
    /// without the network (nothing crosses it: 0 bytes).
    pub(super) fn answer_from_cache(&mut self, index: usize, kept: Kept) {
        if self.network.requests[index].aborted {
            return; // the page gave up on it
        }
        self.finished(index);
        let request = &self.network.requests[index];
        let (js_id, method, path) = (request.js_id, request.method.clone(), request.path.clone());
        let Kept { headers, body, .. } = kept;
        let outcome = Outcome::Status { code: 200, messages: poll_messages(&body), retry_after: None, bytes: 0 };
        self.trace.push(self.now, Event::Answered { request: index + 1, method, path, outcome });
        self.run_task(Task::FetchDone { id: js_id, status: 200, headers, body });
    }

    /// An `AbortController` aborted the page's fetch `id`.
    pub(super) fn abort(&mut self, id: u32) {
        // The newest with that id: each document numbers its fetches from 1.
        let fetch = |r: &Request| r.js_id == id && r.source.is_none();
        let Some(index) = self.network.requests.iter().rposition(fetch) else { return };
        self.cancel(index);
    }

    /// The page is unloaded (a reload): each of its requests still on its
    /// way is cancelled, those waiting in the browser first, so that none of
    /// them leaves when the request before it goes.
    pub(super) fn cancel_requests(&mut self) {
        let requests = &self.network.requests;
        let mut open: Vec<usize> = (0..requests.len()).filter(|&i| !requests[i].done && !requests[i].aborted).collect();
        open.sort_by_key(|&i| !requests[i].waiting);
        for index in open {
            self.cancel(index);
        }
    }

    /// The page gave up on request `index`: its answer will not reach it
    /// (a stream's: no more of it will).
    pub(super) fn cancel(&mut self, index: usize) {
        let answered = self.trace.spans().iter().any(|s| s.request == index + 1 && s.answered.is_some());
        if answered || self.network.requests[index].aborted {
            return;
        }
        self.network.requests[index].aborted = true;
        if self.network.requests[index].waiting {
            self.network.requests[index].done = true; // it never left the browser
        } else {
            self.finished(index);
        }
        // Held by the server: dropped, as when a browser closes the connection.
        self.server.drop_held(index);
        self.server.drop_stream(index);
        let request = &self.network.requests[index];
        let (method, path) = (request.method.clone(), request.path.clone());
        let outcome = if request.opened { Outcome::ClosedByPage } else { Outcome::Aborted };
        self.trace.push(self.now, Event::Answered { request: index + 1, method, path, outcome });
    }

    /// Request `index` is over (answered, failed or aborted): if it held
    /// its URL's cache lock, the next GET waiting in the browser for that
    /// entry, if any, leaves now.
    pub(super) fn finished(&mut self, index: usize) {
        let requests = &mut self.network.requests;
        let request = &requests[index];
        // (An aborted one held it too, until now.)
        let held = request.entry.is_some() && !request.bypassed && !request.waiting && !request.done;
        requests[index].done = true;
        if !held {
            return; // it took no lock, or went without it
        }
        let (entry, method, path) =
            (requests[index].entry, requests[index].method.clone(), requests[index].path.clone());
        let next = requests.iter().position(|r| r.waiting && r.locks(&path, entry));
        if let Some(next) = next {
            requests[next].waiting = false;
            self.trace.push(self.now, Event::LeftBrowser { request: next + 1, method, path });
            self.leave(next);
        }
    }

    /// Request `index` reaches the server: its answer (or failure) is sent
    /// back, or the server holds it.
    pub(super) fn answer(&mut self, index: usize) {
        let request = &self.network.requests[index];
        let (method, path, back) = (request.method.clone(), request.path.clone(), request.back);
        let (status, headers, body) = match request.failure.clone() {
            Some(Failure::NetworkError) => {
                self.event_loop.schedule(self.now + back, Job::Deliver { index, cached: None, answer: None });
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
                if request.source.is_some() {
                    self.serve_stream(index, &method, &path, &headers);
                    return;
                }
                let cached = request.revalidating.clone();
                if let Some(kept) = &cached {
                    headers.push(("if-none-match".to_owned(), kept.etag.clone()));
                }
                self.serve_request(index, cached, &method, &path, &headers, body);
                return;
            }
        };
        let answer = Some((status, headers, body));
        self.event_loop.schedule(self.now + back, Job::Deliver { index, cached: None, answer });
    }

    /// The answer to request `index` (`None`: a network error) reaches the
    /// page, unless the page gave up on it.
    pub(super) fn arrive(&mut self, index: usize, cached: Option<Kept>, answer: Option<Answer>) {
        if self.network.requests[index].aborted {
            return; // the page gave up on it before it arrived
        }
        if self.network.requests[index].source.is_some() {
            // An `EventSource`'s, failed by the scenario: its head, or none.
            self.stream_head(index, answer.map(|(status, headers, _)| (status, headers)));
            return;
        }
        self.finished(index);
        match answer {
            Some(answer) => self.deliver(index, cached, answer),
            None => self.network_error(index),
        }
    }

    /// The server answered request `index`: show the page the answer (or, on
    /// a 304 to a cached request, the kept answer, as a browser does).
    fn deliver(&mut self, index: usize, cached: Option<Kept>, (status, headers, body): Answer) {
        let request = &self.network.requests[index];
        let (js_id, method, path) = (request.js_id, request.method.clone(), request.path.clone());
        if let (304, Some(Kept { headers: kept_headers, body: kept_body, .. })) = (status, cached) {
            let outcome =
                Outcome::Status { code: 304, messages: poll_messages(&kept_body), retry_after: None, bytes: 0 };
            self.trace.push(self.now, Event::Answered { request: index + 1, method, path, outcome });
            self.run_task(Task::FetchDone { id: js_id, status: 200, headers: kept_headers, body: kept_body });
            return;
        }
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let storable = request.stores() && !header("cache-control").is_some_and(|c| c.contains("no-store"));
        if let (Some(cache), Some(etag), true, true) =
            (self.network.cache.as_mut(), header("etag"), storable, status == 200)
        {
            cache.insert(path.clone(), Kept { etag, headers: headers.clone(), body: body.clone() });
        }
        let retry_after = header("retry-after");
        let outcome = Outcome::Status { code: status, messages: poll_messages(&body), retry_after, bytes: body.len() };
        self.trace.push(self.now, Event::Answered { request: index + 1, method, path, outcome });
        self.run_task(Task::FetchDone { id: js_id, status, headers, body });
    }

    /// No answer came for request `index`: `fetch` rejects.
    pub(super) fn network_error(&mut self, index: usize) {
        let request = &self.network.requests[index];
        let (js_id, method, path) = (request.js_id, request.method.clone(), request.path.clone());
        let outcome = Outcome::NetworkError;
        self.trace.push(self.now, Event::Answered { request: index + 1, method, path, outcome });
        self.run_task(Task::FetchFailed { id: js_id });
    }
}

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".to_owned(), "application/json".to_owned())]
}

fn injected_error(status: u16) -> String {
    serde_json::json!({ "error": format!("the scenario made the server answer {status}") }).to_string()
}
