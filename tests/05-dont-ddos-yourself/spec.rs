//! The spec for exercise 05, don't DDoS yourself.
//!
//! The rules chapter 05 teaches, and the scenarios that pin each (a failure
//! names its rule):
//! - R1 `since`: a poll with a cursor answers only the messages with ids
//!   above `since`, and every answer says its `epoch`, with `reset: false`
//!   when the cursor was fine (s01).
//! - R2 a `since` or `epoch` that is not a whole number is refused with `400`
//!   and a sentence that says what to send (s02).
//! - R3 a cursor from another life of the store (another epoch), or ahead of
//!   its newest id, gets every message with `reset: true`, never a partial
//!   list (s03).
//! - R4 serialize once per change: polls that find nothing new serialize
//!   nothing; they share the answers the store keeps (s04).
//! - R5 entity tags: every answer has `ETag: "<epoch>-<newest id>"` and
//!   `Cache-Control: no-cache`, and `If-None-Match` naming the tag (weak, in
//!   a list, or `*`) gets `304 Not Modified` with no body (s05).
//! - R6 each client has its own allowance (by `x-client-id`, else by
//!   address): 10 at once, then 2 a second; past it, `429` with
//!   `Retry-After` in whole seconds and a JSON error that names the limit
//!   (`"limit": "client"`); the page's files are not limited (s06).
//! - R7 `pollPath` sends the cursor: `/poll` before the first answer, then
//!   `since` (the newest id shown) and `epoch` (the answer's) on every poll
//!   (s10, s11, s12).
//! - R8 `merge` keeps each message once, by id, oldest first, and at most
//!   MAX_SHOWN, the newest (s10, s11).
//! - R9 an idle page draws nothing new: only an answer with a message or a
//!   reset is drawn (s12).
//! - R10 an idle page asks for one URL, so the browser's cache revalidates
//!   it (`If-None-Match`) and the polls come back `304` (s12).
//! - R11 the page honours `429` and `Retry-After`: it asks again only once
//!   the server said it may (s13).
//! - R12 `reset: true` starts the page's list over, so after a server
//!   restart it shows the new server's messages only (s14).
//! - R13 one poll at a time: no new poll while one is in flight, however
//!   slow the server (s15).
//! - R14 one address, one ceiling: all the clients of one address together
//!   have a larger allowance (100 at once, then 20 a second), so a client
//!   that names itself anew on every request (a reload loop that makes a
//!   new id each time) is held to it too: past it, `429`, `Retry-After` and
//!   `"limit": "address"`; other addresses are still served, and a request
//!   from no known address counts only by its id (s07).
//! - R15 a tab keeps its client id: the page keeps its `x-client-id` in
//!   `sessionStorage`, so every load of one tab names the same client and a
//!   reload loop runs out of one allowance; where the browser refuses
//!   storage (reading it throws), the page still runs, with an id for that
//!   load (s16); a duplicated tab, which starts with a copy of the tab's
//!   storage, is a client of its own (s17).
//! - R16 one view per answer: `get_poll` takes one view of the store
//!   (`store.read()`) and reads both the tag and the body from it, so the
//!   two describe the same state (s08).
//! - R17 the limiter forgets quiet clients: once a client's allowance is
//!   whole again it is the same as new, and the limiter drops it, so it
//!   holds at most twice the clients active at its last sweep (s09; the
//!   limiter is given code).
//! - R18 a page names itself on every request: its posts send the
//!   `x-client-id` its polls send (s17).
//!
//! Taught but not pinned here:
//! - the connection limits ("a server one laptop cannot take down") are
//!   `chat-page`'s, pinned by `static/tests/limits.rs`.
//!
//! One file checks both crates: `cargo test -p ex05-dont-ddos-yourself` runs
//! it against your starter, and the root `cargo test` runs it against the
//! solution. Each crate's `tests/spec.rs` names its own library
//! `dont_ddos_yourself` and includes this file. The course's known wrong
//! solutions run the same scenarios in `wrong_solutions.rs`, beside this
//! file.
//!
//! Tests s01 to s09 send requests straight into the server (your `store.rs`
//! and `routes.rs`; the rate limit of s06, s07 and s09 is given); s10 to s17 run
//! the page, with your `cursor.js`, in the virtual browser. Work in number
//! order.

use axum::{
    Router,
    body::Body,
    extract::ConnectInfo,
    http::{Method, Request, header},
    middleware::{self, Next},
    routing::get,
};
use dont_ddos_yourself::rate_limit::{
    self, ADDRESS_BURST, ADDRESS_REQUESTS_PER_SECOND, BURST, CLIENT_ID_HEADER,
    RateLimit,
};
use dont_ddos_yourself::store::CachedStore;
use dont_ddos_yourself::{BACKOFF_JS, CLIENT_JS, CURSOR_JS, MAX_MESSAGES, app_with};
use governor::clock::FakeRelativeClock;
use serde_json::{Value, json};
use spec_support::requests::{Reply, send, send_as};
use spec_support::{ClientSpec, Rule, assert_trace_snapshot};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use virtual_browser::{
    Event, Failure, Latency, Outcome, Trace, VirtualClock, checks,
};

// The rules, as a failure names them (see the list above).
pub const R1: Rule = Rule::new("R1", "`since`");
pub const R2: Rule = Rule::new("R2", "a bad cursor is a 400");
pub const R3: Rule = Rule::new("R3", "a cursor from another life starts over");
pub const R4: Rule = Rule::new("R4", "serialize once per change");
pub const R5: Rule = Rule::new("R5", "entity tags");
pub const R6: Rule = Rule::new("R6", "each client has its own allowance");
pub const R7: Rule = Rule::new("R7", "`pollPath` sends the cursor");
pub const R8: Rule = Rule::new("R8", "`merge` keeps each message once");
pub const R9: Rule = Rule::new("R9", "an idle page draws nothing new");
pub const R10: Rule = Rule::new("R10", "an idle page asks for one URL");
pub const R11: Rule = Rule::new("R11", "the page honours 429 and Retry-After");
pub const R12: Rule = Rule::new("R12", "`reset: true` starts the list over");
pub const R13: Rule = Rule::new("R13", "one poll at a time");
pub const R14: Rule = Rule::new("R14", "one address, one ceiling");
pub const R15: Rule = Rule::new("R15", "a tab keeps its client id");
pub const R16: Rule = Rule::new("R16", "one view per answer");
pub const R17: Rule = Rule::new("R17", "the limiter forgets quiet clients");
pub const R18: Rule = Rule::new("R18", "a page names itself on every request");

/// The epoch the spec's stores use, so answers are predictable.
pub const EPOCH: u64 = 1_000;

/// `name` in the crate under test, as a learner finds it:
/// `exercises/05-dont-ddos-yourself/src/store.rs`.
pub fn file(name: &str) -> String {
    spec_support::learner_file(env!("CARGO_MANIFEST_DIR"), name)
}

