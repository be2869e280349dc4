//! A simulated room: learners' clients as small Rust loops that speak to
//! a class server as a joined page does (the join proxy's tags, and the
//! reporter's log of the page's own polls), over real sockets, in real
//! time. The room benchmark runs hundreds of them; the dashboard's
//! screenshot is taken of a room of them.
//!
//! Each behaves as one of the course's clients does, or as a known wrong
//! one: a chain (exercise 02 on), a long poll (07), a stream (08),
//! `setInterval` (the mistake of chapter 02), polling on while hidden
//! (chapter 03's), retrying at once forever (chapter 04's).

use crate::join::Upstream;
use crate::room::Tag;
use axum::body::Body;
use axum::http::{HeaderValue, Request};
use http_body_util::BodyExt;
use std::time::{Duration, Instant};

/// The course's retry schedule, as exercise 04 keeps it.
const SCHEDULE_MS: [u64; 4] = backoff::RETRY_SCHEDULE_MS;

/// How a simulated learner's client behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Poll, wait `interval` after each answer; back off on failure, with
    /// jitter, honouring `Retry-After` (exercises 04 to 06).
    Chain { interval: Duration },
    /// A long poll, asked again the moment it is answered (exercise 07).
    LongPoll,
    /// An `EventSource` (exercise 08): one stream, read as events come;
    /// when it ends, opened again after the server's `retry:` with the last
    /// id, when refused, after the backoff's wait; closed while hidden.
    Stream,
    /// A poll every `every`, answered or not (exercise 01's client; wrong
    /// from chapter 02 on).
    SetInterval { every: Duration },
    /// A chain that goes on polling while its page is hidden (wrong from 03).
    IgnoresHidden { interval: Duration },
    /// A chain that retries a failure at once, forever (wrong from 04).
    RetriesAtOnce { interval: Duration },
}

/// One simulated learner.
#[derive(Debug, Clone)]
pub struct Learner {
    pub tag: Tag,
    pub behaviour: Behaviour,
    /// When its page is hidden, from the start of the run.
    pub hidden: Option<std::ops::Range<Duration>>,
}

/// What a learner's run saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub answered: u64,
    /// Answers that were not 2xx or 304.
    pub refused: u64,
    /// Requests that got no answer.
    pub failed: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.answered += other.answered;
        self.refused += other.refused;
        self.failed += other.failed;
    }
}

/// The page's own log, as the reporter keeps it.
struct PageLog {
    load: String,
    started: Instant,
    polls: usize,
    settled: Vec<String>,
}

