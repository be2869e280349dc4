//! Each browser global the virtual browser provides, tested on its own.
//!
//! A page logs what it sees with `console.log`; the test reads the trace.
//! The server is exercise 01's finished poll endpoint.

use virtual_browser::{Browser, Event, Failure, Latency, Page, checks};

/// Open `script` as `/client.js` and run it until `end` ms.
fn run(script: &str, end: u64) -> String {
    run_with(script, end, |_| {})
}

fn run_with(script: &str, end: u64, scene: impl FnOnce(&mut Browser)) -> String {
    let mut browser = Browser::new(poll_server::app());
    scene(&mut browser);
    browser.open(Page::client("/client.js", script));
    browser.run_until(end).to_string()
}

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

#[test]
fn set_timeout_fires_at_its_virtual_time_with_extra_arguments() {
    let trace = run(r#"setTimeout((a, b) => console.log("fired", a, b, performance.now()), 1500, "x", 2);"#, 5000);
    assert_eq!(logs(&trace), ["1500: fired x 2 1500"]);
}

#[test]
fn clear_timeout_cancels_a_timer() {
    let trace = run(
        r#"const id = setTimeout(() => console.log("never"), 100);
           setTimeout(() => console.log("kept"), 200);
           clearTimeout(id);"#,
        1000,
    );
    assert_eq!(logs(&trace), ["200: kept"]);
}

#[test]
fn set_interval_repeats_until_cleared() {
    let trace = run(
        r#"let n = 0;
           const id = setInterval((label) => { n += 1; console.log(label, n); if (n === 3) clearInterval(id); }, 1000, "tick");"#,
        10_000,
    );
    assert_eq!(logs(&trace), ["1000: tick 1", "2000: tick 2", "3000: tick 3"]);
}

#[test]
fn deeply_nested_zero_delay_timers_are_clamped_to_4_ms() {
    let trace = run(
        r#"let depth = 0;
           function again() { depth += 1; console.log(depth); if (depth < 8) setTimeout(again, 0); }
           setTimeout(again, 0);"#,
        1000,
    );
    // HTML: a timer set from a task whose nesting level is over 5 waits at
    // least 4 ms. The script sets level 1; callbacks 1 to 6 run at once, and
    // the timers set by callback 6 and later wait 4 ms.
    assert_eq!(logs(&trace), ["0: 1", "0: 2", "0: 3", "0: 4", "0: 5", "0: 6", "4: 7", "8: 8"]);
}

#[test]
fn request_animation_frame_runs_every_16_ms_with_the_frame_time() {
    let trace = run(
        r#"let frames = 0;
           function frame(time) { frames += 1; console.log("frame", time); if (frames < 3) requestAnimationFrame(frame); }
           requestAnimationFrame(frame);
           const cancelled = requestAnimationFrame(() => console.log("cancelled"));
           cancelAnimationFrame(cancelled);"#,
        1000,
    );
    assert_eq!(logs(&trace), ["16: frame 16", "32: frame 32", "48: frame 48"]);
}

#[test]
fn frames_stop_while_the_page_is_hidden_and_resume_when_shown() {
    let trace = run_with(
        r#"function frame(time) { if (time % 160 === 0) console.log("frame", time); requestAnimationFrame(frame); }
           requestAnimationFrame(frame);"#,
        1000,
        |browser| {
            browser.hide(200..600);
        },
    );
    assert_eq!(logs(&trace), ["160: frame 160", "640: frame 640", "800: frame 800", "960: frame 960"]);
}

#[test]
fn document_visibility_and_the_visibilitychange_event() {
    let trace = run_with(
        r#"console.log(document.hidden, document.visibilityState);
           const log = () => console.log("changed", document.hidden, document.visibilityState);
           document.addEventListener("visibilitychange", log);
           document.addEventListener("visibilitychange", function () { if (!document.hidden) document.removeEventListener("visibilitychange", log); });"#,
        5000,
        |browser| {
            browser.hide(1000..2000).hide(3000..4000);
        },
    );
    assert_eq!(
        logs(&trace),
        ["0: false visible", "1000: changed true hidden", "2000: changed false visible"],
        "after the first time it is shown, the `log` listener was removed"
    );
}

#[test]
fn timers_in_a_hidden_page_wait_for_the_next_whole_second() {
    let trace = run_with(
        r#"setTimeout(() => console.log("late"), 1200);
           setTimeout(() => console.log("on time"), 3500);"#,
        5000,
        |browser| {
            browser.hide(1000..2000);
        },
    );
    assert_eq!(logs(&trace), ["2000: late", "3500: on time"]);
}

#[test]
fn fetch_reaches_the_app_and_returns_a_response() {
    let trace = run_with(
        r#"const posted = await fetch("/poll", { method: "POST", headers: { "Content-Type": "application/json" },
                                                  body: JSON.stringify({ user: "ada", text: "hi" }) });
           console.log(posted.status, posted.ok, (await posted.json()).text);
           const response = await fetch("http://127.0.0.1:3000/poll");
           console.log(response.status, response.ok, response.headers.get("Cache-Control"), response.headers.get("x-none"));
           const text = await response.text();
           console.log(JSON.parse(text).msg.length, performance.now());
           try { await response.json(); } catch (error) { console.log(error.name); }
           const missing = await fetch("/nope");
           console.log(missing.status, missing.ok);"#,
        5000,
        |browser| {
            browser.latency(Latency::Scripted(vec![100, 200, 300]));
        },
    );
    assert_eq!(
        logs(&trace),
        ["100: 201 true hi", "300: 200 true no-store null", "300: 1 300", "300: TypeError", "600: 404 false"]
    );
}

