//! The class dashboard's pictures for the instructors' page, taken by
//! headless Chromium from a simulated room:
//!
//! ```console
//! cargo run -p real-browser --bin dashboard-screenshot
//! ```
//!
//! A class server on 127.0.0.1 and 30 simulated learners
//! (`classroom::simulate::a_class`: mostly right clients, exercise 08's
//! streams among them, an interval poller or two, one that polls on while
//! hidden, one that retries at once), for
//! about 40 s of real time: the room's exercise set to 05, then normal,
//! slow (answers 4 s late), down (503 with Retry-After), down with
//! connections closed, flaky (500s), the tight rate limit (429s), and
//! normal again, with checks, hints and signals reported. Then the
//! dashboard is opened with the key and photographed twice: the detailed
//! view in a 1280×960 window, to `book/src/figures/dashboard.png` (or
//! `--out`), and the projector's view on exactly 1920×1080, next to it
//! (`dashboard-projector.png`, or `--out`'s name with `-projector`), where
//! the 30 lanes must fit without scrolling. It needs `chromium` and
//! `chromium-driver`.

use axum::body::Body;
use axum::http::Request;
use classroom::control::{Control, Key};
use classroom::join::Upstream;
use classroom::room::Tag;
use real_browser::chromium::Chromium;
use std::time::{Duration, Instant};

const KEY: &str = "5c7eec0de5c7eec0de5c7eec0de5c7ee";

/// The room: one projector's worth.
const LEARNERS: usize = 30;

/// The projector's screen.
const PROJECTOR: (u32, u32) = (1920, 1080);

/// The window's inside, and the page's whole width and height.
const SIZES: &str =
    "const page = document.documentElement; return [innerWidth, innerHeight, page.scrollWidth, page.scrollHeight];";

/// Make the window's inside (the page's viewport, which the screenshot
/// takes) exactly `size`: a window's size counts its frame, which Chromium
/// keeps even headless.
async fn resize_inside(browser: &Chromium, (width, height): (u32, u32)) {
    browser.resize(width, height).await;
    let inside = browser.run("return [innerWidth, innerHeight];").await;
    let frame = |i: usize, asked: u32| asked.saturating_sub(inside[i].as_u64().unwrap_or(0) as u32);
    browser.resize(width + frame(0, width), height + frame(1, height)).await;
}

/// A report from `tag`'s `join`: a check, a hint, a signal.
fn report(tag: &Tag, body: serde_json::Value) -> Request<Body> {
    let mut request = Request::post("/class/report")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("a request");
    classroom::tag::put(request.headers_mut(), tag);
    request
}

