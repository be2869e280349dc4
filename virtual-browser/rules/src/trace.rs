//! What happened, in order: one line per event, ready for a snapshot, and
//! queries for the checks.

use std::fmt;
use std::ops::Range;

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer. `messages` counts the `msg` list of a poll answer;
    /// `bytes` is the size of the body that crossed the network.
    Status { code: u16, messages: Option<usize>, retry_after: Option<String>, bytes: usize },
    /// No answer: `fetch` rejected.
    NetworkError,
    /// The page gave up on it (`AbortController`), before the answer came.
    Aborted,
    /// A stream (an `EventSource`'s) that opened, and that the server ended.
    ClosedByServer,
    /// A stream that opened, and that the page closed (`close()`, or it went).
    ClosedByPage,
}

impl Outcome {
    /// A 2xx answer, or a stream that opened (a 200) and was closed.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Status { code: 200..=299, .. } | Outcome::ClosedByServer | Outcome::ClosedByPage)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::NetworkError => write!(f, "network error"),
            Outcome::Aborted => write!(f, "aborted by the page"),
            Outcome::ClosedByServer => write!(f, "closed by the server"),
            Outcome::ClosedByPage => write!(f, "closed by the page"),
            Outcome::Status { code, messages, retry_after, .. } => {
                write!(f, "{code}")?;
                match messages {
                    Some(1) => write!(f, " (1 msg)")?,
                    Some(n) => write!(f, " ({n} msgs)")?,
                    None => {}
                }
                if let Some(seconds) = retry_after {
                    write!(f, " Retry-After: {seconds}")?;
                }
                Ok(())
            }
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Loaded {
        page: String,
    },
    /// The page sent request number `request` (1, 2, ...).
    Sent {
        request: usize,
        method: String,
        path: String,
    },
    /// Request `request` waits in the browser: a GET to the same URL is in flight.
    Queued {
        request: usize,
        method: String,
        path: String,
    },
    /// The request that waited leaves the browser, the one before it being over.
    LeftBrowser {
        request: usize,
        method: String,
        path: String,
    },
    /// A stream's answer arrived (an `EventSource`'s: `200`, `text/event-stream`),
    /// and the stream is open; its [`Event::Answered`] comes when it ends.
    StreamOpened {
        request: usize,
        method: String,
        path: String,
    },
    /// An open stream's event reached the page: its type (`"message"` unless
    /// the stream named another) and its last event ID (may be empty).
    StreamEvent {
        request: usize,
        method: String,
        path: String,
        kind: String,
        id: String,
    },
    /// Its answer arrived (or the network failed).
    Answered {
        request: usize,
        method: String,
        path: String,
        outcome: Outcome,
    },
    Hidden,
    Visible,
    /// Another user posted straight to the server.
    OtherUserPosted {
        user: String,
        text: String,
        status: u16,
    },
    /// The server restarted: a new app, with a new, empty store.
    ServerRestarted,
    /// The user pressed Send in the page's form.
    UserSent {
        user: String,
        text: String,
    },
    /// The page showed these messages (by id).
    Rendered {
        ids: Vec<u64>,
    },
    /// The page's status line changed.
    Status {
        text: String,
    },
    Console {
        level: String,
        text: String,
    },
    /// An uncaught exception or unhandled rejection in the page.
    ScriptError {
        text: String,
    },
    /// The page was stopped (it does not parse, or it hung).
    Halted {
        reason: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Loaded { page } => write!(f, "page loads {page}"),
            Event::Sent { request, method, path } => write!(f, "{method} {path} #{request} sent"),
            Event::Queued { request, method, path } => {
                write!(f, "{method} {path} #{request} waits in the browser: the same GET is in flight")
            }
            Event::LeftBrowser { request, method, path } => write!(f, "{method} {path} #{request} leaves the browser"),
            Event::StreamOpened { request, method, path } => write!(f, "{method} {path} #{request} open"),
            Event::StreamEvent { request, method, path, kind, id } => {
                write!(f, "{method} {path} #{request} event {kind:?}")?;
                if !id.is_empty() {
                    write!(f, " id {id}")?;
                }
                Ok(())
            }
            Event::Answered { request, method, path, outcome } => write!(f, "{method} {path} #{request} -> {outcome}"),
            Event::ServerRestarted => write!(f, "the server restarts"),
            Event::Hidden => write!(f, "page hidden"),
            Event::Visible => write!(f, "page visible"),
            Event::OtherUserPosted { user, text, status } => {
                write!(f, "{user} posts {text:?} (server: {status})")
            }
            Event::UserSent { user, text } => write!(f, "user sends {text:?} as {user}"),
            Event::Rendered { ids } => match (ids.len(), ids.last()) {
                (0, _) => write!(f, "shows 0 msgs"),
                (1, Some(id)) => write!(f, "shows 1 msg (id {id})"),
                (n, Some(last)) => write!(f, "shows {n} msgs (ids {}..{last})", ids[0]),
                (_, None) => unreachable!(),
            },
            Event::Status { text } if text.is_empty() => write!(f, "status cleared"),
            Event::Status { text } => write!(f, "status: {text}"),
            Event::Console { level, text } => write!(f, "console.{level}: {text}"),
            Event::ScriptError { text } => write!(f, "error: {text}"),
            Event::Halted { reason } => write!(f, "page stopped: {reason}"),
        }
    }
}

