//! What the instructor can do to the whole room, and the key that lets
//! them.

use serde::{Deserialize, Serialize};
use std::hash::{BuildHasher, Hasher};

// ANCHOR: modes
/// How long "down" tells clients to wait, and "tight" lets one request in.
pub const DOWN_RETRY_AFTER_SECONDS: u32 = 10;
pub const TIGHT_EVERY_SECONDS: u32 = 5;

/// The slowest "slow" may be: longer than the 30 s a long poll is held, and
/// every client's answer would wait for it.
pub const MAX_SLOW_SECONDS: u64 = 30;

/// The highest exercise number a room may be set to.
pub const MAX_EXERCISE: u32 = 99;
// ANCHOR_END: modes

/// How the class server treats the chat's requests (`/poll`, and `/events`'s
/// streams).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Mode {
    /// As exercise 07's server does.
    #[default]
    Normal,
    /// Every answer takes `seconds` longer (a stream: its opening).
    Slow { seconds: u64 },
    /// Every request gets 503 with `Retry-After` or, with `close`, its
    /// connection closed unanswered (the client sees a network error); the
    /// requests held and the streams open then are broken off.
    Down { close: bool },
    /// `percent` of the requests get 500.
    Flaky { percent: u8 },
    /// Each learner gets one request in per [`TIGHT_EVERY_SECONDS`]; the
    /// rest get 429 with `Retry-After`.
    Tight,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Normal => write!(f, "normal"),
            Mode::Slow { seconds } => write!(f, "slow: every answer {seconds} s late"),
            Mode::Down { close: false } => write!(f, "down: 503 with Retry-After"),
            Mode::Down { close: true } => write!(f, "down: connections closed"),
            Mode::Flaky { percent } => write!(f, "flaky: {percent}% of answers are 500"),
            Mode::Tight => write!(f, "tight rate limit: one request per {TIGHT_EVERY_SECONDS} s, then 429"),
        }
    }
}

/// A control request: `POST /class/control` with the key in `x-class-key`
/// and one of these as JSON, e.g. `{"do": "slow", "seconds": 3}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "kebab-case")]
pub enum Control {
    Normal,
    Slow {
        seconds: u64,
    },
    Down {
        close: bool,
    },
    Flaky {
        percent: u8,
    },
    Tight,
    /// A new chat app, and every held request's and stream's connection
    /// broken. In memory, that is a new chat: an empty store and a new
    /// epoch; on Redis, the messages and the epoch stay.
    Restart,
    /// Whether clients told to wait (503, 429) are all told the same
    /// `Retry-After`, or each a different one.
    RetryAfter {
        spread: bool,
    },
    /// A message from the instructor, into the chat.
    Post {
        text: String,
    },
    /// The exercise the room is on: `join` without `--exercise` serves it,
    /// and the dashboard says it.
    Exercise {
        number: u32,
    },
    /// Forget every flag raised so far (before a moment).
    ClearFlags,
    /// Clear a learner's "stuck" or "done".
    ClearSignal {
        name: String,
    },
    /// Take a learner who left off the dashboard.
    Remove {
        name: String,
    },
}

impl Control {
    /// The mode this control sets, if it sets one; an error says what is
    /// out of range.
    pub fn mode(&self) -> Result<Option<Mode>, String> {
        Ok(Some(match *self {
            Control::Normal => Mode::Normal,
            Control::Slow { seconds: 1..=MAX_SLOW_SECONDS } => Mode::Slow { seconds: self.seconds() },
            Control::Slow { .. } => return Err(format!("slow takes 1 to {MAX_SLOW_SECONDS} seconds")),
            Control::Down { close } => Mode::Down { close },
            Control::Flaky { percent: 1..=100 } => Mode::Flaky { percent: self.percent() },
            Control::Flaky { .. } => return Err("flaky takes a share of 1 to 100 percent".to_owned()),
            Control::Tight => Mode::Tight,
            Control::Restart
            | Control::RetryAfter { .. }
            | Control::Post { .. }
            | Control::Exercise { .. }
            | Control::ClearFlags
            | Control::ClearSignal { .. }
            | Control::Remove { .. } => return Ok(None),
        }))
    }

    fn seconds(&self) -> u64 {
        if let Control::Slow { seconds } = self { *seconds } else { 0 }
    }

    fn percent(&self) -> u8 {
        if let Control::Flaky { percent } = self { *percent } else { 0 }
    }
}

/// The instructor's key: 128 random bits, as 32 hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(String);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)") // never in a log
    }
}

impl Key {
    /// A new random key. std's `RandomState` is keyed from the operating
    /// system's random source; two hashes of it give 128 bits no one on the
    /// network can guess.
    pub fn random() -> Key {
        let state = std::collections::hash_map::RandomState::new();
        let half = |n: u64| {
            let mut hasher = state.build_hasher();
            hasher.write_u64(n);
            hasher.finish()
        };
        Key(format!("{:016x}{:016x}", half(1), half(2)))
    }

    /// A key given on the command line (for tests and scripts).
    pub fn given(text: &str) -> Result<Key, String> {
        if text.len() < 16 || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("a key is at least 16 letters and digits".to_owned());
        }
        Ok(Key(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `given` is the key, in time that does not depend on where
    /// they first differ: someone timing wrong guesses learns nothing.
    pub fn matches(&self, given: &str) -> bool {
        let (ours, theirs) = (self.0.as_bytes(), given.as_bytes());
        if ours.len() != theirs.len() {
            return false; // the length is no secret: 32 hex digits
        }
        ours.iter().zip(theirs).fold(0u8, |differ, (a, b)| differ | (a ^ b)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_match_only_themselves() {
        let (a, b) = (Key::random(), Key::random());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(b.as_str()));
        assert!(!a.matches(""));
        assert!(!a.matches(&a.as_str()[..31]));
    }

    #[test]
    fn controls_read_as_json_and_out_of_range_is_refused() {
        let slow: Control = serde_json::from_str(r#"{"do": "slow", "seconds": 3}"#).unwrap();
        assert_eq!(slow.mode(), Ok(Some(Mode::Slow { seconds: 3 })));
        let control: Control = serde_json::from_str(r#"{"do": "slow", "seconds": 0}"#).unwrap();
        assert!(control.mode().is_err());
        let control: Control = serde_json::from_str(r#"{"do": "flaky", "percent": 101}"#).unwrap();
        assert!(control.mode().is_err());
        let control: Control = serde_json::from_str(r#"{"do": "restart"}"#).unwrap();
        assert_eq!(control.mode(), Ok(None));
    }
}
