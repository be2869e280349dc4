//! Every client exercise's solution in headless Chromium, against its real
//! server on 127.0.0.1, and the virtual browser cross-checked against it.
//!
//! Run with `cargo test -p real-browser` (it needs `chromium` and
//! `chromium-driver`; without them each test says how to install them and
//! passes, unless `REQUIRE_BROWSER` is set, as in CI).
//!
//! Intervals: a real browser runs in real time, so the tests of exercises 02
//! and 03 serve the solution's `client.js` with its 3 s interval cut to
//! 600 ms, and exercise 04's `backoff.js` with every time cut to a tenth
//! (300 ms between polls, retries at once, then 0.3 s, 1 s, 3 s). Only those
//! numbers change, and `edited` fails if they are not in the file. The book
//! shows the real values. Every check is a function returning what is wrong,
//! so that a deliberately broken client can be shown to fail it.

use real_browser::chromium::Chromium;
use real_browser::server::{Seen, Server};
use real_browser::{edited, one_at_a_time};
use std::future::Future;
use std::time::Duration;

/// Run one browser test: one at a time, on a runtime of its own. Skipped
/// (with one line on the terminal) where Chromium is not installed.
fn browser_test<F: Future<Output = ()>>(test: impl FnOnce(Chromium) -> F) {
    let _one = one_at_a_time();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        if let Some(browser) = Chromium::start().await {
            test(browser).await;
        }
    });
}

async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn polls(server: &Server) -> Vec<Seen> {
    server.seen_at("/poll", "GET")
}

/// A client of the course with its 3 s interval cut to 600 ms.
const INTERVAL_MS: u64 = 600;
fn every_600_ms(source: &str, interval: &str) -> String {
    edited(source, &[(interval, &interval.replace("3000", "600"))])
}

// ---------------------------------------------------------------------------
// The chat page
// ---------------------------------------------------------------------------

/// Exercise 05's app: the interval client with a cursor (every 3 s, real time).
async fn chat_server() -> Server {
    Server::start(dont_ddos_yourself::app()).await
}

#[test]
fn the_chat_page_loads_sends_and_shows_other_readers_messages() {
    browser_test(|browser| async move {
        let server = chat_server().await;
        browser.open(&server.url("/")).await;
        let title = browser.run("return document.title").await;
        assert_eq!(title, "Chat with me", "the chat page loads");
        assert!(server.wait_until(Duration::from_secs(5), |s| !polls(s).is_empty()).await, "the page polls");

        browser.send("ada", "sent through the form").await;
        let through_form = browser.until_shown("sent through the form", Duration::from_secs(5)).await;
        assert!(through_form.is_some(), "a message sent with the form appears: {:?}", browser.shown().await);
        assert_eq!(server.seen_at("/poll", "POST").len(), 1, "the form sent one POST");

        // Another reader posts; this page shows it by its next poll.
        let status = server.post("grace", "posted from Rust").await;
        assert_eq!(status, 201);
        let shown = browser.until_shown("posted from Rust", Duration::from_secs(5)).await;
        assert!(
            shown.is_some_and(|after| after < Duration::from_millis(3000 + 500)),
            "another reader's message should appear within one interval (3 s) and a little: {shown:?}"
        );
        browser.close().await;
    });
}

const XSS: [&str; 2] = ["<img src=x onerror=\"window.__pwned = 'img'\">", "<script>window.__pwned = 'script'</script>"];

/// Post both attacks from Rust and check they show as text and never run.
async fn check_xss(browser: &Chromium, server: &Server) -> Result<(), String> {
    for text in XSS {
        server.post("mallory", text).await;
    }
    for text in XSS {
        if browser.until_shown(text, Duration::from_secs(5)).await.is_none() {
            return Err(format!("{text:?} is not shown as text; the page shows {:?}", browser.shown().await));
        }
    }
    pause(200).await; // give an injected image time to fail and run its handler
    let ran = browser.run("return window.__pwned ?? null").await;
    let elements = browser.run("return document.querySelectorAll('#messages img, #messages script').length").await;
    if !ran.is_null() || elements != 0 {
        return Err(format!("the page ran a message's markup (window.__pwned = {ran}, {elements} elements made)"));
    }
    Ok(())
}

#[test]
fn markup_in_a_message_shows_as_text_and_never_runs() {
    browser_test(|browser| async move {
        let server = chat_server().await;
        browser.open(&server.url("/")).await;
        check_xss(&browser, &server).await.unwrap();
        browser.close().await;
    });
}