/// How the server scenarios make the app on a store and a rate-limit clock:
/// the crate's own `app_with`, or (in `wrong_solutions.rs`) a known wrong
/// variant of it.
pub type App = fn(Arc<CachedStore>, FakeRelativeClock) -> Router;

/// A server on its own store, with a rate-limit clock the test moves by hand.
pub struct Server {
    pub app: Router,
    pub store: Arc<CachedStore>,
    pub clock: FakeRelativeClock,
}

impl Server {
    /// The crate's own server.
    pub fn new() -> Server {
        Server::on(app_with)
    }

    /// The server `app` makes, on a fresh store in the epoch [`EPOCH`].
    pub fn on(app: App) -> Server {
        let store = Arc::new(CachedStore::with_epoch(MAX_MESSAGES, EPOCH));
        let clock = FakeRelativeClock::default();
        Server { app: app(store.clone(), clock.clone()), store, clock }
    }

    /// Send `request` as client `id` (a new id for every request unless the
    /// test names one, so the rate limit only shows where a test wants it;
    /// `Some("")` sends no id at all).
    pub async fn send(&self, request: Request<Body>, id: Option<&str>) -> Reply {
        match id {
            None => send(&self.app, request).await,
            Some("") => send_as(&self.app, request, None).await,
            Some(id) => send_as(&self.app, request, Some(id)).await,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).unwrap(), None).await
    }

    pub async fn post(&self, text: &str) -> Value {
        let body = json!({ "user": "ada", "text": text }).to_string();
        let request = Request::post("/poll")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body));
        let reply = self.send(request.unwrap(), None).await;
        assert_eq!(
            reply.status,
            201,
            "POST /poll should still store messages as in exercise 01, with 201 Created, but it answered {}.\n\
             Look at `post_poll` in {}.",
            shown(&reply),
            file("src/routes.rs")
        );
        reply.json()
    }
}

/// A header in words, for a failure message: `` `ETag: "1000-1"` `` or
/// `no ETag`.
fn header_of(reply: &Reply, name: header::HeaderName) -> String {
    match reply.header(name.clone()) {
        Some(value) => format!("`{name}: {value}`"),
        None => format!("no {name}"),
    }
}

/// `GET /poll` from `ip` (port 40000), as the server sees a request from a
/// real connection (`ConnectInfo`, which `chat_page::serve` sets).
fn poll_from(ip: [u8; 4]) -> Request<Body> {
    let mut request = Request::get("/poll").body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 40_000))));
    request
}

/// An answer in words, for a failure message: `200 {"msg": [...]}`.
pub fn shown(reply: &Reply) -> String {
    format!("{} {}", reply.status, String::from_utf8_lossy(&reply.body))
}

// ---------------------------------------------------------------------------
// The server: cursors, cached answers, entity tags, rate limits
// ---------------------------------------------------------------------------

#[tokio::test]
async fn s01_since_answers_only_what_is_newer() {
    s01(Server::new()).await;
}

pub async fn s01(server: Server) {
    for text in ["one", "two", "three"] {
        server.post(text).await;
    }
    let all = server.get("/poll").await;
    assert_eq!(
        (all.status, all.ids()),
        (200, vec![1, 2, 3]),
        "{R1:#}: GET /poll without a cursor should answer every message (ids 1, 2, 3), but it answered {}.\n\
         Look at `poll` in {}.",
        shown(&all),
        file("src/view.rs")
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
            "{R1:#}: GET {path} should answer the messages with ids above `since`, {expected:?}, but it \
             answered {}.\nLook at `poll` in {}.",
            shown(&reply),
            file("src/view.rs")
        );
        let body = reply.json();
        assert_eq!(
            (body["epoch"].as_u64(), body["reset"].as_bool()),
            (Some(EPOCH), Some(false)),
            "{R1:#}: every answer says which life of the store it is from (`\"epoch\": {EPOCH}`) and \
             `\"reset\": false` when the cursor was fine, but GET {path} answered {body}.\nLook at `poll` in {}.",
            file("src/view.rs")
        );
    }
    let answer = server.get("/poll?since=2").await.json();
    spec_support::snapshot_failures_point_at(file!());
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_json_snapshot!("s01_answer", answer, { ".msg[].time" => "[time]" });
    });
}

#[tokio::test]
async fn s02_a_bad_cursor_is_refused_with_400() {
    s02(Server::new()).await;
}

pub async fn s02(server: Server) {
    server.post("kept").await;
    let mut catalogue = String::new();
    for query in [
        "since=abc",
        "since=-1",
        "since=1.5",
        "since=%2B1",
        "since=",
        "since=18446744073709551616",
        // The query's own rules: a name percent-encoded is still the name,
        // `+` is a space, a name alone has an empty value, and other names
        // and empty pairs are skipped.
        "sinc%65=abc",
        "since=+1",
        "since",
        "x=1&&since=abc",
        "since=1&epoch=x",
        // Given twice: refused before `cursor` runs, in the same JSON shape.
        "since=1&since=2",
    ] {
        let reply = server.get(&format!("/poll?{query}")).await;
        assert_eq!(
            reply.status,
            400,
            "{R2:#}: GET /poll?{query} should be refused with 400, because `since` and \
             `epoch` are whole numbers (digits only, small enough for a u64), but it answered {}.\nLook at \
             `cursor` in {}.",
            shown(&reply),
            file("src/routes.rs")
        );
        let error = reply.json()["error"].as_str().unwrap_or_default().to_owned();
        assert!(
            !error.is_empty(),
            "{R2:#} with a sentence: the 400 to GET /poll?{query} should say what is wrong \
             in `error`, but it answered {}.\nLook at `cursor` in {}.",
            shown(&reply),
            file("src/routes.rs")
        );
        catalogue.push_str(&format!("?{query} -> 400 {error}\n"));
    }
    // No `since` is no cursor, whatever else the query holds.
    let no_since = server.get("/poll?epoch=x").await;
    assert_eq!(
        (no_since.status, no_since.ids()),
        (200, vec![1]),
        "{R2:#}: GET /poll?epoch=x has no `since`, so it has no cursor: it should answer every message (200), \
         whatever else the query holds, but it answered {}.\nLook at `cursor` in {}.",
        shown(&no_since),
        file("src/routes.rs")
    );
    let after = server.get("/poll").await;
    assert_eq!(
        after.ids(),
        [1],
        "{R2:#}, and only that: after the refusals, GET /poll should still answer message 1, \
         but it answered {}.\nLook at `cursor` in {}.",
        shown(&after),
        file("src/routes.rs")
    );
    spec_support::snapshot_failures_point_at(file!());
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("s02_refusals", catalogue);
    });
}

#[tokio::test]
async fn s03_a_cursor_from_another_life_or_the_future_starts_over() {
    s03(Server::new()).await;
}

