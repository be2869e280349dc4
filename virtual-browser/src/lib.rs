//! A virtual browser for client specs.
//!
//! It runs a page's real JavaScript (the learner's `client.js`) in an
//! embedded engine (QuickJS-ng, through `rquickjs`), gives it the browser
//! globals a polling client uses, and keeps all time virtual: `setTimeout`,
//! `requestAnimationFrame`, `Date.now()` and the network all run on a clock
//! that only moves when the test says so. `fetch` goes straight into the
//! exercise's real axum `Router` (`tower::ServiceExt::oneshot`), with no
//! sockets. A test sets a scene, runs it, and reads a [`Trace`]:
//!
//! ```text
//!       0 ms  page loads /client.js
//!       0 ms  GET /poll #1 sent
//!    5000 ms  GET /poll #1 -> 200 (0 msgs)
//! ```
//!
//! # The model
//!
//! - **Tasks run to completion.** Each timer callback, frame, event and
//!   fetch settlement is one task; its microtasks (promise reactions) run
//!   right after it, before anything else. Nothing interrupts a task.
//! - **Timers** fire at (time set + delay); timers nested more than 5 deep
//!   wait at least 4 ms (HTML's clamp). In a hidden page a timer waits for the
//!   next whole second (basic background throttling; Chrome's intensive
//!   throttling after five minutes hidden is not modelled).
//! - **Frames** come every [`FRAME_MS`] = 16 ms while the page is visible and
//!   stop while it is hidden; `requestAnimationFrame` callbacks run at the
//!   next frame with the frame's time.
//! - **Requests** reach the server after the scenario's [`Latency`], and the
//!   server handles them then, seeing the state of that moment. Most are
//!   answered at once. A [`Failure`] window makes requests sent in it fail.
//!   A connection the server closes unanswered
//!   (`chat_page::serve::CloseConnection`) is not yet a failure: as
//!   Chromium does with a kept-alive connection it had used before, the
//!   request is sent once more, with the same headers; only when that one
//!   is closed too does the page see a network error.
//! - **The HTTP cache, as Chromium's.** A GET waits in the browser while
//!   the same GET is in flight (the cache lock), for 20 s at most, then goes
//!   without the cache. With [`Browser::http_cache`] on, answers with an
//!   `ETag` are kept and revalidated (`If-None-Match`, `304`). `fetch`'s
//!   `cache` option is honoured: `"no-store"` passes the cache by, lock and
//!   all, and the other modes do as the Fetch standard says.
//! - **The server has a clock too**: tokio's, paused, and moved only with the
//!   virtual clock. A request the server *holds* (a long poll waiting for
//!   news) is delivered at the virtual moment the server answers it, so 30
//!   seconds of holding take no real time, and a message another user posts
//!   wakes it at the moment of the post. `AbortController` aborts a `fetch`;
//!   a held request is then dropped, as when a browser closes the connection.
//! - **`EventSource`, as the HTML standard gives it.** Its GET (`Accept:
//!   text/event-stream`, past the HTTP cache) goes through the same network
//!   as `fetch`. A `200` `text/event-stream` opens it, and each event reaches
//!   the page at the virtual moment the server writes it plus the way back,
//!   so a stream held open for minutes takes no real time; any other answer
//!   fails it for good. When the stream ends, the network fails or the
//!   server restarts, it reconnects after the reconnection time (3000 ms,
//!   Chromium's, until a `retry:` says otherwise) with `Last-Event-ID`. Only
//!   `close()` stops it (a hidden page does not). The server's writes run
//!   at most a window (1,024 pieces or 256 KiB) ahead of the page.
//! - **The chat page** is not modelled as a DOM. The page's
//!   `/static/chat.js` import resolves to a stand-in with the same exports
//!   that records what would be shown ([`Event::Rendered`]); the real module
//!   and its DOM are tested in a real browser.
//! - **Reloads and `sessionStorage`.** [`Browser::reload_at`] loads the page
//!   again as a new document: a fresh context, the old page's timers and
//!   requests gone (a held one is dropped), `performance.now()` from 0. The
//!   tab's `sessionStorage` is kept across it, and is empty in a new
//!   `Browser`, as in a new tab.
//! - **Errors** (uncaught exceptions, unhandled rejections) go into the
//!   trace with their `file:line:column`. A task that runs away (an endless
//!   loop) is stopped and the page halts, instead of hanging the test.

pub mod engine;
pub mod known_clients;

mod browser;

/// A rate limiter's clock for servers under test.
mod virtual_clock {
    use std::time::Duration;

    /// A `governor` clock that reads the virtual browser's time
    /// ([`crate::virtual_now`]), so a server's rate limit sees a virtual
    /// minute of polling as a minute.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct VirtualClock;

    impl governor::clock::Clock for VirtualClock {
        type Instant = Duration;
        fn now(&self) -> Duration {
            Duration::from_millis(crate::virtual_now())
        }
    }
}

pub use virtual_clock::VirtualClock;

pub use browser::{Browser, FRAME_MS, Failure, HIDDEN_TIMER_ALIGN_MS, Latency, ORIGIN, Page, virtual_now};
/// The rules and traces live in `client-rules` (beside this crate), which the
/// classroom uses too without this crate's JavaScript engine.
pub use client_rules::{Event, Outcome, Span, Trace, checks};

/// `crate::trace::…` inside this crate.
mod trace {
    pub use client_rules::{Event, Outcome, Trace};
}
