//! The bridge to the server under test: the exercise's axum `Router`, run
//! in-process on a tokio runtime whose clock is paused and moved only with
//! the virtual clock.
//!
//! Most requests are answered at once. One the server holds (a long poll
//! waiting for news) becomes a tokio task of its own, [`Held`]; the browser
//! then moves the server's clock towards its next job
//! ([`Browser::advance_server_to`]) and delivers the answer at the virtual
//! moment the server gives it. A restart breaks every held connection.

use super::Browser;
use super::event_loop::{Job, set_virtual_now};
use super::network::Kept;
use crate::trace::Event;
use axum::{Router, body::Body, http};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A server's answer: status, headers and body.
pub(super) type Answer = (u16, Vec<(String, String)>, String);

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
        ServerBridge { app, tokio, held: Vec::new(), server_at: 0, server_start, answered, answered_tx }
    }

    /// The page gave up on request `index`: if the server holds it, it is
    /// dropped, as when a browser closes the connection.
    pub(super) fn drop_held(&mut self, index: usize) {
        if let Some(at) = self.held.iter().position(|h| h.index == index) {
            self.held.remove(at).task.abort();
        }
    }
}

impl Browser {
    /// Move the server's clock towards `until` while it holds requests. A
    /// paused tokio runtime that has nothing to do jumps its clock to its
    /// next timer, so this costs one step per timer, not per millisecond.
    /// When a held request is answered before `until`, stop there (the
    /// virtual clock too), deliver it, and say `true`.
    pub(super) fn advance_server_to(&mut self, until: u64) -> bool {
        let server = &mut self.server;
        if server.held.is_empty() || server.server_at >= until {
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
        self.deliver_answered()
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
        delivered
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
    let request = move || {
        let mut request = http::Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.body(Body::from(body.clone().unwrap_or_default())).expect("a valid request")
    };
    let requests: Vec<_> = (0..=RESENDS).map(|_| request()).collect();
    async move {
        for request in requests {
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
            let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            return Some((status, headers, String::from_utf8_lossy(&bytes).into_owned()));
        }
        None // closed every time: a network error
    }
}

/// How many times a request closed unanswered is sent again (see [`serve`]).
const RESENDS: usize = 1;
