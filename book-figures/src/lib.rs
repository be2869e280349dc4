//! The book's figures, drawn from real runs: each is a client from the
//! course (a starter as shipped, or a solution) in the virtual browser,
//! against exercise 01's finished server, in a fixed scenario.
//!
//! `cargo run -p book-figures` writes them to `book/src/figures/`, and a
//! test fails when a committed figure is not what the code draws now.

use polling_workshop::course::Course;
use std::ops::Range;
use std::sync::Arc;
use virtual_browser::{Browser, Failure, Latency, Outcome, Page, VirtualClock, known_clients};

pub mod fleet;
pub mod svg;

use fleet::{Fleet, FleetRun, simulate};

/// One figure (an SVG, or a generated Markdown table that a chapter
/// includes): where it goes in `book/src/figures/`, and how to draw it.
pub struct Figure {
    pub file: &'static str,
    /// The slug of the exercise whose *starter* it draws, if any: such a
    /// figure is only checked while that starter is as shipped.
    pub from_starter: Option<&'static str>,
    pub draw: fn() -> String,
}

/// A client in a scene, from 0 to `end` ms, drawn under `title`.
fn draw(client: &str, title: &str, end: u64, scene: impl FnOnce(&mut Browser)) -> String {
    let mut browser = Browser::new(poll_endpoint::app());
    scene(&mut browser);
    browser.open(Page::client("/client.js", client));
    svg::timeline(browser.run_until(end), title, end)
}

fn slow_server(browser: &mut Browser) {
    browser.latency(Latency::Fixed(5000)).post_at(9_000, "grace", "anyone there?");
}

fn hidden_for_a_while(browser: &mut Browser) {
    browser.latency(Latency::Fixed(300)).hide(7_000..22_000);
}

/// The fleet of chapter 04: 1,000 readers, the server down from 10 s to 40 s.
pub const FLEET_CLIENTS: usize = 1000;

fn fleet(spread: u64) -> Fleet {
    Fleet {
        clients: FLEET_CLIENTS,
        spread,
        outage: 10_000..40_000,
        failure: Failure::NetworkError,
        latency: 50,
        end: 120_000,
        first_seed: 1,
    }
}

/// Exercise 04's backoff in the fleet page, with `random` as its source of
/// randomness.
fn fleet_page(random: &str) -> Page {
    fleet_page_with(backoff::BACKOFF_JS, random)
}

/// The fleet page with `backoff` as its `/backoff.js` (which may take what
/// it gets right from exercise 04's, served as `/good-backoff.js`).
fn fleet_page_with(backoff: &str, random: &str) -> Page {
    Page::client("/client.js", include_str!("fleet-client.js"))
        .with_module("/backoff.js", backoff)
        .with_module("/good-backoff.js", backoff::BACKOFF_JS)
        .with_module("/fleet-random.js", &format!("export const random = {random};"))
}

/// The fixed schedule and the jittered one, for readers who opened the page
/// within `spread` ms of each other.
fn fleet_runs(spread: u64) -> (FleetRun, FleetRun) {
    let app = poll_endpoint::app();
    let fixed = simulate(&fleet(spread), &app, &fleet_page("() => 1 - Number.EPSILON"));
    let jittered = simulate(&fleet(spread), &app, &fleet_page("Math.random"));
    (fixed, jittered)
}

/// Chapter 04's second outage: 10 s of `503` with `Retry-After: 5`, the
/// same answer to every client, as exercise 06's server gives while Redis
/// restarts. Short enough that the Retry-After, not the schedule, decides
/// when the fleet is back: after the first two failures in a row (0, then
/// 1.5 to 3 s) 5 s is the longer wait; from the third on, the schedule's.
pub const RETRY_AFTER_OUTAGE: Range<u64> = 10_000..20_000;

fn retry_after_fleet(spread: u64) -> Fleet {
    Fleet { outage: RETRY_AFTER_OUTAGE, failure: Failure::RetryAfter { status: 503, seconds: 5 }, ..fleet(spread) }
}

