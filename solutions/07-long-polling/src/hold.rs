//! Holding a request until there is news: the heart of long polling.
//!
//! A held request is a future parked on a `watch` receiver and a timer. It
//! holds no lock and no thread: ten thousand of them are ten thousand small
//! state machines that tokio wakes when the version moves.

use crate::news::News;
use axum::body::Bytes;
use chat_store::answers::{Shared, SharedAnswers};
use dont_ddos_yourself::store::Cursor;
use redis_chat::store::{Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// The caps on held requests, given: `helpers/limits/src/held.rs`.
pub use chat_store::answers::MAX_CACHED_ANSWERS;
pub use limits::held::{Caps, Held, MAX_HELD, MAX_HELD_PER_CLIENT, NotHeld};

/// A store, the news about it, and the requests held on it.
pub struct Hub<S> {
    pub store: Arc<S>,
    pub news: News,
    /// The answers already made for the current version, one per cursor.
    pub answers: SharedAnswers,
    /// `true` once the server is shutting down (`stop` sends it): held
    /// requests, and exercise 08's streams, subscribe to it.
    pub stopping: watch::Sender<bool>,
    held: AtomicUsize,
    /// The held slots: at most [`MAX_HELD`], [`MAX_HELD_PER_CLIENT`] each
    /// (shared with exercise 08's streams, which own their slots).
    pub caps: Arc<Caps>,
}

impl<S: Store> Hub<S> {
    pub fn new(store: Arc<S>, news: News) -> Hub<S> {
        let (stopping, _) = watch::channel(false);
        Hub {
            store,
            news,
            answers: SharedAnswers::default(),
            stopping,
            held: AtomicUsize::new(0),
            caps: Arc::new(Caps::default()),
        }
    }

    /// The same hub, holding at most `max_held` requests at once instead of
    /// [`MAX_HELD`]: the capacity benchmark lifts the cap to measure what
    /// holding costs.
    pub fn with_max_held(mut self, max_held: usize) -> Hub<S> {
        self.caps = Arc::new(Caps::with_max_held(max_held));
        self
    }

    /// How many requests are being held right now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
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

    /// The store's answer for `cursor` at `version`: the body, and whether
    /// it has anything the client lacks. Read once per version and cursor,
    /// and shared (given: `helpers/chat-store/src/answers.rs`).
    async fn answer(
        &self,
        version: u64,
        cursor: Option<Cursor>,
    ) -> Result<Shared, StoreError> {
        self.answers.get(&*self.store, version, cursor).await
    }
}
