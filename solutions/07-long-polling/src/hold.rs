//! Holding a request until there is news: the heart of long polling.
//!
//! A held request is a future parked on a `watch` receiver and a timer. It
//! holds no lock and no thread: ten thousand of them are ten thousand small
//! state machines that tokio wakes when the version moves.

use crate::news::News;
use axum::body::Bytes;
use dont_ddos_yourself::store::Cursor;
use redis_chat::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OnceCell, watch};

/// One answer to share: the body, and whether it has anything the client
/// does not have (new messages, or a `reset`).
type Shared = (Bytes, bool);

/// The answers made for one version: a cursor (`since`, `epoch`) -> its
/// answer, made once and shared. Only answers are kept, never a failure.
type Answers = HashMap<(u64, Option<u64>), Arc<OnceCell<Shared>>>;

// ANCHOR: limits
/// The most answers kept for one version. Readers who are up to date share
/// one cursor, so a handful is the usual count; cursors are the client's to
/// invent, though, and a flood of made-up ones must not grow the server.
/// Past this, a request reads the store itself, uncached.
pub const MAX_CACHED_ANSWERS: usize = 64;

/// The most requests one server holds at once: under chat_page's cap on
/// open connections (1,000), so that with every held slot taken there is
/// still room for posts and plain polls. Past it, `503` with `Retry-After`.
pub const MAX_HELD: usize = 800;

/// The most requests one client holds at once. A page holds one; the
/// second covers a page that hides and shows again, whose aborted request the
/// server may still hold when the next one arrives. (Each tab names itself,
/// so tabs do not share this.) Past it, `429` with `Retry-After`.
pub const MAX_HELD_PER_CLIENT: usize = 2;
// ANCHOR_END: limits

/// Why a request was not held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotHeld {
    /// The server holds as many requests as it may ([`MAX_HELD`] unless
    /// [`Hub::with_max_held`] said otherwise).
    ServerFull { max_held: usize },
    /// This client holds [`MAX_HELD_PER_CLIENT`] already.
    ClientHoldsEnough,
}

/// A store, the news about it, and the requests held on it.
pub struct Hub<S> {
    pub store: Arc<S>,
    pub news: News,
    /// The answers already made for the current version, one per cursor.
    answers: Mutex<(u64, Answers)>,
    stopping: watch::Sender<bool>,
    held: AtomicUsize,
    store_reads: AtomicU64,
    /// The held slots taken: in all, and by each client (only clients that
    /// hold one are in the map, so it is at most [`MAX_HELD`] long).
    slots: Mutex<(usize, HashMap<String, usize>)>,
    max_held: usize,
}

/// A held slot, given back when it is dropped.
pub struct Slot<'a> {
    slots: &'a Mutex<(usize, HashMap<String, usize>)>,
    client: String,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut slots = self.slots.lock().expect("the slots' lock is poisoned");
        slots.0 -= 1;
        if let Some(count) = slots.1.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                slots.1.remove(&self.client);
            }
        }
    }
}

impl<S: Store> Hub<S> {
    pub fn new(store: Arc<S>, news: News) -> Hub<S> {
        let (stopping, _) = watch::channel(false);
        Hub {
            store,
            news,
            answers: Mutex::new((0, HashMap::new())),
            stopping,
            held: AtomicUsize::new(0),
            store_reads: AtomicU64::new(0),
            slots: Mutex::new((0, HashMap::new())),
            max_held: MAX_HELD,
        }
    }

    /// The same hub, holding at most `max_held` requests at once instead of
    /// [`MAX_HELD`]: the capacity benchmark lifts the cap to measure what
    /// holding costs.
    pub fn with_max_held(mut self, max_held: usize) -> Hub<S> {
        self.max_held = max_held;
        self
    }

