//! The workshop runner, against small fixture workshops made in a temporary
//! folder: an exercise that passes, one that fails, one that does not
//! compile, and one whose folder is missing. Also the binary's watch mode
//! and errors, and the home page over HTTP.

use polling_workshop::home;
use polling_workshop::paint::Paint;
use polling_workshop::progress::Status;
use polling_workshop::workshop::{Checked, Workshop};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const MANIFEST: &str = r#"
[[exercise]]
slug = "01-passes"
title = "Passes"
minutes = 10
start_in = "src/lib.rs"
hints = ["the first hint, a nudge", "the second hint, nearly the answer"]

[[exercise]]
slug = "02-fails"
title = "Fails"
minutes = 20
start_in = "src/lib.rs"
hints = ["return 42 instead", "the answer is `42`"]

[[exercise]]
slug = "03-broken"
title = "Does not compile"
minutes = 5
start_in = "src/lib.rs"
hints = ["a hint for three", "another hint for three"]

[[exercise]]
slug = "04-missing"
title = "Missing"
minutes = 5
start_in = "src/lib.rs"
hints = ["a hint for four", "another hint for four"]

[[exercise]]
slug = "05-skips"
title = "Skips a test"
minutes = 5
start_in = "src/lib.rs"
hints = ["a hint for five", "another hint for five"]
"#;

const SPEC: &str = r#"
#[test]
fn answers_42() {
    assert_eq!(fixture::answer(), 42, "answer() should return 42: look at src/lib.rs");
}
"#;

/// A spec with a test that skips for want of a service, and says so as the
/// Redis specs do (spec_support::redis_server).
const SPEC_THAT_SKIPS: &str = r#"
#[test]
fn answers_42() {
    assert_eq!(fixture::answer(), 42, "answer() should return 42: look at src/lib.rs");
}

#[test]
fn needs_a_service() {
    if let Some(file) = std::env::var_os("WORKSHOP_SKIPPED_FILE") {
        std::fs::write(file, "needs_a_service\tredis-server\n").unwrap();
    }
}
"#;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn git(root: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=workshop", "-c", "user.email=workshop@localhost"])
        .args(args)
        .current_dir(root)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// A fixture workshop's folder, removed when the test is over.
struct Fixture(PathBuf);

