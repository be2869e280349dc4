//! `EventSource` in the virtual browser, against axum `Sse` answers (and
//! hand-made `text/event-stream` bodies for the parser's edge cases).
//!
//! The comments name the section of the HTML standard ("9.2 Server-sent
//! events") each behaviour comes from. The latency is the default 50 ms:
//! a request reaches the server 25 ms after it is sent, and what the
//! server writes reaches the page 25 ms after it is written.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, Stream, StreamExt};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use virtual_browser::{Browser, Event, Failure, Page};

/// The trace's console lines only, as "time: text".
fn logs(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter_map(|line| {
            let (time, rest) = line.trim_start().split_once(" ms  console.log: ")?;
            Some(format!("{time}: {rest}"))
        })
        .collect()
}

/// The trace's lines about requests and streams.
fn network(browser: &Browser) -> String {
    browser.trace().text_where(|event| {
        matches!(
            event,
            Event::Sent { .. } | Event::StreamOpened { .. } | Event::StreamEvent { .. } | Event::Answered { .. }
        )
    })
}

/// A page that logs what its event source on `url` does.
fn logging_page(url: &str) -> Page {
    Page::client(
        "/client.js",
        &format!(
            r#"const source = new EventSource("{url}");
               source.onopen = () => console.log("open", source.readyState);
               source.onmessage = (e) => console.log(e.type, e.data, e.lastEventId, e.origin);
               source.onerror = () => console.log("error", source.readyState);"#
        ),
    )
}

/// What a test's stream does, step by step, on the server's clock.
enum Step {
    /// Wait this many ms, then write the event.
    After(u64, SseEvent),
    /// Wait this many ms, then end the stream (the server closes it).
    EndAfter(u64),
    /// Never write again, and never end.
    Hang,
}

/// Counts streams the server dropped (the client went away, or a restart).
struct CountsDrop(Arc<AtomicUsize>);
impl Drop for CountsDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// An `Sse` answer that writes `steps` in order; when they run out, it ends.
fn stream_of(
    steps: Vec<Step>,
    dropped: Option<Arc<AtomicUsize>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let guard = dropped.map(CountsDrop);
    let events = stream::unfold((VecDeque::from(steps), guard), |(mut steps, guard)| async move {
        let (wait, event) = match steps.pop_front()? {
            Step::After(wait, event) => (wait, Some(event)),
            Step::EndAfter(wait) => (wait, None),
            Step::Hang => (u64::MAX, None),
        };
        if wait == u64::MAX {
            std::future::pending::<()>().await;
        }
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        Some((Ok(event?), (steps, guard)))
    });
    Sse::new(events)
}

/// A `text/event-stream` answer written as these frames, all at once, then ended.
fn raw(frames: Vec<&'static [u8]>) -> Response {
    let frames = stream::iter(frames.into_iter().map(|frame| Ok::<_, Infallible>(Bytes::from_static(frame))));
    ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(frames)).into_response()
}

/// The `Last-Event-ID` of each request the server saw, and whether each
/// asked for `text/event-stream` and no cache.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<HeaderMap>>>);

impl Seen {
    fn note(&self, headers: &HeaderMap) -> Option<String> {
        self.0.lock().unwrap().push(headers.clone());
        headers.get("last-event-id").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }
    fn last_event_ids(&self) -> Vec<Option<String>> {
        let seen = self.0.lock().unwrap();
        let id = |h: &HeaderMap| h.get("last-event-id").map(|v| String::from_utf8(v.as_bytes().to_vec()).unwrap());
        seen.iter().map(id).collect()
    }
}

/// `/events`: the first connection writes events 1 to 3 (the first with
/// `retry: 2000`) and the server ends it; a connection that says
/// `Last-Event-ID: 3` gets event 4, and the stream stays open.
fn events_app(seen: Seen) -> Router {
    Router::new().route(
        "/events",
        get(move |headers: HeaderMap| async move {
            let steps = match seen.note(&headers).as_deref() {
                None => vec![
                    Step::After(0, SseEvent::default().id("1").data("one").retry(Duration::from_millis(2000))),
                    Step::After(1000, SseEvent::default().id("2").data("two")),
                    Step::After(1500, SseEvent::default().id("3").data("three")),
                    Step::EndAfter(500),
                ],
                Some("3") => vec![Step::After(0, SseEvent::default().id("4").data("four")), Step::Hang],
                Some(_) => vec![Step::Hang],
            };
            stream_of(steps, None)
        }),
    )
}