/// A request from the page, from sending to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub request: usize,
    pub method: String,
    pub path: String,
    pub sent: u64,
    /// When the answer arrived; `None` while it is still in flight.
    pub answered: Option<u64>,
    pub outcome: Option<Outcome>,
}

impl Span {
    /// In flight at `t`: sent at or before, not yet answered.
    pub fn in_flight_at(&self, t: u64) -> bool {
        self.sent <= t && self.answered.is_none_or(|done| done > t)
    }

    /// It got an error answer or none (an abort is the page's choice, not a failure).
    pub fn failed(&self) -> bool {
        self.outcome.as_ref().is_some_and(|o| !o.is_success() && *o != Outcome::Aborted)
    }
}

/// Everything that happened, with the time of each event (virtual ms).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    events: Vec<(u64, Event)>,
}

impl Trace {
    pub fn push(&mut self, at: u64, event: Event) {
        self.events.push((at, event));
    }

    pub fn events(&self) -> &[(u64, Event)] {
        &self.events
    }

    /// The page's requests, in the order sent.
    pub fn spans(&self) -> Vec<Span> {
        let mut spans: Vec<Span> = Vec::new();
        // Where each request's span is, to find it in one step: the
        // classroom checks traces of hundreds of requests a second.
        let mut index: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        for (at, event) in &self.events {
            match event {
                Event::Sent { request, method, path } => {
                    index.entry(*request).or_insert(spans.len());
                    spans.push(Span {
                        request: *request,
                        method: method.clone(),
                        path: path.clone(),
                        sent: *at,
                        answered: None,
                        outcome: None,
                    })
                }
                Event::Answered { request, outcome, .. } => {
                    if let Some(span) = index.get(request).map(|&i| &mut spans[i]) {
                        span.answered = Some(*at);
                        span.outcome = Some(outcome.clone());
                    }
                }
                _ => {}
            }
        }
        spans
    }

    /// The page's requests to `path` (query ignored), e.g. the polls.
    pub fn spans_to(&self, path: &str) -> Vec<Span> {
        self.spans().into_iter().filter(|s| s.path.split('?').next() == Some(path)).collect()
    }

    /// When each request to `path` (query ignored) left the browser: when
    /// the page sent it, or, for a GET that waited behind the same GET, when
    /// it stopped waiting. What a server (or a packet capture) would see.
    pub fn departures_to(&self, path: &str) -> Vec<u64> {
        let on_path = |p: &String| p.split('?').next() == Some(path);
        let mut departures: Vec<(usize, u64)> = Vec::new();
        for (at, event) in &self.events {
            match event {
                Event::Sent { request, path, .. } | Event::LeftBrowser { request, path, .. } if on_path(path) => {
                    departures.retain(|(r, _)| r != request);
                    departures.push((*request, *at));
                }
                Event::Queued { request, .. } => departures.retain(|(r, _)| r != request),
                _ => {}
            }
        }
        departures.sort_by_key(|(_, at)| *at);
        departures.into_iter().map(|(_, at)| at).collect()
    }

    /// When the page was hidden; a window still open at `end` closes there.
    pub fn hidden_windows(&self, end: u64) -> Vec<Range<u64>> {
        let mut windows = Vec::new();
        let mut since = None;
        for (at, event) in &self.events {
            match event {
                Event::Hidden => since = Some(*at),
                Event::Visible => {
                    if let Some(start) = since.take() {
                        windows.push(start..*at);
                    }
                }
                _ => {}
            }
        }
        if let Some(start) = since {
            windows.push(start..end.max(start));
        }
        windows
    }

    /// Script errors and the reason the page stopped, if it did.
    pub fn errors(&self) -> Vec<(u64, String)> {
        self.events
            .iter()
            .filter_map(|(at, event)| match event {
                Event::ScriptError { text } | Event::Halted { reason: text } => Some((*at, text.clone())),
                _ => None,
            })
            .collect()
    }

    /// What the page logged with `console.log`, in order.
    pub fn logged(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|(_, event)| match event {
                Event::Console { level, text } if level == "log" => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    /// The lines for the events `keep` accepts, in the same form as the whole trace.
    pub fn text_where(&self, keep: impl Fn(&Event) -> bool) -> String {
        let mut text = String::new();
        for (at, event) in self.events.iter().filter(|(_, e)| keep(e)) {
            text.push_str(&format!("{at:>7} ms  {event}\n"));
        }
        text
    }
}

impl fmt::Display for Trace {
    /// One line per event: `   3080 ms  GET /poll #2 -> 200 (2 msgs)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text_where(|_| true))
    }
}
