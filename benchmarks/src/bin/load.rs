//! Load on `GET /poll`, measured with wrk: how much cheaper each of
//! exercise 05's techniques makes a poll.
//!
//! ```console
//! apt-get install wrk        # the load generator (Debian's package)
//! cargo run --release -p benchmarks --bin load
//! ```
//!
//! Ways to answer a poll, each with 50 stored messages, at 50 and at 256
//! connections, all in one run so that they compare:
//!
//! - the floor: a plain axum handler that returns the same pre-serialized
//!   bytes, with no rate limit and no cursor, the least a poll can cost;
//! - exercise 01's server, which serializes on every request;
//! - exercise 05's whole app (rate limit included): a body serialized once
//!   per change, `304 Not Modified` for a client that has the current state,
//!   and `?since=` with nothing new;
//! - exercise 07's whole app, a plain poll (no `wait`);
//! - exercise 06's whole app through Redis, and `redis-benchmark`'s own
//!   `LRANGE` of the same list as its ceiling (when `redis-server` is
//!   installed).
//!
//! Every request names one of `--clients` distinct clients (200,000 by
//! default) in `x-client-id`, in turn, as many real readers would, so the
//! rate limit admits them and its map holds as many clients as a busy server
//! would see. wrk makes the requests from a Lua script that builds them all
//! before the run. The server runs on one core and wrk on the other (with
//! `taskset`, where there are two cores). The results go to
//! `book/src/figures/05-load-benchmark.md`, or to `--out`; `--seconds` sets
//! each run's length (5 by default).

use axum::{
    Router,
    body::{Body, Bytes},
    http::{Request, header},
    routing::get,
};
use benchmarks::RedisProcess;
use dont_ddos_yourself::store::CachedStore;
use http_body_util::BodyExt;
use poll_endpoint::message::NewMessage;
use redis_chat::store::Store;
use std::process::Command;
use std::sync::Arc;
use tower::ServiceExt;

const MESSAGES: usize = 50;
const CONNECTIONS: [u32; 2] = [50, 256];

struct Mode {
    name: &'static str,
    app: Router,
    path: String,
    header: Option<String>,
}

/// What wrk reported for one run.
struct Run {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Answers that were neither 2xx nor 3xx (a 429 would be one).
    refused: u64,
    /// How many requests wrk made in the run.
    requests: u64,
    /// The server's CPU time (user and system) per request, in µs.
    cpu_us: f64,
}

fn text(n: usize) -> NewMessage {
    NewMessage { user: format!("reader {n:02}"), text: format!("message number {n:02}, long enough to be a chat line") }
}

/// Exercise 06's whole app on a Redis holding the 50 messages.
fn redis_mode(redis: &RedisProcess, runtime: &tokio::runtime::Runtime) -> Mode {
    let _inside = runtime.enter(); // the connection manager starts a task
    let store = Arc::new(
        redis_chat::redis_store::RedisStore::new(&format!("redis://127.0.0.1:{}", redis.port), MESSAGES).unwrap(),
    );
    for n in 0..MESSAGES {
        runtime.block_on(store.push(text(n).validate().unwrap(), None)).expect("seeding Redis");
    }
    let app = redis_chat::app_with(store, governor::clock::DefaultClock::default());
    Mode { name: "exercise 06 through Redis, serialized once per change", app, path: "/poll".into(), header: None }
}

/// `redis-benchmark`'s own LRANGE of the same list, from wrk's core.
fn redis_ceiling(redis: &RedisProcess, pinned: bool, seconds: u64) -> Vec<Run> {
    CONNECTIONS
        .iter()
        .map(|connections| {
            let requests = (seconds * 40_000).to_string();
            let mut command = Command::new(if pinned { "taskset" } else { "redis-benchmark" });
            if pinned {
                command.args(["-c", "1", "redis-benchmark"]);
            }
            let port = redis.port.to_string();
            let clients = connections.to_string();
            command.args(["-p", &port, "-c", &clients, "-n", &requests, "-q", "LRANGE", "{chat}:messages", "0", "-1"]);
            let output = String::from_utf8_lossy(&command.output().expect("redis-benchmark runs").stdout).into_owned();
            // "LRANGE ...: 40400.00 requests per second, p50=0.655 msec"
            let line = output.lines().rev().find(|l| l.contains("requests per second")).unwrap_or_default().to_owned();
            let number = |after: &str| {
                line.split(after)
                    .nth(1)
                    .and_then(|rest| rest.trim().split([' ', ',']).next())
                    .and_then(|n| n.parse().ok())
            };
            // The command has a colon of its own ({chat}:messages): read the
            // number just before "requests per second".
            let per_second = line
                .split("requests per second")
                .next()
                .and_then(|before| before.split_whitespace().last())
                .and_then(|n| n.parse().ok());
            Run {
                per_second: per_second.unwrap_or(0.0),
                p50_ms: number("p50=").unwrap_or(0.0),
                p99_ms: f64::NAN,
                refused: 0,
                requests: 0,
                cpu_us: f64::NAN,
            }
        })
        .collect()
}

