//! The room: who has joined, what their clients asked and when, what their
//! pages said, and what the dashboard is sent.
//!
//! Everything here is bounded, because the class server faces a whole
//! network: at most [`MAX_LEARNERS`] learners, each with at most
//! [`MAX_RECORD`] requests and [`MAX_PAGE_EVENTS`] page events from the
//! last [`RECORD_SECONDS`], and at most [`MAX_TICKS`] ticks (the events
//! written to their streams, [`MAX_TICKS_PER_STREAM`] a stream) from the
//! last [`LANE_SECONDS`]; and a client that sends more than
//! [`MAX_REQUESTS_PER_SECOND`] is refused (and counted) before its requests
//! cost the chat anything.
//!
//! A stream (exercise 08's `GET /events`) is one request that stays open:
//! its record is opened when its answer begins, and ends when the stream
//! does; each event the class server writes to it is a tick on it.

use crate::rules::{self, Flag, PageEvent};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, OnceLock};
use tokio::sync::watch;
use tokio::time::Instant;

// ANCHOR: limits
/// The most learners the room holds. When it is full, a learner not seen
/// for [`RECORD_SECONDS`] makes room for a new one; else the new one is
/// refused.
pub const MAX_LEARNERS: usize = 300;

/// How long a learner's requests are kept, and at most how many.
pub const RECORD_SECONDS: u64 = 600;
pub const MAX_RECORD: usize = 1_000;

/// At most this many page events per learner: loaded, hidden, shown and
/// threw as the server saw them (for the lanes).
pub const MAX_PAGE_EVENTS: usize = 200;

/// The flags look at the last two minutes of the page's own log of its
/// polls, at most this many entries: so a flag goes away by itself two
/// minutes after the client is fixed, and checking a learner costs the same
/// at the end of the day as at the start.
pub const FLAG_SECONDS: u64 = 120;
pub const MAX_PAGE_LOG: usize = 600;

/// The flags look at the last few page loads of a learner.
pub const MAX_PAGE_LOADS: usize = 4;

/// How many requests a second one learner's client may send before the
/// class server refuses the rest of that second (429, counted and shown).
/// A correct client sends one or two.
pub const MAX_REQUESTS_PER_SECOND: u32 = 20;

/// What a lane on the projector shows: the last minute.
pub const LANE_SECONDS: u64 = 60;

/// The most markers (changes of mode, restarts) the room line keeps.
pub const MAX_MARKERS: usize = 200;

/// The most names the room remembers having turned away, to count them.
pub const MAX_TURNED_AWAY: usize = 1_000;

/// A page's error text is cut to this many characters.
pub const MAX_ERROR_CHARS: usize = 200;

/// A stream's ticks: the moments the class server wrote an event to it,
/// kept for the lane's minute, at most this many a stream (its newest: a
/// stream opened on a full chat gets every stored message at once) and
/// this many a learner in all. Its count of events goes on past them.
pub const MAX_TICKS_PER_STREAM: usize = 100;
pub const MAX_TICKS: usize = 1_000;
// ANCHOR_END: limits

/// What a page told the class server, as its lane shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSaid {
    Loaded,
    Hidden,
    Shown,
    Threw,
}

/// Flags are worked out again at most this often per learner.
const FLAGS_EVERY_MS: u64 = 1_000;

/// Who a request is from, as the join proxy tagged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    pub exercise: u32,
}

/// Why the room turned a learner's request away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// [`MAX_LEARNERS`] are in the room, all seen lately.
    Full,
    /// More than [`MAX_REQUESTS_PER_SECOND`] in this second.
    Flood,
}

/// A request of a learner's that the room is waiting to see answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    learner: usize,
    /// Which learner held that slot (a slot is reused when one leaves).
    joined: u64,
    number: usize,
}

/// What a learner's check or watch reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Progress {
    pub passed: u32,
    pub run: u32,
    pub done: bool,
}

/// How a request ended, as the lanes draw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    number: usize,
    post: bool,
    /// A long poll (it asked to be held, `wait=`).
    long: bool,
    sent: u64,
    /// A stream's answer began then (`200`, `text/event-stream`): it stays
    /// open until `answered`, its end.
    opened: Option<u64>,
    /// The events the class server wrote to the stream, and how many of
    /// their ticks are kept (in [`Learner::ticks`]).
    events: u32,
    ticks: usize,
    answered: Option<u64>,
    /// `None` while in flight, or when the connection was closed.
    status: Option<u16>,
    retry_after: Option<u32>,
    /// The server held it until news came or its wait ran out.
    held: bool,
    /// The client gave up on it (hung up) before the answer.
    hung_up: bool,
    /// The room's version when it last changed: what a dashboard has seen.
    seq: u64,
}

struct Learner {
    tag: Tag,
    joined: u64,
    requests: VecDeque<Record>,
    /// Each stream's events as the class server wrote them, oldest first:
    /// (the stream's request number, when).
    ticks: VecDeque<(usize, u64)>,
    said: VecDeque<(u64, PageSaid, u64)>,
    /// The page's own log: (which load, page time, event, when it reached
    /// the class server), for the flags.
    page: VecDeque<(u32, u64, PageEvent, u64)>,
    /// The loads seen lately: the page's id for it, its number here, and
    /// the exercise that page was.
    loads: VecDeque<(String, u32, u32)>,
    next_load: u32,
    hidden: bool,
    last_error: Option<String>,
    errors: u64,
    /// The last check reported: the exercise checked, and how it went.
    progress: Option<(u32, Progress)>,
    /// This second, and how many requests came in it.
    second: (u64, u32),
    /// Requests refused for flooding, per second, over the last minute.
    refused: VecDeque<(u64, u32)>,
    /// Under the instructor's tight limit: when the next request may come.
    tight_until: u64,
    next_number: usize,
    last_seen: u64,
    flags: Vec<Flag>,
    flags_at: Option<u64>,
    flags_stale: bool,
    /// The page log that came until this (room ms) is not looked at for
    /// flags: the instructor cleared them then.
    flags_cleared: Option<u64>,
    /// "I'm stuck" or "I'm done", until the instructor clears it.
    signal: Option<Signal>,
    /// The hints shown so far, on the exercise the last one was for.
    hints: Option<(u32, u32)>,
    /// When the last check was reported (room ms).
    last_check: Option<u64>,
    /// The exercises whose spec this learner's checks passed.
    passed: std::collections::BTreeSet<u32>,
    /// The instructor removed this learner; a request of theirs brings
    /// them back, with a lane that starts again.
    removed: bool,
}

