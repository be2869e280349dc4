//! The classroom's load: a class server with a room of learners and the
//! dashboard open.
//!
//! ```console
//! cargo run --release -p benchmarks --bin room
//! ```
//!
//! `--learners` learners (300, the room's cap) each have two pages open:
//! one that polls every second, as exercise 05's client does with its
//! interval cut to 1 s, and one that long polls, as exercise 07's does, so
//! that about as many long polls are held at once. A message is posted
//! every `--post-every` seconds (5), which wakes every held one, and one
//! dashboard reads the feed as `/class` does. Each page is tagged as the
//! join proxy tags it and logs its polls as the reporter does; each learner
//! connects from an address of its own (127.1.x.y: loopback, one per
//! laptop), opening a connection per request as the join proxy does.
//!
//! The class server runs as a process of its own, pinned to one core, on
//! one thread (`ServerProcess`); after `--warmup` seconds (125, so that
//! every learner's page log holds the two minutes the flags look at), its
//! CPU time and memory are read over `--seconds` (30). The table goes to
//! `book/src/figures/classroom-load.md`, or to `--out`.

use axum::body::Body;
use axum::http::Request;
use benchmarks::{ServerProcess, raise_open_files_limit, usage};
use clap::Parser;
use classroom::control::Key;
use classroom::join::Upstream;
use classroom::room::Tag;
use classroom::simulate::{self, Behaviour, Learner, Tally};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Serve the class server (the benchmark starts itself with this).
    #[arg(long, hide = true)]
    serve: bool,
    #[arg(long, default_value_t = 300)]
    learners: usize,
    #[arg(long, default_value_t = 5)]
    post_every: u64,
    /// Long enough for every learner's page log to be full: the flags look
    /// at the last two minutes (`classroom::room::FLAG_SECONDS`).
    #[arg(long, default_value_t = 125)]
    warmup: u64,
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    #[arg(long, default_value = "book/src/figures/classroom-load.md")]
    out: String,
}

const KEY: &str = "0000111122223333444455556666777a";

fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        let class = classroom::server::ClassServer::new(
            Key::given(KEY).unwrap(),
            classroom::memory_chat(governor::clock::DefaultClock::default()),
        )
        .unwrap();
        let stats = axum::Router::new().route(
            "/stats",
            axum::routing::get(|| async {
                let (cpu, rss) = usage();
                axum::Json(serde_json::json!({ "cpu_us": cpu, "rss_kb": rss }))
            }),
        );
        let app = stats.merge(classroom::server::router(class));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        let never = std::future::pending::<()>();
        chat_page::serve::serve_with(listener, app, chat_page::serve::Limits::default(), never, || {}).await.unwrap();
    });
}

async fn stats(class: &Upstream) -> (u64, u64) {
    let response = class.send(Request::get("/stats").body(Body::empty()).unwrap()).await;
    let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&body).expect("the server's /stats");
    (stats["cpu_us"].as_u64().unwrap(), stats["rss_kb"].as_u64().unwrap())
}

/// Learner `i`'s laptop: an address of its own on loopback.
fn laptop(i: usize) -> std::net::IpAddr {
    std::net::IpAddr::from([127, 1, (i / 250) as u8, (i % 250 + 1) as u8])
}