impl std::ops::Deref for Fixture {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh fixture workshop, committed to its own git repository. All
/// fixtures build into one shared target folder, so that each builds fast.
/// Cargo names a path crate's build by its name, its version and its place in
/// the workspace, so each fixture's crates get a version of their own:
/// identical fixtures would overwrite each other's test binaries between the
/// build and the run of a check. (A `CARGO_TARGET_DIR` in the environment
/// wins over the fixture's own setting; the versions keep that safe too.)
fn fixture() -> Fixture {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let base = std::env::temp_dir().join("polling-workshop-runner-tests");
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let root = base.join(format!("{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"exercises/*\", \"solutions/*\"]\n",
    );
    write(&root.join("course.toml"), MANIFEST);
    write(
        &root.join(".cargo/config.toml"),
        &format!("[build]\ntarget-dir = {:?}\n", base.join("target")),
    );
    write(&root.join(".gitignore"), ".workshop-progress.toml\n");
    for (slug, starter_body, solution_body) in [
        ("01-passes", "42", "42"),
        ("02-fails", "41", "42"),
        ("03-broken", "41 +", "42"),
        ("05-skips", "42", "42"),
    ] {
        let number = &slug[..2];
        let name = &slug[3..];
        for (dir, package, body) in [
            ("exercises", format!("ex{number}-{name}"), starter_body),
            ("solutions", format!("ex{number}-{name}-solution"), solution_body),
        ] {
            let crate_dir = root.join(dir).join(slug);
            write(
                &crate_dir.join("Cargo.toml"),
                &format!(
                    "[package]\nname = {package:?}\nversion = \"0.1.{n}\"\nedition = \"2024\"\n\n[lib]\nname = \"fixture\"\n"
                ),
            );
            write(
                &crate_dir.join("src/lib.rs"),
                &format!("pub fn answer() -> u32 {{\n    {body}\n}}\n"),
            );
            write(
                &crate_dir.join("tests/spec.rs"),
                if slug == "05-skips" { SPEC_THAT_SKIPS } else { SPEC },
            );
        }
    }
    git(&root, &["init", "-q"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "fixture"]);
    Fixture(root)
}

/// Check exercise `number` and record the result, as `cargo run -- check` does.
fn check(workshop: &mut Workshop, number: u32) -> (Result<Checked, String>, String) {
    let mut out = Vec::new();
    let check = workshop.check(Some(number), &mut out);
    if let Ok(check) = &check {
        workshop.record(check).unwrap();
    }
    (check.map(|check| check.checked), String::from_utf8(out).unwrap())
}

#[test]
fn check_tells_a_pass_a_failure_and_a_compile_error_apart() {
    let root = fixture();
    let mut workshop = Workshop::open(&root).unwrap().quiet();

    let (passed, _) = check(&mut workshop, 1);
    assert_eq!(passed, Ok(Checked::Passed));

    let (failed, output) = check(&mut workshop, 2);
    assert_eq!(failed, Ok(Checked::Failed { first: Some("answers_42".to_owned()) }));
    assert!(
        output.contains("answer() should return 42: look at src/lib.rs"),
        "the spec's message is passed on:\n{output}"
    );

    let (broken, _) = check(&mut workshop, 3);
    assert_eq!(broken, Ok(Checked::DoesNotCompile));

    let missing = check(&mut workshop, 4).0.unwrap_err();
    assert!(
        missing.contains(
            "exercises/04-missing, is missing: restore it with `git checkout"
        ),
        "{missing}"
    );
    // Every test that ran passed, but one skipped for want of Redis: not done.
    let (skipped, _) = check(&mut workshop, 5);
    assert_eq!(
        skipped,
        Ok(Checked::Incomplete {
            passed: 1,
            skipped: 1,
            needs: "redis-server".to_owned()
        })
    );
    assert!(workshop.list(Paint::plain()).contains(
        "05 is incomplete: some of its checks could not run without redis-server"
    ));

    let unknown = check(&mut workshop, 9).0.unwrap_err();
    assert!(
        unknown.contains("there is no exercise 9: the course has exercises 1 to 5"),
        "{unknown}"
    );

    // What was checked is recorded, by slug.
    let again = Workshop::open(&root).unwrap().quiet();
    let status = |n: usize| again.status(&again.course().exercises[n]);
    assert_eq!(
        [status(0), status(1), status(2), status(3), status(4)],
        [
            Status::Done,
            Status::Tried,
            Status::Tried,
            Status::NotStarted,
            Status::Tried
        ]
    );
    assert_eq!(
        again.current().slug,
        "02-fails",
        "the current exercise is the first one not done"
    );
    let progress =
        std::fs::read_to_string(root.join(".workshop-progress.toml")).unwrap();
    assert!(progress.contains("[01-passes]\nstatus = \"done\""), "{progress}");
}

#[test]
fn list_and_next_step_show_progress() {
    let root = fixture();
    let mut workshop = Workshop::open(&root).unwrap().quiet();
    let list = workshop.list(Paint::plain());
    assert!(list.contains("01  Passes"), "{list}");
    assert!(list.contains("not started    0 of 2"), "{list}");
    assert!(
        list.contains("0 of 5 done; about 45 minutes of exercises in all."),
        "{list}"
    );
    assert!(workshop.next_step(Paint::plain()).contains("Next: 01 Passes."));

    check(&mut workshop, 1).0.unwrap();
    let list = workshop.list(Paint::plain());
    assert!(
        list.contains("01  Passes                            10   done"),
        "{list}"
    );
    assert!(list.contains("1 of 5 done"), "{list}");
    let next = workshop.next_step(Paint::plain());
    assert!(
        next.contains("Next: 02 Fails.")
            && next.contains("open exercises/02-fails/src/lib.rs"),
        "{next}"
    );
}

#[test]
fn hints_come_one_at_a_time_and_stop_at_the_last() {
    let root = fixture();
    let mut workshop = Workshop::open(&root).unwrap().quiet();
    assert_eq!(
        workshop.next_hint(Some(2)).unwrap(),
        (1, 2, "return 42 instead".to_owned())
    );
    assert_eq!(
        workshop.next_hint(Some(2)).unwrap(),
        (2, 2, "the answer is `42`".to_owned())
    );
    assert_eq!(
        workshop.next_hint(Some(2)).unwrap(),
        (2, 2, "the answer is `42`".to_owned())
    );
    // Remembered across runs.
    let mut again = Workshop::open(&root).unwrap().quiet();
    assert_eq!(again.next_hint(Some(2)).unwrap().0, 2);
    assert_eq!(
        again.next_hint(Some(1)).unwrap().0,
        1,
        "each exercise counts its own hints"
    );
}

#[test]
fn reset_puts_the_starter_back_and_forgets_its_status() {
    let root = fixture();
    let mut workshop = Workshop::open(&root).unwrap().quiet();
    let lib = root.join("exercises/02-fails/src/lib.rs");
    write(&lib, "pub fn answer() -> u32 {\n    42\n}\n");
    write(&root.join("exercises/02-fails/src/extra.rs"), "// a file of mine\n");
    assert_eq!(check(&mut workshop, 2).0, Ok(Checked::Passed));

    workshop.reset(2).unwrap();
    assert_eq!(
        std::fs::read_to_string(&lib).unwrap(),
        "pub fn answer() -> u32 {\n    41\n}\n"
    );
    assert!(
        !root.join("exercises/02-fails/src/extra.rs").exists(),
        "new files are removed too"
    );
    assert_eq!(
        Workshop::open(&root).unwrap().status(&workshop.course().exercises[1]),
        Status::NotStarted
    );
}

#[test]
fn the_solution_diff_shows_what_differs() {
    let root = fixture();
    let workshop = Workshop::open(&root).unwrap().quiet();
    let diff = workshop.solution_diff(2, Paint::plain()).unwrap();
    assert!(
        diff.contains(
            "--- exercises/02-fails/src/lib.rs\n+++ solutions/02-fails/src/lib.rs"
        ),
        "{diff}"
    );
    assert!(diff.contains("-    41\n+    42\n"), "{diff}");
    let same = workshop.solution_diff(1, Paint::plain()).unwrap();
    assert_eq!(
        same,
        "Your files in exercises/01-passes are the same as the solution's.\n"
    );
}

/// Run the real binary on a fixture, feeding it lines; return its output.
fn run_binary(
    root: &Path,
    args: &[&str],
    lines: Vec<(&'static str, Option<(PathBuf, &'static str)>)>,
) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_workshop"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let mut output = String::new();
    // Before each line, wait for the binary to say it is waiting; a line may
    // come with a file to write first (the learner saving a fix).
    for (line, edit) in lines {
        loop {
            let next = rx
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("no prompt in time:\n{output}"));
            output.push_str(&next);
            output.push('\n');
            if next.starts_with("Watching:")
                || next.starts_with("Press Enter")
                || next.contains("Press Enter")
            {
                break;
            }
        }
        if let Some((path, text)) = edit {
            write(&path, text);
        }
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    for line in rx.iter() {
        output.push_str(&line);
        output.push('\n');
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)
        .unwrap();
    (status.success(), output + &stderr)
}

#[test]
fn watch_checks_again_on_request_and_moves_on_only_when_asked() {
    let root = fixture();
    let fix = (
        root.join("exercises/02-fails/src/lib.rs"),
        "pub fn answer() -> u32 {\n    42\n}\n",
    );
    let (ok, output) = run_binary(
        &root,
        &["watch", "--manual", "2"],
        vec![("", Some(fix)), ("q", None)],
    );
    assert!(ok, "{output}");
    let failing = output
        .find("✗ 02 does not pass yet: start with answers_42.")
        .unwrap_or_else(|| panic!("{output}"));
    let passing = output
        .find("✓ 02 Fails passes its spec.")
        .unwrap_or_else(|| panic!("{output}"));
    assert!(failing < passing, "{output}");
    assert!(
        output.contains("Next is 03 Does not compile"),
        "it says what comes next:\n{output}"
    );
    assert!(
        !output.contains("Checking 03"),
        "it does not move on by itself:\n{output}"
    );
}

#[test]
fn the_binary_explains_what_went_wrong() {
    let root = fixture();
    let (ok, output) = run_binary(&root, &["hint", "9"], vec![]);
    assert!(!ok);
    assert!(
        output.contains(
            "error: there is no exercise 9: the course has exercises 1 to 5 (`cargo run -- list` shows them)"
        ),
        "{output}"
    );
    let (ok, output) = run_binary(&root, &["reset", "2"], vec![]);
    assert!(ok && output.contains("Nothing changed."), "no answer is no:\n{output}");
    let (ok, output) = run_binary(&root, &["list"], vec![]);
    assert!(ok && output.contains("Next: 01 Passes."), "{output}");
}

#[tokio::test]
async fn the_home_page_serves_the_book_the_progress_and_the_chat() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let root = fixture();
    let book = root.join("book-build");
    home::build_book(polling_workshop::course::root(), &book).unwrap();
    let mut workshop = Workshop::open(&root).unwrap().quiet();
    let (chat, _stop) = home::finished_chat();
    let app = home::router(root.to_path_buf(), book, chat);
    let get = |path: &str| {
        let app = app.clone();
        let request = Request::get(path).body(Body::empty()).unwrap();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };

    let (status, chapter) = get("/book/01-poll-endpoint.html").await;
    assert_eq!(status, 200);
    assert!(
        chapter.contains("01 The poll endpoint"),
        "the book's chapter is served"
    );
    assert_eq!(get("/book/figures/04-fleet.svg").await.0, 200);

    let (_, page) = get("/").await;
    assert!(
        page.contains("<td>Passes</td>") || page.contains(">Passes</a>"),
        "{page}"
    );
    assert!(page.contains("<td>not started</td>"), "{page}");
    check(&mut workshop, 1).0.unwrap();
    let (_, page) = get("/").await;
    assert!(
        page.contains("<tr class=\"done\"><td>01</td>"),
        "the page shows what the state file says now:\n{page}"
    );
    assert!(page.contains("Next: 02 Fails."), "{page}");

    let (status, chat) = get("/chat").await;
    assert!(
        status == 200 && chat.contains(r#"<script type="module" src="/client.js">"#)
    );
    let post = Request::post("/poll")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"user":"ada","text":"hi"}"#))
        .unwrap();
    assert_eq!(app.clone().oneshot(post).await.unwrap().status().as_u16(), 201);
    let (status, poll) = get("/poll").await;
    assert!(status == 200 && poll.contains(r#""text":"hi""#), "{poll}");
    let (status, held) = get("/poll?wait=5").await;
    assert!(
        status == 200 && held.contains(r#""text":"hi""#),
        "the finished chat long-polls too: {held}"
    );
    assert!(
        get("/client.js").await.1.contains("new EventSource("),
        "and its page's client is exercise 08's, on a stream"
    );
    // The stream: its first lines, as far as the stored message.
    let events = Request::get("/events").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(events).await.unwrap();
    let kind = response.headers().get("content-type").cloned();
    assert_eq!(
        kind.as_ref().and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut body = response.into_body();
    let mut text = String::new();
    while !text.contains(r#""text":"hi""#) {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame()).await;
        let data = frame
            .expect("the stream writes within 5 s")
            .expect("the stream is open");
        text.push_str(&String::from_utf8_lossy(&data.unwrap().into_data().unwrap()));
    }
    assert!(text.starts_with("retry: "), "the stream starts with its retry: {text}");
}

#[test]
fn list_columns_line_up_whatever_the_titles() {
    // The course's own titles, one of them wider than the others.
    let workshop =
        Workshop::open(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap().quiet();
    let list = workshop.list(Paint::plain());
    let status_at: Vec<usize> = list
        .lines()
        .skip(1)
        .take_while(|row| !row.is_empty())
        .map(|row| {
            ["done", "incomplete", "in progress", "not started"]
                .iter()
                .filter_map(|status| row.find(status))
                .min()
                .unwrap_or_else(|| panic!("a row with no status: {row}"))
        })
        .collect();
    assert!(status_at.len() >= 7, "{list}");
    assert!(
        status_at.windows(2).all(|pair| pair[0] == pair[1]),
        "the status column moves between rows:\n{list}"
    );
    let header_at = list.lines().next().unwrap().find("Status").unwrap();
    assert_eq!(
        header_at, status_at[0],
        "the header's Status is not above the statuses:\n{list}"
    );
}

/// `join` remembers the class's address and the learner's name, so the next
/// `join` needs neither; without either, it says what to give.
#[test]
fn join_remembers_the_class_and_the_name() {
    use polling_workshop::class::{REMEMBERED_FILE, remembered};
    let root = fixture();
    let asked = remembered(&root, None, None).unwrap_err();
    assert!(asked.contains("cargo run -- join http://"), "{asked}");
    let given =
        remembered(&root, Some("http://10.0.0.5:4100".into()), Some("Ada".into()))
            .unwrap();
    assert_eq!(given, ("http://10.0.0.5:4100".to_owned(), "Ada".to_owned()));
    std::fs::write(
        root.join(REMEMBERED_FILE),
        "url = \"http://10.0.0.5:4100\"\nname = \"Ada\"\n",
    )
    .unwrap();
    assert_eq!(remembered(&root, None, None).unwrap(), given);
    assert_eq!(
        remembered(&root, None, Some("Bo".into())).unwrap().1,
        "Bo",
        "a name given wins"
    );
}

/// `--bind` takes an address alone, on the class server's port.
#[test]
fn bind_without_a_port_takes_the_class_port() {
    use polling_workshop::class::with_port;
    assert_eq!(with_port("127.0.0.1"), "127.0.0.1:4100");
    assert_eq!(with_port("[::1]"), "[::1]:4100");
    assert_eq!(with_port("0.0.0.0:4101"), "0.0.0.0:4101");
}
