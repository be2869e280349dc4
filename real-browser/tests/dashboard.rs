//! The class dashboard (`/class`) in headless Chromium, against a class
//! server on a real socket: it renders, shows new traffic within 2 s, shows
//! a hostile name as text, keeps the key out of the address bar, and its
//! controls change the room's mode.

use axum::body::Body;
use axum::http::Request;
use classroom::control::{Key, Mode};
use classroom::join::Upstream;
use classroom::room::Tag;
use classroom::server::ClassServer;
use real_browser::chromium::Chromium;
use real_browser::one_at_a_time;
use real_browser::server::Server;
use std::time::{Duration, Instant};

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
