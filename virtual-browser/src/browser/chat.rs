//! What is particular to the course's chat page: its render module (a
//! stand-in that records what the page would show), other users who post
//! to the same server, the user sending from the page's form, and counting
//! the messages in a poll answer for the trace.
//!
//! The engine's share of the chat is only the `__chat` object it installs,
//! through which the stand-in's `render` and `status` reach the browser as
//! `HostCall::Render` and `HostCall::Status`. The rest of the browser
//! reaches this file through two jobs, those two host calls, and
//! `poll_messages`.

use super::{Browser, Page};
use crate::engine::Task;
use crate::trace::Event;

/// The stand-in for the chat page's render module (see `chat_stub.js`).
pub const CHAT_STUB: &str = include_str!("../chat_stub.js");
/// The real render module, whose `sendMessage` the stand-in re-exports.
const REAL_CHAT: &str = chat_page::CHAT_JS;

/// What the chat page shows besides its messages.
#[derive(Default)]
pub(super) struct Chat {
    /// The status line as the page last set it, so only changes are traced.
    last_status: String,
}

impl Page {
    /// A client script served at `name` (e.g. `/client.js`). It may import
    /// `/static/chat.js`, which the virtual browser provides (see `chat_stub.js`).
    pub fn client(name: &str, source: &str) -> Page {
        Page {
            name: name.to_owned(),
            source: source.to_owned(),
            modules: vec![
                ("/static/chat.js".to_owned(), CHAT_STUB.to_owned()),
                ("/static/real-chat.js".to_owned(), REAL_CHAT.to_owned()),
            ],
        }
    }
}

impl Browser {
    /// Another user's post reaches the server now.
    pub(super) fn other_user_posts(&mut self, user: String, text: String) {
        let body = serde_json::json!({ "user": user, "text": text }).to_string();
        let headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            // Each user posts from a page of their own.
            ("x-client-id".to_owned(), format!("user:{user}")),
        ];
        let (status, _, _) = self.call_app("POST", "/poll", &headers, Some(body));
        self.trace.push(self.now, Event::OtherUserPosted { user, text, status });
        // The post may have woken requests the server holds: they answer now.
        self.deliver_answered();
    }

    /// The user sends from the form: the page's `onSubmit` handler runs.
    pub(super) fn user_sends(&mut self, user: String, text: String) {
        self.trace.push(self.now, Event::UserSent { user: user.clone(), text: text.clone() });
        self.run_task(Task::Submit { user, text });
    }

    /// The chat module showed these messages (by id).
    pub(super) fn rendered(&mut self, ids: Vec<u64>) {
        self.trace.push(self.now, Event::Rendered { ids });
    }

    /// The chat module set its status line: traced when it changes.
    pub(super) fn status(&mut self, text: String) {
        if text != self.chat.last_status {
            self.chat.last_status = text.clone();
            self.trace.push(self.now, Event::Status { text });
        }
    }
}

/// How many messages a poll answer's `msg` list holds, if it is one.
pub(super) fn poll_messages(body: &str) -> Option<usize> {
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    json.get("msg")?.as_array().map(Vec::len)
}