pub async fn s03(server: Server) {
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
            "{R3:#}: GET {path} carries a cursor that is not from this \
             store's life (another epoch: the server restarted) or is ahead of it, so the server cannot know \
             what the client has. It must answer every message (1 and 2) with `reset: true`, never a partial \
             list, but it answered {}.\nLook at `poll` in {}.",
            shown(&reply),
            file("src/view.rs")
        );
    }
}

#[tokio::test]
async fn s04_unchanged_polls_serialize_nothing() {
    s04(Server::new()).await;
}

pub async fn s04(server: Server) {
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
        "{R4:#}: 100 polls that found nothing new should serialize nothing, but they \
         serialized messages {} times. Keep the answers serialized in the store (`everything`, \
         `nothing_new`) and hand out clones of their `Bytes`.\nLook at `poll` in {}.",
        after - before,
        file("src/view.rs")
    );
    server.post("two").await;
    let full = server.get("/poll").await;
    assert_eq!(
        full.ids(),
        [1, 2],
        "{R4:#}, on every change: after a new message, GET /poll should answer messages \
         1 and 2, but it answered {}.\nLook at `poll` in {}.",
        shown(&full),
        file("src/view.rs")
    );
}

#[tokio::test]
async fn s05_an_unchanged_state_gets_304_not_modified() {
    s05(Server::new()).await;
}

pub async fn s05(server: Server) {
    let look = || format!("Look at `get_poll` in {}.", file("src/routes.rs"));
    server.post("one").await;
    let first = server.get("/poll").await;
    let etag = first.header(header::ETAG).map(str::to_owned);
    assert!(
        etag.as_deref() == Some("\"1000-1\""),
        "{R5:#}: GET /poll should send `ETag: \"<epoch>-<newest id>\"`, here \"1000-1\" (with the \
         quotes), but it sent {}.\n{}",
        etag.as_deref().map_or("no ETag".to_owned(), |tag| format!("`ETag: {tag}`")),
        look()
    );
    assert!(
        first.header(header::CACHE_CONTROL) == Some("no-cache"),
        "{R5:#}: GET /poll should send `Cache-Control: no-cache` (keep, but ask each time), but it \
         sent {}.\n{}",
        first
            .header(header::CACHE_CONTROL)
            .map_or("none".to_owned(), |c| format!("`{c}`")),
        look()
    );
    let etag = etag.unwrap_or_default();
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
            "{R5:#}: GET /poll with `If-None-Match: {tag}` names the current tag, so it should answer \
             `304 Not Modified` with no body and `ETag: {etag}`, but it answered {} with {}. (A weak \
             tag `W/\"...\"` counts as the same tag; the header may list several, separated by commas; `*` \
             matches any.)\n{}",
            shown(&reply),
            header_of(&reply, header::ETAG),
            look()
        );
        assert_eq!(
            reply.header(header::CACHE_CONTROL),
            Some("no-cache"),
            "{R5:#}: a `304` carries `Cache-Control: no-cache` too, as every answer to GET /poll does; the one for \
             `If-None-Match: {tag}` sent {}.\n{}",
            header_of(&reply, header::CACHE_CONTROL),
            look()
        );
    }
    // The header may come more than once; any of them may name the tag.
    let request = Request::get("/poll")
        .header(header::IF_NONE_MATCH, "\"other\"")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let reply = server.send(request, None).await;
    assert_eq!(
        reply.status,
        304,
        "{R5:#}: GET /poll with two `If-None-Match` headers, `\"other\"` and then `{etag}`, names the current tag in \
         the second, so it should answer 304, but it answered {}. (`HeaderMap::get_all` gives every one.)\n{}",
        shown(&reply),
        look()
    );
    server.post("two").await;
    let request = Request::get("/poll")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let reply = server.send(request, None).await;
    assert_eq!(
        (reply.status, reply.header(header::ETAG)),
        (200, Some("\"1000-2\"")),
        "{R5:#}: after a new message the state has a new tag, so `If-None-Match: {etag}` should get \
         200, the messages and `ETag: \"1000-2\"`, but it got {} with {}.\n{}",
        shown(&reply),
        header_of(&reply, header::ETAG),
        look()
    );
    let since = server.get("/poll?since=1&epoch=1000").await;
    assert_eq!(
        (since.status, since.header(header::CACHE_CONTROL)),
        (200, Some("no-cache")),
        "{R5:#}: an answer to a cursor carries `Cache-Control: no-cache` too, as every answer to GET /poll does; \
         GET /poll?since=1&epoch=1000 got {} with {}.\n{}",
        shown(&since),
        header_of(&since, header::CACHE_CONTROL),
        look()
    );
}

#[tokio::test]
async fn s06_each_client_is_rate_limited_and_told_when_to_come_back() {
    s06(Server::new()).await;
}

pub async fn s06(server: Server) {
    let look = || {
        "Look at `limit` and `Client::of` in helpers/limits/src/rate_limit.rs (given code).".to_owned()
    };
    let poll = || Request::get("/poll").body(Body::empty()).unwrap();
    for n in 1..=BURST {
        let reply = server.send(poll(), Some("ada")).await;
        assert_eq!(
            reply.status,
            200,
            "{R6:#}: request {n} of {BURST} at once from client `ada` is within \
             its burst and should answer 200, but it answered {}.\n{}",
            shown(&reply),
            look()
        );
    }
    let refused = server.send(poll(), Some("ada")).await;
    assert_eq!(
        refused.status,
        429,
        "{R6:#}: request {} of one client in one instant is over its limit and \
         should answer 429 Too Many Requests, but it answered {}.\n{}",
        BURST + 1,
        shown(&refused),
        look()
    );
    assert_eq!(
        refused.header(header::RETRY_AFTER),
        Some("1"),
        "{R6:#}, and a 429 says when to come back: `Retry-After: 1` (whole \
         seconds, rounded up), but it sent {}.\n{}",
        header_of(&refused, header::RETRY_AFTER),
        look()
    );
    let error = refused.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        error.contains("too many requests"),
        "{R6:#}, and a 429 says why in a JSON `error` (\"too many requests from \
         this client...\"), but it answered {}.\n{}",
        shown(&refused),
        look()
    );
    assert_eq!(
        refused.json()["limit"].as_str(),
        Some("client"),
        "{R6:#}, and a 429 says which limit it was: `\"limit\": \"client\"` for \
         the client's own (`\"address\"` is the ceiling of a whole address, R14), but it answered {}.\n{}",
        shown(&refused),
        look()
    );
    let other = server.send(poll(), Some("grace")).await;
    assert_eq!(
        other.status,
        200,
        "{R6:#}: client `grace` has sent nothing yet, so its first request should \
         answer 200 while `ada` is over her limit, but it answered {}.\n{}",
        shown(&other),
        look()
    );
    server.clock.advance(Duration::from_millis(500));
    let later = server.send(poll(), Some("ada")).await;
    assert_eq!(
        later.status,
        200,
        "{R6:#}, and it comes back: half a second later (2 a second), one more \
         request of `ada` should answer 200, but it answered {}.\n{}",
        shown(&later),
        look()
    );

    // Without an id, the client's address is its key.
    let from = poll_from;
    for _ in 0..BURST {
        server.send(from([127, 0, 0, 2]), Some("")).await;
    }
    let same = server.send(from([127, 0, 0, 2]), Some("")).await;
    assert_eq!(
        same.status,
        429,
        "{R6:#}, by address when it sends no id: request {} from 127.0.0.2 \
         should answer 429, but it answered {}.\n{}",
        BURST + 1,
        shown(&same),
        look()
    );
    let another = server.send(from([127, 0, 0, 3]), Some("")).await;
    assert_eq!(
        another.status,
        200,
        "{R6:#}, by address when it sends no id: the first request from \
         127.0.0.3 should answer 200, but it answered {}.\n{}",
        shown(&another),
        look()
    );
    let script = server
        .send(Request::get("/client.js").body(Body::empty()).unwrap(), Some("ada"))
        .await;
    assert_eq!(
        script.status,
        200,
        "{} only /poll is rate-limited: GET /client.js from `ada`, who is over her limit, should still answer \
         200, but it answered {}.\nLook at `app_with` in {}.",
        R6.id,
        script.status,
        file("src/lib.rs")
    );
}

