//! Classroom mode as the room runs it: a class server and a joined learner,
//! two real processes (`cargo run -- classroom` and `cargo run -- join`),
//! over real sockets, with the instructor's controls from the command line
//! and a learner's check reported to the class.
//!
//! Both run in a scratch copy of the workshop (its manifest and the files
//! every exercise's page serves), so nothing here touches this checkout's
//! own `target/`. A stream (exercise 08's) goes through both as it is
//! written.

use axum::body::Body;
use axum::http::Request;
use classroom::join::Upstream;
use polling_workshop::workshop::{Check, Checked, Tally};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "fedcba9876543210fedcba9876543210";

/// A child process, killed when the test ends however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn workshop(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workshop"));
    command.arg("--root").arg(root).args(args).env("NO_COLOR", "1");
    command
}

/// Start `args`, and read its output until a line contains `marker`: the
/// rest of that line, up to the next space, is the address it printed.
fn start(root: &Path, args: &[&str], marker: &str) -> (Running, String) {
    let mut child = workshop(root, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (found, wait) = std::sync::mpsc::channel();
    let marker = marker.to_owned();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(out).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(rest) =
                line.split_once(&marker).map(|(_, rest)| rest.to_owned())
            {
                let _ = found.send(
                    rest.split_whitespace().next().unwrap_or_default().to_owned(),
                );
                break;
            }
        }
        lines.for_each(drop); // keep the pipe open and drained
    });
    let running = Running(child);
    let address = wait
        .recv_timeout(Duration::from_secs(60))
        .expect("the program printed its address");
    (running, address)
}

/// A scratch workshop: the manifest, and every exercise's page files.
/// `cargo run -- classroom` on a free port, with the spec's key: the
/// running process, its address (for `control`) and its URL.
fn start_class(root: &Path) -> (Running, String, String) {
    let (running, address) = start(
        root,
        &["classroom", "--bind", "127.0.0.1:0", "--key", KEY],
        "listening on ",
    );
    let url = format!("http://{address}");
    (running, address, url)
}

/// `cargo run -- join <url>` with `args` (a name, perhaps an exercise) on a
/// free port: the running process, its page's address, and the page as an
/// upstream.
fn start_join(root: &Path, url: &str, args: &[&str]) -> (Running, String, Upstream) {
    let command = [&["--port", "0", "join", url][..], args].concat();
    let (running, page) = start(root, &command, "Open http://");
    let page = page.trim_end_matches('/').to_owned();
    let upstream = Upstream::remote(&format!("http://{page}")).unwrap();
    (running, page, upstream)
}