#[test]
fn an_inner_html_render_is_caught() {
    browser_test(|browser| async move {
        let server = chat_server().await;
        let broken = edited(
            chat_page::CHAT_JS,
            &[("text.textContent = message.text; // text, never markup", "text.innerHTML = message.text;")],
        );
        server.replace("/static/chat.js", broken);
        browser.open(&server.url("/")).await;
        let caught = check_xss(&browser, &server).await;
        assert!(caught.is_err(), "rendering with innerHTML must fail the XSS check");
        browser.close().await;
    });
}

// ---------------------------------------------------------------------------
// Exercise 02: never two polls in flight
// ---------------------------------------------------------------------------

/// A server slower than the interval: 1.5 s per poll, against 600 ms.
const SLOW_MS: u64 = 1500;

/// Run `client` on exercise 02's server made slow for 7 s, and check it.
async fn check_chain(browser: &Chromium, client: String) -> (Result<(), String>, Vec<Seen>) {
    let server = Server::start(settimeout_chain::app()).await;
    server.replace("/client.js", client);
    server.slow(SLOW_MS);
    browser.open(&server.url("/")).await;
    pause(7_000).await;
    let polls = polls(&server);
    let most = server.most_polls_in_flight();
    // Chromium sends one GET per URL at a time, so a setInterval client's
    // polls do not overlap at the server: they queue in the browser and
    // arrive back to back. The interval of quiet after each answer is what
    // tells a chain from a pile.
    let rushed = polls
        .windows(2)
        .find(|pair| pair[0].answered.is_some_and(|answered| pair[1].at < answered + INTERVAL_MS - 100));
    let result = if most > 1 {
        Err(format!("{most} polls were in flight at once: {polls:?}"))
    } else if let Some(pair) = rushed {
        Err(format!(
            "a poll came {} ms after the answer before it, not {INTERVAL_MS}: {pair:?}",
            pair[1].at - pair[0].answered.unwrap_or(0)
        ))
    } else if polls.len() < 3 {
        Err(format!("only {} polls in 7 s", polls.len()))
    } else {
        Ok(())
    };
    (result, polls)
}

/// When each `GET /poll` of `client` leaves the virtual browser, against
/// `app`, in the scene `scene` sets, over 20 virtual seconds. The virtual
/// browser runs a tokio runtime of its own, so it runs on a thread of its own.
fn in_the_virtual_browser(
    app: fn() -> axum::Router,
    client: &str,
    scene: impl FnOnce(&mut virtual_browser::Browser) + Send,
) -> Vec<u64> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut model = virtual_browser::Browser::new(app());
                scene(&mut model);
                model.open(virtual_browser::Page::client("/client.js", client));
                model.run_until(20_000).departures_to("/poll")
            })
            .join()
            .expect("the virtual browser ran")
    })
}

/// The times of `requests` relative to the first.
fn relative(requests: &[u64]) -> Vec<u64> {
    requests.iter().map(|at| at - requests[0]).collect()
}

/// The same order and times within `tolerance` ms, over the requests both
/// made before `end` ms (counted from each one's first request).
fn same_sequence(real: &[u64], model: &[u64], end: u64, tolerance: u64) -> Result<(), String> {
    let (real, model) = (relative(real), relative(model));
    let real: Vec<u64> = real.into_iter().filter(|t| *t < end).collect();
    let model: Vec<u64> = model.into_iter().filter(|t| *t < end).collect();
    if real.len() != model.len() {
        return Err(format!(
            "Chromium sent {} requests, the virtual browser {}: {real:?} vs {model:?}",
            real.len(),
            model.len()
        ));
    }
    for (n, (r, m)) in real.iter().zip(&model).enumerate() {
        if r.abs_diff(*m) > tolerance {
            return Err(format!(
                "request {} at {r} ms in Chromium, {m} ms in the virtual browser: {real:?} vs {model:?}",
                n + 1
            ));
        }
    }
    Ok(())
}

#[test]
fn ex02_one_poll_at_a_time_with_quiet_between_and_the_virtual_browser_agrees() {
    let chain = every_600_ms(settimeout_chain::CLIENT_JS, "const INTERVAL_MS = 3000;");
    let interval = every_600_ms(virtual_browser::known_clients::SET_INTERVAL, "}, 3000);");
    browser_test(|browser| async move {
        let (result, real) = check_chain(&browser, chain.clone()).await;
        result.unwrap();

        // The same scene in the virtual browser: the same requests, at the
        // same times within 150 ms (timers, the network and the scheduler of
        // a shared 2-core machine).
        let sent = in_the_virtual_browser(settimeout_chain::app, &chain, |model| {
            model.latency(virtual_browser::Latency::Fixed(SLOW_MS));
        });
        let at: Vec<u64> = real.iter().map(|s| s.at).collect();
        same_sequence(&at, &sent, 6_000, 150).unwrap();

        let (caught, seen) = check_chain(&browser, interval.clone()).await;
        assert!(caught.is_err(), "a setInterval client must fail the check: {seen:?}");
        // And the broken client does the same in both: its polls wait in the
        // browser and leave back to back, one per answer.
        let sent = in_the_virtual_browser(settimeout_chain::app, &interval, |model| {
            model.latency(virtual_browser::Latency::Fixed(SLOW_MS));
        });
        let at: Vec<u64> = seen.iter().map(|s| s.at).collect();
        same_sequence(&at, &sent, 6_000, 150).unwrap();
        browser.close().await;
    });
}