#[tokio::test]
async fn s07_one_address_has_a_ceiling_that_a_new_id_cannot_escape() {
    s07(Server::new()).await;
}

pub async fn s07(server: Server) {
    let rule = R14;
    let look = || {
        "Look at `limit` in helpers/limits/src/rate_limit.rs (given code)."
            .to_owned()
    };
    // A page that names itself anew on every load, reloaded in a loop: to
    // the limit, each request is a client it has never seen.
    let looping = [192, 0, 2, 1];
    for n in 1..=ADDRESS_BURST {
        let reply =
            server.send(poll_from(looping), Some(&format!("load-{n}"))).await;
        assert_eq!(
            reply.status,
            200,
            "{rule:#}: request {n} of {ADDRESS_BURST} at once from 192.0.2.1, each with a client id of its own, is \
             within the address's allowance (ADDRESS_BURST) and should answer 200, but it answered {}.\n{}",
            shown(&reply),
            look()
        );
    }
    let refused = server
        .send(poll_from(looping), Some(&format!("load-{}", ADDRESS_BURST + 1)))
        .await;
    assert_eq!(
        refused.status,
        429,
        "{rule:#}: 192.0.2.1 has sent {ADDRESS_BURST} requests in one instant, each naming a client never seen \
         before (a page that makes a new id on every load, reloaded in a loop). Each id is within its own \
         allowance, but the address is past its ceiling, so request {} should answer 429 Too Many Requests, \
         but it answered {}. Count every request from one address (`ConnectInfo`) against \
         ADDRESS_BURST and ADDRESS_REQUESTS_PER_SECOND as well as against its client's allowance.\n{}",
        ADDRESS_BURST + 1,
        shown(&refused),
        look()
    );
    assert_eq!(
        refused.header(header::RETRY_AFTER),
        Some("1"),
        "{rule:#}: the address's 429 says when to come back: `Retry-After: 1` (at \
         {ADDRESS_REQUESTS_PER_SECOND} a second the next request may come in 50 ms, rounded up to a whole \
         second), but it sent {}.\n{}",
        header_of(&refused, header::RETRY_AFTER),
        look()
    );
    let body = refused.json();
    assert!(
        body["limit"].as_str() == Some("address")
            && body["error"].as_str().is_some_and(|e| e.contains("address")),
        "{rule:#}: the address's 429 says which limit it was, `\"limit\": \"address\"`, and an `error` that \
         names the address, but it answered {}.\n{}",
        shown(&refused),
        look()
    );
    let neighbour = server.send(poll_from([192, 0, 2, 2]), Some("neighbour")).await;
    assert_eq!(
        neighbour.status,
        200,
        "{rule:#}: each address has its own ceiling: while 192.0.2.1 is past its own, the first request from \
         192.0.2.2 should answer 200, but it answered {}.\n{}",
        shown(&neighbour),
        look()
    );
    server.clock.advance(Duration::from_millis(50));
    let later = server.send(poll_from(looping), Some("after-a-while")).await;
    assert_eq!(
        later.status,
        200,
        "{rule:#}: the ceiling comes back at {ADDRESS_REQUESTS_PER_SECOND} a second: 50 ms later, one more request \
         from 192.0.2.1 should answer 200, but it answered {}.\n{}",
        shown(&later),
        look()
    );
    // In-process, as the virtual browser and these tests call the app, no
    // address is known: one "unknown" ceiling would make every test a client
    // of one address.
    for n in 1..=ADDRESS_BURST + 1 {
        let request = Request::get("/poll").body(Body::empty()).unwrap();
        let reply = server.send(request, Some(&format!("nowhere-{n}"))).await;
        assert_eq!(
            reply.status,
            200,
            "{rule:#}: a request from no known address (no `ConnectInfo`, as when the app is called in-process) \
             counts only by its client id, but request {n} of {} at once, each with an id of its own, answered \
             {}.\n{}",
            ADDRESS_BURST + 1,
            shown(&reply),
            look()
        );
    }
}

#[tokio::test]
async fn s08_one_answer_reads_one_state() {
    s08(Server::new()).await;
}

