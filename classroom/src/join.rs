//! Joining a class: the learner's own page and client, served on their own
//! machine, with the API their client calls forwarded to the class server.
//!
//! The learner's JavaScript runs in their own browser, so visibility,
//! throttling and timers are real; only `/poll` and `/events` (and the
//! page's reports) cross the network, each tagged with the learner's name
//! and exercise ([`crate::tag`]). A stream (`/events`, exercise 08) is
//! passed on as the class server writes it, frame by frame. The page files
//! are read from disk at each request, so a learner who edits `client.js`
//! reloads the page and runs the new code.

use crate::room::Tag;
use crate::server::{closed, error};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as HttpBody, Frame, Incoming};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::ServiceExt;

// ANCHOR: limits
/// How long the proxy waits to reach the class server before it gives the
/// page a network error.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer the proxy passes on: a chat answer is a few KiB. A
/// stream (`text/event-stream`) is not read whole: each frame is passed on
/// as it comes, for as long as both the page and the class server keep it.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;
// ANCHOR_END: limits

/// Where the proxy sends the API: the class server, over the network, or
/// (in tests) its router in the same process.
#[derive(Clone)]
pub enum Upstream {
    /// `host:port` of the class server, and the address to connect from
    /// (the simulated room gives each learner one of its own).
    Remote(String, Option<std::net::IpAddr>),
    Local(Router),
}

impl Upstream {
    /// The class server at `url` (`http://host:port`, a path is ignored).
    pub fn remote(url: &str) -> Result<Upstream, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("{url:?} is not a class server's address: it starts with http:// (https is not supported)")
        })?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err(format!("{url:?} has no host: try http://192.168.1.20:4100"));
        }
        let authority = if authority.contains(':') { authority.to_owned() } else { format!("{authority}:80") };
        Ok(Upstream::Remote(authority, None))
    }

    /// The same, connecting from `address`.
    pub fn from(self, address: std::net::IpAddr) -> Upstream {
        match self {
            Upstream::Remote(authority, _) => Upstream::Remote(authority, Some(address)),
            local => local,
        }
    }

    /// Send `request` on; a class server that cannot be reached, or that
    /// closes the connection, is a closed connection here too, so the page
    /// sees the network error it would see talking to the server itself.
    pub async fn send(&self, request: Request) -> Response {
        match self {
            Upstream::Local(app) => app.clone().oneshot(request).await.unwrap_or_else(|never| match never {}),
            Upstream::Remote(authority, from) => match send_remote(authority, *from, request).await {
                Ok(response) => response,
                Err(_) => closed(),
            },
        }
    }
}

/// A connection to the class server, driven by whoever needs its answer.
type Connection = Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>;

/// `work`, with `connection` driven meanwhile (until it ends: the server
/// closed it, and what it sent is in).
async fn driven<T>(connection: &mut Option<Connection>, work: impl Future<Output = T>) -> T {
    let mut work = std::pin::pin!(work);
    if let Some(driving) = connection.as_mut() {
        tokio::select! {
            biased;
            done = &mut work => return done,
            _ = driving.as_mut() => *connection = None,
        }
    }
    work.await
}

