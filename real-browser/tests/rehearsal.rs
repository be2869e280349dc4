//! A class rehearsed with real browsers through real failures: a class
//! server on a real socket (served as `cargo run -- classroom` serves it),
//! seven learners each with a `join` proxy of their own and a page in
//! headless Chromium, and the instructor's controls.
//!
//! What it checks is what the instructors' page promises: no correct client
//! is flagged, through Down (close connections), a restart, a `join` that
//! is stopped and started again, and 8 s without a route to the class
//! server, though in each the room sees requests a browser sent twice or
//! reports that never arrived; the known wrong client is flagged with its
//! rule; the tight limit's 429s reach exercise 04's client, which honours
//! them; in moment 3, the two pages that wait exactly what `Retry-After`
//! says come back in the same second; and exercise 08's page, whose
//! stream every failure breaks, streams again after them all: the
//! instructor's last post shows on it at once, and its lane has the tick.
//!
//! It runs in real time, about two minutes.

use classroom::control::{Control, Key};
use classroom::join::{Join, PageFile, Upstream};
use classroom::room::Tag;
use classroom::rules::TWO_AT_ONCE;
use classroom::server::ClassServer;
use real_browser::chromium::Chromium;
use real_browser::one_at_a_time;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const KEY: &str = "00112233445566778899aabbccddeeff";

/// A learner: their name, exercise, the page's files (path, source), and
/// the rule the dashboard must flag, for a wrong client.
struct Learner {
    name: &'static str,
    exercise: u32,
    files: Vec<(&'static str, &'static str)>,
    wrong: Option<&'static str>,
}

fn the_room() -> Vec<Learner> {
    let backoff = ("/backoff.js", backoff::BACKOFF_JS);
    vec![
        Learner { name: "Ann", exercise: 2, files: vec![("/client.js", settimeout_chain::CLIENT_JS)], wrong: None },
        Learner { name: "Bob", exercise: 4, files: vec![("/client.js", backoff::CLIENT_JS), backoff], wrong: None },
        Learner {
            name: "Cat",
            exercise: 7,
            files: vec![
                ("/client.js", long_polling::CLIENT_JS),
                ("/cursor.js", dont_ddos_yourself::CURSOR_JS),
                backoff,
            ],
            wrong: None,
        },
        Learner {
            name: "Wes",
            exercise: 2,
            files: vec![("/client.js", virtual_browser::known_clients::SET_INTERVAL)],
            wrong: Some(TWO_AT_ONCE.0),
        },
        // Moment 3: two pages joined with `--exact-retry-after`.
        exact("Dot"),
        exact("Eda"),
        // Exercise 08: a stream, which each failure breaks or refuses.
        Learner {
            name: "Fay",
            exercise: 8,
            files: vec![
                ("/client.js", server_sent_events::CLIENT_JS),
                ("/cursor.js", dont_ddos_yourself::CURSOR_JS),
                backoff,
            ],
            wrong: None,
        },
    ]
}

/// Where Fay, exercise 08's page, is in `the_room`.
const FAY: usize = 6;

/// Exercise 07's finished page with the backoff that waits exactly what
/// `Retry-After` says, as `join --exact-retry-after` serves it. It breaks
/// no rule the dashboard flags: it waits at least what it was told.
fn exact(name: &'static str) -> Learner {
    Learner {
        name,
        exercise: 7,
        files: vec![
            ("/client.js", long_polling::CLIENT_JS),
            ("/cursor.js", dont_ddos_yourself::CURSOR_JS),
            ("/backoff.js", virtual_browser::known_clients::BACKOFF_EXACT_RETRY_AFTER),
            ("/good-backoff.js", backoff::BACKOFF_JS),
        ],
        wrong: None,
    }
}

