//! Capacity of exercise 07's long polling: how many held requests one
//! server keeps, what each costs, and how fast one message reaches them all.
//!
//! ```console
//! cargo run --release -p benchmarks --bin hold
//! ```
//!
//! For each N (1,000 and 10,000 by default, `--waiters 1000,10000`), N
//! clients open a connection each over loopback and send a long poll that
//! has nothing new. When the server holds all N, one message is posted, and
//! each client records when its answer arrived; then they all ask again, and
//! the next message is posted (`--rounds`, 5 by default). The server runs in a
//! process of its own on one core (this program, started again with
//! `--serve`), the clients on the other, so the server's memory and CPU time
//! are its own: memory per held request is the growth of its resident set
//! while holding N, and CPU per answered waiter is its user + system time
//! from the post until the last answer, divided by N. The results go to
//! `book/src/figures/07-capacity.md`, or to `--out`.

use axum::{Router, extract::State, routing::get};
use benchmarks::{percentile, raise_open_files_limit, read_response, usage};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The epoch of the benchmark's store, so cursors are easy to write.
const EPOCH: u64 = 7;

// ---------------------------------------------------------------------------
// The server side: exercise 07's app, plus a page of numbers about itself
// ---------------------------------------------------------------------------

fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        let store = Arc::new(redis_chat::memory::MemoryStore::with_epoch(long_polling::MAX_MESSAGES, EPOCH));
        // The benchmark measures what holding costs, so it lifts the cap on
        // held requests (MAX_HELD) and serves with axum::serve, which has no
        // cap on connections: the caps are a policy, measured elsewhere.
        let hub = long_polling::hold::Hub::new(store, long_polling::news::News::local()).with_max_held(usize::MAX);
        let hub = Arc::new(hub);
        let stats = Router::new()
            .route(
                "/stats",
                get(|State(hub): State<Arc<long_polling::hold::Hub<redis_chat::memory::MemoryStore>>>| async move {
                    let (cpu, rss) = usage();
                    format!("{} {cpu} {rss} {}", hub.held(), hub.store_reads())
                }),
            )
            .with_state(hub.clone());
        let app = stats.merge(long_polling::app_with(hub, governor::clock::DefaultClock::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        axum::serve(listener, app).await.unwrap();
    });
}

// ---------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------

/// One request on a connection of its own, as a client of its own (so the
/// rate limit never counts the benchmark's own posts and questions).
async fn request(port: u16, method: &str, path: &str, body: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let client = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("the server accepts");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-client-id: control-{client}\r\ncontent-type: \
         application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default()
}

/// What the server says about itself.
struct Stats {
    held: usize,
    cpu_us: u64,
    rss_kib: u64,
    store_reads: u64,
}

async fn stats(port: u16) -> Stats {
    let text = request(port, "GET", "/stats", "").await;
    let mut numbers = text.split_whitespace().map(|n| n.parse::<u64>().unwrap_or(0));
    let mut next = || numbers.next().unwrap_or(0);
    Stats { held: next() as usize, cpu_us: next(), rss_kib: next(), store_reads: next() }
}

