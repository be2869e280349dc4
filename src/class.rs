//! Classroom mode from the command line: `classroom` (the instructor's class
//! server), `join` (a learner's page, joined to it), `control` (the
//! instructor's controls), and the reports `check` and `watch` send while
//! joined. The parts themselves are in the `classroom` crate.

use crate::course::Exercise;
use crate::paint::Paint;
use crate::workshop::{Check, Tally, Workshop};
use classroom::control::{Control, Key};
use classroom::join::{Join, Page as JoinedPage, PageFile, Pages, Upstream};
use classroom::room::Tag;
use classroom::server::{ClassServer, KEY_HEADER};
use serde::{Deserialize, Serialize};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Where `join` says, while it runs, which class this checkout has joined:
/// `check` and `watch` read it to report their results.
pub const JOINED_FILE: &str = "target/workshop-joined.toml";

/// Where `join` remembers the class's address and the learner's name, so
/// that the next `join` needs neither (git ignores it).
pub const REMEMBERED_FILE: &str = ".workshop-class.toml";

/// How often `join` asks the class server which exercise the room is on.
pub const ROOM_EVERY: Duration = Duration::from_secs(5);

/// Where `classroom` writes its address and key, for `control`.
pub const CLASSROOM_FILE: &str = "target/workshop-classroom.toml";

/// The port the class server listens on unless `--bind` says otherwise.
pub const CLASS_PORT: u16 = 4100;

/// How long a report of a check may take before it is given up.
pub const REPORT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Joined {
    pub url: String,
    pub name: String,
    /// Where `join` serves the learner's page: while it runs, something
    /// listens there. If nothing does (`join` was killed without its
    /// Ctrl-C), the file is stale and nothing is reported.
    pub page: String,
    /// The exercise the instructor set for the room, while `join` follows
    /// it: `check`, `watch` and `hint` without a number take it.
    #[serde(default)]
    pub exercise: Option<u32>,
}

/// What `join` remembers for the next time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Remembered {
    url: String,
    name: String,
}

/// The class's address and the learner's name: as given, or as the last
/// `join` remembered them.
pub fn remembered(root: &Path, url: Option<String>, name: Option<String>) -> Result<(String, String), String> {
    let last: Option<Remembered> =
        std::fs::read_to_string(root.join(REMEMBERED_FILE)).ok().and_then(|text| toml::from_str(&text).ok());
    let url = url.or_else(|| last.as_ref().map(|r| r.url.clone())).ok_or(
        "give the class server's address, as your instructor shows it: `cargo run -- join http://192.168.1.20:4100 \
         --name \"Your Name\"` (the next `join` remembers it)",
    )?;
    let name = name.or_else(|| last.map(|r| r.name)).ok_or(
        "give your name for the dashboard: `cargo run -- join <address> --name \"Your Name\"` (the next `join` \
         remembers it)",
    )?;
    Ok((url, name))
}