/// The floor: `bytes`, pre-serialized, from a handler that does nothing else.
fn floor(bytes: Bytes) -> Router {
    Router::new().route(
        "/poll",
        get(move || {
            let bytes = bytes.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], bytes) }
        }),
    )
}

fn modes(runtime: &tokio::runtime::Runtime) -> Vec<Mode> {
    // Exercise 01's app: serializes all 50 messages on every poll.
    let plain = poll_endpoint::app();
    for n in 0..MESSAGES {
        let body = format!(r#"{{"user":"{}","text":"{}"}}"#, text(n).user, text(n).text);
        let request = Request::post("/poll").header("content-type", "application/json").body(Body::from(body)).unwrap();
        let status = runtime.block_on(plain.clone().oneshot(request)).unwrap().status();
        assert_eq!(status, 201, "seeding exercise 01's store");
    }
    // Exercise 05's whole app, rate limit included. Each mode gets an app of
    // its own, so each starts with an empty rate-limit map.
    let store = Arc::new(CachedStore::new(MESSAGES));
    for n in 0..MESSAGES {
        store.push(text(n).validate().expect("a valid message"));
    }
    let clock = governor::clock::DefaultClock::default;
    let cached = || dont_ddos_yourself::app_with(store.clone(), clock());
    let since = format!("/poll?since={MESSAGES}&epoch={}", store.epoch());
    let floor = floor(store.read().poll(None));
    // Exercise 07's whole app on its in-memory store.
    let memory = Arc::new(redis_chat::memory::MemoryStore::new(MESSAGES));
    for n in 0..MESSAGES {
        runtime.block_on(memory.push(text(n).validate().unwrap(), None)).expect("seeding exercise 07's store");
    }
    let hub = Arc::new(long_polling::hold::Hub::new(memory, long_polling::news::News::local()));
    let long_polling = long_polling::app_with(hub, clock());
    vec![
        Mode {
            name: "the floor: a plain handler returning the same bytes",
            app: floor,
            path: "/poll".into(),
            header: None,
        },
        Mode { name: "exercise 01, serialized on every poll", app: plain, path: "/poll".into(), header: None },
        Mode { name: "exercise 05, serialized once per change", app: cached(), path: "/poll".into(), header: None },
        Mode {
            name: "exercise 05, 304 Not Modified",
            app: cached(),
            path: "/poll".into(),
            header: Some(format!("If-None-Match: {}", store.read().etag().to_str().unwrap())),
        },
        Mode { name: "exercise 05, `?since=` with nothing new", app: cached(), path: since, header: None },
        Mode { name: "exercise 07, a plain poll", app: long_polling, path: "/poll".into(), header: None },
    ]
}

/// Exercise 05's whole answer taken apart, one step at a time from the
/// floor, to find where the time goes (`--steps`); then hand-tuned versions
/// of its given code ([`benchmarks::tuned`]), each put into the whole app on
/// its own, to show what the idiomatic code costs. A row named `4b.` builds
/// on row `4.`; a row named `5.` on row `4.` ([`base_of`]).
fn steps() -> Vec<Mode> {
    use axum::extract::DefaultBodyLimit;
    use axum::handler::Handler;
    use benchmarks::tuned;
    use dont_ddos_yourself::rate_limit::{self, RateLimit};
    use dont_ddos_yourself::routes::get_poll;
    let store = Arc::new(CachedStore::new(MESSAGES));
    for n in 0..MESSAGES {
        store.push(text(n).validate().expect("a valid message"));
    }
    let floor = floor(store.read().poll(None));
    let handler = || Router::new().route("/poll", get(get_poll)).with_state(store.clone());
    // `app_with` taken apart: the router with the page's routes, then the
    // body limit (on the POST route, as `app_with` has it), then the rate
    // limit (the whole app).
    let routed = || handler().merge(dont_ddos_yourself::page()).fallback(poll_endpoint::error::not_found);
    // The `/poll` routes with the body limit on the POST, and the rest of the
    // app around them.
    let with_get = |get_route: axum::routing::MethodRouter<Arc<CachedStore>>| {
        let post =
            dont_ddos_yourself::routes::post_poll.layer(DefaultBodyLimit::max(dont_ddos_yourself::MAX_BODY_BYTES));
        Router::new().route("/poll", get_route.post(post))
    };
    let around = |poll: Router<Arc<CachedStore>>| {
        poll.with_state(store.clone())
            .merge(dont_ddos_yourself::page())
            .fallback(poll_endpoint::error::not_found)
            .method_not_allowed_fallback(poll_endpoint::error::method_not_allowed)
    };
    let body_limit = around(with_get(get(get_poll)));
    let clock = governor::clock::DefaultClock::default;
    let whole = || dont_ddos_yourself::app_with(store.clone(), clock());
    let limit = || Arc::new(RateLimit::new(clock()));
    // The whole app with `get_poll` answered by another handler.
    let whole_with = |get_route| {
        around(with_get(get_route).route_layer(axum::middleware::from_fn_with_state(limit(), rate_limit::limit)))
    };
    // 4a: the rate limit as a tower layer written out, instead of `from_fn`.
    let layer = around(with_get(get(get_poll)).route_layer(tuned::LimitLayer::new(limit())));
    // 4b: the headers read from the request, instead of a `HeaderMap` copy.
    let from_request = whole_with(get(tuned::get_poll_from_request));
    // 5a: the query read by hand, instead of by serde through `Query`.
    let by_hand = whole_with(get(tuned::get_poll_read_by_hand));
    let since = format!("/poll?since={MESSAGES}&epoch={}", store.epoch());
    let mode = |name, app| Mode { name, app, path: "/poll".to_owned(), header: None };
    vec![
        mode("the floor: a plain handler returning the same bytes", floor),
        mode("1. exercise 05's `get_poll` alone", handler()),
        mode("2. and a router that also serves the page", routed()),
        mode("3. and the body limit, on the POST route", body_limit),
        mode("4. and the rate limit, with `from_fn`: the whole app", whole()),
        mode("4a. the whole app, the rate limit as a hand-written tower layer instead", layer),
        mode("4b. the whole app, the headers taken from the request, not a `HeaderMap` copy", from_request),
        Mode {
            name: "5. the whole app, asked `?since=` with nothing new",
            app: whole(),
            path: since.clone(),
            header: None,
        },
        Mode {
            name: "5a. the same, with the query read by hand instead of by serde",
            app: by_hand,
            path: since,
            header: None,
        },
    ]
}

/// The row a step builds on, whose count its own is compared with: `4b.`
/// builds on `4.`, `4.` on `3.`, `5.` on `4.`, and `1.` on the floor.
fn base_of(name: &str) -> Option<String> {
    let number: String = name.chars().take_while(char::is_ascii_digit).collect();
    let n: u32 = number.parse().ok()?;
    let lettered = name[number.len()..].starts_with(|c: char| c.is_ascii_lowercase());
    Some(match (lettered, n) {
        (true, n) => format!("{n}."),
        (false, 1) => "the floor".to_owned(),
        (false, 5) => "4.".to_owned(),
        (false, n) => format!("{}.", n - 1),
    })
}

/// How many times each step is counted (the table gives the median), how
/// many clients poll once first, and how many polls after them are counted.
const COUNTS: usize = 5;
const CLIENTS: usize = 2_000;
const POLLS: usize = 10_000;

/// `--steps --instructions`: each step's user-space instructions per poll,
/// counted by callgrind in a run of this program with `--count`, only while
/// [`counted_polls`] runs (so start-up, building the apps and the first
/// polls stay out), the median of [`COUNTS`].
fn count_instructions(only: Option<&str>, out: Option<std::path::PathBuf>) {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("error: --instructions needs valgrind: apt-get install valgrind (Debian and Ubuntu)");
        std::process::exit(1);
    }
    let me = std::env::current_exe().expect("this program's path");
    let collected = |step: &str| -> u64 {
        let output = Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null", "--toggle-collect=load::counted_polls"])
            .arg(&me)
            .args(["--steps", "--only", step, "--clients", &CLIENTS.to_string(), "--count", &POLLS.to_string()])
            .output()
            .expect("valgrind runs");
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{step} under valgrind failed:\n{text}");
        text.lines()
            .find_map(|line| line.split("Collected : ").nth(1))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no instruction count in valgrind's output:\n{text}"))
    };
    let mut names: Vec<&'static str> = steps().iter().map(|mode| mode.name).collect();
    if let Some(only) = only {
        names.retain(|name| name.contains(only));
    }
    let mut rows = String::new();
    let mut counted: Vec<(&str, u64)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        eprint!("[{}/{}] {name}…", i + 1, names.len());
        // A prefix that names only this step (`--only` matches by `contains`).
        let key = name.split(':').next().unwrap_or(name);
        let mut counts: Vec<u64> = (0..COUNTS).map(|_| collected(key) / POLLS as u64).collect();
        counts.sort_unstable();
        let median = counts[COUNTS / 2];
        eprintln!(" {median}");
        let base = base_of(name).and_then(|base| counted.iter().find(|(row, _)| row.starts_with(&base)));
        let more = base.map_or("".to_owned(), |(_, b)| format!("{:+}", median as i64 - *b as i64));
        let all = counts.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        rows.push_str(&format!("| {name} | {median} | {more} | {all} |\n"));
        counted.push((name, median));
    }
    let table = format!(
        "| Step | Instructions per poll (median) | More than the row it builds on | Each count |\n|---|---|---|---|\n{rows}\n\
         Counted with `cargo run --release -p benchmarks --bin load -- --steps --instructions`: each step's app, \
         in one process under valgrind's callgrind, answers one poll from each of {CLIENTS} clients (so the rate \
         limit holds them all), then {POLLS} more from the same clients in turn, through `oneshot` (no sockets, so \
         nothing of the kernel's); only those {POLLS} are counted, and the count over {POLLS} is one poll's \
         user-space instructions. The driver's own work (building each request, reading each answer) is in every \
         row, so only the differences between rows are the steps' own. Each step builds on the one before it; a \
         lettered one (`4b.`) builds on its number's (`4.`), and 5 on 4. Each step is counted {COUNTS} times, in \
         fresh processes; the counts move a little between runs (the hash seeds and the allocator's state differ).\n"
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let out = out.unwrap_or_else(|| root.join("book/src/figures/05-instructions.md"));
    print!("{table}");
    std::fs::write(&out, table).unwrap_or_else(|error| panic!("cannot write {}: {error}", out.display()));
    eprintln!("wrote {}", out.display());
}

