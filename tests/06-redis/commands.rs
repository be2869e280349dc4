//! What Redis runs, as its `MONITOR` command reports it, for the scenario
//! that checks what a poll costs Redis (s08).
//!
//! `MONITOR` streams every command the server runs, from every client, in
//! the order it runs them. The spec filters them by key, so it counts only
//! its own chat's commands, even on a Redis that other tests share
//! (`REDIS_URL`). To know that every command the test caused has been
//! reported, it runs one more of its own (`ECHO <marker>`) and waits for it:
//! what ran before it was reported before it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The commands Redis ran while a test watched.
pub struct Commands {
    client: redis::Client,
    seen: Arc<(Mutex<Vec<String>>, Condvar)>,
    markers: AtomicUsize,
    watcher: Option<std::thread::JoinHandle<()>>,
}

/// One command as `MONITOR` reports it:
/// `1767225600.123456 [0 127.0.0.1:50412] "LRANGE" "{chat}:messages" "0" "-1"`.
pub struct Command<'a>(pub &'a str);

impl Command<'_> {
    /// Run by a script (`[0 lua]`), not sent by a client.
    pub fn run_by_a_script(&self) -> bool {
        self.0.contains(" lua] ")
    }

    /// Whether `key` is one of its arguments.
    pub fn names(&self, key: &str) -> bool {
        self.0.contains(&format!("\"{key}\""))
    }

    /// The command and its arguments, without the time and the client.
    pub fn text(&self) -> &str {
        self.0.split_once("] ").map_or(self.0, |(_, text)| text)
    }
}

impl Commands {
    /// Start watching what the Redis of `client` runs.
    pub fn watch(client: redis::Client) -> Commands {
        let mut connection = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("a connection to the test's Redis, for MONITOR");
        connection
            .send_packed_command(&redis::cmd("MONITOR").get_packed_command())
            .expect("MONITOR is sent");
        match connection.recv_response() {
            Ok(redis::Value::Okay) | Ok(redis::Value::SimpleString(_)) => {}
            other => panic!(
                "this Redis refused MONITOR ({other:?}), which s08 needs to count the commands a poll \
                 sends: run the spec on a Redis that allows it (unset REDIS_URL, and the spec starts \
                 its own redis-server)"
            ),
        }
        let seen = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let lines = seen.clone();
        let watcher = std::thread::spawn(move || {
            while let Ok(value) = connection.recv_response() {
                let redis::Value::SimpleString(line) = value else { continue };
                let stop = line.contains("\"spec-monitor-stop\"");
                let (list, arrived) = &*lines;
                list.lock().unwrap().push(line);
                arrived.notify_all();
                if stop {
                    return;
                }
            }
        });
        Commands {
            client,
            seen,
            markers: AtomicUsize::new(0),
            watcher: Some(watcher),
        }
    }

    /// Run `ECHO marker` on a connection of its own.
    fn echo(&self, marker: &str) {
        let mut connection = self
            .client
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("a connection to the test's Redis");
        let _: String = redis::cmd("ECHO")
            .arg(marker)
            .query(&mut connection)
            .expect("ECHO answers");
    }

    /// Every command Redis ran since the last call (or since `watch`), once
    /// `MONITOR` has reported them all.
    pub fn since_last(&self) -> Vec<String> {
        let n = self.markers.fetch_add(1, Ordering::Relaxed);
        let marker = format!("\"spec-monitor-marker-{n}\"");
        self.echo(&marker[1..marker.len() - 1]);
        let (list, arrived) = &*self.seen;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut lines = list.lock().unwrap();
        loop {
            if let Some(at) = lines.iter().position(|line| line.contains(&marker)) {
                let before: Vec<String> = lines.drain(..=at).collect();
                return before[..at]
                    .iter()
                    .filter(|line| !line.contains("\"spec-monitor-marker-"))
                    .cloned()
                    .collect();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "MONITOR did not report the spec's own ECHO within 10 s: is the test's Redis overloaded?"
            );
            lines = arrived.wait_timeout(lines, left).unwrap().0;
        }
    }
}

impl Drop for Commands {
    fn drop(&mut self) {
        // The watcher stops when it sees this (or when Redis goes away).
        let stopped = self
            .client
            .get_connection_with_timeout(Duration::from_secs(2))
            .and_then(|mut c| {
                redis::cmd("ECHO").arg("spec-monitor-stop").query::<String>(&mut c)
            });
        if let (Ok(_), Some(watcher)) = (stopped, self.watcher.take()) {
            let _ = watcher.join();
        }
    }
}
