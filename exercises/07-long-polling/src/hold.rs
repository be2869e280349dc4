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
type Shared = Result<(Bytes, bool), StoreError>;

/// The answers made for one version: a cursor (`since`, `epoch`) -> its
/// answer, made once and shared.
type Answers = HashMap<(u64, Option<u64>), Arc<OnceCell<Shared>>>;

/// A store, the news about it, and the requests held on it.
pub struct Hub<S> {
    pub store: Arc<S>,
    pub news: News,
    /// The answers already made for the current version, one per cursor.
    answers: Mutex<(u64, Answers)>,
    stopping: watch::Sender<bool>,
    held: AtomicUsize,
    store_reads: AtomicU64,
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
        }
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
        let _held = Held::count(&self.held); // keep this line: the spec counts held requests
        // TODO, in this order (the order is what makes it correct):
        //   1. the deadline: `tokio::time::Instant::now() + wait`;
        //   2. subscribe to the news (`self.news.subscribe()`) and to
        //      `self.stopping`, *before* looking at the store;
        //   3. loop:
        //      - `*news.borrow_and_update()` is the version you are about to look at;
        //      - `self.answer(version, cursor).await?` gives `(body, new)`;
        //      - if `new`, or the server is stopping, answer `body` now;
        //      - otherwise `tokio::select!` on `news.changed()` (look again),
        //        `tokio::time::sleep_until(deadline)` (answer `body`: nothing
        //        new) and `stopping.changed()` (answer `body`).
        todo!(
            "Hub::wait: hold the request until there is news, the deadline, or shutdown"
        )
    }
    // ANCHOR_END: wait

    // ANCHOR: answer
    /// The store's answer for `cursor` at `version`, read once and shared by
    /// every request at the same cursor. When a post wakes 10,000 readers
    /// who all had message 41, the first one reads (and, for Redis, fetches
    /// and serializes) the answer; the other 9,999 clone its `Bytes`.
    async fn answer(&self, version: u64, cursor: Option<Cursor>) -> Shared {
        let key = cursor.map_or((u64::MAX, None), |c| (c.since, c.epoch));
        let cell = {
            let mut answers =
                self.answers.lock().expect("the answers' lock is poisoned");
            if version > answers.0 {
                // A new version: the old answers are stale.
                *answers = (version, HashMap::new());
            }
            // A request that saw an older version reads the store itself.
            (version == answers.0).then(|| answers.1.entry(key).or_default().clone())
        }; // the lock is released here, before any waiting
        let read = || async {
            self.store_reads.fetch_add(1, Ordering::SeqCst);
            let answer = self.store.poll(cursor).await?;
            Ok((answer.body, answer.news))
        };
        match cell {
            Some(cell) => cell.get_or_init(read).await.clone(),
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