/// `--count`: each way's polls in this process, through `oneshot`, each
/// from the next of `clients` clients, as wrk's script sends them.
fn in_process(by_steps: bool, only: Option<&str>, clients: usize, count: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut all = if by_steps { steps() } else { modes(&runtime) };
    if let Some(only) = only {
        all.retain(|mode| mode.name.contains(only));
    }
    let ids: Vec<String> = (1..=clients.max(1)).map(|n| format!("reader-{n}")).collect();
    for mode in all {
        // One poll from each client first, so that the rate limit holds them
        // all and the counted polls find their own: the steady state.
        runtime.block_on(polls(&mode, &ids, ids.len()));
        counted_polls(&runtime, &mode, &ids, count);
        eprintln!("{}: {count} polls", mode.name);
    }
}

/// The polls that `--instructions` counts: callgrind collects only while
/// this function runs (`--toggle-collect`), so building the apps and the
/// first polls stay out of the count.
#[inline(never)]
fn counted_polls(runtime: &tokio::runtime::Runtime, mode: &Mode, ids: &[String], count: usize) {
    runtime.block_on(polls(mode, ids, count));
}

/// `count` polls of `mode`, naming `ids` in turn.
async fn polls(mode: &Mode, ids: &[String], count: usize) {
    use tower::ServiceExt;
    for n in 0..count {
        let mut request = axum::http::Request::get(mode.path.as_str()).header("x-client-id", &ids[n % ids.len()]);
        // wrk's form: a whole header line.
        if let Some((name, value)) = mode.header.as_deref().and_then(|line| line.split_once(": ")) {
            request = request.header(name, value);
        }
        let response = mode.app.clone().oneshot(request.body(axum::body::Body::empty()).unwrap()).await.unwrap();
        assert!(response.status().as_u16() < 400, "{}: {}", mode.name, response.status());
        let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    }
}