/// Through the 503 outage, both jittered: before, the backoff waits a
/// Retry-After longer than its jittered wait exactly, `max(jittered,
/// retryAfterMs)` (exercise 04's rule before the spread, kept as the spec's
/// known wrong `backoff-exact-retry-after.js`); after, exercise 04's, which
/// adds up to half of it again, at random.
fn retry_after_runs(spread: u64) -> (FleetRun, FleetRun) {
    let app = poll_endpoint::app();
    let exact = fleet_page_with(known_clients::BACKOFF_EXACT_RETRY_AFTER, "Math.random");
    let before = simulate(&retry_after_fleet(spread), &app, &exact);
    let after = simulate(&retry_after_fleet(spread), &app, &fleet_page("Math.random"));
    (before, after)
}

/// The 503 fleets, run once however many figures use them.
fn retry_after_fleets() -> &'static [(FleetRun, FleetRun); 2] {
    static RUNS: std::sync::OnceLock<[(FleetRun, FleetRun); 2]> = std::sync::OnceLock::new();
    RUNS.get_or_init(|| [retry_after_runs(200), retry_after_runs(3000)])
}

/// Chapter 04's four fleets, run once however many figures use them:
/// readers who opened the page within 0.2 s, and over 3 s.
fn fleets() -> &'static [(FleetRun, FleetRun); 2] {
    static RUNS: std::sync::OnceLock<[(FleetRun, FleetRun); 2]> = std::sync::OnceLock::new();
    RUNS.get_or_init(|| [fleet_runs(200), fleet_runs(3000)])
}

/// The numbers of chapter 04's tables, as Markdown; the server was back at
/// `back_at` ms.
fn fleet_table(rows: &[(&str, &str, &FleetRun)], back_at: u64) -> String {
    let mut table = String::from(
        "| Readers open the page | Schedule | Busiest second | Average | Busiest ÷ average, whole run | \
         Busiest ÷ average, last 30 s | Last reader back |\n|---|---|---|---|---|---|---|\n",
    );
    for (opened, schedule, run) in rows {
        let back = run.everyone_back_at().map_or("not within the run".to_owned(), |at| {
            format!("{:.1} s after the server", (at - back_at) as f64 / 1000.0)
        });
        table.push_str(&format!(
            "| {opened} | {schedule} | {} req/s | {:.0} req/s | {:.2} | {:.2} | {back} |\n",
            run.peak(0..120),
            run.mean(0..120),
            run.peak_to_mean(0..120),
            run.peak_to_mean(90..120),
        ));
    }
    table
}

fn fleet_plot() -> String {
    let [(fixed, jittered), _] = fleets();
    svg::rates(
        "1,000 readers who opened the chat within 0.2 s, through an outage",
        &[
            ("fixed schedule (at once, 3 s, 10 s, 30 s)", "#d93025", &fixed.per_second),
            ("the same schedule with equal jitter", "#2f6fdf", &jittered.per_second),
        ],
        10_000..40_000,
    )
}

fn fleet_numbers() -> String {
    let [(fixed, jittered), (fixed_spread, jittered_spread)] = fleets();
    fleet_table(
        &[
            ("within 0.2 s", "fixed", fixed),
            ("within 0.2 s", "jittered", jittered),
            ("over 3 s", "fixed", fixed_spread),
            ("over 3 s", "jittered", jittered_spread),
        ],
        fleet(0).outage.end,
    )
}

fn retry_after_plot() -> String {
    let [(before, after), _] = retry_after_fleets();
    svg::rates(
        "1,000 readers in step, through 10 s of 503s that all say Retry-After: 5",
        &[
            ("jittered, a longer Retry-After waited exactly", "#d93025", &before.per_second),
            ("jittered, a longer Retry-After plus up to half of it, at random", "#2f6fdf", &after.per_second),
        ],
        RETRY_AFTER_OUTAGE,
    )
}

fn retry_after_numbers() -> String {
    let [(before, after), (before_spread, after_spread)] = retry_after_fleets();
    fleet_table(
        &[
            ("within 0.2 s", "Retry-After waited exactly", before),
            ("within 0.2 s", "Retry-After spread", after),
            ("over 3 s", "Retry-After waited exactly", before_spread),
            ("over 3 s", "Retry-After spread", after_spread),
        ],
        RETRY_AFTER_OUTAGE.end,
    )
}

