//! A busy chat on exercise 07's server: many readers long polling while
//! messages come in fast, under two rate-limit policies.
//!
//! ```console
//! cargo run --release -p benchmarks --bin busy
//! ```
//!
//! `--readers` readers (1,000 by default) each long poll in a loop, as the
//! page does: ask with the newest id they have, and ask again the moment an
//! answer comes; a `429` is honoured (they wait its `Retry-After`). Meanwhile
//! a poster sends `--rate` messages a second (10) for `--seconds` (10). The
//! same load runs twice, each time on a fresh server process of its own:
//!
//! - **every long poll counted**: exercise 05's rate limit (2 a second, 10 at
//!   once, per client) in front of every request, as exercise 07 had it
//!   before;
//! - **held long polls not counted**: exercise 07's `limit_long_polls`, which
//!   counts a long poll only when it is answered at once.
//!
//! Each reader is a client of its own (`x-client-id`). The server is served
//! without the peer's address and with no cap on held requests, so only the
//! per-client limits are measured. The table goes to
//! `book/src/figures/07-busy-chat.md`, or to `--out`.

use axum::Router;
use axum::routing::get;
use benchmarks::{percentile, raise_open_files_limit, read_answer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const EPOCH: u64 = 7;

/// The server: exercise 07's app on the in-memory store, with `policy`.
fn serve(policy: &str) {
    use long_polling::hold::Hub;
    use redis_chat::memory::MemoryStore;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        let store = Arc::new(MemoryStore::with_epoch(long_polling::MAX_MESSAGES, EPOCH));
        let hub = Hub::new(store, long_polling::news::News::local()).with_max_held(usize::MAX);
        let hub = Arc::new(hub);
        let clock = governor::clock::DefaultClock::default();
        let app = match policy {
            "counted" => {
                use dont_ddos_yourself::rate_limit::{self, RateLimit};
                use long_polling::routes;
                Router::new()
                    .route("/poll", get(routes::get_poll::<MemoryStore>).post(routes::post_poll::<MemoryStore>))
                    .route_layer(axum::middleware::from_fn_with_state(
                        Arc::new(RateLimit::new(clock)),
                        rate_limit::limit,
                    ))
                    .with_state(hub)
            }
            _ => long_polling::app_with(hub, clock),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        axum::serve(listener, app).await.unwrap();
    });
}

/// What one run measured.
#[derive(Default)]
struct Counts {
    ok: u64,
    refused: u64,
    other: u64,
    /// Post → answered, in ms, for every message every reader got.
    delays: Vec<f64>,
    /// How many of the posted messages each reader got by the end.
    seen: Vec<u64>,
    posted: u64,
}

async fn run(port: u16, readers: usize, rate: u32, seconds: u64) -> Counts {
    let posted_at: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let counts = Arc::new(Mutex::new(Counts::default()));
    let stop_at = Instant::now() + Duration::from_secs(seconds) + Duration::from_secs(2);
    let mut tasks = Vec::new();
    for n in 0..readers {
        if n % 256 == 255 {
            tokio::task::yield_now().await;
        }
        let (posted_at, counts) = (posted_at.clone(), counts.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("the server accepts");
            let mut buffer = Vec::with_capacity(4096);
            let mut since = 0u64;
            let (mut ok, mut refused, mut other, mut delays) = (0, 0, 0, Vec::new());
            while Instant::now() < stop_at {
                let request = format!(
                    "GET /poll?since={since}&epoch={EPOCH}&wait=2 HTTP/1.1\r\nhost: 127.0.0.1\r\nx-client-id: \
                     reader-{n}\r\n\r\n"
                );
                if stream.write_all(request.as_bytes()).await.is_err() {
                    break;
                }
                let Ok(answer) = read_answer(&mut stream, &mut buffer).await else { break };
                match answer.status {
                    200 => {
                        ok += 1;
                        let answer: serde_json::Value =
                            serde_json::from_slice(&buffer[answer.body]).unwrap_or_default();
                        let ids = answer["msg"].as_array().into_iter().flatten().filter_map(|m| m["id"].as_u64());
                        let now = Instant::now();
                        for id in ids {
                            since = since.max(id);
                            if let Some(at) = posted_at.lock().unwrap().get(&id) {
                                delays.push(now.duration_since(*at).as_secs_f64() * 1000.0);
                            }
                        }
                    }
                    429 => {
                        refused += 1;
                        tokio::time::sleep(Duration::from_secs(answer.retry_after.unwrap_or(1))).await;
                    }
                    _ => other += 1,
                }
            }
            let mut counts = counts.lock().unwrap();
            counts.ok += ok;
            counts.refused += refused;
            counts.other += other;
            counts.delays.extend(delays);
            counts.seen.push(since);
        }));
    }
    // Let every reader be held, then post.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let every = Duration::from_secs(1) / rate;
    let mut next = Instant::now();
    let total = u64::from(rate) * seconds;
    for id in 1..=total {
        next += every;
        tokio::time::sleep_until(next.into()).await;
        posted_at.lock().unwrap().insert(id, Instant::now());
        let body = format!("{{\"user\":\"poster\",\"text\":\"message {id}\"}}");
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("the server accepts");
        let request = format!(
            "POST /poll HTTP/1.1\r\nhost: 127.0.0.1\r\nx-client-id: poster-{id}\r\ncontent-type: \
             application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 201"), "a post was not stored: {}", String::from_utf8_lossy(&answer));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut counts = Arc::try_unwrap(counts).ok().expect("every reader is done").into_inner().unwrap();
    counts.posted = total;
    counts
}

