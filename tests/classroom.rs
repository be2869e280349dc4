//! Classroom mode in the virtual browser: learners' clients, each through
//! its own join proxy, against one class server, all on virtual clocks.
//!
//! - Every exercise's finished client works through the join path as it
//!   does against its own exercise's server. Exercise 08's stream is one
//!   request on its lane that stays open, with a tick for each message, and
//!   the instructor's modes reach it (a slow opening, a stream broken by
//!   Down and by a restart, the reconnection refused while down).
//! - A simulated room of 30 (the solutions' clients, right ones written
//!   another way, and known wrong ones): the instructor runs every mode, and
//!   the flags on the dashboard name exactly the wrong learners, each with
//!   the rule its client breaks; each mode reaches every learner's client.
//!   The virtual browser sends a request again when its connection closes
//!   unanswered, as Chromium does, so the room sees the same poll twice in
//!   Down (close connections) and at a restart, and must not flag it.
//! - No control changes anything without the key.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use classroom::control::{Control, Key, Mode};
use classroom::join::{Join, PageFile, Upstream};
use classroom::room::Tag;
use classroom::server::{ClassServer, KEY_HEADER};
use http_body_util::BodyExt;
use polling_workshop::course::Course;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;
use virtual_browser::{
    Browser, Event, Outcome, Page, VirtualClock, checks, known_clients,
};

use spec_support::redis_server;

const KEY: &str = "0123456789abcdef0123456789abcdef";

fn class_server() -> Arc<ClassServer> {
    ClassServer::seeded(
        Key::given(KEY).unwrap(),
        classroom::memory_chat(VirtualClock),
        7,
    )
    .unwrap()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One request through `app`, on a runtime of its own (not a browser's).
fn call(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    })
}

fn get(app: &Router, path: &str) -> (StatusCode, String) {
    call(app, Request::get(path).body(Body::empty()).unwrap())
}

fn control(
    server: &Arc<ClassServer>,
    key: Option<&str>,
    control: &Control,
) -> (StatusCode, String) {
    let mut request =
        Request::post("/class/control").header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header(KEY_HEADER, key);
    }
    let request =
        request.body(Body::from(serde_json::to_string(control).unwrap())).unwrap();
    call(&classroom::server::router(server.clone()), request)
}

/// A learner's join proxy for exercise `number`, serving the finished
/// exercise's files, in front of `server`.
fn join(server: &Arc<ClassServer>, name: &str, number: u32) -> Router {
    let course = Course::embedded();
    let exercise = &course.exercises[number as usize - 1];
    let files = exercise
        .page_files(root(), true)
        .into_iter()
        .map(|(path, file)| PageFile { path, file })
        .collect();
    // Each learner's proxy runs on their own laptop: its own address.
    let laptop = std::net::SocketAddr::new(laptop_of(name), 3000);
    let app =
        classroom::server::router(server.clone()).layer(axum::middleware::from_fn(
            move |mut request: axum::extract::Request,
                  next: axum::middleware::Next| {
                request.extensions_mut().insert(axum::extract::ConnectInfo(laptop));
                next.run(request)
            },
        ));
    let upstream = Upstream::Local(app);
    let tag = Tag { name: name.to_owned(), exercise: number };
    classroom::join::router(Arc::new(Join::fixed(tag, files, upstream)))
}

/// A made-up address for `name`'s laptop, one per name.
fn laptop_of(name: &str) -> std::net::IpAddr {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(name);
    std::net::IpAddr::from([10, (hash >> 16) as u8, (hash >> 8) as u8, hash as u8])
}

/// The page a joined learner's browser runs: the reporter, then the
/// client, every script as the join proxy serves it (with `swap` in place
/// of one, for a wrong client).
fn joined_page(proxy: &Router, number: u32, swap: Option<(&str, &str)>) -> Page {
    let course = Course::embedded();
    let exercise = &course.exercises[number as usize - 1];
    let (status, html) = get(proxy, "/");
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"<script type="module" src="/class/report.js"></script>"#),
        "{html}"
    );
    let mut page =
        Page::client("/", r#"import "/class/report.js"; import "/client.js";"#);
    let (status, reporter) = get(proxy, "/class/report.js");
    assert_eq!(status, StatusCode::OK);
    page = page.with_module("/class/report.js", &reporter);
    for (path, _) in &exercise.page {
        let source = match swap {
            Some((swapped, source)) if swapped == path => source.to_owned(),
            _ => {
                let (status, source) = get(proxy, path);
                assert_eq!(status, StatusCode::OK, "{path}: {source}");
                source
            }
        };
        page = page.with_module(path, &source);
    }
    if swap.is_some_and(|(path, _)| path == "/backoff.js") {
        // The known wrong backoffs take what they keep right from here.
        let (_, good) = get(proxy, "/backoff.js");
        page = page.with_module("/good-backoff.js", &good);
    }
    page
}