impl PageLog {
    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

/// The learner's client, until `until`.
pub async fn run(class: Upstream, learner: Learner, until: Instant) -> Tally {
    let started = Instant::now();
    let mut log = PageLog { load: format!("sim{:08x}", fastrand::u32(..)), started, polls: 0, settled: Vec::new() };
    let mut tally = Tally::default();
    report(&class, &learner.tag, &mut log, "loaded").await;
    let (mut since, mut epoch): (Option<u64>, Option<u64>) = (None, None);
    let mut failures = 0usize;
    let mut hidden = false;
    // A stream's last id and `retry:`, as an EventSource keeps them.
    let mut reading = Reading { last_id: None, retry: Duration::from_secs(3) };
    // setInterval's requests run side by side, each on a task of its own.
    let mut beside = tokio::task::JoinSet::new();
    while Instant::now() < until {
        let now = started.elapsed();
        let hide = learner.hidden.as_ref().is_some_and(|window| window.contains(&now));
        if hide != hidden {
            hidden = hide;
            report(&class, &learner.tag, &mut log, if hidden { "hidden" } else { "shown" }).await;
        }
        let keeps_polling = matches!(learner.behaviour, Behaviour::IgnoresHidden { .. });
        if hidden && !keeps_polling {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        if learner.behaviour == Behaviour::Stream {
            // Read until the stream ends, the page hides or the run ends.
            let hides_at = learner.hidden.as_ref().map(|w| started + w.start).filter(|at| *at > Instant::now());
            let stop = hides_at.map_or(until, |at| at.min(until));
            let wait = match stream(&class, &learner.tag, &mut log, &mut reading, stop).await {
                // The browser reconnects by itself, after the server's
                // `retry:`: a stream that ended, or a connection that failed.
                Streamed::Ended => {
                    failures = 0;
                    tally.answered += 1;
                    reading.retry
                }
                Streamed::Failed => {
                    tally.failed += 1;
                    reading.retry
                }
                // A refusal closes the EventSource for good: the page's
                // backoff opens another.
                Streamed::Refused => {
                    tally.refused += 1;
                    failures += 1;
                    let step = SCHEDULE_MS[(failures - 1).min(SCHEDULE_MS.len() - 1)];
                    Duration::from_millis(step / 2 + fastrand::u64(0..=step / 2))
                }
                // The page hid (it closes its stream) or the run is over.
                Streamed::Closed => Duration::ZERO,
            };
            tokio::time::sleep(wait.min(until.saturating_duration_since(Instant::now()))).await;
            continue;
        }
        if let Behaviour::SetInterval { every } = learner.behaviour {
            let request = poll_request(&learner.tag, &mut log, None, None, false);
            let (class, n) = (class.clone(), log.polls);
            beside.spawn(async move { (n, class.send(request).await) });
            tokio::time::sleep(every).await;
            while let Some(Ok((n, response))) = beside.try_join_next() {
                settle(&mut log, &mut tally, &response, n);
            }
            continue;
        }
        let long = learner.behaviour == Behaviour::LongPoll;
        let request = poll_request(&learner.tag, &mut log, since, epoch, long);
        let n = log.polls;
        let response = class.send(request).await;
        let retry_after = settle(&mut log, &mut tally, &response, n);
        let ok = response.status().is_success()
            && response.extensions().get::<chat_page::serve::CloseConnection>().is_none();
        let wait = if ok {
            failures = 0;
            if let Ok(bytes) = axum::body::to_bytes(response.into_body(), 1 << 20).await
                && let Ok(answer) = serde_json::from_slice::<serde_json::Value>(&bytes)
            {
                if let Some(last) = answer["msg"].as_array().and_then(|m| m.last()) {
                    since = last["id"].as_u64().or(since);
                }
                if answer["reset"] == true {
                    since = answer["msg"].as_array().and_then(|m| m.last()).and_then(|m| m["id"].as_u64());
                }
                epoch = answer["epoch"].as_u64().or(epoch);
            }
            match learner.behaviour {
                Behaviour::Chain { interval }
                | Behaviour::IgnoresHidden { interval }
                | Behaviour::RetriesAtOnce { interval } => interval,
                _ => Duration::ZERO,
            }
        } else if let Behaviour::RetriesAtOnce { .. } = learner.behaviour {
            Duration::from_millis(20)
        } else {
            failures += 1;
            let step = SCHEDULE_MS[(failures - 1).min(SCHEDULE_MS.len() - 1)];
            let jittered = step / 2 + fastrand::u64(0..=step / 2);
            Duration::from_millis(jittered.max(retry_after.unwrap_or(0) * 1000))
        };
        tokio::time::sleep(wait.min(until.saturating_duration_since(Instant::now()))).await;
    }
    beside.abort_all();
    tally
}

/// How one stream went.
enum Streamed {
    /// It was open, then it ended (the server closed it, or it broke).
    Ended,
    /// No answer: the connection failed before the stream began.
    Failed,
    /// Not a stream: a 429, a 503 or another refusal.
    Refused,
    /// The page closed it: hidden, or the run is over.
    Closed,
}

/// What an `EventSource` keeps across its reconnections: the last event's
/// id (sent back as `Last-Event-ID`) and the server's last `retry:`
/// (before any, 3 s, Chromium's default).
struct Reading {
    last_id: Option<String>,
    retry: Duration,
}

/// One stream of `/events`, read event by event until it ends or `stop`.
async fn stream(class: &Upstream, tag: &Tag, log: &mut PageLog, reading: &mut Reading, stop: Instant) -> Streamed {
    // An EventSource sends no headers of its own: the page names itself in
    // the URL, and `join` adds the tag. A page reopening after a refusal
    // puts its cursor in the URL; the id header resumes it the same way.
    let mut request = Request::get(format!("/events?client={}", log.load)).body(Body::empty()).expect("a request");
    crate::tag::put(request.headers_mut(), tag);
    if let Some(id) = reading.last_id.as_deref().and_then(|id| HeaderValue::from_str(id).ok()) {
        request.headers_mut().insert("last-event-id", id);
    }
    let response = tokio::select! {
        response = class.send(request) => response,
        () = tokio::time::sleep_until(stop.into()) => return Streamed::Closed,
    };
    if response.extensions().get::<chat_page::serve::CloseConnection>().is_some() {
        return Streamed::Failed;
    }
    if !response.status().is_success() {
        return Streamed::Refused;
    }
    let mut body = response.into_body();
    let mut text = String::new();
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            () = tokio::time::sleep_until(stop.into()) => return Streamed::Closed,
        };
        let Some(Ok(frame)) = frame else { return Streamed::Ended };
        let Ok(data) = frame.into_data() else { continue };
        text.push_str(&String::from_utf8_lossy(&data));
        // Each event ends at a blank line; keep what follows for the next.
        while let Some(end) = text.find("\n\n") {
            for line in text[..end].lines() {
                if let Some(id) = line.strip_prefix("id:") {
                    reading.last_id = Some(id.trim_start().to_owned());
                } else if let Some(ms) = line.strip_prefix("retry:").and_then(|ms| ms.trim().parse().ok()) {
                    reading.retry = Duration::from_millis(ms);
                }
            }
            text.drain(..end + 2);
        }
    }
}