    /// A slot for `client` to be held in, if the caps allow: the route takes
    /// one before it holds a request, and keeps it until it answers.
    pub fn slot(&self, client: &str) -> Result<Slot<'_>, NotHeld> {
        let mut slots = self.slots.lock().expect("the slots' lock is poisoned");
        if slots.0 >= self.max_held {
            return Err(NotHeld::ServerFull { max_held: self.max_held });
        }
        let mine = slots.1.get(client).copied().unwrap_or(0);
        if mine >= MAX_HELD_PER_CLIENT {
            return Err(NotHeld::ClientHoldsEnough);
        }
        slots.0 += 1;
        slots.1.insert(client.to_owned(), mine + 1);
        Ok(Slot { slots: &self.slots, client: client.to_owned() })
    }

    /// How many answers are kept for the current version.
    pub fn cached_answers(&self) -> usize {
        self.answers.lock().expect("the answers' lock is poisoned").1.len()
    }

    /// How many requests are being held right now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }

    /// How many times held requests read the store: once per version and
    /// cursor, however many requests share the answer.
    pub fn store_reads(&self) -> u64 {
        self.store_reads.load(Ordering::SeqCst)
    }

    /// The server is shutting down: answer every held request now, and do
    /// not hold new ones.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    // ANCHOR: wait
    /// The answer for a client at `cursor`: at once if the store has
    /// something it lacks, otherwise as soon as it does, or after `wait`
    /// with nothing new (`{"msg": [], ...}`), or at once when shutting down.
    pub async fn wait(
        &self,
        cursor: Option<Cursor>,
        wait: Duration,
    ) -> Result<Bytes, StoreError> {
        let _held = Held::count(&self.held);
        let deadline = tokio::time::Instant::now() + wait;
        // Subscribe *before* looking at the store. A message stored after
        // this line bumps the version, so `changed()` below completes even
        // if it came while we were looking: no wake-up can fall in between.
        let mut news = self.news.subscribe();
        let mut stopping = self.stopping.subscribe();
        loop {
            let version = *news.borrow_and_update();
            let (body, new) = self.answer(version, cursor).await?;
            if new || *stopping.borrow_and_update() {
                return Ok(body);
            }
            tokio::select! {
                _ = news.changed() => {} // something was stored: look again
                () = tokio::time::sleep_until(deadline) => return Ok(body),
                _ = stopping.changed() => return Ok(body),
            }
        }
    }
    // ANCHOR_END: wait

    // ANCHOR: answer
    /// The store's answer for `cursor` at `version`, read once and shared by
    /// every request at the same cursor. When a post wakes 10,000 readers
    /// who all had message 41, the first one reads (and, for Redis, fetches
    /// and serializes) the answer; the other 9,999 clone its `Bytes`.
    async fn answer(
        &self,
        version: u64,
        cursor: Option<Cursor>,
    ) -> Result<Shared, StoreError> {
        let key = cursor.map_or((u64::MAX, None), |c| (c.since, c.epoch));
        let cell = {
            let mut answers =
                self.answers.lock().expect("the answers' lock is poisoned");
            if version > answers.0 {
                // A new version: the old answers are stale.
                *answers = (version, HashMap::new());
            }
            // A request that saw an older version reads the store itself,
            // and so does one at a new cursor once the cache is full.
            let room = answers.1.len() < MAX_CACHED_ANSWERS;
            match answers.1.get(&key) {
                _ if version != answers.0 => None,
                Some(cell) => Some(cell.clone()),
                None if room => Some(answers.1.entry(key).or_default().clone()),
                None => None,
            }
        }; // the lock is released here, before any waiting
        let read = || async {
            self.store_reads.fetch_add(1, Ordering::SeqCst);
            // As exercise 06's route does: after Redis restarts, the first
            // command on the old connection fails while it reconnects.
            let answer = match self.store.poll(cursor).await {
                Ok(answer) => answer,
                Err(_) => self.store.poll(cursor).await?,
            };
            Ok::<_, StoreError>((answer.body, answer.news))
        };
        // A failed read leaves the cell empty: the next request tries the
        // store again, instead of getting the failure for as long as the
        // version stays the same.
        match cell {
            Some(cell) => cell.get_or_try_init(read).await.cloned(),
            None => read().await,
        }
    }
    // ANCHOR_END: answer
}

/// Counts a held request for as long as it lives. It is dropped when the
/// request is answered, and also when the client goes away: hyper drops the
/// handler's future when the connection closes.
struct Held<'a>(&'a AtomicUsize);

impl<'a> Held<'a> {
    fn count(held: &'a AtomicUsize) -> Held<'a> {
        held.fetch_add(1, Ordering::SeqCst);
        Held(held)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