// ---------------------------------------------------------------------------
// Exercise 03: nothing while hidden
// ---------------------------------------------------------------------------

/// Run `client` on exercise 03's server: visible for 2 s, hidden for 3 s,
/// visible for 2.5 s. Returns what is wrong, the polls, and the hidden window.
async fn check_hidden(browser: &mut Chromium, client: String) -> (Result<(), String>, Vec<Seen>, (u64, u64)) {
    let server = Server::start(pause_when_hidden::app()).await;
    server.replace("/client.js", client);
    browser.open(&server.url("/")).await;
    assert!(server.wait_until(Duration::from_secs(5), |s| !polls(s).is_empty()).await, "the page polls");
    pause(2_000).await;
    let hidden_at = server.now();
    browser.hide().await;
    pause(3_000).await;
    let shown_at = server.now();
    browser.show().await;
    pause(2_500).await;
    let polls = polls(&server);
    // A poll sent just before the page hid may arrive a moment later.
    let while_hidden: Vec<&Seen> = polls.iter().filter(|p| p.at > hidden_at + 50 && p.at < shown_at).collect();
    let resumed = polls.iter().find(|p| p.at >= shown_at).map(|p| p.at - shown_at);
    let result = if !while_hidden.is_empty() {
        Err(format!(
            "{} polls while the page was hidden ({hidden_at}..{shown_at} ms): {while_hidden:?}",
            while_hidden.len()
        ))
    } else if resumed.is_none_or(|after| after > INTERVAL_MS + 200) {
        Err(format!("no poll within one interval of the page being shown again (first after {resumed:?} ms)"))
    } else {
        Ok(())
    };
    (result, polls, (hidden_at, shown_at))
}

#[test]
fn ex03_no_polls_while_hidden_and_the_virtual_browser_agrees() {
    let frames = every_600_ms(pause_when_hidden::CLIENT_JS, "const INTERVAL_MS = 3000;");
    let ignores = every_600_ms(virtual_browser::known_clients::IGNORES_HIDDEN, "setTimeout(poll, 3000)");
    browser_test(|mut browser| async move {
        let (result, real, (hidden_at, shown_at)) = check_hidden(&mut browser, frames.clone()).await;
        result.unwrap();

        // The same scene in the virtual browser, its clock starting at the
        // first poll: hidden and shown at the same moments.
        let first = real[0].at;
        let sent = in_the_virtual_browser(pause_when_hidden::app, &frames, |model| {
            model.latency(virtual_browser::Latency::Fixed(2)).hide(hidden_at - first..shown_at - first);
        });
        let at: Vec<u64> = real.iter().map(|s| s.at).collect();
        // 200 ms: animation frames come every 16 ms, and hiding and showing
        // go through WebDriver.
        same_sequence(&at, &sent, shown_at - first + 2_000, 200).unwrap();

        let (caught, _, _) = check_hidden(&mut browser, ignores).await;
        assert!(caught.is_err(), "a client that ignores visibility must fail the check");
        browser.close().await;
    });
}

// ---------------------------------------------------------------------------
// Exercise 04: backing off while the server is down
// ---------------------------------------------------------------------------

