//! How exercise 07's server holds up when clients misbehave, with the limits
//! it is served with (`chat_page::serve`: timeouts and connection caps;
//! `hold.rs`: caps on held requests and on cached answers).
//!
//! ```console
//! cargo run --release -p benchmarks --bin robustness
//! ```
//!
//! Three scenes against one server, in one run, each from addresses of its
//! own on this machine's loopback network (127.0.0.0/8), so that the
//! per-address cap treats them as the different machines they stand for:
//!
//! 1. **Held at the cap**: `MAX_HELD` long polls from distinct clients; then
//!    one more, which must be answered at once, and a post, which must get in.
//! 2. **A flood of distinct keys**: `--flood` long polls (1,000,000 by
//!    default), each from a client id of its own and with a cursor from a
//!    life of the store that never was, over a few kept-alive connections;
//!    the server's memory before and after.
//! 3. **Slow clients**: `--slow` connections (10,000 by default) from one
//!    address that each send half a request header and stop; meanwhile,
//!    ordinary polls from other addresses, timed.
//!
//! The server runs in a process of its own (this program again, with
//! `--serve`) on one core where there are two, so its memory is its own. The
//! results go to `book/src/figures/robustness.md`, or to `--out`.

use axum::{Router, extract::State, routing::get};
use benchmarks::{percentile, raise_open_files_limit, read_response, usage};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

/// The epoch of the benchmark's store, so cursors are easy to write.
const EPOCH: u64 = 7;

#[derive(clap::Parser)]
#[command(about = "Exercise 07's server under abuse: held at the cap, a flood of distinct keys, slow clients")]
struct Args {
    /// How many requests with distinct client ids and cursors to send.
    #[arg(long, default_value_t = 1_000_000)]
    flood: usize,
    /// How many connections that never finish their header to open.
    #[arg(long, default_value_t = 10_000)]
    slow: usize,
    /// Where to write the table [default: book/src/figures/robustness.md].
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Be the server (the benchmark starts itself again with this).
    #[arg(long, hide = true)]
    serve: bool,
}

// ---------------------------------------------------------------------------
// The server: exercise 07's app within its limits, plus a page about itself
// ---------------------------------------------------------------------------

type MemoryHub = long_polling::hold::Hub<redis_chat::memory::MemoryStore>;

fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        let store = Arc::new(redis_chat::memory::MemoryStore::with_epoch(long_polling::MAX_MESSAGES, EPOCH));
        let hub = Arc::new(long_polling::hold::Hub::new(store, long_polling::news::News::local()));
        let stats = Router::new()
            .route(
                "/stats",
                get(|State(hub): State<Arc<MemoryHub>>| async move {
                    let (_, rss) = usage();
                    format!("{} {rss} {}", hub.held(), hub.answers.len())
                }),
            )
            .with_state(hub.clone());
        let app = stats.merge(long_polling::app_with(hub, governor::clock::DefaultClock::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        let limits = chat_page::serve::Limits::default();
        chat_page::serve::serve_with(listener, app, limits, std::future::pending(), || {}).await.unwrap();
    });
}

// ---------------------------------------------------------------------------
// The clients
// ---------------------------------------------------------------------------

/// A connection to the server from 127.`a`.`b`.`c`: a machine of its own.
async fn connect_from(port: u16, [a, b, c]: [u8; 3]) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((Ipv4Addr::new(127, a, b, c), 0))).unwrap();
    socket.connect(SocketAddr::from(([127, 0, 0, 1], port))).await.expect("the server accepts")
}

/// One request on a new connection from `from`; its status and body.
async fn once(port: u16, from: [u8; 3], method: &str, path: &str, client: &str, body: &str) -> (u16, String) {
    let mut stream = connect_from(port, from).await;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-client-id: {client}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = Vec::new();
    let status = read_response(&mut stream, &mut buffer).await.unwrap_or(0);
    let text = String::from_utf8_lossy(&buffer).into_owned();
    (status, text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default())
}

