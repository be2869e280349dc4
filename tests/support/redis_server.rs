//! A real `redis-server` of a test's own, for the specs of exercises 06 and
//! 07 (each includes this file with `#[path]`).
//!
//! Without `redis-server` installed, tests that need it are skipped, with one
//! line that says how to install it; with `REQUIRE_REDIS=1` (as in CI) a
//! missing Redis fails them instead.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A `redis-server` of the test's own, on a free port, with its data in a
/// temporary folder (written on every change, so a restart keeps it).
pub struct RedisServer {
    pub port: u16,
    dir: std::path::PathBuf,
    process: Option<Child>,
}

impl RedisServer {
    /// Start one, or say once that Redis tests are skipped (and fail if
    /// `REQUIRE_REDIS` is set).
    pub fn start(exercise: &str) -> Option<RedisServer> {
        if Command::new("redis-server").arg("--version").output().is_err() {
            assert!(
                std::env::var_os("REQUIRE_REDIS").is_none(),
                "REQUIRE_REDIS is set, but redis-server is not installed: apt-get install redis-server"
            );
            // The workshop's `check` and `watch` count skipped tests: a run
            // that skipped some is not a pass.
            if let Some(file) = std::env::var_os("WORKSHOP_SKIPPED_FILE") {
                let test =
                    std::thread::current().name().unwrap_or("a test").to_owned();
                let line = format!("{test}\tredis-server\n");
                let _ = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(file)
                    .and_then(|mut f| f.write_all(line.as_bytes()));
            }
            static SAID: AtomicBool = AtomicBool::new(false);
            if !SAID.swap(true, Ordering::Relaxed) {
                // Straight to the terminal: the test harness would hide a println! of a passing test.
                let _ = writeln!(
                    std::io::stderr(),
                    "note: skipping exercise {exercise}'s Redis tests: redis-server is not installed \
                     (apt-get install redis-server, or brew install redis; see chapter 06)"
                );
            }
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir()
            .join(format!("ex{exercise}-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer { port, dir, process: None };
        server.start_again();
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)start the process on the same port and data, and wait until it answers.
    pub fn start_again(&mut self) {
        let process = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start listening on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill it, as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