/// A lane's requests as the dashboard was sent them: by number, (sent,
/// answered, kind), in room time.
type Requests = std::collections::BTreeMap<usize, (u64, Option<u64>, &'static str)>;

/// A lane's streams as the dashboard was sent them: by number, when each
/// opened and the ticks drawn on it (an event each), in room time.
type Streams = std::collections::BTreeMap<usize, (u64, BTreeSet<u64>)>;

/// A TCP relay between a `join` and the class server whose route can be
/// dropped: while dropped, a connection gets no answer (its request goes
/// nowhere) until the route is back, and then it closes, as a connection
/// whose packets were lost would time out.
struct Route {
    address: std::net::SocketAddr,
    dropped: Arc<AtomicBool>,
}

impl Route {
    async fn to(target: std::net::SocketAddr) -> Route {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let dropped = Arc::new(AtomicBool::new(false));
        let down = dropped.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let down = down.clone();
                tokio::spawn(async move {
                    if down.load(Ordering::SeqCst) {
                        while down.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        return; // the route is back; this connection is lost
                    }
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Route { address, dropped }
    }

    fn drop_for_now(&self, dropped: bool) {
        self.dropped.store(dropped, Ordering::SeqCst);
    }
}

/// A server as `cargo run -- classroom` and `join` serve theirs (a closed
/// connection is closed, not answered), on `address`, until `stop`.
struct Served {
    address: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), String>>,
}

impl Served {
    async fn start(
        app: axum::Router,
        address: std::net::SocketAddr,
        on_stop: impl FnOnce() + Send + 'static,
    ) -> Served {
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped = async move {
            let _ = stopped.await;
        };
        let limits = chat_page::serve::Limits::default();
        let serving = tokio::spawn(chat_page::serve::serve_with(listener, app, limits, stopped, on_stop));
        Served { address, stop, serving }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Ctrl-C: it stops, and its port is free again.
    async fn stop(self) -> std::net::SocketAddr {
        let _ = self.stop.send(());
        let _ = self.serving.await;
        self.address
    }
}

#[test]
fn a_rehearsed_class_flags_no_correct_client_through_real_failures() {
    let _one = one_at_a_time();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        // The class server, served as `cargo run -- classroom` serves it.
        let class = ClassServer::new(
            Key::given(KEY).unwrap(),
            classroom::memory_chat(governor::clock::DefaultClock::default()),
        )
        .unwrap();
        let stopping = class.clone();
        let any_port: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        let served = Served::start(classroom::server::router(class.clone()), any_port, move || stopping.stop()).await;
        let class_address = served.address;

        // Each learner: their files on disk, a route, a join, a browser.
        let folder = std::env::temp_dir().join(format!("rehearsal-{}", std::process::id()));
        let room = the_room();
        let mut routes = Vec::new();
        let mut joins = Vec::new();
        let mut browsers = Vec::new();
        for learner in &room {
            let dir = folder.join(learner.name);
            std::fs::create_dir_all(&dir).unwrap();
            let files = learner
                .files
                .iter()
                .map(|(path, source)| {
                    let file = dir.join(path.trim_start_matches('/'));
                    std::fs::write(&file, source).unwrap();
                    PageFile { path: (*path).to_owned(), file }
                })
                .collect();
            let route = Route::to(class_address).await;
            let upstream = Upstream::remote(&format!("http://{}", route.address)).unwrap();
            let tag = Tag { name: learner.name.to_owned(), exercise: learner.exercise };
            let join = Arc::new(Join::fixed(tag, files, upstream));
            let join = (Served::start(classroom::join::router(join.clone()), any_port, || {}).await, join);
            let Some(browser) = Chromium::start().await else { return };
            browser.open(&join.0.url("/")).await;
            routes.push(route);
            joins.push(join);
            browsers.push(browser);
        }

        // What the dashboard showed, once a second: each learner's flags
        // (a flag lasts two minutes) and the kinds of mark on their lane.
        type Seen = Vec<(BTreeSet<&'static str>, BTreeSet<&'static str>, Requests, Streams)>;
        let shown: Arc<std::sync::Mutex<Seen>> = Arc::new(std::sync::Mutex::new(vec![Default::default(); room.len()]));
        let names: Vec<&'static str> = room.iter().map(|l| l.name).collect();
        let watching = {
            let (class, shown, names) = (class.clone(), shown.clone(), names.clone());
            tokio::spawn(async move {
                loop {
                    let feed = class.room.feed(0);
                    for (n, name) in names.iter().enumerate() {
                        let mut shown = shown.lock().unwrap();
                        shown[n].0.extend(class.room.flags_of(name).unwrap_or_default().iter().map(|f| f.rule));
                        if let Some(lane) = feed.learners.iter().find(|l| l.name == *name) {
                            shown[n].1.extend(lane.requests.iter().map(|r| r.kind));
                            for request in &lane.requests {
                                shown[n].2.insert(request.n, (request.sent, request.answered, request.kind));
                                if let Some(stream) = &request.stream {
                                    let (_, ticks) =
                                        shown[n].3.entry(request.n).or_insert_with(|| (stream.opened, BTreeSet::new()));
                                    ticks.extend(stream.ticks.iter().copied());
                                }
                            }
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            })
        };
        let press = |control: Control| {
            let class = class.clone();
            async move { class.control(control).await.unwrap() }
        };
        let wait = |seconds: u64| tokio::time::sleep(Duration::from_secs(seconds));

        wait(5).await;
        // Moment 3, on held requests, first: every page has just had its
        // answers, so its backoff is at its first step, and the 10 s of
        // Retry-After is what the exact waiters wait (after a run of
        // failures, their own 30 s step would be longer).
        press(Control::Down { close: false }).await;
        let down_at = class.room.now();
        wait(17).await;
        press(Control::Normal).await;
        wait(5).await;
        // Moment 1: a slow server, longer than the 3 s interval.
        press(Control::Slow { seconds: 5 }).await;
        wait(12).await;
        press(Control::Normal).await;
        wait(4).await;
        // Down, connections closed: Chromium sends a request whose kept-alive
        // connection closed unanswered once more, with the same headers.
        press(Control::Down { close: true }).await;
        wait(7).await;
        press(Control::Normal).await;
        wait(12).await;
        // A restart breaks every held request (Cat's long poll) and every
        // stream (Fay's).
        press(Control::Restart).await;
        let restarted_at = class.room.now();
        wait(5).await;
        // Ann stops `join` (Ctrl-C) and starts it again, on the same port.
        let (ann, join) = joins.remove(0);
        let address = ann.stop().await;
        wait(3).await;
        joins.insert(0, (Served::start(classroom::join::router(join.clone()), address, || {}).await, join));
        // Bob's laptop loses its route to the class server for 8 s.
        routes[1].drop_for_now(true);
        wait(8).await;
        routes[1].drop_for_now(false);
        wait(12).await;
        // Moment 5, on exercise 04: the tight limit's 429s, honoured.
        press(Control::Tight).await;
        wait(10).await;
        press(Control::Normal).await;
        wait(4).await;
        // After it all, the instructor posts: a stream delivers it at once.
        let posted_at = class.room.now();
        press(Control::Post { text: "streamed after every failure".into() }).await;
        let fay_saw = browsers[FAY].until_shown("streamed after every failure", Duration::from_secs(3)).await;
        wait(2).await;
        watching.abort();

        let feed = class.room.feed(0);
        let shown = shown.lock().unwrap().clone();
        for (learner, (rules, ..)) in room.iter().zip(&shown) {
            let lane = feed.learners.iter().find(|l| l.name == learner.name).expect("on the dashboard");
            match learner.wrong {
                None => assert!(
                    rules.is_empty(),
                    "{} (exercise {:02}), a correct client in Chromium, was flagged {rules:?}: {:?}",
                    learner.name,
                    learner.exercise,
                    lane.flags
                ),
                Some(rule) => assert!(rules.contains(rule), "{} was not flagged {rule:?}: {rules:?}", learner.name),
            }
            if learner.wrong.is_none() {
                assert_eq!(lane.errors, 0, "{}'s page threw: {:?}", learner.name, lane.last_error);
            }
        }
        // Each failure reached the pages it was for.
        let (ann, bob) = (&shown[0].1, &shown[1].1);
        assert!(ann.contains("error"), "Down (close) reached Ann: {ann:?}");
        assert!(bob.contains("429"), "the tight limit reached Bob's 04: {bob:?}");
        // The exact waiters' held polls got the 503 in the same instant,
        // and their next polls came 10 s later, together.
        // When each page's poll got the 503 that Down gave (room time), and
        // when its next poll came.
        let back_after_503 = |n: usize| -> (u64, u64) {
            let requests = &shown[n].2;
            let (told, answered) = requests
                .iter()
                .filter_map(|(number, (_, answered, kind))| {
                    answered.filter(|at| *kind == "503" && *at + 500 >= down_at).map(|at| (*number, at))
                })
                .min_by_key(|(_, at)| *at)
                .unwrap_or_else(|| panic!("Down's 503 did not reach {}: {requests:?}", names[n]));
            let back = requests.range(told + 1..).next().map(|(_, (sent, ..))| *sent);
            (answered, back.unwrap_or_else(|| panic!("{} did not poll again after the 503: {requests:?}", names[n])))
        };
        let (dot, eda) = (back_after_503(4), back_after_503(5));
        assert!(dot.0.abs_diff(eda.0) < 500, "the held polls got the 503 together: {dot:?} {eda:?}");
        assert!(dot.1.abs_diff(eda.1) < 1_000, "the exact waiters came back in the same second: {dot:?} {eda:?}");
        for (told, back) in [dot, eda] {
            assert!((9_900..11_500).contains(&(back - told)), "after exactly the 10 s they were told: {told} {back}");
        }
        // Fay's page streamed through it all: the browser or her page
        // opened a new stream after the restart broke hers, the last post
        // showed on her page within a second, and her lane drew its tick.
        let streams = &shown[FAY].3;
        assert!(
            streams.values().any(|(opened, _)| *opened > restarted_at),
            "Fay's stream was opened again after the restart at {restarted_at} ms: {streams:?}"
        );
        assert!(
            fay_saw.is_some_and(|after| after < Duration::from_secs(1)),
            "the instructor's last post reached Fay's stream at once: shown after {fay_saw:?}"
        );
        assert!(
            streams.values().any(|(_, ticks)| ticks.iter().any(|at| *at >= posted_at)),
            "Fay's lane drew a tick for the last post (posted at {posted_at} ms): {streams:?}"
        );

        for browser in browsers {
            browser.close().await;
        }
        for (join, _) in joins {
            join.stop().await;
        }
        served.stop().await;
        let _ = std::fs::remove_dir_all(&folder);
    });
}
