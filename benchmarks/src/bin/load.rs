//! Load on `GET /poll`, measured with wrk: how much cheaper each of
//! exercise 05's techniques makes a poll.
//!
//! ```console
//! apt-get install wrk        # the load generator (Debian's package)
//! cargo run --release -p benchmarks --bin load
//! ```
//!
//! Four ways to answer a poll, each with 50 stored messages, at 50 and at
//! 256 connections: serializing on every request (exercise 01), a body
//! serialized once per change (exercise 05), `304 Not Modified` for a client
//! that has the current state, and `?since=` with nothing new; then exercise
//! 06's answer through Redis, and `redis-benchmark`'s own `LRANGE` of the
//! same list as the ceiling (both when `redis-server` is installed). The server
//! runs on one core and wrk on the other (with `taskset`, where there are two
//! cores). The results go to `book/src/figures/05-load-benchmark.md`, or to
//! `--out`; `--seconds` sets each run's length (10 by default).

use axum::{Router, body::Body, http::Request, routing::get};
use dont_ddos_yourself::store::CachedStore;
use http_body_util::BodyExt;
use poll_endpoint::message::NewMessage;
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
}

fn text(n: usize) -> NewMessage {
    NewMessage { user: format!("reader {n:02}"), text: format!("message number {n:02}, long enough to be a chat line") }
}

/// A redis-server for the Redis rows, on the server's core, with nothing on disk.
struct Redis {
    port: u16,
    process: std::process::Child,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn start_redis(pinned: bool) -> Option<Redis> {
    Command::new("redis-server").arg("--version").output().ok()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let mut command = Command::new(if pinned { "taskset" } else { "redis-server" });
    if pinned {
        command.args(["-c", "0", "redis-server"]);
    }
    let process = command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(Redis { port, process })
}

/// Exercise 06's GET on a Redis holding the 50 messages.
fn redis_mode(redis: &Redis, runtime: &tokio::runtime::Runtime) -> Mode {
    use redis_chat::store::Store;
    let _inside = runtime.enter(); // the connection manager starts a task
    let store = Arc::new(
        redis_chat::redis_store::RedisStore::new(&format!("redis://127.0.0.1:{}", redis.port), MESSAGES).unwrap(),
    );
    for n in 0..MESSAGES {
        runtime.block_on(store.push(text(n).validate().unwrap(), None)).expect("seeding Redis");
    }
    let app = Router::new()
        .route("/poll", get(redis_chat::routes::get_poll::<redis_chat::redis_store::RedisStore>))
        .with_state(store);
    Mode { name: "through Redis (exercise 06), serialized once per change", app, path: "/poll".into(), header: None }
}

/// `redis-benchmark`'s own LRANGE of the same list, from wrk's core.
fn redis_ceiling(redis: &Redis, pinned: bool, seconds: u64) -> Vec<Run> {
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
            Run { per_second: per_second.unwrap_or(0.0), p50_ms: number("p50=").unwrap_or(0.0), p99_ms: f64::NAN }
        })
        .collect()
}

fn modes() -> Vec<Mode> {
    // Exercise 01's app: serializes all 50 messages on every poll.
    let plain = poll_endpoint::app();
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    for n in 0..MESSAGES {
        let body = format!(r#"{{"user":"{}","text":"{}"}}"#, text(n).user, text(n).text);
        let request = Request::post("/poll").header("content-type", "application/json").body(Body::from(body)).unwrap();
        let status = runtime.block_on(plain.clone().oneshot(request)).unwrap().status();
        assert_eq!(status, 201, "seeding exercise 01's store");
    }
    // Exercise 05's store and GET handler, without its rate limit: wrk's
    // connections all come from one address and would be refused.
    let store = Arc::new(CachedStore::new(MESSAGES));
    for n in 0..MESSAGES {
        store.push(text(n).validate().expect("a valid message"));
    }
    let cached = Router::new().route("/poll", get(dont_ddos_yourself::routes::get_poll)).with_state(store.clone());
    let since = format!("/poll?since={MESSAGES}&epoch={}", store.epoch());
    vec![
        Mode { name: "serialized on every poll (exercise 01)", app: plain, path: "/poll".into(), header: None },
        Mode { name: "serialized once per change", app: cached.clone(), path: "/poll".into(), header: None },
        Mode {
            name: "304 Not Modified",
            app: cached.clone(),
            path: "/poll".into(),
            header: Some(format!("If-None-Match: {}", store.etag())),
        },
        Mode { name: "`?since=` with nothing new", app: cached, path: since, header: None },
    ]
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
    })
}