fn scratch(test: &str) -> PathBuf {
    let real = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = std::env::temp_dir()
        .join(format!("workshop-classroom-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(real.join("course.toml"), root.join("course.toml")).unwrap();
    let course = polling_workshop::course::Course::embedded();
    let mut files: Vec<String> = Vec::new();
    for exercise in &course.exercises {
        files.extend(exercise.page.iter().map(|(_, file)| file.clone()));
        files.push(format!("exercises/{}/Cargo.toml", exercise.slug));
    }
    for file in files {
        std::fs::create_dir_all(root.join(&file).parent().unwrap()).unwrap();
        std::fs::copy(real.join(&file), root.join(&file)).unwrap();
    }
    root
}

async fn send(to: &Upstream, request: Request<Body>) -> Option<(u16, String)> {
    let response = to.send(request).await;
    if response.extensions().get::<chat_page::serve::CloseConnection>().is_some() {
        return None; // the connection was closed
    }
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn post(path: &str, json: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(json.to_owned()))
        .unwrap()
}

fn control(root: &Path, class: &str, args: &[&str], key: &str) -> (bool, String) {
    let mut all = vec!["control"];
    all.extend_from_slice(args);
    let url = format!("http://{class}");
    all.extend_from_slice(&["--url", &url, "--key", key]);
    let output = workshop(root, &all).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_server_and_a_joined_learner_in_two_processes() {
    let root = scratch("two-processes");
    let (_class, class, url) = start_class(&root);
    let (_learner, page, learner) =
        start_join(&root, &url, &["--name", "Ada <b>", "--exercise", "7"]);
    let class_server = Upstream::remote(&url).unwrap();

    // The learner's page: the chat page, the reporter, their own client.
    let (status, html) = send(&learner, get("/")).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        html.contains("/class/report.js") && html.contains("/client.js"),
        "{html}"
    );
    let (status, client) = send(&learner, get("/client.js")).await.unwrap();
    assert_eq!(status, 200);
    let own =
        std::fs::read_to_string(root.join("exercises/07-long-polling/client.js"))
            .unwrap();
    assert_eq!(client, own, "the learner's own client.js, as on disk");

    // Their API goes to the class chat, tagged.
    let (status, _) =
        send(&learner, post("/poll", r#"{"user":"ada","text":"hello, class"}"#))
            .await
            .unwrap();
    assert_eq!(status, 201);
    let (status, chat) = send(&class_server, get("/poll")).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        chat.contains("hello, class"),
        "the class chat has the learner's message: {chat}"
    );
    let (_, feed) = send(&class_server, get("/class/feed?since=0")).await.unwrap();
    let feed: serde_json::Value = serde_json::from_str(&feed).unwrap();
    let ada = &feed["learners"][0];
    assert_eq!(ada["name"], "Ada <b>");
    assert_eq!(ada["exercise"], 7);
    assert_eq!(ada["requests"][0]["post"], true);

    // The instructor's controls, from the command line, only with the key.
    let (done, said) =
        control(&root, &class, &["slow", "1"], "0000000000000000000000000000000x");
    assert!(!done && said.contains("403"), "{said}");
    let (done, said) = control(&root, &class, &["slow", "1"], KEY);
    assert!(done, "{said}");
    let started = Instant::now();
    let (status, _) = send(&learner, get("/poll")).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "slow mode made the answer late"
    );
    let (done, said) = control(&root, &class, &["down", "--close"], KEY);
    assert!(done, "{said}");
    assert_eq!(
        send(&learner, get("/poll")).await,
        None,
        "closed at the class server, closed for the page"
    );
    let (done, said) = control(&root, &class, &["down"], KEY);
    assert!(done, "{said}");
    let (status, _) = send(&learner, get("/poll")).await.unwrap();
    assert_eq!(status, 503);
    let (done, said) = control(&root, &class, &["normal"], KEY);
    assert!(done, "{said}");

    // While joined, a check's result reaches the class; one that cannot
    // reach it costs the check at most the report's timeout.
    let joined = polling_workshop::class::joined(&root)
        .expect("join says which class it joined");
    assert_eq!(joined.name, "Ada <b>");
    polling_workshop::class::report_check(&root, &failed_check(7, 12, 15)).finish();
    let (_, feed) = send(&class_server, get("/class/feed?since=0")).await.unwrap();
    let feed: serde_json::Value = serde_json::from_str(&feed).unwrap();
    let progress =
        serde_json::json!([7, { "passed": 12, "run": 15, "done": false }]);
    assert_eq!(feed["learners"][0]["progress"], progress);
    let file = root.join(polling_workshop::class::JOINED_FILE);
    let joined_file = |page: &str| {
        format!(
            "url = \"http://10.255.255.1:9\"\nname = \"Ada\"\npage = \"{page}\"\n"
        )
    };
    // A class that has gone (an address where nothing answers), while
    // `join` still runs: the check waits for the report at most its timeout.
    std::fs::write(&file, joined_file(&page)).unwrap();
    let started = Instant::now();
    polling_workshop::class::report_check(&root, &failed_check(7, 1, 15)).finish();
    let waited = started.elapsed();
    assert!(
        waited
            < polling_workshop::class::REPORT_TIMEOUT + Duration::from_millis(300),
        "{waited:?}"
    );
    // A `join` killed without its Ctrl-C left the file behind: nothing
    // serves its page, so nothing is sent, and nothing waited for.
    let nobody = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    std::fs::write(&file, joined_file(&nobody)).unwrap();
    assert_eq!(polling_workshop::class::joined(&root), None);
    let started = Instant::now();
    polling_workshop::class::report_check(&root, &failed_check(7, 1, 15)).finish();
    assert!(started.elapsed() < Duration::from_millis(250));
    // Nor when another server took its port since (an exercise's own).
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = other.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut stream, _)) = other.accept() {
            let _ = stream.read(&mut [0u8; 1024]);
            let _ = stream
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        }
    });
    std::fs::write(&file, joined_file(&address)).unwrap();
    assert_eq!(polling_workshop::class::joined(&root), None);
    let _ = std::fs::remove_dir_all(&root);
}

