//! Capacity of exercise 07's long polling: how many held requests one
//! server keeps, what each costs, and how fast one message reaches them all.
//!
//! ```console
//! cargo run --release -p benchmarks --bin hold
//! ```
//!
//! For each N (`--waiters`, by default 1,000, 10,000, 50,000 and 100,000),
//! N clients open a connection each over loopback and send a long poll that
//! has nothing new. When the server holds all N, one message is posted, and
//! each client records when its answer arrived; then they all ask again, and
//! the next message is posted (`--rounds`, 5 by default). Then, when
//! redis-server is installed, the same on two instances that share one
//! Redis (`--redis-waiters`, 10,000 by default): half the requests held on
//! each, every message posted to the first, and the second woken through
//! Redis pub/sub.
//!
//! Each server runs in a process of its own on one core (this program,
//! started again with `--serve`), the clients on the other, so the server's
//! memory and CPU time are its own. It serves with the course's own
//! `chat_page::serve::serve_with`, as `cargo run` does, with the caps on
//! connections and held requests lifted: the caps are a policy, measured
//! elsewhere (`--bin robustness`); this measures what holding costs.
//!
//! - memory per held request: the growth of the server's resident set while
//!   it holds N, over N; and, to show where it goes, the same once the N
//!   connections are open but have sent nothing, and the heap the server's
//!   allocator has handed out (counted by this program's allocator);
//! - CPU per answered waiter: the server's user + system time from the post
//!   until the last answer, over N.
//!
//! Past about 28,000 connections one client address runs out of ports, so
//! the clients connect from 127.0.0.1, 127.0.0.2, and so on (all loopback),
//! 20,000 each. The open-files limit is raised as far as the process may
//! (past the hard limit as root). The results go to
//! `book/src/figures/07-capacity.md` and `07-held-request-bytes.md`, or to
//! `--out` and the same name with `-bytes` added.

use axum::{Router, extract::State, routing::get};
use benchmarks::{RedisProcess, percentile, raise_open_files_limit, read_response, usage};
use std::alloc::{GlobalAlloc, Layout};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The epoch of the in-memory store, so cursors are easy to write.
const EPOCH: u64 = 7;

/// How many connections the clients open from one loopback address.
const PER_ADDRESS: usize = 20_000;

// ---------------------------------------------------------------------------
// The heap, counted: the server's allocator keeps a running total
// ---------------------------------------------------------------------------

#[cfg(feature = "mimalloc")]
use mimalloc::MiMalloc as Underneath;
/// The allocator the servers use: the system's (glibc's `malloc` on
/// Debian), or mimalloc with `--features mimalloc`.
#[cfg(not(feature = "mimalloc"))]
use std::alloc::System as Underneath;

/// Which allocator, for the tables.
const ALLOCATOR_NAME: &str = if cfg!(feature = "mimalloc") { "mimalloc" } else { "the system's allocator" };