pub async fn s08(server: Server) {
    server.post("one").await;
    let etag = server
        .get("/poll")
        .await
        .header(header::ETAG)
        .unwrap_or_default()
        .to_owned();
    let cases = [
        ("GET /poll", None),
        ("GET /poll?since=0&epoch=1000", None),
        ("GET /poll with the current tag in `If-None-Match`", Some(etag)),
    ];
    for (what, tag) in cases {
        let path = what.strip_prefix("GET ").unwrap().split(' ').next().unwrap();
        let mut request = Request::get(path);
        if let Some(tag) = &tag {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        let before = server.store.reads();
        let reply = server.send(request.body(Body::empty()).unwrap(), None).await;
        let views = server.store.reads() - before;
        assert_eq!(
            views,
            1,
            "{R16:#}: {what} answered {} after taking {views} views of the store \
             (`store.read()`); it should take exactly one and read both the tag (`view.etag()`) and the \
             body (`view.poll(..)`) from it. Two views can fall on either side of a new message, and the \
             client then keeps an old body under the new tag, and never fetches the message.\nLook at \
             `get_poll` in {}.",
            shown(&reply),
            file("src/routes.rs")
        );
    }
}

#[tokio::test]
async fn s09_the_limiter_forgets_quiet_clients() {
    let clock = FakeRelativeClock::default();
    s09(Arc::new(RateLimit::new(clock.clone())), clock).await;
}

/// The given limiter, `limit` on `clock`, on its own, in front of a route
/// that says "ok".
pub async fn s09(
    limit: Arc<RateLimit<FakeRelativeClock>>,
    clock: FakeRelativeClock,
) {
    let app = Router::new().route("/poll", get(|| async { "ok" })).route_layer(
        middleware::from_fn_with_state(limit.clone(), rate_limit::limit),
    );
    let poll = || Request::get("/poll").body(Body::empty()).unwrap();
    for n in 0..3_000 {
        send_as(&app, poll(), Some(&format!("early-{n}"))).await;
    }
    clock.advance(Duration::from_secs(60));
    for n in 0..2_000 {
        send_as(&app, poll(), Some(&format!("late-{n}"))).await;
    }
    let tracked = limit.tracked();
    assert!(
        tracked <= 2 * 2_000,
        "{R17:#}: 3,000 clients polled once and went quiet for a minute, then \
         2,000 new ones came; the limiter should have forgotten the quiet ones (their allowance is whole \
         again, so they are the same as new) and remember at most twice the 2,000, but it remembers \
         {tracked}. A limiter that never forgets grows with every client there ever was.\nLook at \
         `forget_quiet` and `FORGET_FROM` in {} (given code: you should not need to change it, so undo \
         any change you made there).",
        "helpers/limits/src/rate_limit.rs"
    );
}

// ---------------------------------------------------------------------------
// The client: cursor.js in the page, in the virtual browser
// ---------------------------------------------------------------------------

thread_local! {
    /// The `x-client-id` of each `GET /poll` that reached the scenario's
    /// server, in order (s16 reads it). The virtual browser runs the server
    /// on the test's own thread.
    static POLLED_AS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// Each `/poll` request that reached the server: when (virtual ms), its
    /// method and its `x-client-id` (s17 reads it).
    static ASKED_AS: RefCell<Vec<(u64, Method, String)>> = const { RefCell::new(Vec::new()) };
}

/// The app for client scenarios: a fixed epoch, and the rate limit on the
/// virtual browser's clock, so a virtual minute of polling is a minute to it.
/// It notes who each poll says it is, in [`POLLED_AS`].
fn scenario_app() -> Router {
    POLLED_AS.with_borrow_mut(Vec::clear);
    ASKED_AS.with_borrow_mut(Vec::clear);
    let app = app_with(
        Arc::new(CachedStore::with_epoch(MAX_MESSAGES, EPOCH)),
        VirtualClock,
    );
    app.layer(middleware::from_fn(
        |request: axum::extract::Request, next: Next| async move {
            let id = request.headers().get(CLIENT_ID_HEADER);
            let id =
                id.and_then(|id| id.to_str().ok()).unwrap_or_default().to_owned();
            if request.uri().path() == "/poll" {
                let at = virtual_browser::virtual_now();
                ASKED_AS.with_borrow_mut(|asked| {
                    asked.push((at, request.method().clone(), id.clone()))
                });
            }
            if request.method() == Method::GET && request.uri().path() == "/poll" {
                POLLED_AS.with_borrow_mut(|ids| ids.push(id));
            }
            next.run(request).await
        },
    ))
}

/// The client ids the scenario's polls named, in order.
fn polled_as() -> Vec<String> {
    POLLED_AS.with_borrow(Clone::clone)
}

/// The page with the crate's `client.js` and `cursor.js`.
pub fn client() -> ClientSpec {
    client_with(CLIENT_JS, CURSOR_JS)
}

/// The page with `client_js` and `cursor_js` (the course's known wrong ones
/// in `wrong_solutions.rs`), on the crate's server and `backoff.js`.
pub fn client_with(client_js: &'static str, cursor_js: &'static str) -> ClientSpec {
    ClientSpec::new(scenario_app, client_js, env!("CARGO_MANIFEST_DIR"))
        .with_module("/backoff.js", BACKOFF_JS)
        .with_module("/cursor.js", cursor_js)
        .learner_edits("cursor.js")
}

/// Fail with `problem`, which breaks `rule` (the message begins with its id
/// and words, `R7 ...: `, as a server scenario's does), then the trace and
/// where to look.
#[track_caller]
fn fail(rule: Rule, problem: &str, trace: &Trace, look: &str) -> ! {
    fail_as(&format!("{rule:#}"), problem, trace, look)
}

/// [`fail`], with the rule named in a `title` of its own: a rule and what
/// more it says here (`R15 a tab keeps its client id, and ...`).
#[track_caller]
fn fail_as(title: &str, problem: &str, trace: &Trace, look: &str) -> ! {
    panic!("{title}: {problem}\nWhat happened:\n{trace}{look}")
}

/// The page's script must not have failed (which breaks `rule`, the
/// scenario's), and `refresh()` must not have thrown: client.js catches what
/// it throws and shows it in the status line (`polling failed (...)`), so a
/// throwing `pollPath` or `merge` shows there, not as a script error. Which
/// one threw shows in the trace: `pollPath` throws before the page asks the
/// server anything, `merge` after an answer; the failure names its rule.
#[track_caller]
fn check_the_page_runs(spec: &ClientSpec, rule: Rule, trace: &Trace) {
    if let Err(problem) = checks::no_script_errors(trace) {
        fail(rule, &problem, trace, &format!("Look at {}.", spec.client_path()));
    }
    let mut answered_at = None;
    for (at, event) in trace.events() {
        match event {
            Event::Answered { path, outcome, .. } if path.starts_with("/poll") => {
                answered_at = Some((*at, outcome.is_success()));
            }
            Event::Status { text } if text.starts_with("polling failed (") => {
                // "polling failed (<reason>); trying again in 3 s", or
                // "polling failed (<reason>)" from a page that says no more.
                let rest = text.trim_start_matches("polling failed (");
                let reason = rest.rsplit_once("); trying again").map_or_else(
                    || rest.strip_suffix(')').unwrap_or(rest),
                    |(reason, _)| reason,
                );
                if reason.starts_with("GET /poll answered")
                    || reason == "Failed to fetch"
                {
                    continue; // the server or the network said no: not the page's fault
                }
                let (rule, what, function) = match answered_at {
                    Some((when, true)) if when == *at => (
                        R8,
                        "after a successful answer: `merge` threw (or `nextCursor`, given)",
                        "merge",
                    ),
                    _ => (
                        R7,
                        "before the page asked the server anything: `pollPath` threw",
                        "pollPath",
                    ),
                };
                fail(
                    rule,
                    &format!(
                        "at {at} ms refresh() threw {reason:?} {what}. client.js catches the error and shows it \
                         in the status line, so the page keeps trying and never gets further."
                    ),
                    trace,
                    &format!("Look at `{function}` in {}.", spec.client_path()),
                );
            }
            _ => {}
        }
    }
}

/// `trace`'s text with each poll's query in one order (`since`, `epoch`,
/// then the rest as they came), so that a cursor that writes them in
/// another order matches the snapshot.
fn in_one_order(trace: &str) -> String {
    let mut text = String::new();
    for line in trace.lines() {
        let mut words: Vec<String> = line.split(' ').map(str::to_owned).collect();
        for word in &mut words {
            if let Some(query) = word.strip_prefix("/poll?") {
                let mut pairs: Vec<&str> = query.split('&').collect();
                pairs.sort_by_key(|pair| match pair.split('=').next() {
                    Some("since") => 0,
                    Some("epoch") => 1,
                    _ => 2,
                });
                *word = format!("/poll?{}", pairs.join("&"));
            }
        }
        text.push_str(&words.join(" "));
        text.push('\n');
    }
    text
}

/// The query parameters of `path`, by name.
fn query_of(path: &str) -> Vec<(String, String)> {
    let query = path.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// The value of `name` in `path`'s query.
fn param(path: &str, name: &str) -> Option<String> {
    query_of(path).into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

#[test]
fn s10_cursor_js_merges_each_message_once_in_order() {
    s10(&client());
}

pub fn s10(spec: &ClientSpec) {
    let logs = spec.logs_of(
        r#"import { merge, pollPath, MAX_SHOWN } from "/cursor.js";
           const m = (...ids) => ids.map((id) => ({ id, text: `#${id}` }));
           const ids = (list) => list.map((x) => x.id).join(",");
           const run = (f) => { try { return String(f()); } catch (e) { return `threw ${e}`; } };
           console.log(run(() => ids(merge(m(1, 2, 3), m(3, 4)))));
           console.log(run(() => ids(merge([], m(5, 3, 4)))));
           console.log(run(() => ids(merge(m(1, 2), []))));
           console.log(run(() => {
             const many = merge([], m(...Array.from({ length: 60 }, (_, i) => i + 1)));
             return `${many.length} ${many[0].id}..${many[many.length - 1].id} of ${MAX_SHOWN}`;
           }));
           console.log(run(() => pollPath(null)));
           console.log(run(() => pollPath({ since: 41, epoch: 7 })));"#,
    );
    let log = |n: usize| logs.get(n).cloned().unwrap_or_default();
    let merge_look = format!("Look at `merge` in {}.", spec.client_path());
    let gave = |log: &str| match log.strip_prefix("threw ") {
        Some(error) => format!("it threw {error}"),
        None => format!("it gave {log:?}"),
    };
    for (n, call, expected, why) in [
        (
            0,
            "merge(shown 1,2,3, incoming 3,4)",
            "1,2,3,4",
            "each message once: 3 came again",
        ),
        (1, "merge([], incoming 5,3,4)", "3,4,5", "oldest first: sorted by id"),
        (2, "merge(shown 1,2, [])", "1,2", "nothing new, nothing lost"),
        (
            3,
            "merge([], incoming 1 to 60)",
            "50 11..60 of 50",
            "at most MAX_SHOWN, the newest",
        ),
    ] {
        assert!(
            log(n) == expected,
            "{R8:#}, by id, oldest first, and at most MAX_SHOWN: {call} should give \
             {expected:?} ({why}), but {}.\n{merge_look}",
            gave(&log(n))
        );
    }
    let path_look = format!("Look at `pollPath` in {}.", spec.client_path());
    let first = log(4);
    assert!(
        first.split('?').next() == Some("/poll") && param(&first, "since").is_none(),
        "{R7:#}: before the first answer there is no cursor, so pollPath(null) should be \
         \"/poll\", but {}.\n{path_look}",
        gave(&first)
    );
    let later = log(5);
    assert!(
        later.split('?').next() == Some("/poll")
            && param(&later, "since").as_deref() == Some("41")
            && param(&later, "epoch").as_deref() == Some("7"),
        "{R7:#}: pollPath({{ since: 41, epoch: 7 }}) should be \
         \"/poll?since=41&epoch=7\", both parts of the cursor, but {}.\n{path_look}",
        gave(&later)
    );
}

#[test]
fn s11_the_page_polls_with_its_cursor_and_shows_each_message_once() {
    s11(&client());
}

pub fn s11(spec: &ClientSpec) {
    let trace = spec.run(30_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .post_at(4_000, "grace", "one")
            .post_at(9_000, "grace", "two")
            .post_at(9_500, "grace", "three");
    });
    check_the_page_runs(spec, R7, &trace);
    let polls = trace.spans_to("/poll");
    let plain = polls.iter().skip(1).find(|p| {
        param(&p.path, "since").is_none()
            || param(&p.path, "epoch").as_deref() != Some(&EPOCH.to_string())
    });
    if let Some(plain) = plain {
        fail(
            R7,
            &format!(
                "after the first answer (epoch {EPOCH}), every poll should carry the cursor, \
                 `/poll?since=<newest id>&epoch={EPOCH}`, but #{} asked {}.",
                plain.request, plain.path
            ),
            &trace,
            &format!("Look at `pollPath` in {}.", spec.client_path()),
        );
    }
    let shown: Vec<Vec<u64>> = trace
        .events()
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Rendered { ids } => Some(ids.clone()),
            _ => None,
        })
        .collect();
    if shown.last().map(Vec::as_slice) != Some(&[1, 2, 3][..]) {
        let last = match shown.last() {
            None => "it never showed any".to_owned(),
            Some(ids) => format!("it last showed the ids {ids:?}"),
        };
        fail(
            R8,
            &format!(
                "three messages were posted (at 4 s, 9 s and 9.5 s), so the page should end up showing messages \
                 1, 2 and 3, once each, in order, but {last}."
            ),
            &trace,
            &format!("Look at `merge` in {}.", spec.client_path()),
        );
    }
    assert_trace_snapshot!("s11_cursor", in_one_order(&trace.to_string()));
}