#[test]
fn scripted_failures_reject_or_answer_as_told() {
    let trace = run_with(
        r#"for (const at of [0, 1000, 2000, 3000]) {
             setTimeout(async () => {
               try {
                 const response = await fetch("/poll");
                 console.log(at, response.status, response.headers.get("retry-after"), (await response.json()).error ?? "ok");
               } catch (error) {
                 console.log(at, error.name, error.message);
               }
             }, at);
           }"#,
        5000,
        |browser| {
            browser
                .latency(Latency::Fixed(10))
                .fail(0..1000, Failure::NetworkError)
                .fail(1000..2000, Failure::Status(500))
                .fail(2000..3000, Failure::RetryAfter { status: 429, seconds: 20 });
        },
    );
    assert_eq!(
        logs(&trace),
        [
            "10: 0 TypeError Failed to fetch",
            "1010: 1000 500 null the scenario made the server answer 500",
            "2010: 2000 429 20 the scenario made the server answer 429",
            "3010: 3000 200 null ok",
        ]
    );
    assert!(trace.contains("GET /poll #1 -> network error"), "{trace}");
    assert!(trace.contains("GET /poll #3 -> 429 Retry-After: 20"), "{trace}");
}

#[test]
fn console_levels_are_traced() {
    let trace = run(r#"console.info("i"); console.warn("w", 1); console.error({ a: 1 }); console.debug([1, 2]);"#, 0);
    for line in ["console.info: i", "console.warn: w 1", "console.error: {\"a\":1}", "console.debug: [1,2]"] {
        assert!(trace.contains(line), "missing {line:?} in\n{trace}");
    }
}

#[test]
fn date_and_performance_run_on_the_virtual_clock() {
    let trace = run(
        r#"setTimeout(() => console.log(Date.now(), new Date().toISOString(), performance.now(), new Date(0).getTime()), 2500);"#,
        3000,
    );
    assert_eq!(logs(&trace), ["2500: 1767225602500 2026-01-01T00:00:02.500Z 2500 0"]);
}

#[test]
fn math_random_is_seeded() {
    let script = r#"console.log([Math.random(), Math.random()].map((x) => x.toFixed(6)).join(" "));"#;
    let draw = |seed| {
        let mut browser = Browser::with_seed(poll_server::app(), seed);
        browser.open(Page::client("/client.js", script));
        logs(&browser.run_until(0).to_string())
    };
    assert_eq!(draw(7), draw(7), "the same seed gives the same numbers");
    assert_ne!(draw(7), draw(8), "another seed gives other numbers");
    let value: f64 = draw(7)[0].split(' ').nth(1).unwrap().parse().unwrap();
    assert!((0.0..1.0).contains(&value));
}

#[test]
fn microtasks_run_after_each_task_before_the_next() {
    let trace = run(
        r#"setTimeout(() => console.log("timer"), 0);
           queueMicrotask(() => console.log("microtask"));
           Promise.resolve().then(() => console.log("promise"));
           console.log("script");
           setTimeout(() => { Promise.resolve().then(() => console.log("then, inside timer 2")); console.log("timer 2"); }, 0);"#,
        10,
    );
    assert_eq!(
        logs(&trace),
        ["0: script", "0: microtask", "0: promise", "0: timer", "0: timer 2", "0: then, inside timer 2"]
    );
}

#[test]
fn an_endless_loop_is_stopped_and_reported() {
    let started = std::time::Instant::now();
    let trace =
        run(r#"setTimeout(() => { while (true) {} }, 100); setTimeout(() => console.log("never"), 200);"#, 1000);
    assert!(started.elapsed().as_secs() < 20, "stopping the loop took {:?}", started.elapsed());
    assert!(trace.contains("100 ms  page stopped: a task ran for more than"), "{trace}");
    assert!(trace.contains("an endless loop?"), "{trace}");
    assert!(!trace.contains("never"), "a stopped page runs nothing more:\n{trace}");
}

#[test]
fn uncaught_errors_and_unhandled_rejections_are_traced_with_their_place() {
    let trace = run(
        r#"function poll() { const json = undefined; return json.msg; }
           setTimeout(poll, 10);
           setTimeout(async () => { throw new RangeError("in an async function"); }, 20);
           setTimeout(() => { const p = Promise.reject(new Error("handled later")); p.catch(() => {}); }, 30);
           setTimeout(() => console.log("still running"), 40);"#,
        100,
    );
    assert!(
        trace.contains("10 ms  error: Uncaught TypeError: cannot read property 'msg' of undefined at /client.js:1:"),
        "{trace}"
    );
    assert!(trace.contains(", in poll"), "{trace}");
    assert!(
        trace.contains("20 ms  error: Uncaught (in promise) RangeError: in an async function at /client.js:3:"),
        "{trace}"
    );
    assert!(!trace.contains("handled later"), "a rejection handled in the same task is not reported:\n{trace}");
    assert!(trace.contains("40 ms  console.log: still running"), "an error ends one task, not the page:\n{trace}");
}

#[test]
fn a_page_that_does_not_parse_is_stopped_with_the_place() {
    let trace = run("setTimeout(() => {, 100);", 1000);
    assert!(trace.contains("page stopped: SyntaxError"), "{trace}");
    assert!(trace.contains("/client.js:1:"), "{trace}");
}

#[test]
fn the_chat_stand_in_records_what_the_page_shows_and_sends_from_the_form() {
    let mut browser = Browser::new(poll_server::app());
    browser
        .latency(Latency::Fixed(20))
        .post_at(500, "grace", "hello")
        .send_at(1000, "ada", "hi grace")
        .send_at(1500, "ada", "   ");
    browser.open(Page::client(
        "/client.js",
        r#"import { renderMessages, showStatus, onSubmit } from "/static/chat.js";
           async function refresh() { renderMessages((await (await fetch("/poll")).json()).msg); }
           onSubmit(refresh);
           setTimeout(refresh, 700);
           showStatus("ready");"#,
    ));
    insta::assert_snapshot!(browser.run_until(2000).to_string());
}

/// The stand-in must offer what the real module offers, or a client that
/// works in a browser would fail here (or the other way round).
#[test]
fn the_chat_stand_in_exports_what_static_chat_js_exports() {
    let exports = |source: &str| -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for line in source.lines().filter_map(|line| line.strip_prefix("export ")) {
            if let Some(list) = line.strip_prefix('{') {
                // export { a, b };
                let list = list.split('}').next().unwrap_or_default();
                names.extend(list.split(',').map(|name| name.trim().to_owned()).filter(|n| !n.is_empty()));
            } else if let Some(rest) = line.trim_start_matches("async ").strip_prefix("function ") {
                names.push(rest.split('(').next().unwrap().to_owned());
            }
        }
        names.sort();
        names
    };
    assert_eq!(exports(virtual_browser::engine::CHAT_STUB), exports(chat_page::CHAT_JS));
    assert!(!exports(chat_page::CHAT_JS).is_empty());
}

#[test]
fn the_same_scenario_gives_the_same_trace_every_time() {
    let script = r#"async function poll() {
                      try { await fetch("/poll"); } finally { setTimeout(poll, 1000 + Math.random() * 1000); }
                    }
                    poll();"#;
    let scene = |browser: &mut Browser| {
        browser.fail(2000..4000, Failure::NetworkError).hide(5000..7000).post_at(3000, "grace", "hi");
    };
    let first = run_with(script, 20_000, scene);
    assert_eq!(first, run_with(script, 20_000, scene));
    assert!(first.lines().count() > 20, "{first}");
}

