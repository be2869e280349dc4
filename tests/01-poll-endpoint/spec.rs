//! The spec for exercise 01, the poll endpoint.
//!
//! One file checks both crates: `cargo test -p ex01-poll-endpoint` runs it
//! against your starter, and the root `cargo test` runs it against the
//! solution. Each crate's `tests/spec.rs` names its own library
//! `poll_endpoint` and includes this file. The tests are numbered in the order to make them pass; when
//! several fail, start with the lowest number.
//!
//! The server is tested without a network: each request goes straight into
//! the app's `Router` (`tower::ServiceExt::oneshot`), as a browser's would.
//! Snapshots live in `snapshots/` next to this file; ids and times in them
//! are redacted, because those change from run to run.
//!
//! The rules chapter 01 teaches, and the scenarios that pin each (a failure
//! names its rule):
//! - R1 `GET /poll` lists every message, oldest first, never cached (s01,
//!   s02, s04).
//! - R2 `POST /poll` stores the message and answers 201 with it (s03).
//! - R3 `user` and `text` are trimmed before anything else: stored trimmed,
//!   and counted against their limits trimmed (s05).
//! - R4 the store keeps only the newest MAX_MESSAGES, and never reuses an id
//!   (s06).
//! - R5 every message gets its own id, even posted at once (s07).
//! - R6 limits count characters, not bytes (s08).
//! - R7 bad input gets its own 4xx: 400, 413, 415 or 422 (s09 to s16).
//! - R8 a refusal stores nothing, and the server keeps serving (s09 to s16).
//! - R9 every refusal is JSON that says what to fix; with both fields wrong,
//!   it names `user`, which is checked first (s09 to s18).
//! - R10 a name may not reverse or hide text, and is checked whole before
//!   the text is looked at (s15).

use axum::{
    Router,
    body::Body,
    http::{Request, header},
};
use poll_endpoint::{
    MAX_BODY_BYTES, MAX_MESSAGES, app,
    message::{MAX_TEXT_CHARS, MAX_USER_CHARS},
};
use serde_json::{Value, json};
use spec_support::{Rule, learner_file, requests};
use std::time::{SystemTime, UNIX_EPOCH};

pub const R1: Rule =
    Rule::new("R1", "GET /poll lists every message, oldest first, never cached");
pub const R2: Rule =
    Rule::new("R2", "POST /poll stores the message and answers 201 with it");
pub const R3: Rule = Rule::new("R3", "`user` and `text` are stored trimmed");
pub const R4: Rule = Rule::new("R4", "the store keeps only the newest MAX_MESSAGES");
pub const R5: Rule = Rule::new("R5", "every message gets its own id");
pub const R6: Rule = Rule::new("R6", "limits count characters, not bytes");
pub const R7: Rule = Rule::new("R7", "bad input gets its own 4xx");
pub const R8: Rule = Rule::new("R8", "a refusal stores nothing");
pub const R9: Rule = Rule::new("R9", "every refusal is JSON that says what to fix");
pub const R10: Rule = Rule::new("R10", "a name may not reverse or hide text");

/// How a scenario makes its server: the crate's own `app`, or (in
/// `wrong_solutions.rs`) a known wrong one.
pub type App = fn() -> axum::Router;

// ---------------------------------------------------------------------------
// The spec's tools: a chat server in memory, and answers that are easy to check.
// ---------------------------------------------------------------------------

/// Where to look, as a path a learner can open: `exercises/01-poll-endpoint/src/routes.rs`.
fn file(name: &str) -> String {
    learner_file(env!("CARGO_MANIFEST_DIR"), name)
}

/// One fresh server (its own empty store) per test.
struct Chat {
    app: Router,
}

/// An answer from the server.
#[derive(Debug)]
struct Reply {
    request: String,
    status: u16,
    content_type: String,
    cache_control: String,
    body: String,
}

