//! A Redis for each test of the specs of exercises 06 and 07.
//!
//! - `REDIS_URL` unset: a test starts a `redis-server` of its own, on a free
//!   port, with its data in a temporary folder, and kills it at the end.
//!   Without `redis-server` installed, the test is skipped, with one line that
//!   says how to install it.
//! - `REDIS_URL` set (Redis in Docker, in WSL, from Homebrew...): the tests
//!   use that server instead, each under a chat of its own. The URL they hand
//!   the server ends in `?chat=chat-06-s03-<process>-<n>`, so its keys are
//!   `{chat-06-s03-<process>-<n>}:messages` and so on, and tests that share
//!   the server never meet. Each deletes its keys when it ends. A test that
//!   kills and restarts Redis ([`RedisServer::start_to_kill`]) cannot do that
//!   to a shared server: it is skipped, with one line that says so.
//!
//! A skipped test appends `<test>\tredis-server` to the file that
//! `WORKSHOP_SKIPPED_FILE` names, when it is set: the workshop's `check` and
//! `watch` count skipped tests, and a run that skipped some is not a pass.
//! With `REQUIRE_REDIS=1` (as in CI) a test that would be skipped fails.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The Redis one test runs against: a `redis-server` of its own, or the
/// shared one `REDIS_URL` names.
pub struct RedisServer {
    /// What the test gives the server under test (`RedisStore::new`): the
    /// server, and on a shared one the test's own chat.
    url: String,
    /// The server alone, for the test's own connections.
    server_url: String,
    /// On a shared server: the test's chat, whose keys it deletes at the end.
    chat: Option<String>,
    /// The process, when the test started it.
    own: Option<Own>,
}

/// A `redis-server` the test started, and may kill and start again.
struct Own {
    port: u16,
    dir: std::path::PathBuf,
    process: Option<Child>,
}

/// The running test's name (`spec::s03_a_message_...`), as libtest names its
/// thread.
fn test_name() -> String {
    std::thread::current().name().unwrap_or("a test").to_owned()
}

impl RedisServer {
    /// The Redis for this test: the one `REDIS_URL` names, under a chat of
    /// the test's own, or else a `redis-server` of its own. `None` (after one
    /// line that says why) when the test must be skipped.
    pub fn start(exercise: &str) -> Option<RedisServer> {
        match std::env::var("REDIS_URL") {
            Ok(url) => Some(RedisServer::shared(exercise, &url)),
            Err(_) => RedisServer::own(exercise),
        }
    }

    /// A `redis-server` of the test's own, which it may kill
    /// ([`RedisServer::stop`]) and start again. With `REDIS_URL` set, the
    /// test is skipped instead: it must not kill a server others share.
    pub fn start_to_kill(exercise: &str) -> Option<RedisServer> {
        if std::env::var_os("REDIS_URL").is_some() {
            let test = test_name();
            skip(
                &format!(
                    "REQUIRE_REDIS is set, but {test} kills and restarts Redis, which it cannot do to the \
                     shared server REDIS_URL names: unset REDIS_URL, and it starts a redis-server of its own"
                ),
                &format!(
                    "note: skipping {test}: it kills and restarts Redis, which it cannot do to the server \
                     REDIS_URL names (unset REDIS_URL to run it on a redis-server of its own)"
                ),
                false,
            );
            return None;
        }
        RedisServer::own(exercise)
    }

