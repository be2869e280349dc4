//! Every "no" the server says, in one shape: a 4xx status and a JSON body
//! `{"error": "a sentence that says what to fix"}`.

use crate::message::Invalid;
use crate::{MAX_BODY_BYTES, message::MAX_TEXT_CHARS};
use axum::{
    Json,
    extract::rejection::{JsonRejection, QueryRejection},
    http::{Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::json;

// ANCHOR: api_error
/// An error answer. Handlers return `Result<_, ApiError>` and use `?`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}
// ANCHOR_END: api_error

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: invalid.to_string(),
        }
    }
}

// ANCHOR: rejection
/// axum's `Json` extractor refuses a body before our handler runs; this
/// turns each refusal into a sentence a person can act on.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let message = match &rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "send the message as JSON, with the header \
                 `Content-Type: application/json`"
                    .to_owned()
            }
            JsonRejection::JsonSyntaxError(_) => {
                format!("the body is not valid JSON ({})", detail(&rejection))
            }
            JsonRejection::JsonDataError(_) => {
                let shape = r#"{"user": "...", "text": "..."}"#;
                format!(
                    "the JSON is not a message; send {shape} ({})",
                    detail(&rejection)
                )
            }
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => format!(
                "the body is larger than {MAX_BODY_BYTES} bytes; \
                 a message is at most {MAX_TEXT_CHARS} characters"
            ),
            _ => rejection.body_text(),
        };
        ApiError { status, message }
    }
}

/// serde's own words for what is wrong, e.g. "missing field `text` at line 1
/// column 15", without axum's generic prefix.
fn detail(rejection: &JsonRejection) -> String {
    let text = rejection.body_text();
    match text.split_once(": ") {
        Some((_, detail)) => detail.to_owned(),
        None => text,
    }
}
// ANCHOR_END: rejection

/// axum's `Query` extractor (exercise 05 on) refuses a query it cannot
/// read, such as `?since=1&since=2`: the same shape, in serde's words.
impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        let text = rejection.body_text();
        let detail = text.split_once(": ").map_or(&text[..], |(_, detail)| detail);
        let advice =
            if detail.starts_with("duplicate") { "; send it once" } else { "" };
        let message = format!("the query cannot be read: {detail}{advice}");
        ApiError { status: rejection.status(), message }
    }
}

/// Any path the app does not serve: `404` in the same JSON shape.
pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        message: format!(
            "there is nothing at {method} {}; the chat is at GET /, messages at /poll",
            uri.path()
        ),
    }
}

/// A known path with a method it does not take (`DELETE /poll`): `405`.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: format!("{} does not take {method}", uri.path()),
    }
}
