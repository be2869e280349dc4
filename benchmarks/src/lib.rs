//! What the benchmarks share: a server's own CPU time and memory (or
//! another process's), the open files limit, connecting from a loopback
//! address of one's choice, and reading an HTTP/1.1 answer off a raw
//! connection.

pub mod tuned;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The server's own CPU time (user + system) in microseconds, and its
/// resident memory in KiB.
#[allow(unsafe_code)] // libc's getrusage: the server's own CPU time
pub fn usage() -> (u64, u64) {
    // SAFETY: `rusage` is plain old data, for which all zeroes is a valid value.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own and reports errors by its return value.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut rusage) } == 0;
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    let cpu = if ok { micros(rusage.ru_utime) + micros(rusage.ru_stime) } else { 0 };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    (cpu, resident_kib(&status))
}

/// Another process's CPU time (user + system) in microseconds, and its
/// resident memory in KiB, from `/proc/<pid>/stat` and `/proc/<pid>/status`
/// (zeroes where they cannot be read): for a server measured from outside,
/// which need not answer a request to say it.
#[allow(unsafe_code)] // libc's sysconf: how long a clock tick is
pub fn process_usage(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's name, which is in parentheses and may
    // hold spaces: state is the first; utime and stime are the 12th and 13th.
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().map(|field| field.parse().unwrap_or(0)).collect())
        .unwrap_or_default();
    let ticks = fields.get(11).unwrap_or(&0) + fields.get(12).unwrap_or(&0);
    // SAFETY: sysconf reads a constant of the system and has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    (ticks * 1_000_000 / per_second, resident_kib(&status))
}

/// `VmRSS` from a `/proc/<pid>/status`, in KiB.
fn resident_kib(status: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A connection to `port` on 127.0.0.1 from the loopback address `from`:
/// many addresses let a benchmark open more connections than one address
/// has ports, or look like clients on machines of their own.
pub async fn connect_from(from: std::net::Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    bind_address_no_port(&socket);
    socket.bind(std::net::SocketAddr::from((from, 0)))?;
    socket.connect(std::net::SocketAddr::from(([127, 0, 0, 1], port))).await
}

/// Let the kernel choose the socket's port when it connects, not when it
/// is bound (Linux's `IP_BIND_ADDRESS_NO_PORT`): a port chosen at `bind`
/// must be free for every destination, and the ports of the run before,
/// still in TIME_WAIT, are not.
#[allow(unsafe_code)] // libc's setsockopt
fn bind_address_no_port(socket: &tokio::net::TcpSocket) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: the option's value is a c_int we own, of the size we pass; a
    // failure leaves the socket as it was, and is ignored.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&raw const on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Read one HTTP/1.1 response (with `Content-Length`) from `stream`; return its status.
pub async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<u16> {
    read_answer(stream, buffer).await.map(|answer| answer.status)
}

/// What [`read_answer`] read: the status, `Retry-After` in seconds (if
/// sent), the `ETag` (if sent), and where the body lies in the buffer.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub etag: Option<String>,
    pub body: std::ops::Range<usize>,
}

/// Read one HTTP/1.1 response (with `Content-Length`) from `stream` into
/// `buffer`, whole.
pub async fn read_answer(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<Answer> {
    buffer.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            // Header names are case-insensitive; values (an entity tag) are not.
            let text = |name: &str| {
                head.lines().find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.eq_ignore_ascii_case(name).then(|| value.trim())
                })
            };
            let value = |name: &str| text(name).and_then(|v| v.parse::<u64>().ok());
            let length = value("content-length").unwrap_or(0) as usize;
            while buffer.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let etag = text("etag").map(str::to_owned);
            return Ok(Answer { status, retry_after: value("retry-after"), etag, body: end + 4..end + 4 + length });
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Raise this process's open-files limit as far as it may go, and return
/// it: to the hard limit, and past it to the kernel's `fs.nr_open` where the
/// process may (as root, say). Processes started afterwards inherit it.
#[allow(unsafe_code)] // libc's getrlimit and setrlimit
pub fn raise_open_files_limit() -> u64 {
    let nr_open: Option<libc::rlim_t> =
        std::fs::read_to_string("/proc/sys/fs/nr_open").ok().and_then(|n| n.trim().parse().ok());
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: the calls read or write only the structs we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if let Some(most) = nr_open.filter(|most| *most > limit.rlim_max) {
            let raised = libc::rlimit { rlim_cur: most, rlim_max: most };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return most;
            }
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    limit.rlim_cur
}

/// A redis-server of the benchmark's own, on the server's core (where
/// there are two cores and `taskset`), with nothing on disk; stopped on drop.
pub struct RedisProcess {
    pub port: u16,
    process: std::process::Child,
}

impl RedisProcess {
    /// `None` when redis-server is not installed.
    pub fn start(pinned: bool) -> Option<RedisProcess> {
        use std::process::Command;
        Command::new("redis-server").arg("--version").output().ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let mut command = Command::new(if pinned { "taskset" } else { "redis-server" });
        if pinned {
            command.args(["-c", "0", "redis-server"]);
        }
        let process = command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Some(RedisProcess { port, process })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// How many cores the machine has, as seen the first time this is asked:
/// once a benchmark has pinned itself to one core, the standard library's
/// `available_parallelism` says 1, and a second server would not be pinned.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A server the benchmark runs as a process of its own: this program again,
/// with `--serve`, which prints its port on its first line. Where there are
/// two cores and `taskset`, the server gets core 0 and this process (the
/// clients) core 1, so that each one's CPU time and memory are its own.
pub struct ServerProcess {
    child: std::process::Child,
    pub port: u16,
    /// Whether the server and the clients are pinned to a core each.
    pub pinned: bool,
}

impl ServerProcess {
    pub fn start() -> ServerProcess {
        ServerProcess::start_with(&[])
    }

    /// The same, with `args` after `--serve`.
    pub fn start_with(args: &[&str]) -> ServerProcess {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let cores = cores();
        let pinned = cores >= 2 && Command::new("taskset").arg("-V").output().is_ok_and(|o| o.status.success());
        let me = std::env::current_exe().expect("this program's path");
        let mut command = Command::new(if pinned { std::path::PathBuf::from("taskset") } else { me.clone() });
        if pinned {
            command.args(["-c", "0"]).arg(&me);
            Command::new("taskset").args(["-cp", "1", &std::process::id().to_string()]).output().ok();
        }
        let mut child = command.arg("--serve").args(args).stdout(Stdio::piped()).spawn().expect("the server starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the server says its port");
        ServerProcess { child, port: line.trim().parse().expect("a port"), pinned }
    }

    /// The server's process id (`taskset` runs the server in its own
    /// process, so this is the server's), to read its `/proc` files.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