/// The exercise the room is on, while `join` follows it.
pub fn room_exercise(root: &Path) -> Option<u32> {
    joined(root)?.exercise
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Classroom {
    url: String,
    key: String,
}

/// Until Ctrl-C, or (on Unix) a polite kill: either way the class server
/// and `join` tidy up the files they wrote before they go.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).ok();
        let terminated = async {
            match terminate.as_mut() {
                Some(terminate) => {
                    terminate.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
        }
    }
    #[cfg(not(unix))]
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Runtime::new().map_err(|error| format!("cannot start the server: {error}"))
}

fn flush() {
    if !std::io::stdout().is_terminal() {
        let _ = std::io::stdout().flush();
    }
}

/// The address learners on this network can reach this machine at: the
/// one the system would send from to the outside. No packet is sent (a UDP
/// socket's `connect` only picks a route).
fn lan_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?; // TEST-NET-1: a route, never a host
    Some(socket.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

/// `cargo run -- classroom`: serve the class until Ctrl-C.
pub fn classroom(
    root: &Path,
    bind: &str,
    redis: Option<String>,
    key: Option<String>,
    paint: Paint,
) -> Result<(), String> {
    let key = match key {
        Some(text) => Key::given(&text)?,
        None => Key::random(),
    };
    let make_chat = match redis.clone() {
        Some(url) => classroom::redis_chat(url),
        None => classroom::memory_chat(governor::clock::DefaultClock::default()),
    };
    let bind = with_port(bind);
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&bind).await.map_err(|error| match error.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "could not listen on {bind}: the port is taken (another class server running?); stop it, or \
                 pick another port: --port 4101"
            ),
            _ => format!("could not listen on {bind}: {error}"),
        })?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let server = match redis {
            Some(_) => ClassServer::on_redis(key.clone(), make_chat)?,
            None => ClassServer::new(key.clone(), make_chat)?,
        };
        let port = address.port();
        let reachable = if address.ip().is_unspecified() {
            lan_address().map(|ip| format!("http://{ip}:{port}"))
        } else if address.ip().is_loopback() {
            None
        } else {
            Some(format!("http://{address}"))
        };
        let local = format!("http://127.0.0.1:{port}");
        let store = match &redis {
            Some(url) => format!("on Redis at {}", classroom::redacted(url)),
            None => "in memory".to_owned(),
        };
        println!("{} exercise 08's chat, {store}, listening on {address}", paint.bold("Class server:"));
        match &reachable {
            Some(url) => {
                println!("\n  Learners join with:  {}", paint.bold(&format!("cargo run -- join {url} --name \"Their Name\"")));
                println!("  The projector:       {url}/class");
                println!(
                    "  (That is this machine's address on the network it sends from. If learners cannot reach it, \
                     try another of its addresses: `ip addr`, `ipconfig`.)"
                );
            }
            None if address.ip().is_loopback() => println!(
                "\n  Bound to {address}: only this machine can reach it. For the room, use --bind 0.0.0.0:{port}.\n  \
                 Learners on this machine join with:  cargo run -- join {local} --name \"Their Name\""
            ),
            None => println!(
                "\n  This machine's network address could not be found (no network?): learners join with \
                 `cargo run -- join http://<this machine's address>:{port} --name ...`"
            ),
        }
        println!("  Your dashboard:      {}", paint.bold(&format!("{local}/class#key={}", key.as_str())));
        println!(
            "\n{} the chat is open to anyone who can reach this address: they can read and post. Only the controls \
             need the key; keep it off the projector (the dashboard takes it out of the address bar).",
            paint.yellow("Note:")
        );
        println!("Controls from a terminal: `cargo run -- control slow 3` (… normal, down, flaky 30, tight, restart). Ctrl-C stops.");
        flush();
        let written = toml::to_string(&Classroom { url: local, key: key.as_str().to_owned() }).map_err(|e| e.to_string())?;
        let file = root.join(CLASSROOM_FILE);
        let _ = std::fs::create_dir_all(file.parent().expect("a folder"));
        write_private(&file, &written);
        let app = classroom::server::router(server.clone());
        let stopping = server.clone();
        let served = chat_page::serve::serve_with(
            listener,
            app,
            chat_page::serve::Limits::default(),
            stopped(),
            move || stopping.stop(),
        )
        .await;
        let _ = std::fs::remove_file(&file);
        println!("The class server has stopped.");
        served
    })
}

/// `--bind` as given, with [`CLASS_PORT`] when it names an address alone
/// (`127.0.0.1`, `::1`, `[::1]`).
pub fn with_port(bind: &str) -> String {
    let bare = bind.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(address) => std::net::SocketAddr::new(address, CLASS_PORT).to_string(),
        Err(_) => bind.to_owned(),
    }
}

/// Write a file only its owner may read, where the system allows.
fn write_private(file: &Path, text: &str) {
    let _ = std::fs::write(file, text);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600));
    }
}

