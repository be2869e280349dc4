//! The spec for exercise 05, don't DDoS yourself.
//!
//! One file checks both crates: `cargo test -p ex05-dont-ddos-yourself` runs
//! it against your starter, and the root `cargo test` runs it against the
//! solution. Each crate's `tests/spec.rs` names its own library
//! `dont_ddos_yourself` and includes this file.
//!
//! Tests s01 to s06 send requests straight into the server (your `store.rs`
//! and `routes.rs`); s10 to s14 run the page, with your `cursor.js`, in the
//! virtual browser. Work in number order.

#[path = "../support/requests.rs"]
mod requests;

use axum::{
    Router,
    body::Body,
    extract::ConnectInfo,
    http::{Request, header},
};
use dont_ddos_yourself::rate_limit::BURST;
use dont_ddos_yourself::store::CachedStore;
use dont_ddos_yourself::{BACKOFF_JS, CLIENT_JS, CURSOR_JS, MAX_MESSAGES, app_with};
use governor::clock::FakeRelativeClock;
use requests::{Reply, send, send_as};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use virtual_browser::{
    Event, FRAME_MS, Failure, Latency, VirtualClock, assert_trace_snapshot, checks,
    spec::ClientSpec,
};

/// The epoch the spec's stores use, so answers are predictable.
const EPOCH: u64 = 1_000;

/// A server on its own store, with a rate-limit clock the test moves by hand.
struct Server {
    app: Router,
    store: Arc<CachedStore>,
    clock: FakeRelativeClock,
}

fn file(name: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let name_of = |p: &std::path::Path| {
        p.file_name().unwrap_or_default().to_string_lossy().into_owned()
    };
    format!("{}/{}/{name}", name_of(dir.parent().unwrap_or(dir)), name_of(dir))
}

impl Server {
    fn new() -> Server {
        let store = Arc::new(CachedStore::with_epoch(MAX_MESSAGES, EPOCH));
        let clock = FakeRelativeClock::default();
        Server { app: app_with(store.clone(), clock.clone()), store, clock }
    }

    /// Send `request` as client `id` (a new id for every request unless the
    /// test names one, so the rate limit only shows where a test wants it;
    /// `Some("")` sends no id at all).
    async fn send(&self, request: Request<Body>, id: Option<&str>) -> Reply {
        match id {
            None => send(&self.app, request).await,
            Some("") => send_as(&self.app, request, None).await,
            Some(id) => send_as(&self.app, request, Some(id)).await,
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).unwrap(), None).await
    }

    async fn post(&self, text: &str) -> Value {
        let body = json!({ "user": "ada", "text": text }).to_string();
        let request = Request::post("/poll")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body));
        let reply = self.send(request.unwrap(), None).await;
        assert_eq!(
            reply.status, 201,
            "POST /poll should still store messages as in exercise 01"
        );
        reply.json()
    }
}

// ---------------------------------------------------------------------------
// The server: cursors, cached answers, entity tags, rate limits
// ---------------------------------------------------------------------------

#[tokio::test]
async fn s01_since_answers_only_what_is_newer() {
    let server = Server::new();
    for text in ["one", "two", "three"] {
        server.post(text).await;
    }
    let all = server.get("/poll").await;
    assert_eq!(all.status, 200);
    assert_eq!(
        all.ids(),
        [1, 2, 3],
        "GET /poll without a cursor answers every message"
    );
    for (path, expected) in [
        ("/poll?since=0", vec![1, 2, 3]),
        ("/poll?since=1", vec![2, 3]),
        ("/poll?since=2&epoch=1000", vec![3]),
        ("/poll?since=3&epoch=1000", vec![]),
    ] {
        let reply = server.get(path).await;
        assert_eq!(
            (reply.status, reply.ids()),
            (200, expected.clone()),
            "GET {path} should answer the messages with ids above `since`, {expected:?}.\nLook at `poll` in {}.",
            file("src/store.rs")
        );
        let body = reply.json();
        assert_eq!(
            (body["epoch"].as_u64(), body["reset"].as_bool()),
            (Some(EPOCH), Some(false)),
            "every answer says which life of the store it is from (`epoch`) and `reset: false` when the cursor \
             was fine:\n{body}"
        );
    }
    let answer = server.get("/poll?since=2").await.json();
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_json_snapshot!("s01_answer", answer, { ".msg[].time" => "[time]" });
    });
}