/// A wrk script that sends the requests of `clients` distinct clients in
/// turn, each built once in `init` so that wrk spends nothing per request.
fn script(clients: usize) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("poll-load-{}.lua", std::process::id()));
    let lua = r#"
local clients = CLIENTS
local requests = {}
local i = 0
function init(args)
  for n = 1, clients do
    local headers = {}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    headers["x-client-id"] = "reader-" .. n
    requests[n] = wrk.format(nil, nil, headers)
  end
end
function request()
  i = i % clients + 1
  return requests[i]
end
"#
    .replace("CLIENTS", &clients.to_string());
    std::fs::write(&path, lua).expect("writing wrk's script");
    path
}

/// "2.31ms" / "812.00us" / "1.02s" -> milliseconds.
fn millis(value: &str) -> Option<f64> {
    let (number, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic())?);
    let number: f64 = number.parse().ok()?;
    match unit {
        "us" => Some(number / 1000.0),
        "ms" => Some(number),
        "s" => Some(number * 1000.0),
        _ => None,
    }
}

fn parse(output: &str) -> Option<Run> {
    let field = |prefix: &str| {
        output.lines().map(str::trim).find(|l| l.starts_with(prefix)).and_then(|l| l.split_whitespace().nth(1))
    };
    Some(Run {
        per_second: field("Requests/sec:")?.parse().ok()?,
        p50_ms: millis(field("50%")?)?,
        p99_ms: millis(field("99%")?)?,
        refused: field("Non-2xx").map_or(Some(0), |_| {
            output.lines().find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))?.trim().parse().ok()
        })?,
        // "  1234567 requests in 5.00s, 6.50GB read"
        requests: output.lines().find(|l| l.contains(" requests in "))?.split_whitespace().next()?.parse().ok()?,
        cpu_us: f64::NAN,
    })
}