/// One idle reader's cost for ten minutes: the chat holds 50 messages and
/// nobody posts. `page` is the client; `scene` adds what else happens.
fn idle_cost(app: axum::Router, page: Page, scene: impl FnOnce(&mut Browser)) -> (f64, f64) {
    const MINUTES: u64 = 10;
    let mut browser = Browser::new(app);
    browser.latency(Latency::Fixed(50));
    for n in 0..50 {
        browser.post_at(0, &format!("reader {n}"), "a message from earlier, as long as most chat lines are");
    }
    scene(&mut browser);
    browser.open(page);
    let spans = browser.run_until(MINUTES * 60_000).spans();
    let requests = spans.len() as f64 / MINUTES as f64;
    let bytes: usize = spans
        .iter()
        .filter_map(|s| match &s.outcome {
            Some(Outcome::Status { bytes, .. }) => Some(*bytes),
            _ => None,
        })
        .sum();
    (requests, bytes as f64 / MINUTES as f64)
}

/// Exercise 05's client with its modules.
fn ex05_page() -> Page {
    Page::client("/client.js", dont_ddos_yourself::CLIENT_JS)
        .with_module("/cursor.js", dont_ddos_yourself::CURSOR_JS)
        .with_module("/backoff.js", dont_ddos_yourself::BACKOFF_JS)
}

/// Exercise 05's app, its rate limit on the virtual clock.
fn ex05_app() -> axum::Router {
    let store = Arc::new(dont_ddos_yourself::store::CachedStore::with_epoch(50, 1));
    dont_ddos_yourself::app_with(store, VirtualClock)
}

fn idle_client_table() -> String {
    let client = |source: &str| Page::client("/client.js", source);
    let backoff = backoff::BACKOFF_JS;
    let rows: Vec<(&str, (f64, f64))> = vec![
        (
            "`setInterval` every 3 s (exercise 01's client)",
            idle_cost(poll_endpoint::app(), client(poll_endpoint::CLIENT_JS), |_| {}),
        ),
        (
            "`setTimeout` 3 s after each answer (02)",
            idle_cost(poll_endpoint::app(), client(settimeout_chain::CLIENT_JS), |_| {}),
        ),
        (
            "the same, paused while the page is hidden (03), hidden after 1 s",
            idle_cost(poll_endpoint::app(), client(pause_when_hidden::CLIENT_JS), |b| {
                b.hide(1_000..600_000);
            }),
        ),
        (
            "backing off while the server is down (04), down after 1 s",
            idle_cost(poll_endpoint::app(), client(backoff::CLIENT_JS).with_module("/backoff.js", backoff), |b| {
                b.fail(1_000..600_000, Failure::NetworkError);
            }),
        ),
        ("a `since` cursor (05)", idle_cost(ex05_app(), ex05_page(), |_| {})),
        (
            "a `since` cursor, with a browser cache turning them into 304s (05)",
            idle_cost(ex05_app(), ex05_page(), |b| {
                b.http_cache(true);
            }),
        ),
    ];
    let mut table = String::from(
        "| One idle reader's client | Requests per minute | Bytes of answers per minute |\n|---|---|---|\n",
    );
    for (name, (requests, bytes)) in rows {
        table.push_str(&format!("| {name} | {requests:.1} | {:.0} |\n", bytes));
    }
    table
}

/// Chapter 07's comparison: how long each reader runs, and when others post
/// (after 10 messages of history). The first minute after the page settles
/// is the idle window.
const COMPARISON_END: u64 = 120_000;
const COMPARISON_IDLE: std::ops::Range<u64> = 10_000..70_000;
const COMPARISON_HISTORY: u64 = 10;
const COMPARISON_POSTS: [u64; 4] = [70_300, 81_700, 93_900, 106_100];
const COMPARISON_LATENCY: u64 = 50;