async fn until_held(port: u16, n: usize) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stats = stats(port).await;
        let held = stats.held;
        if held >= n {
            return stats;
        }
        assert!(Instant::now() < deadline, "the server holds {held} of {n} requests after 120 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Measured {
    waiters: usize,
    kib_per_held: f64,
    p50_ms: f64,
    p99_ms: f64,
    last_ms: f64,
    cpu_us_per_waiter: f64,
    store_reads_per_message: f64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn measure(port: u16, waiters: usize, rounds: usize, first_id: u64) -> Measured {
    let rss_before = stats(port).await.rss_kib;
    let posted_at = Arc::new(std::sync::Mutex::new(Instant::now()));
    // Each round's requests go out when the coordinator says so, after every
    // answer of the round before: the CPU time measured is the fan-out's only.
    let (go, round_starts) = tokio::sync::watch::channel(0usize);
    let (report, mut reports) = tokio::sync::mpsc::unbounded_channel::<(usize, f64)>();
    let mut clients = Vec::new();
    for n in 0..waiters {
        // Connect in batches: a burst of 10,000 connects would overflow the
        // listener's backlog and measure the kernel's retry timer instead.
        if n % 256 == 255 {
            tokio::task::yield_now().await;
        }
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("the server accepts");
        let (report, posted_at, mut round_starts) = (report.clone(), posted_at.clone(), round_starts.clone());
        clients.push(tokio::spawn(async move {
            let mut buffer = Vec::with_capacity(1024);
            for round in 0..rounds {
                round_starts.wait_for(|started| *started >= round).await.expect("the coordinator runs");
                let since = first_id + round as u64 - 1;
                let request = format!(
                    "GET /poll?since={since}&epoch={EPOCH}&wait=30 HTTP/1.1\r\nhost: 127.0.0.1\r\nx-client-id: \
                     waiter-{n}\r\n\r\n"
                );
                stream.write_all(request.as_bytes()).await.unwrap();
                let status = read_response(&mut stream, &mut buffer).await.expect("an answer");
                assert_eq!(status, 200, "a waiter got {status}");
                let elapsed = posted_at.lock().unwrap().elapsed().as_secs_f64() * 1000.0;
                let _ = report.send((round, elapsed));
            }
        }));
    }
    let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
    let mut lasts = Vec::new();
    let mut kib = Vec::new();
    let mut cpu_per_waiter = Vec::new();
    let mut reads = Vec::new();
    for round in 0..rounds {
        go.send_replace(round);
        let before = until_held(port, waiters).await;
        kib.push((before.rss_kib.saturating_sub(rss_before)) as f64 / waiters as f64);
        *posted_at.lock().unwrap() = Instant::now();
        let id = first_id + round as u64;
        request(port, "POST", "/poll", &format!("{{\"user\":\"bench\",\"text\":\"message {id}\"}}")).await;
        let mut times = Vec::with_capacity(waiters);
        while times.len() < waiters {
            let (answered_round, ms) = reports.recv().await.expect("the waiters report");
            assert_eq!(answered_round, round);
            times.push(ms);
        }
        let after = stats(port).await;
        cpu_per_waiter.push(after.cpu_us.saturating_sub(before.cpu_us) as f64 / waiters as f64);
        reads.push((after.store_reads - before.store_reads) as f64);
        times.sort_by(f64::total_cmp);
        p50s.push(percentile(&times, 0.50));
        p99s.push(percentile(&times, 0.99));
        lasts.push(*times.last().unwrap());
        eprintln!("  {waiters} waiters, round {}: the last answered {:.1} ms after the post", round + 1, lasts[round]);
    }
    for client in clients {
        client.await.unwrap();
    }
    Measured {
        waiters,
        kib_per_held: median(kib),
        p50_ms: median(p50s),
        p99_ms: median(p99s),
        last_ms: median(lasts),
        cpu_us_per_waiter: median(cpu_per_waiter),
        store_reads_per_message: median(reads),
    }
}

/// The capacity of exercise 07's long polling (see the module's documentation).
#[derive(clap::Parser)]
#[command(about = "How many long polls exercise 07's server holds, what each costs, how fast a message reaches them")]
struct Args {
    /// How many held requests to measure, one row each, separated by commas.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000, 10_000])]
    waiters: Vec<usize>,
    /// How many messages to post to each set of held requests (the table gives the median).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Where to write the table [default: book/src/figures/07-capacity.md].
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Be the server (the benchmark starts itself again with this, on a core of its own).
    #[arg(long, hide = true)]
    serve: bool,
}

fn main() {
    let Args { waiters: counts, rounds, out, serve: as_server } = clap::Parser::parse();
    if as_server {
        return serve();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let out = out.unwrap_or_else(|| root.join("book/src/figures/07-capacity.md"));
    let files = raise_open_files_limit();
    let most = counts.iter().copied().max().unwrap_or(0);
    if (most as u64) + 100 > files {
        eprintln!("error: {most} connections need more open files than this process may have ({files}); ask for fewer");
        std::process::exit(1);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The server: this program again, in a process of its own.
    let server = benchmarks::ServerProcess::start();
    let (port, pinned) = (server.port, server.pinned);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut results = Vec::new();
    let mut next_id = 1;
    runtime.block_on(async {
        request(port, "POST", "/poll", "{\"user\":\"bench\",\"text\":\"the first message\"}").await;
        next_id += 1;
        let started = Instant::now();
        for (n, &waiters) in counts.iter().enumerate() {
            eprintln!(
                "[{}/{}, {:.0} s so far] {waiters} held requests, {rounds} rounds…",
                n + 1,
                counts.len(),
                started.elapsed().as_secs_f64()
            );
            results.push(measure(port, waiters, rounds, next_id).await);
            next_id += rounds as u64;
        }
    });
    drop(server);

    let mut table = format!(
        "Measured with `cargo run --release -p benchmarks --bin hold` on a machine with {cores} cores{}, exercise \
         07's server on the in-memory store. Each row posts {rounds} messages to the held requests, one at a time, \
         and gives the median of the {rounds}.\n\n\
         | Held requests | Server memory per held request | POST → answered, p50 / p99 | POST → the last one answered | \
         Server CPU per answered waiter | Reads of the store per message |\n|---|---|---|---|---|---|\n",
        if pinned { ", the server pinned to one core and the clients to the other" } else { ", not pinned" },
    );
    for m in &results {
        table.push_str(&format!(
            "| {} | {:.1} KiB | {:.1} / {:.1} ms | {:.1} ms | {:.1} µs | {:.0} |\n",
            m.waiters, m.kib_per_held, m.p50_ms, m.p99_ms, m.last_ms, m.cpu_us_per_waiter, m.store_reads_per_message
        ));
    }
    std::fs::write(&out, &table).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    print!("{table}");
    eprintln!("wrote {}", out.display());
}