#[tokio::test]
async fn s02_a_bad_cursor_is_refused_with_400() {
    let server = Server::new();
    server.post("kept").await;
    let mut catalogue = String::new();
    for query in [
        "since=abc",
        "since=-1",
        "since=1.5",
        "since=%2B1",
        "since=",
        "since=18446744073709551616",
        "since=1&epoch=x",
    ] {
        let reply = server.get(&format!("/poll?{query}")).await;
        assert_eq!(
            reply.status,
            400,
            "GET /poll?{query} should be refused with 400: `since` and `epoch` are whole numbers.\nLook at \
             `cursor` in {}.",
            file("src/routes.rs")
        );
        let error = reply.json()["error"].as_str().unwrap_or_default().to_owned();
        assert!(!error.is_empty(), "the 400 should say what is wrong in `error`");
        catalogue.push_str(&format!("?{query} -> 400 {error}\n"));
    }
    assert_eq!(
        server.get("/poll").await.ids(),
        [1],
        "a refused poll changes nothing, and the server keeps serving"
    );
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("s02_refusals", catalogue);
    });
}

#[tokio::test]
async fn s03_a_cursor_from_another_life_or_the_future_starts_over() {
    let server = Server::new();
    for text in ["one", "two"] {
        server.post(text).await;
    }
    for path in
        ["/poll?since=9", "/poll?since=1&epoch=999", "/poll?since=9&epoch=1000"]
    {
        let reply = server.get(path).await;
        let body = reply.json();
        assert_eq!(
            (reply.ids(), body["reset"].as_bool()),
            (vec![1, 2], Some(true)),
            "GET {path}: this cursor is not from this store's life (another epoch: the server restarted) or is \
             ahead of it, so the server cannot know what the client has. It must answer every message with \
             `reset: true`, never a partial list.\nLook at `poll` in {}.",
            file("src/store.rs")
        );
    }
}

#[tokio::test]
async fn s04_unchanged_polls_serialize_nothing() {
    let server = Server::new();
    server.post("one").await;
    server.get("/poll").await;
    let before = server.store.serializations();
    for _ in 0..50 {
        server.get("/poll").await;
        server.get("/poll?since=1&epoch=1000").await;
    }
    let after = server.store.serializations();
    assert_eq!(
        after,
        before,
        "100 polls that found nothing new serialized messages {} times: keep the answers serialized in the store \
         (`everything`, `nothing_new`) and hand out clones of their `Bytes`.\nLook at `poll` in {}.",
        after - before,
        file("src/store.rs")
    );
    server.post("two").await;
    assert_eq!(
        server.get("/poll").await.ids(),
        [1, 2],
        "after a new message, the full answer must include it"
    );
}

#[tokio::test]
async fn s05_an_unchanged_state_gets_304_not_modified() {
    let server = Server::new();
    server.post("one").await;
    let first = server.get("/poll").await;
    let etag = first.header(header::ETAG).map(str::to_owned);
    assert_eq!(
        etag.as_deref(),
        Some("\"1000-1\""),
        "GET /poll should send `ETag: \"<epoch>-<newest id>\"`.\nLook at `get_poll` in {}.",
        file("src/routes.rs")
    );
    assert_eq!(
        first.header(header::CACHE_CONTROL),
        Some("no-cache"),
        "`Cache-Control: no-cache`: keep, but ask"
    );
    let etag = etag.unwrap();
    for tag in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_owned(),
    ] {
        let request = Request::get("/poll")
            .header(header::IF_NONE_MATCH, &tag)
            .body(Body::empty())
            .unwrap();
        let reply = server.send(request, None).await;
        assert_eq!(
            (reply.status, reply.body.len(), reply.header(header::ETAG)),
            (304, 0, Some(etag.as_str())),
            "GET /poll with `If-None-Match: {tag}` should answer `304 Not Modified` with no body, and the ETag.\n\
             Look at `get_poll` in {}.",
            file("src/routes.rs")
        );
    }
    server.post("two").await;
    let request = Request::get("/poll")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let reply = server.send(request, None).await;
    assert_eq!(
        (reply.status, reply.header(header::ETAG)),
        (200, Some("\"1000-2\"")),
        "a new message, a new tag"
    );
}

