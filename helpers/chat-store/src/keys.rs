//! The names of one chat's keys in Redis, and which chat a Redis URL names
//! (`redis://host/?chat=room`): given code that exercise 06's store and
//! exercise 07's news use.

use crate::store::StoreError;

/// The chat a Redis URL names when it names none: keys `{chat}:epoch`, ...
pub const DEFAULT_CHAT: &str = "chat";

/// The names of one chat's keys in Redis. All start with the hash tag
/// `{<chat>}`, so they live in one slot of a Redis Cluster, where one script
/// may touch them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// `{chat}`: the hash tag every key starts with.
    pub prefix: String,
    /// `{chat}:epoch`: this life of the chat.
    pub epoch: String,
    /// `{chat}:last`: the newest id.
    pub last: String,
    /// `{chat}:messages`: the newest messages, oldest first.
    pub messages: String,
}

impl Keys {
    /// The keys of the chat named `chat`: `{chat}:epoch`, `{chat}:last`, ...
    pub fn of_chat(chat: &str) -> Keys {
        let prefix = format!("{{{chat}}}");
        let key = |name: &str| format!("{prefix}:{name}");
        let (epoch, last, messages) = (key("epoch"), key("last"), key("messages"));
        Keys { prefix, epoch, last, messages }
    }

    /// The key that remembers the message stored under an idempotency key:
    /// `{chat}:posted:<key>`.
    pub fn posted(&self, key: &str) -> String {
        format!("{}:posted:{key}", self.prefix)
    }

    /// The keys of the chat a Redis URL names with `?chat=<name>` (letters,
    /// digits, `-`, `_`, `.` and `:`), or of [`DEFAULT_CHAT`]. The redis crate
    /// ignores query parameters it does not know, so the URL stays usable as
    /// it is.
    pub fn of_url(url: &str) -> Result<Keys, StoreError> {
        let Some(parsed) = redis::parse_redis_url(url) else {
            return Ok(Keys::of_chat(DEFAULT_CHAT));
        };
        let named = parsed.query_pairs().find(|(name, _)| name == "chat");
        let Some((_, chat)) = named else { return Ok(Keys::of_chat(DEFAULT_CHAT)) };
        let fine = (1..=64).contains(&chat.len())
            && chat
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if !fine {
            return Err(StoreError(format!(
                "`chat` in the Redis URL must be 1 to 64 letters, digits, `-`, `_`, \
                 `.` or `:`; got {chat:?}"
            )));
        }
        Ok(Keys::of_chat(&chat))
    }
}