/// Which page `join` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Which {
    /// This exercise's, or (`None`) the current exercise's, asked again at
    /// each page load, so the page moves on when a check passes.
    pub exercise: Option<u32>,
    /// The solution's files instead of the learner's (for a demonstration).
    pub finished: bool,
    /// A backoff that waits exactly what `Retry-After` says, in place of
    /// the page's own (moment 3: the lockstep it makes).
    pub exact_retry_after: bool,
}

/// The known wrong backoff that waits exactly what `Retry-After` says (it
/// takes `retryAfterMs` from the right one, served as `/good-backoff.js`).
pub const EXACT_RETRY_AFTER_JS: &str = "virtual-browser/clients/backoff-exact-retry-after.js";

fn page_of(root: &Path, exercise: &Exercise, which: Which) -> JoinedPage {
    let mut files: Vec<PageFile> =
        exercise.page_files(root, which.finished).into_iter().map(|(path, file)| PageFile { path, file }).collect();
    if which.exact_retry_after
        && let Some(backoff) = files.iter_mut().find(|f| f.path == "/backoff.js")
    {
        let good = std::mem::replace(&mut backoff.file, root.join(EXACT_RETRY_AFTER_JS));
        files.push(PageFile { path: "/good-backoff.js".to_owned(), file: good });
    }
    JoinedPage { exercise: exercise.number, files }
}

/// `cargo run -- join URL --name NAME`: serve the learner's page, joined
/// to the class at `url`, until Ctrl-C.
pub fn join(workshop: &Workshop, which: Which, url: &str, name: &str, port: u16, paint: Paint) -> Result<(), String> {
    let name = classroom::tag::check_name(name)?;
    let upstream = Upstream::remote(url)?;
    let root = workshop.root().to_owned();
    // The room's exercise, as the class server last said (0: none set).
    let room = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let pages: Pages = match which.exercise {
        Some(number) => {
            let exercise = workshop.exercise(Some(number))?.clone();
            Box::new(move || page_of(&root, &exercise, which))
        }
        None => {
            let fallback = workshop.current().clone();
            let room = room.clone();
            Box::new(move || {
                let Ok(workshop) = Workshop::open(&root) else {
                    return page_of(&root, &fallback, which);
                };
                let set = room.load(std::sync::atomic::Ordering::Relaxed);
                match workshop.exercise(Some(set)) {
                    Ok(exercise) if set > 0 => page_of(&root, exercise, which),
                    _ => page_of(&root, workshop.current(), which),
                }
            })
        }
    };
    let join = Arc::new(Join::new(name.clone(), pages, upstream.clone()));
    let exercise = workshop.exercise(Some(join.page().exercise))?.clone();
    if which.exact_retry_after && !join.page().files.iter().any(|f| f.path == "/good-backoff.js") {
        return Err(format!(
            "--exact-retry-after replaces the page's backoff.js, and exercise {:02}'s page has none: use it with \
             exercise 04 to 08",
            exercise.number
        ));
    }
    let finished = which.finished;
    let root = workshop.root().to_owned();
    let url = url.trim_end_matches('/').to_owned();
    runtime()?.block_on(async move {
        let reached = upstream
            .send(axum::http::Request::get("/class/feed").body(axum::body::Body::empty()).expect("a request"))
            .await;
        if reached.extensions().get::<chat_page::serve::CloseConnection>().is_some() {
            println!(
                "{} the class server at {url} does not answer (yet?). Serving anyway: your page will show the \
                 network errors until it does. Check the address with your instructor.",
                paint.yellow("Warning:")
            );
        }
        let listener = chat_page::listen(
            port,
            "is `join` already running? Pick another port: `cargo run -- join ... --port 3001`",
        )
        .await?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let joined = Joined { url: url.clone(), name: name.clone(), page: address.to_string(), exercise: None };
        let file = root.join(JOINED_FILE);
        let _ = std::fs::create_dir_all(file.parent().expect("a folder"));
        let _ = std::fs::write(&file, toml::to_string(&joined).map_err(|e| e.to_string())?);
        let remember = Remembered { url: url.clone(), name: name.clone() };
        let _ = std::fs::write(root.join(REMEMBERED_FILE), toml::to_string(&remember).map_err(|e| e.to_string())?);
        if which.exercise.is_none() {
            tokio::spawn(follow_the_room(upstream.clone(), room, file.clone(), joined));
        }
        let whose = if finished { "the finished" } else { "your" };
        let edit = if finished {
            " It is the finished page, not yours: leave out --finished to run your own."
        } else {
            " Edit your files and reload the page to run the new code."
        };
        let follows = match which.exercise {
            Some(_) => String::new(),
            None => " It follows the exercise your instructor sets for the room (else your current one): when it \
                     changes, reload the page."
                .to_owned(),
        };
        println!(
            "{} {url} as {name:?}, with {whose} exercise {:02} ({}).\n\n  Open http://{address}/ : the page and \
             its client, its requests going to the class.\n {edit}{follows}\n  `cargo run -- check` reports to the \
             class while this runs.\n\nCtrl-C leaves the class.",
            paint.bold("Joined"),
            exercise.number,
            exercise.title
        );
        flush();
        // Ctrl-C ends the streams being relayed first: the server waits for
        // every answer to finish, and a stream's never does.
        let stopping = join.clone();
        let app = classroom::join::router(join);
        let served =
            chat_page::serve::serve_with(listener, app, chat_page::serve::Limits::default(), stopped(), move || {
                stopping.stop()
            })
            .await;
        let _ = std::fs::remove_file(&file);
        println!("You have left the class: checks report nothing now.");
        served
    })
}

