//! Serving an app on a socket, with the limits a server on a shared network
//! needs: in a classroom every laptop on the network can reach it, and no one
//! client may stop it answering the others.
//!
//! `axum::serve` sets no timeouts and no cap on connections, so ten thousand
//! connections that each send half a request header would keep the server
//! busy for as long as they like. Here, as nginx does with
//! `client_header_timeout`, `client_body_timeout`, `keepalive_timeout` and
//! `worker_connections`:
//!
//! - a request's header must arrive within [`HEADER_TIMEOUT`], counted from
//!   when the connection is ready for it: for a new connection, and for a
//!   kept-alive one after its last answer (hyper starts the same timer while
//!   it waits for the next request), so it is also the idle timeout;
//! - a request's body must arrive within [`BODY_TIMEOUT`];
//! - at most [`MAX_CONNECTIONS`] connections are open at once, and at most
//!   [`MAX_CONNECTIONS_PER_ADDRESS`] from one address, so one laptop cannot
//!   take every slot; past either, a new one gets `503` with `Retry-After`
//!   and is closed, and the server says so in its log (once in a while).
//!
//! A held long poll is cut by neither: the header timer does not run while
//! a request is being answered, and the body timer runs only while the
//! handler reads a body, which a long poll does not have.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

// ANCHOR: limits
/// How long a client has to send a request's header: from when it connects,
/// or, on a kept-alive connection, from the end of the last answer.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client has to send a request's body, counted from when the
/// handler starts to read it. A chat message is a few hundred bytes: 10 s
/// is plenty on any network.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many connections may be open at once. Each costs a file descriptor
/// and some memory (Linux lets a process open 1,024 files unless told
/// otherwise, macOS 256), and a classroom of 300 needs two or three each.
pub const MAX_CONNECTIONS: usize = 1_000;

/// How many connections one address may have open at once. A browser opens
/// at most six to one server, so this is a laptop with several tabs and
/// tools; a classroom's learners each have their own address.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 50;

/// How long a client turned away at the cap is told to wait.
pub const RETRY_AFTER_AT_CAP_SECONDS: u64 = 1;
// ANCHOR_END: limits

/// The limits [`serve_with`] applies. [`Limits::default`] is the constants
/// above; tests and benchmarks set their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: HEADER_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            max_connections_per_address: MAX_CONNECTIONS_PER_ADDRESS,
        }
    }
}

/// Serve `app` on `listener` within `limits` until `shutdown` completes;
/// then call `stopping`, stop accepting, let each connection finish the
/// request it is on, and return once all are closed. Handlers can read the
/// peer's address (`ConnectInfo<SocketAddr>`).
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
    stopping: impl FnOnce() + Send,
) -> Result<(), String> {
    // Each open connection holds a permit; at the cap there is none left.
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closed) = watch::channel(false);
    let turned_away = Arc::new(AtomicU64::new(0));
    let by_address: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let mut last_said: Option<Instant> = None;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, or a connection reset before we
                // took it: say so, wait a moment, and go on serving.
                Err(error) => {
                    eprintln!("warning: could not accept a connection: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let per_address = PerAddress::take(&by_address, peer.ip(), limits.max_connections_per_address);
        let permit = open.clone().try_acquire_owned();
        let (Some(per_address), Ok(permit)) = (per_address, permit) else {
            let count = turned_away.fetch_add(1, Ordering::Relaxed) + 1;
            if last_said.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                eprintln!(
                    "warning: turning connections away with 503 ({count} so far): at most {} may be open at once \
                     (MAX_CONNECTIONS), and {} from one address (MAX_CONNECTIONS_PER_ADDRESS; {} has reached it)",
                    limits.max_connections,
                    limits.max_connections_per_address,
                    peer.ip()
                );
                last_said = Some(Instant::now());
            }
            tokio::spawn(turn_away(stream));
            continue;
        };
        let app = app.clone();
        let mut closed = closed.clone();
        tokio::spawn(async move {
            // Both given back when the connection closes.
            let (_permit, _per_address) = (permit, per_address);
            let body_timeout = limits.body_timeout;
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let mut request = request.map(|body| axum::body::Body::new(TimedBody::new(body, body_timeout)));
                request.extensions_mut().insert(ConnectInfo(peer));
                let app = app.clone();
                async move {
                    let response = app.oneshot(request).await.unwrap_or_else(|never| match never {});
                    // A service error makes hyper drop the connection unanswered.
                    match response.extensions().get::<CloseConnection>() {
                        Some(_) => Err(ClosedOnPurpose),
                        None => Ok(response),
                    }
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = closed.wait_for(|closing| *closing) => {}
            }
            // Shutting down: finish the request in flight, then close.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    drop(listener);
    stopping();
    let _ = closing.send(true);
    // Every connection holds a permit until it closes: all back, all closed.
    let _all = open.acquire_many(limits.max_connections as u32).await;
    Ok(())
}

/// Put this in a response's extensions to close the connection instead of
/// answering: the client sees a network error, as when a server goes away.
/// The classroom's "down, connections closed" mode uses it; the virtual
/// browser turns it into a network error too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseConnection;

/// The error that tells hyper to drop a connection (see [`CloseConnection`]).
#[derive(Debug)]
struct ClosedOnPurpose;

impl std::fmt::Display for ClosedOnPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the app asked for the connection to be closed")
    }
}