fn main() {
    let args = Args::parse();
    if args.serve {
        return serve();
    }
    raise_open_files_limit();
    let server = ServerProcess::start();
    let url = format!("http://127.0.0.1:{}", server.port);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let report = runtime.block_on(async {
        let class = Upstream::remote(&url).unwrap();
        let (_, rss_empty) = stats(&class).await;
        // The room runs on a little after the measurement, to be read whole.
        let end = Instant::now() + Duration::from_secs(args.warmup + args.seconds + 2);
        let mut learners = tokio::task::JoinSet::new();
        let pages = [Behaviour::Chain { interval: Duration::from_secs(1) }, Behaviour::LongPoll];
        for i in 0..args.learners {
            for behaviour in pages {
                let tag = Tag { name: format!("learner {i}"), exercise: 7 };
                let learner = Learner { tag, behaviour, hidden: None };
                let class = Upstream::remote(&url).unwrap().from(laptop(i));
                // Not all at once: a room joins over a second.
                let start = Duration::from_millis((i as u64 * 1000) / args.learners.max(1) as u64);
                learners.spawn(async move {
                    tokio::time::sleep(start).await;
                    simulate::run(class, learner, end).await
                });
            }
        }
        let dashboard = tokio::spawn(simulate::dashboard(Upstream::remote(&url).unwrap(), end));
        let poster = tokio::spawn({
            let class = Upstream::remote(&url).unwrap();
            let every = Duration::from_secs(args.post_every);
            async move {
                let mut posted = 0u64;
                while Instant::now() + every < end {
                    tokio::time::sleep(every).await;
                    let body = format!(r#"{{"user":"instructor","text":"message {posted}"}}"#);
                    let request = Request::post("/poll")
                        .header("content-type", "application/json")
                        .header("x-client-id", "instructor")
                        .body(Body::from(body))
                        .unwrap();
                    if class.send(request).await.status() == 201 {
                        posted += 1;
                    }
                }
                posted
            }
        });
        tokio::time::sleep(Duration::from_secs(args.warmup)).await;
        eprint!("measuring for {} s…", args.seconds);
        let (cpu_before, _) = stats(&class).await;
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        let (cpu_after, rss) = stats(&class).await;
        let wall = started.elapsed().as_secs_f64();
        // The whole room, as a dashboard's first answer has it: megabytes,
        // more than the join proxy passes on, so read off a raw connection.
        let (feed, whole) = {
            use tokio::io::AsyncWriteExt;
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
            stream.write_all(b"GET /class/feed?since=0 HTTP/1.1\r\nhost: class\r\n\r\n").await.unwrap();
            let mut buffer = Vec::new();
            let answer = benchmarks::read_answer(&mut stream, &mut buffer).await.expect("the feed");
            let body = &buffer[answer.body];
            (serde_json::from_slice::<serde_json::Value>(body).expect("the feed's JSON"), body.len())
        };
        let mut tally = Tally::default();
        while let Some(done) = learners.join_next().await {
            tally += done.expect("a learner");
        }
        let (answers, bytes) = dashboard.await.unwrap();
        let posted = poster.await.unwrap();
        eprintln!(" done.");
        let share = (cpu_after - cpu_before) as f64 / 1e6 / wall * 100.0;
        let total = args.warmup + args.seconds + 2;
        let flagged = feed["learners"].as_array().map_or(0, |l| {
            l.iter().filter(|learner| learner["flags"].as_array().is_some_and(|f| !f.is_empty())).count()
        });
        // Every simulated client keeps the rules, and none was left unanswered.
        assert_eq!(flagged, 0, "a right client was flagged: {}", feed["learners"]);
        assert_eq!(tally.failed, 0, "requests went unanswered");
        format!(
            "| | measured |\n|---|---|\n\
             | learners, each with a page polling every second (exercise 05's chain, its interval cut to 1 s) and one long polling (exercise 07's) | {} |\n\
             | long polls held, at the end | {} |\n\
             | a message posted every | {} s ({posted} in {total} s) |\n\
             | dashboards open | 1 ({answers} feed answers in {total} s, {:.0} KiB each on average; the first, with the whole room, {:.1} MiB) |\n\
             | requests answered, refused, failed (whole run, every learner) | {}, {}, {} |\n\
             | learners flagged (all clients here keep the rules) | {flagged} |\n\
             | **class server CPU, share of one core** | **{share:.1}%** (goal: under 10%) |\n\
             | class server memory (resident), empty and with the room | {:.1} MiB, {:.1} MiB |\n\n\
             Measured by `cargo run --release -p benchmarks --bin room` on a machine with {} cores, the server {}, \
             over {} s after {} s of warm-up. Each learner opens a connection per request, as the join proxy does.\n",
            args.learners,
            feed["room"]["held"],
            args.post_every,
            bytes as f64 / answers.max(1) as f64 / 1024.0,
            whole as f64 / 1024.0 / 1024.0,
            tally.answered,
            tally.refused,
            tally.failed,
            rss_empty as f64 / 1024.0,
            rss as f64 / 1024.0,
            benchmarks::cores(),
            if server.pinned { "pinned to one core and the clients to the other" } else { "not pinned" },
            args.seconds,
            args.warmup,
        )
    });
    print!("{report}");
    std::fs::write(&args.out, &report).unwrap_or_else(|error| panic!("cannot write {}: {error}", args.out));
    eprintln!("written to {}", args.out);
}