#[test]
fn events_arrive_when_the_server_writes_them_and_the_source_reconnects_with_last_event_id() {
    let seen = Seen::default();
    let mut browser = Browser::new(events_app(seen.clone()));
    browser.open(logging_page("/events"));
    let trace = browser.run_until(20_000).to_string();
    // "Processing model": a 200 `text/event-stream` announces the
    // connection (OPEN, `open`); the stream's end reestablishes it:
    // CONNECTING, `error`, and after the reconnection time (2000 ms, from
    // `retry:`) a new request with `Last-Event-ID`.
    assert_eq!(
        logs(&trace),
        [
            "50: open 1",
            "50: message one 1 http://127.0.0.1:3000",
            "1050: message two 2 http://127.0.0.1:3000",
            "2550: message three 3 http://127.0.0.1:3000",
            "3050: error 0",
            "5100: open 1",
            "5100: message four 4 http://127.0.0.1:3000",
        ],
        "{trace}"
    );
    assert_eq!(
        network(&browser),
        [
            "      0 ms  GET /events #1 sent",
            "     50 ms  GET /events #1 open",
            "     50 ms  GET /events #1 event \"message\" id 1",
            "   1050 ms  GET /events #1 event \"message\" id 2",
            "   2550 ms  GET /events #1 event \"message\" id 3",
            "   3050 ms  GET /events #1 -> closed by the server",
            "   5050 ms  GET /events #2 sent",
            "   5100 ms  GET /events #2 open",
            "   5100 ms  GET /events #2 event \"message\" id 4",
            "",
        ]
        .join("\n")
    );
    assert_eq!(seen.last_event_ids(), [None, Some("3".to_owned())]);
    // What every connection asks: the stream, from no cache ("no-store").
    for headers in seen.0.lock().unwrap().iter() {
        assert_eq!(headers["accept"], "text/event-stream");
        assert_eq!(headers["cache-control"], "no-cache");
        assert_eq!(headers["pragma"], "no-cache");
    }
}

#[test]
fn the_reconnection_time_is_3000_ms_until_retry_sets_another() {
    // "Interpreting an event stream": `retry:` of digits sets the
    // reconnection time; until then it is the browser's (Chromium's 3000 ms).
    let seen = Seen::default();
    let noted = seen.clone();
    let app = Router::new().route(
        "/ends",
        get(move |headers: HeaderMap| async move {
            let steps = match noted.0.lock().unwrap().len() {
                0 => vec![],
                1 => vec![Step::After(0, SseEvent::default().comment("retry next").retry(Duration::from_millis(700)))],
                _ => vec![Step::Hang],
            };
            noted.note(&headers);
            stream_of(steps, None)
        }),
    );
    let mut browser = Browser::new(app);
    browser.open(logging_page("/ends"));
    browser.run_until(10_000);
    assert_eq!(
        browser.trace().departures_to("/ends"),
        [0, 3050, 3800],
        "ended at 50 ms, reconnected 3000 ms later; ended again at 3100 ms, with `retry: 700`\n{}",
        browser.trace()
    );
    assert_eq!(seen.last_event_ids(), [None, None, None], "no event ID yet: no `Last-Event-ID`");
}

#[test]
fn named_events_reach_their_listeners_and_comments_are_ignored() {
    let app = Router::new().route(
        "/named",
        get(|| async {
            stream_of(
                vec![
                    Step::After(0, SseEvent::default().comment("just a comment")),
                    Step::After(100, SseEvent::default().event("reset").id("r1").data("from scratch")),
                    Step::After(100, SseEvent::default().data("plain")),
                    Step::Hang,
                ],
                None,
            )
        }),
    );
    let mut browser = Browser::new(app);
    browser.open(Page::client(
        "/client.js",
        r#"const source = new EventSource("/named");
           const show = (e) => console.log(e.type, e.data, e.lastEventId, e instanceof MessageEvent, e.target === source);
           source.addEventListener("reset", show);
           source.addEventListener("reset", show); // the same listener again: once
           source.addEventListener("message", show);
           const gone = () => console.log("removed, never called");
           source.addEventListener("message", gone);
           source.removeEventListener("message", gone);
           source.onmessage = () => console.log("onmessage");"#,
    ));
    browser.run_until(5_000);
    // "dispatch the event": the event type buffer names the event; a
    // comment line (`:`) is ignored, and so dispatches nothing.
    assert_eq!(
        logs(&browser.trace().to_string()),
        ["150: reset from scratch r1 true true", "250: message plain r1 true true", "250: onmessage"]
    );
    assert!(browser.trace().to_string().contains("    150 ms  GET /named #1 event \"reset\" id r1\n"));
}