/// One request on a connection of its own. The answer is read whole while
/// the connection is driven here, so when the page hangs up (this future is
/// dropped) the connection to the class server closes too, and the class
/// server sees the hang-up. A stream is not read whole: its body
/// ([`Relayed`]) takes the connection along and drives it as the page
/// reads, so it ends when either side does.
async fn send_remote(
    authority: &str,
    from: Option<std::net::IpAddr>,
    mut request: Request,
) -> Result<Response, String> {
    let connect = async {
        let Some(from) = from else {
            return tokio::net::TcpStream::connect(authority).await;
        };
        let to = tokio::net::lookup_host(authority)
            .await?
            .next()
            .ok_or_else(|| std::io::Error::other(format!("{authority} has no address")))?;
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(std::net::SocketAddr::new(from, 0))?;
        socket.connect(to).await
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| format!("{authority} did not answer within {} s", CONNECT_TIMEOUT.as_secs()))?
        .map_err(|e| format!("cannot reach {authority}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Body>(io).await.map_err(|e| e.to_string())?;
    let mut connection: Option<Connection> = Some(Box::pin(connection));
    let host = HeaderValue::from_str(authority).map_err(|e| e.to_string())?;
    request.headers_mut().insert(header::HOST, host);
    let response = driven(&mut connection, sender.send_request(request)).await.map_err(|e| e.to_string())?;
    let (mut parts, body) = response.into_parts();
    for hop in [header::CONNECTION, header::TRANSFER_ENCODING, header::CONTENT_LENGTH] {
        parts.headers.remove(hop);
    }
    if crate::server::is_event_stream(parts.status, &parts.headers) {
        let relayed = Relayed { body, connection, _sender: sender };
        return Ok(Response::from_parts(parts, Body::new(relayed)));
    }
    let collected = driven(&mut connection, Limited::new(body, MAX_ANSWER_BYTES).collect()).await;
    let bytes = collected.map_err(|e| e.to_string())?.to_bytes();
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// A stream's body from the class server, passed on to the page frame by
/// frame as it comes. It owns the connection and drives it while the page
/// reads: when the page hangs up (this is dropped), the connection closes
/// and the class server sees it; when the class server ends the stream, or
/// its connection breaks, the page's does too.
struct Relayed {
    body: Incoming,
    connection: Option<Connection>,
    /// Kept so that the connection stays open for this one answer.
    _sender: hyper::client::conn::http1::SendRequest<Body>,
}

impl HttpBody for Relayed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        // The connection reads what the class server writes into the body.
        if let Some(connection) = this.connection.as_mut()
            && connection.as_mut().poll(cx).is_ready()
        {
            this.connection = None;
        }
        Pin::new(&mut this.body).poll_frame(cx)
    }
}

/// A file of the page: served at `path`, read from `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFile {
    pub path: String,
    pub file: PathBuf,
}

/// The page a joined learner is served: their exercise's number, and its
/// files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub exercise: u32,
    pub files: Vec<PageFile>,
}

/// Which page to serve, asked again each time the learner loads the page:
/// the join command follows the learner's current exercise, so that after
/// a check passes, the next reload serves the next exercise's page.
pub type Pages = Box<dyn Fn() -> Page + Send + Sync>;

/// A learner joined to a class.
pub struct Join {
    name: String,
    pages: Pages,
    page: std::sync::Mutex<Page>,
    upstream: Upstream,
    /// Turns `true` when the proxy stops: the streams it passes on end.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Join {
    /// `name`, served the page `pages` says, forwarding to `upstream`.
    pub fn new(name: String, pages: Pages, upstream: Upstream) -> Join {
        let page = std::sync::Mutex::new(pages());
        Join { name, pages, page, upstream, stopping: tokio::sync::watch::Sender::new(false) }
    }

    /// End every stream the proxy is passing on, as it stops (on Ctrl-C,
    /// before it waits for its connections to finish): a page's stream
    /// never finishes by itself, and would keep the proxy from stopping for
    /// as long as the page stays open.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Always the same page (tests, and `join --exercise N`).
    pub fn fixed(tag: Tag, files: Vec<PageFile>, upstream: Upstream) -> Join {
        let page = Page { exercise: tag.exercise, files };
        Join::new(tag.name, Box::new(move || page.clone()), upstream)
    }

    /// The page being served.
    pub fn page(&self) -> Page {
        self.page.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Ask which page to serve (the page is being loaded).
    fn reload(&self) -> Page {
        let page = (self.pages)();
        *self.page.lock().unwrap_or_else(|p| p.into_inner()) = page.clone();
        page
    }

    fn tag(&self) -> Tag {
        Tag { name: self.name.clone(), exercise: self.page().exercise }
    }
}

/// The chat page with the reporter, which tells the class server when the
/// page loads, is hidden or shown, and throws.
pub fn index_html() -> String {
    let client = r#"<script type="module" src="/client.js"></script>"#;
    assert!(chat_page::INDEX_HTML.contains(client), "the chat page loads /client.js");
    chat_page::INDEX_HTML.replacen(
        client,
        &format!("<script type=\"module\" src=\"/class/report.js\"></script>\n    {client}"),
        1,
    )
}

/// The join proxy's routes: the page and its files, `/class/joined` (who
/// the page is joined as, for its badge), and the API (`/poll`, `/events`,
/// and `/class/report` for the reporter) forwarded to the class server with
/// the learner's tag. Nothing else is forwarded: the page is the
/// learner's own, not the class server's.
pub fn router(join: Arc<Join>) -> Router {
    let index = index_html();
    Router::new()
        .route(
            "/",
            get(move |State(join): State<Arc<Join>>| async move {
                join.reload();
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], index)
                    .into_response()
            }),
        )
        .route("/static/chat.css", get(|| async { typed(chat_page::CHAT_CSS.to_owned(), "text/css") }))
        .route("/static/chat.js", get(|| async { typed(chat_page::CHAT_JS.to_owned(), "text/javascript") }))
        .route("/class/report.js", get(|| async { typed(crate::REPORT_JS.to_owned(), "text/javascript") }))
        .route(
            "/class/joined",
            get(|State(join): State<Arc<Join>>| async move {
                let tag = join.tag();
                axum::Json(serde_json::json!({ "name": tag.name, "exercise": tag.exercise }))
            }),
        )
        .route("/poll", axum::routing::any(forward))
        .route(crate::server::EVENTS_PATH, axum::routing::any(forward))
        .route("/class/report", axum::routing::post(forward))
        .fallback(page_file)
        .with_state(join)
}

