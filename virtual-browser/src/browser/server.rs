//! The bridge to the server under test: the exercise's axum `Router`, run
//! in-process on a tokio runtime whose clock is paused and moved only with
//! the virtual clock.
//!
//! Most requests are answered at once. One the server holds (a long poll
//! waiting for news) becomes a tokio task of its own, [`Held`]; the browser
//! then moves the server's clock towards its next job
//! ([`Browser::advance_server_to`]) and delivers the answer at the virtual
//! moment the server gives it. A restart breaks every held connection.
//!
//! A stream (an `EventSource`'s answer) never completes: it is a task of its
//! own too, [`Stream`], that forwards the answer's head and then each frame
//! of its body, stamped with the server's time, into a small channel. The
//! browser takes them out as the server's clock moves ([`Browser::pull_streams`])
//! and delivers each at the moment it was written, plus the way back.

use super::Browser;
use super::event_loop::{Job, set_virtual_now};
use super::network::Kept;
use crate::trace::Event;
use axum::body::Bytes;
use axum::{Router, body::Body, http};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A server's answer: status, headers and body.
pub(super) type Answer = (u16, Vec<(String, String)>, String);

/// A server's answer before its body is read: status, headers, and the body.
type Head = (u16, Vec<(String, String)>, Body);

/// What comes back on a stream's connection, in order: the answer's head,
/// then its body frame by frame, then its end.
#[derive(Debug)]
pub(super) enum Piece {
    Head {
        status: u16,
        headers: Vec<(String, String)>,
    },
    Data(Bytes),
    /// The body ended: the server closed the stream.
    End,
    /// The connection broke (the server closed it unanswered, its body
    /// failed, or it restarted): a network error.
    Failed,
}

impl Piece {
    fn len(&self) -> usize {
        match self {
            Piece::Data(bytes) => bytes.len(),
            _ => 0,
        }
    }
}

/// How far a stream's writes may run ahead of the page: at most this many
/// pieces, or [`STREAM_WINDOW_BYTES`], on their way to it; beyond that the
/// server's writes wait, as TCP's flow control makes them wait when a
/// receiver's window is full. Only a server that writes faster than a
/// window per way back (e.g. in a loop that never waits) meets it: its
/// writes then come a way back apart, and the browser keeps a window of
/// them at most, however long it runs.
const STREAM_WINDOW_PIECES: usize = 1024;
/// See [`STREAM_WINDOW_PIECES`].
const STREAM_WINDOW_BYTES: usize = 256 * 1024;
/// How many pieces wait in a stream's channel for the browser to take them.
const STREAM_CHANNEL: usize = 16;

/// An open stream: the server's task that writes it, and what it wrote
/// that the browser has not taken yet.
struct Stream {
    index: usize,
    task: tokio::task::JoinHandle<()>,
    pieces: tokio::sync::mpsc::Receiver<(u64, Piece)>,
    /// Pieces taken and scheduled for the page, not yet delivered, and their bytes.
    in_transit: usize,
    bytes_in_transit: usize,
    /// When the last piece taken reaches the page.
    last_at: u64,
    /// Its end (or failure) has been taken: nothing more comes.
    ended: bool,
}

impl Stream {
    fn has_room(&self) -> bool {
        self.in_transit < STREAM_WINDOW_PIECES && self.bytes_in_transit < STREAM_WINDOW_BYTES
    }
}

/// What came back on the connection: an answer, or `None` when the server
/// closed it instead ([`chat_page::serve::CloseConnection`]).
type Reply = Option<Answer>;

/// A request the server is handling: it has arrived and has not answered
/// yet (a long poll holds it for as long as it likes).
struct Held {
    index: usize,
    cached: Option<Kept>,
    task: tokio::task::JoinHandle<Reply>,
}

/// The server, its runtime and clock, and the requests it holds.
pub(super) struct ServerBridge {
    app: Router,
    tokio: tokio::runtime::Runtime,
    /// Requests the server is still working on, oldest first.
    held: Vec<Held>,
    /// Streams the server is writing, oldest first.
    streams: Vec<Stream>,
    /// Where the server's (paused) tokio clock is, in virtual ms.
    server_at: u64,
    /// The server clock's time 0.
    server_start: tokio::time::Instant,
    /// Each held request says here when it is answered.
    answered: tokio::sync::mpsc::UnboundedReceiver<()>,
    answered_tx: tokio::sync::mpsc::UnboundedSender<()>,
}

