//! Exercise 01: the poll endpoint.
//!
//! A chat server in six small modules:
//!
//! - [`message`]: what a message is;
//! - [`validate`]: which messages we accept;
//! - [`store`]: the last [`MAX_MESSAGES`] messages, kept in memory;
//! - [`routes`]: `GET /poll` and `POST /poll`;
//! - [`error`]: every "no" the server says, as `{"error": "..."}`;
//! - `main.rs`: serves [`app`] on http://127.0.0.1:3000.

pub mod error;
pub mod message;
pub mod routes;
pub mod store;
pub mod validate;

use axum::{Router, extract::DefaultBodyLimit, routing::get};
use std::sync::Arc;
use store::MemoryStore;

// ANCHOR: limits
/// How many messages the server keeps. Older ones fall off the front.
///
/// Every `GET /poll` sends all of them, so this bounds both the memory the
/// store can take and the size of every poll answer, however long the chat
/// runs. The largest message, 32 + 500 characters of 4 bytes each in UTF-8
/// with the largest id and time, serializes to 2,196 bytes, so an answer is
/// at most 109,859 bytes (about 107 KiB); a chat of short lines is a few KB.
pub const MAX_MESSAGES: usize = 50;

/// The largest request body `POST /poll` reads, in bytes. A bigger one gets
/// `413 Payload Too Large` before any of it is parsed.
///
/// A message whose fields are within their limits as sent, 32 + 500
/// characters, is at most 6,405 bytes as a body, even written entirely as
/// JSON escapes (`\ud83d\ude00` is 12 bytes for one emoji), so 8 KiB never
/// turns it away. The limit counts the body as sent: whitespace around the
/// fields (trimmed only after it is read) and fields the server ignores
/// count too, and can take a body past it.
pub const MAX_BODY_BYTES: usize = 8 * 1024;
// ANCHOR_END: limits

/// The exercise's own client: given complete in this exercise.
pub const CLIENT_JS: &str = include_str!("../client.js");

// ANCHOR: app
/// The whole app: the poll endpoint, the chat page, and clear errors for
/// everything else. Each call makes a new, empty store.
pub fn app() -> Router {
    app_with_client(CLIENT_JS)
}

/// The same app serving another `/client.js`: the later exercises keep this
/// server and change only the client.
pub fn app_with_client(client_js: &'static str) -> Router {
    let store = Arc::new(MemoryStore::new(MAX_MESSAGES));
    Router::new()
        .route("/poll", get(routes::get_poll).post(routes::post_poll))
        .route(
            "/client.js",
            get(move || async move { chat_page::javascript(client_js) }),
        )
        .merge(chat_page::routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(store)
}
// ANCHOR_END: app