#[test]
fn checks_read_the_trace() {
    let mut browser = Browser::new(poll_server::app());
    browser.latency(Latency::Fixed(5000));
    browser.open(Page::client("/client.js", r#"setInterval(() => fetch("/poll"), 3000); fetch("/poll");"#));
    let trace = browser.run_until(10_000);
    let problem = checks::never_two_polls_at_once(trace).unwrap_err();
    assert!(problem.starts_with("two GET /poll requests were in flight at 3000 ms"), "{problem}");
    assert!(trace.events().iter().any(|(_, e)| matches!(e, Event::Sent { request: 2, .. })));
}

/// A tiny server with entity tags: `/tagged` answers `ETag: "v1"` and
/// `304 Not Modified` to `If-None-Match: "v1"`; `/time` answers what the
/// server thinks the time is.
fn tagged_server() -> axum::Router {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    axum::Router::new()
        .route(
            "/tagged",
            axum::routing::get(|headers: HeaderMap| async move {
                let tag = [(header::ETAG, "\"v1\""), (header::CACHE_CONTROL, "no-cache")];
                if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == "\"v1\"") {
                    (StatusCode::NOT_MODIFIED, tag).into_response()
                } else {
                    (tag, "the body").into_response()
                }
            }),
        )
        .route("/time", axum::routing::get(|| async { virtual_browser::virtual_now().to_string() }))
}

#[test]
fn the_http_cache_revalidates_and_hands_the_page_a_200() {
    let script = r#"for (const at of [0, 1000]) setTimeout(async () => {
                      const r = await fetch("/tagged"); console.log(r.status, await r.text());
                    }, at);"#;
    let cached = {
        let mut browser = Browser::new(tagged_server());
        browser.http_cache(true).open(Page::client("/client.js", script));
        browser.run_until(2000).to_string()
    };
    assert_eq!(logs(&cached), ["50: 200 the body", "1050: 200 the body"], "the page sees a 200 both times");
    assert!(cached.contains("GET /tagged #1 -> 200") && cached.contains("GET /tagged #2 -> 304"), "{cached}");
    let uncached = {
        let mut browser = Browser::new(tagged_server());
        browser.open(Page::client("/client.js", script));
        browser.run_until(2000).to_string()
    };
    assert!(uncached.contains("GET /tagged #2 -> 200"), "no cache unless asked for:\n{uncached}");
}