/// Load on `GET /poll`, measured with wrk (see the module's documentation).
#[derive(clap::Parser)]
#[command(about = "Load on GET /poll with wrk: exercise 05's techniques against exercise 01's server")]
struct Args {
    /// How long each measured run lasts, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Where to write the table [default: book/src/figures/05-load-benchmark.md].
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

fn main() {
    let Args { seconds, out } = clap::Parser::parse();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let out = out.unwrap_or_else(|| root.join("book/src/figures/05-load-benchmark.md"));
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("error: this benchmark needs wrk: apt-get install wrk (Debian and Ubuntu), brew install wrk (macOS)");
        std::process::exit(1);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The server on core 0 (threads started from now on inherit it), wrk on core 1.
    let pinned = cores >= 2
        && Command::new("taskset")
            .args(["-cp", "0", &std::process::id().to_string()])
            .output()
            .is_ok_and(|o| o.status.success());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();

    let redis = start_redis(pinned);
    let mut all = modes();
    if let Some(redis) = &redis {
        all.push(redis_mode(redis, &runtime));
    }
    // Progress: each mode is a 2-second warm-up and one run per connection count.
    let total_runs = all.len() * CONNECTIONS.len();
    let per_mode_s = 2 + seconds as usize * CONNECTIONS.len();
    eprintln!(
        "{} ways to answer, {total_runs} runs of {seconds} s: about {} s in all",
        all.len(),
        all.len() * per_mode_s
    );
    let started = std::time::Instant::now();
    let mut done_runs = 0;
    let mut rows = Vec::new();
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
        let warm_up = Command::new("wrk").args(["-t1", "-c50", "-d2s", &url]).output();
        assert!(warm_up.is_ok_and(|o| o.status.success()), "wrk's warm-up run failed");
        let mut runs = Vec::new();
        for connections in CONNECTIONS {
            let mut command = Command::new(if pinned { "taskset" } else { "wrk" });
            if pinned {
                command.args(["-c", "1", "wrk"]);
            }
            command.args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency", &url]);
            if let Some(header) = &mode.header {
                command.args(["-H", header]);
            }
            done_runs += 1;
            eprintln!(
                "[{done_runs}/{total_runs}, {:.0} s so far] {}: {connections} connections for {seconds} s…",
                started.elapsed().as_secs_f64(),
                mode.name
            );
            let output = command.output().expect("wrk runs");
            let report = String::from_utf8_lossy(&output.stdout).into_owned();
            runs.push(parse(&report).unwrap_or_else(|| panic!("could not read wrk's report:\n{report}")));
        }
        server.abort();
        rows.push((mode.name, status, bytes, runs));
    }

    let base: Vec<f64> = rows[0].3.iter().map(|r| r.per_second).collect();
    let mut table = format!(
        "Measured with `cargo run --release -p benchmarks --bin load` ({seconds} s a run, wrk 1 thread) on a machine \
         with {cores} cores{}.\n\n| Answer | Status, body | {} |\n|---|---|{}\n",
        if pinned { ", the server pinned to one core and wrk to another" } else { ", not pinned" },
        CONNECTIONS.map(|c| format!("{c} connections: req/s, p50 / p99, vs. exercise 01")).join(" | "),
        "---|".repeat(CONNECTIONS.len())
    );
    for (name, status, bytes, runs) in &rows {
        let cells: Vec<String> = runs
            .iter()
            .zip(&base)
            .map(|(r, b)| {
                format!("{:.0}, {:.2} / {:.2} ms, ×{:.1}", r.per_second, r.p50_ms, r.p99_ms, r.per_second / b)
            })
            .collect();
        table.push_str(&format!("| {name} | {status}, {bytes} B | {} |\n", cells.join(" | ")));
    }
    match &redis {
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