impl std::error::Error for ClosedOnPurpose {}

/// One open connection counted against its address; uncounted on drop.
struct PerAddress {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    address: IpAddr,
}

impl PerAddress {
    /// Count a connection from `address`, unless it has `max` open already.
    /// The map holds only addresses with connections open, so it is no
    /// longer than the number of connections.
    fn take(counts: &Arc<Mutex<HashMap<IpAddr, usize>>>, address: IpAddr, max: usize) -> Option<PerAddress> {
        let mut map = counts.lock().expect("the per-address counts' lock is poisoned");
        let count = map.entry(address).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(PerAddress { counts: counts.clone(), address })
    }
}

impl Drop for PerAddress {
    fn drop(&mut self) {
        let mut map = self.counts.lock().expect("the per-address counts' lock is poisoned");
        if let Some(count) = map.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.address);
            }
        }
    }
}

/// A connection past the cap: a plain `503` it can read, then close.
async fn turn_away(mut stream: tokio::net::TcpStream) {
    let body = format!(
        "{{\"error\":\"the server has as many connections as it takes; try again in {RETRY_AFTER_AT_CAP_SECONDS} s\"}}"
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: \
         {RETRY_AFTER_AT_CAP_SECONDS}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(answer.as_bytes())).await;
    let _ = stream.shutdown().await;
}

pin_project_lite::pin_project! {
    /// A request body that must arrive within a deadline, counted from when
    /// the handler first reads it; after that, reading it fails.
    struct TimedBody {
        #[pin]
        body: hyper::body::Incoming,
        timeout: Duration,
        #[pin]
        deadline: Option<tokio::time::Sleep>,
    }
}

impl TimedBody {
    fn new(body: hyper::body::Incoming, timeout: Duration) -> TimedBody {
        TimedBody { body, timeout, deadline: None }
    }
}

/// The error a body that came too slowly reads as.
#[derive(Debug)]
struct BodyTooSlow(Duration);

impl std::fmt::Display for BodyTooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body did not arrive within {} s", self.0.as_secs())
    }
}

impl std::error::Error for BodyTooSlow {}

impl http_body::Body for TimedBody {
    type Data = axum::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let mut this = self.project();
        if this.deadline.is_none() {
            this.deadline.set(Some(tokio::time::sleep(*this.timeout)));
        }
        if let Poll::Ready(frame) = this.body.poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        match this.deadline.as_pin_mut().map(|deadline| deadline.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Some(Err(Box::new(BodyTooSlow(*this.timeout))))),
            _ => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
