//! The event loop: the agenda of tasks on the virtual clock, and the three
//! kinds of task the page itself asks for or lives with: timers, animation
//! frames and visibility changes.
//!
//! Everything the browser will do is a [`Job`] in the agenda, keyed by its
//! virtual time and then by the order it was scheduled in, so two jobs due
//! at the same moment run in the order they were set: the same scenario
//! gives the same trace every time.

use super::Browser;
use super::network::Kept;
use super::server::{Answer, Piece};
use crate::engine::Task;
use crate::trace::Event;
use axum::Router;
use std::collections::{BTreeMap, HashMap};

/// A frame every 16 ms of virtual time, while the page is visible.
pub const FRAME_MS: u64 = 16;
/// Timers in a hidden page run at most once a second, on the second, as
/// browsers' basic background throttling does.
pub const HIDDEN_TIMER_ALIGN_MS: u64 = 1000;
/// How many tasks one `run_until` may run before it stops the page, so a
/// page that keeps re-arming zero-delay work cannot hang a test.
pub(super) const TASK_BUDGET: usize = 1_000_000;

thread_local! {
    /// The virtual time of the browser running on this thread, for servers
    /// that want their clock to follow it (see [`virtual_now`]).
    static NOW: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The virtual time, in ms, of the browser that is running on this thread
/// (0 before it runs, and again after it is dropped).
///
/// A server under test can base a clock on it (a rate limiter's, say), so
/// that its notion of time moves with the scenario's instead of the real
/// one: a virtual minute of polling takes milliseconds of real time.
pub fn virtual_now() -> u64 {
    NOW.with(|now| now.get())
}

/// Tell servers on this thread (through [`virtual_now`]) that it is `ms` now.
pub(super) fn set_virtual_now(ms: u64) {
    NOW.with(|now| now.set(ms));
}

/// When a browser is done, the thread's virtual time goes back to 0, so the
/// next server made on this thread (whose clock may start reading it before
/// its browser exists) starts from the beginning too. One browser at a time
/// per thread, then.
impl Drop for Browser {
    fn drop(&mut self) {
        set_virtual_now(0);
    }
}

/// Something the browser will do at a moment of virtual time. Each part of
/// the browser schedules its own kind; [`Browser::process`] sends each to
/// the part it belongs to.
pub(super) enum Job {
    /// Timer `id` is due (see [`Browser::fire_timer`]).
    Timer(u32),
    /// The server restarts with a new app (see `server.rs`).
    Restart(Router),
    /// The next animation frame.
    Frame,
    /// The page becomes hidden (`true`) or visible (`false`).
    Visibility(bool),
    /// The request reaches the server, which answers it (or holds it).
    Answer(usize),
    /// The server's answer reaches the page (`None`: the network failed).
    Deliver { index: usize, cached: Option<Kept>, answer: Option<Answer> },
    /// A piece of a stream (an `EventSource`'s answer) reaches the page
    /// (see `server.rs` and `event_source.rs`).
    Stream { index: usize, piece: Piece },
    /// An `EventSource` whose connection was lost connects again (see
    /// `event_source.rs`), by the browser's own number for it.
    Reconnect(u64),
    /// The HTTP cache answers the request with what it kept, without the
    /// network (`force-cache`, `only-if-cached`).
    FromCache { index: usize, kept: Kept },
    /// The request has waited for the cache lock as long as Chromium lets
    /// it (see `network.rs`).
    CacheLockTimeout(usize),
    /// Another user posts to the chat (see `chat.rs`).
    OtherUserPosts { user: String, text: String },
    /// The user sends from the page's form (see `chat.rs`).
    UserSends { user: String, text: String },
    /// The user reloads the page (see [`Browser::reload_at`]).
    Reload,
    /// The user duplicates the tab, and the scene follows the copy (see
    /// [`Browser::duplicate_at`]).
    Duplicate,
}

/// A timer the page set and has not cleared.
#[derive(Debug)]
pub(super) struct Timer {
    delay: u64,
    repeat: bool,
    nesting: u32,
}

/// The agenda and what the page's own tasks need to be scheduled right.
pub(super) struct EventLoop {
    /// Every job still to come, by (time, order scheduled).
    agenda: BTreeMap<(u64, u64), Job>,
    next_seq: u64,
    timers: HashMap<u32, Timer>,
    /// The timer nesting level of the task running now (HTML's clamp).
    nesting: u32,
    /// The page has asked for a frame (`requestAnimationFrame`).
    wants_frame: bool,
    /// A `Job::Frame` is in the agenda.
    frame_scheduled: bool,
    hidden: bool,
}

impl EventLoop {
    pub(super) fn new() -> EventLoop {
        EventLoop {
            agenda: BTreeMap::new(),
            next_seq: 0,
            timers: HashMap::new(),
            nesting: 0,
            wants_frame: false,
            frame_scheduled: false,
            hidden: false,
        }
    }

    pub(super) fn schedule(&mut self, at: u64, job: Job) {
        self.agenda.insert((at, self.next_seq), job);
        self.next_seq += 1;
    }

    /// When the next job is due, if there is one.
    pub(super) fn next_at(&self) -> Option<u64> {
        self.agenda.first_key_value().map(|(key, _)| key.0)
    }

    /// The next job, with its time, if it is due by `end`.
    pub(super) fn take_due(&mut self, end: u64) -> Option<(u64, Job)> {
        let entry = self.agenda.first_entry().filter(|entry| entry.key().0 <= end)?;
        let ((at, _), job) = entry.remove_entry();
        Some((at, job))
    }

    /// The page is gone (a reload): its timers with it, and its wish for a
    /// frame. A frame already in the agenda still comes, for the next page.
    pub(super) fn forget_the_page(&mut self) {
        self.timers.clear();
        // The next document numbers its timers from 1 again.
        self.agenda.retain(|_, job| !matches!(job, Job::Timer(_)));
        self.wants_frame = false;
    }

    /// Whether the tab is hidden.
    pub(super) fn hidden(&self) -> bool {
        self.hidden
    }

    /// A task is over: the next one starts outside any timer.
    pub(super) fn task_done(&mut self) {
        self.nesting = 0;
    }

    /// `setTimeout`/`setInterval` at `now`.
    pub(super) fn set_timer(&mut self, now: u64, id: u32, delay: f64, repeat: bool) {
        // HTML's timer initialization: clamp by the level of the task
        // that set the timer, then the timer's task is one level deeper.
        let delay = clamp(delay.ceil() as u64, self.nesting);
        let nesting = self.nesting + 1;
        self.timers.insert(id, Timer { delay, repeat, nesting });
        self.schedule(now + delay, Job::Timer(id));
    }

    /// `clearTimeout`/`clearInterval`.
    pub(super) fn clear_timer(&mut self, id: u32) {
        self.timers.remove(&id);
    }

    /// `requestAnimationFrame` at `now`.
    pub(super) fn want_frame(&mut self, now: u64) {
        self.wants_frame = true;
        self.schedule_frame(now);
    }

    pub(super) fn schedule_frame(&mut self, now: u64) {
        if self.wants_frame && !self.hidden && !self.frame_scheduled {
            let next = (now / FRAME_MS + 1) * FRAME_MS;
            self.schedule(next, Job::Frame);
            self.frame_scheduled = true;
        }
    }
}

impl Browser {
    /// Timer `id` is due: run its callback, unless the page is hidden and it
    /// must wait for the next whole second, or the page cleared it.
    pub(super) fn fire_timer(&mut self, id: u32) {
        let Some(timer) = self.event_loop.timers.get(&id) else {
            return;
        };
        // Background throttling: a hidden page's timers wait for the next whole second.
        let aligned = self.now.div_ceil(HIDDEN_TIMER_ALIGN_MS) * HIDDEN_TIMER_ALIGN_MS;
        if self.event_loop.hidden && aligned != self.now {
            self.event_loop.schedule(aligned, Job::Timer(id));
            return;
        }
        let (repeat, delay, nesting) = (timer.repeat, timer.delay, timer.nesting);
        if !repeat {
            self.event_loop.timers.remove(&id);
        }
        self.event_loop.nesting = nesting;
        self.run_task(Task::Timer { id });
        // An interval re-arms after its callback, unless the callback cleared it.
        if let Some(timer) = self.event_loop.timers.get_mut(&id) {
            let delay = clamp(delay, timer.nesting);
            timer.nesting += 1;
            self.event_loop.schedule(self.now + delay, Job::Timer(id));
        }
    }

    /// A frame: run the page's `requestAnimationFrame` callbacks.
    pub(super) fn run_frame(&mut self) {
        self.event_loop.frame_scheduled = false;
        if self.event_loop.hidden {
            return; // frames stop in hidden pages; `show` schedules the next
        }
        self.event_loop.wants_frame = false;
        self.run_task(Task::Frame);
    }

    /// The page is hidden or shown: tell it (`visibilitychange`), and start
    /// the frames again if it is shown and wants them.
    pub(super) fn set_hidden(&mut self, hidden: bool) {
        if self.event_loop.hidden == hidden {
            return;
        }
        self.event_loop.hidden = hidden;
        self.trace.push(self.now, if hidden { Event::Hidden } else { Event::Visible });
        self.run_task(Task::Visibility { hidden });
        self.event_loop.schedule_frame(self.now);
    }
}

/// HTML's rule: a timer set by a task nested more than 5 deep waits at least 4 ms.
fn clamp(delay: u64, nesting: u32) -> u64 {
    if nesting > 5 { delay.max(4) } else { delay }
}