#[test]
fn s12_an_idle_page_gets_small_answers_and_draws_nothing_new() {
    s12(&client());
}

pub fn s12(spec: &ClientSpec) {
    let trace = spec.run(60_000, |browser| {
        browser.latency(Latency::Fixed(100)).http_cache(true);
        for n in 0..MAX_MESSAGES {
            browser.post_at(0, &format!("reader {n}"), "some history");
        }
    });
    let path_look = format!("Look at `pollPath` in {}.", spec.client_path());
    check_the_page_runs(spec, R7, &trace);
    let polls = trace.spans_to("/poll");
    let first = polls.first().map(|p| (p.path.clone(), p.outcome.clone()));
    let all_fifty = |o: &Option<Outcome>| {
        matches!(o, Some(Outcome::Status { code: 200, messages: Some(50), .. }))
    };
    match &first {
        Some((path, outcome)) if all_fifty(outcome) && path == "/poll" => {}
        Some((path, outcome)) => fail(
            R7,
            &format!(
                "the page's first poll should ask for /poll (no cursor yet) and get all {MAX_MESSAGES} \
                 messages in the chat, but it asked for {path} and {}.",
                outcome
                    .as_ref()
                    .map_or("got no answer".to_owned(), |o| format!("got {o}"))
            ),
            &trace,
            &path_look,
        ),
        None => fail(
            R7,
            &format!(
                "the page should poll at once and get all {MAX_MESSAGES} messages in the chat, but it sent no \
                 poll at all."
            ),
            &trace,
            &path_look,
        ),
    }
    let big = polls.iter().skip(1).find_map(|p| match &p.outcome {
        Some(Outcome::Status { bytes, .. }) if *bytes > 100 => Some((p, *bytes)),
        _ => None,
    });
    if let Some((poll, bytes)) = big {
        fail(
            R7,
            &format!(
                "while nothing is new, each poll's answer should be a few dozen bytes (`{{\"msg\":[],...}}`), \
                 because the cursor says the page has every message, but poll #{} ({}) got {bytes} bytes.",
                poll.request, poll.path
            ),
            &trace,
            &path_look,
        );
    }
    let draws = trace
        .events()
        .iter()
        .filter(|(_, e)| matches!(e, Event::Rendered { .. }))
        .count();
    if draws != 1 {
        fail(
            R9,
            &format!(
                "the page should draw the {MAX_MESSAGES} messages once, and not again while nothing changes, \
                 but it drew {draws} times: draw only an answer with a message or a reset."
            ),
            &trace,
            &format!("Look at `refresh` in {}.", file("client.js")),
        );
    }
    // The first poll with the cursor fills the browser's cache; every later
    // one asks for the same URL, and the cache revalidates it.
    let fresh = polls.iter().enumerate().skip(2).find(|(_, p)| {
        !matches!(p.outcome, Some(Outcome::Status { code: 304, .. }) | None)
    });
    // The same URL as the poll before, and still no 304: the page's `fetch`
    // kept the cache out (`cache: "no-store"` or `"reload"`).
    if let Some((_, poll)) =
        fresh.filter(|(i, p)| polls.get(i - 1).is_some_and(|b| b.path == p.path))
    {
        fail(
            R10,
            &format!(
                "while nothing is new the cursor does not move, so every poll asks for the same URL, and the \
                 browser's cache should revalidate it: it sends `If-None-Match` with the tag it kept, and the \
                 server answers 304. Poll #{} asked for {}, the URL of the poll before, but got {}: the cache \
                 was left out. Does the page's `fetch` pass a `cache` option that skips it (\"no-store\" or \
                 \"reload\")? The default revalidates.",
                poll.request,
                poll.path,
                poll.outcome
                    .as_ref()
                    .map_or("no answer".to_owned(), ToString::to_string)
            ),
            &trace,
            &format!("Look at the `fetch` in `refresh` in {}.", file("client.js")),
        );
    }
    if let Some((_, poll)) = fresh {
        fail(
            R10,
            &format!(
                "while nothing is new the cursor does not move, so every poll should ask for the same URL; the \
                 browser's cache then sends `If-None-Match` with the tag it kept and the server answers 304. But \
                 poll #{} asked for {} and got {}: nothing but `since` and `epoch` belongs in the URL.",
                poll.request,
                poll.path,
                poll.outcome
                    .as_ref()
                    .map_or("no answer".to_owned(), ToString::to_string)
            ),
            &trace,
            &path_look,
        );
    }
}

