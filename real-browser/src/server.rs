//! An exercise's app served on 127.0.0.1:0, watched.
//!
//! The server is hyper's HTTP/1.1 on a plain accept loop rather than
//! `axum::serve`, because the tests need two things `axum::serve` does not
//! offer: to close every open connection at once (going down), and to see the
//! requests a down server receives.

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// One request, as the server saw it. Times are ms since the server started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub at: u64,
    pub method: String,
    /// The path with its query, as the page asked for it.
    pub path: String,
    /// When the answer left, or `None`: still in flight, or refused while down.
    pub answered: Option<u64>,
    /// It came while the server was down, and got no answer.
    pub refused: bool,
}

struct Inner {
    app: Router,
    started: Instant,
    seen: Mutex<Vec<Seen>>,
    /// `GET /poll` requests being answered now, and the most there ever were.
    polls_in_flight: AtomicUsize,
    most_polls_in_flight: AtomicUsize,
    /// Extra time before answering `GET /poll`, in ms.
    slow_ms: AtomicU64,
    down: AtomicBool,
    /// Files served instead of the app's: path -> JavaScript source.
    replaced: Mutex<HashMap<String, String>>,
    connections: Mutex<JoinSet<()>>,
}

/// An app on a port of its own, until dropped.
pub struct Server {
    inner: Arc<Inner>,
    address: std::net::SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serve `app` on 127.0.0.1, on a free port. Call it inside a tokio runtime.
    pub async fn start(app: Router) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port on 127.0.0.1");
        let address = listener.local_addr().expect("the port");
        let inner = Arc::new(Inner {
            app,
            started: Instant::now(),
            seen: Mutex::new(Vec::new()),
            polls_in_flight: AtomicUsize::new(0),
            most_polls_in_flight: AtomicUsize::new(0),
            slow_ms: AtomicU64::new(0),
            down: AtomicBool::new(false),
            replaced: Mutex::new(HashMap::new()),
            connections: Mutex::new(JoinSet::new()),
        });
        let accept = tokio::spawn(accept(listener, inner.clone()));
        Server { inner, address, accept }
    }

    /// `http://127.0.0.1:<port>` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    /// Milliseconds since the server started: the clock of [`Seen::at`].
    pub fn now(&self) -> u64 {
        self.inner.started.elapsed().as_millis() as u64
    }

    /// Serve `source` as JavaScript at `path`, instead of the app's file.
    pub fn replace(&self, path: &str, source: String) {
        self.inner.replaced.lock().unwrap().insert(path.to_owned(), source);
    }

    /// Answer every `GET /poll` only after `ms` more milliseconds.
    pub fn slow(&self, ms: u64) {
        self.inner.slow_ms.store(ms, Ordering::SeqCst);
    }

    /// Go down: close every open connection, and from now on close each new
    /// one as soon as its request has been read, with no answer. To the page
    /// that is a network error, as when a server dies; unlike a closed port,
    /// it lets the test see each attempt.
    pub fn go_down(&self) {
        self.inner.down.store(true, Ordering::SeqCst);
        self.inner.connections.lock().unwrap().abort_all();
    }

    /// Come back up: answer requests again.
    pub fn come_back(&self) {
        self.inner.down.store(false, Ordering::SeqCst);
    }

    /// Every request so far, in the order they arrived.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.seen.lock().unwrap().clone()
    }

    /// The requests so far whose path starts with `path` (`"/poll"`).
    pub fn seen_at(&self, path: &str, method: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.method == method && s.path.starts_with(path)).collect()
    }

    /// The most `GET /poll` requests that were ever in flight at once.
    pub fn most_polls_in_flight(&self) -> usize {
        self.inner.most_polls_in_flight.load(Ordering::SeqCst)
    }

    /// Wait (at most `limit`) until `done(self)` holds; false if it never did.
    pub async fn wait_until(&self, limit: Duration, done: impl Fn(&Server) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while !done(self) {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// A `POST /poll` of `text` by `user`, over HTTP like any other client's.
    /// Returns the status.
    pub async fn post(&self, user: &str, text: &str) -> u16 {
        let body = serde_json::json!({ "user": user, "text": text }).to_string();
        let request = format!(
            "POST /poll HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\nx-client-id: user:{user}\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            self.address,
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(self.address).await.expect("the server accepts");
        stream.write_all(request.as_bytes()).await.expect("the request is sent");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        answer.get(9..12).and_then(|code| code.parse().ok()).unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
        self.inner.connections.lock().unwrap().abort_all();
    }
}

async fn accept(listener: tokio::net::TcpListener, inner: Arc<Inner>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let connection = inner.clone();
        inner.connections.lock().unwrap().spawn(async move {
            if connection.down.load(Ordering::SeqCst) {
                refuse(stream, &connection).await;
                return;
            }
            let service = hyper::service::service_fn(move |request| handle(connection.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// Down: read the request's first line, note it, and close without a word.
async fn refuse(mut stream: tokio::net::TcpStream, inner: &Inner) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16_384 {
        match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut byte)).await {
            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&byte[..n]),
            _ => break,
        }
    }
    let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned();
    let mut words = line.split(' ');
    let (method, path) = (words.next().unwrap_or("").to_owned(), words.next().unwrap_or("").to_owned());
    if !method.is_empty() {
        let at = inner.started.elapsed().as_millis() as u64;
        inner.seen.lock().unwrap().push(Seen { at, method, path, answered: None, refused: true });
    }
    // Dropping the stream closes the connection.
}

async fn handle(
    inner: Arc<Inner>,
    request: hyper::Request<Incoming>,
) -> Result<axum::response::Response, std::convert::Infallible> {
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map_or("/".to_owned(), |p| p.as_str().to_owned());
    let at = inner.started.elapsed().as_millis() as u64;
    let index = {
        let mut seen = inner.seen.lock().unwrap();
        seen.push(Seen { at, method: method.clone(), path: path.clone(), answered: None, refused: false });
        seen.len() - 1
    };
    let poll = method == "GET" && request.uri().path() == "/poll";
    if poll {
        let now_in_flight = inner.polls_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        inner.most_polls_in_flight.fetch_max(now_in_flight, Ordering::SeqCst);
    }

    let slow = inner.slow_ms.load(Ordering::SeqCst);
    if slow > 0 && poll {
        tokio::time::sleep(Duration::from_millis(slow)).await;
    }
    let replaced = inner.replaced.lock().unwrap().get(request.uri().path()).cloned();
    let response = match replaced {
        Some(source) => axum::response::Response::builder()
            .header("content-type", "text/javascript; charset=utf-8")
            .header("cache-control", "no-store")
            .body(Body::from(source))
            .expect("a valid response"),
        None => inner.app.clone().oneshot(request.map(Body::new)).await.expect("a Router never fails"),
    };

    if poll {
        inner.polls_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    let answered = inner.started.elapsed().as_millis() as u64;
    inner.seen.lock().unwrap()[index].answered = Some(answered);
    Ok(response)
}