fn poll_request(tag: &Tag, log: &mut PageLog, since: Option<u64>, epoch: Option<u64>, long: bool) -> Request<Body> {
    log.polls += 1;
    let mut query = Vec::new();
    if let (Some(since), Some(epoch)) = (since, epoch) {
        query.push(format!("since={since}&epoch={epoch}"));
    }
    if long {
        query.push("wait=25".to_owned());
    }
    let path = if query.is_empty() { "/poll".to_owned() } else { format!("/poll?{}", query.join("&")) };
    let mut request = Request::get(path).body(Body::empty()).expect("a request");
    let headers = request.headers_mut();
    crate::tag::put(headers, tag);
    if tag.exercise >= 5 {
        // From exercise 05 on, the page says who it is, for the rate limit.
        headers.insert("x-client-id", HeaderValue::from_str(&log.load).expect("a header"));
    }
    let page = format!("{} {} {}", log.load, log.polls, log.now());
    headers.insert(crate::server::PAGE_HEADER, HeaderValue::from_str(&page).expect("a header"));
    let settled = log.settled.drain(..).collect::<Vec<_>>().join(",");
    headers.insert(crate::server::SETTLED_HEADER, HeaderValue::from_str(&settled).expect("a header"));
    request
}

/// Log how poll `n` settled; its `Retry-After`, if any.
fn settle(log: &mut PageLog, tally: &mut Tally, response: &axum::response::Response, n: usize) -> Option<u64> {
    let closed = response.extensions().get::<chat_page::serve::CloseConnection>().is_some();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let how = if closed { "error".to_owned() } else { response.status().as_u16().to_string() };
    log.settled.push(format!("{n}:{}:{how}:{}", log.now(), retry_after.map_or(String::new(), |s: u64| s.to_string())));
    match (closed, response.status().as_u16()) {
        (true, _) => tally.failed += 1,
        (false, 200..=299 | 304) => tally.answered += 1,
        _ => tally.refused += 1,
    }
    retry_after
}

async fn report(class: &Upstream, tag: &Tag, log: &mut PageLog, kind: &str) {
    let settled = log.settled.drain(..).collect::<Vec<_>>().join(",");
    let body = serde_json::json!({ "kind": kind, "load": log.load, "at": log.now(), "settled": settled });
    let mut request = Request::post("/class/report")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("a request");
    crate::tag::put(request.headers_mut(), tag);
    let _ = class.send(request).await;
}

/// A dashboard left open: the feed's long poll, as `dashboard.js` runs it,
/// until `until`. How many answers it read, and their bytes.
pub async fn dashboard(class: Upstream, until: Instant) -> (u64, u64) {
    let (mut version, mut answers, mut bytes) = (0u64, 0u64, 0u64);
    while Instant::now() < until {
        let request =
            Request::get(format!("/class/feed?since={version}&wait=25")).body(Body::empty()).expect("a request");
        let response = class.send(request).await;
        if let Ok(body) = axum::body::to_bytes(response.into_body(), 16 << 20).await {
            answers += 1;
            bytes += body.len() as u64;
            if let Ok(feed) = serde_json::from_slice::<serde_json::Value>(&body) {
                version = feed["version"].as_u64().unwrap_or(version);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (answers, bytes)
}

/// A room for the dashboard's picture: mostly right clients, a few wrong
/// ones, some hidden for a while.
pub fn a_class(size: usize) -> Vec<Learner> {
    const NAMES: [&str; 12] = ["Ada", "Ben", "Cai", "Dee", "Eli", "Fay", "Gus", "Hal", "Ida", "Jo", "Kim", "Lou"];
    (0..size)
        .map(|i| {
            let name = if i < NAMES.len() { NAMES[i].to_owned() } else { format!("Learner {}", i + 1) };
            let second = Duration::from_secs(1);
            let (exercise, behaviour) = match i % 12 {
                0 => (1, Behaviour::SetInterval { every: 3 * second }),
                1 => (2, Behaviour::SetInterval { every: 3 * second }),
                2 | 3 => (2, Behaviour::Chain { interval: 3 * second }),
                4 => (3, Behaviour::IgnoresHidden { interval: 3 * second }),
                5 => (4, Behaviour::RetriesAtOnce { interval: 3 * second }),
                6..=8 => (5, Behaviour::Chain { interval: 3 * second }),
                9 | 10 => (7, Behaviour::LongPoll),
                _ => (8, Behaviour::Stream),
            };
            let hidden = (i % 4 == 0 || i % 12 == 4).then(|| 8 * second..20 * second);
            Learner { tag: Tag { name, exercise }, behaviour, hidden }
        })
        .collect()
}