/// What one reader did in the comparison: requests and bytes of answers in
/// the idle window, and for each post, how long until the page showed it.
struct Reading {
    idle_requests: usize,
    idle_bytes: usize,
    delays: Vec<u64>,
}

/// One reader, with `seed` for its randomness and the moment it opens the
/// page (0 to 3 s), against a server of its own.
fn read_chat(app: axum::Router, page: &Page, seed: u32) -> Reading {
    let opens_at = u64::from(seed.wrapping_mul(2_654_435_761)) % 3_000;
    let mut browser = Browser::with_seed(app, seed);
    browser.latency(Latency::Fixed(COMPARISON_LATENCY));
    for n in 0..COMPARISON_HISTORY {
        browser.post_at(0, &format!("reader {n}"), "a message from earlier, as long as most chat lines are");
    }
    for at in COMPARISON_POSTS {
        browser.post_at(at, "grace", "news");
    }
    browser.run_until(opens_at);
    browser.open(page.clone());
    let trace = browser.run_until(COMPARISON_END);
    let spans = trace.spans();
    let idle: Vec<_> = spans.iter().filter(|s| COMPARISON_IDLE.contains(&s.sent)).collect();
    let idle_bytes = spans
        .iter()
        .filter(|s| s.answered.is_some_and(|at| COMPARISON_IDLE.contains(&at)))
        .filter_map(|s| match &s.outcome {
            Some(Outcome::Status { bytes, .. }) => Some(*bytes),
            _ => None,
        })
        .sum();
    let delays = COMPARISON_POSTS
        .iter()
        .enumerate()
        .map(|(n, posted)| {
            let id = COMPARISON_HISTORY + 1 + n as u64;
            let shown = trace.events().iter().find_map(|(at, event)| match event {
                virtual_browser::Event::Rendered { ids } if ids.contains(&id) => Some(*at),
                _ => None,
            });
            shown.expect("every reader sees every message within the run") - posted
        })
        .collect();
    Reading { idle_requests: idle.len(), idle_bytes, delays }
}

/// `readers` readers (seeds 1, 2, ...) on the cores there are, each against
/// its own copy of the server: these are the readers' numbers, the
/// server's side of a thousand is chapter 07's capacity benchmark.
fn readers(readers: u32, app: fn() -> axum::Router, page: &Page) -> Vec<Reading> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u32).min(readers);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (1..=readers)
                        .filter(|seed| seed % threads == t)
                        .map(|seed| read_chat(app(), page, seed))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a comparison thread panicked")).collect::<Vec<_>>()
    })
}

fn interval_page() -> Page {
    Page::client("/client.js", include_str!("interval-client.js"))
        .with_module("/cursor.js", dont_ddos_yourself::CURSOR_JS)
}

fn long_poll_page() -> Page {
    Page::client("/client.js", long_polling::CLIENT_JS)
        .with_module("/cursor.js", dont_ddos_yourself::CURSOR_JS)
        .with_module("/backoff.js", dont_ddos_yourself::BACKOFF_JS)
}

/// Exercise 07's app on the in-memory store, its rate limit on the virtual
/// clock. Its `GET /poll` without `wait` is exercise 05's, so both clients
/// talk to the same server.
fn ex07_app() -> axum::Router {
    let store = Arc::new(redis_chat::memory::MemoryStore::with_epoch(50, 1));
    let hub = Arc::new(long_polling::hold::Hub::new(store, long_polling::news::News::local()));
    long_polling::app_with(hub, VirtualClock)
}

/// Exercise 07's client over a minute: two messages, a timeout, a hidden spell.
fn long_poll_timeline() -> String {
    let mut browser = Browser::new(ex07_app());
    browser
        .latency(Latency::Fixed(300))
        .post_at(6_000, "grace", "hello")
        .post_at(12_300, "grace", "anyone there?")
        .hide(45_000..52_000)
        .post_at(48_000, "grace", "while you were away");
    browser.open(long_poll_page());
    svg::timeline(browser.run_until(60_000), "long polling: each request waits for news, or 25 s", 60_000)
}