#[test]
fn s13_the_page_honours_429_and_retry_after() {
    s13(&client());
}

pub fn s13(spec: &ClientSpec) {
    let trace = spec.run(40_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(3_000..3_500, Failure::RetryAfter { status: 429, seconds: 20 });
    });
    let rule = R11;
    let look = format!(
        "Look at `refresh` in {}, which hands Retry-After to backoff.js.",
        file("client.js")
    );
    check_the_page_runs(spec, rule, &trace);
    let polls = trace.spans_to("/poll");
    let refused = polls
        .iter()
        .position(|p| matches!(p.outcome, Some(Outcome::Status { code: 429, .. })));
    let recovered = refused.is_some_and(|at| {
        polls[at..].iter().any(|p| !p.failed() && p.answered.is_some())
    });
    if !recovered {
        let what = if refused.is_none() {
            "no poll reached the server between 3 s and 3.5 s, when it answers 429"
                .to_owned()
        } else {
            "no poll got through after the 429".to_owned()
        };
        fail(
            rule,
            &format!(
                "the page should poll into the server's 429 (at 3 s) and get through again once it may \
                 (20 s later), but {what}."
            ),
            &trace,
            &look,
        );
    }
    if let Err(problem) = checks::honours_retry_after(&trace) {
        fail(rule, &problem, &trace, &look);
    }
}

#[test]
fn s14_after_a_server_restart_the_page_starts_over() {
    s14(&client());
}