/// Every exercise's page, served by its join proxy, is the page its own
/// finished app serves: the same scripts at the same paths. (The class
/// chat is exercise 08's app: its page is 08's own.)
#[test]
fn the_join_proxy_serves_each_exercise_its_own_page() {
    let server = class_server();
    let apps: [(u32, Router); 8] = [
        (1, poll_endpoint::app()),
        (2, settimeout_chain::app()),
        (3, pause_when_hidden::app()),
        (4, backoff::app()),
        (5, dont_ddos_yourself::page()),
        (6, dont_ddos_yourself::page()),
        (7, long_polling::page()),
        (8, classroom::server::router(class_server())),
    ];
    for (number, app) in apps {
        let proxy = join(&server, "Ada", number);
        for path in ["/client.js", "/backoff.js", "/cursor.js"] {
            let (own, own_source) = get(&app, path);
            let (joined, joined_source) = get(&proxy, path);
            if own == StatusCode::OK {
                assert_eq!(
                    joined,
                    StatusCode::OK,
                    "exercise {number} serves {path}; its join proxy must too"
                );
                assert_eq!(
                    joined_source, own_source,
                    "exercise {number}'s {path} through the join proxy"
                );
            } else {
                assert_eq!(
                    joined,
                    StatusCode::NOT_FOUND,
                    "exercise {number} has no {path}: {joined_source}"
                );
            }
        }
    }
}

/// Each finished client, joined, polls the class chat (exercise 08's
/// streams it) and shows a message another learner posts, as against its
/// own server, with no script error.
#[test]
fn every_finished_client_works_through_the_join_path() {
    let course = Course::embedded();
    assert_eq!(course.exercises.len(), 8, "a new exercise: add its client here");
    for number in 1..=8 {
        let server = class_server();
        let proxy = join(&server, &format!("learner {number}"), number);
        let page = joined_page(&proxy, number, None);
        let mut browser = Browser::new(proxy);
        browser.post_at(5_000, "Bo", "hello, class");
        browser.open(page);
        let trace = browser.run_until(20_000).clone();
        checks::no_script_errors(&trace)
            .unwrap_or_else(|e| panic!("exercise {number}: {e}\n{trace}"));
        // One interval (3 s) plus the round trip, at most.
        checks::shows_new_message(&trace, 5_000, 3_200)
            .unwrap_or_else(|e| panic!("exercise {number}: {e}\n{trace}"));
        let polls = trace
            .spans_to("/poll")
            .into_iter()
            .filter(|p| p.method == "GET")
            .count();
        // The room saw this learner, with their exercise.
        let feed = server.room.feed(0);
        let learner = feed
            .learners
            .iter()
            .find(|l| l.name == format!("learner {number}"))
            .expect("joined");
        assert_eq!(learner.exercise, number);
        if number == 8 {
            // One stream, open the whole run: one request on the lane that
            // stays open, with a tick for the one message.
            let streams = trace.spans_to("/events");
            assert_eq!(polls, 0, "{trace}");
            assert!(streams.len() == 1 && streams[0].answered.is_none(), "{trace}");
            let drawn: Vec<_> =
                learner.requests.iter().filter(|r| !r.post).collect();
            let [stream] = &drawn[..] else { panic!("{drawn:?}\n{trace}") };
            let ticks = &stream.stream.as_ref().expect("drawn as a stream").ticks;
            assert_eq!((stream.kind, ticks.len()), ("streaming", 1), "{stream:?}");
            assert_eq!(feed.room.streams, 1);
        } else {
            assert!(polls >= 2, "exercise {number} polled {polls} times:\n{trace}");
            assert!(learner.requests.len() >= polls, "the room drew every poll");
        }
        assert!(
            learner.flags.is_empty(),
            "exercise {number}'s finished client flagged: {:?}\n{:?}\n{trace}",
            learner.flags,
            learner.requests
        );
    }
}

