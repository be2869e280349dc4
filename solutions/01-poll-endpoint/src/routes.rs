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
    let poll = Poll { msg: store.messages() };
    // `no-store`: no browser or proxy cache may keep this answer and hand it
    // back later; every poll must reach the server and see the newest state.
    ([(header::CACHE_CONTROL, "no-store")], Json(poll)).into_response()
}
// ANCHOR_END: get_poll

// ANCHOR: post_poll
/// `POST /poll` with `{"user": "...", "text": "..."}`: store it and answer
/// `201 Created` with the stored message, or a 4xx that stores nothing.
pub async fn post_poll(
    State(store): State<Arc<MemoryStore>>,
    body: Result<Json<NewMessage>, JsonRejection>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let Json(new) = body?; // not JSON, wrong shape, too big: 400/413/415/422
    let valid = new.validate()?; // blank, too long, control characters: 422
    let stored = store.push(valid);
    Ok((StatusCode::CREATED, Json(stored)))
}
// ANCHOR_END: post_poll