/// One of the page's scripts, as it is on disk now; anything else is 404.
async fn page_file(State(join): State<Arc<Join>>, request: Request) -> Response {
    let path = request.uri().path();
    let page = join.page();
    match page.files.iter().find(|file| file.path == path) {
        Some(file) if request.method() == axum::http::Method::GET => serve_file(file.file.clone()).await,
        _ => error(
            StatusCode::NOT_FOUND,
            format!("no {path} here: this is exercise {:02}'s page, joined to a class", page.exercise),
        ),
    }
}

fn typed(body: String, kind: &str) -> Response {
    let kind = HeaderValue::from_str(&format!("{kind}; charset=utf-8")).expect("a content type");
    // Read afresh each time: the learner edits these files.
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))], body)
        .into_response()
}

async fn serve_file(path: PathBuf) -> Response {
    match std::fs::read_to_string(&path) {
        Ok(text) => typed(text, "text/javascript"),
        Err(problem) => error(StatusCode::NOT_FOUND, format!("cannot read {}: {problem}", path.display())),
    }
}

async fn forward(State(join): State<Arc<Join>>, mut request: Request) -> Response {
    crate::tag::put(request.headers_mut(), &join.tag());
    let response = join.upstream.send(request).await;
    if !crate::server::is_event_stream(response.status(), response.headers()) {
        return response;
    }
    let mut stopping = join.stopping.subscribe();
    let stopped = Box::pin(async move {
        let _ = stopping.wait_for(|stopping| *stopping).await;
    });
    response.map(|body| Body::new(UntilStopped { body, stopped }))
}