/// The allocator underneath, counting the bytes it has handed out and not
/// yet been given back, once `COUNTING` is set (only the server sets it).
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)] // a global allocator is unsafe to write; this one only counts
// SAFETY: every call is passed on to `Underneath` unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: the caller's promises about `layout` are Underneath's.
        unsafe { Underneath.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { Underneath.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { Underneath.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---------------------------------------------------------------------------
// The server side: exercise 07's app, plus a page of numbers about itself
// ---------------------------------------------------------------------------

fn serve(redis: Option<&str>, count_heap: bool) {
    // Counting costs the server CPU time (a shared counter on every
    // allocation): only the pass that reports the heap counts.
    COUNTING.store(count_heap, Ordering::Relaxed);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        match redis {
            None => {
                let store = redis_chat::memory::MemoryStore::with_epoch(long_polling::MAX_MESSAGES, EPOCH);
                serve_hub(Arc::new(store), long_polling::news::News::local()).await;
            }
            Some(url) => {
                let store = redis_chat::redis_store::RedisStore::new(url, long_polling::MAX_MESSAGES).unwrap();
                let news = long_polling::news::News::through_redis(url).unwrap();
                serve_hub(Arc::new(store), news).await;
            }
        }
    });
}

async fn serve_hub<S: redis_chat::store::Store>(store: Arc<S>, news: long_polling::news::News) {
    let hub = Arc::new(long_polling::hold::Hub::new(store, news).with_max_held(usize::MAX));
    let stats = Router::new()
        .route(
            "/stats",
            get(|State(hub): State<Arc<long_polling::hold::Hub<S>>>| async move {
                let (cpu, rss) = usage();
                let heap = LIVE_BYTES.load(Ordering::Relaxed) / 1024;
                format!("{} {cpu} {rss} {} {heap}", hub.held(), hub.answers.store_reads())
            }),
        )
        .with_state(hub.clone());
    let app = stats.merge(long_polling::app_with(hub, governor::clock::DefaultClock::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", listener.local_addr().unwrap().port());
    // The course's own server, its caps lifted; an idle connection may wait
    // as long as the benchmark needs.
    let limits = chat_page::serve::Limits {
        header_timeout: Duration::from_secs(600),
        body_timeout: chat_page::serve::BODY_TIMEOUT,
        max_connections: 1 << 24,
        max_connections_per_address: 1 << 24,
    };
    chat_page::serve::serve_with(listener, app, limits, std::future::pending(), || {}).await.unwrap();
}

// ---------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------

/// One request on a connection of its own, as a client of its own (so the
/// rate limit never counts the benchmark's own posts and questions).
async fn request(port: u16, method: &str, path: &str, body: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let client = NEXT.fetch_add(1, Ordering::Relaxed);
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

/// What a server says about itself.
#[derive(Clone, Copy, Default)]
struct Stats {
    held: usize,
    cpu_us: u64,
    rss_kib: u64,
    store_reads: u64,
    heap_kib: u64,
}

impl std::ops::Add for Stats {
    type Output = Stats;
    fn add(self, other: Stats) -> Stats {
        Stats {
            held: self.held + other.held,
            cpu_us: self.cpu_us + other.cpu_us,
            rss_kib: self.rss_kib + other.rss_kib,
            store_reads: self.store_reads + other.store_reads,
            heap_kib: self.heap_kib + other.heap_kib,
        }
    }
}

/// What the servers say about themselves, added up.
async fn stats(ports: &[u16]) -> Stats {
    let mut all = Stats::default();
    for &port in ports {
        let text = request(port, "GET", "/stats", "").await;
        let mut numbers = text.split_whitespace().map(|n| n.parse::<u64>().unwrap_or(0));
        let mut next = || numbers.next().unwrap_or(0);
        let one =
            Stats { held: next() as usize, cpu_us: next(), rss_kib: next(), store_reads: next(), heap_kib: next() };
        all = all + one;
    }
    all
}

async fn until_held(ports: &[u16], n: usize) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let stats = stats(ports).await;
        let held = stats.held;
        if held >= n {
            return stats;
        }
        assert!(Instant::now() < deadline, "the servers hold {held} of {n} requests after 300 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A connection to `port` from the loopback address for connection number
/// `n`: 127.0.0.1 for the first 20,000, 127.0.0.2 for the next, and so on.
async fn connect(port: u16, n: usize) -> TcpStream {
    let from = Ipv4Addr::new(127, 0, 0, 1 + (n / PER_ADDRESS) as u8);
    benchmarks::connect_from(from, port).await.expect("the server accepts")
}

struct Measured {
    waiters: usize,
    servers: &'static str,
    kib_per_held: f64,
    p50_ms: f64,
    p99_ms: f64,
    last_ms: f64,
    cpu_us_per_waiter: f64,
    store_reads_per_message: f64,
    /// Resident and heap KiB per connection: open with nothing sent, then held.
    open: (f64, f64),
    held: (f64, f64),
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Hold `waiters` requests, spread over the servers at `ports`, for
/// `rounds` messages, each posted to the first server. `connections` counts
/// the connections opened so far, so that each run connects from fresh
/// addresses (the last run's ports linger in TIME_WAIT).
async fn measure(
    ports: &[u16],
    servers: &'static str,
    waiters: usize,
    rounds: usize,
    connections: &mut usize,
) -> Measured {
    let before = stats(ports).await;
    // The cursor: what every waiter has when it first asks.
    let first: serde_json::Value = serde_json::from_str(&request(ports[0], "GET", "/poll", "").await).unwrap();
    let epoch = first["epoch"].as_u64().expect("an epoch");
    let newest = first["msg"].as_array().and_then(|m| m.last()).and_then(|m| m["id"].as_u64()).unwrap_or(0);
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
        let mut stream = connect(ports[n % ports.len()], *connections + n).await;
        let (report, posted_at, mut round_starts) = (report.clone(), posted_at.clone(), round_starts.clone());
        clients.push(tokio::spawn(async move {
            let mut buffer = Vec::with_capacity(1024);
            for round in 0..rounds {
                round_starts.wait_for(|started| *started > round).await.expect("the coordinator runs");
                let since = newest + round as u64;
                let request = format!(
                    "GET /poll?since={since}&epoch={epoch}&wait=30 HTTP/1.1\r\nhost: 127.0.0.1\r\nx-client-id: \
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
    *connections += waiters;
    // Open, nothing sent: give the servers a moment to accept the last ones.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open = stats(ports).await;
    let per = |after: u64, before: u64| (after.saturating_sub(before)) as f64 / waiters as f64;
    let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
    let mut lasts = Vec::new();
    let mut kib = Vec::new();
    let mut cpu_per_waiter = Vec::new();
    let mut reads = Vec::new();
    let mut held_stats = open;
    for round in 0..rounds {
        go.send_replace(round + 1);
        let held = until_held(ports, waiters).await;
        if round == 0 {
            held_stats = held;
        }
        kib.push(per(held.rss_kib, before.rss_kib));
        *posted_at.lock().unwrap() = Instant::now();
        let id = newest + round as u64 + 1;
        request(ports[0], "POST", "/poll", &format!("{{\"user\":\"bench\",\"text\":\"message {id}\"}}")).await;
        let mut times = Vec::with_capacity(waiters);
        while times.len() < waiters {
            let (answered_round, ms) = reports.recv().await.expect("the waiters report");
            assert_eq!(answered_round, round);
            times.push(ms);
        }
        let after = stats(ports).await;
        cpu_per_waiter.push(after.cpu_us.saturating_sub(held.cpu_us) as f64 / waiters as f64);
        reads.push((after.store_reads - held.store_reads) as f64);
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
        servers,
        kib_per_held: median(kib),
        p50_ms: median(p50s),
        p99_ms: median(p99s),
        last_ms: median(lasts),
        cpu_us_per_waiter: median(cpu_per_waiter),
        store_reads_per_message: median(reads),
        open: (per(open.rss_kib, before.rss_kib), per(open.heap_kib, before.heap_kib)),
        held: (per(held_stats.rss_kib, open.rss_kib), per(held_stats.heap_kib, open.heap_kib)),
    }
}

/// The capacity of exercise 07's long polling (see the module's documentation).
#[derive(clap::Parser)]
#[command(about = "How many long polls exercise 07's server holds, what each costs, how fast a message reaches them")]
struct Args {
    /// How many held requests to measure on one in-memory server, one row each, separated by commas.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000, 10_000, 19_000, 50_000, 100_000])]
    waiters: Vec<usize>,
    /// How many held requests to measure on two instances sharing one Redis (none: 0).
    #[arg(long, value_delimiter = ',', default_values_t = [10_000])]
    redis_waiters: Vec<usize>,
    /// How many messages to post to each set of held requests (the table gives the median).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Where to write the table [default: book/src/figures/07-capacity.md, or
    /// 07-capacity-mimalloc.md with `--features mimalloc`].
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Be the server (the benchmark starts itself again with this, on a core of its own).
    #[arg(long, hide = true)]
    serve: bool,
    /// With `--serve`: on the Redis at this URL.
    #[arg(long, hide = true)]
    redis: Option<String>,
    /// With `--serve`: count the heap.
    #[arg(long, hide = true)]
    count_heap: bool,
    /// How many held requests the pass that counts the heap holds (none: 0).
    #[arg(long, default_value_t = 10_000)]
    heap_waiters: usize,
}

fn main() {
    let Args { waiters: counts, redis_waiters, rounds, out, serve: as_server, redis, count_heap, heap_waiters } =
        clap::Parser::parse();
    if as_server {
        return serve(redis.as_deref(), count_heap);
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let figure = if cfg!(feature = "mimalloc") { "07-capacity-mimalloc.md" } else { "07-capacity.md" };
    let out = out.unwrap_or_else(|| root.join("book/src/figures").join(figure));
    let bytes_out = out.with_file_name(format!(
        "{}-bytes.md",
        out.file_stem().unwrap_or_default().to_string_lossy().replace("07-capacity", "07-held-request")
    ));
    // Each held request is a socket in the server and one in the clients,
    // and each process may open `files`: the rows that need more are left
    // out, and the table says so.
    let files = raise_open_files_limit();
    let fits = |n: &usize| (*n as u64) + 200 <= files;
    let too_many: Vec<usize> = counts.iter().chain(&[heap_waiters]).copied().filter(|n| !fits(n)).collect();
    let counts: Vec<usize> = counts.into_iter().filter(fits).collect();
    let redis_waiters: Vec<usize> = redis_waiters.into_iter().filter(|n| *n == 0 || fits(n)).collect();
    let heap_waiters = if fits(&heap_waiters) { heap_waiters } else { 0 };
    if !too_many.is_empty() {
        eprintln!(
            "warning: leaving out {too_many:?}: each process here may open {files} files (the hard limit; raising \
             it takes root with CAP_SYS_RESOURCE)"
        );
    }
    let cores = benchmarks::cores();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut results = Vec::new();
    let mut connections = 0;
    let started = Instant::now();
    let runs = counts.len() + redis_waiters.iter().filter(|&&n| n > 0).count() + usize::from(heap_waiters > 0);
    let progress = |n: usize, what: &str| {
        eprintln!("[{n}/{runs}, {:.0} s so far] {what}, {rounds} rounds…", started.elapsed().as_secs_f64())
    };
    // One server on the in-memory store, a fresh one for each row: memory
    // that a server freed stays its own, and would hide the next row's growth.
    let mut pinned = false;
    for (n, &waiters) in counts.iter().enumerate() {
        let server = benchmarks::ServerProcess::start();
        pinned = server.pinned;
        runtime.block_on(async {
            request(server.port, "POST", "/poll", "{\"user\":\"bench\",\"text\":\"the first message\"}").await;
            progress(n + 1, &format!("{waiters} held requests on one server"));
            results.push(measure(&[server.port], "one, in memory", waiters, rounds, &mut connections).await);
        });
    }
    // The heap, counted, on a server of its own.
    let mut heap = Vec::new();
    if heap_waiters > 0 {
        let server = benchmarks::ServerProcess::start_with(&["--count-heap"]);
        runtime.block_on(async {
            request(server.port, "POST", "/poll", "{\"user\":\"bench\",\"text\":\"the first message\"}").await;
            progress(counts.len() + 1, &format!("{heap_waiters} held requests, the heap counted"));
            let servers = "one, in memory, heap counted";
            heap.push(measure(&[server.port], servers, heap_waiters, 1, &mut connections).await);
        });
    }
    // Two instances on one Redis.
    let redis_server = if redis_waiters.iter().any(|&n| n > 0) { RedisProcess::start(pinned) } else { None };
    if let Some(redis_server) = &redis_server {
        let url = redis_server.url();
        let servers = [
            benchmarks::ServerProcess::start_with(&["--redis", &url]),
            benchmarks::ServerProcess::start_with(&["--redis", &url]),
        ];
        let ports = [servers[0].port, servers[1].port];
        runtime.block_on(async {
            request(ports[0], "POST", "/poll", "{\"user\":\"bench\",\"text\":\"the first message\"}").await;
            for (n, &waiters) in redis_waiters.iter().filter(|&&n| n > 0).enumerate() {
                progress(
                    counts.len() + usize::from(heap_waiters > 0) + n + 1,
                    &format!("{waiters} held requests on two instances on one Redis"),
                );
                results.push(measure(&ports, "two, on one Redis", waiters, rounds, &mut connections).await);
            }
        });
    }

    let mut table = format!(
        "Measured with `cargo run --release -p benchmarks{} --bin hold` on a machine with {cores} cores{}, exercise \
         07's server as `cargo run` serves it, with its caps lifted, on {ALLOCATOR_NAME}. Each row posts {rounds} messages to the held \
         requests, one at a time, and gives the median of the {rounds}. With two instances, the requests are held \
         half on each, and every message is posted to the first.\n\n\
         | Held requests | Servers | Server memory per held request | POST → answered, p50 / p99 | POST → the last \
         one answered | Server CPU per answered waiter | Reads of the store per message |\n\
         |---|---|---|---|---|---|---|\n",
        if cfg!(feature = "mimalloc") { " --features mimalloc" } else { "" },
        if pinned { ", the servers pinned to one core and the clients to the other" } else { ", not pinned" },
    );
    for m in &results {
        table.push_str(&format!(
            "| {} | {} | {:.1} KiB | {:.1} / {:.1} ms | {:.1} ms | {:.1} µs | {:.0} |\n",
            m.waiters,
            m.servers,
            m.kib_per_held,
            m.p50_ms,
            m.p99_ms,
            m.last_ms,
            m.cpu_us_per_waiter,
            m.store_reads_per_message
        ));
    }
    if !too_many.is_empty() {
        let rows: Vec<String> = too_many.iter().map(|n| n.to_string()).collect();
        table.push_str(&format!(
            "\nNot measured: {} held requests. Each process on the machine that ran this may open {files} files \
             (its hard limit, which only a process with CAP_SYS_RESOURCE may raise), and each held request is a \
             socket in the server and one in the clients.\n",
            rows.join(" and ")
        ));
    }
    if redis_server.is_none() && redis_waiters.iter().any(|&n| n > 0) {
        table.push_str("\nThe Redis rows are missing: redis-server was not installed when this ran.\n");
    }
    let mut bytes = String::from(
        "Measured with `cargo run --release -p benchmarksFEATURES --bin hold`, in the same run as the capacity \
         table, on ALLOCATOR: what \
         the server's memory grows by, per connection, first when the connections are open but have sent nothing, \
         then when each holds the first round's request (the capacity table gives the median of all rounds). \
         Resident memory is the pages the server has touched; the heap is the bytes the server has asked its \
         allocator for and not given back (not what the allocator itself keeps), counted in a pass of its own \
         (counting slows the server, so the capacity table's rows do not count).\n\n\
         | Held requests | Servers | Measured | Open, nothing sent | Then held | In all |\n|---|---|---|---|---|---|\n",
    )
    .replace("ALLOCATOR", ALLOCATOR_NAME)
    .replace("FEATURES", if cfg!(feature = "mimalloc") { " --features mimalloc" } else { "" });
    for m in results.iter().chain(&heap) {
        let (what, open, held) =
            if m.servers.contains("heap") { ("heap", m.open.1, m.held.1) } else { ("resident", m.open.0, m.held.0) };
        let servers = m.servers.trim_end_matches(", heap counted");
        bytes.push_str(&format!(
            "| {} | {servers} | {what} | {open:.1} KiB | {held:.1} KiB | {:.1} KiB |\n",
            m.waiters,
            open + held
        ));
    }
    for (path, text) in [(&out, &table), (&bytes_out, &bytes)] {
        std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
    }
    print!("{table}\n{bytes}");
}