impl ServerBridge {
    pub(super) fn new(app: Router) -> ServerBridge {
        // The server's clock is tokio's, paused: it moves only with the
        // virtual clock, so a server that holds a request for 30 s (a long
        // poll) does it in no real time.
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a tokio runtime for the in-process server");
        let server_start = tokio.block_on(async { tokio::time::Instant::now() });
        let (answered_tx, answered) = tokio::sync::mpsc::unbounded_channel();
        let (held, streams) = (Vec::new(), Vec::new());
        ServerBridge { app, tokio, held, streams, server_at: 0, server_start, answered, answered_tx }
    }

    /// The page gave up on request `index`: if the server holds it, it is
    /// dropped, as when a browser closes the connection.
    pub(super) fn drop_held(&mut self, index: usize) {
        if let Some(at) = self.held.iter().position(|h| h.index == index) {
            self.held.remove(at).task.abort();
        }
    }

    /// The stream of request `index` is over for the page (it closed it, or
    /// failed or ended the connection): the server's side is dropped now.
    pub(super) fn drop_stream(&mut self, index: usize) {
        if let Some(at) = self.streams.iter().position(|s| s.index == index) {
            let stream = self.streams.remove(at);
            stream.task.abort();
            let _dropped = self.tokio.block_on(stream.task);
        }
    }

    /// A piece of stream `index` has reached the page: its room in the window is free.
    fn delivered(&mut self, index: usize, piece: &Piece) {
        if let Some(stream) = self.streams.iter_mut().find(|s| s.index == index) {
            stream.in_transit -= 1;
            stream.bytes_in_transit -= piece.len();
        }
    }
}

