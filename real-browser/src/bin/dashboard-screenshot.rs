//! The class dashboard's picture for the instructors' page, taken by
//! headless Chromium from a simulated room:
//!
//! ```console
//! cargo run -p real-browser --bin dashboard-screenshot
//! ```
//!
//! A class server on 127.0.0.1 and 24 simulated learners
//! (`classroom::simulate::a_class`: mostly right clients, an interval poller
//! or two, one that polls on while hidden, one that retries at once), for
//! about half a minute of real time: normal, then slow (answers 4 s late),
//! then down (503 with Retry-After), then normal again. Then the dashboard
//! is opened with the key and photographed, to
//! `book/src/figures/dashboard.png` (or `--out`). It needs `chromium` and
//! `chromium-driver`.

use classroom::control::{Control, Key};
use classroom::join::Upstream;
use real_browser::chromium::Chromium;
use std::time::{Duration, Instant};

const KEY: &str = "5c7eec0de5c7eec0de5c7eec0de5c7ee";

fn main() {
    let out = std::env::args()
        .skip_while(|a| a != "--out")
        .nth(1)
        .unwrap_or_else(|| "book/src/figures/dashboard.png".to_owned());
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
        let end = started + Duration::from_secs(32);
        let mut learners = tokio::task::JoinSet::new();
        for (i, learner) in classroom::simulate::a_class(24).into_iter().enumerate() {
            let laptop = std::net::IpAddr::from([127, 2, 0, i as u8 + 1]);
            let upstream = Upstream::remote(&url("")).unwrap().from(laptop);
            learners.spawn(classroom::simulate::run(upstream, learner, end));
        }
        let lesson = [
            (3, Control::Post { text: "welcome".to_owned() }),
            (5, Control::Slow { seconds: 4 }),
            (14, Control::Down { close: false }),
            (22, Control::Normal),
            (24, Control::Post { text: "back".to_owned() }),
        ];
        for (at, control) in lesson {
            tokio::time::sleep_until((started + Duration::from_secs(at)).into()).await;
            eprintln!("{:>2} s: {}", at, class.control(control).await.unwrap());
        }
        let Some(browser) = Chromium::start().await else {
            panic!("this needs chromium and chromium-driver (Debian: apt-get install chromium chromium-driver)");
        };
        browser.resize(1280, 960).await;
        browser.open(&url(&format!("/class#key={KEY}"))).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lanes = browser.run("return document.querySelectorAll('#lanes .lane').length;").await;
            if lanes.as_u64() == Some(24) {
                break;
            }
            assert!(Instant::now() < deadline, "the dashboard drew {lanes} lanes, not 24");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep_until((started + Duration::from_secs(30)).into()).await;
        let png = browser.screenshot().await;
        std::fs::write(&out, &png).unwrap_or_else(|error| panic!("cannot write {out}: {error}"));
        eprintln!("written to {out} ({} KiB)", png.len() / 1024);
        browser.close().await;
        learners.abort_all();
    });
}