#[test]
fn a_server_restart_swaps_the_app_and_the_server_sees_virtual_time() {
    let trace = run_with(
        r#"for (const at of [0, 2000]) setTimeout(async () => {
             console.log((await (await fetch("/poll")).json()).msg.length);
           }, at);
           setTimeout(async () => console.log("server time", await (await fetch("/time")).text()), 3000);"#,
        5000,
        |browser| {
            browser.post_at(500, "grace", "before").restart_at(1500, tagged_server().merge(poll_server::app()));
        },
    );
    assert!(trace.contains("1500 ms  the server restarts"), "{trace}");
    // The message posted before the restart is gone with the old store; the
    // server's handler reads the browser's clock when the request reaches it
    // (3025 ms: half of the 50 ms latency is the way there).
    assert_eq!(logs(&trace), ["50: 0", "2050: 0", "3050: server time 3025"]);
}

#[test]
fn sending_retries_once_after_a_network_error() {
    let trace = run_with(
        r#"import { onSubmit } from "/static/chat.js";
           onSubmit(async () => console.log((await (await fetch("/poll")).json()).msg.length));"#,
        3000,
        |browser| {
            browser.latency(Latency::Fixed(20)).fail(1000..1010, Failure::NetworkError).send_at(1000, "ada", "hi");
        },
    );
    assert!(
        trace.contains("1000 ms  POST /poll #1 sent") && trace.contains("1020 ms  POST /poll #1 -> network error"),
        "{trace}"
    );
    assert!(
        trace.contains("1020 ms  POST /poll #2 sent") && trace.contains("1040 ms  POST /poll #2 -> 201"),
        "{trace}"
    );
    assert_eq!(logs(&trace), ["1060: 1"], "one message stored, then shown");
}