impl Browser {
    /// Move the server's clock towards `until` while it holds requests or
    /// writes streams. A paused tokio runtime that has nothing to do jumps
    /// its clock to its next timer, so this costs one step per timer, not
    /// per millisecond. When a held request is answered (or a stream
    /// writes) before `until`, stop there (the virtual clock too), schedule
    /// the delivery, and say `true`.
    pub(super) fn advance_server_to(&mut self, until: u64) -> bool {
        // What streams wrote meanwhile (or while their window was full) first.
        if self.pull_streams() {
            return true;
        }
        loop {
            let server = &mut self.server;
            if (server.held.is_empty() && server.streams.is_empty()) || server.server_at >= until {
                return false;
            }
            // Signals of answers already delivered are stale.
            while server.answered.try_recv().is_ok() {}
            let (start, answered) = (server.server_start, &mut server.answered);
            let deadline = start + std::time::Duration::from_millis(until);
            let reached = server.tokio.block_on(async {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => {}
                    _ = answered.recv() => {}
                }
                (tokio::time::Instant::now() - start).as_millis() as u64
            });
            server.server_at = server.server_at.max(reached);
            self.now = self.now.max(server.server_at.min(until));
            set_virtual_now(self.now);
            if self.deliver_answered() {
                return true;
            }
            // A stream wrote what its full window cannot take yet: the
            // server's clock goes on (the page's never passes it).
        }
    }

    /// Bring the server's clock up to the virtual time (it waits while
    /// nothing is held, see `advance_server_to`).
    fn catch_up_server(&mut self) {
        let server = &mut self.server;
        if server.server_at < self.now {
            server.tokio.block_on(tokio::time::advance(std::time::Duration::from_millis(self.now - server.server_at)));
            server.server_at = self.now;
        }
    }

    /// Let the server's tasks run as far as they can without time passing,
    /// then deliver every answer that is ready, oldest request first.
    pub(super) fn deliver_answered(&mut self) -> bool {
        // Most answers take a poll or two; a held one never finishes here.
        let held = &self.server.held;
        self.server.tokio.block_on(async {
            for _ in 0..64 {
                if held.iter().all(|h| h.task.is_finished()) {
                    break;
                }
                tokio::task::yield_now().await;
            }
        });
        let (ready, waiting): (Vec<Held>, Vec<Held>) =
            std::mem::take(&mut self.server.held).into_iter().partition(|h| h.task.is_finished());
        self.server.held = waiting;
        let delivered = !ready.is_empty();
        for held in ready {
            let answer = self.server.tokio.block_on(held.task).expect("the server's task finished");
            let (index, cached) = (held.index, held.cached);
            let back = self.network.requests[index].back;
            self.event_loop.schedule(self.now + back, Job::Deliver { index, cached, answer });
        }
        self.pull_streams() || delivered
    }

    /// Take what the streams have written, as far as each one's window lets,
    /// and schedule each piece to reach the page at the moment it was
    /// written plus the way back. Says whether there was any.
    pub(super) fn pull_streams(&mut self) -> bool {
        let mut pulled = false;
        for stream in &mut self.server.streams {
            let back = self.network.requests[stream.index].back;
            while !stream.ended && stream.has_room() {
                let Ok((at, piece)) = stream.pieces.try_recv() else { break };
                stream.ended = matches!(piece, Piece::End | Piece::Failed);
                stream.in_transit += 1;
                stream.bytes_in_transit += piece.len();
                // Never in the past, and never before the piece before it.
                stream.last_at = (at + back).max(self.now).max(stream.last_at);
                self.event_loop.schedule(stream.last_at, Job::Stream { index: stream.index, piece });
                pulled = true;
            }
        }
        pulled
    }

    /// A piece of the stream of request `index` reaches the page.
    pub(super) fn stream_arrives(&mut self, index: usize, piece: Piece) {
        self.server.delivered(index, &piece);
        self.stream_piece(index, piece);
    }

    /// Request `index` has reached the server (with `If-None-Match` added if
    /// the cache keeps an answer): the server answers it now, or holds it.
    pub(super) fn serve_request(
        &mut self,
        index: usize,
        cached: Option<Kept>,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Option<String>,
    ) {
        let back = self.network.requests[index].back;
        let server = &mut self.server;
        // Most requests are answered at once: poll them here. One the
        // server holds (a long poll) goes on as a task of its own,
        // and is delivered when it answers.
        let mut serving = Box::pin(serve(server.app.clone(), method, path, headers, body));
        let behind = std::time::Duration::from_millis(self.now - server.server_at);
        server.server_at = self.now;
        let at_once = server.tokio.block_on(async {
            // The server's clock catches up first, in the same call.
            if !behind.is_zero() {
                tokio::time::advance(behind).await;
            }
            for _ in 0..16 {
                tokio::select! {
                    biased;
                    answer = &mut serving => return Some(answer),
                    _ = tokio::task::yield_now() => {}
                }
            }
            None
        });
        match at_once {
            Some(answer) => self.event_loop.schedule(self.now + back, Job::Deliver { index, cached, answer }),
            None => {
                let answered = server.answered_tx.clone();
                let task = server.tokio.spawn(async move {
                    let answer = serving.await;
                    let _ = answered.send(());
                    answer
                });
                server.held.push(Held { index, cached, task });
            }
        }
    }

    /// Request `index` (an `EventSource`'s) has reached the server: the
    /// server's answer is read as a stream, by a task of its own that
    /// forwards its head and each frame of its body, stamped with the
    /// server's time, to the browser ([`Browser::pull_streams`]).
    pub(super) fn serve_stream(&mut self, index: usize, method: &str, path: &str, headers: &[(String, String)]) {
        self.catch_up_server();
        let server = &mut self.server;
        let head = serve_head(server.app.clone(), method, path, headers, None);
        let (sender, pieces) = tokio::sync::mpsc::channel(STREAM_CHANNEL);
        let writer = Writer { sender, signal: server.answered_tx.clone(), start: server.server_start };
        let task = server.tokio.spawn(forward(head, writer));
        let (in_transit, bytes_in_transit, last_at, ended) = (0, 0, self.now, false);
        server.streams.push(Stream { index, task, pieces, in_transit, bytes_in_transit, last_at, ended });
    }

    /// The server restarts: from now on, requests go to `app`.
    pub(super) fn restart(&mut self, app: Router) {
        self.server.app = app;
        self.trace.push(self.now, Event::ServerRestarted);
        // The old process is gone, and the connections it held with
        // it: each held request fails as a network error.
        for held in std::mem::take(&mut self.server.held) {
            held.task.abort();
            let _cancelled = self.server.tokio.block_on(held.task); // the server drops it now
            self.finished(held.index);
            self.network_error(held.index);
        }
        // Each stream breaks too: what the old server wrote before it went
        // is still on its way, and the network error comes after it.
        for mut stream in std::mem::take(&mut self.server.streams) {
            stream.task.abort();
            let _cancelled = self.server.tokio.block_on(stream.task);
            let back = self.network.requests[stream.index].back;
            while let Ok((at, piece)) = stream.pieces.try_recv() {
                stream.ended = matches!(piece, Piece::End | Piece::Failed);
                stream.last_at = (at + back).max(self.now).max(stream.last_at);
                self.event_loop.schedule(stream.last_at, Job::Stream { index: stream.index, piece });
            }
            if !stream.ended {
                let at = self.now.max(stream.last_at);
                self.event_loop.schedule(at, Job::Stream { index: stream.index, piece: Piece::Failed });
            }
        }
    }

    /// Send one request through the app, in-process, and wait for it (for
    /// other users' posts). Requests of the page it woke up are delivered.
    pub(super) fn call_app(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Option<String>,
    ) -> Answer {
        self.catch_up_server();
        let reply = self.server.tokio.block_on(serve(self.server.app.clone(), method, path, headers, body));
        // Another user whose connection was closed saw no status: 0 says so.
        reply.unwrap_or((0, Vec::new(), String::new()))
    }
}