/// A busy chat under two rate-limit policies (see the module's documentation).
#[derive(clap::Parser)]
#[command(about = "A busy chat on exercise 07's server: readers long polling while messages come fast")]
struct Args {
    /// How many readers long poll at once.
    #[arg(long, default_value_t = 1_000)]
    readers: usize,
    /// How many messages are posted a second.
    #[arg(long, default_value_t = 10)]
    rate: u32,
    /// For how long messages are posted, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Where to write the table [default: book/src/figures/07-busy-chat.md].
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Be the server with this policy (the benchmark starts itself again).
    #[arg(long, hide = true)]
    serve: bool,
    #[arg(hide = true)]
    policy: Option<String>,
}

fn main() {
    let Args { readers, rate, seconds, out, serve: as_server, policy } = clap::Parser::parse();
    if as_server {
        return serve(policy.as_deref().unwrap_or("fitted"));
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let out = out.unwrap_or_else(|| root.join("book/src/figures/07-busy-chat.md"));
    let files = raise_open_files_limit();
    if readers as u64 + 100 > files {
        eprintln!("error: {readers} readers need more open files than this process may have ({files})");
        std::process::exit(1);
    }
    let cores = benchmarks::cores();
    let policies = [
        ("counted", "every long poll counted (exercise 05's limit)"),
        ("fitted", "held long polls not counted (exercise 07's `limit_long_polls`)"),
    ];
    let mut rows = Vec::new();
    let started = Instant::now();
    for (n, (policy, name)) in policies.iter().enumerate() {
        eprintln!(
            "[{}/{}, {:.0} s so far] {name}: {readers} readers, {rate} messages a second for {seconds} s…",
            n + 1,
            policies.len(),
            started.elapsed().as_secs_f64()
        );
        let server = benchmarks::ServerProcess::start_with(&[policy]);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut counts = runtime.block_on(run(server.port, readers, rate, seconds));
        drop(server);
        counts.delays.sort_by(f64::total_cmp);
        rows.push((*name, counts));
    }
    let mut table = format!(
        "Measured with `cargo run --release -p benchmarks --bin busy` on a machine with {cores} cores: {readers} \
         readers long polling, each a client of its own, while {rate} messages a second are posted for {seconds} \
         s. Each policy runs on a fresh server.\n\n\
         | Rate limit | Long polls answered 200 | Refused with 429 | Readers who got every message | Post → \
         answered, p50 / p99 |\n|---|---|---|---|---|\n"
    );
    for (name, counts) in &rows {
        let complete = counts.seen.iter().filter(|&&seen| seen >= counts.posted).count();
        let (p50, p99) = if counts.delays.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            (percentile(&counts.delays, 0.50), percentile(&counts.delays, 0.99))
        };
        table.push_str(&format!(
            "| {name} | {} | {} | {complete} of {readers} | {p50:.0} / {p99:.0} ms |\n",
            counts.ok, counts.refused
        ));
        if counts.other > 0 {
            eprintln!("warning: {name}: {} answers were neither 200 nor 429", counts.other);
        }
    }
    std::fs::write(&out, &table).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    print!("{table}");
    eprintln!("wrote {}", out.display());
}