#[test]
fn another_status_or_content_type_fails_the_connection_and_it_never_reconnects() {
    let app = Router::new()
        .route("/error", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route("/plain", get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "data: not a stream\n\n") }))
        .route(
            "/typed",
            get(|| async {
                let body =
                    Body::from_stream(stream::iter([Ok::<_, Infallible>("data: ok\n\n")]).chain(stream::pending()));
                ([(header::CONTENT_TYPE, "Text/Event-Stream; charset=utf-8")], body)
            }),
        )
        .route("/injected", get(|| async { stream_of(vec![Step::Hang], None) }));
    let mut browser = Browser::new(app);
    browser.fail(1000..1001, Failure::Status(503));
    browser.open(Page::client(
        "/client.js",
        r#"function open(url) {
             const source = new EventSource(url);
             source.onopen = () => console.log(url, "open");
             source.onmessage = (e) => console.log(url, e.data);
             source.onerror = () => console.log(url, "error", source.readyState);
           }
           ["/error", "/plain", "/typed"].forEach(open);
           setTimeout(() => open("/injected"), 1000); // the scenario answers it 503"#,
    ));
    let trace = browser.run_until(60_000).to_string();
    // "Processing model": a status other than 200, or a `Content-Type`
    // other than `text/event-stream` (parameters and case aside), fails
    // the connection: CLOSED, `error`, and no reconnection.
    assert_eq!(
        logs(&trace),
        ["50: /error error 2", "50: /plain error 2", "50: /typed open", "50: /typed ok", "1050: /injected error 2"],
        "{trace}"
    );
    for (path, line) in [
        ("/error", "     50 ms  GET /error #1 -> 500"),
        ("/plain", "     50 ms  GET /plain #2 -> 200"),
        ("/injected", "   1050 ms  GET /injected #4 -> 503"),
    ] {
        assert!(trace.contains(&format!("{line}\n")), "{trace}");
        assert_eq!(browser.trace().spans_to(path).len(), 1, "{path} must not reconnect\n{trace}");
    }
    assert!(trace.contains(
        "console.error: EventSource's response has a MIME type (\"text/plain\") that is not \"text/event-stream\""
    ));
}

#[test]
fn a_network_error_reconnects() {
    // "Processing model": a network error reestablishes the connection.
    let seen = Seen::default();
    let mut browser = Browser::new(events_app(seen.clone()));
    browser.fail(0..1, Failure::NetworkError);
    browser.open(logging_page("/events"));
    let trace = browser.run_until(3_200).to_string();
    assert_eq!(logs(&trace)[..3], ["50: error 0", "3100: open 1", "3100: message one 1 http://127.0.0.1:3000"]);
    assert!(trace.contains("     50 ms  GET /events #1 -> network error\n"), "{trace}");
}

#[test]
fn close_stops_the_events_and_the_reconnection_and_the_server_drops_the_stream() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let counted = dropped.clone();
    let app = Router::new()
        .route(
            "/ticks",
            get(move || async move {
                let tick = |n: u32| Step::After(1000, SseEvent::default().id(n.to_string()).data(n.to_string()));
                stream_of((1..=10).map(tick).collect(), Some(counted))
            }),
        )
        .route("/short", get(|| async { stream_of(vec![], None) }))
        .route("/slow", get(|| async { stream_of(vec![Step::Hang], None) }));
    let mut browser = Browser::new(app);
    browser.open(Page::client(
        "/client.js",
        r#"const ticks = new EventSource("/ticks");
           ticks.onmessage = (e) => {
             console.log("tick", e.data);
             if (e.data === "2") { ticks.close(); console.log("closed", ticks.readyState); }
           };
           // Closed while it waits to reconnect: it never does.
           const short = new EventSource("/short");
           short.onerror = () => { console.log("short error", short.readyState); short.close(); };
           // Closed before its answer came.
           const slow = new EventSource("/slow");
           setTimeout(() => slow.close(), 10);"#,
    ));
    let trace = browser.run_until(30_000).to_string();
    assert_eq!(logs(&trace), ["50: short error 0", "1050: tick 1", "2050: tick 2", "2050: closed 2"], "{trace}");
    assert!(trace.contains("   2050 ms  GET /ticks #1 -> closed by the page\n"), "{trace}");
    assert!(trace.contains("     10 ms  GET /slow #3 -> aborted by the page\n"), "{trace}");
    assert_eq!(browser.trace().spans().len(), 3, "no reconnection\n{trace}");
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the server dropped the stream");
}