    /// Start a `redis-server` on a free port, or skip (once saying why) when
    /// none is installed.
    fn own(exercise: &str) -> Option<RedisServer> {
        if Command::new("redis-server").arg("--version").output().is_err() {
            skip(
                "REQUIRE_REDIS is set, but redis-server is not installed: apt-get install redis-server",
                &format!(
                    "note: skipping exercise {exercise}'s Redis tests: redis-server is not installed \
                     (apt-get install redis-server, or brew install redis; see chapter 06), and REDIS_URL \
                     is not set"
                ),
                true,
            );
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
        let url = format!("redis://127.0.0.1:{port}");
        let mut server = RedisServer {
            url: url.clone(),
            server_url: url,
            chat: None,
            own: Some(Own { port, dir, process: None }),
        };
        server.start_again();
        Some(server)
    }

    /// The server `REDIS_URL` names, under a chat of this test's own.
    fn shared(exercise: &str, url: &str) -> RedisServer {
        fn fail(url: &str, why: &str) -> ! {
            panic!(
                "REDIS_URL={url} is set, but {why}. Start that Redis, or unset REDIS_URL so that the \
                 Redis tests start a redis-server of their own."
            )
        }
        let Some(mut parsed) = redis::parse_redis_url(url) else {
            fail(url, "it is not a Redis URL (redis://host:port)")
        };
        // A `chat` the URL names already is the learner's own chat: never
        // the test's.
        let others: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(name, _)| name != "chat")
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        if others.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(others);
        }
        let server_url = parsed.to_string();
        let answer = redis::Client::open(server_url.as_str())
            .and_then(|client| {
                client.get_connection_with_timeout(Duration::from_secs(2))
            })
            .and_then(|mut connection| {
                redis::cmd("PING").query::<String>(&mut connection)
            });
        if let Err(error) = answer {
            fail(url, &format!("no Redis answers there ({error})"));
        }
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let test = test_name();
        let short = test.rsplit("::").next().unwrap_or_default();
        let short = short.split('_').next().unwrap_or_default();
        let chat = format!(
            "chat-{exercise}-{short}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        parsed.query_pairs_mut().append_pair("chat", &chat);
        RedisServer {
            url: parsed.to_string(),
            server_url,
            chat: Some(chat),
            own: None,
        }
    }

    /// The URL to give the server under test: the server, and on a shared
    /// one this test's chat (`?chat=...`).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The URL of another chat on the same server, of this test's own:
    /// `?chat=<this test's chat>.<name>` (`chat.<name>` on a server of its own).
    pub fn url_of_chat(&self, name: &str) -> String {
        let base = self.chat.as_deref().unwrap_or("chat");
        let mut url = redis::parse_redis_url(&self.server_url).expect("a Redis URL");
        url.query_pairs_mut().append_pair("chat", &format!("{base}.{name}"));
        url.to_string()
    }

    /// A client for the test's own connections to the server.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.server_url.as_str()).expect("a Redis URL")
    }

    /// (Re)start the process on the same port and data, and wait until it
    /// answers.
    pub fn start_again(&mut self) {
        let own = self.own.as_mut().expect(
            "only a redis-server the test started can be started again: start it with \
             RedisServer::start_to_kill",
        );
        let process = Command::new("redis-server")
            .args([
                "--port",
                &own.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(&own.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        own.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", own.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start listening on port {}",
                own.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill it, as a crash would.
    pub fn stop(&mut self) {
        let own = self.own.as_mut().expect(
            "a test may kill only a redis-server it started: start it with RedisServer::start_to_kill",
        );
        if let Some(mut process) = own.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

/// Skip the running test: fail with `required` under `REQUIRE_REDIS`; else
/// count the skip for the workshop, and say `note` (only once per process
/// when `once`).
fn skip(required: &str, note: &str, once: bool) {
    assert!(std::env::var_os("REQUIRE_REDIS").is_none(), "{required}");
    if let Some(file) = std::env::var_os("WORKSHOP_SKIPPED_FILE") {
        let line = format!("{}\tredis-server\n", test_name());
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .and_then(|mut f| f.write_all(line.as_bytes()));
    }
    static SAID: AtomicBool = AtomicBool::new(false);
    if !once || !SAID.swap(true, Ordering::Relaxed) {
        // Straight to the terminal: the test harness would hide a println! of a passing test.
        let _ = writeln!(std::io::stderr(), "{note}");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(own) = &mut self.own {
            if let Some(mut process) = own.process.take() {
                let _ = process.kill();
                let _ = process.wait();
            }
            let _ = std::fs::remove_dir_all(&own.dir);
        }
        if let Some(chat) = &self.chat {
            // Leave the shared server as we found it: delete the keys of this
            // test's chat, `{<chat>}:...`, and of its others, `{<chat>.<name>}:...`.
            let pattern = format!("{{{chat}[}}.]*");
            let Ok(mut connection) =
                self.client().get_connection_with_timeout(Duration::from_secs(2))
            else {
                return;
            };
            let mut cursor = 0_u64;
            loop {
                let Ok((next, keys)) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query::<(u64, Vec<String>)>(&mut connection)
                else {
                    return;
                };
                if !keys.is_empty() {
                    let _ =
                        redis::cmd("DEL").arg(&keys).query::<u64>(&mut connection);
                }
                if next == 0 {
                    return;
                }
                cursor = next;
            }
        }
    }
}
