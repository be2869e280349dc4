//! The class dashboard (`/class`) in headless Chromium, against a class
//! server on a real socket: it renders, shows new traffic within 2 s, shows
//! a hostile name as text, keeps the key out of the address bar, and its
//! controls change the room's mode; its projector's view fits a room of 30
//! on one 1920×1080 screen, and its anonymous view names nobody; it shows
//! the room's exercise, signals and hints, and sends their controls; and
//! when the class server starts again, it draws the new room's lanes only,
//! and says that the key changed.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use classroom::control::{Key, Mode};
use classroom::join::Upstream;
use classroom::room::Tag;
use classroom::server::ClassServer;
use real_browser::chromium::Chromium;
use real_browser::one_at_a_time;
use real_browser::server::Server;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const KEY: &str = "00112233445566778899aabbccddeeff";
const HOSTILE: &str = "<img src=x onerror=__pwned=1>";

/// A poll from `name`'s join proxy, as the class server sees one.
async fn poll_as(server: &Server, name: &str) {
    let class = Upstream::remote(&server.url("")).unwrap();
    let mut request = Request::get("/poll").body(Body::empty()).unwrap();
    classroom::tag::put(request.headers_mut(), &Tag { name: name.to_owned(), exercise: 7 });
    let response = class.send(request).await;
    assert_eq!(response.status(), 200);
}

/// The names on the dashboard's lanes, as the page shows them.
async fn lanes(browser: &Chromium) -> Vec<String> {
    let names =
        browser.run("return [...document.querySelectorAll('#lanes .lane .name')].map((e) => e.textContent);").await;
    names.as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_owned()).collect()
}

/// A report from `name`'s `join` (a check, a hint, a signal), as the class
/// server sees one.
async fn report_as(server: &Server, name: &str, body: serde_json::Value) {
    let class = Upstream::remote(&server.url("")).unwrap();
    let mut request = Request::post("/class/report")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    classroom::tag::put(request.headers_mut(), &Tag { name: name.to_owned(), exercise: 7 });
    let response = class.send(request).await;
    assert!(response.status().is_success(), "{body}: {}", response.status());
}

