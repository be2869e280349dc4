//! The network as the page sees it: each request's way there and back
//! ([`Latency`]), the failures a scenario injects ([`Failure`]), Chromium's
//! one GET per URL at a time, and the HTTP cache's `ETag` revalidation.
//!
//! A request goes through three jobs: `fetch` sends it (or queues it behind
//! an earlier GET to the same URL), [`Job::Answer`] is its arrival at the
//! server (`server.rs` takes it from there), and [`Job::Deliver`] is its
//! answer's arrival back in the page.

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

/// One `fetch` of the page, numbered by its place in `Network::requests`.
#[derive(Debug)]
pub(super) struct Request {
    aborted: bool,
    js_id: u32,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    failure: Option<Failure>,
    /// How long its answer takes to travel back: the second half of its latency.
    pub(super) back: u64,
    /// Its whole latency, counted from when it leaves the browser.
    latency: u64,
    /// Held in the browser behind an earlier GET to the same URL (see `fetch`).
    waiting: bool,
    /// Its answer (or failure) has arrived, or the page aborted it.
    done: bool,
}

/// The scenario's network and every request the page made on it.
pub(super) struct Network {
    pub(super) latency: Latency,
    pub(super) failures: Vec<(Range<u64>, Failure)>,
    pub(super) requests: Vec<Request>,
    /// Answers a browser cache may keep, by URL (see [`Browser::http_cache`]).
    pub(super) cache: Option<HashMap<String, Kept>>,
}

impl Network {
    /// A 50 ms network that never fails, and no cache.
    pub(super) fn new() -> Network {
        Network { latency: Latency::Fixed(50), failures: Vec::new(), requests: Vec::new(), cache: None }
    }
}

impl Browser {
    /// The page calls `fetch`: the request leaves now, or waits in the
    /// browser behind a GET to the same URL.
    pub(super) fn fetch(
        &mut self,
        id: u32,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
    ) {
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
        // Chromium sends one GET per URL at a time: its HTTP cache
        // lets one request fill an entry, and a second GET to the same
        // URL waits in the browser until the first's answer is in.
        // (Measured in the real-browser tier: a setInterval client's
        // polls reach the server back to back, never two at once.)
        let waiting = method == "GET"
            && self.network.requests.iter().any(|r| r.method == "GET" && r.path == path && !r.done && !r.aborted);
        if waiting {
            let (method, path) = (method.clone(), path.clone());
            self.trace.push(self.now, Event::Queued { request: number, method, path });
        } else {
            self.event_loop.schedule(self.now + latency / 2, Job::Answer(number - 1));
        }
        let (aborted, done) = (false, false);
        let request =
            Request { aborted, js_id: id, method, path, headers, body, failure, back, latency, waiting, done };
        self.network.requests.push(request);
    }

    /// An `AbortController` aborted the page's fetch `id`.
    pub(super) fn abort(&mut self, id: u32) {
        // The newest with that id: each document numbers its fetches from 1.
        let Some(index) = self.network.requests.iter().rposition(|r| r.js_id == id) else { return };
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

    /// The page gave up on request `index`: its answer will not reach it.
    fn cancel(&mut self, index: usize) {
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
        let request = &self.network.requests[index];
        let (method, path) = (request.method.clone(), request.path.clone());
        let outcome = Outcome::Aborted;
        self.trace.push(self.now, Event::Answered { request: index + 1, method, path, outcome });
    }

    /// Request `index` is over (answered, failed or aborted): the next GET
    /// waiting in the browser for the same URL, if any, leaves now.
    pub(super) fn finished(&mut self, index: usize) {
        let requests = &mut self.network.requests;
        requests[index].done = true;
        let (method, path) = (requests[index].method.clone(), requests[index].path.clone());
        let next = requests.iter().position(|r| r.waiting && !r.aborted && r.method == method && r.path == path);
        if let Some(next) = next {
            requests[next].waiting = false;
            let latency = requests[next].latency;
            self.trace.push(self.now, Event::LeftBrowser { request: next + 1, method, path });
            self.event_loop.schedule(self.now + latency / 2, Job::Answer(next));
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
                let cache = self.network.cache.as_ref();
                let cached = cache.and_then(|c| c.get(&path)).filter(|_| method == "GET").cloned();
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
        let storable = !header("cache-control").is_some_and(|c| c.contains("no-store"));
        if let (Some(cache), Some(etag), true, true, "GET") =
            (self.network.cache.as_mut(), header("etag"), storable, status == 200, method.as_str())
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
