//! What a chat message is, and which ones the server accepts.

use serde::{Deserialize, Deserializer, Serialize, de::Error as _};
use serde_json::{Map, Value};

/// Which messages the server accepts: `validate.rs`.
pub use crate::validate::{
    Invalid, MAX_TEXT_CHARS, MAX_USER_CHARS, ValidMessage, disguised,
};

// ANCHOR: message
/// A stored message, as `GET /poll` and `POST /poll` send it:
/// `{"id": 1, "user": "ada", "text": "hello", "time": 1764421200000}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// 1, 2, 3, ...: given by the server, never reused, strictly increasing.
    /// Later exercises use it as a cursor ("everything after id 41").
    pub id: u64,
    pub user: String,
    pub text: String,
    /// When the server stored it, in milliseconds since 1970-01-01 UTC:
    /// the same unit as JavaScript's `Date.now()`.
    pub time: u64,
}

/// What a client sends to `POST /poll`: `{"user": "...", "text": "..."}`.
/// Only its shape is checked yet (see the `Deserialize` impl below);
/// [`NewMessage::validate`] checks the content.
#[derive(Debug)]
pub struct NewMessage {
    pub user: String,
    pub text: String,
}

// ANCHOR_END: message

// ANCHOR: deserialize
/// Read a message from a JSON *object* only. `#[derive(Deserialize)]` would
/// also accept a list in field order (`["ada", "hi"]`), which no client of
/// ours sends on purpose; and writing the check by hand lets the error say
/// which field is wrong, in our words. Other fields are ignored.
impl<'de> Deserialize<'de> for NewMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut object = Map::deserialize(deserializer)?;
        let mut string = |field: &str| match object.remove(field) {
            Some(Value::String(value)) => Ok(value),
            Some(other) => Err(D::Error::custom(format!(
                "`{field}` must be a string, not {}",
                kind(&other)
            ))),
            None => Err(D::Error::custom(format!("`{field}` is missing"))),
        };
        Ok(NewMessage { user: string("user")?, text: string("text")? })
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
// ANCHOR_END: deserialize