/// The dashboard's selector offers every exercise of the course.
#[test]
fn the_rooms_exercise_can_be_any_of_the_courses() {
    for exercise in Course::embedded().exercises {
        let n = exercise.number;
        let option = format!(r#"<option value="{n}">{n:02}</option>"#);
        assert!(
            classroom::DASHBOARD_HTML.contains(&option),
            "no {option} in dashboard.html"
        );
    }
}

/// When stream `request` opened, in the page's trace.
fn opened_at(trace: &virtual_browser::Trace, request: usize) -> Option<u64> {
    trace.events().iter().find_map(|(at, event)| match event {
        Event::StreamOpened { request: r, .. } if *r == request => Some(*at),
        _ => None,
    })
}

/// Exercise 08's page through the join path: one stream while the page is
/// seen, closed while it is hidden, and another when it is shown again
/// (which catches up on what was posted meanwhile). The room draws each as
/// one request with a tick per event, and flags nothing.
#[test]
fn a_streaming_page_is_one_open_request_with_a_tick_per_message() {
    let server = class_server();
    let name = "Ada (08)";
    let proxy = join(&server, name, 8);
    let page = joined_page(&proxy, 8, None);
    let mut browser = Browser::new(proxy);
    browser.post_at(5_000, "Bo", "one").post_at(6_000, "Bo", "two");
    browser.hide(10_000..15_000);
    browser.post_at(12_000, "Bo", "while hidden");
    browser.open(page);
    let trace = browser.run_until(20_000).clone();
    checks::no_script_errors(&trace).unwrap_or_else(|e| panic!("{e}\n{trace}"));
    let streams = trace.spans_to("/events");
    assert_eq!(streams.len(), 2, "{trace}");
    assert_eq!(streams[0].outcome, Some(Outcome::ClosedByPage), "{trace}");
    assert!(
        streams[0].answered.is_some_and(|at| at.abs_diff(10_000) <= 100),
        "{trace}"
    );
    assert!(
        streams[1].sent.abs_diff(15_000) <= 100 && streams[1].answered.is_none(),
        "{trace}"
    );
    let last_shown = trace.events().iter().rev().find_map(|(_, e)| match e {
        Event::Rendered { ids } => Some(ids.clone()),
        _ => None,
    });
    assert_eq!(last_shown, Some(vec![1, 2, 3]), "{trace}");

    let feed = server.room.feed(0);
    let ada = feed.learners.iter().find(|l| l.name == name).unwrap();
    assert!(ada.flags.is_empty(), "{:?}", ada.flags);
    assert_eq!(server.room.flags_of(name), Some(Vec::new()));
    let drawn: Vec<_> = ada.requests.iter().filter(|r| r.stream.is_some()).collect();
    let seen: Vec<(&str, u32, usize)> = drawn
        .iter()
        .map(|r| {
            let stream = r.stream.as_ref().unwrap();
            (r.kind, stream.events, stream.ticks.len())
        })
        .collect();
    assert_eq!(
        seen,
        [("aborted", 2, 2), ("streaming", 1, 1)],
        "closed by the page with its two messages; open, with the one it missed"
    );
    assert!(
        ada.requests.iter().all(|r| r.post || r.stream.is_some()),
        "nothing but streams and the messages posted: {:?}",
        ada.requests
    );
    assert_eq!(feed.room.streams, 1);
}

/// The instructor's modes on exercise 08's streams: Slow delays a
/// stream's opening; Down breaks the open streams and refuses the
/// reconnections (503, then closed connections); a restart breaks them and
/// the pages start the new chat over. No correct page is flagged, and each
/// ends with one stream open.
#[test]
fn the_instructors_modes_reach_the_streams() {
    const SLOW: std::ops::Range<u64> = 10_000..25_000;
    const HIDDEN: std::ops::Range<u64> = 11_000..12_000;
    const DOWN: std::ops::Range<u64> = 30_000..45_000;
    const CLOSED: std::ops::Range<u64> = 80_000..90_000;
    const RESTART: u64 = 110_000;
    const END: u64 = 130_000;
    let server = class_server();
    let names = ["Ada (08)", "Bo (08)", "Cy (08)"];
    let mut browsers: Vec<Browser> = names
        .iter()
        .enumerate()
        .map(|(seed, name)| {
            let proxy = join(&server, name, 8);
            let page = joined_page(&proxy, 8, None);
            let mut browser = Browser::with_seed(proxy, seed as u32 + 1);
            browser.hide(HIDDEN);
            browser.open(page);
            browser
        })
        .collect();
    let lesson = vec![
        (SLOW.start, Control::Slow { seconds: 5 }),
        (SLOW.end, Control::Normal),
        (SLOW.end + 2_000, Control::Post { text: "after slow".to_owned() }),
        (DOWN.start, Control::Down { close: false }),
        (DOWN.end, Control::Normal),
        (CLOSED.start, Control::Down { close: true }),
        (CLOSED.end, Control::Normal),
        (RESTART, Control::Restart),
        (RESTART + 3_000, Control::Post { text: "after the restart".to_owned() }),
    ];
    play(&server, &mut browsers, lesson, END, |now| {
        for name in names {
            let flags = server.room.flags_of(name).expect("in the room");
            assert!(flags.is_empty(), "{name} at {now} ms: {flags:?}");
        }
    });
    for (name, browser) in names.iter().zip(&browsers) {
        let trace = browser.trace();
        checks::no_script_errors(trace).unwrap_or_else(|e| panic!("{name}: {e}"));
        let streams = trace.spans_to("/events");
        let answered_in =
            |window: std::ops::Range<u64>, what: &dyn Fn(&Outcome) -> bool| {
                streams.iter().any(|s| {
                    s.answered.is_some_and(|at| window.contains(&at))
                        && s.outcome.as_ref().is_some_and(what)
                })
            };
        let broken = |o: &Outcome| *o == Outcome::NetworkError;
        let refused = |o: &Outcome| matches!(o, Outcome::Status { code: 503, .. });
        // Shown again in slow mode: its stream opened 5 s after it asked.
        let slowed =
            streams.iter().find(|s| HIDDEN.end <= s.sent && s.sent < SLOW.end);
        let slowed = slowed.unwrap_or_else(|| {
            panic!("{name}: no stream asked for in slow mode\n{trace}")
        });
        let opened = opened_at(trace, slowed.request).expect("it opened");
        assert!(
            opened >= slowed.sent + 5_000,
            "{name}: opened at {opened} ms\n{trace}"
        );
        // (within a step of the room's clocks, which move 100 ms at a time)
        let near = |at: u64| at - 200..at + 200;
        assert!(
            answered_in(near(DOWN.start), &broken),
            "{name}: down did not break it\n{trace}"
        );
        assert!(
            answered_in(DOWN, &refused),
            "{name}: its reconnection was not refused\n{trace}"
        );
        assert!(
            answered_in(near(CLOSED.start), &broken),
            "{name}: down (closed) did not break it\n{trace}"
        );
        assert!(
            streams
                .iter()
                .filter(|s| CLOSED.contains(&s.sent))
                .all(|s| s.outcome == Some(Outcome::NetworkError)),
            "{name}: a stream opened while connections were closed\n{trace}"
        );
        assert!(
            answered_in(near(RESTART), &broken),
            "{name}: the restart did not break it\n{trace}"
        );
        assert!(
            streams.last().is_some_and(|s| s.answered.is_none()),
            "{name}: not streaming at the end\n{trace}"
        );
        // After the restart, the chat is new: the instructor's one message.
        let last_shown = trace.events().iter().rev().find_map(|(_, e)| match e {
            Event::Rendered { ids } => Some(ids.clone()),
            _ => None,
        });
        assert_eq!(
            last_shown,
            Some(vec![1]),
            "{name}: the restart and the post did not reach it\n{trace}"
        );
    }
    // The room: each learner's one stream open, with the reset and the post.
    let feed = server.room.feed(0);
    assert_eq!(feed.room.streams, names.len());
    for learner in &feed.learners {
        let open: Vec<_> =
            learner.requests.iter().filter(|r| r.kind == "streaming").collect();
        let [open] = &open[..] else {
            panic!("{}: {:?}", learner.name, learner.requests)
        };
        assert!(
            open.stream.as_ref().unwrap().events >= 2,
            "{}: {open:?}",
            learner.name
        );
        let broken = learner
            .requests
            .iter()
            .filter(|r| r.stream.is_some() && r.kind == "error");
        assert!(
            broken.count() >= 1,
            "{}: the restart's broken stream: {:?}",
            learner.name,
            learner.requests
        );
    }
}

/// A route that drops for 8 s, or a `join` that is stopped and started
/// again, loses the requests sent meanwhile, and with them the reports of
/// the polls before (a poll's answer is reported on the next request). The
/// reporter sends them again with the next request that goes through, so no
/// correct client is flagged, and a wrong one still is.
#[test]
fn a_dropped_route_flags_no_correct_client() {
    use classroom::rules::TWO_AT_ONCE;
    let learners: [(&str, u32, Option<&'static str>); 6] = [
        ("Ann (02)", 2, None),
        ("Bob (03)", 3, None),
        ("Cat (04)", 4, None),
        ("Dan (05)", 5, None),
        ("Eve (07)", 7, None),
        ("Fox (02, setInterval)", 2, Some(known_clients::SET_INTERVAL)),
    ];
    let server = class_server();
    for (name, number, client) in learners {
        let proxy = join(&server, name, number);
        let page = joined_page(&proxy, number, client.map(|c| ("/client.js", c)));
        let mut browser = Browser::with_seed(proxy, number);
        // Slower than the 3 s interval: what setInterval gets wrong shows.
        browser.latency(virtual_browser::Latency::Fixed(4_000));
        browser.fail(20_000..28_000, virtual_browser::Failure::NetworkError);
        // Another learner posts in the drop: a held long poll comes back,
        // and the next one is lost too.
        browser.post_at(21_000, "Bo", "while the route is down");
        browser.open(page);
        browser.run_until(90_000);
        let lost = browser
            .trace()
            .spans_to("/poll")
            .into_iter()
            .filter(|s| s.outcome == Some(Outcome::NetworkError))
            .count();
        assert!(
            lost > 0,
            "{name}: no request was lost in the drop:\n{}",
            browser.trace()
        );
        let rules: Vec<&str> =
            server.room.flags_of(name).unwrap().iter().map(|f| f.rule).collect();
        match client {
            None => assert!(
                rules.is_empty(),
                "{name}, a correct client, was flagged {rules:?}:\n{}",
                browser.trace()
            ),
            Some(_) => assert!(rules.contains(&TWO_AT_ONCE.0), "{name}: {rules:?}"),
        }
    }
}

/// Moment 3 on held requests: everyone on exercise 07, a few with a
/// backoff that waits exactly what `Retry-After` says (`join
/// --exact-retry-after`). Down (503, the same `Retry-After` for everyone)
/// answers every held request in the same instant: the exact waiters come
/// back together, the course's backoff spreads the rest.
#[test]
fn moment_3_shows_the_exact_waiters_in_lockstep() {
    let server = class_server();
    let exact = Some(("/backoff.js", known_clients::BACKOFF_EXACT_RETRY_AFTER));
    let room: Vec<(String, Option<(&str, &str)>)> = (0..6)
        .map(|n| {
            if n < 2 {
                (format!("exact {n}"), exact)
            } else {
                (format!("right {n}"), None)
            }
        })
        .collect();
    let mut browsers: Vec<Browser> = room
        .iter()
        .enumerate()
        .map(|(seed, (name, swap))| {
            let proxy = join(&server, name, 7);
            let page = joined_page(&proxy, 7, *swap);
            let mut browser = Browser::with_seed(proxy, seed as u32 + 11);
            browser.open(page);
            browser
        })
        .collect();
    let (down, back) = (10_000, 40_000);
    let mut now = 0;
    while now < 60_000 {
        now += 100;
        for (at, step) in
            [(down, Control::Down { close: false }), (back, Control::Normal)]
        {
            if now == at {
                let (status, said) = control(&server, Some(KEY), &step);
                assert_eq!(status, StatusCode::OK, "{said}");
            }
        }
        for browser in &mut browsers {
            browser.run_until(now);
        }
    }
    // When each page polled again after the 503 that ended its hold.
    let retry_of = |browser: &Browser| -> u64 {
        let spans = browser.trace().spans_to("/poll");
        let told = spans
            .iter()
            .position(|s| {
                matches!(s.outcome, Some(Outcome::Status { code: 503, .. }))
            })
            .expect("the 503 reached the held request");
        assert!(
            spans[told]
                .answered
                .is_some_and(|at| (down - 200..down + 200).contains(&at)),
            "held until down: {:?}",
            spans[told]
        );
        spans[told + 1].sent
    };
    let retries: Vec<u64> = browsers.iter().map(retry_of).collect();
    let (exact, right) = retries.split_at(2);
    assert!(
        exact[0].abs_diff(exact[1]) <= 100,
        "the exact waiters came back together: {exact:?}"
    );
    assert!(
        exact.iter().all(|at| at.abs_diff(down + 10_000) <= 200),
        "after exactly 10 s: {exact:?}"
    );
    let spread = right.iter().max().unwrap() - right.iter().min().unwrap();
    assert!(spread >= 1_000, "the course's backoff spreads its retries: {right:?}");
    assert!(
        right.iter().all(|at| (down + 10_000..=down + 15_200).contains(at)),
        "{right:?}"
    );
}

/// One learner of the simulated room: their exercise, and the client they
/// wrote (a finished one, or one wrong in a known way).
struct Learner {
    name: &'static str,
    exercise: u32,
    /// A script in place of the finished one: (its path, its source).
    swap: Option<(&'static str, &'static str)>,
    /// The rule the dashboard must flag, for a wrong client.
    wrong: Option<&'static str>,
}

const fn right(name: &'static str, exercise: u32) -> Learner {
    Learner { name, exercise, swap: None, wrong: None }
}

const fn alternative(
    name: &'static str,
    exercise: u32,
    path: &'static str,
    source: &'static str,
) -> Learner {
    Learner { name, exercise, swap: Some((path, source)), wrong: None }
}

const fn wrong(
    name: &'static str,
    exercise: u32,
    path: &'static str,
    source: &'static str,
    rule: &'static str,
) -> Learner {
    Learner { name, exercise, swap: Some((path, source)), wrong: Some(rule) }
}

fn the_room() -> Vec<Learner> {
    use classroom::rules::{RETRY_AFTER, TOO_SOON, TWO_AT_ONCE, WHILE_HIDDEN};
    vec![
        right("Ada (01)", 1),
        right("Ben (01)", 1),
        right("Cai (02)", 2),
        right("Dee (02)", 2),
        right("Eli (03)", 3),
        right("Fay (03)", 3),
        right("Gus (04)", 4),
        right("Hal (04)", 4),
        right("Ida (04)", 4),
        right("Jo (05)", 5),
        right("Kim (05)", 5),
        right("Lou (05)", 5),
        right("Mo (06)", 6),
        right("Nia (06)", 6),
        right("Oz (07)", 7),
        right("Pat (07)", 7),
        right("Quin (07)", 7),
        right("Ray (07)", 7),
        right("<img src=x onerror=alert(1)>", 7),
        alternative(
            "Sam (02, a sleep loop)",
            2,
            "/client.js",
            known_clients::SLEEP_LOOP,
        ),
        alternative(
            "Tai (03, Page Visibility)",
            3,
            "/client.js",
            known_clients::VISIBILITY,
        ),
        alternative(
            "Uma (04, another backoff)",
            4,
            "/backoff.js",
            known_clients::BACKOFF_ALTERNATIVE,
        ),
        alternative(
            "Val (05, another cursor)",
            5,
            "/cursor.js",
            known_clients::EX05_CURSOR_ANOTHER_WAY,
        ),
        wrong(
            "Wes (02)",
            2,
            "/client.js",
            known_clients::SET_INTERVAL,
            TWO_AT_ONCE.0,
        ),
        wrong(
            "Xia (03)",
            3,
            "/client.js",
            known_clients::RAF_WITHOUT_AWAIT,
            TWO_AT_ONCE.0,
        ),
        wrong(
            "Yan (03)",
            3,
            "/client.js",
            known_clients::IGNORES_HIDDEN,
            WHILE_HIDDEN.0,
        ),
        wrong(
            "Zed (03)",
            3,
            "/client.js",
            known_clients::VISIBILITY_KEEPS_ITS_TIMER,
            WHILE_HIDDEN.0,
        ),
        wrong(
            "Abe (04)",
            4,
            "/backoff.js",
            known_clients::BACKOFF_IMMEDIATE_FOREVER,
            TOO_SOON.0,
        ),
        wrong(
            "Bea (04)",
            4,
            "/backoff.js",
            known_clients::BACKOFF_IGNORES_RETRY_AFTER,
            RETRY_AFTER.0,
        ),
        wrong("Cy (05)", 5, "/client.js", ex05_ignores_retry_after(), RETRY_AFTER.0),
    ]
}

/// Exercise 05's client with one change, as its wrong solutions derive it:
/// a 429 is a failure like any other, and its Retry-After is ignored.
fn ex05_ignores_retry_after() -> &'static str {
    spec_support::replaced(
        dont_ddos_yourself::CLIENT_JS,
        "const wait = asks ? retryAfterMs(response.headers.get(\"retry-after\")) : 0;",
        "const wait = 0;",
    )
}

/// The phases of the simulated class (ms): each fault, then long enough
/// back to normal (more than the backoff's 30 s cap) for every client to
/// have recovered before the next.
const SLOW: std::ops::Range<u64> = 10_000..25_000;
const HIDDEN: std::ops::Range<u64> = 30_000..45_000;
const DOWN: std::ops::Range<u64> = 50_000..65_000;
const CLOSED: std::ops::Range<u64> = 100_000..115_000;
const FLAKY: std::ops::Range<u64> = 150_000..170_000;
const TIGHT: std::ops::Range<u64> = 205_000..220_000;
const RESTART: u64 = 255_000;
const END: u64 = 270_000;

/// A phase, and the answers that came just after it ended.
fn until(window: std::ops::Range<u64>) -> std::ops::Range<u64> {
    window.start..window.end + 500
}

/// When the instructor does what.
fn the_lesson() -> Vec<(u64, Control)> {
    vec![
        (SLOW.start, Control::Slow { seconds: 5 }),
        // A post wakes the held long polls, so their next one is slowed too.
        (SLOW.start + 1_000, Control::Post { text: "is it slow?".to_owned() }),
        (SLOW.end, Control::Normal),
        (DOWN.start, Control::Down { close: false }),
        (DOWN.end, Control::Normal),
        (CLOSED.start, Control::Down { close: true }),
        (CLOSED.end, Control::Normal),
        (FLAKY.start, Control::Flaky { percent: 75 }),
        (FLAKY.start + 1_000, Control::Post { text: "is it flaky?".to_owned() }),
        (FLAKY.start + 5_000, Control::Post { text: "and now?".to_owned() }),
        (FLAKY.start + 9_000, Control::Post { text: "and now?".to_owned() }),
        (FLAKY.end, Control::Normal),
        (TIGHT.start, Control::Tight),
        // Posts wake the held long polls, which then poll again at once.
        (
            TIGHT.start + 2_000,
            Control::Post { text: "wake the held polls".to_owned() },
        ),
        (TIGHT.start + 5_000, Control::Post { text: "and again".to_owned() }),
        (TIGHT.start + 8_000, Control::Post { text: "and again".to_owned() }),
        (TIGHT.end, Control::Normal),
        (RESTART, Control::Restart),
        (RESTART + 3_000, Control::Post { text: "after the restart".to_owned() }),
    ]
}

/// Play `lesson` to the room: every browser runs on a clock of its own, so
/// move them on together, 100 ms at a time, until `end`, and press each
/// control when every clock has reached its moment; `every_5_s` looks at
/// the room every 5 s.
fn play(
    server: &Arc<ClassServer>,
    browsers: &mut [Browser],
    lesson: Vec<(u64, Control)>,
    end: u64,
    mut every_5_s: impl FnMut(u64),
) {
    let mut lesson = lesson.into_iter().peekable();
    let mut now = 0;
    while now < end {
        now += 100;
        while let Some((at, _)) = lesson.peek()
            && *at <= now
        {
            let (_, step) = lesson.next().unwrap();
            let (status, said) = control(server, Some(KEY), &step);
            assert_eq!(status, StatusCode::OK, "{step:?}: {said}");
        }
        for browser in browsers.iter_mut() {
            browser.run_until(now);
        }
        if now % 5_000 == 0 {
            every_5_s(now);
        }
    }
}

#[test]
fn a_simulated_room_of_30() {
    let room = the_room();
    assert_eq!(room.len(), 30);
    let server = class_server();
    let mut browsers: Vec<Browser> = room
        .iter()
        .enumerate()
        .map(|(seed, learner)| {
            let proxy = join(&server, learner.name, learner.exercise);
            let page = joined_page(&proxy, learner.exercise, learner.swap);
            let mut browser = Browser::with_seed(proxy, seed as u32 + 1);
            browser.hide(HIDDEN.clone());
            browser.open(page);
            browser
        })
        .collect();
    let mut flagged = vec![Vec::new(); room.len()];
    // What the dashboard showed, every 5 s: a flag lasts two minutes after
    // what raised it.
    play(&server, &mut browsers, the_lesson(), END, |_| {
        for (learner, shown) in room.iter().zip(&mut flagged) {
            let flags = server.room.flags_of(learner.name).unwrap_or_else(|| {
                panic!(
                    "{} is not in the room: {:?}",
                    learner.name,
                    server.room.names()
                )
            });
            for flag in flags {
                if !shown
                    .iter()
                    .any(|f: &classroom::rules::Flag| f.rule == flag.rule)
                {
                    shown.push(flag);
                }
            }
        }
    });

    // The flags name exactly the wrong learners, each with its rule.
    for ((learner, browser), flags) in room.iter().zip(&browsers).zip(&flagged) {
        let rules: Vec<&str> = flags.iter().map(|f| f.rule).collect();
        match learner.wrong {
            None => {
                assert!(
                    rules.is_empty(),
                    "{} was flagged: {flags:#?}\n{}",
                    learner.name,
                    browser.trace()
                );
                checks::no_script_errors(browser.trace())
                    .unwrap_or_else(|e| panic!("{}: {e}", learner.name));
            }
            Some(rule) => assert!(
                rules.contains(&rule),
                "{} was not flagged {rule:?}: {rules:?}",
                learner.name
            ),
        }
    }

    // Each mode reached every learner's client.
    for (learner, browser) in room.iter().zip(&browsers) {
        let spans: Vec<_> = browser.trace().spans_to("/poll");
        let answered_in =
            |window: std::ops::Range<u64>, what: &dyn Fn(&Outcome) -> bool| {
                spans.iter().any(|s| {
                    s.answered.is_some_and(|at| window.contains(&at))
                        && s.outcome.as_ref().is_some_and(what)
                })
            };
        let code = |wanted: u16| move |o: &Outcome| matches!(o, Outcome::Status { code, .. } if *code == wanted);
        let name = learner.name;
        let slow = spans.iter().any(|s| {
            SLOW.contains(&s.sent)
                && s.answered.is_some_and(|at| at >= s.sent + 5_000)
        });
        assert!(slow, "{name}: no answer took the slow mode's 5 s");
        assert!(
            answered_in(until(DOWN), &code(503)),
            "{name}: down (503) did not reach it"
        );
        let closed = |o: &Outcome| *o == Outcome::NetworkError;
        assert!(
            answered_in(until(CLOSED), &closed),
            "{name}: down (closed) did not reach it"
        );
        assert!(
            answered_in(until(FLAKY), &code(500)),
            "{name}: flaky did not reach it"
        );
        if learner.exercise == 7 {
            // Held when the restart came: its connection closed unanswered,
            // so the browser sent it again, on a new connection, and the new
            // chat answered at once (a new epoch). The page saw no failure.
            // (within one step of the room's clocks, which move 100 ms at a time)
            let at_restart = RESTART - 100..RESTART + 100;
            assert!(
                answered_in(at_restart.clone(), &code(200))
                    && !answered_in(at_restart, &closed),
                "{name}: the restart's broken hold was not sent again and answered"
            );
        }
        // After the restart, the chat is new: the instructor's one message.
        let last_shown = browser.trace().events().iter().rev().find_map(|(_, e)| {
            if let Event::Rendered { ids } = e { Some(ids.clone()) } else { None }
        });
        assert_eq!(
            last_shown,
            Some(vec![1]),
            "{name}: the restart and the post did not reach it"
        );
    }
    // Tight: every learner polls more often than once per 5 s (the posts
    // wake the long polls), so every one was refused at least once.
    let tight = room.iter().zip(&browsers).filter(|(_, browser)| {
        browser.trace().spans_to("/poll").iter().any(|s| {
            s.answered.is_some_and(|at| until(TIGHT).contains(&at))
                && matches!(s.outcome, Some(Outcome::Status { code: 429, .. }))
        })
    });
    let tight: Vec<&str> = tight.map(|(l, _)| l.name).collect();
    let missed: Vec<&str> =
        room.iter().map(|l| l.name).filter(|n| !tight.contains(n)).collect();
    assert!(missed.is_empty(), "the tight limit did not reach {missed:?}");

    // The room line and the markers.
    let feed = server.room.feed(0);
    assert_eq!(feed.learners.len(), 30);
    assert_eq!(feed.room.joined, 30);
    let markers: Vec<&str> = feed.markers.iter().map(|m| m.text.as_str()).collect();
    assert!(markers.iter().any(|m| m.starts_with("restarted")), "{markers:?}");
    assert_eq!(server.settings().mode, Mode::Normal);
}

#[test]
fn no_control_changes_anything_without_the_key() {
    let server = class_server();
    let controls = [
        Control::Slow { seconds: 3 },
        Control::Down { close: true },
        Control::Flaky { percent: 10 },
        Control::Tight,
        Control::Restart,
        Control::RetryAfter { spread: true },
        Control::Post { text: "not the instructor".to_owned() },
        Control::Exercise { number: 4 },
        Control::ClearFlags,
        Control::ClearSignal { name: "Ada".to_owned() },
        Control::Remove { name: "Ada".to_owned() },
    ];
    let wrong = "0123456789abcdef0123456789abcdeX";
    for control_ in &controls {
        for key in [None, Some(""), Some(wrong), Some(&KEY[..31])] {
            let (status, body) = control(&server, key, control_);
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{control_:?} with {key:?}: {body}"
            );
            assert!(body.contains("\"error\""), "{body}");
        }
    }
    assert_eq!(server.settings(), Default::default());
    let feed = server.room.feed(0);
    assert!(feed.markers.is_empty(), "{:?}", feed.markers);
    assert_eq!(feed.room.exercise, None, "the room's exercise was not set");
    let (_, chat) = get(&classroom::server::router(server.clone()), "/poll");
    assert!(chat.contains(r#""msg":[]"#), "nothing was posted: {chat}");
    // With the key, it does.
    let (status, _) = control(&server, Some(KEY), &Control::Tight);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.settings().mode, Mode::Tight);
}

/// A class server on Redis (`cargo run -- classroom --redis URL`): a
/// restart makes a new connection, and the chat survives it.
#[test]
fn on_redis_the_chat_survives_a_restart() {
    let Some(redis) = redis_server::RedisServer::start("classroom") else { return };
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = ClassServer::on_redis(
            Key::given(KEY).unwrap(),
            classroom::redis_chat(redis.url()),
        )
        .unwrap();
        let said =
            server.control(Control::Post { text: "kept in Redis".to_owned() }).await;
        assert_eq!(said.as_deref(), Ok("posted"));
        let app = classroom::server::router(server.clone());
        let read = || async {
            let response = app
                .clone()
                .oneshot(Request::get("/poll").body(Body::empty()).unwrap())
                .await
                .unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8_lossy(&body).into_owned()
        };
        let before = read().await;
        assert!(before.contains("kept in Redis"), "{before}");
        // A stream on Redis: what is stored first, then each post as it is
        // made; the restart breaks it off.
        let events =
            Request::get("/events?client=page-1").body(Body::empty()).unwrap();
        let mut stream = app.clone().oneshot(events).await.unwrap().into_body();
        let mut text = String::new();
        let mut read_until = async |wanted: &str| {
            while !text.contains(wanted) {
                match stream.frame().await {
                    Some(Ok(frame)) => {
                        let data = frame.into_data().unwrap_or_default();
                        text.push_str(&String::from_utf8_lossy(&data));
                    }
                    Some(Err(_)) => return Err(text.clone()),
                    None => return Ok(false),
                }
            }
            Ok(true)
        };
        assert_eq!(read_until("kept in Redis").await, Ok(true));
        let said =
            server.control(Control::Post { text: "streamed".to_owned() }).await;
        assert_eq!(said.as_deref(), Ok("posted"));
        assert_eq!(read_until("streamed").await, Ok(true));
        let said = server.control(Control::Restart).await.unwrap();
        assert!(said.contains("the same messages, the same epoch"), "{said}");
        assert!(
            read_until("never written").await.is_err(),
            "the restart broke the stream"
        );
        let after = read().await;
        assert!(
            after.contains("kept in Redis"),
            "the restart lost the chat: {after}"
        );
        let epoch = |text: &str| {
            serde_json::from_str::<serde_json::Value>(text).unwrap()["epoch"].clone()
        };
        assert_eq!(
            epoch(&before),
            epoch(&after),
            "the same chat, so the same epoch"
        );
    });
}