#[test]
fn a_reload_closes_the_stream_and_the_new_page_opens_its_own() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let counted = dropped.clone();
    let app =
        Router::new().route("/events", get(move || async move { stream_of(vec![Step::Hang], Some(counted.clone())) }));
    let mut browser = Browser::new(app);
    browser.reload_at(5_000);
    browser.open(logging_page("/events"));
    browser.run_until(10_000);
    let network = network(&browser);
    assert!(
        network.contains("   5000 ms  GET /events #1 -> closed by the page\n   5000 ms  GET /events #2 sent\n"),
        "{network}"
    );
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn a_restart_ends_the_stream_as_a_network_error_and_the_source_reconnects() {
    let seen = Seen::default();
    let mut browser = Browser::new(events_app(seen.clone()));
    browser.restart_at(2_000, events_app(seen.clone()));
    browser.open(logging_page("/events"));
    let trace = browser.run_until(6_000).to_string();
    // Events 1 and 2 came; the old server's stream breaks at the restart;
    // the new server gets `Last-Event-ID: 2` after the `retry:` (2000 ms).
    assert!(
        trace.contains("   2000 ms  the server restarts\n   2000 ms  GET /events #1 -> network error\n"),
        "{trace}"
    );
    assert!(logs(&trace).contains(&"2000: error 0".to_owned()), "{trace}");
    assert_eq!(browser.trace().departures_to("/events"), [0, 4000]);
    assert_eq!(seen.last_event_ids(), [None, Some("2".to_owned())]);
}

#[test]
fn a_post_reaches_the_stream_at_the_moment_it_is_made() {
    // The shape of a chat over SSE: each stream follows a broadcast, and
    // another user's post (straight to the server) is written at once.
    let (news, _) = tokio::sync::broadcast::channel::<String>(16);
    let posts = news.clone();
    let app = Router::new()
        .route(
            "/events",
            get(move || async move {
                let events = stream::unfold(news.subscribe(), |mut news| async move {
                    let text = news.recv().await.ok()?;
                    Some((Ok::<_, Infallible>(SseEvent::default().event("chat").data(text)), news))
                });
                Sse::new(events)
            }),
        )
        .route(
            "/poll",
            axum::routing::post(move |body: String| async move {
                let _ = posts.send(body);
                StatusCode::CREATED
            }),
        );
    let mut browser = Browser::new(app);
    browser.post_at(12_300, "grace", "hi").post_at(47_000, "ada", "later");
    browser.open(Page::client(
        "/client.js",
        r#"new EventSource("/events").addEventListener("chat", (e) => console.log(JSON.parse(e.data).text));"#,
    ));
    let trace = browser.run_until(60_000).to_string();
    assert_eq!(logs(&trace), ["12325: hi", "47025: later"], "{trace}");
}

#[test]
fn a_hidden_page_keeps_its_event_source_and_gets_events_on_time() {
    let app = Router::new().route(
        "/events",
        get(|| async {
            let steps = vec![
                Step::After(1234, SseEvent::default().data("a")),
                Step::After(1000, SseEvent::default().data("b")),
                Step::Hang,
            ];
            stream_of(steps, None)
        }),
    );
    let mut browser = Browser::new(app);
    browser.hide(1_000..100_000);
    browser.open(Page::client(
        "/client.js",
        r#"new EventSource("/events").onmessage = (e) => console.log(e.data, document.hidden);"#,
    ));
    let trace = browser.run_until(10_000).to_string();
    // Not aligned to whole seconds, as a hidden page's timers are.
    assert_eq!(logs(&trace), ["1284: a true", "2284: b true"], "{trace}");
}

