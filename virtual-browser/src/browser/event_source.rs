//! `EventSource`, as the HTML standard gives it ("9.2 Server-sent events").
//!
//! The page's object lives in the prelude (`EventSource` in `prelude.js`);
//! what happens on the network lives here. Each connection is a request of
//! the page (`network.rs`: latency, injected failures, no HTTP cache) whose
//! answer the server writes as a stream (`server.rs`); each piece of it
//! reaches the page at the moment the server wrote it plus the way back,
//! and is read here:
//!
//! - "Processing model": a `200` with `Content-Type: text/event-stream`
//!   *announces the connection* (OPEN, `open`); any other answer *fails the
//!   connection* (CLOSED, `error`, no reconnection). A network error, or the
//!   stream's end, *reestablishes the connection*: CONNECTING, `error`, and
//!   after the reconnection time a new request, with `Last-Event-ID` when
//!   the last event ID string is not empty. The reconnection time starts at
//!   [`DEFAULT_RECONNECTION_MS`].
//! - "Interpreting an event stream": [`StreamParser`].
//!
//! A hidden page's event sources go on as they are: the standard stops them
//! for nothing but `close()` (and the page going away).

use super::Browser;
use super::event_loop::Job;
use super::server::Piece;
use crate::engine::Task;
use crate::trace::{Event, Outcome};
use std::collections::HashMap;

/// The reconnection time an event source starts with, until a stream's
/// `retry:` sets another. The standard leaves it to the browser ("an
/// implementation-defined value, probably in the region of a few
/// seconds"); 3000 ms is Chromium's (`EventSource::kDefaultReconnectDelay`
/// in third_party/blink/renderer/modules/eventsource/event_source.cc).
/// Firefox waits 5000 ms.
pub(super) const DEFAULT_RECONNECTION_MS: u64 = 3000;

/// Where an event source is ("The `readyState` attribute").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Open,
    Closed,
}

/// One `EventSource` of the page, as the browser keeps it.
#[derive(Debug)]
struct Source {
    /// The page's number for it (each document counts from 1).
    js_id: u32,
    url: String,
    state: State,
    /// The event source's reconnection time, in ms.
    reconnection_ms: u64,
    /// The last event ID string: sent as `Last-Event-ID` on reconnecting.
    last_event_id: String,
    /// The request of its connection while there is one (see `network.rs`).
    connection: Option<usize>,
    /// The current stream's parser.
    parser: StreamParser,
}

/// The page's event sources, by the browser's own number for each, which
/// no later document reuses (a job scheduled for one of the old page's
/// finds nothing).
#[derive(Debug, Default)]
pub(super) struct EventSources {
    sources: HashMap<u64, Source>,
    /// The current document's, by the page's number.
    by_js_id: HashMap<u32, u64>,
    next: u64,
}

impl EventSources {
    /// The page is gone, and its event sources with it (their connections
    /// were cancelled with its other requests).
    pub(super) fn forget_the_page(&mut self) {
        self.sources.clear();
        self.by_js_id.clear();
    }
}

impl Browser {
    /// `new EventSource(url)`: connect at once ("The `EventSource(url,
    /// eventSourceInitDict)` constructor" fetches as it returns).
    pub(super) fn open_event_source(&mut self, js_id: u32, url: String) {
        let sources = &mut self.event_sources;
        sources.next += 1;
        let key = sources.next;
        let (state, reconnection_ms, last_event_id) = (State::Connecting, DEFAULT_RECONNECTION_MS, String::new());
        let parser = StreamParser::new(String::new());
        let source = Source { js_id, url, state, reconnection_ms, last_event_id, connection: None, parser };
        sources.sources.insert(key, source);
        sources.by_js_id.insert(js_id, key);
        self.connect(key);
    }