fn comparison_table() -> String {
    let columns = [
        readers(1, ex07_app, &interval_page()),
        readers(1, ex07_app, &long_poll_page()),
        readers(1000, ex07_app, &interval_page()),
        readers(1000, ex07_app, &long_poll_page()),
    ];
    let per_minute = |n: usize| n as f64 * 60_000.0 / (COMPARISON_IDLE.end - COMPARISON_IDLE.start) as f64;
    let cells = |row: &dyn Fn(&[Reading]) -> String| {
        columns.iter().map(|readings| row(readings)).collect::<Vec<_>>().join(" | ")
    };
    let requests = cells(&|r| format!("{:.0}", per_minute(r.iter().map(|r| r.idle_requests).sum())));
    let bytes = cells(&|r| format!("{:.0}", per_minute(r.iter().map(|r| r.idle_bytes).sum())));
    let delays = |r: &[Reading]| r.iter().flat_map(|r| r.delays.iter().copied()).collect::<Vec<u64>>();
    let mean = cells(&|r| {
        let d = delays(r);
        format!("{:.0} ms", d.iter().sum::<u64>() as f64 / d.len() as f64)
    });
    let worst = cells(&|r| format!("{} ms", delays(r).into_iter().max().unwrap_or(0)));
    format!(
        "| | Interval, 3 s: 1 reader | Long poll: 1 reader | Interval, 3 s: 1,000 readers | Long poll: 1,000 \
         readers |\n|---|---|---|---|---|\n\
         | Requests per minute while idle | {requests} |\n\
         | Bytes of answers per minute while idle | {bytes} |\n\
         | Delay until a new message shows, mean | {mean} |\n\
         | Delay until a new message shows, worst | {worst} |\n"
    )
}

/// Every figure, by file name; nothing is drawn until `draw` is called.
pub fn all() -> Vec<Figure> {
    vec![
        Figure {
            file: "02-before-setinterval.svg",
            from_starter: Some("02-settimeout-chain"),
            draw: || {
                draw(
                    settimeout_chain_starter::CLIENT_JS,
                    "setInterval, server answers in 5 s: requests pile up",
                    20_000,
                    slow_server,
                )
            },
        },
        Figure {
            file: "02-after-settimeout-chain.svg",
            from_starter: None,
            draw: || {
                draw(
                    settimeout_chain::CLIENT_JS,
                    "setTimeout after each answer, same server: one at a time",
                    20_000,
                    slow_server,
                )
            },
        },
        Figure {
            file: "03-before-timer-chain.svg",
            from_starter: Some("03-pause-when-hidden"),
            draw: || {
                draw(
                    pause_when_hidden_starter::CLIENT_JS,
                    "setTimeout chain, page hidden from 7 s to 22 s: it keeps polling",
                    30_000,
                    hidden_for_a_while,
                )
            },
        },
        Figure {
            file: "03-after-animation-frames.svg",
            from_starter: None,
            draw: || {
                draw(
                    pause_when_hidden::CLIENT_JS,
                    "requestAnimationFrame loop, same scene: nothing while hidden",
                    30_000,
                    hidden_for_a_while,
                )
            },
        },
        Figure { file: "04-fleet.svg", from_starter: None, draw: fleet_plot },
        Figure { file: "04-fleet.md", from_starter: None, draw: fleet_numbers },
        Figure { file: "04-fleet-retry-after.svg", from_starter: None, draw: retry_after_plot },
        Figure { file: "04-fleet-retry-after.md", from_starter: None, draw: retry_after_numbers },
        Figure { file: "05-idle-client.md", from_starter: None, draw: idle_client_table },
        Figure { file: "07-long-poll.svg", from_starter: None, draw: long_poll_timeline },
        Figure { file: "07-interval-vs-long-poll.md", from_starter: None, draw: comparison_table },
    ]
}

/// The figures whose sources are as shipped here (see [`Figure::from_starter`]).
pub fn checkable() -> Vec<Figure> {
    let course = Course::embedded();
    all()
        .into_iter()
        .filter(|figure| {
            figure.from_starter.is_none_or(|slug| {
                course.exercises.iter().find(|e| e.slug == slug).is_none_or(|e| e.starter_is_pristine())
            })
        })
        .collect()
}
