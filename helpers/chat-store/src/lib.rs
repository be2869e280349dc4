//! The chat's stores behind one interface: given code that exercises 06 and
//! 07 use and their chapters explain, but the learner does not write.
//!
//! - [`store`]: what the server needs from a store, the [`store::Store`]
//!   trait (chapter 06), which exercise 06's `RedisStore` implements;
//! - [`memory`]: the same on exercise 05's in-memory store, for one
//!   instance without Redis;
//! - [`keys`]: the names of one chat's keys in Redis;
//! - [`answers`]: one answer per version and cursor, shared by every held
//!   request that asks for it (chapter 07, rule R5).

pub mod answers;
pub mod keys;
pub mod memory;
pub mod store;

/// A Redis URL fit to print: its password, if it has one, as `***`.
pub fn redacted(url: &str) -> String {
    match redis::parse_redis_url(url) {
        Some(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Some(parsed) => parsed.to_string(),
        None => "(a URL that is not a Redis URL)".to_owned(),
    }
}

/// Which store `REDIS_URL` asks for, in words, for the start-up line.
pub fn store_choice() -> String {
    match std::env::var("REDIS_URL") {
        Ok(url) => format!("Redis at {}", redacted(&url)),
        Err(_) => {
            "in memory (set REDIS_URL to share the chat through Redis)".to_owned()
        }
    }
}