    /// `close()`: no more events, no reconnection, and the connection (if
    /// there is one) is dropped, the server's side of the stream with it.
    pub(super) fn close_event_source(&mut self, js_id: u32) {
        let Some(&key) = self.event_sources.by_js_id.get(&js_id) else { return };
        let Some(source) = self.event_sources.sources.get_mut(&key) else { return };
        source.state = State::Closed;
        if let Some(index) = source.connection.take() {
            self.cancel(index);
        }
    }

    /// Send the event source's request: a GET that passes the HTTP cache by
    /// (its cache mode is "no-store"), with `Last-Event-ID` when the last
    /// event ID string is not empty ("reestablish the connection", step 5).
    fn connect(&mut self, key: u64) {
        let source = &self.event_sources.sources[&key];
        let mut headers = vec![
            ("accept".to_owned(), "text/event-stream".to_owned()),
            ("cache-control".to_owned(), "no-cache".to_owned()),
        ];
        // (An ID no header can carry, a control character in it, is left out.)
        let id = &source.last_event_id;
        if !id.is_empty() && axum::http::HeaderValue::from_bytes(id.as_bytes()).is_ok() {
            headers.push(("last-event-id".to_owned(), id.clone()));
        }
        let url = source.url.clone();
        let index = self.send(0, "GET".to_owned(), url, headers, None, "no-store", Some(key));
        self.event_sources.sources.get_mut(&key).expect("the source that connects").connection = Some(index);
    }

    /// The reconnection time is over: connect again, unless the page closed
    /// the source meanwhile (or went).
    pub(super) fn reconnect(&mut self, key: u64) {
        let Some(source) = self.event_sources.sources.get(&key) else { return };
        if source.state == State::Connecting && source.connection.is_none() {
            self.connect(key);
        }
    }

    /// The event source and its state, if request `index` is its current connection.
    fn source_of(&mut self, index: usize) -> Option<(u64, &mut Source)> {
        let key = self.network.requests[index].source?;
        let source = self.event_sources.sources.get_mut(&key)?;
        (source.connection == Some(index)).then_some((key, source))
    }

    /// A piece of the stream of request `index` reaches the page.
    pub(super) fn stream_piece(&mut self, index: usize, piece: Piece) {
        let request = &self.network.requests[index];
        if request.aborted || request.done {
            return; // the page closed it, or it failed: the rest is not read
        }
        match piece {
            Piece::Head { status, headers } => self.stream_head(index, Some((status, headers))),
            Piece::Data(bytes) => self.stream_data(index, &bytes),
            Piece::End => self.stream_ended(index, Outcome::ClosedByServer),
            Piece::Failed => self.stream_ended(index, Outcome::NetworkError),
        }
    }

    /// The answer to request `index` (an event source's) has come, or
    /// (`None`) the network failed before it did. "Processing model": a
    /// network error reestablishes the connection; a status other than 200,
    /// or a `Content-Type` other than `text/event-stream` (its essence:
    /// parameters and case aside), fails it; else the connection is announced.
    pub(super) fn stream_head(&mut self, index: usize, head: Option<(u16, Vec<(String, String)>)>) {
        let Some((status, headers)) = head else {
            self.stream_ended(index, Outcome::NetworkError);
            return;
        };
        let request = &self.network.requests[index];
        let (method, path, request_number) = (request.method.clone(), request.path.clone(), index + 1);
        let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        let content_type = header("content-type").unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let Some((_, source)) = self.source_of(index) else {
            self.finished(index);
            self.server.drop_stream(index);
            return;
        };
        let js_id = source.js_id;
        if status == 200 && essence == "text/event-stream" {
            // "announce the connection"; the new stream's parser takes over
            // the last event ID, as Chromium's does ("The new parser takes
            // over the event ID"), so an event without an `id:` keeps it.
            source.state = State::Open;
            source.parser = StreamParser::new(source.last_event_id.clone());
            self.network.requests[index].opened = true;
            self.trace.push(self.now, Event::StreamOpened { request: request_number, method, path });
            self.run_task(Task::SourceOpen { id: js_id });
            return;
        }
        // "fail the connection": CLOSED, `error`, and no reconnection.
        source.state = State::Closed;
        source.connection = None;
        self.finished(index);
        self.server.drop_stream(index);
        let retry_after = header("retry-after");
        let outcome = Outcome::Status { code: status, messages: None, retry_after, bytes: 0 };
        self.trace.push(self.now, Event::Answered { request: request_number, method, path, outcome });
        if status == 200 {
            // What Chromium's console says (`EventSource::DidReceiveResponse`).
            let text = format!(
                "EventSource's response has a MIME type (\"{essence}\") that is not \"text/event-stream\". \
                 Aborting the connection."
            );
            self.trace.push(self.now, Event::Console { level: "error".to_owned(), text });
        }
        self.run_task(Task::SourceError { id: js_id, closed: true });
    }