/// A stream passed on until the proxy stops ([`Join::stop`]): then it
/// ends, and the page's `EventSource` connects again (to whatever serves
/// the page next).
struct UntilStopped {
    body: Body,
    stopped: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl HttpBody for UntilStopped {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.stopped.as_mut().poll(cx).is_ready() {
            this.body = Body::empty(); // the class server's side goes at once
            return Poll::Ready(None);
        }
        Pin::new(&mut this.body).poll_frame(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    async fn fetch(app: &Router, path: &str) -> (StatusCode, String) {
        let response = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// A class server that answers each poll with the exercise it was tagged with.
    fn echo() -> Upstream {
        Upstream::Local(Router::new().route(
            "/poll",
            axum::routing::get(|headers: axum::http::HeaderMap| async move {
                crate::tag::of(&headers).unwrap().map(|tag| tag.exercise.to_string()).unwrap_or_default()
            }),
        ))
    }

    /// Read `body` into `text` until `text` holds `wanted`: `Ok(false)` if
    /// the body ended first, the error if it failed; at most 5 s.
    async fn read_until(body: &mut Body, text: &mut String, wanted: &str) -> Result<bool, String> {
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
        tokio::time::timeout(Duration::from_secs(5), reading).await.map_err(|_| format!("{wanted:?} not in 5 s"))?
    }

    /// The kind of `name`'s last request, as the class server's room has it.
    fn last_kind(server: &crate::server::ClassServer, name: &str) -> Option<&'static str> {
        let feed = server.room.feed(0);
        feed.learners.iter().find(|l| l.name == name)?.requests.last().map(|r| r.kind)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_is_forwarded_event_by_event_and_ends_when_either_side_does() {
        // A class server on a port of its own, as `cargo run -- classroom` serves it.
        let chat = crate::memory_chat(governor::clock::DefaultClock::default());
        let key = crate::control::Key::given("0123456789abcdef").unwrap();
        let server = crate::server::ClassServer::seeded(key, chat, 1).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let limits = chat_page::serve::Limits::default();
        let serving = tokio::spawn(chat_page::serve::serve_with(
            listener,
            crate::server::router(server.clone()),
            limits,
            std::future::pending(),
            || {},
        ));
        let tag = Tag { name: "Ada".to_owned(), exercise: 8 };
        let join = Arc::new(Join::fixed(tag, Vec::new(), Upstream::remote(&url).unwrap()));
        let app = router(join.clone());
        let open = || async {
            let request = Request::get("/events?client=page-1").body(Body::empty()).unwrap();
            let opening = tokio::time::timeout(Duration::from_secs(5), app.clone().oneshot(request));
            opening.await.expect("the stream's answer begins at once, not when it ends").unwrap()
        };

        let response = open().await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
        let (mut body, mut text) = (response.into_body(), String::new());
        assert_eq!(read_until(&mut body, &mut text, "retry:").await, Ok(true));
        // Each event reaches the page as the class server writes it, the
        // stream still open: nothing waits for its end.
        for said in ["first", "second"] {
            server.control(crate::control::Control::Post { text: said.to_owned() }).await.unwrap();
            assert_eq!(read_until(&mut body, &mut text, said).await, Ok(true), "{text}");
        }
        // Tagged: the room has it as Ada's, one stream, open, a tick each.
        let feed = server.room.feed(0);
        let ada = feed.learners.iter().find(|l| l.name == "Ada").expect("tagged");
        let [stream] = &ada.requests[..] else { panic!("{:?}", ada.requests) };
        assert_eq!((stream.kind, stream.stream.as_ref().map(|s| s.events)), ("streaming", Some(2)));

        // The page hangs up: the class server sees the stream end.
        drop(body);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while last_kind(&server, "Ada") != Some("aborted") {
            assert!(std::time::Instant::now() < deadline, "{:?}", last_kind(&server, "Ada"));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The class server breaks one off (a restart): the page's ends too.
        let (mut body, mut text) = (open().await.into_body(), String::new());
        assert_eq!(read_until(&mut body, &mut text, "retry:").await, Ok(true));
        server.control(crate::control::Control::Restart).await.unwrap();
        let ended = read_until(&mut body, &mut text, "never written").await;
        assert!(matches!(ended, Ok(false)) || ended.as_ref().is_err_and(|e| !e.contains("5 s")), "{ended:?}");
        assert_eq!(last_kind(&server, "Ada"), Some("error"));
        // The proxy stops (Ctrl-C): its streams end, and the class server
        // sees the page's go.
        let (mut body, mut text) = (open().await.into_body(), String::new());
        assert_eq!(read_until(&mut body, &mut text, "retry:").await, Ok(true));
        join.stop();
        assert_eq!(read_until(&mut body, &mut text, "never written").await, Ok(false), "{text}");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while last_kind(&server, "Ada") != Some("aborted") {
            assert!(std::time::Instant::now() < deadline, "{:?}", last_kind(&server, "Ada"));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        serving.abort();
    }

    #[tokio::test]
    async fn the_page_follows_the_current_exercise_at_each_load() {
        let folder = std::env::temp_dir().join(format!("join-follows-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        for n in [2, 3] {
            std::fs::write(folder.join(format!("client-{n}.js")), format!("// exercise {n}")).unwrap();
        }
        static CURRENT: AtomicU32 = AtomicU32::new(2);
        let dir = folder.clone();
        let pages: Pages = Box::new(move || {
            let n = CURRENT.load(Ordering::Relaxed);
            Page {
                exercise: n,
                files: vec![PageFile { path: "/client.js".into(), file: dir.join(format!("client-{n}.js")) }],
            }
        });
        let app = router(Arc::new(Join::new("Ada".into(), pages, echo())));
        assert_eq!(fetch(&app, "/client.js").await.1, "// exercise 2");
        assert_eq!(fetch(&app, "/poll").await.1, "2");
        // The learner's check passes: the next load of the page is exercise 03's.
        CURRENT.store(3, Ordering::Relaxed);
        assert_eq!(fetch(&app, "/poll").await.1, "2", "until the page is loaded again");
        assert_eq!(fetch(&app, "/").await.0, StatusCode::OK);
        assert_eq!(fetch(&app, "/client.js").await.1, "// exercise 3");
        assert_eq!(fetch(&app, "/poll").await.1, "3");
        // Only the page's files and the API: nothing else is served or forwarded.
        let (status, body) = fetch(&app, "/etc/passwd").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let _ = std::fs::remove_dir_all(&folder);
    }
}
