//! Which messages the server accepts: the rules, and the check that
//! applies them in order.

use crate::message::{Message, NewMessage};
use std::fmt;

// ANCHOR: valid_message
/// A message that passed every check. Its fields are private, and
/// [`NewMessage::validate`], in this module, is the only way to make one, so
/// the store can only ever be handed valid messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidMessage {
    user: String,
    text: String,
}
// ANCHOR_END: valid_message

// ANCHOR: rules
/// The longest name, in characters (not bytes: "Zoë" is 3).
pub const MAX_USER_CHARS: usize = 32;
/// The longest message text, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// Why a message was refused. Each becomes `422 Unprocessable Content` with
/// this text as `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// Empty, or nothing but whitespace.
    Blank { field: &'static str },
    /// Longer than its limit, counted in characters after trimming.
    TooLong { field: &'static str, max: usize },
    /// Contains a control character such as NUL, a newline or ESC.
    ControlCharacter { field: &'static str, found: char },
    /// A name with a character that reverses or hides text (see [`disguised`]).
    DisguisedName { found: char },
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::Blank { field } => write!(f, "`{field}` must not be empty"),
            Invalid::TooLong { field, max } => {
                write!(f, "`{field}` is too long: at most {max} characters")
            }
            Invalid::ControlCharacter { field, found } => {
                write!(
                    f,
                    "`{field}` contains the control character U+{:04X}; \
                     send plain one-line text",
                    *found as u32
                )
            }
            Invalid::DisguisedName { found } => {
                write!(
                    f,
                    "`user` contains U+{:04X}, which reverses or hides text; \
                     a name must show as it is",
                    *found as u32
                )
            }
        }
    }
}

/// The first character of `name` that would let it pass for another name,
/// or for none: one that reverses the text after it (U+202E RIGHT-TO-LEFT
/// OVERRIDE turns "ada\u{202E}txt.exe" into what looks like another word),
/// one that shows nothing (U+200B ZERO WIDTH SPACE, U+3164 HANGUL FILLER),
/// or, in a name of nothing but joiners, the first joiner. Joiners are
/// allowed beside other characters: emoji sequences and several scripts
/// need U+200C and U+200D.
pub fn disguised(name: &str) -> Option<char> {
    let hides_or_reorders = |c: char| {
        matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}'
            | '\u{17B4}' | '\u{17B5}' | '\u{180E}' | '\u{200B}' | '\u{200E}'
            | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}' | '\u{2800}' | '\u{3164}' | '\u{FEFF}'
            | '\u{FFA0}' | '\u{E0000}'..='\u{E007F}')
    };
    let joiner = |c: char| matches!(c, '\u{200C}' | '\u{200D}');
    name.chars()
        .find(|&c| hides_or_reorders(c))
        .or_else(|| name.chars().all(joiner).then(|| name.chars().next()).flatten())
}
// ANCHOR_END: rules

impl NewMessage {
    // ANCHOR: validate
    /// Check `user`, then `text`; for each, in this order: trim surrounding
    /// whitespace, refuse it if blank, if too long, if it has a control
    /// character; and the name, if it is [`disguised`]. The first problem
    /// found is the answer.
    pub fn validate(self) -> Result<ValidMessage, Invalid> {
        // TODO: `user` against MAX_USER_CHARS, then `text` against
        // MAX_TEXT_CHARS: each is trimmed, and refused if blank, if longer
        // than its limit in characters (not bytes), or if it holds a control
        // character; the trimmed name also if `disguised` finds a character
        // in it, before `text` is looked at. The first refusal is the answer,
        // as the `Invalid` variant that names its own field; a `ValidMessage`
        // holds the trimmed values. Rules R3, R6, R7, R9, R10 (s05, s08, s12
        // to s15); chapter 01, «Validation, in order».
        todo!(
            "NewMessage::validate: trim, then refuse blank, too long, or control characters"
        )
    }
    // ANCHOR_END: validate
}

impl ValidMessage {
    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Turn it into a stored [`Message`] with the id and time the store gives.
    pub fn into_message(self, id: u64, time: u64) -> Message {
        Message { id, user: self.user, text: self.text, time }
    }
}