/// Load on `GET /poll`, measured with wrk (see the module's documentation).
#[derive(clap::Parser)]
#[command(about = "Load on GET /poll with wrk: each exercise's poll against the floor, a handler that returns bytes")]
struct Args {
    /// How long each measured run lasts, in seconds.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// How many times each way is measured (the table gives the median).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// How many distinct clients the requests name, in turn (`x-client-id`).
    #[arg(long, default_value_t = 200_000)]
    clients: usize,
    /// Measure only the ways to answer whose names contain this (to profile
    /// one: `perf record -g -p <the benchmark's pid>` while it runs).
    #[arg(long)]
    only: Option<String>,
    /// Take exercise 05's cached answer apart, step by step from the floor,
    /// instead [written to book/src/figures/05-where-the-time-goes.md].
    #[arg(long)]
    steps: bool,
    /// Instead of wrk: send this many polls to each way (after --only) in
    /// this process, through `oneshot`, with no sockets, and exit. Run under
    /// `valgrind --tool=callgrind`, twice with two counts, for the
    /// instructions one poll costs in user space: a count that, unlike
    /// time, does not move with whatever else the machine is doing.
    #[arg(long, hide = true)]
    count: Option<usize>,
    /// With --steps: instead of wrk, count the instructions each step costs
    /// per poll in user space, under valgrind's callgrind [written to
    /// book/src/figures/05-instructions.md]. Needs valgrind.
    #[arg(long, requires = "steps")]
    instructions: bool,
    /// Where to write the table [default: book/src/figures/05-load-benchmark.md].
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

fn main() {
    let Args { seconds, rounds, clients, only, steps: by_steps, count, instructions, out } = clap::Parser::parse();
    if let Some(count) = count {
        return in_process(by_steps, only.as_deref(), clients, count);
    }
    if instructions {
        return count_instructions(only.as_deref(), out);
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let figure = if by_steps { "05-where-the-time-goes.md" } else { "05-load-benchmark.md" };
    let out = out.unwrap_or_else(|| root.join("book/src/figures").join(figure));
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("error: this benchmark needs wrk: apt-get install wrk (Debian and Ubuntu), brew install wrk (macOS)");
        std::process::exit(1);
    }
    let cores = benchmarks::cores();
    // The server on core 0 (threads started from now on inherit it), wrk on core 1.
    let pinned = cores >= 2
        && Command::new("taskset")
            .args(["-cp", "0", &std::process::id().to_string()])
            .output()
            .is_ok_and(|o| o.status.success());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();

    let redis = if by_steps { None } else { RedisProcess::start(pinned) };
    let mut all = if by_steps { steps() } else { modes(&runtime) };
    if let Some(redis) = &redis {
        all.push(redis_mode(redis, &runtime));
    }
    let floor_name = all[0].name;
    if let Some(only) = &only {
        all.retain(|mode| mode.name.contains(only.as_str()));
    }
    let script = script(clients);
    let script = script.to_str().expect("a temporary path is UTF-8");
    // Progress: each mode is a 1-second warm-up, then one run per connection
    // count in each round.
    let total_runs = all.len() * CONNECTIONS.len() * rounds;
    eprintln!(
        "{} ways to answer, {total_runs} runs of {seconds} s: about {} s in all",
        all.len(),
        all.len() + total_runs * seconds as usize
    );
    let started = std::time::Instant::now();
    // Every server first, each on a port of its own, probed and warmed up.
    let mut servers = Vec::new();
    for mode in all {
        let probe = Request::get(&mode.path);
        let probe = match &mode.header {
            Some(h) => probe.header(h.split_once(": ").unwrap().0, h.split_once(": ").unwrap().1),
            None => probe,
        };
        let response = runtime.block_on(mode.app.clone().oneshot(probe.body(Body::empty()).unwrap())).unwrap();
        let status = response.status().as_u16();
        let bytes = runtime.block_on(response.into_body().collect()).unwrap().to_bytes().len();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}{}", listener.local_addr().unwrap(), mode.path);
        let server = runtime.spawn(async move { axum::serve(listener, mode.app).await });
        // A short run first, not recorded: the first requests pay for
        // connection set-up, page faults and cold caches.
        eprintln!("warming up: {}…", mode.name);
        let warm_up = Command::new("wrk").args(["-t1", "-c50", "-d1s", "-s", script, &url]).output();
        assert!(warm_up.is_ok_and(|o| o.status.success()), "wrk's warm-up run failed");
        servers.push((mode.name, mode.header, status, bytes, url, server));
    }
    // Then the runs, in rounds: every way once per round, so that a machine
    // that slows down or speeds up meanwhile touches every row alike, and
    // each round starting one way further on, so that no way always runs
    // right after the same other one (exercise 01's heavy run, say). Each
    // cell is the round with the median CPU per request.
    let mut runs: Vec<Vec<Vec<Run>>> =
        servers.iter().map(|_| CONNECTIONS.iter().map(|_| Vec::new()).collect()).collect();
    let mut done_runs = 0;
    for round in 1..=rounds {
        for n in (0..servers.len()).map(|i| (i + round - 1) % servers.len()) {
            let (name, header, _, _, url, _) = &servers[n];
            for (c, connections) in CONNECTIONS.into_iter().enumerate() {
                let mut command = Command::new(if pinned { "taskset" } else { "wrk" });
                if pinned {
                    command.args(["-c", "1", "wrk"]);
                }
                command.args([
                    "-t1",
                    &format!("-c{connections}"),
                    &format!("-d{seconds}s"),
                    "--latency",
                    "-s",
                    script,
                    url,
                ]);
                if let Some(header) = header {
                    command.args(["-H", header]);
                }
                done_runs += 1;
                eprintln!(
                    "[{done_runs}/{total_runs}, {:.0} s so far] round {round}: {name}: {connections} connections…",
                    started.elapsed().as_secs_f64(),
                );
                // The server runs in this process: its CPU time is ours
                // (the other servers sit idle meanwhile).
                let (cpu_before, _) = benchmarks::usage();
                let output = command.output().expect("wrk runs");
                let (cpu_after, _) = benchmarks::usage();
                let report = String::from_utf8_lossy(&output.stdout).into_owned();
                let mut run = parse(&report).unwrap_or_else(|| panic!("could not read wrk's report:\n{report}"));
                run.cpu_us = cpu_after.saturating_sub(cpu_before) as f64 / run.requests.max(1) as f64;
                if run.refused > 0 {
                    eprintln!(
                        "warning: {} answers were not 2xx or 3xx (a rate limit?): this row does not count",
                        run.refused
                    );
                }
                runs[n][c].push(run);
            }
        }
    }
    let mut rows = Vec::new();
    for ((name, _, status, bytes, _, server), cells) in servers.into_iter().zip(runs) {
        server.abort();
        let medians = cells
            .into_iter()
            .map(|mut cell| {
                cell.sort_by(|a, b| a.cpu_us.total_cmp(&b.cpu_us));
                cell.swap_remove(cell.len() / 2)
            })
            .collect::<Vec<_>>();
        rows.push((name, status, bytes, medians));
    }