/// One request through `app`, with its whole answer read.
///
/// A connection the server closes before any answer is not the end of the
/// request: Chromium sends it once more, on a new connection, when the one
/// it used was a kept-alive one it had used before and no response headers
/// had come (`HttpNetworkTransaction::ShouldResendRequest`), with the very
/// same headers and body. A page's polls go on such a connection, so here
/// every request closed unanswered is sent once more ([`RESENDS`]); only
/// when that one is closed too does the page see a network error. Chromium
/// may resend more than once, up to a retry limit of its own; the
/// real-browser tier checks what the room sees of it.
fn serve(
    app: Router,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<String>,
) -> impl std::future::Future<Output = Reply> + Send + 'static {
    let head = serve_head(app, method, path, headers, body);
    async move {
        let (status, headers, body) = head.await?;
        let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        Some((status, headers, String::from_utf8_lossy(&bytes).into_owned()))
    }
}

/// One request through `app`, up to its answer's head (see [`serve`]):
/// `None` when the connection was closed unanswered every time.
fn serve_head(
    app: Router,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<String>,
) -> impl std::future::Future<Output = Option<Head>> + Send + 'static {
    let mut request = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        // A value in UTF-8 (a `Last-Event-ID`, say) goes as its bytes.
        request = match http::HeaderValue::from_bytes(value.as_bytes()) {
            Ok(bytes) => request.header(name, bytes),
            Err(_) => request.header(name, value),
        };
    }
    let body = axum::body::Bytes::from(body.unwrap_or_default());
    let first = request.body(Body::from(body.clone())).expect("a valid request");
    // A resend is made only when the first is closed unanswered, from what
    // is kept here (the header map shares its bytes with the first's).
    let again = (first.method().clone(), first.uri().clone(), first.headers().clone());
    async move {
        let mut next = Some(first);
        for _ in 0..=RESENDS {
            let request = next.take().unwrap_or_else(|| {
                let (method, uri, headers) = again.clone();
                let mut request = http::Request::new(Body::from(body.clone()));
                (*request.method_mut(), *request.uri_mut(), *request.headers_mut()) = (method, uri, headers);
                request
            });
            let response = app.clone().oneshot(request).await.expect("a Router never fails");
            if response.extensions().get::<chat_page::serve::CloseConnection>().is_some() {
                continue; // closed unanswered: sent again, on a new connection
            }
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or("").to_owned()))
                .collect();
            return Some((status, headers, response.into_body()));
        }
        None // closed every time: a network error
    }
}

/// A stream's task's way to the browser: the channel, the signal that
/// wakes the browser's wait, and the server clock's time 0 for the stamps.
struct Writer {
    sender: tokio::sync::mpsc::Sender<(u64, Piece)>,
    signal: tokio::sync::mpsc::UnboundedSender<()>,
    start: tokio::time::Instant,
}

impl Writer {
    /// Hand `piece` to the browser, stamped with the server's time; waits
    /// while the channel is full. `false`: the browser has let the stream go.
    async fn put(&self, piece: Piece) -> bool {
        // Stamped when the channel takes it: a write that waited for room
        // leaves when there is some.
        let Ok(room) = self.sender.reserve().await else { return false };
        room.send(((tokio::time::Instant::now() - self.start).as_millis() as u64, piece));
        self.signal.send(()).is_ok()
    }
}

/// A stream's task: the answer's head, then each frame of its body as the
/// server writes it, then its end.
async fn forward(head: impl std::future::Future<Output = Option<Head>>, writer: Writer) {
    let Some((status, headers, mut body)) = head.await else {
        writer.put(Piece::Failed).await;
        return;
    };
    if !writer.put(Piece::Head { status, headers }).await {
        return;
    }
    loop {
        let piece = match body.frame().await {
            None => Piece::End,
            Some(Err(_)) => Piece::Failed,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => Piece::Data(data),
                _ => continue, // trailers, or nothing
            },
        };
        let last = matches!(piece, Piece::End | Piece::Failed);
        if !writer.put(piece).await || last {
            return;
        }
    }
}

/// How many times a request closed unanswered is sent again (see [`serve`]).
const RESENDS: usize = 1;