impl Record {
    /// A stream that is open now.
    fn streaming(&self) -> bool {
        self.opened.is_some() && self.answered.is_none()
    }

    /// Whether it is done with, and was more than [`RECORD_SECONDS`] ago:
    /// sent then, or, for a stream, ended then (an open one never is).
    fn old(&self, now: u64) -> bool {
        let since = match (self.opened, self.answered) {
            (Some(_), None) => return false,
            (Some(_), Some(ended)) => ended,
            (None, _) => self.sent,
        };
        since + RECORD_SECONDS * 1000 < now
    }
}

impl Learner {
    /// A learner who has just joined, in slot `joined`.
    fn new(tag: &Tag, joined: u64, now: u64) -> Learner {
        Learner {
            tag: tag.clone(),
            joined,
            requests: VecDeque::new(),
            ticks: VecDeque::new(),
            said: VecDeque::new(),
            page: VecDeque::new(),
            loads: VecDeque::new(),
            next_load: 0,
            hidden: false,
            last_error: None,
            errors: 0,
            progress: None,
            second: (now / 1000, 0),
            refused: VecDeque::new(),
            tight_until: 0,
            next_number: 1,
            last_seen: now,
            flags: Vec::new(),
            flags_at: None,
            flags_stale: false,
            flags_cleared: None,
            signal: None,
            hints: None,
            last_check: None,
            passed: std::collections::BTreeSet::new(),
            removed: false,
        }
    }

    /// How many of this learner's long polls are being held now.
    fn holding(&self) -> usize {
        self.requests.iter().filter(|r| r.long && r.answered.is_none()).count()
    }

    /// How many of this learner's streams are open now.
    fn streaming(&self) -> usize {
        self.requests.iter().filter(|r| r.streaming()).count()
    }

    /// Request `number`'s record, if it is still kept (they are kept in
    /// the order of their numbers).
    fn record_mut(&mut self, number: usize) -> Option<&mut Record> {
        let at = self.requests.binary_search_by_key(&number, |r| r.number).ok()?;
        self.requests.get_mut(at)
    }

    /// Keep a tick at `now` for stream `number`, within the bounds: ticks
    /// older than the lane go, the oldest go when the learner has
    /// [`MAX_TICKS`], and a stream's oldest when it has
    /// [`MAX_TICKS_PER_STREAM`].
    fn keep_tick(&mut self, number: usize, now: u64) {
        let from = now.saturating_sub(LANE_SECONDS * 1000);
        while self.ticks.len() >= MAX_TICKS || self.ticks.front().is_some_and(|(_, at)| *at < from) {
            let (gone, _) = self.ticks.pop_front().expect("a tick");
            if let Some(record) = self.record_mut(gone) {
                record.ticks -= 1;
            }
        }
        let Some(record) = self.record_mut(number) else { return };
        if record.ticks >= MAX_TICKS_PER_STREAM {
            // The stream's oldest tick makes room for its newest.
            record.ticks -= 1;
            if let Some(at) = self.ticks.iter().position(|(n, _)| *n == number) {
                self.ticks.remove(at);
            }
        }
        if let Some(record) = self.record_mut(number) {
            record.ticks += 1;
        }
        self.ticks.push_back((number, now));
    }
}

/// A learner's own signal to the instructor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignalKind {
    Stuck,
    Done,
}

/// A signal, and when it came (room ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Signal {
    pub kind: SignalKind,
    pub at: u64,
}

#[derive(Default)]
struct State {
    version: u64,
    learners: Vec<Learner>,
    by_name: HashMap<String, usize>,
    next_joined: u64,
    /// Requests at the server (every client's) per second: (second, count).
    seconds: VecDeque<(u64, u32)>,
    markers: VecDeque<Marker>,
    /// The names turned away because the room was full (at most
    /// [`MAX_TURNED_AWAY`] are remembered).
    turned_away: std::collections::HashSet<String>,
    held: usize,
    /// Streams open now.
    streams: usize,
    /// The exercise the instructor set for the room, if any.
    exercise: Option<u32>,
}

/// A change the instructor made, drawn on the room's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Marker {
    pub at: u64,
    pub text: String,
}

/// The room. Shared by the class server's handlers.
pub struct Room {
    /// This room's id, new each time a class server starts: a dashboard
    /// that sees it change drops the lanes it drew.
    id: String,
    start: OnceLock<Instant>,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

impl Default for Room {
    fn default() -> Room {
        Room::new()
    }
}

impl Room {
    pub fn new() -> Room {
        use std::hash::BuildHasher;
        // RandomState is keyed at random for each process: 64 random bits.
        let id = format!("{:016x}", std::hash::RandomState::new().hash_one("room"));
        Room { id, start: OnceLock::new(), state: Mutex::default(), changed: watch::Sender::new(0) }
    }