/// Read `body` into `text` until `text` holds `wanted`: `Ok(false)` if the
/// body ended first, the error if it failed; at most 5 s.
async fn read_until(
    body: &mut Body,
    text: &mut String,
    wanted: &str,
) -> Result<bool, String> {
    use http_body_util::BodyExt;
    let reading = async {
        while !text.contains(wanted) {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        text.push_str(&String::from_utf8_lossy(&data));
                    }
                }
                Some(Err(problem)) => return Err(problem.to_string()),
                None => return Ok(false),
            }
        }
        Ok(true)
    };
    tokio::time::timeout(Duration::from_secs(5), reading)
        .await
        .map_err(|_| format!("{wanted:?} not in 5 s: {text:?}"))?
}

/// Exercise 08's stream through two processes: `join` passes it on as the
/// class server writes it, event by event, and the class server's room
/// has it as one open request of the learner's, a tick per event, until
/// the page hangs up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_goes_through_join_as_the_class_server_writes_it() {
    let root = scratch("stream");
    let (_class, class, url) = start_class(&root);
    let (_learner, _, learner) =
        start_join(&root, &url, &["--name", "Cy", "--exercise", "8"]);
    let class_server = Upstream::remote(&url).unwrap();
    let opening = learner.send(get("/events?client=page-1"));
    let response = tokio::time::timeout(Duration::from_secs(5), opening)
        .await
        .expect("the stream's answer begins at once");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let (mut body, mut text) = (response.into_body(), String::new());
    assert_eq!(read_until(&mut body, &mut text, "retry:").await, Ok(true));
    let (done, said) = control(&root, &class, &["post", "hello, stream"], KEY);
    assert!(done, "{said}");
    assert_eq!(read_until(&mut body, &mut text, "hello, stream").await, Ok(true));

    let cy = || async {
        let (_, feed) =
            send(&class_server, get("/class/feed?since=0")).await.unwrap();
        let feed: serde_json::Value = serde_json::from_str(&feed).unwrap();
        let cy =
            feed["learners"].as_array().unwrap().iter().find(|l| l["name"] == "Cy");
        cy.expect("Cy is in the room")["requests"].clone()
    };
    let requests = cy().await;
    assert_eq!(requests.as_array().map(Vec::len), Some(1), "{requests}");
    assert_eq!(requests[0]["kind"], "streaming", "{requests}");
    assert_eq!(requests[0]["stream"]["events"], 1, "{requests}");
    // The page hangs up: the class server sees its stream end.
    drop(body);
    let deadline = Instant::now() + Duration::from_secs(5);
    while cy().await[0]["kind"] != "aborted" {
        assert!(Instant::now() < deadline, "{}", cy().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// A check of `exercise` that passed `passed` of `run` tests: a failure.
fn failed_check(exercise: u32, passed: usize, run: usize) -> Check {
    Check {
        exercise,
        checked: Checked::Failed { first: None },
        tally: Tally { passed, run },
    }
}

/// `join` without `--exercise` follows the exercise the instructor sets for
/// the room, and `signal` puts a learner's "stuck" on the dashboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_follows_the_rooms_exercise_and_a_learner_can_say_they_are_stuck() {
    let root = scratch("follows");
    let (_class, class, url) = start_class(&root);
    // Set before the learner joins: `join` asks at once, then every
    // ROOM_EVERY (the same code), so the test need not wait a round.
    let (done, said) = control(&root, &class, &["exercise", "7"], KEY);
    assert!(done, "{said}");
    let (_learner, _, learner) = start_join(&root, &url, &["--name", "Bo"]);
    let class_server = Upstream::remote(&url).unwrap();
    let own =
        std::fs::read_to_string(root.join("exercises/07-long-polling/client.js"))
            .unwrap();
    let deadline = Instant::now() + polling_workshop::class::ROOM_EVERY * 3;
    loop {
        // A reload asks which page to serve.
        let _ = send(&learner, get("/")).await;
        if send(&learner, get("/client.js"))
            .await
            .is_some_and(|(_, client)| client == own)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "join did not follow the room to exercise 07"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        polling_workshop::class::room_exercise(&root),
        Some(7),
        "check and watch follow it too"
    );

    let signal = workshop(&root, &["signal", "stuck"]).output().unwrap();
    assert!(signal.status.success(), "{}", String::from_utf8_lossy(&signal.stderr));
    let (_, feed) = send(&class_server, get("/class/feed?since=0")).await.unwrap();
    let feed: serde_json::Value = serde_json::from_str(&feed).unwrap();
    let bo = feed["learners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Bo")
        .cloned();
    assert_eq!(
        bo.map(|bo| bo["signal"]["kind"].clone()),
        Some(serde_json::json!("stuck"))
    );
    assert_eq!(feed["room"]["exercise"], 7);
    let _ = std::fs::remove_dir_all(&root);
}