#[test]
fn ex04_retries_follow_the_schedule_and_the_client_recovers() {
    // A tenth of every time: polls every 300 ms; retries at once, then 0.15-0.3 s,
    // 0.5-1 s, 1.5-3 s (equal jitter), and 1.5-3 s from then on.
    let tenth = edited(
        backoff::BACKOFF_JS,
        &[
            ("export const INTERVAL_MS = 3000;", "export const INTERVAL_MS = 300;"),
            (
                "export const RETRY_SCHEDULE_MS = [0, 3000, 10000, 30000];",
                "export const RETRY_SCHEDULE_MS = [0, 300, 1000, 3000];",
            ),
        ],
    );
    browser_test(|browser| async move {
        let server = Server::start(backoff::app()).await;
        server.replace("/backoff.js", tenth);
        browser.open(&server.url("/")).await;
        assert!(server.wait_until(Duration::from_secs(5), |s| polls(s).len() >= 3).await, "the page polls");
        let down_at = server.now();
        server.go_down();
        pause(8_000).await;
        let up_at = server.now();
        server.come_back();
        pause(3_500).await;
        browser.close().await;

        let polls = polls(&server);
        let refused: Vec<u64> = polls.iter().filter(|p| p.refused).map(|p| p.at).collect();
        assert!(refused.len() >= 5, "the page kept trying while the server was down: {polls:?}");
        let steps = [0, 300, 1000, 3000];
        for (n, pair) in refused.windows(2).enumerate() {
            let step = steps[n.min(steps.len() - 1)];
            let gap = pair[1] - pair[0];
            assert!(
                gap + 50 >= step / 2 && gap <= step + 150,
                "after failure {} the page waited {gap} ms; the schedule says {} to {step} ms: {refused:?}",
                n + 1,
                step / 2
            );
        }
        assert!(refused[0] >= down_at, "no failure before the server went down");
        let back = polls.iter().find(|p| p.at >= up_at && !p.refused).map(|p| p.at - up_at);
        assert!(
            back.is_some_and(|after| after <= 3000 + 200),
            "the page should be back within one capped retry (3 s) of the server: {back:?}"
        );
        let after: Vec<u64> = polls.iter().filter(|p| p.at >= up_at && !p.refused).map(|p| p.at).collect();
        assert!(after.len() >= 3, "and polling every 300 ms again: {after:?}");
        for pair in after.windows(2) {
            assert!((250..=450).contains(&(pair[1] - pair[0])), "one success resets the schedule: {after:?}");
        }
    });
}

// ---------------------------------------------------------------------------
// Exercise 07: long polling
// ---------------------------------------------------------------------------

#[test]
fn ex07_a_post_reaches_a_waiting_browser_at_once_and_a_hidden_page_lets_go() {
    browser_test(|mut browser| async move {
        let hub = long_polling::memory_hub();
        let app = long_polling::app_with(hub.clone(), governor::clock::DefaultClock::default());
        let server = Server::start(app).await;
        browser.open(&server.url("/")).await;
        assert!(server.wait_until(Duration::from_secs(5), |_| hub.held() == 1).await, "the page's request is held");
        pause(1_000).await;
        server.post("grace", "right now").await;
        let shown = browser.until_shown("right now", Duration::from_secs(5)).await;
        assert!(
            shown.is_some_and(|after| after < Duration::from_millis(500)),
            "a message should reach a waiting page within half a second of its POST: {shown:?}"
        );
        assert!(polls(&server).len() <= 3, "one held request, then the next: {:?}", polls(&server));

        browser.hide().await;
        let hidden_at = server.now();
        assert!(
            server.wait_until(Duration::from_secs(2), |_| hub.held() == 0).await,
            "a hidden page aborts its held request, and the server lets it go"
        );
        server.post("grace", "while hidden").await;
        pause(1_000).await;
        let shown_at = server.now();
        browser.show().await;
        let caught_up = browser.until_shown("while hidden", Duration::from_secs(5)).await;
        assert!(
            caught_up.is_some_and(|after| after < Duration::from_millis(1000)),
            "caught up when shown: {caught_up:?}"
        );
        let while_hidden: Vec<Seen> =
            polls(&server).into_iter().filter(|p| p.at > hidden_at + 50 && p.at < shown_at).collect();
        assert!(while_hidden.is_empty(), "no requests while hidden: {while_hidden:?}");
        browser.close().await;
    });
}

/// Two windows of one browser at the same cursor send the same long-poll URL.
/// Chromium's HTTP cache lets one request at a time fill an entry for a URL,
/// so without `cache: "no-store"` the second would wait in the browser until
/// the first is answered (chapter 07): both must be held at the server.
#[test]
fn ex07_two_windows_at_one_cursor_are_both_held_at_the_server() {
    browser_test(|browser| async move {
        let hub = long_polling::memory_hub();
        let app = long_polling::app_with(hub.clone(), governor::clock::DefaultClock::default());
        let server = Server::start(app).await;
        browser.open(&server.url("/")).await;
        assert!(server.wait_until(Duration::from_secs(5), |_| hub.held() == 1).await, "the first page is held");
        browser.open_second_window(&server.url("/")).await;
        let both = server.wait_until(Duration::from_secs(5), |_| hub.held() == 2).await;
        assert!(
            both,
            "two windows at the same cursor should each have a request held at the server, but it holds {}: the \
             second waits in the browser behind the first (Chromium's cache lock); the long poll's fetch needs \
             `cache: \"no-store\"`",
            hub.held()
        );
        browser.close().await;
    });
}