impl Reply {
    /// The body as JSON, or a failure that says what came instead.
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| {
            panic!(
                "{} answered a body that is not JSON:\n  {:?}\nEvery answer from /poll, errors included, is JSON \
                 (axum's `Json(...)` writes it for you).",
                self.request, self.body
            )
        })
    }
}

impl Chat {
    /// A fresh server from `app`: the crate's own, or (in
    /// `wrong_solutions.rs`) a known wrong one.
    fn new(app: App) -> Self {
        Chat { app: app() }
    }

    /// Send one request. If the server panics (a `todo!()` still in the
    /// code, say), fail with a message that says so instead of a stack trace.
    async fn send(&self, request: Request<Body>) -> Reply {
        let what = format!("{} {}", request.method(), request.uri());
        let reply =
            requests::answer(&self.app, request).await.unwrap_or_else(|panicked| {
                panic!("{}", panicked.start_in(file("src/routes.rs")))
            });
        let header_text = |name| reply.header(name).unwrap_or_default().to_owned();
        let content_type = header_text(header::CONTENT_TYPE);
        let cache_control = header_text(header::CACHE_CONTROL);
        let (status, bytes) = (reply.status, reply.body);
        Reply {
            request: what,
            status,
            content_type,
            cache_control,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    /// `POST /poll` with a JSON body and `Content-Type: application/json`.
    async fn post(&self, body: impl Into<Body>) -> Reply {
        let request =
            Request::post("/poll").header(header::CONTENT_TYPE, "application/json");
        self.send(request.body(body.into()).unwrap()).await
    }

    async fn post_message(&self, user: &str, text: &str) -> Reply {
        self.post(json!({ "user": user, "text": text }).to_string()).await
    }

    /// Post a message that must be accepted, and return what was stored.
    async fn posted(&self, user: &str, text: &str) -> Value {
        let reply = self.post_message(user, text).await;
        // A 422 is the message's rules speaking: the refusal came from
        // `validate`, not from the handler that called it.
        let look_at = if reply.status == 422 {
            format!(
                "`validate` in {}: it refused a message that keeps every rule",
                file("src/validate.rs")
            )
        } else {
            format!("`post_poll` in {}", file("src/routes.rs"))
        };
        assert_eq!(
            reply.status, 201,
            "POST /poll with {{\"user\": {user:?}, \"text\": {text:?}}} should store the message and answer \
             201 Created, but it answered {}:\n  {}\nLook at {look_at}.",
            reply.status, reply.body,
        );
        reply.json()
    }

    /// The `msg` list of `GET /poll`.
    async fn messages(&self) -> Vec<Value> {
        let reply = self.get("/poll").await;
        assert_eq!(
            reply.status,
            200,
            "GET /poll should always answer 200, but it answered {}:\n  {}\nLook at `get_poll` in {}.",
            reply.status,
            reply.body,
            file("src/routes.rs")
        );
        let body = reply.json();
        match body.get("msg").and_then(Value::as_array) {
            Some(list) => list.clone(),
            None => panic!(
                "GET /poll should answer {{\"msg\": [...]}}, a JSON object whose `msg` is a list, but it answered\n  {}\n\
                 Look at `get_poll` in {} and the `Poll` struct there.",
                reply.body,
                file("src/routes.rs")
            ),
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

fn ids(messages: &[Value]) -> Vec<u64> {
    messages.iter().map(|m| m["id"].as_u64().unwrap_or(0)).collect()
}

fn texts(messages: &[Value]) -> Vec<&str> {
    messages.iter().map(|m| m["text"].as_str().unwrap_or("")).collect()
}

fn assert_strictly_increasing(ids: &[u64], context: &str) {
    for pair in ids.windows(2) {
        assert!(
            pair[0] < pair[1],
            "{R5:#}: {context}: ids must grow strictly, one message after another, \
             but {} is followed by {}.\n\
             ids: {ids:?}\nGive each message `next_id` and then increase it, under the lock: look at `push` in {}.",
            pair[0],
            pair[1],
            file("src/store.rs")
        );
    }
}

/// The snapshot settings shared by every test: ids and times vary between
/// runs, so they are replaced by placeholders before comparing.
macro_rules! assert_message_snapshot {
    ($name:literal, $value:expr) => {
        spec_support::snapshot_failures_point_at(file!());
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!($name, $value, {
                ".id" => "[id]", ".time" => "[time]",
                ".msg[].id" => "[id]", ".msg[].time" => "[time]",
            })
        })
    };
}

// ---------------------------------------------------------------------------
// 1. Reading and writing messages
// ---------------------------------------------------------------------------

#[tokio::test]
async fn s01_get_poll_answers_an_empty_list_at_first() {
    s01(app).await;
}

/// s01's scene, on the server `app` makes.
pub async fn s01(app: App) {
    let chat = Chat::new(app);
    let reply = chat.get("/poll").await;
    assert_eq!(
        reply.status,
        200,
        "GET /poll on a new server should answer 200 OK, but it answered {}.\nLook at `get_poll` in {}.",
        reply.status,
        file("src/routes.rs")
    );
    assert!(
        reply.content_type.starts_with("application/json"),
        "GET /poll should answer with `Content-Type: application/json`, but it was {:?}.\n\
         Return `Json(...)` from `get_poll` in {}.",
        reply.content_type,
        file("src/routes.rs")
    );
    assert_eq!(
        reply.json(),
        json!({ "msg": [] }),
        "A new server has no messages yet, so GET /poll should answer exactly {{\"msg\": []}}.\n\
         Look at `get_poll` in {} and `messages` in {}.",
        file("src/routes.rs"),
        file("src/store.rs")
    );
}

#[tokio::test]
async fn s02_get_poll_tells_caches_not_to_store_it() {
    s02(app).await;
}

/// s02's scene, on the server `app` makes.
pub async fn s02(app: App) {
    let chat = Chat::new(app);
    let reply = chat.get("/poll").await;
    assert_eq!(
        reply.cache_control,
        "no-store",
        "{R1:#}: GET /poll should send `Cache-Control: no-store`, but it sent {:?}.\nA poll answer is out of date as soon \
         as someone posts; without this header a browser or proxy cache may keep it and answer the next poll \
         itself. Add the header in `get_poll` in {} (a tuple `([(header::CACHE_CONTROL, \"no-store\")], Json(...))` \
         with `.into_response()` is a `Response`).",
        reply.cache_control,
        file("src/routes.rs")
    );
}

#[tokio::test]
async fn s03_post_poll_stores_a_message_and_answers_201() {
    s03(app).await;
}

/// s03's scene, on the server `app` makes.
pub async fn s03(app: App) {
    let chat = Chat::new(app);
    let before = now_ms();
    let stored = chat.posted("ada", "hello, world").await;
    let after = now_ms();

    assert_message_snapshot!("s03_post_answer", &stored);
    let id = stored["id"].as_u64();
    assert!(
        id.is_some_and(|id| id >= 1),
        "The answer to POST /poll should carry the new message's `id`, a whole number from 1 up, but it was {}.\n\
         Look at `push` in {}.",
        stored["id"],
        file("src/store.rs")
    );
    let time = stored["time"].as_u64().unwrap_or(0);
    assert!(
        (before..=after).contains(&time),
        "`time` should be when the server stored the message, in milliseconds since 1970 (like Date.now()): \
         between {before} and {after}, but it was {}.\nLook at `push` in {} (there is a `now_ms()` for this).",
        stored["time"],
        file("src/store.rs")
    );
    assert_eq!(
        chat.messages().await,
        vec![stored.clone()],
        "{R2:#}: after one POST, GET /poll should list exactly the stored message, as the POST answered it.\n\
         Look at `push` and `messages` in {}.",
        file("src/store.rs")
    );
}

#[tokio::test]
async fn s04_get_poll_lists_messages_oldest_first() {
    s04(app).await;
}

/// s04's scene, on the server `app` makes.
pub async fn s04(app: App) {
    let chat = Chat::new(app);
    let first = chat.posted("ada", "first").await;
    let second = chat.posted("grace", "second").await;
    let third = chat.posted("ada", "third").await;

    let messages = chat.messages().await;
    assert_eq!(
        texts(&messages),
        ["first", "second", "third"],
        "{R1:#}: GET /poll should list messages oldest first (the order they were posted), so a page can show them top \
         to bottom and later exercises can ask for \"everything after id N\".\nLook at `messages` in {}.",
        file("src/store.rs")
    );
    assert_eq!(
        messages,
        [first, second, third],
        "GET /poll should list each message as POST answered it"
    );
    assert_strictly_increasing(
        &ids(&messages),
        "three messages posted one after another",
    );
    assert_message_snapshot!("s04_three_messages", json!({ "msg": messages }));
}

#[tokio::test]
async fn s05_user_and_text_are_stored_trimmed() {
    s05(app).await;
}

/// s05's scene, on the server `app` makes.
pub async fn s05(app: App) {
    let chat = Chat::new(app);
    let stored = chat.posted("  ada ", "\t hello  ").await;
    assert_eq!(
        (stored["user"].as_str(), stored["text"].as_str()),
        (Some("ada"), Some("hello")),
        "{R3:#}: whitespace around `user` and `text` should be trimmed before the message is stored.\n\
         Look at `validate` in {}.",
        file("src/validate.rs")
    );
    // The limits count the trimmed value: a name at its limit, sent with
    // spaces around it, is within it.
    let at_the_limit = "a".repeat(MAX_USER_CHARS);
    let reply = chat.post_message(&format!("  {at_the_limit} "), "hi").await;
    assert_eq!(
        (reply.status, reply.json()["user"].as_str()),
        (201, Some(at_the_limit.as_str())),
        "{R3:#}: a `user` of {MAX_USER_CHARS} characters (the limit) with spaces around it is within the limit: trim \
         first, then count. The server answered {} {}.\nLook at the order of the steps in `validate` in {}.",
        reply.status,
        reply.body,
        file("src/validate.rs")
    );
}

#[tokio::test]
async fn s06_the_store_keeps_only_the_newest_messages() {
    s06(app).await;
}

/// s06's scene, on the server `app` makes.
pub async fn s06(app: App) {
    let chat = Chat::new(app);
    let total = MAX_MESSAGES + 10;
    let mut last_id = 0;
    for n in 1..=total {
        last_id = chat.posted("ada", &format!("message {n}")).await["id"]
            .as_u64()
            .unwrap_or(0);
    }
    let messages = chat.messages().await;
    assert_eq!(
        messages.len(),
        MAX_MESSAGES,
        "{R4:#}: after {total} posts the server should keep only the newest MAX_MESSAGES = {MAX_MESSAGES}, but GET /poll \
         listed {}.\nDrop the oldest message when the store is full: look at `push` in {}.",
        messages.len(),
        file("src/store.rs")
    );
    let expected: Vec<String> =
        (11..=total).map(|n| format!("message {n}")).collect();
    assert_eq!(
        texts(&messages),
        expected,
        "The store should drop the *oldest* messages and keep the newest, oldest first.\nLook at `push` in {}.",
        file("src/store.rs")
    );
    let ids = ids(&messages);
    assert_strictly_increasing(&ids, "after the store dropped old messages");
    assert_eq!(
        ids.last(),
        Some(&last_id),
        "the last listed message should be the last one posted"
    );

    let next = chat.posted("ada", "one more").await["id"].as_u64().unwrap_or(0);
    assert!(
        next > last_id,
        "An id must never be handed out twice, even after old messages were dropped: the message after id \
         {last_id} got id {next}.\nCount ids separately from the number of stored messages: look at `push` in {}.",
        file("src/store.rs")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s07_concurrent_posts_get_distinct_ids() {
    s07(app).await;
}

/// s07's scene, on the server `app` makes.
pub async fn s07(app: App) {
    let chat = std::sync::Arc::new(Chat::new(app));
    let mut tasks = Vec::new();
    for task in 0..4 {
        let chat = chat.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..25 {
                ids.push(chat.posted("ada", &format!("task {task}, message {n}")).await["id"].as_u64().unwrap_or(0));
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let ids = task.await.expect("a posting task failed; see its message above");
        assert_strictly_increasing(&ids, "one client's posts, one after another");
        all.extend(ids);
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        all.len(),
        100,
        "{R5:#}: 100 posts sent at the same time from 4 tasks should get 100 different ids, but only {} were different.\n\
         Read and increase `next_id` while holding the lock, in one step: look at `push` in {}.",
        all.len(),
        file("src/store.rs")
    );
    assert_strictly_increasing(
        &ids(&chat.messages().await),
        "GET /poll after concurrent posts",
    );
}

#[tokio::test]
async fn s08_limits_are_counted_in_characters_not_bytes() {
    s08(app).await;
}

/// s08's scene, on the server `app` makes.
pub async fn s08(app: App) {
    let chat = Chat::new(app);
    // "é" is 2 bytes in UTF-8 and "😀" is 4: both are one character.
    let user = "é".repeat(MAX_USER_CHARS);
    let text = "😀".repeat(MAX_TEXT_CHARS);
    let reply = chat.post_message(&user, &text).await;
    assert_eq!(
        reply.status,
        201,
        "{R6:#}: {MAX_USER_CHARS} × \"é\" ({} bytes) and {MAX_TEXT_CHARS} × \"😀\" ({} \
         bytes) are exactly at the limits, in characters, and must be stored, but the server answered {}:\n  {}\n\
         Count with `.chars().count()`, not `.len()`: look at `validate` in {}.",
        user.len(),
        text.len(),
        reply.status,
        reply.body,
        file("src/validate.rs")
    );
    let stored = reply.json();
    assert_eq!(
        (stored["user"].as_str(), stored["text"].as_str()),
        (Some(user.as_str()), Some(text.as_str())),
        "{R6:#}: a name of exactly {MAX_USER_CHARS} characters and a text of exactly {MAX_TEXT_CHARS} characters are \
         allowed, whatever their size in bytes. Count with `.chars().count()`, not `.len()`: look at `validate` \
         in {}.",
        file("src/validate.rs")
    );
}

// ---------------------------------------------------------------------------
// 2. Bad input: a clear 4xx, nothing stored, and the server keeps serving
// ---------------------------------------------------------------------------

/// Send `request` to a server holding one message, and check that it is
/// refused with `status` and a JSON `{"error": "..."}`, that nothing was
/// stored, and that the server still takes a good message afterwards.
async fn assert_refused(
    app: App,
    request: Request<Body>,
    status: u16,
    why: &str,
    where_to_look: &str,
) -> String {
    let chat = Chat::new(app);
    let existing = chat.posted("ada", "already here").await;
    let reply = chat.send(request).await;
    assert_eq!(
        reply.status, status,
        "{R7:#}: {} with {why} should be refused with {status}, but the server answered {}:\n  {}\nLook at {where_to_look}.",
        reply.request, reply.status, reply.body
    );
    assert!(
        reply.content_type.starts_with("application/json"),
        "{R9:#}: {} with {why}: the {status} should be JSON, `{{\"error\": \"...\"}}`, but its Content-Type was {:?}.\n\
         Return the error as `ApiError` (see {}): `?` converts it for you.",
        reply.request,
        reply.content_type,
        file("src/error.rs")
    );
    let error =
        reply.json()["error"].as_str().map(str::to_owned).unwrap_or_default();
    assert!(
        !error.trim().is_empty(),
        "{R9:#}: {} with {why}: the {status} should say what is wrong in `error`, but the body was\n  {}",
        reply.request,
        reply.body
    );
    assert_eq!(
        chat.messages().await,
        vec![existing],
        "{R8:#}: {} with {why} was refused, so nothing may be stored, but GET /poll changed.\n\
         Validate before you push: look at `post_poll` in {}.",
        reply.request,
        file("src/routes.rs")
    );
    chat.posted("grace", "still serving").await;
    error
}

fn post_with_type(content_type: Option<&str>, body: &str) -> Request<Body> {
    let mut request = Request::post("/poll");
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

fn post_json(body: &str) -> Request<Body> {
    post_with_type(Some("application/json"), body)
}

fn post_message(user: &str, text: &str) -> Request<Body> {
    post_json(&json!({ "user": user, "text": text }).to_string())
}

const ROUTES: &str =
    "`post_poll` in src/routes.rs (the `?` on the JSON body) and src/error.rs";
const VALIDATE: &str =
    "`validate` in src/validate.rs, and the `?` after it in `post_poll`";

#[tokio::test]
async fn s09_malformed_json_is_refused_with_400() {
    s09(app).await;
}

/// s09's scene, on the server `app` makes.
pub async fn s09(app: App) {
    for body in
        [r#"{"user": "ada", "text": "hi""#, "not json", "", r#"{"user": "ada",}"#]
    {
        assert_refused(
            app,
            post_json(body),
            400,
            &format!("the body {body:?}"),
            ROUTES,
        )
        .await;
    }
}

#[tokio::test]
async fn s10_a_missing_or_wrong_content_type_is_refused_with_415() {
    s10(app).await;
}

/// s10's scene, on the server `app` makes.
pub async fn s10(app: App) {
    let body = r#"{"user": "ada", "text": "hi"}"#;
    for content_type in
        [None, Some("text/plain"), Some("application/x-www-form-urlencoded")]
    {
        let why = match content_type {
            None => "a JSON body but no Content-Type".to_owned(),
            Some(kind) => format!("a JSON body but `Content-Type: {kind}`"),
        };
        assert_refused(app, post_with_type(content_type, body), 415, &why, ROUTES)
            .await;
    }
}

#[tokio::test]
async fn s11_missing_or_mistyped_fields_are_refused_with_422() {
    s11(app).await;
}

/// s11's scene, on the server `app` makes.
pub async fn s11(app: App) {
    for body in [
        r#"{"user": "ada"}"#,
        r#"{"text": "hi"}"#,
        r#"{}"#,
        r#"{"user": "ada", "text": 42}"#,
        r#"{"user": null, "text": "hi"}"#,
        r#"["ada", "hi"]"#,
        r#""hi""#,
    ] {
        assert_refused(
            app,
            post_json(body),
            422,
            &format!("the body {body}"),
            ROUTES,
        )
        .await;
    }
}

#[tokio::test]
async fn s12_blank_text_or_user_is_refused_with_422() {
    s12(app).await;
}

/// s12's scene, on the server `app` makes.
pub async fn s12(app: App) {
    for (user, text) in
        [("ada", ""), ("ada", "   "), ("ada", "\t \n "), ("", "hi"), (" ", "hi")]
    {
        let why = format!("user {user:?} and text {text:?}");
        assert_refused(app, post_message(user, text), 422, &why, VALIDATE).await;
    }
    // Both fields wrong: `user` is checked first, and its refusal is the one
    // the client gets.
    let long_text = "a".repeat(MAX_TEXT_CHARS + 100);
    let why = format!(
        "an empty user and a text of {} characters",
        long_text.chars().count()
    );
    let error =
        assert_refused(app, post_message("", &long_text), 422, &why, VALIDATE).await;
    assert!(
        error.contains("`user`"),
        "{R9:#}: with {why}, both fields are wrong; `validate` checks `user` first, so the refusal names `user`, not \
         {error:?}.\nLook at the order of the checks in `validate` in {VALIDATE}."
    );
}

#[tokio::test]
async fn s13_a_too_long_user_or_text_is_refused_with_422() {
    s13(app).await;
}

/// s13's scene, on the server `app` makes.
pub async fn s13(app: App) {
    let long_user = "a".repeat(MAX_USER_CHARS + 1);
    let long_text = "a".repeat(MAX_TEXT_CHARS + 1);
    let long_emoji = "😀".repeat(MAX_TEXT_CHARS + 1);
    for (user, text, why) in [
        (
            long_user.as_str(),
            "hi",
            format!("a user of {} characters", MAX_USER_CHARS + 1),
        ),
        (
            "ada",
            long_text.as_str(),
            format!("a text of {} characters", MAX_TEXT_CHARS + 1),
        ),
        (
            "ada",
            long_emoji.as_str(),
            format!("a text of {} emoji", MAX_TEXT_CHARS + 1),
        ),
    ] {
        assert_refused(app, post_message(user, text), 422, &why, VALIDATE).await;
    }
}

#[tokio::test]
async fn s14_control_characters_are_refused_with_422() {
    s14(app).await;
}

/// s14's scene, on the server `app` makes.
pub async fn s14(app: App) {
    for (user, text) in [
        ("ada", "nul \u{0} byte"),
        ("ada", "two\nlines"),
        ("ada", "\u{1b}[31mred\u{1b}[0m"),
        ("ada", "delete \u{7f}"),
        ("a\u{7}da", "hi"),
    ] {
        let why = format!("user {user:?} and text {text:?}");
        assert_refused(app, post_message(user, text), 422, &why, VALIDATE).await;
    }
}

#[tokio::test]
async fn s15_a_name_cannot_be_reversed_or_invisible() {
    s15(app).await;
}

/// s15's scene, on the server `app` makes.
pub async fn s15(app: App) {
    // A right-to-left override makes one name look like another; a zero-width
    // space or a Hangul filler makes a name that shows as nothing.
    for user in
        ["ada\u{202E}adA", "\u{200B}", "\u{3164}", "gr\u{200B}ace", "\u{200D}"]
    {
        let why = format!("the user name {user:?}");
        let status = Chat::new(app).send(post_message(user, "hi")).await.status;
        assert_eq!(
            status,
            422,
            "{R10:#}: {why} should be refused with 422, but the server \
             answered {status}.\nLook at `validate` (and `disguised`) in {}.",
            file("src/validate.rs")
        );
        let error =
            assert_refused(app, post_message(user, "hi"), 422, &why, VALIDATE).await;
        assert!(
            error.contains("reverses or hides text"),
            "{R10:#}: {why} should be refused because it reverses or hides text (see `disguised` in {}), but the \
             error said: {error}",
            file("src/validate.rs")
        );
    }
    // The whole name is checked before the text is looked at: with a
    // disguised name and an empty text, the refusal is about the name.
    let why = "the user name \"ada\\u{202E}adA\" with an empty text";
    let error =
        assert_refused(app, post_message("ada\u{202E}adA", " "), 422, why, VALIDATE)
            .await;
    assert!(
        error.contains("reverses or hides text"),
        "{R10:#}, and the name is checked whole before the text: {why} should \
         be refused for the name, but the error said: {error}\nLook at the order of the checks in `validate` in {}.",
        file("src/validate.rs")
    );
    // Joiners beside other characters are fine: emoji and several scripts need them.
    let chat = Chat::new(app);
    let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
    let stored = chat.posted(family, "hi").await;
    assert_eq!(
        stored["user"], family,
        "an emoji name with joiners is stored as it is"
    );
}

#[tokio::test]
async fn s16_a_body_over_the_size_limit_is_refused_with_413() {
    s16(app).await;
}

/// s16's scene, on the server `app` makes.
pub async fn s16(app: App) {
    let huge_text =
        json!({ "user": "ada", "text": "a".repeat(MAX_BODY_BYTES) }).to_string();
    // A short, valid message padded with spaces: the limit is on bytes read.
    let padded =
        format!(r#"{{"user": "ada", "text": "hi"}}{}"#, " ".repeat(MAX_BODY_BYTES));
    for (body, why) in [
        (huge_text, "a body bigger than MAX_BODY_BYTES"),
        (padded, "a valid message padded past MAX_BODY_BYTES"),
    ] {
        assert_refused(
            app,
            post_json(&body),
            413,
            why,
            "the `DefaultBodyLimit` layer in `app` in src/lib.rs",
        )
        .await;
    }
}

#[tokio::test]
async fn s17_unknown_routes_and_methods_get_json_errors() {
    s17(app).await;
}

/// s17's scene, on the server `app` makes.
pub async fn s17(app: App) {
    let errors = "the fallbacks in src/error.rs, wired up in `app` in src/lib.rs";
    for (method, path) in [("GET", "/nope"), ("POST", "/polls")] {
        let request =
            Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        assert_refused(app, request, 404, "a path the app does not serve", errors)
            .await;
    }
    for method in ["DELETE", "PUT"] {
        let request = Request::builder()
            .method(method)
            .uri("/poll")
            .body(Body::empty())
            .unwrap();
        assert_refused(app, request, 405, "a method /poll does not take", errors)
            .await;
    }
    // HTTP requires a 405 to say which methods the path does take.
    let request = Request::delete("/poll").body(Body::empty()).unwrap();
    let response = requests::send(&app(), request).await;
    let allow = response.header(header::ALLOW).map(str::to_owned);
    assert_eq!(
        allow.as_deref(),
        Some("GET,HEAD,POST"),
        "A 405 must carry an `Allow` header listing the methods /poll takes (RFC 9110, section 15.5.6)"
    );
}

#[tokio::test]
async fn s18_every_refusal_says_what_to_fix() {
    s18(app).await;
}

/// s18's scene, on the server `app` makes.
pub async fn s18(app: App) {
    // One snapshot of every refusal: status and sentence. Read it as the
    // server's error catalogue.
    let cases: Vec<(&str, Request<Body>)> = vec![
        ("malformed JSON", post_json(r#"{"user": "ada", "#)),
        (
            "no Content-Type",
            post_with_type(None, r#"{"user": "ada", "text": "hi"}"#),
        ),
        (
            "a form, not JSON",
            post_with_type(
                Some("application/x-www-form-urlencoded"),
                "user=ada&text=hi",
            ),
        ),
        ("no text field", post_json(r#"{"user": "ada"}"#)),
        ("text is a number", post_json(r#"{"user": "ada", "text": 42}"#)),
        ("blank user", post_message(" ", "hi")),
        ("blank text", post_message("ada", "  ")),
        ("user too long", post_message(&"a".repeat(MAX_USER_CHARS + 1), "hi")),
        ("text too long", post_message("ada", &"a".repeat(MAX_TEXT_CHARS + 1))),
        ("control character", post_message("ada", "bell \u{7}")),
        ("body too large", post_json(&" ".repeat(MAX_BODY_BYTES + 1))),
        ("unknown path", Request::get("/nope").body(Body::empty()).unwrap()),
        ("wrong method", Request::delete("/poll").body(Body::empty()).unwrap()),
    ];
    let chat = Chat::new(app);
    let mut catalogue = String::new();
    for (case, request) in cases {
        let reply = chat.send(request).await;
        catalogue.push_str(&format!(
            "{case}: {} -> {} {}\n",
            reply.request, reply.status, reply.body
        ));
    }
    spec_support::snapshot_failures_point_at(file!());
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("s18_refusals", catalogue);
    });
}