#[tokio::test]
async fn s06_each_client_is_rate_limited_and_told_when_to_come_back() {
    let server = Server::new();
    for n in 0..BURST {
        assert_eq!(
            server
                .send(
                    Request::get("/poll").body(Body::empty()).unwrap(),
                    Some("ada")
                )
                .await
                .status,
            200,
            "#{n}"
        );
    }
    let refused = server
        .send(Request::get("/poll").body(Body::empty()).unwrap(), Some("ada"))
        .await;
    assert_eq!(
        refused.status,
        429,
        "request {} of one client in one instant is over the limit",
        BURST + 1
    );
    assert_eq!(
        refused.header(header::RETRY_AFTER),
        Some("1"),
        "429 says when to come back, in whole seconds"
    );
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap_or_default()
            .contains("too many requests")
    );
    let other = server
        .send(Request::get("/poll").body(Body::empty()).unwrap(), Some("grace"))
        .await;
    assert_eq!(other.status, 200, "another client has its own allowance");
    server.clock.advance(Duration::from_millis(500));
    let later = server
        .send(Request::get("/poll").body(Body::empty()).unwrap(), Some("ada"))
        .await;
    assert_eq!(
        later.status, 200,
        "half a second later, one more request is allowed (2 a second)"
    );

    // Without an id, the client's address is its key.
    let from = |ip: [u8; 4]| {
        let mut request = Request::get("/poll").body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from((ip, 40_000))));
        request
    };
    for _ in 0..BURST {
        server.send(from([127, 0, 0, 2]), Some("")).await;
    }
    assert_eq!(
        server.send(from([127, 0, 0, 2]), Some("")).await.status,
        429,
        "the same address, over its limit"
    );
    assert_eq!(
        server.send(from([127, 0, 0, 3]), Some("")).await.status,
        200,
        "another address"
    );
    let script = server
        .send(Request::get("/client.js").body(Body::empty()).unwrap(), Some("ada"))
        .await;
    assert_eq!(script.status, 200, "the page's files are not rate-limited");
}

// ---------------------------------------------------------------------------
// The client: cursor.js in the page, in the virtual browser
// ---------------------------------------------------------------------------

/// The app for client scenarios: a fixed epoch, and the rate limit on the
/// virtual browser's clock, so a virtual minute of polling is a minute to it.
fn scenario_app() -> Router {
    app_with(Arc::new(CachedStore::with_epoch(MAX_MESSAGES, EPOCH)), VirtualClock)
}

fn client() -> ClientSpec {
    ClientSpec::new(scenario_app, CLIENT_JS, env!("CARGO_MANIFEST_DIR"))
        .with_module("/backoff.js", BACKOFF_JS)
        .with_module("/cursor.js", CURSOR_JS)
        .learner_edits("cursor.js")
}

#[test]
fn s10_cursor_js_merges_each_message_once_in_order() {
    let spec = client();
    let logs = spec.logs_of(
        r#"import { merge, pollPath, MAX_SHOWN } from "/cursor.js";
           const m = (...ids) => ids.map((id) => ({ id, text: `#${id}` }));
           const ids = (list) => list.map((x) => x.id).join(",");
           console.log(ids(merge(m(1, 2, 3), m(3, 4))));
           console.log(ids(merge([], m(5, 3, 4))));
           console.log(ids(merge(m(1, 2), [])));
           const many = merge([], m(...Array.from({ length: 60 }, (_, i) => i + 1)));
           console.log(many.length === MAX_SHOWN, many[0].id, many[many.length - 1].id);
           console.log(pollPath(null), pollPath({ since: 41, epoch: 7 }));"#,
    );
    assert_eq!(
        logs,
        ["1,2,3,4", "3,4,5", "1,2", "true 11 60", "/poll /poll?since=41&epoch=7"],
        "merge(shown, incoming) keeps each message once, by id, oldest first, and at most MAX_SHOWN (the newest); \
         pollPath(cursor) is /poll before the first answer, then /poll?since=<id>&epoch=<epoch>.\nLook at {}.",
        spec.client_path()
    );
}