    /// Bytes of the stream of request `index`: parse them, and dispatch
    /// each event they finish, one task each, until the page closes the source.
    fn stream_data(&mut self, index: usize, bytes: &[u8]) {
        let request = &self.network.requests[index];
        let (method, path, request_number) = (request.method.clone(), request.path.clone(), index + 1);
        let Some((key, source)) = self.source_of(index) else { return };
        let mut found = Vec::new();
        source.parser.feed(bytes, &mut found);
        for parsed in found {
            let Some(source) = self.event_sources.sources.get_mut(&key) else { return };
            if source.state == State::Closed {
                return; // closed by a listener: the rest is not dispatched
            }
            match parsed {
                Parsed::Retry(ms) => source.reconnection_ms = ms,
                Parsed::Dispatch { last_event_id, event } => {
                    // "dispatch the event", step 1: the last event ID
                    // string is set even when no event goes out.
                    source.last_event_id = last_event_id.clone();
                    let Some((kind, data)) = event else { continue };
                    let id = source.js_id;
                    let (method, path) = (method.clone(), path.clone());
                    let traced = Event::StreamEvent {
                        request: request_number,
                        method,
                        path,
                        kind: kind.clone(),
                        id: last_event_id.clone(),
                    };
                    self.trace.push(self.now, traced);
                    self.run_task(Task::SourceMessage { id, kind, data, last_event_id });
                }
            }
        }
    }

    /// The stream of request `index` is over, by the server's closing it or
    /// by a network error: "reestablish the connection" (CONNECTING, `error`,
    /// and a new request after the reconnection time) unless the page
    /// closed the source.
    fn stream_ended(&mut self, index: usize, outcome: Outcome) {
        self.finished(index);
        self.server.drop_stream(index);
        let request = &self.network.requests[index];
        let (method, path) = (request.method.clone(), request.path.clone());
        self.trace.push(self.now, Event::Answered { request: index + 1, method, path, outcome });
        // Whatever the stream left unfinished is dropped ("Once the end of
        // the file is reached, any pending data must be discarded").
        let now = self.now;
        let Some((key, source)) = self.source_of(index) else { return };
        source.connection = None;
        if source.state == State::Closed {
            return;
        }
        source.state = State::Connecting;
        let (js_id, at) = (source.js_id, now + source.reconnection_ms);
        self.event_loop.schedule(at, Job::Reconnect(key));
        self.run_task(Task::SourceError { id: js_id, closed: false });
    }
}

/// What a stream's bytes come to ("Interpreting an event stream").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Parsed {
    /// A `retry:` of digits only: the new reconnection time, in ms.
    Retry(u64),
    /// A blank line: the last event ID string becomes `last_event_id`, and
    /// an event of type `.0` with data `.1` goes out, if the data buffer
    /// was not empty.
    Dispatch { last_event_id: String, event: Option<(String, String)> },
}

