//! What the README's two commands cost on a fresh clone: how long until
//! `cargo run`'s home page answers, how long `cargo test` then takes, and
//! how big `target/` is after each.
//!
//! ```console
//! cargo run --release -p benchmarks --bin first-build
//! ```
//!
//! It clones the committed workshop (HEAD of this checkout) into a
//! temporary folder with a `target/` of its own, so nothing is shared with
//! the build you have, twice: first with an empty cargo home, so every crate
//! is downloaded as on a new laptop, then with this machine's, whose crates
//! are already downloaded, as on a learner's laptop after `cargo fetch`. The results go to
//! `book/src/figures/first-build.md` (or `--out`), the one place the README
//! and the instructors' page take them from. It takes a quarter of an hour
//! or so: it is four cold builds.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The first cold build (what the README's two commands cost).
#[derive(clap::Parser)]
#[command(about = "Time and disk of the README's `cargo run` then `cargo test`, on a fresh clone")]
struct Args {
    /// Where to write the table [default: book/src/figures/first-build.md].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The home page's port for the run.
    #[arg(long, default_value_t = 4600)]
    port: u16,
}

/// The disk space everything below `dir` takes, in bytes, as `du` counts
/// it: allocated blocks, each file once however many hard links it has
/// (cargo links each final binary into `target/debug/` from `deps/`).
fn size_of(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fn walk(dir: &Path, seen: &mut std::collections::HashSet<(u64, u64)>) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
        let mut total = 0;
        for entry in entries.filter_map(Result::ok) {
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            if meta.is_dir() {
                total += walk(&entry.path(), seen);
            } else if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
                total += meta.blocks() * 512;
            }
        }
        total
    }
    walk(dir, &mut std::collections::HashSet::new())
}

/// In GiB, as `du -h` says it (1 GiB is 1.07 GB).
fn gigabytes(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Whether `GET /` on 127.0.0.1:`port` answers 200.
fn home_page_answers(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

/// What one pass of the README's two commands cost.
struct Pass {
    run_seconds: f64,
    after_run: u64,
    test_seconds: f64,
    after_test: u64,
}

/// The README's two commands in a fresh clone of `root`, with its own
/// `target/`; with `cargo_home`, in a cargo home of its own (an empty one:
/// every crate is downloaded, as on a new laptop).
fn pass(root: &Path, port: u16, cargo_home: Option<&Path>) -> Pass {
    let clone = std::env::temp_dir().join(format!("polling-workshop-first-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&clone);
    let cloned = Command::new("git").args(["clone", "-q"]).arg(root).arg(&clone).status();
    assert!(cloned.is_ok_and(|s| s.success()), "git clone of {} failed", root.display());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // The clone's own target folder, whatever this shell says.
    let target = clone.join("target");
    let command = |args: &[&str]| {
        let mut command = Command::new(&cargo);
        command
            .args(args)
            .current_dir(&clone)
            .env("CARGO_TARGET_DIR", &target)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(home) = cargo_home {
            command.env("CARGO_HOME", home);
        }
        command
    };

    eprintln!("  cargo run in a fresh clone, until the home page answers…");
    let started = Instant::now();
    let mut run = command(&["run", "--", "--port", &port.to_string()]).spawn().expect("cargo runs");
    let mut last_said = Instant::now();
    while !home_page_answers(port) {
        if let Ok(Some(status)) = run.try_wait() {
            panic!("`cargo run` stopped ({status}) before its home page answered");
        }
        if last_said.elapsed() > Duration::from_secs(30) {
            eprintln!("  {:.0} s…", started.elapsed().as_secs_f64());
            last_said = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let run_seconds = started.elapsed().as_secs_f64();
    let _ = run.kill();
    let _ = run.wait();
    let after_run = size_of(&target);
    eprintln!("  answered after {run_seconds:.0} s; target/ is {}", gigabytes(after_run));

    eprintln!("  cargo test…");
    let started = Instant::now();
    let tested = command(&["test"]).status().expect("cargo runs");
    let test_seconds = started.elapsed().as_secs_f64();
    assert!(tested.success(), "`cargo test` failed in the fresh clone at {}", clone.display());
    let after_test = size_of(&target);
    eprintln!("  passed after {test_seconds:.0} s; target/ is {}", gigabytes(after_test));
    let _ = std::fs::remove_dir_all(&clone);
    Pass { run_seconds, after_run, test_seconds, after_test }
}

fn main() {
    let Args { out, port } = clap::Parser::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let out = out.unwrap_or_else(|| root.join("book/src/figures/first-build.md"));

    eprintln!("[1/2] with nothing downloaded (an empty cargo home)…");
    let home = std::env::temp_dir().join(format!("polling-workshop-cargo-home-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).expect("a cargo home");
    let new = pass(&root, port, Some(&home));
    let _ = std::fs::remove_dir_all(&home);
    eprintln!("[2/2] with the crates already downloaded (this machine's cargo home)…");
    let fetched = pass(&root, port, None);

    let cores = benchmarks::cores();
    let table = format!(
        "| The README's commands, on a fresh clone | Nothing downloaded yet | Crates already downloaded (`cargo fetch`) | `target/` after it |\n\
         |---|---|---|---|\n\
         | `cargo run`, until the home page answers | {} s | {} s | {} |\n\
         | then `cargo test` | {} s more | {} s more | {} |\n\n\
         Measured with `cargo run --release -p benchmarks --bin first-build` on a machine with {cores} cores: \
         each column is a fresh clone with a `target/` of its own, the first with an empty cargo home (every \
         crate downloaded from crates.io), the second with this machine's.\n",
        new.run_seconds.round(),
        fetched.run_seconds.round(),
        gigabytes(fetched.after_run),
        new.test_seconds.round(),
        fetched.test_seconds.round(),
        gigabytes(fetched.after_test),
    );
    let _ = (new.after_run, new.after_test); // the same build: target/ is the same size
    std::fs::write(&out, &table).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    print!("{table}");
    eprintln!("wrote {}", out.display());
}