/// A server that holds requests: `/hold?ms=N` answers after N ms of the
/// server's time; `/wait` answers when someone posts to `/poll`. `dropped`
/// counts `/wait` requests the server gave up on (the client went away).
fn holding_server(dropped: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> axum::Router {
    use axum::extract::Query;
    use std::sync::Arc;
    use tokio::sync::Notify;
    struct CountsDrop(Arc<std::sync::atomic::AtomicUsize>, bool);
    impl Drop for CountsDrop {
        fn drop(&mut self) {
            if !self.1 {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }
    let news = Arc::new(Notify::new());
    let wake = news.clone();
    axum::Router::new()
        .route(
            "/hold",
            axum::routing::get(|Query(q): Query<std::collections::HashMap<String, u64>>| async move {
                tokio::time::sleep(std::time::Duration::from_millis(q["ms"])).await;
                format!("held {} ms", q["ms"])
            }),
        )
        .route(
            "/wait",
            axum::routing::get(move || async move {
                let mut guard = CountsDrop(dropped, false);
                news.notified().await;
                guard.1 = true;
                "woken"
            }),
        )
        .route("/poll", axum::routing::post(move || async move { wake.notify_waiters() }))
}

#[test]
fn the_server_can_hold_a_request_in_virtual_time() {
    let started = std::time::Instant::now();
    let mut browser = Browser::new(holding_server(Default::default()));
    browser.open(Page::client(
        "/client.js",
        r#"fetch("/hold?ms=30000").then((r) => r.text()).then((t) => console.log(t));
           setTimeout(() => console.log("the page goes on meanwhile"), 10000);"#,
    ));
    let trace = browser.run_until(40_000).to_string();
    assert_eq!(logs(&trace), ["10000: the page goes on meanwhile", "30050: held 30000 ms"]);
    assert!(trace.contains("  30050 ms  GET /hold?ms=30000 #1 -> 200"), "{trace}");
    assert!(started.elapsed().as_secs() < 10, "30 s of holding took {:?} of real time", started.elapsed());
}

#[test]
fn a_held_request_answers_the_moment_someone_posts() {
    let mut browser = Browser::new(holding_server(Default::default()));
    browser.post_at(12_300, "grace", "news");
    browser.open(Page::client("/client.js", r#"fetch("/wait").then((r) => r.text()).then((t) => console.log(t));"#));
    let trace = browser.run_until(20_000).to_string();
    // Woken at 12300 ms; the answer travels back for half the latency (50 ms).
    assert_eq!(logs(&trace), ["12325: woken"], "{trace}");
}

#[test]
fn a_restart_breaks_the_requests_the_old_server_held() {
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut browser = Browser::new(holding_server(dropped.clone()));
    browser.restart_at(7_000, holding_server(Default::default()));
    browser.open(Page::client(
        "/client.js",
        r#"fetch("/wait").then(() => console.log("answered"), (e) => console.log(`${e.name}: ${e.message}`));"#,
    ));
    let trace = browser.run_until(20_000).to_string();
    assert_eq!(logs(&trace), ["7000: TypeError: Failed to fetch"], "{trace}");
    assert!(trace.contains("   7000 ms  GET /wait #1 -> network error"), "{trace}");
    assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 1, "the old server let go of it");
}

#[test]
fn an_aborted_request_is_dropped_by_the_server() {
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut browser = Browser::new(holding_server(dropped.clone()));
    browser.post_at(8_000, "grace", "too late for the aborted one");
    browser.open(Page::client(
        "/client.js",
        r#"const controller = new AbortController();
           fetch("/wait", { signal: controller.signal }).then(() => console.log("answered?"), (e) => console.log(e.name));
           setTimeout(() => controller.abort(), 5000);
           const before = new AbortController(); before.abort();
           fetch("/wait", { signal: before.signal }).catch((e) => console.log("at once:", e.name));"#,
    ));
    let trace = browser.run_until(10_000).to_string();
    assert_eq!(logs(&trace), ["0: at once: AbortError", "5000: AbortError"], "{trace}");
    assert!(trace.contains("   5000 ms  GET /wait #1 -> aborted by the page"), "{trace}");
    assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 1, "the server dropped the held request");
}

#[test]
fn a_get_waits_in_the_browser_while_the_same_get_is_in_flight() {
    // As Chromium does (the real-browser tier measures it): one GET per URL
    // at a time. Another URL, or a POST, goes at once.
    let trace = run_with(
        r#"const done = (name) => () => console.log(name);
           fetch("/poll").then(done("first"));
           fetch("/poll").then(done("second, same URL"));
           fetch("/poll?other").then(done("another URL"));"#,
        10_000,
        |browser| {
            browser.latency(Latency::Fixed(1000));
        },
    );
    assert!(trace.contains("      0 ms  GET /poll #2 waits in the browser: the same GET is in flight"), "{trace}");
    assert!(trace.contains("   1000 ms  GET /poll #2 leaves the browser"), "{trace}");
    assert_eq!(logs(&trace), ["1000: first", "1000: another URL", "2000: second, same URL"], "{trace}");
}

#[test]
fn an_aborted_get_lets_the_next_one_leave() {
    let trace = run_with(
        r#"const controller = new AbortController();
           fetch("/poll", { signal: controller.signal }).catch((e) => console.log(e.name));
           fetch("/poll").then(() => console.log("second"));
           setTimeout(() => controller.abort(), 200);"#,
        10_000,
        |browser| {
            browser.latency(Latency::Fixed(1000));
        },
    );
    assert_eq!(logs(&trace), ["200: AbortError", "1200: second"], "{trace}");
}

#[test]
fn a_no_store_get_neither_waits_for_the_cache_lock_nor_holds_it() {
    // `cache: "no-store"` passes Chromium's HTTP cache by (LOAD_DISABLE_CACHE),
    // lock and all: it leaves at once beside a GET in flight, and the next
    // GET waits only for the one that holds the lock.
    let scene = |browser: &mut Browser| {
        browser.latency(Latency::Fixed(1000));
    };
    let trace = run_with(
        r#"const done = (name) => () => console.log(name);
           fetch("/poll").then(done("first"));
           fetch("/poll", { cache: "no-store" }).then(done("no-store, same URL"));
           fetch("/poll").then(done("second"));"#,
        10_000,
        scene,
    );
    assert_eq!(logs(&trace), ["1000: first", "1000: no-store, same URL", "2000: second"], "{trace}");
    assert!(!trace.contains("GET /poll #2 waits"), "{trace}");
    let trace = run_with(
        r#"const done = (name) => () => console.log(name);
           fetch("/poll", { cache: "no-store" }).then(done("no-store"));
           fetch("/poll").then(done("default, same URL"));"#,
        10_000,
        scene,
    );
    assert_eq!(logs(&trace), ["1000: no-store", "1000: default, same URL"], "{trace}");
}

#[test]
fn a_reload_get_writes_a_new_cache_entry_at_once_and_the_next_get_waits_for_it() {
    // `cache: "reload"` (LOAD_BYPASS_CACHE) dooms the entry the first GET is
    // writing and writes a new one, without waiting; the GET after it waits
    // for the new entry, so for the reload, not for the first.
    let trace = run_with(
        r#"const done = (name) => () => console.log(name);
           fetch("/poll").then(done("first, slow"));
           fetch("/poll", { cache: "reload" }).then(done("reload"));
           fetch("/poll").then(done("after the reload"));"#,
        10_000,
        |browser| {
            browser.latency(Latency::Scripted(vec![3000, 1000, 1000]));
        },
    );
    assert_eq!(logs(&trace), ["1000: reload", "2000: after the reload", "3000: first, slow"], "{trace}");
}

/// What a server saw of each request's cache headers, in order.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// `/tagged`: each call answers `ETag: "v<call>"`, `Cache-Control: no-cache`
/// and `call <n>`, or `304` to any `If-None-Match`; its second call is held
/// for 30 s. It notes the cache headers of each request in `seen`.
fn noting_server(seen: Seen) -> axum::Router {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    axum::Router::new().route(
        "/tagged",
        axum::routing::get(move |headers: HeaderMap| async move {
            let noted: Vec<String> = ["if-none-match", "cache-control", "pragma"]
                .into_iter()
                .filter_map(|name| Some(format!("{name}: {}", headers.get(name)?.to_str().ok()?)))
                .collect();
            let call = {
                let mut seen = seen.lock().unwrap();
                seen.push(if noted.is_empty() { "plain".to_owned() } else { noted.join(", ") });
                seen.len()
            };
            if call == 2 {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            }
            let tag = [(header::ETAG, format!("\"v{call}\"")), (header::CACHE_CONTROL, "no-cache".to_owned())];
            if headers.contains_key(header::IF_NONE_MATCH) {
                (StatusCode::NOT_MODIFIED, tag).into_response()
            } else {
                (tag, format!("call {call}")).into_response()
            }
        }),
    )
}

#[test]
fn fetch_asks_the_http_cache_as_its_cache_option_says() {
    // The Fetch standard's cache modes, as Chromium passes the web-platform
    // tests of them (fetch/api/request/request-cache-*.html).
    let seen = Seen::default();
    let mut browser = Browser::new(noting_server(seen.clone()));
    browser.http_cache(true).open(Page::client(
        "/client.js",
        r#"async function ask(cache, init = {}) {
             try {
               const r = await fetch("/tagged", { cache, ...init });
               console.log(cache, r.status, await r.text());
             } catch (e) {
               console.log(cache, e.name, e.message);
             }
           }
           const sameOrigin = { mode: "same-origin" };
           (async () => {
             await ask("only-if-cached", sameOrigin); // nothing kept: it fails, and asks no server
             await ask("no-store"); // call 1, kept nowhere
             await ask("force-cache"); // nothing kept: call 2 (held 30 s), kept
             await ask("force-cache"); // kept: the cache answers
             await ask("only-if-cached", sameOrigin); // the same
             await ask("default"); // call 3 revalidates: 304, the page gets the kept 200
             await ask("no-cache"); // call 4 revalidates, and says max-age=0
             await ask("reload"); // call 5, without the kept tag, and kept
             await ask("default"); // call 6 revalidates what reload kept
             await ask("default", { headers: { "If-None-Match": '"mine"' } }); // call 7: the page's own 304
             await ask("only-if-cached"); // not same-origin: refused
             await ask("nonsense");
           })();"#,
    ));
    let trace = browser.run_until(60_000).to_string();
    assert_eq!(
        logs(&trace),
        [
            "0: only-if-cached TypeError Failed to fetch",
            "50: no-store 200 call 1",
            "30100: force-cache 200 call 2",
            "30100: force-cache 200 call 2",
            "30100: only-if-cached 200 call 2",
            "30150: default 200 call 2",
            "30200: no-cache 200 call 2",
            "30250: reload 200 call 5",
            "30300: default 200 call 5",
            "30350: default 304 ",
            "30350: only-if-cached TypeError Failed to execute 'fetch' on 'Window': 'only-if-cached' can be set only \
             with 'same-origin' mode",
            "30350: nonsense TypeError Failed to execute 'fetch' on 'Window': Failed to read the 'cache' property from \
             'RequestInit': The provided value 'nonsense' is not a valid enum value of type RequestCache.",
        ],
        "{trace}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "cache-control: no-cache, pragma: no-cache",
            "plain",
            "if-none-match: \"v2\"",
            "if-none-match: \"v2\", cache-control: max-age=0",
            "cache-control: no-cache, pragma: no-cache",
            "if-none-match: \"v5\"",
            "if-none-match: \"mine\", cache-control: no-cache, pragma: no-cache",
        ],
        "what the server saw of each request\n{trace}"
    );
    // The cache answered #4 and #5 at once: the server saw nothing of them.
    assert!(trace.contains("  30100 ms  GET /tagged #4 sent\n  30100 ms  GET /tagged #4 -> 200\n"), "{trace}");
}

#[test]
fn a_get_waits_for_the_cache_lock_20_s_at_most_then_goes_without_the_cache() {
    // Chromium's cache lock times out after 20 s (net/http/
    // http_cache_transaction.cc), and the request then bypasses the cache:
    // it does not revalidate the kept answer, and its own is not kept.
    let seen = Seen::default();
    let mut browser = Browser::new(noting_server(seen.clone()));
    browser.http_cache(true).open(Page::client(
        "/client.js",
        r#"const show = (name) => (r) => r.text().then((t) => console.log(name, r.status, t));
           const failed = (name) => (e) => console.log(name, e.name, e.message);
           (async () => {
             await fetch("/tagged").then(show("first")); // call 1: kept
             fetch("/tagged").then(show("held")); // call 2 revalidates, and is held 30 s
           })();
           setTimeout(() => {
             fetch("/tagged").then(show("behind the held one")); // waits, then goes at 21 s as call 3
             fetch("/tagged", { cache: "only-if-cached", mode: "same-origin" }).catch(failed("only-if-cached"));
           }, 1000);
           setTimeout(() => fetch("/tagged").then(show("later")), 40000); // call 4 revalidates call 1's"#,
    ));
    let trace = browser.run_until(60_000).to_string();
    assert_eq!(
        logs(&trace),
        [
            "50: first 200 call 1",
            "21000: only-if-cached TypeError Failed to fetch",
            "21050: behind the held one 200 call 3",
            "30100: held 200 call 1",
            "40050: later 200 call 1",
        ],
        "{trace}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        ["plain", "if-none-match: \"v1\"", "plain", "if-none-match: \"v1\""],
        "the request that timed out neither revalidated nor kept its answer\n{trace}"
    );
    assert!(trace.contains("   1000 ms  GET /tagged #3 waits in the browser"), "{trace}");
    assert!(trace.contains("  21000 ms  GET /tagged #3 leaves the browser"), "{trace}");
}