#[test]
fn s11_the_page_polls_with_its_cursor_and_shows_each_message_once() {
    let spec = client();
    let trace = spec.run(30_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .post_at(4_000, "grace", "one")
            .post_at(9_000, "grace", "two")
            .post_at(9_500, "grace", "three");
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    let polls = trace.spans_to("/poll");
    let plain: Vec<_> =
        polls.iter().skip(1).filter(|p| !p.path.contains("?since=")).collect();
    assert!(
        plain.is_empty(),
        "after the first answer, every poll should carry the cursor (`/poll?since=..&epoch=..`), but #{} asked \
         {}.\nWhat happened:\n{trace}Look at `pollPath` in {}.",
        plain[0].request,
        plain[0].path,
        spec.client_path()
    );
    let shown: Vec<Vec<u64>> = trace
        .events()
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Rendered { ids } => Some(ids.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        shown.last().cloned(),
        Some(vec![1, 2, 3]),
        "the page should end up showing messages 1, 2 and 3, once each, in order.\nWhat happened:\n{trace}Look at \
         `merge` in {}.",
        spec.client_path()
    );
    assert_trace_snapshot!("s11_cursor", trace);
}

#[test]
fn s12_an_idle_page_gets_small_answers_and_draws_nothing_new() {
    let spec = client();
    let trace = spec.run(60_000, |browser| {
        browser.latency(Latency::Fixed(100));
        for n in 0..MAX_MESSAGES {
            browser.post_at(0, &format!("reader {n}"), "some history");
        }
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    let polls = trace.spans_to("/poll");
    let big: Vec<_> = polls
        .iter()
        .skip(1)
        .filter_map(|p| match &p.outcome {
            Some(virtual_browser::Outcome::Status { bytes, .. }) if *bytes > 100 => {
                Some((p.request, *bytes))
            }
            _ => None,
        })
        .collect();
    assert!(
        big.is_empty(),
        "while nothing is new, each poll's answer should be a few dozen bytes (`{{\"msg\":[],...}}`), but poll \
         #{:?} got {:?} bytes: is the cursor sent?\nLook at `pollPath` in {}.",
        big.first().map(|b| b.0),
        big.first().map(|b| b.1),
        spec.client_path()
    );
    assert_eq!(
        polls
            .first()
            .and_then(|p| p.outcome.clone())
            .map(|o| o.to_string())
            .as_deref(),
        Some("200 (50 msgs)")
    );
    let draws = trace
        .events()
        .iter()
        .filter(|(_, e)| matches!(e, Event::Rendered { .. }))
        .count();
    assert_eq!(
        draws, 1,
        "the page should draw the messages once, and not again while nothing changes"
    );
}

#[test]
fn s13_the_page_honours_429_and_retry_after() {
    let spec = client();
    let trace = spec.run(40_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(3_000..3_500, Failure::RetryAfter { status: 429, seconds: 20 });
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    let polls = trace.spans_to("/poll");
    let refused = polls.iter().position(|p| {
        p.outcome.as_ref().is_some_and(|o| o.to_string().starts_with("429"))
    });
    let recovered = refused.is_some_and(|at| {
        polls[at..].iter().any(|p| !p.failed() && p.answered.is_some())
    });
    assert!(
        recovered,
        "the page should poll into the server's 429 (at 3 s) and get through again once it may, but it did not.\n\
         What happened:\n{trace}Look at {}.",
        spec.client_path()
    );
    spec.check(&trace, checks::honours_retry_after(&trace));
}

#[test]
fn s14_after_a_server_restart_the_page_starts_over() {
    let spec = client();
    let trace = spec.run(30_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .post_at(2_000, "grace", "before the restart")
            .restart_at(
                10_000,
                app_with(
                    Arc::new(CachedStore::with_epoch(MAX_MESSAGES, EPOCH + 1)),
                    VirtualClock,
                ),
            )
            .post_at(12_000, "grace", "after the restart")
            .post_at(12_001, "grace", "and another");
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    let last_shown = trace.events().iter().rev().find_map(|(at, e)| match e {
        Event::Rendered { ids } => Some((*at, ids.clone())),
        _ => None,
    });
    assert!(
        last_shown.as_ref().is_some_and(|(at, ids)| *at >= 12_000 && ids == &[1, 2]),
        "after the server restarts (10 s) and two messages are posted to it (12 s), the page should show exactly \
         those two (ids 1 and 2 of the new server), but it last showed {last_shown:?}. When an answer says \
         `reset: true`, start from an empty list.\nWhat happened:\n{trace}Look at {}.",
        spec.client_path()
    );
    let _ = FRAME_MS;
}
