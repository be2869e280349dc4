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
    // TODO: `200` with every stored message, oldest first, as a `Poll` in
    // JSON, and `Cache-Control: no-store`, so that no cache answers a later
    // poll in the server's place. Rule R1 (s01, s02, s04); chapter 01, «The
    // handlers» and «Why `Cache-Control: no-store`».
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
    // TODO: a body that cannot be read, or a message that does not validate,
    // is answered with its own 4xx and leaves no trace in the store; a good
    // message is stored once and answered `201 Created` with the message as
    // the store returned it, its id and time included. Rules R2, R7, R8 (s03,
    // s09 to s16); chapter 01, «Status codes that say what went wrong». The
    // conversions into `ApiError` are given in error.rs.
    todo!("POST /poll: check the body, validate it, store it, answer 201")
}
// ANCHOR_END: post_poll