/// The class this checkout has joined, if `join` is running.
pub fn joined(root: &Path) -> Option<Joined> {
    let text = std::fs::read_to_string(root.join(JOINED_FILE)).ok()?;
    let joined: Joined = toml::from_str(&text).ok()?;
    // A `join` that is gone left a stale file: nothing serves its page
    // there any more (on this machine, a refused connection comes at once),
    // or something else does, such as an exercise's own server, which has
    // no reporter.
    let page: std::net::SocketAddr = joined.page.parse().ok()?;
    is_join(page).then_some(joined)
}

/// Ask the class server which exercise the room is on, every
/// [`ROOM_EVERY`], for the page `join` serves and for `check`, `watch` and
/// `hint` (through the joined file). A class server that does not answer
/// leaves things as they were.
async fn follow_the_room(
    upstream: Upstream,
    room: Arc<std::sync::atomic::AtomicU32>,
    file: std::path::PathBuf,
    mut joined: Joined,
) {
    loop {
        let request = axum::http::Request::get("/class/room").body(axum::body::Body::empty()).expect("a request");
        let answer = upstream.send(request).await;
        if answer.status().is_success()
            && let Ok(bytes) = axum::body::to_bytes(answer.into_body(), 1024).await
            && let Ok(said) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            let set = said["exercise"].as_u64().and_then(|n| u32::try_from(n).ok());
            room.store(set.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
            if joined.exercise != set {
                joined.exercise = set;
                if let Ok(text) = toml::to_string(&joined) {
                    let _ = std::fs::write(&file, text);
                }
                if let Some(number) = set {
                    println!("The room is on exercise {number:02} now: reload your page to follow it.");
                    flush();
                }
            }
        }
        tokio::time::sleep(ROOM_EVERY).await;
    }
}