    /// Milliseconds since the room's first request, on tokio's clock (which
    /// a test may pause and move).
    pub fn now(&self) -> u64 {
        let start = *self.start.get_or_init(Instant::now);
        Instant::now().saturating_duration_since(start).as_millis() as u64
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Something changed: wake the dashboards.
    fn bump(&self, state: &mut State) -> u64 {
        state.version += 1;
        let version = state.version;
        self.changed.send_replace(version);
        version
    }

    /// A request reached the class server (any client's): the room line.
    pub fn count_request(&self) {
        let second = self.now() / 1000;
        let mut state = self.lock();
        match state.seconds.back_mut() {
            Some((at, count)) if *at == second => *count += 1,
            _ => state.seconds.push_back((second, 1)),
        }
        while state.seconds.front().is_some_and(|(at, _)| at + LANE_SECONDS < second) {
            state.seconds.pop_front();
        }
    }

    /// The learner `tag` names, joining them if new.
    /// `page`: the tag comes from the learner's page (a poll, a page
    /// report), so its exercise is the page's; a check's report names the
    /// exercise checked, which is not always the page's.
    fn learner(&self, state: &mut State, tag: &Tag, now: u64, page: bool) -> Result<usize, Refusal> {
        if let Some(&index) = state.by_name.get(&tag.name) {
            if state.learners[index].removed {
                // Back after the instructor removed them: a lane anew.
                state.next_joined += 1;
                state.learners[index] = Learner::new(tag, state.next_joined, now);
                return Ok(index);
            }
            let learner = &mut state.learners[index];
            if page && learner.tag.exercise != tag.exercise {
                // A learner moved on: the rules of the new exercise apply.
                learner.tag.exercise = tag.exercise;
                learner.flags_stale = true;
            }
            learner.last_seen = now;
            return Ok(index);
        }
        state.next_joined += 1;
        let learner = Learner::new(tag, state.next_joined, now);
        if state.learners.len() < MAX_LEARNERS {
            state.learners.push(learner);
            let index = state.learners.len() - 1;
            state.by_name.insert(tag.name.clone(), index);
            return Ok(index);
        }
        // Full: the learner gone longest makes room, if gone long enough.
        let (index, gone) = state
            .learners
            .iter()
            .enumerate()
            .min_by_key(|(_, l)| (!l.removed, l.last_seen))
            .map(|(index, l)| (index, if l.removed { None } else { Some(l.last_seen) }))
            .expect("a full room has learners");
        if gone.is_some_and(|gone| gone + RECORD_SECONDS * 1000 > now) {
            if state.turned_away.len() < MAX_TURNED_AWAY {
                state.turned_away.insert(tag.name.clone());
            }
            return Err(Refusal::Full);
        }
        let old = std::mem::replace(&mut state.learners[index], learner);
        state.by_name.remove(&old.tag.name);
        state.held -= old.holding();
        state.streams -= old.streaming();
        state.by_name.insert(tag.name.clone(), index);
        Ok(index)
    }

    /// A learner's request to the chat arrived. Refused when the room is
    /// full or the learner floods; else recorded as in flight.
    pub fn admit(&self, tag: &Tag, post: bool, long: bool) -> Result<Ticket, Refusal> {
        self.admit_as(tag, post, long)
    }

    /// A learner's request for a stream (`GET /events`) arrived: admitted
    /// as any request. If a stream's answer begins, [`Room::opened`] says
    /// so, and the record stays open until the stream ends.
    pub fn admit_stream(&self, tag: &Tag) -> Result<Ticket, Refusal> {
        self.admit_as(tag, false, false)
    }

    fn admit_as(&self, tag: &Tag, post: bool, long: bool) -> Result<Ticket, Refusal> {
        let now = self.now();
        let mut state = self.lock();
        let index = self.learner(&mut state, tag, now, true)?;
        self.count(&mut state, index, now)?;
        // The version the bump below makes: what a dashboard has to pass.
        let next = state.version + 1;
        let learner = &mut state.learners[index];
        let number = learner.next_number;
        learner.next_number += 1;
        let (mut forgotten_held, mut forgotten_streams) = (0, 0);
        while learner.requests.len() >= MAX_RECORD || learner.requests.front().is_some_and(|r| r.old(now)) {
            let gone = learner.requests.pop_front().expect("a request");
            forgotten_held += usize::from(gone.long && gone.answered.is_none());
            forgotten_streams += usize::from(gone.streaming());
        }
        state.held -= forgotten_held;
        state.streams -= forgotten_streams;
        let learner = &mut state.learners[index];
        let record = Record {
            number,
            post,
            long,
            sent: now,
            opened: None,
            events: 0,
            ticks: 0,
            answered: None,
            status: None,
            retry_after: None,
            held: false,
            hung_up: false,
            seq: next,
        };
        learner.requests.push_back(record);
        learner.flags_stale = true;
        let ticket = Ticket { learner: index, joined: learner.joined, number };
        if long {
            state.held += 1;
        }
        self.bump(&mut state);
        Ok(ticket)
    }

    /// Count a request (or report) of learner `index` in this second;
    /// past [`MAX_REQUESTS_PER_SECOND`], refuse it.
    fn count(&self, state: &mut State, index: usize, now: u64) -> Result<(), Refusal> {
        let learner = &mut state.learners[index];
        let second = now / 1000;
        if learner.second.0 != second {
            learner.second = (second, 0);
        }
        learner.second.1 += 1;
        if learner.second.1 > MAX_REQUESTS_PER_SECOND {
            match learner.refused.back_mut() {
                Some((at, count)) if *at == second => *count += 1,
                _ => learner.refused.push_back((second, 1)),
            }
            while learner.refused.front().is_some_and(|(at, _)| at + LANE_SECONDS < second) {
                learner.refused.pop_front();
            }
            // Shown at most once a second, not once per refusal.
            if learner.second.1 == MAX_REQUESTS_PER_SECOND + 1 {
                self.bump(state);
            }
            return Err(Refusal::Flood);
        }
        Ok(())
    }

    /// Whether the instructor's tight limit lets this learner's request in
    /// now; if not, how many seconds it should wait. Each admitted request
    /// starts a quiet time of `every` seconds.
    pub fn tight(&self, tag: &Tag, every: u64) -> Option<u64> {
        let now = self.now();
        let mut state = self.lock();
        let index = *state.by_name.get(&tag.name)?;
        let learner = &mut state.learners[index];
        if now < learner.tight_until {
            return Some((learner.tight_until - now).div_ceil(1000).max(1));
        }
        learner.tight_until = now + every * 1000;
        None
    }

    /// The answer to a request admitted with `ticket`: its status (`None`:
    /// the connection was closed), its `Retry-After`, and whether the
    /// server held it.
    pub fn finish(&self, ticket: Ticket, status: Option<u16>, retry_after: Option<u32>, held: bool) {
        self.end(ticket, status, retry_after, held, false);
    }

    /// The client hung up on a request admitted with `ticket` (or, a
    /// stream, closed it).
    pub fn hung_up(&self, ticket: Ticket) {
        self.end(ticket, None, None, false, true);
    }

    /// The answer to a request admitted with `ticket` is a stream, and it
    /// has begun: the record stays open until [`Room::finish`] (the
    /// stream ended: `Some(200)` by the server, `None` broken off) or
    /// [`Room::hung_up`] (the page closed it).
    pub fn opened(&self, ticket: Ticket) {
        let now = self.now();
        let mut state = self.lock();
        let next = state.version + 1;
        let Some(learner) = state.learners.get_mut(ticket.learner).filter(|l| l.joined == ticket.joined) else {
            return;
        };
        let Some(record) = learner.record_mut(ticket.number) else { return };
        if record.answered.is_some() || record.opened.is_some() {
            return;
        }
        (record.opened, record.status, record.seq) = (Some(now), Some(200), next);
        state.streams += 1;
        self.bump(&mut state);
    }

    /// The class server wrote `events` events to the stream admitted with
    /// `ticket`: a tick each, on its bar.
    pub fn tick(&self, ticket: Ticket, events: usize) {
        if events == 0 {
            return;
        }
        let now = self.now();
        let mut state = self.lock();
        let next = state.version + 1;
        let Some(learner) = state.learners.get_mut(ticket.learner).filter(|l| l.joined == ticket.joined) else {
            return;
        };
        let Some(record) = learner.record_mut(ticket.number).filter(|r| r.streaming()) else { return };
        record.events = record.events.saturating_add(events.try_into().unwrap_or(u32::MAX));
        record.seq = next;
        for _ in 0..events.min(MAX_TICKS_PER_STREAM) {
            learner.keep_tick(ticket.number, now);
        }
        self.bump(&mut state);
    }

    fn end(&self, ticket: Ticket, status: Option<u16>, retry_after: Option<u32>, held: bool, hung_up: bool) {
        let now = self.now();
        let mut state = self.lock();
        let next = state.version + 1;
        let Some(learner) = state.learners.get_mut(ticket.learner).filter(|l| l.joined == ticket.joined) else {
            return; // the learner left, and their slot went to another
        };
        let Some(record) = learner.requests.iter_mut().rev().find(|r| r.number == ticket.number) else {
            return; // forgotten already
        };
        if record.answered.is_some() {
            return;
        }
        (record.answered, record.status, record.retry_after, record.held) = (Some(now), status, retry_after, held);
        (record.hung_up, record.seq) = (hung_up, next);
        let (long, stream) = (record.long, record.opened.is_some());
        learner.flags_stale = true;
        if long {
            state.held -= 1;
        }
        if stream {
            state.streams -= 1;
        }
        self.bump(&mut state);
    }

    /// What a learner's page said: loaded, hidden, shown, or an error.
    pub fn page_said(&self, tag: &Tag, said: PageSaid, error: Option<&str>) -> Result<(), Refusal> {
        let now = self.now();
        let mut state = self.lock();
        let index = self.learner(&mut state, tag, now, true)?;
        self.count(&mut state, index, now)?;
        let learner = &mut state.learners[index];
        match said {
            PageSaid::Hidden => learner.hidden = true,
            PageSaid::Shown | PageSaid::Loaded => learner.hidden = false,
            PageSaid::Threw => {
                learner.errors += 1;
                learner.last_error = error.map(|text| text.chars().take(MAX_ERROR_CHARS).collect());
            }
        }
        while learner.said.len() >= MAX_PAGE_EVENTS
            || learner.said.front().is_some_and(|(at, _, _)| at + RECORD_SECONDS * 1000 < now)
        {
            learner.said.pop_front();
        }
        learner.flags_stale = true;
        let version = state.version + 1;
        state.learners[index].said.push_back((now, said, version));
        self.bump(&mut state);
        Ok(())
    }

    /// What a learner's page logged of its own polls and visibility, in its
    /// own time, for load `load` (the page's id for this load).
    pub fn page_log(&self, tag: &Tag, load: &str, events: impl IntoIterator<Item = (u64, PageEvent)>) {
        let now = self.now();
        let mut state = self.lock();
        let Ok(index) = self.learner(&mut state, tag, now, true) else {
            return;
        };
        let learner = &mut state.learners[index];
        let seq = match learner.loads.iter().find(|(id, ..)| id == load) {
            Some((_, seq, _)) => *seq,
            None => {
                learner.next_load += 1;
                if learner.loads.len() >= MAX_PAGE_LOADS {
                    let (_, gone, _) = learner.loads.pop_front().expect("a load");
                    learner.page.retain(|(seq, ..)| *seq != gone);
                }
                let id: String = load.chars().take(32).collect();
                learner.loads.push_back((id, learner.next_load, tag.exercise));
                learner.next_load
            }
        };
        for (at, event) in events {
            while learner.page.len() >= MAX_PAGE_LOG
                || learner.page.front().is_some_and(|(.., came)| came + FLAG_SECONDS * 1000 < now)
            {
                learner.page.pop_front();
            }
            learner.page.push_back((seq, at, event, now));
        }
        learner.flags_stale = true;
    }

    /// What a learner's check reported.
    pub fn progress(&self, tag: &Tag, progress: Progress) -> Result<(), Refusal> {
        let now = self.now();
        let mut state = self.lock();
        let index = self.learner(&mut state, tag, now, false)?;
        let learner = &mut state.learners[index];
        learner.progress = Some((tag.exercise, progress));
        learner.last_check = Some(now);
        if progress.done {
            learner.passed.insert(tag.exercise);
        }
        self.bump(&mut state);
        Ok(())
    }

    /// A learner was shown hint `shown` of their exercise (`tag`'s).
    pub fn hint(&self, tag: &Tag, shown: u32) -> Result<(), Refusal> {
        let now = self.now();
        let mut state = self.lock();
        let index = self.learner(&mut state, tag, now, false)?;
        state.learners[index].hints = Some((tag.exercise, shown));
        self.bump(&mut state);
        Ok(())
    }

    /// A learner says they are stuck, or done: shown until cleared.
    pub fn signal(&self, tag: &Tag, kind: SignalKind) -> Result<(), Refusal> {
        let now = self.now();
        let mut state = self.lock();
        let index = self.learner(&mut state, tag, now, false)?;
        self.count(&mut state, index, now)?;
        state.learners[index].signal = Some(Signal { kind, at: now });
        self.bump(&mut state);
        Ok(())
    }

    /// The instructor cleared `name`'s signal; `false` if no such learner.
    pub fn clear_signal(&self, name: &str) -> bool {
        let mut state = self.lock();
        let Some(&index) = state.by_name.get(name) else { return false };
        state.learners[index].signal = None;
        self.bump(&mut state);
        true
    }

    /// The instructor clears every flag: what the pages did until now is
    /// not held against them (before a moment, so that what shows is what
    /// the moment does).
    pub fn clear_flags(&self) {
        let now = self.now();
        let mut state = self.lock();
        for learner in &mut state.learners {
            learner.flags_cleared = Some(now);
            learner.flags.clear();
            learner.flags_stale = true;
        }
        self.bump(&mut state);
    }

    /// The instructor removes `name`, who has left: their lane goes (a
    /// request of theirs brings them back); `false` if no such learner.
    pub fn remove(&self, name: &str) -> bool {
        let mut state = self.lock();
        let Some(&index) = state.by_name.get(name) else { return false };
        state.held -= state.learners[index].holding();
        state.streams -= state.learners[index].streaming();
        state.next_joined += 1;
        // A new slot number: the requests still in flight end unrecorded.
        let mut gone = Learner::new(&state.learners[index].tag, state.next_joined, 0);
        gone.removed = true;
        state.learners[index] = gone;
        self.bump(&mut state);
        true
    }

    /// The instructor sets the exercise the room is on.
    pub fn set_exercise(&self, exercise: u32) {
        let mut state = self.lock();
        state.exercise = Some(exercise);
        self.bump(&mut state);
    }

    /// The exercise the instructor set for the room, if any.
    pub fn exercise(&self) -> Option<u32> {
        self.lock().exercise
    }

    /// A change the instructor made, for the timeline.
    pub fn marker(&self, text: String) {
        let at = self.now();
        let mut state = self.lock();
        if state.markers.len() >= MAX_MARKERS {
            state.markers.pop_front();
        }
        state.markers.push_back(Marker { at, text });
        self.bump(&mut state);
    }

    /// The room's version: it moves on each change a dashboard would show.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The names in the room, in the order they joined.
    pub fn names(&self) -> Vec<String> {
        self.lock().learners.iter().filter(|l| !l.removed).map(|l| l.tag.name.clone()).collect()
    }

    /// A learner's flags now (worked out afresh).
    pub fn flags_of(&self, name: &str) -> Option<Vec<Flag>> {
        let now = self.now();
        let mut state = self.lock();
        let index = *state.by_name.get(name)?;
        let learner = &mut state.learners[index];
        learner.flags = flags_for(learner, now);
        learner.flags_at = Some(now);
        learner.flags_stale = false;
        Some(learner.flags.clone())
    }

    /// What a dashboard that has seen version `since` needs: every learner's
    /// summary, and the requests and page events that changed after
    /// `since` in the last [`LANE_SECONDS`] (all of them for `since` 0).
    pub fn feed(&self, since: u64) -> Feed {
        let now = self.now();
        let mut state = self.lock();
        let from = now.saturating_sub(LANE_SECONDS * 1000);
        let mut learners = Vec::with_capacity(state.learners.len());
        let second = now / 1000;
        let (mut joined, mut hidden, mut refused) = (0, 0, 0);
        let mut passing: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
        for learner in state.learners.iter_mut().filter(|l| !l.removed) {
            for exercise in &learner.passed {
                *passing.entry(*exercise).or_default() += 1;
            }
            // A flag is looked at again even with nothing new: it goes when
            // what raised it is older than FLAG_SECONDS.
            let due = learner.flags_stale || !learner.flags.is_empty();
            if due && learner.flags_at.is_none_or(|at| at + FLAGS_EVERY_MS <= now) {
                learner.flags = flags_for(learner, now);
                learner.flags_at = Some(now);
                learner.flags_stale = false;
            }
            // A hidden page that rightly sends nothing is still in the
            // room, and so is a page with a stream open (it sends nothing
            // for as long as the stream lasts).
            let seen_within = |seconds: u64| learner.last_seen + seconds * 1000 >= now;
            let active =
                seen_within(LANE_SECONDS) || (learner.hidden && seen_within(RECORD_SECONDS)) || learner.streaming() > 0;
            joined += usize::from(active);
            hidden += usize::from(active && learner.hidden);
            let refused_lately = recent_refused(learner, second);
            refused += refused_lately;
            let per_minute = learner.requests.iter().rev().take_while(|r| r.sent + 60_000 >= now).count();
            // Held requests may have been sent up to a wait before the
            // lane, and a stream may have been opened any time before it.
            let sent_from = now.saturating_sub((LANE_SECONDS + long_polling::MAX_WAIT_SECONDS) * 1000);
            let on_lane = |r: &&Record| {
                r.seq > since && r.answered.is_none_or(|at| at >= from) && (r.opened.is_some() || r.sent >= sent_from)
            };
            // Each stream's ticks on the lane, gathered once.
            let mut ticks: HashMap<usize, Vec<u64>> = HashMap::new();
            if learner.requests.iter().any(|r| r.opened.is_some() && on_lane(&r)) {
                for (number, at) in learner.ticks.iter().filter(|(_, at)| *at >= from) {
                    ticks.entry(*number).or_default().push(*at);
                }
            }
            let changed = learner
                .requests
                .iter()
                .filter(on_lane)
                .map(|r| Drawn {
                    n: r.number,
                    sent: r.sent,
                    answered: r.answered,
                    kind: kind_of(r),
                    post: r.post,
                    stream: r.opened.map(|opened| Stream {
                        opened,
                        events: r.events,
                        ticks: ticks.remove(&r.number).unwrap_or_default(),
                    }),
                })
                .collect();
            let said = learner
                .said
                .iter()
                .filter(|(at, _, seq)| *seq > since && *at >= from.saturating_sub(RECORD_SECONDS * 1000))
                .filter(|(_, said, _)| *said != PageSaid::Threw)
                .map(|(at, said, _)| (*at, said_text(*said)))
                .collect();
            learners.push(LearnerView {
                name: learner.tag.name.clone(),
                exercise: learner.tag.exercise,
                progress: learner.progress,
                per_minute,
                hidden: learner.hidden,
                active,
                errors: learner.errors,
                last_error: learner.last_error.clone(),
                refused: refused_lately,
                flags: learner.flags.clone(),
                requests: changed,
                said,
                signal: learner.signal,
                hints: learner.hints,
                last_check: learner.last_check,
                passed: learner.passed.iter().copied().collect(),
            });
        }
        let counted: Vec<u32> = state.seconds.iter().filter(|(at, _)| *at < second).map(|(_, n)| *n).collect();
        let per_second = state.seconds.iter().find(|(at, _)| *at + 1 == second).map_or(0, |(_, n)| *n);
        let busiest = counted.iter().copied().max().unwrap_or(0);
        let span = second.clamp(1, LANE_SECONDS) as f64;
        let average = counted.iter().fold(0.0, |sum, n| sum + f64::from(*n)) / span;
        Feed {
            server: self.id.clone(),
            version: state.version,
            now,
            room: RoomLine {
                exercise: state.exercise,
                passing: passing.into_iter().collect(),
                per_second,
                busiest,
                average: (average * 10.0).round() / 10.0,
                joined,
                hidden,
                held: state.held,
                streams: state.streams,
                refused,
                turned_away: state.turned_away.len() as u64,
                seconds: state.seconds.iter().filter(|(at, _)| *at < second).copied().collect(),
            },
            markers: state.markers.iter().filter(|m| m.at >= from).cloned().collect(),
            learners,
        }
    }
}

fn flags_for(learner: &Learner, now: u64) -> Vec<Flag> {
    let cleared = |came: u64| learner.flags_cleared.is_some_and(|at| came <= at);
    let recent = |came: u64| came + FLAG_SECONDS * 1000 >= now && !cleared(came);
    let loads: Vec<_> = learner
        .loads
        .iter()
        .map(|(_, seq, exercise)| {
            let events = learner.page.iter().filter(|(load, .., came)| load == seq && recent(*came));
            let end = events.clone().map(|(_, at, ..)| *at).max().unwrap_or(0) + 1;
            let trace = rules::trace(events.map(|(_, at, event, _)| (*at, *event)));
            rules::Load { trace, end, exercise: *exercise }
        })
        .collect();
    rules::flags(&loads)
}

/// A learner's requests refused for flooding in the last minute.
fn recent_refused(learner: &Learner, second: u64) -> u64 {
    learner.refused.iter().filter(|(at, _)| at + LANE_SECONDS >= second).map(|(_, n)| u64::from(*n)).sum()
}

fn kind_of(record: &Record) -> &'static str {
    if record.opened.is_some() {
        return match (record.answered, record.status) {
            (None, _) => "streaming",
            (Some(_), _) if record.hung_up => "aborted",
            (Some(_), None) => "error",
            (Some(_), Some(_)) => "stream",
        };
    }
    match (record.answered, record.status, record.held) {
        (None, _, _) if record.long => "holding",
        (None, _, _) => "waiting",
        (Some(_), None, _) if record.hung_up => "aborted",
        (Some(_), None, _) => "error",
        (Some(_), Some(_), true) => "held",
        (Some(_), Some(200..=299), _) => "200",
        (Some(_), Some(304), _) => "304",
        (Some(_), Some(429), _) => "429",
        (Some(_), Some(503), _) => "503",
        (Some(_), Some(code), _) if code >= 500 => "5xx",
        (Some(_), Some(_), _) => "4xx",
    }
}

fn said_text(said: PageSaid) -> &'static str {
    match said {
        PageSaid::Loaded => "loaded",
        PageSaid::Hidden => "hidden",
        PageSaid::Shown => "shown",
        PageSaid::Threw => "threw",
    }
}