pub fn s14(spec: &ClientSpec) {
    let trace = spec.run(30_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .post_at(2_000, "grace", "before the restart")
            .post_at(2_001, "grace", "also before")
            .post_at(2_002, "grace", "and this one")
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
    check_the_page_runs(spec, R12, &trace);
    let after_restart = trace.spans_to("/poll").into_iter().find(|p| {
        p.sent > 10_000
            && param(&p.path, "since").is_some()
            && param(&p.path, "epoch").as_deref() == Some(&(EPOCH + 1).to_string())
    });
    if after_restart.is_none() {
        fail(
            R7,
            &format!(
                "after the server restarted (10 s) with the epoch {}, the page's polls should carry that epoch \
                 (`&epoch={}`), taken from the answers, but none did.",
                EPOCH + 1,
                EPOCH + 1
            ),
            &trace,
            &format!("Look at `pollPath` in {}.", spec.client_path()),
        );
    }
    let last_shown = trace.events().iter().rev().find_map(|(at, e)| match e {
        Event::Rendered { ids } => Some((*at, ids.clone())),
        _ => None,
    });
    if !last_shown.as_ref().is_some_and(|(at, ids)| *at >= 12_000 && ids == &[1, 2])
    {
        let last = match &last_shown {
            None => "it never showed any messages".to_owned(),
            Some((at, ids)) if ids.is_empty() => {
                format!("at {at} ms it last showed no messages")
            }
            Some((at, ids)) => format!("at {at} ms it last showed the ids {ids:?}"),
        };
        fail(
            R12,
            &format!(
                "three messages were posted before the server restarted (10 s), and two to the new server (12 \
                 s), so the page should end up showing exactly those two (ids 1 and 2 of the new server), but \
                 {last}. When an answer says `reset: true`, start from an empty list."
            ),
            &trace,
            &format!("Look at `refresh` in {}.", file("client.js")),
        );
    }
}

#[test]
fn s15_on_a_slow_server_the_page_polls_one_at_a_time() {
    s15(&client());
}

pub fn s15(spec: &ClientSpec) {
    let trace = spec.run(30_000, |browser| {
        browser.latency(Latency::Fixed(5_000));
    });
    let rule = R13;
    check_the_page_runs(spec, rule, &trace);
    if let Err(problem) = checks::never_two_polls_at_once(&trace) {
        fail(
            rule,
            &format!("on a server that takes 5 s to answer, {problem}."),
            &trace,
            &format!(
                "Look at `frame` in {}: it awaits `refresh()` before it polls again.",
                file("client.js")
            ),
        );
    }
    let polls = trace.spans_to("/poll");
    if polls.len() < 3 {
        fail(
            rule,
            &format!(
                "one at a time, but still polling: in 30 s with 5 s answers the page should poll at least 3 \
                 times, but it polled {}.",
                polls.len()
            ),
            &trace,
            &format!("Look at `frame` in {}.", file("client.js")),
        );
    }
}

/// How often s16's user presses reload, and how many times.
const RELOAD_EVERY_MS: u64 = 200;
const RELOADS: u64 = 30;

#[test]
fn s16_a_tab_keeps_its_client_id_when_it_reloads() {
    s16(&client());
}

pub fn s16(spec: &ClientSpec) {
    let rule = R15;
    let look = format!("Look at `CLIENT_ID` in {}.", file("client.js"));
    let trace = spec.run(10_000, |browser| {
        browser.latency(Latency::Fixed(100));
        for n in 1..=RELOADS {
            browser.reload_at(n * RELOAD_EVERY_MS);
        }
    });
    check_the_page_runs(spec, rule, &trace);
    let ids = polled_as();
    let mut named: Vec<&String> = Vec::new();
    for id in &ids {
        if !named.contains(&id) {
            named.push(id);
        }
    }
    if named.len() != 1 || named[0].is_empty() {
        let some: Vec<String> =
            named.iter().take(4).map(|id| format!("{id:?}")).collect();
        fail(
            rule,
            &format!(
                "the user reloaded one tab {RELOADS} times, once every {RELOAD_EVERY_MS} ms. A reload keeps the \
                 tab's sessionStorage, so every load's polls should name one client (`x-client-id`), but the \
                 {} polls named {} ({}{}). A page that makes a new id on every load gets a whole new allowance \
                 with each reload, so its client's allowance never holds the loop (only the address's ceiling \
                 would, at ten times the rate): keep the id in `sessionStorage`, and make one only when none is \
                 kept.",
                ids.len(),
                match named.len() {
                    0 => "no client at all".to_owned(),
                    1 => "no client (an empty id)".to_owned(),
                    n => format!("{n} different clients"),
                },
                some.join(", "),
                if named.len() > 4 { ", ..." } else { "" }
            ),
            &trace,
            &look,
        );
    }
    let stopped = trace
        .spans_to("/poll")
        .iter()
        .any(|p| matches!(p.outcome, Some(Outcome::Status { code: 429, .. })));
    if !stopped {
        fail(
            rule,
            &format!(
                "one tab that reloads every {RELOAD_EVERY_MS} ms polls at every load, more than its allowance \
                 ({BURST} at once, then 2 a second), so the server should have answered 429 during the loop, \
                 but it never did: did each load name another client?"
            ),
            &trace,
            &look,
        );
    }

    // Where the browser refuses storage, reading `sessionStorage` throws.
    let trace = spec.run(10_000, |browser| {
        browser.latency(Latency::Fixed(100)).session_storage(false).reload_at(5_000);
    });
    if let Err(problem) = checks::no_script_errors(&trace) {
        fail(
            rule,
            &format!(
                "in a tab whose browser refuses storage (reading `sessionStorage` throws a SecurityError, as \
                 when a user blocks sites from keeping data), the page should still run, with an id made for \
                 that load, but {problem} Catch what `sessionStorage` throws."
            ),
            &trace,
            &look,
        );
    }
    let polls = trace.spans_to("/poll");
    let answered = |load: std::ops::Range<u64>| {
        polls.iter().any(|p| {
            load.contains(&p.sent)
                && p.outcome.as_ref().is_some_and(Outcome::is_success)
        })
    };
    let ids = polled_as();
    if !answered(0..5_000)
        || !answered(5_000..10_000)
        || ids.iter().any(String::is_empty)
    {
        fail(
            rule,
            &format!(
                "in a tab whose browser refuses storage, each load (at 0 and at 5 s) should still poll, naming \
                 itself with an id of its own, and be answered, but the polls named {ids:?}."
            ),
            &trace,
            &look,
        );
    }
}

#[test]
fn s17_a_duplicated_tab_is_a_client_of_its_own_and_posts_name_the_page() {
    s17(&client());
}

/// The user posts, duplicates the tab at 6 s (the duplicate starts with a
/// copy of the tab's `sessionStorage`), and posts again from the copy.
pub fn s17(spec: &ClientSpec) {
    const DUPLICATED_AT: u64 = 6_000;
    let look = format!("Look at `CLIENT_ID` in {}.", file("client.js"));
    let trace = spec.run(12_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .send_at(2_000, "ada", "from the first tab")
            .duplicate_at(DUPLICATED_AT)
            .send_at(9_000, "ada", "from the copy");
    });
    check_the_page_runs(spec, R15, &trace);
    let asked = ASKED_AS.with_borrow(Clone::clone);
    let names = |from: u64, to: u64, method: &Method| -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (at, m, id) in &asked {
            if (from..to).contains(at) && m == method && !names.contains(id) {
                names.push(id.clone());
            }
        }
        names
    };
    let (first, copy) = (
        names(0, DUPLICATED_AT, &Method::GET),
        names(DUPLICATED_AT, u64::MAX, &Method::GET),
    );
    if first.len() != 1 || copy.len() != 1 || first == copy {
        fail_as(
            &format!("{R15:#}, and a duplicated tab gets its own"),
            &format!(
                "the tab was duplicated at {DUPLICATED_AT} ms, and a duplicate starts with a copy of the tab's \
                 sessionStorage. Its polls must name a client of its own, or the two tabs share one allowance \
                 (and, in exercise 07, one client's held requests). The first tab's polls named {first:?}, the \
                 copy's {copy:?}. Keep the id out of sessionStorage while the page is open, and put it back as \
                 the page goes (`pagehide`), so a reload finds it and a copy does not."
            ),
            &trace,
            &look,
        );
    }
    for (from, to, polls) in
        [(0, DUPLICATED_AT, &first), (DUPLICATED_AT, u64::MAX, &copy)]
    {
        let posts = names(from, to, &Method::POST);
        if posts.is_empty() || posts != **polls {
            fail(
                R18,
                &format!(
                    "the page's polls name it {polls:?}, but its posts from the form named {posts:?}: a post \
                     must send the same `x-client-id`, or the server counts it against the address and keys its \
                     idempotency key to another client. Tell the chat module the id (`nameThisPage`)."
                ),
                &trace,
                &look,
            );
        }
    }
}
