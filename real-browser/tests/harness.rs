//! The tier's own tools, checked in Chromium: what `hide` and `show` do to
//! a page, and what a hidden page's timers do.

use real_browser::{chromium::Chromium, one_at_a_time, server::Server};
use std::time::Duration;

#[test]
fn hiding_the_page_makes_it_hidden_and_stops_its_frames() {
    let _one = one_at_a_time();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let Some(mut browser) = Chromium::start().await else { return };
        let server = Server::start(poll_endpoint::app()).await;
        // A page that notes its visibility, its frames, and a 250 ms timer.
        server.replace(
            "/client.js",
            r#"window.log = [];
               document.addEventListener("visibilitychange", () => log.push(`now ${document.visibilityState}`));
               window.frames_seen = 0;
               const frame = () => { frames_seen += 1; requestAnimationFrame(frame); };
               requestAnimationFrame(frame);
               setInterval(() => log.push(`tick ${document.visibilityState} ${frames_seen}`), 250);"#
                .to_owned(),
        );
        browser.open(&server.url("/")).await;
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        browser.hide().await;
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        browser.show().await;
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let log: Vec<String> = serde_json::from_value(browser.run("return log").await).unwrap();
        browser.close().await;

        let hidden = log.iter().position(|l| l == "now hidden").expect("the page was told it is hidden");
        let shown = log.iter().position(|l| l == "now visible").expect("and visible again");
        let frames = |line: &String| line.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        let ticks_hidden: Vec<&String> = log[hidden..shown].iter().filter(|l| l.starts_with("tick hidden")).collect();
        assert!(ticks_hidden.len() >= 4, "timers go on in a hidden page (throttled or not): {log:?}");
        let (first, last) = (frames(ticks_hidden[1]), frames(ticks_hidden[ticks_hidden.len() - 1]));
        assert_eq!(first, last, "no animation frames while hidden: {log:?}");
        let after: Vec<u64> = log[shown..].iter().filter(|l| l.starts_with("tick visible")).map(frames).collect();
        assert!(after.last() > after.first(), "frames again once shown: {log:?}");
    });
}
