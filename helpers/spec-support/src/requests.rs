//! Sending requests straight into an app's `Router`, as a browser's would
//! arrive, without a network (`tower::ServiceExt::oneshot`).
//!
//! Every request runs in a task of its own, so that a panic in the server
//! (a `todo!()` not yet replaced) becomes a sentence that says where to
//! look, instead of a test that dies without one.

use axum::{
    Router,
    body::{Body, Bytes},
    http::{HeaderMap, Request, header::HeaderName},
    response::Response,
};
use http_body_util::BodyExt;
use limits::rate_limit::CLIENT_ID_HEADER;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use tower::ServiceExt;

/// An answer, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "expected a JSON body, got {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The ids in a poll answer's `msg`, oldest first.
    pub fn ids(&self) -> Vec<u64> {
        self.json()["msg"]
            .as_array()
            .map(|m| m.iter().filter_map(|m| m["id"].as_u64()).collect())
            .unwrap_or_default()
    }
}

/// Send `request` as a client of its own: a new `x-client-id` every time, so
/// exercise 05's rate limit only shows where a test wants it.
pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let fresh = format!("spec-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    send_as(app, request, Some(&fresh)).await
}

/// Send `request` as client `client`; `None` sends no id at all, so the rate
/// limit tells the client by its address.
pub async fn send_as(
    app: &Router,
    mut request: Request<Body>,
    client: Option<&str>,
) -> Reply {
    if let Some(client) = client {
        request.headers_mut().insert(
            CLIENT_ID_HEADER,
            client.parse().expect("a client id is a header value"),
        );
    }
    answer(app, request).await.unwrap_or_else(|panicked| panic!("{panicked}"))
}

/// A request the server panicked on instead of answering.
#[derive(Debug)]
pub struct Panicked {
    /// The request: `POST /poll`.
    pub what: String,
    /// The panic's message.
    pub reason: String,
    /// The file the learner should start in, when the spec knows it.
    pub start_in: Option<String>,
}

impl Panicked {
    /// The same failure, sending the learner to `file` first.
    pub fn start_in(self, file: String) -> Panicked {
        Panicked { start_in: Some(file), ..self }
    }
}

impl std::fmt::Display for Panicked {
    /// `GET /poll did not answer: the server panicked with ...`, and where
    /// to look.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Panicked { what, reason, start_in } = self;
        write!(f, "{what} did not answer: the server panicked with\n  {reason}")?;
        if reason.starts_with("not yet implemented") {
            write!(f, "\nThat is a `todo!()` you have not replaced yet.")?;
        }
        write!(
            f,
            "\nThe line above this message that starts with \"thread ... panicked \
             at\" names the file and line."
        )?;
        match start_in {
            Some(file) => write!(f, " Start in {file}."),
            None => Ok(()),
        }
    }
}

/// Send `request` as it is, and read the answer whole; a panic in the
/// server comes back as [`Panicked`].
pub async fn answer(
    app: &Router,
    request: Request<Body>,
) -> Result<Reply, Panicked> {
    let (parts, body) = respond(app, request).await?.into_parts();
    Ok(Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.expect("the body could not be read").to_bytes(),
    })
}

/// Send `request` as it is, and return the answer with its body unread:
/// for a stream, which a test reads piece by piece. A panic in the server
/// (before the answer began) comes back as [`Panicked`].
pub async fn respond(
    app: &Router,
    request: Request<Body>,
) -> Result<Response, Panicked> {
    let what = format!("{} {}", request.method(), request.uri());
    let app = app.clone();
    match tokio::spawn(async move { app.oneshot(request).await }).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(never)) => match never {},
        Err(panic) => {
            let reason = panic
                .try_into_panic()
                .ok()
                .and_then(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or(p.downcast_ref::<&str>().map(|s| s.to_string()))
                })
                .unwrap_or_else(|| "an unknown panic".to_owned());
            Err(Panicked { what, reason, start_in: None })
        }
    }
}