/// Wait (at most 5 s) until `script` returns true in the page.
async fn until(browser: &Chromium, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while browser.run(script).await != true {
        assert!(Instant::now() < deadline, "{what}, after 5 s ({script})");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A script that says whether the line of what a control did has `words`.
fn said(words: &str) -> String {
    format!("return document.getElementById('control-said').textContent.includes({words:?});")
}

/// The window's inside, and the page's whole width and height.
const SIZES: &str =
    "const page = document.documentElement; return [innerWidth, innerHeight, page.scrollWidth, page.scrollHeight];";

/// The text of the element `id`.
async fn text_of(browser: &Chromium, id: &str) -> String {
    let text = browser.run(&format!("return document.getElementById('{id}').textContent;")).await;
    text.as_str().unwrap_or_default().to_owned()
}

/// Make the window's inside (the page's viewport) exactly `width`×`height`:
/// a window's size counts its frame, which Chromium keeps even headless.
async fn resize_inside(browser: &Chromium, width: u32, height: u32) {
    browser.resize(width, height).await;
    let inside = browser.run("return [innerWidth, innerHeight];").await;
    let frame = |i: usize, asked: u32| asked.saturating_sub(inside[i].as_u64().unwrap_or(0) as u32);
    browser.resize(width + frame(0, width), height + frame(1, height)).await;
}

/// A class server behind one address, which the test can replace: as when
/// the instructor stops it and starts it again on the same port.
fn replaceable(class: &Arc<ClassServer>) -> (Router, Arc<Mutex<Router>>) {
    let current = Arc::new(Mutex::new(classroom::server::router(class.clone())));
    let serving = current.clone();
    let app = Router::new().fallback(move |request: axum::extract::Request| {
        let app = serving.lock().unwrap().clone();
        async move { app.oneshot(request).await.unwrap_or_else(|never| match never {}) }
    });
    (app, current)
}

#[test]
fn the_dashboard_renders_live_traffic_names_as_text_and_its_controls_work() {
    let _one = one_at_a_time();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let Some(browser) = Chromium::start().await else { return };
        let class = ClassServer::new(
            Key::given(KEY).unwrap(),
            classroom::memory_chat(governor::clock::DefaultClock::default()),
        )
        .unwrap();
        let server = Server::start(classroom::server::router(class.clone())).await;
        poll_as(&server, HOSTILE).await;

        browser.open(&server.url(&format!("/class#key={KEY}"))).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while lanes(&browser).await.is_empty() {
            assert!(Instant::now() < deadline, "the dashboard drew no lane");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The hostile name is text: shown whole, no element made of it, nothing run.
        assert_eq!(lanes(&browser).await, [HOSTILE]);
        let made = browser.run("return document.querySelectorAll('#lanes img').length;").await;
        assert_eq!(made, 0, "the name became markup");
        let ran = browser.run("return window.__pwned === undefined;").await;
        assert_eq!(ran, true, "the name's script ran");
        // The key is kept for this tab, and out of the address bar.
        assert_eq!(browser.run("return location.hash;").await, "");
        let shown = "return getComputedStyle(document.getElementById('controls')).display !== 'none';";
        assert_eq!(browser.run(shown).await, true, "with the key, the controls are shown");

        // New traffic shows within 2 s.
        let started = Instant::now();
        poll_as(&server, "Bo").await;
        while !lanes(&browser).await.iter().any(|name| name == "Bo") {
            assert!(started.elapsed() < Duration::from_secs(2), "Bo's first poll was not on the dashboard within 2 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "{took:?}");

        // A control changes the mode, and the dashboard says so.
        browser.run("document.getElementById('slow-seconds').value = '4'; document.querySelector('[data-do=slow]').click();").await;
        let deadline = Instant::now() + Duration::from_secs(3);
        while class.settings().mode != (Mode::Slow { seconds: 4 }) {
            assert!(Instant::now() < deadline, "pressing Slow did not change the mode");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let line = browser.run("return document.getElementById('mode').textContent;").await;
            if line.as_str().unwrap().contains("slow: every answer 4 s late") {
                break;
            }
            assert!(Instant::now() < deadline, "the dashboard did not show the new mode: {line}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Without the key (the projector's view), no controls.
        browser.run("sessionStorage.clear();").await;
        browser.open(&server.url("/class")).await;
        assert_eq!(browser.run(shown).await, false, "without the key, no controls");
        browser.close().await;
    });
}

/// A joined page in Chromium tells the class server when it is hidden and
/// shown, and when its script throws or leaves a promise rejected.
#[test]
fn a_joined_page_reports_hidden_shown_and_errors() {
    let _one = one_at_a_time();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let Some(mut browser) = Chromium::start().await else { return };
        let class = ClassServer::new(
            Key::given(KEY).unwrap(),
            classroom::memory_chat(governor::clock::DefaultClock::default()),
        )
        .unwrap();
        let server = Server::start(classroom::server::router(class.clone())).await;
        // A learner's client that polls once, then throws, then rejects.
        let folder = std::env::temp_dir().join(format!("joined-page-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let client = folder.join("client.js");
        std::fs::write(
            &client,
            "fetch('/poll');\n\
             setTimeout(() => { throw new Error('thrown in a timer'); }, 50);\n\
             setTimeout(() => Promise.reject(new Error('a promise left rejected')), 100);\n",
        )
        .unwrap();
        let files = vec![classroom::join::PageFile { path: "/client.js".into(), file: client }];
        let tag = Tag { name: "Ada".into(), exercise: 3 };
        let upstream = Upstream::remote(&server.url("")).unwrap();
        let join = classroom::join::Join::fixed(tag, files, upstream);
        let page = Server::start(classroom::join::router(std::sync::Arc::new(join))).await;
        browser.open(&page.url("/")).await;

        let learner = || class.room.feed(0).learners.into_iter().find(|l| l.name == "Ada");
        let deadline = Instant::now() + Duration::from_secs(5);
        while learner().is_none_or(|l| l.errors < 2) {
            assert!(Instant::now() < deadline, "the page's two errors were not reported: {:?}", learner());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let ada = learner().unwrap();
        assert!(!ada.requests.is_empty(), "its poll reached the class, tagged");
        let last = ada.last_error.unwrap_or_default();
        assert!(last.contains("a promise left rejected"), "{last}");

        browser.hide().await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !learner().unwrap().hidden {
            assert!(Instant::now() < deadline, "hiding the page was not reported");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        browser.show().await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while learner().unwrap().hidden {
            assert!(Instant::now() < deadline, "showing the page again was not reported");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        browser.close().await;
        let _ = std::fs::remove_dir_all(&folder);
    });
}

/// The projector's view of a room of 30 fits one 1920×1080 screen, with no
/// scrolling; the anonymous view shows no name, not even in a tooltip or in
/// what a control did.
#[test]
fn the_projector_fits_a_room_of_30_and_the_anonymous_view_names_nobody() {
    let _one = one_at_a_time();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let Some(browser) = Chromium::start().await else { return };
        let class = ClassServer::new(
            Key::given(KEY).unwrap(),
            classroom::memory_chat(governor::clock::DefaultClock::default()),
        )
        .unwrap();
        let server = Server::start(classroom::server::router(class.clone())).await;
        let mut names = vec![HOSTILE.to_owned()];
        names.extend((2..=30).map(|n| format!("Zelda Quirinus-Longname {n}")));
        for name in &names {
            poll_as(&server, name).await;
        }
        report_as(&server, &names[3], serde_json::json!({ "kind": "stuck" })).await;
        report_as(&server, &names[4], serde_json::json!({ "kind": "hint", "shown": 4 })).await;

        resize_inside(&browser, 1920, 1080).await;
        browser.open(&server.url(&format!("/class?view=projector&anonymous#key={KEY}"))).await;
        until(&browser, "return document.querySelectorAll('#lanes .lane').length === 30;", "30 lanes").await;
        tokio::time::sleep(Duration::from_millis(500)).await; // a few frames drawn
        let size = browser.run(SIZES).await;
        assert_eq!((size[0].as_u64(), size[1].as_u64()), (Some(1920), Some(1080)), "the window's inside: {size}");
        let fits = size[2].as_u64() <= Some(1920) && size[3].as_u64() <= Some(1080);
        assert!(fits, "30 lanes do not fit 1920×1080: {size}");
        let address = browser.run("return location.search;").await;
        assert_eq!(address, "?view=projector&anonymous", "the views stay, the key goes");

        // Nobody is named: not on a lane, not in a tooltip, not anywhere.
        let shown = lanes(&browser).await;
        assert_eq!(shown, (1..=30).map(|n| format!("learner {n}")).collect::<Vec<_>>());
        let everything =
            "return document.body.textContent + [...document.querySelectorAll('[title]')].map((e) => e.title).join();";
        let page = browser.run(everything).await.as_str().unwrap().to_owned();
        assert!(!page.contains("Zelda") && !page.contains("<img"), "a name shows in the anonymous view: {page}");
        assert!(page.contains("! stuck") && page.contains("hint 4 of 07"), "the signal and the hint show: {page}");

        // The detailed view, still anonymous: removing a learner (after
        // the confirm) says so without the name.
        browser.run("document.getElementById('projector-view').click(); window.confirm = () => true;").await;
        assert_eq!(browser.run("return location.search;").await, "?anonymous");
        browser.run("document.querySelector('#lanes .lane .remove').click();").await;
        until(&browser, "return document.querySelectorAll('#lanes .lane').length === 29;", "the lane went").await;
        until(&browser, &said("learner 1"), "what the removal did, without the name").await;
        assert!(!class.room.names().contains(&HOSTILE.to_owned()), "the learner was not removed");
        let page = browser.run(everything).await.as_str().unwrap().to_owned();
        assert!(!page.contains("Zelda") && !page.contains("<img"), "a name shows in the anonymous view: {page}");
        // Named again: the names are back, as text.
        browser.run("document.getElementById('anonymous-view').click();").await;
        assert_eq!(lanes(&browser).await[..2], names[1..3]);
        browser.close().await;
    });
}

/// The key from `?key=`, the room's exercise, what passes, signals and
/// hints, and the controls that go with them; then the class server starts
/// again (a new room, a new key) behind the same address: the old lanes go,
/// a learner of the same name gets one lane, and a control says the key
/// changed.
#[test]
fn the_dashboard_shows_the_room_and_starts_again_with_the_class_server() {
    let _one = one_at_a_time();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let Some(browser) = Chromium::start().await else { return };
        let memory = || classroom::memory_chat(governor::clock::DefaultClock::default());
        let class = ClassServer::new(Key::given(KEY).unwrap(), memory()).unwrap();
        let (app, serving) = replaceable(&class);
        let server = Server::start(app).await;
        poll_as(&server, "Ada").await;
        poll_as(&server, "Bo").await;

        browser.open(&server.url(&format!("/class?key={KEY}"))).await;
        until(&browser, "return document.querySelectorAll('#lanes .lane').length === 2;", "the two lanes").await;
        assert_eq!(browser.run("return location.href.includes('key');").await, false, "the key in the address bar");
        let shown = "return getComputedStyle(document.getElementById('controls')).display !== 'none';";
        assert_eq!(browser.run(shown).await, true, "with the key from ?key=, the controls are shown");

        // The room's exercise, from the selector.
        let choose = "document.getElementById('exercise-choice')";
        browser.run(&format!("{choose}.value = '7'; {choose}.dispatchEvent(new Event('change'));")).await;
        let deadline = Instant::now() + Duration::from_secs(3);
        while class.room.exercise() != Some(7) {
            assert!(Instant::now() < deadline, "choosing 07 did not set the room's exercise");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let exercise = "return document.getElementById('room-exercise').textContent === 'Exercise 07';";
        until(&browser, exercise, "the room's exercise on the dashboard").await;
        // A check that passes, a third hint, a signal.
        report_as(&server, "Ada", serde_json::json!({ "kind": "check", "passed": 9, "run": 9, "done": true })).await;
        report_as(&server, "Bo", serde_json::json!({ "kind": "hint", "shown": 3 })).await;
        report_as(&server, "Bo", serde_json::json!({ "kind": "stuck" })).await;
        until(&browser, "return document.getElementById('passing').textContent.includes('1 of 2 pass 07');", "passing")
            .await;
        let bo = "[...document.querySelectorAll('#lanes .lane')].find((l) => l.textContent.startsWith('Bo'))";
        until(&browser, &format!("return {bo}.textContent.includes('hint 3 of 07');"), "Bo's third hint").await;
        until(&browser, &format!("return {bo}.querySelector('button.signal')?.textContent === '! stuck';"), "Bo stuck")
            .await;
        // Clearing the signal, from its button.
        browser.run(&format!("{bo}.querySelector('button.signal').click();")).await;
        until(&browser, &format!("return {bo}.querySelector('.signal') === null;"), "Bo's signal cleared").await;
        assert!(class.room.feed(0).learners.iter().all(|l| l.signal.is_none()));
        // Clear flags; and what a control did says the mode it leaves.
        browser.run("document.querySelector('[data-do=clear-flags]').click();").await;
        until(&browser, &said("flags cleared"), "what Clear flags did").await;
        browser.run("document.querySelector('[data-do=tight]').click();").await;
        until(&browser, &said("The mode is now: tight rate limit"), "the mode after a control").await;

        // The class server starts again, on the same address, with a new
        // key and a new room; its connections break, as a process's do.
        let again = ClassServer::new(Key::random(), memory()).unwrap();
        *serving.lock().unwrap() = classroom::server::router(again.clone());
        server.go_down();
        tokio::time::sleep(Duration::from_millis(200)).await;
        server.come_back();
        poll_as(&server, "Ada").await;
        until(
            &browser,
            "return [...document.querySelectorAll('#lanes .lane .name')].map((e) => e.textContent).join() === 'Ada';",
            "the new room's one lane, and no other",
        )
        .await;
        assert_eq!(text_of(&browser, "problem").await, "", "the dashboard goes on");
        browser.run("document.querySelector('[data-do=normal]').click();").await;
        until(&browser, &said("key has changed"), "a control's 403").await;
        assert_eq!(again.settings().mode, Mode::Normal);
        browser.close().await;
    });
}

/// The dashboard's files, and a feed that always answers `feed`.
fn canned(feed: serde_json::Value) -> Router {
    use axum::routing::get;
    let file = |body: &'static str, kind: &'static str| move || async move { ([("content-type", kind)], body) };
    Router::new()
        .route("/class", get(file(classroom::DASHBOARD_HTML, "text/html")))
        .route("/class/dashboard.js", get(file(classroom::DASHBOARD_JS, "text/javascript")))
        .route("/class/dashboard.css", get(file(classroom::DASHBOARD_CSS, "text/css")))
        .route("/class/feed", get(move || std::future::ready(axum::Json(feed.clone()))))
}

/// A feed as a class server sends it, for a room at `now` ms; `more` adds
/// the fields a class server may not send (an older one sends none).
fn feed_of(now: u64, learners: &[(&str, serde_json::Value)], more: serde_json::Value) -> serde_json::Value {
    let learner = |(name, more): &(&str, serde_json::Value)| {
        let mut view = serde_json::json!({
            "name": name, "exercise": 4, "progress": null, "per_minute": 6, "hidden": false, "active": true,
            "errors": 0, "last_error": null, "refused": 0, "flags": [], "requests": [], "said": [],
        });
        view.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
        view
    };
    let mut feed = serde_json::json!({
        "version": 1, "now": now, "mode": "normal", "spread": false, "markers": [],
        "room": { "per_second": 0, "busiest": 0, "average": 0.0, "joined": 2, "hidden": 0, "held": 0,
                  "refused": 0, "turned_away": 0, "seconds": [] },
        "learners": learners.iter().map(learner).collect::<Vec<_>>(),
    });
    for (field, value) in more.as_object().unwrap() {
        match field.as_str() {
            "room" => feed["room"].as_object_mut().unwrap().extend(value.as_object().unwrap().clone()),
            _ => feed[field] = value.clone(),
        }
    }
    feed
}

/// A learner with no check for 10 minutes is marked; and a feed without
/// the newer fields (an older class server) is drawn all the same, with no
/// such marks.
#[test]
fn a_learner_with_no_check_for_ten_minutes_is_marked_and_an_older_feed_still_draws() {
    let _one = one_at_a_time();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let Some(browser) = Chromium::start().await else { return };
        let now = 700_000;
        let none = serde_json::json!({});
        let older = feed_of(now, &[("Ada", none.clone()), ("Bo", none.clone())], none);
        let server = Server::start(canned(older)).await;
        browser.open(&server.url("/class")).await;
        until(&browser, "return document.querySelectorAll('#lanes .lane').length === 2;", "an older feed's lanes")
            .await;
        let marks = "return document.querySelectorAll('#lanes .mark, #lanes .signal').length;";
        assert_eq!(browser.run(marks).await, 0, "marks from fields the feed does not have");
        assert_eq!(browser.run("return document.getElementById('room-exercise').hidden;").await, true);

        let newer = feed_of(
            now,
            &[
                ("Ada", serde_json::json!({ "last_check": now - 10 * 60_000 - 1, "signal": null, "hints": [4, 2] })),
                ("Bo", serde_json::json!({ "last_check": now - 60_000, "signal": { "kind": "done", "at": now } })),
            ],
            serde_json::json!({ "server": "a", "room": { "exercise": 4, "passing": [[4, 1]] } }),
        );
        let server = Server::start(canned(newer)).await;
        browser.open(&server.url("/class")).await;
        until(&browser, "return document.getElementById('passing').textContent === '1 of 2 pass 04';", "passing").await;
        let marked = |selector: &str| {
            let lane = "e.closest('.lane').querySelector('.name').textContent";
            format!(
                "return [...document.querySelectorAll('#lanes {selector}')].map((e) => {lane} + ': ' + e.textContent);"
            )
        };
        assert_eq!(browser.run(&marked(".quiet-check")).await, serde_json::json!(["Ada: no check 10 min"]));
        let signals = browser.run(&marked(".signal")).await;
        assert_eq!(signals, serde_json::json!(["Bo: ✓ done"]), "Bo's signal, and no button without the key");
        assert_eq!(browser.run(&marked(".hint")).await, serde_json::json!([]), "a second hint is not marked");
        browser.close().await;
    });
}
