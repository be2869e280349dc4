//! The poll endpoint: `GET /poll` reads, `POST /poll` writes.

use crate::error::ApiError;
use crate::message::{Message, NewMessage};
use crate::store::MemoryStore;
use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use std::sync::Arc;

/// The body of `GET /poll`: `{"msg": [message, ...]}`, oldest first.
#[derive(Debug, Serialize)]
pub struct Poll {
    pub msg: Vec<Message>,
}

// ANCHOR: get_poll
/// `GET /poll`: every stored message, oldest first, as
/// `200 {"msg": [...]}` with `Cache-Control: no-store`.
pub async fn get_poll(State(store): State<Arc<MemoryStore>>) -> Response {
    // TODO: build a `Poll` from `store.messages()` and answer it as JSON.
    // Also send the header `Cache-Control: no-store`: a tuple
    // `([(header::CACHE_CONTROL, "no-store")], Json(poll))` is one; finish
    // with `.into_response()`.
    todo!("GET /poll: answer 200 with every stored message as {{\"msg\": [...]}}")
}
// ANCHOR_END: get_poll

// ANCHOR: post_poll
/// `POST /poll` with `{"user": "...", "text": "..."}`: store it and answer
/// `201 Created` with the stored message, or a 4xx that stores nothing.
pub async fn post_poll(
    State(store): State<Arc<MemoryStore>>,
    body: Result<Json<NewMessage>, JsonRejection>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    // TODO:
    //   1. `body` is `Err` when it was not JSON, had the wrong Content-Type or
    //      shape, or was too big. `?` turns that into the right 4xx (see
    //      `From<JsonRejection> for ApiError` in error.rs).
    //   2. `validate()` the message; `?` again turns `Invalid` into a 422.
    //   3. Only then push it into the store, and answer 201 Created with the
    //      stored message: `Ok((StatusCode::CREATED, Json(stored)))`.
    todo!("POST /poll: check the body, validate it, store it, answer 201")
}
// ANCHOR_END: post_poll