/// What `GET /class/feed` answers.
#[derive(Debug, Clone, Serialize)]
pub struct Feed {
    /// The room's id: new each time the class server starts.
    pub server: String,
    pub version: u64,
    /// The room's time, ms: the dashboard draws lanes up to it.
    pub now: u64,
    pub room: RoomLine,
    pub markers: Vec<Marker>,
    pub learners: Vec<LearnerView>,
}

/// The room line.
#[derive(Debug, Clone, Serialize)]
pub struct RoomLine {
    /// The exercise the instructor set for the room, if any.
    pub exercise: Option<u32>,
    /// For each exercise, how many learners' checks of it passed.
    pub passing: Vec<(u32, usize)>,
    /// Requests at the server in the last whole second.
    pub per_second: u32,
    /// The busiest second of the last minute, and the minute's average.
    pub busiest: u32,
    pub average: f64,
    /// Learners seen in the last minute, and of those, hidden.
    pub joined: usize,
    pub hidden: usize,
    /// Long polls in flight now.
    pub held: usize,
    /// Streams open now (exercise 08's `/events`).
    pub streams: usize,
    /// Requests refused for flooding in the last minute, over every learner.
    pub refused: u64,
    /// Names refused because the room was full, since it started.
    pub turned_away: u64,
    /// Requests at the server in each whole second of the last minute:
    /// (second since the room started, requests).
    pub seconds: Vec<(u64, u32)>,
}