    let _ = std::fs::remove_file(script);
    let base: Vec<f64> = match rows.first() {
        Some((name, _, _, runs)) if *name == floor_name => runs.iter().map(|r| r.cpu_us).collect(),
        _ => vec![f64::NAN; CONNECTIONS.len()],
    };
    let mut table = format!(
        "Measured with `cargo run --release -p benchmarks --bin load{}` ({seconds} s a run, the median of {rounds} \
         rounds, wrk 1 thread) on a machine with {cores} cores{}. Each request names one of {clients} clients in turn (`x-client-id`), so the rate \
         limits admit them all and hold that many clients; the server is served without the peer's address, as \
         behind one proxy, so the per-address ceiling is not on the path. CPU per request is the server's own \
         user and system time over the requests of the run (for the Redis row, without Redis's own); the ratio \
         is the floor's CPU per request over the row's, how many such answers one core makes in the time of one \
         of the floor's. It is steadier than req/s, which anything else busy on the machine lowers. The rounds \
         take the ways in turn, each round starting one further on. Each cell is the round with the median CPU \
         per request.\n\n\
         | Answer | Status, body | {} |\n|---|---|{}\n",
        if by_steps { " -- --steps" } else { "" },
        if pinned { ", the server pinned to one core and wrk to another" } else { ", not pinned" },
        CONNECTIONS
            .map(|c| format!("{c} connections: req/s, p50 / p99, CPU per request, against the floor"))
            .join(" | "),
        "---|".repeat(CONNECTIONS.len())
    );
    for (name, status, bytes, runs) in &rows {
        let cells: Vec<String> = runs
            .iter()
            .zip(&base)
            .map(|(r, b)| {
                let refused =
                    if r.refused > 0 { format!(" ({} refused: not a pass)", r.refused) } else { String::new() };
                format!(
                    "{:.0}, {:.2} / {:.2} ms, {:.2} µs, ×{:.2}{refused}",
                    r.per_second,
                    r.p50_ms,
                    r.p99_ms,
                    r.cpu_us,
                    b / r.cpu_us
                )
            })
            .collect();
        table.push_str(&format!("| {name} | {status}, {bytes} B | {} |\n", cells.join(" | ")));
    }
    match &redis {
        None if by_steps => {}
        Some(_) if only.is_some() => {}
        Some(redis) => {
            let cells: Vec<String> = redis_ceiling(redis, pinned, seconds)
                .iter()
                .map(|r| format!("{:.0}, {:.2} ms p50 (Redis alone)", r.per_second, r.p50_ms))
                .collect();
            table.push_str(&format!(
                "| `redis-benchmark -q LRANGE {{chat}}:messages 0 -1`: Redis's own ceiling for the same list | \
                 the list | {} |\n",
                cells.join(" | ")
            ));
        }
        None => table.push_str("\nThe Redis rows are missing: redis-server was not installed when this ran.\n"),
    }
    std::fs::write(&out, &table).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    print!("{table}");
    eprintln!("wrote {}", out.display());
}