/// Held requests, server memory in KiB, cached answers.
async fn stats(port: u16) -> (usize, u64, usize) {
    let (_, text) = once(port, [0, 9, 1], "GET", "/stats", "stats", "").await;
    let mut numbers = text.split_whitespace().map(|n| n.parse::<u64>().unwrap_or(0));
    let mut next = || numbers.next().unwrap_or(0);
    (next() as usize, next(), next() as usize)
}

async fn post(port: u16, from: [u8; 3], text: &str) -> (u16, Duration) {
    let started = Instant::now();
    let body = format!("{{\"user\":\"bench\",\"text\":\"{text}\"}}");
    let (status, _) = once(port, from, "POST", "/poll", &format!("poster-{text}"), &body).await;
    (status, started.elapsed())
}

struct AtTheCap {
    held: usize,
    another_status: u16,
    another_ms: f64,
    post_status: u16,
    post_ms: f64,
}

/// Scene 1: `MAX_HELD` long polls, then one more and a post.
async fn held_at_the_cap(port: u16) -> AtTheCap {
    let max_held = long_polling::hold::MAX_HELD;
    let mut held = Vec::with_capacity(max_held);
    for n in 0..max_held {
        // 40 connections from each of 127.0.1.1, 127.0.1.2, ...: under the per-address cap.
        let from = [0, 1, (n / 40 + 1) as u8];
        let mut stream = connect_from(port, from).await;
        let request = format!(
            "GET /poll?since=1&epoch={EPOCH}&wait=30 HTTP/1.1\r\nhost: 127.0.0.1\r\nx-client-id: holder-{n}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        held.push(stream);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while stats(port).await.0 < max_held {
        assert!(Instant::now() < deadline, "the server did not hold {max_held} requests within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let path = format!("/poll?since=1&epoch={EPOCH}&wait=30");
    let (another_status, _) = once(port, [0, 2, 1], "GET", &path, "one-too-many", "").await;
    let another_ms = started.elapsed().as_secs_f64() * 1e3;
    let (post_status, post_took) = post(port, [0, 2, 2], "at-the-cap").await;
    // The post woke them all; read their answers so the connections close cleanly.
    let mut buffer = Vec::new();
    for stream in &mut held {
        let _ = read_response(stream, &mut buffer).await;
    }
    AtTheCap { held: max_held, another_status, another_ms, post_status, post_ms: post_took.as_secs_f64() * 1e3 }
}

struct Flood {
    requests: usize,
    /// How many of them the rate limit answered 429 (a client id of its own
    /// each, but a few addresses: the per-address ceiling).
    refused: usize,
    rss_before_kib: u64,
    rss_after_kib: u64,
    cached_after: usize,
    seconds: f64,
}

/// Scene 2: `count` long polls with distinct client ids and made-up
/// cursors, over 32 kept-alive connections, each from an address of its own.
async fn flood(port: u16, count: usize) -> Flood {
    let (_, rss_before_kib, _) = stats(port).await;
    let started = Instant::now();
    let connections = 32;
    let mut workers = Vec::new();
    for c in 0..connections {
        workers.push(tokio::spawn(async move {
            let mut stream = connect_from(port, [0, 3, c as u8 + 1]).await;
            let mut buffer = Vec::new();
            let mut refused = 0;
            let mut n = c;
            while n < count {
                let request = format!(
                    "GET /poll?since=1&epoch={}&wait=30 HTTP/1.1\r\nhost: 127.0.0.1\r\nx-client-id: flood-{n}\r\n\r\n",
                    1_000_000 + n
                );
                stream.write_all(request.as_bytes()).await.unwrap();
                let status = read_response(&mut stream, &mut buffer).await.expect("an answer");
                assert!(status == 200 || status == 429, "a flood request got {status}");
                refused += usize::from(status == 429);
                n += connections;
                if n % 100_000 < connections && c == 0 {
                    eprintln!("  {n} of {count} sent, {:.0} s", started.elapsed().as_secs_f64());
                }
            }
            refused
        }));
    }
    let mut refused = 0;
    for worker in workers {
        refused += worker.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    let (_, rss_after_kib, cached_after) = stats(port).await;
    Flood { requests: count, refused, rss_before_kib, rss_after_kib, cached_after, seconds }
}

struct Slow {
    slow: usize,
    polls: usize,
    ok: usize,
    p50_ms: f64,
    p99_ms: f64,
}

/// Scene 3: `count` half-sent headers from 127.0.0.1, then 200 ordinary
/// polls from 200 other addresses, one connection each, timed.
async fn slow_clients(port: u16, count: usize) -> Slow {
    let mut slow = Vec::with_capacity(count);
    for _ in 0..count {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else { continue };
        let _ = stream.write_all(b"GET /poll HTTP/1.1\r\nhost: 127.0.0.1\r\nx-never: finishes").await;
        slow.push(stream);
    }
    let polls = 200;
    let (mut times, mut ok) = (Vec::with_capacity(polls), 0);
    for n in 0..polls {
        let started = Instant::now();
        // Readers on machines of their own (127.0.5.1, 127.0.5.2, ...), as
        // a room of them would be: the per-address ceiling is not in play.
        let (status, _) = once(port, [0, 5, (n % 250) as u8 + 1], "GET", "/poll", &format!("reader-{n}"), "").await;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        ok += usize::from(status == 200);
    }
    times.sort_by(f64::total_cmp);
    drop(slow);
    Slow { slow: count, polls, ok, p50_ms: percentile(&times, 0.5), p99_ms: percentile(&times, 0.99) }
}

fn main() {
    let Args { flood: flood_count, slow: slow_count, out, serve: as_server } = clap::Parser::parse();
    if as_server {
        return serve();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let out = out.unwrap_or_else(|| root.join("book/src/figures/robustness.md"));
    let files = raise_open_files_limit();
    let needed = (slow_count + long_polling::hold::MAX_HELD + 200) as u64;
    if needed > files {
        eprintln!(
            "error: {needed} connections need more open files than this process may have ({files}); ask for fewer"
        );
        std::process::exit(1);
    }
    let cores = benchmarks::cores();
    // The server: this program again, in a process of its own.
    let server = benchmarks::ServerProcess::start();
    let (port, pinned) = (server.port, server.pinned);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (cap, flooded, slowed) = runtime.block_on(async {
        post(port, [0, 2, 3], "first").await;
        eprintln!("[1/3] {} held requests, then one more and a post…", long_polling::hold::MAX_HELD);
        let cap = held_at_the_cap(port).await;
        eprintln!("[2/3] a flood of {flood_count} distinct keys…");
        let flooded = flood(port, flood_count).await;
        eprintln!("[3/3] {slow_count} slow clients, and ordinary polls meanwhile…");
        let slowed = slow_clients(port, slow_count).await;
        (cap, flooded, slowed)
    });
    drop(server);

    let table = format!(
        "Measured with `cargo run --release -p benchmarks --bin robustness` on a machine with {cores} cores{}, \
         exercise 07's server on the in-memory store, served within chat_page's limits.\n\n\
         | Scene | What happened |\n|---|---|\n\
         | {} long polls held (`MAX_HELD`) | one more: {} in {:.1} ms; a post: {} in {:.1} ms |\n\
         | {} long polls, each with a client id and a cursor of its own, from 32 addresses ({:.0} s) | {} refused \
         429 by the per-address ceiling; server memory {:.1} MiB before, {:.1} MiB after; {} answers cached |\n\
         | {} connections from one address that never finish their header | {} polls from other addresses: {} \
         answered 200, p50 {:.1} ms, p99 {:.1} ms |\n",
        if pinned { ", the server pinned to one core and the clients to the other" } else { ", not pinned" },
        cap.held,
        cap.another_status,
        cap.another_ms,
        cap.post_status,
        cap.post_ms,
        flooded.requests,
        flooded.seconds,
        flooded.refused,
        flooded.rss_before_kib as f64 / 1024.0,
        flooded.rss_after_kib as f64 / 1024.0,
        flooded.cached_after,
        slowed.slow,
        slowed.polls,
        slowed.ok,
        slowed.p50_ms,
        slowed.p99_ms,
    );
    std::fs::write(&out, &table).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    print!("{table}");
    eprintln!("wrote {}", out.display());
}