/// One learner, as the dashboard shows them.
#[derive(Debug, Clone, Serialize)]
pub struct LearnerView {
    pub name: String,
    pub exercise: u32,
    /// The last check: the exercise checked, and how it went.
    pub progress: Option<(u32, Progress)>,
    pub per_minute: usize,
    pub hidden: bool,
    /// Seen in the last minute, or hidden (a hidden page rightly sends nothing).
    pub active: bool,
    pub errors: u64,
    pub last_error: Option<String>,
    /// Requests refused for flooding in the last minute.
    pub refused: u64,
    pub flags: Vec<Flag>,
    /// Requests that changed since the dashboard's version.
    pub requests: Vec<Drawn>,
    /// Page events since then: (ms, "loaded" | "hidden" | "shown").
    pub said: Vec<(u64, &'static str)>,
    /// "I'm stuck" or "I'm done", until the instructor clears it.
    pub signal: Option<Signal>,
    /// The hints shown so far: (exercise, how many).
    pub hints: Option<(u32, u32)>,
    /// When the last check was reported (room ms).
    pub last_check: Option<u64>,
    /// The exercises whose spec their checks passed.
    pub passed: Vec<u32>,
}

/// A request on a lane.
#[derive(Debug, Clone, Serialize)]
pub struct Drawn {
    pub n: usize,
    pub sent: u64,
    pub answered: Option<u64>,
    /// "holding" or "waiting" (in flight), "held", "200" (any 2xx), "304", "429",
    /// "503", "5xx", "4xx", "error" (no answer: the connection closed) or
    /// "aborted" (the client hung up first). A stream: "streaming" (open),
    /// "stream" (the server ended it), "error" (broken off: a restart, the
    /// server going down) or "aborted" (the page closed it).
    pub kind: &'static str,
    pub post: bool,
    /// A stream's answer: when it began, and its events (`answered` is
    /// when it ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<Stream>,
}

/// A stream on a lane: one long bar, from `opened` to its end, with a
/// tick at each event the class server wrote to it.
#[derive(Debug, Clone, Serialize)]
pub struct Stream {
    pub opened: u64,
    /// Every event written to it, ticks kept or not.
    pub events: u32,
    /// When each event was written, oldest first: those of the lane's
    /// minute, at most [`MAX_TICKS_PER_STREAM`].
    pub ticks: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(name: &str) -> Tag {
        Tag { name: name.to_owned(), exercise: 4 }
    }