#[test]
fn a_keep_alive_stream_held_five_virtual_minutes_takes_no_real_time() {
    let app = Router::new().route(
        "/events",
        get(|| async {
            let steps = vec![Step::After(240_000, SseEvent::default().id("late").data("four minutes in")), Step::Hang];
            // A comment every 15 s while nothing else is written: each
            // crosses the network, and none is an event.
            stream_of(steps, None).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        }),
    );
    let started = std::time::Instant::now();
    let mut browser = Browser::new(app);
    browser.open(logging_page("/events"));
    let trace = browser.run_until(300_000).to_string();
    let took = started.elapsed();
    println!("5 virtual minutes of a keep-alive stream took {took:?} of real time");
    assert_eq!(logs(&trace), ["50: open 1", "240050: message four minutes in late http://127.0.0.1:3000"], "{trace}");
    assert!(!trace.contains("->"), "the stream is still open\n{trace}");
    assert!(took < Duration::from_secs(1), "5 virtual minutes took {took:?}");
}

#[test]
fn a_stream_that_never_stops_writing_runs_at_most_a_window_ahead_of_the_page() {
    let written = Arc::new(AtomicUsize::new(0));
    let counted = written.clone();
    let app = Router::new().route(
        "/flood",
        get(move || async move {
            // Writes as fast as it is let, forever, without waiting.
            Sse::new(stream::repeat_with(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok::<_, Infallible>(SseEvent::default().data("x"))
            }))
        }),
    );
    let mut browser = Browser::new(app);
    browser.open(Page::client("/client.js", r#"new EventSource("/flood");"#));
    for end in [100, 200, 300] {
        browser.run_until(end);
        let delivered = browser.trace().events().iter().filter(|(_, e)| matches!(e, Event::StreamEvent { .. })).count();
        let ahead = written.load(Ordering::SeqCst) - delivered;
        // The server's writes wait while a window (1,024 pieces) is on
        // its way, plus the 16 the channel holds: what is kept between
        // `run_until` calls is that much at most, however long it runs.
        assert!(delivered > 0 && ahead <= 1024 + 16 + 1, "at {end} ms: {delivered} delivered, {ahead} kept");
    }
}

/// The parser's cases ("Interpreting an event stream"), as frames of one
/// answer, cut where a parser could stumble.
fn edge_cases() -> Vec<&'static [u8]> {
    vec![
        // The UTF-8 decode skips one leading byte order mark, even cut in two.
        b"\xEF\xBB",
        b"\xBFdata: bom\n\n",
        b": a comment line is ignored\n",
        // Lines end with CRLF (here cut between two frames), CR, or LF.
        b"data: a\r",
        b"\n\r",
        b"\ndata: b\n\ndata: c\r",
        b"\rdata: d\r\n",
        b"\r\n",
        // `data` lines join with LF; one space after the colon is dropped;
        // `data` alone adds an empty line.
        b"data: one\ndata:two\ndata\ndata:  three\n\n",
        // `id` sets the last event ID buffer, which the events after keep;
        // an `id` with a NUL in it is ignored.
        b"id: 7\ndata: with an id\n\n",
        b"id: 8\0x\ndata: NUL in the id\n\n",
        b"data: no id\n\n",
        // An empty data buffer dispatches nothing, and the type is reset.
        b"event: nothing\n\n",
        b"data: a message again\n\n",
        b"foo: bar\ndata: unknown fields are ignored\n\n",
        // A BOM after the start is no BOM: a field named "\u{FEFF}data".
        b"\xEF\xBB\xBFdata: not a field\n\n",
        // `retry` must be digits only: each of these is ignored.
        b"retry: 1.5\nretry:\nretry: 9x\nretry: -5\n",
        // An event the stream leaves unfinished is never dispatched.
        b"data: unfinished",
    ]
}

#[test]
fn the_parser_reads_the_standards_edge_cases() {
    let seen = Seen::default();
    let noted = seen.clone();
    let app = Router::new().route(
        "/edges",
        get(move |headers: HeaderMap| async move {
            match noted.note(&headers) {
                None => raw(edge_cases()),
                Some(_) => StatusCode::NO_CONTENT.into_response(), // the second time: fails, for good
            }
        }),
    );
    let mut browser = Browser::new(app);
    browser.open(Page::client(
        "/client.js",
        r#"const source = new EventSource("/edges");
           source.onmessage = (e) => console.log(JSON.stringify([e.data, e.lastEventId]));
           source.addEventListener("nothing", () => console.log("never: its data was empty"));
           source.onerror = () => console.log("error", source.readyState);"#,
    ));
    let trace = browser.run_until(10_000).to_string();
    assert_eq!(
        logs(&trace),
        [
            r#"50: ["bom",""]"#,
            r#"50: ["a",""]"#,
            r#"50: ["b",""]"#,
            r#"50: ["c",""]"#,
            r#"50: ["d",""]"#,
            r#"50: ["one\ntwo\n\n three",""]"#,
            r#"50: ["with an id","7"]"#,
            r#"50: ["NUL in the id","7"]"#,
            r#"50: ["no id","7"]"#,
            r#"50: ["a message again","7"]"#,
            r#"50: ["unknown fields are ignored","7"]"#,
            "50: error 0",
            // Reconnected after the default 3000 ms (no `retry` counted),
            // and answered 204: the connection fails.
            "3100: error 2",
        ],
        "{trace}"
    );
    assert_eq!(seen.last_event_ids(), [None, Some("7".to_owned())]);
}