fn main() {
    let out = std::env::args()
        .skip_while(|a| a != "--out")
        .nth(1)
        .unwrap_or_else(|| "book/src/figures/dashboard.png".to_owned());
    let projector_out = format!("{}-projector.png", out.strip_suffix(".png").unwrap_or(&out));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let class = classroom::server::ClassServer::new(
            Key::given(KEY).unwrap(),
            classroom::memory_chat(governor::clock::DefaultClock::default()),
        )
        .unwrap();
        // Served as `cargo run -- classroom` serves it, so that each learner's
        // address reaches the rate limit (one laptop each).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = classroom::server::router(class.clone());
        let stopping = class.clone();
        tokio::spawn(chat_page::serve::serve_with(
            listener,
            app,
            chat_page::serve::Limits::default(),
            std::future::pending(),
            move || stopping.stop(),
        ));
        let url = |path: &str| format!("http://{address}{path}");
        let started = Instant::now();
        let end = started + Duration::from_secs(44);
        let mut learners = tokio::task::JoinSet::new();
        let mut laptops = Vec::new();
        for (i, learner) in classroom::simulate::a_class(LEARNERS).into_iter().enumerate() {
            let laptop = std::net::IpAddr::from([127, 2, 0, i as u8 + 1]);
            let upstream = Upstream::remote(&url("")).unwrap().from(laptop);
            laptops.push((learner.tag.clone(), upstream.clone()));
            learners.spawn(classroom::simulate::run(upstream, learner, end));
        }
        let lesson = [
            (2, Control::Exercise { number: 5 }),
            (3, Control::Post { text: "welcome".to_owned() }),
            (5, Control::Slow { seconds: 4 }),
            (12, Control::Down { close: false }),
            (18, Control::Down { close: true }),
            (23, Control::Flaky { percent: 30 }),
            (28, Control::Tight),
            (33, Control::Normal),
            (34, Control::Post { text: "back".to_owned() }),
        ];
        let mut first_post_at = None; // room time
        for (at, control) in lesson {
            tokio::time::sleep_until((started + Duration::from_secs(at)).into()).await;
            if matches!(control, Control::Post { .. }) {
                first_post_at = first_post_at.or(Some(class.room.now()));
            }
            eprintln!("{:>2} s: {}", at, class.control(control).await.unwrap());
        }
        // Checks (two learners in three pass their exercise's spec), hints,
        // and signals, as `check`, `hint` and the joined page's buttons
        // report them.
        for (i, (tag, laptop)) in laptops.iter().enumerate() {
            let (passed, run) = if i % 3 == 2 { (4, 9) } else { (9, 9) };
            let check = serde_json::json!({ "kind": "check", "passed": passed, "run": run, "done": passed == run });
            laptop.send(report(tag, check)).await;
            let also = match i {
                2 | 14 => serde_json::json!({ "kind": "hint", "shown": 3 }),
                5 | 20 => serde_json::json!({ "kind": "stuck" }),
                9 => serde_json::json!({ "kind": "done" }),
                _ => continue,
            };
            laptop.send(report(tag, also)).await;
        }
        let Some(browser) = Chromium::start().await else {
            panic!("this needs chromium and chromium-driver (Debian: apt-get install chromium chromium-driver)");
        };
        browser.resize(1280, 960).await;
        browser.open(&url(&format!("/class#key={KEY}"))).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lanes = browser.run("return document.querySelectorAll('#lanes .lane').length;").await;
            if lanes.as_u64() == Some(LEARNERS as u64) {
                break;
            }
            assert!(Instant::now() < deadline, "the dashboard drew {lanes} lanes, not {LEARNERS}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep_until((started + Duration::from_secs(37)).into()).await;
        // The simulated exercise 08 pages are drawn as streams: a bar with a
        // tick for a post. (Whether one is open again at the end depends on
        // the draws of its backoff: four refusals in a row, and its next
        // try is 15 to 30 s away, as a real page's would be.)
        let feed = class.room.feed(0);
        let first_post_at = first_post_at.expect("the lesson posts");
        let streaming: Vec<_> = feed.learners.iter().filter(|lane| lane.exercise == 8).collect();
        assert!(!streaming.is_empty(), "the simulated room has exercise 08 pages");
        for lane in streaming {
            let ticked = lane
                .requests
                .iter()
                .any(|r| r.stream.as_ref().is_some_and(|stream| stream.ticks.iter().any(|at| *at >= first_post_at)));
            assert!(
                ticked,
                "{}'s lane should show a stream with a tick for a post (the first at {first_post_at} ms): {:?}",
                lane.name, lane.requests
            );
        }
        let png = browser.screenshot().await;
        std::fs::write(&out, &png).unwrap_or_else(|error| panic!("cannot write {out}: {error}"));
        eprintln!("written to {out} ({} KiB)", png.len() / 1024);

        // The projector's view (`?view=projector`, as its button sets it),
        // on the projector's screen.
        resize_inside(&browser, PROJECTOR).await;
        browser.open(&url("/class?view=projector")).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while browser.run("return document.querySelectorAll('#lanes .lane').length;").await != LEARNERS {
            assert!(Instant::now() < deadline, "the projector's view did not draw {LEARNERS} lanes");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await; // a few frames drawn
        let size = browser.run(SIZES).await;
        let [width, height, wide, tall] = [0, 1, 2, 3].map(|i| size[i].as_u64().unwrap());
        assert_eq!((width, height), (u64::from(PROJECTOR.0), u64::from(PROJECTOR.1)), "the window's inside");
        assert!(
            tall <= height && wide <= width,
            "{LEARNERS} lanes need {wide}×{tall} px on the projector's {width}×{height}: they must fit"
        );
        let png = browser.screenshot().await;
        std::fs::write(&projector_out, &png).unwrap_or_else(|error| panic!("cannot write {projector_out}: {error}"));
        eprintln!("written to {projector_out} ({} KiB)", png.len() / 1024);
        browser.close().await;
        learners.abort_all();
    });
}