    #[tokio::test(start_paused = true)]
    async fn a_learners_requests_are_drawn_and_only_new_ones_sent_again() {
        let room = Room::new();
        let ticket = room.admit(&tag("Ada"), false, false).unwrap();
        tokio::time::advance(std::time::Duration::from_millis(40)).await;
        room.finish(ticket, Some(200), None, false);
        let feed = room.feed(0);
        assert_eq!(feed.learners.len(), 1);
        assert_eq!(feed.learners[0].requests.len(), 1);
        assert_eq!(feed.learners[0].requests[0].kind, "200");
        assert_eq!(feed.learners[0].requests[0].answered, Some(feed.learners[0].requests[0].sent + 40));
        let again = room.feed(feed.version);
        assert!(again.learners[0].requests.is_empty(), "a dashboard is not sent what it has");
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_is_refused_counted_and_shown() {
        let room = Room::new();
        for _ in 0..MAX_REQUESTS_PER_SECOND {
            room.admit(&tag("Flo"), false, false).unwrap();
        }
        assert_eq!(room.admit(&tag("Flo"), false, false), Err(Refusal::Flood));
        assert_eq!(room.admit(&tag("Flo"), false, false), Err(Refusal::Flood));
        assert!(room.admit(&tag("Ada"), false, false).is_ok(), "another learner is not held back");
        let feed = room.feed(0);
        assert_eq!(feed.learners[0].refused, 2);
        assert_eq!(feed.room.refused, 2);
        assert_eq!(feed.learners[0].requests.len() as u32, MAX_REQUESTS_PER_SECOND, "refused ones are not kept");
    }

    #[tokio::test(start_paused = true)]
    async fn the_room_is_bounded_and_makes_room_for_new_learners_only_when_some_left() {
        let room = Room::new();
        for n in 0..MAX_LEARNERS {
            room.admit(&tag(&format!("learner {n}")), false, false).unwrap();
        }
        assert_eq!(room.admit(&tag("one too many"), false, false), Err(Refusal::Full));
        tokio::time::advance(std::time::Duration::from_secs(RECORD_SECONDS + 1)).await;
        room.admit(&tag("learner 7"), false, false).unwrap();
        room.admit(&tag("late"), false, false).unwrap();
        let names = room.names();
        assert_eq!(names.len(), MAX_LEARNERS);
        assert!(names.contains(&"late".to_owned()) && names.contains(&"learner 7".to_owned()));
        assert_eq!(room.feed(0).room.turned_away, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_learners_record_is_bounded() {
        let room = Room::new();
        for _ in 0..(MAX_RECORD + 50) {
            let ticket = room.admit(&tag("Ada"), false, true).unwrap();
            room.finish(ticket, Some(200), None, true);
            tokio::time::advance(std::time::Duration::from_millis(100)).await;
        }
        let state = room.lock();
        assert_eq!(state.learners[0].requests.len(), MAX_RECORD);
        assert_eq!(state.held, 0);
    }

    fn settled(n: usize) -> PageEvent {
        PageEvent::Settled { n, status: Some(200), aborted: false, retry_after: None }
    }

    /// Two polls in flight at once, as the page logged them.
    fn overlapping() -> [(u64, PageEvent); 4] {
        [
            (0, PageEvent::Sent { n: 1, post: false }),
            (3000, PageEvent::Sent { n: 2, post: false }),
            (5000, settled(1)),
            (8000, settled(2)),
        ]
    }

    #[tokio::test(start_paused = true)]
    async fn a_flag_goes_two_minutes_after_what_raised_it() {
        let room = Room::new();
        let ada = Tag { name: "Ada".to_owned(), exercise: 2 };
        room.page_log(&ada, "load-1", overlapping());
        let rules = |feed: Feed| feed.learners[0].flags.iter().map(|f| f.rule).collect::<Vec<_>>();
        assert_eq!(rules(room.feed(0)), ["two polls at once"]);
        tokio::time::advance(std::time::Duration::from_secs(FLAG_SECONDS + 2)).await;
        assert!(rules(room.feed(0)).is_empty(), "still flagged after {FLAG_SECONDS} s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_of_another_exercise_leaves_the_lanes_exercise_alone() {
        let room = Room::new();
        let on_07 = Tag { name: "Ada".to_owned(), exercise: 7 };
        room.admit(&on_07, false, true).unwrap();
        let checked_03 = Tag { name: "Ada".to_owned(), exercise: 3 };
        room.progress(&checked_03, Progress { passed: 4, run: 9, done: false }).unwrap();
        let ada = &room.feed(0).learners[0];
        assert_eq!((ada.exercise, ada.progress.map(|(n, _)| n)), (7, Some(3)));
    }

    #[tokio::test(start_paused = true)]
    async fn each_page_load_is_judged_by_the_exercise_it_was() {
        let room = Room::new();
        // Exercise 01's given client overlaps, as it should...
        room.page_log(&Tag { name: "Ada".to_owned(), exercise: 1 }, "load-1", overlapping());
        // ...and then the learner moves on to 02, with a right client.
        let chain = [(0, PageEvent::Sent { n: 1, post: false }), (50, settled(1))];
        room.page_log(&Tag { name: "Ada".to_owned(), exercise: 2 }, "load-2", chain);
        assert!(room.flags_of("Ada").unwrap().is_empty(), "01's page judged by 02's rules");
    }

    #[tokio::test(start_paused = true)]
    async fn the_tight_limit_lets_one_request_in_per_quiet_time() {
        let room = Room::new();
        room.admit(&tag("Ada"), false, false).unwrap();
        assert_eq!(room.tight(&tag("Ada"), 5), None);
        tokio::time::advance(std::time::Duration::from_millis(1200)).await;
        assert_eq!(room.tight(&tag("Ada"), 5), Some(4));
        tokio::time::advance(std::time::Duration::from_secs(4)).await;
        assert_eq!(room.tight(&tag("Ada"), 5), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_is_one_open_request_and_its_ticks_are_capped() {
        let room = Room::new();
        let ticket = room.admit_stream(&tag("Ada")).unwrap();
        tokio::time::advance(std::time::Duration::from_millis(40)).await;
        room.opened(ticket);
        assert_eq!(room.feed(0).room.streams, 1);
        // More events than a stream keeps ticks for, one at a time...
        for _ in 0..MAX_TICKS_PER_STREAM + 30 {
            tokio::time::advance(std::time::Duration::from_millis(100)).await;
            room.tick(ticket, 1);
        }
        let feed = room.feed(0);
        let drawn = &feed.learners[0].requests[0];
        assert_eq!((drawn.kind, drawn.answered), ("streaming", None), "one request, open");
        let stream = drawn.stream.as_ref().expect("drawn as a stream");
        assert_eq!(stream.opened, drawn.sent + 40);
        assert_eq!(stream.events as usize, MAX_TICKS_PER_STREAM + 30, "every event counted");
        assert_eq!(stream.ticks.len(), MAX_TICKS_PER_STREAM, "only the newest ticks kept");
        assert_eq!(stream.ticks.last(), Some(&feed.now));
        // ...and a catch-up of thousands at once.
        room.tick(ticket, 5_000);
        let feed = room.feed(0);
        let stream = feed.learners[0].requests[0].stream.as_ref().unwrap();
        assert_eq!((stream.events as usize, stream.ticks.len()), (MAX_TICKS_PER_STREAM + 5_030, MAX_TICKS_PER_STREAM));
        // The page closes it: one request, ended.
        room.hung_up(ticket);
        let feed = room.feed(0);
        assert_eq!((feed.learners[0].requests[0].kind, feed.room.streams), ("aborted", 0));

        // A learner's ticks in all are bounded too, however many streams.
        for _ in 0..2 * MAX_TICKS / MAX_TICKS_PER_STREAM {
            tokio::time::advance(std::time::Duration::from_millis(100)).await;
            let ticket = room.admit_stream(&tag("Ada")).unwrap();
            room.opened(ticket);
            room.tick(ticket, MAX_TICKS_PER_STREAM);
        }
        assert_eq!(room.lock().learners[0].ticks.len(), MAX_TICKS);
        assert_eq!(room.feed(0).room.streams, 2 * MAX_TICKS / MAX_TICKS_PER_STREAM);
        // Ticks older than the lane go with the next one.
        tokio::time::advance(std::time::Duration::from_secs(LANE_SECONDS + 1)).await;
        let last = room.admit_stream(&tag("Ada")).unwrap();
        room.opened(last);
        room.tick(last, 1);
        let state = room.lock();
        assert_eq!(state.learners[0].ticks.len(), 1);
        let counted: usize = state.learners[0].requests.iter().map(|r| r.ticks).sum();
        assert_eq!(counted, 1, "each record's count of its ticks kept follows");
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_stream_stays_on_the_lane_however_long_ago_it_opened() {
        let room = Room::new();
        let ticket = room.admit_stream(&tag("Ada")).unwrap();
        room.opened(ticket);
        for _ in 0..20 {
            tokio::time::advance(std::time::Duration::from_secs(RECORD_SECONDS / 10)).await;
            room.admit(&tag("Ada"), true, false).unwrap(); // a message sent, now and then
        }
        room.tick(ticket, 1);
        let feed = room.feed(0);
        let streams: Vec<_> = feed.learners[0].requests.iter().filter(|r| r.stream.is_some()).collect();
        assert_eq!(streams.len(), 1, "{:?}", feed.learners[0].requests);
        assert_eq!((streams[0].kind, streams[0].stream.as_ref().unwrap().ticks.len()), ("streaming", 1));
        // Minutes with nothing sent: with its stream open, the page is in the room.
        tokio::time::advance(std::time::Duration::from_secs(5 * LANE_SECONDS)).await;
        let feed = room.feed(0);
        assert!(feed.learners[0].active && feed.room.joined == 1);
        room.finish(ticket, Some(200), None, false);
        let feed = room.feed(0);
        let ended = feed.learners[0].requests.iter().find(|r| r.stream.is_some()).unwrap();
        assert_eq!((ended.kind, feed.room.streams), ("stream", 0), "ended by the server");
        assert!(!feed.learners[0].active, "no stream, and nothing sent for minutes");
        // Forgotten the record's time after it ended, not after it opened.
        tokio::time::advance(std::time::Duration::from_secs(RECORD_SECONDS + 1)).await;
        room.admit(&tag("Ada"), true, false).unwrap();
        assert!(room.lock().learners[0].requests.iter().all(|r| r.opened.is_none()));
    }

    #[test]
    fn clearing_the_flags_forgets_what_raised_them() {
        let room = Room::new();
        let ada = tag("Ada");
        // Two polls at once: flagged.
        room.page_log(
            &ada,
            "load-1",
            [
                (0, PageEvent::Sent { n: 1, post: false }),
                (3_000, PageEvent::Sent { n: 2, post: false }),
                (5_000, PageEvent::Settled { n: 1, status: Some(200), aborted: false, retry_after: None }),
            ],
        );
        assert_eq!(room.flags_of("Ada").unwrap().len(), 1);
        room.clear_flags();
        assert_eq!(room.flags_of("Ada").unwrap(), []);
    }
}