/// Whether a `join` serves at `page`: only its pages have the reporter.
fn is_join(page: std::net::SocketAddr) -> bool {
    use std::io::{Read, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&page, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
    if stream.write_all(b"HEAD /class/report.js HTTP/1.1\r\nhost: join\r\nconnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// A check's result, on its way to the class server. [`Reporting::finish`]
/// waits for it at most [`REPORT_TIMEOUT`]; a report that fails is dropped
/// without a word, and never changes what the check said.
pub struct Reporting(Option<std::thread::JoinHandle<()>>);

impl Reporting {
    pub fn finish(self) {
        if let Some(thread) = self.0 {
            let started = std::time::Instant::now();
            while !thread.is_finished() && started.elapsed() < REPORT_TIMEOUT {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Report `check` to the class, if joined. Sent from a thread of its own,
/// so the learner does not wait for it.
pub fn report_check(root: &Path, check: &Check) -> Reporting {
    let Tally { passed, run } = check.tally;
    let body = serde_json::json!({ "kind": "check", "passed": passed, "run": run, "done": check.passed() });
    report(root, check.exercise, body)
}

/// Report to the class that hint `shown` of `exercise` was shown, if joined.
pub fn report_hint(root: &Path, exercise: u32, shown: usize) -> Reporting {
    report(root, exercise, serde_json::json!({ "kind": "hint", "shown": shown }))
}

/// `cargo run -- signal stuck|done`: tell the instructor, and say whether
/// it reached the class.
pub fn signal(root: &Path, what: &str) -> Result<String, String> {
    let Some(joined) = joined(root) else {
        return Err("you have not joined a class: run `cargo run -- join` first, and leave it running".to_owned());
    };
    let exercise = joined.exercise.unwrap_or(0);
    let sent = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let body = serde_json::json!({ "kind": what });
    report_then(root, exercise, body, Some(sent.clone())).finish();
    if sent.load(std::sync::atomic::Ordering::Relaxed) {
        Ok(format!("Your instructor sees \"{what}\" on your lane until they clear it."))
    } else {
        Err(format!("the class server at {} did not take it; is it running?", joined.url))
    }
}

/// Send `body` as a report of `exercise` to the class, if joined, from a
/// thread of its own.
fn report(root: &Path, exercise: u32, body: serde_json::Value) -> Reporting {
    report_then(root, exercise, body, None)
}

fn report_then(
    root: &Path,
    exercise: u32,
    body: serde_json::Value,
    sent: Option<Arc<std::sync::atomic::AtomicBool>>,
) -> Reporting {
    let Some(joined) = joined(root) else {
        return Reporting(None);
    };
    let thread = std::thread::spawn(move || {
        let Ok(upstream) = Upstream::remote(&joined.url) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        let mut request = axum::http::Request::post("/class/report")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .expect("a request");
        classroom::tag::put(request.headers_mut(), &Tag { name: joined.name, exercise });
        let answer = runtime.block_on(async { tokio::time::timeout(REPORT_TIMEOUT, upstream.send(request)).await });
        if let (Some(sent), Ok(answer)) = (sent, answer) {
            sent.store(answer.status().is_success(), std::sync::atomic::Ordering::Relaxed);
        }
    });
    Reporting(Some(thread))
}

/// `cargo run -- control ...`: send one control to the class server.
pub fn control(root: &Path, control: Control, url: Option<String>, key: Option<String>) -> Result<String, String> {
    let saved: Option<Classroom> =
        std::fs::read_to_string(root.join(CLASSROOM_FILE)).ok().and_then(|text| toml::from_str(&text).ok());
    let url = url.or_else(|| saved.as_ref().map(|s| s.url.clone())).ok_or(
        "no class server on this machine: start one with `cargo run -- classroom`, or say where with --url and --key",
    )?;
    let key = key.or_else(|| saved.map(|s| s.key)).ok_or("which key? --key, as `classroom` printed it")?;
    let upstream = Upstream::remote(&url)?;
    let body = serde_json::to_string(&control).map_err(|e| e.to_string())?;
    let request = axum::http::Request::post("/class/control")
        .header("content-type", "application/json")
        .header(KEY_HEADER, key)
        .body(axum::body::Body::from(body))
        .expect("a request");
    runtime()?.block_on(async move {
        let response = upstream.send(request).await;
        if response.extensions().get::<chat_page::serve::CloseConnection>().is_some() {
            return Err(format!("the class server at {url} does not answer"));
        }
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
        let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if status.is_success() {
            Ok(answer["done"].as_str().unwrap_or("done").to_owned())
        } else {
            Err(format!("the class server said {status}: {}", answer["error"].as_str().unwrap_or("no reason given")))
        }
    })
}