#[test]
fn an_empty_id_empties_the_last_event_id_and_the_header_is_left_out() {
    let seen = Seen::default();
    let noted = seen.clone();
    let app = Router::new().route(
        "/ids",
        get(move |headers: HeaderMap| async move {
            let first = noted.0.lock().unwrap().is_empty();
            noted.note(&headers);
            match first {
                true => raw(vec![b"id: 5\ndata: x\n\nid\ndata: y\n\n"]),
                false => StatusCode::NO_CONTENT.into_response(),
            }
        }),
    );
    let mut browser = Browser::new(app);
    browser.open(Page::client(
        "/client.js",
        r#"const source = new EventSource("/ids");
           source.onmessage = (e) => console.log(e.data, JSON.stringify(e.lastEventId));"#,
    ));
    let trace = browser.run_until(10_000).to_string();
    assert_eq!(logs(&trace), [r#"50: x "5""#, r#"50: y """#], "{trace}");
    // "reestablish the connection": `Last-Event-ID` only when the last
    // event ID string is not empty.
    assert_eq!(seen.last_event_ids(), [None, None]);
}

#[test]
fn a_last_event_id_beyond_ascii_goes_in_utf8() {
    let seen = Seen::default();
    let noted = seen.clone();
    let app = Router::new().route(
        "/ids",
        get(move |headers: HeaderMap| async move {
            let first = noted.0.lock().unwrap().is_empty();
            noted.note(&headers);
            match first {
                true => raw(vec!["id: café ☕\ndata: x\n\n".as_bytes()]),
                false => StatusCode::NO_CONTENT.into_response(),
            }
        }),
    );
    let mut browser = Browser::new(app);
    browser
        .open(Page::client("/client.js", r#"new EventSource("/ids").onmessage = (e) => console.log(e.lastEventId);"#));
    let trace = browser.run_until(10_000).to_string();
    assert_eq!(logs(&trace), ["50: café ☕"], "{trace}");
    // "reestablish the connection": the last event ID string, "encoded as UTF-8".
    assert_eq!(seen.last_event_ids(), [None, Some("café ☕".to_owned())]);
}

#[test]
fn the_event_source_object_is_the_standards() {
    let app = Router::new().route("/events", get(|| async { stream_of(vec![Step::Hang], None) }));
    let mut browser = Browser::new(app);
    browser.open(Page::client(
        "/client.js",
        r#"const source = new EventSource("/events?room=1");
           console.log(source.url, source.withCredentials, source.readyState, source.onmessage);
           console.log(EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED, source.OPEN);
           const other = new EventSource("http://127.0.0.1:3000/events", { withCredentials: true });
           console.log(other.url, other.withCredentials);
           other.close();
           other.close(); // closing again does nothing
           console.log(other.readyState);
           const handler = () => console.log("handler");
           source.onopen = handler;
           console.log(source.onopen === handler);
           source.onopen = null;
           source.addEventListener("open", () => console.log("open listener"), { once: true });
           source.onerror = "not a function";
           console.log(source.onerror);"#,
    ));
    let trace = browser.run_until(1_000).to_string();
    assert_eq!(
        logs(&trace),
        [
            "0: http://127.0.0.1:3000/events?room=1 false 0 null",
            "0: 0 1 2 1",
            "0: http://127.0.0.1:3000/events true",
            "0: 2",
            "0: true",
            "0: null",
            "50: open listener",
        ],
        "{trace}"
    );
    assert!(trace.contains("      0 ms  GET /events #2 -> aborted by the page\n"), "{trace}");
}
