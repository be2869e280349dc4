//! Caps on held requests (exercise 07): at most [`MAX_HELD`] on one server
//! and [`MAX_HELD_PER_CLIENT`] for one client. A request takes a [`Slot`]
//! before it is held and gives it back when it is answered or dropped.

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

// ANCHOR: limits
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

/// How long a request turned away at a cap is told to wait.
pub const RETRY_AFTER_NOT_HELD_SECONDS: u64 = 1;

/// Why a request was not held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotHeld {
    /// The server holds as many requests as it may ([`MAX_HELD`] unless
    /// [`Caps::with_max_held`] said otherwise).
    ServerFull { max_held: usize },
    /// This client holds [`MAX_HELD_PER_CLIENT`] already.
    ClientHoldsEnough,
}

/// The held slots taken: in all, and by each client (only clients that
/// hold one are in the map, so it is at most [`MAX_HELD`] long).
#[derive(Debug)]
pub struct Caps {
    slots: Mutex<(usize, HashMap<String, usize>)>,
    max_held: usize,
}

impl Default for Caps {
    fn default() -> Caps {
        Caps::with_max_held(MAX_HELD)
    }
}

impl Caps {
    /// Caps that hold at most `max_held` requests at once instead of
    /// [`MAX_HELD`]: the capacity benchmark lifts the cap to measure what
    /// holding costs.
    pub fn with_max_held(max_held: usize) -> Caps {
        Caps { slots: Mutex::new((0, HashMap::new())), max_held }
    }

    /// A slot for `client` to be held in, if the caps allow: the route takes
    /// one before it holds a request, and keeps it until it answers.
    pub fn slot(&self, client: &str) -> Result<Slot<'_>, NotHeld> {
        self.take(client)?;
        Ok(Slot { caps: self, client: client.to_owned() })
    }

    /// The same slot, owning its share of the caps: for a stream (exercise
    /// 08), which outlives the handler that opened it, in a task of its own.
    pub fn owned_slot(self: &Arc<Caps>, client: &str) -> Result<OwnedSlot, NotHeld> {
        self.take(client)?;
        Ok(OwnedSlot { caps: self.clone(), client: client.to_owned() })
    }

    /// How many slots are taken, by every client together.
    pub fn taken(&self) -> usize {
        self.slots.lock().expect("the slots' lock is poisoned").0
    }

    fn take(&self, client: &str) -> Result<(), NotHeld> {
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
        Ok(())
    }

    fn give_back(&self, client: &str) {
        let mut slots = self.slots.lock().expect("the slots' lock is poisoned");
        slots.0 -= 1;
        if let Some(count) = slots.1.get_mut(client) {
            *count -= 1;
            if *count == 0 {
                slots.1.remove(client);
            }
        }
    }
}

/// A held slot, given back when it is dropped.
pub struct Slot<'a> {
    caps: &'a Caps,
    client: String,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.caps.give_back(&self.client);
    }
}

/// A held slot that owns its share of the caps, given back when dropped.
pub struct OwnedSlot {
    caps: Arc<Caps>,
    client: String,
}

impl Drop for OwnedSlot {
    fn drop(&mut self) {
        self.caps.give_back(&self.client);
    }
}

/// The answer to a long poll past a cap: at once, with a status that says
/// which (the client's backoff honours both) and how long to wait.
impl IntoResponse for NotHeld {
    fn into_response(self) -> Response {
        let (status, error) = match self {
            NotHeld::ServerFull { max_held } => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the server holds {max_held} requests, the most it holds at once"
                ),
            ),
            NotHeld::ClientHoldsEnough => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "this client has {MAX_HELD_PER_CLIENT} requests held already, \
                     the most one client may have"
                ),
            ),
        };
        let wait = RETRY_AFTER_NOT_HELD_SECONDS;
        let body =
            Json(json!({ "error": format!("{error}; try again in {wait} s") }));
        (status, [(header::RETRY_AFTER, wait.to_string())], body).into_response()
    }
}

/// Counts a held request for as long as it lives. It is dropped when the
/// request is answered, and also when the client goes away: hyper drops the
/// handler's future when the connection closes.
pub struct Held<'a>(&'a AtomicUsize);

impl<'a> Held<'a> {
    /// Count one more held request, until the guard is dropped.
    pub fn count(held: &'a AtomicUsize) -> Held<'a> {
        held.fetch_add(1, Ordering::SeqCst);
        Held(held)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