#[test]
fn session_storage_keeps_strings_for_the_tab_across_a_reload() {
    let first = r#"console.log(sessionStorage.getItem("id"), sessionStorage.length);
                   sessionStorage.setItem("id", "page-1");
                   sessionStorage.setItem("n", 41);
                   sessionStorage.setItem("gone", "x");
                   sessionStorage.removeItem("gone");
                   console.log(typeof sessionStorage.getItem("n"), sessionStorage.length, sessionStorage.key(0), sessionStorage.key(9));"#;
    let again = r#"console.log("again", sessionStorage.getItem("id"), sessionStorage.getItem("n"), sessionStorage.getItem("gone"));
                   sessionStorage.clear();
                   console.log("cleared", sessionStorage.length, sessionStorage.getItem("id"));"#;
    let mut browser = Browser::new(poll_server::app());
    browser.open(Page::client("/client.js", first));
    browser.run_until(1000);
    browser.open(Page::client("/client.js", again));
    let trace = browser.run_until(2000).to_string();
    assert_eq!(
        logs(&trace),
        ["0: null 0", "0: string 2 id null", "1000: again page-1 41 null", "1000: cleared 0 null"],
        "one tab: the reload at 1000 ms finds what the page before it kept\n{trace}"
    );
    assert!(trace.contains("   1000 ms  page loads /client.js"), "{trace}");

    // Another Browser is another tab, with a sessionStorage of its own.
    let mut other = Browser::new(poll_server::app());
    other.open(Page::client("/client.js", r#"console.log(sessionStorage.getItem("id"));"#));
    assert_eq!(logs(&other.run_until(0).to_string()), ["0: null"]);
}

#[test]
fn session_storage_throws_where_the_tab_forbids_it() {
    let trace = run_with(
        r#"try { sessionStorage.setItem("id", "x"); console.log("stored"); }
           catch (error) { console.log(error.name, error instanceof DOMException, error.message); }"#,
        0,
        |browser| {
            browser.session_storage(false);
        },
    );
    assert_eq!(
        logs(&trace),
        ["0: SecurityError true Failed to read the 'sessionStorage' property from 'Window': Access is denied for \
          this document."]
    );
}

#[test]
fn a_reload_throws_the_old_page_away_and_runs_it_again() {
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut browser = Browser::new(holding_server(dropped.clone()));
    browser.reload_at(1_000).hide(1_500..2_500).reload_at(2_000);
    browser.open(Page::client(
        "/client.js",
        r#"const load = Date.now() - 1767225600000; // the tab's clock goes on
           console.log("loaded", performance.now(), document.hidden, Math.random().toFixed(6));
           setInterval(() => console.log("tick of the page loaded at", load), 400);
           requestAnimationFrame((t) => console.log("frame at", t, "of the page loaded at", load));
           fetch("/wait").then(() => console.log("answered?"), (e) => console.log("rejected?", e.name));"#,
    ));
    let trace = browser.run_until(3_000).to_string();
    let logs = logs(&trace);
    let loads: Vec<&String> = logs.iter().filter(|line| line.contains(": loaded ")).collect();
    assert_eq!(loads.len(), 3, "{trace}");
    // A page's own clock, performance.now(), starts at 0 when it loads.
    assert!(loads[0].starts_with("0: loaded 0 false") && loads[1].starts_with("1000: loaded 0 false"), "{trace}");
    assert!(loads[2].starts_with("2000: loaded 0 true"), "the tab was hidden when it reloaded:\n{trace}");
    let draws: Vec<&str> = loads.iter().map(|line| line.rsplit(' ').next().unwrap()).collect();
    assert!(draws[0] != draws[1] && draws[1] != draws[2], "Math.random goes on, not over: {draws:?}");
    let ticks: Vec<&String> = logs.iter().filter(|line| line.contains("tick")).collect();
    assert_eq!(
        ticks,
        [
            "400: tick of the page loaded at 0",
            "800: tick of the page loaded at 0",
            "1400: tick of the page loaded at 1000",
            "3000: tick of the page loaded at 2000",
        ],
        "each page's timers end with it (a hidden tab's wait for the whole second):\n{trace}"
    );
    let frames: Vec<&String> = logs.iter().filter(|line| line.contains("frame")).collect();
    assert_eq!(
        frames,
        [
            "16: frame at 16 of the page loaded at 0",
            "1008: frame at 8 of the page loaded at 1000",
            "2512: frame at 512 of the page loaded at 2000",
        ],
        "a frame's time is the page's own clock, and a hidden tab has none:\n{trace}"
    );
    assert!(!logs.iter().any(|line| line.contains('?')), "a cancelled fetch settles nothing:\n{trace}");
    assert!(trace.contains("   1000 ms  GET /wait #1 -> aborted by the page"), "{trace}");
    assert!(trace.contains("   2000 ms  GET /wait #2 -> aborted by the page"), "{trace}");
    assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 2, "the server let go of both held requests");
}