/// The HTML standard's "Interpreting an event stream", fed a stream's bytes
/// as they come:
///
/// - the stream is UTF-8, and one leading byte order mark is skipped;
/// - lines end with CRLF, LF or CR (a CR at the end of one piece and an LF
///   at the start of the next are one line break);
/// - a blank line dispatches the event; a line that starts with `:` is a
///   comment (a keep-alive), ignored; any other is a field, `name: value`
///   (one space after the colon is dropped; a line without a colon is a
///   name with an empty value);
/// - `event` sets the event type buffer, `data` adds its value and an LF to
///   the data buffer, `id` sets the last event ID buffer unless its value
///   holds a NUL, `retry` sets the reconnection time if its value is ASCII
///   digits only (an empty one, or `1.5`, is ignored); other fields are
///   ignored;
/// - an event is dispatched with its data buffer without the last LF, as a
///   `"message"` unless the event type buffer says otherwise; an empty data
///   buffer dispatches nothing; the data and type buffers are emptied, and
///   the last event ID buffer is kept for the events after.
///
/// An event the stream leaves unfinished when it ends is never dispatched.
#[derive(Debug)]
pub(super) struct StreamParser {
    /// Bytes of the line not finished yet (the first line's BOM included,
    /// until there are enough to know).
    line: Vec<u8>,
    /// The byte order mark has been looked for.
    bom_checked: bool,
    /// The last line ended with a CR: an LF right after it is not a line.
    after_cr: bool,
    data: String,
    event_type: String,
    last_event_id: String,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl StreamParser {
    /// A parser for a new stream, whose last event ID buffer starts as `last_event_id`.
    pub(super) fn new(last_event_id: String) -> StreamParser {
        StreamParser {
            line: Vec::new(),
            bom_checked: false,
            after_cr: false,
            data: String::new(),
            event_type: String::new(),
            last_event_id,
        }
    }

    /// Read `bytes`, and add what they finish to `found`.
    pub(super) fn feed(&mut self, bytes: &[u8], found: &mut Vec<Parsed>) {
        for &byte in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match byte {
                b'\n' if after_cr => {} // the LF of a CRLF
                b'\r' | b'\n' => {
                    self.after_cr = byte == b'\r';
                    self.skip_bom();
                    let line = std::mem::take(&mut self.line);
                    self.line_done(&String::from_utf8_lossy(&line), found);
                }
                _ => {
                    self.line.push(byte);
                    if !self.bom_checked && (self.line.len() >= BOM.len() || !BOM.starts_with(&self.line)) {
                        self.skip_bom();
                    }
                }
            }
        }
    }

    /// Drop a byte order mark the stream starts with; look only once.
    fn skip_bom(&mut self) {
        if !self.bom_checked {
            self.bom_checked = true;
            if self.line.starts_with(BOM) {
                self.line.drain(..BOM.len());
            }
        }
    }

    fn line_done(&mut self, line: &str, found: &mut Vec<Parsed>) {
        if line.is_empty() {
            self.dispatch(found);
            return;
        }
        if line.starts_with(':') {
            return; // a comment
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "event" => value.clone_into(&mut self.event_type),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => value.clone_into(&mut self.last_event_id),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // (Digits too many for a u64 are ignored, as in Chromium.)
                if let Ok(ms) = value.parse() {
                    found.push(Parsed::Retry(ms));
                }
            }
            _ => {} // an unknown field, or a value the field ignores
        }
    }

    /// "dispatch the event".
    fn dispatch(&mut self, found: &mut Vec<Parsed>) {
        let last_event_id = self.last_event_id.clone();
        let mut data = std::mem::take(&mut self.data);
        let kind = std::mem::take(&mut self.event_type);
        if data.is_empty() {
            found.push(Parsed::Dispatch { last_event_id, event: None });
            return;
        }
        data.pop(); // the last LF
        let kind = if kind.is_empty() { "message".to_owned() } else { kind };
        found.push(Parsed::Dispatch { last_event_id, event: Some((kind, data)) });
    }
}
