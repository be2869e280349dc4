//! Sending requests straight into an app's `Router`, for the specs of
//! exercises 05, 06 and 07 (each includes this file with `#[path]`).
//!
//! Every request runs in a task of its own, so that a panic in the server
//! (a `todo!()` not yet replaced) becomes a sentence that says where to
//! look, instead of a test that dies without one.

// Each spec uses only some of these.
#![allow(dead_code)]

use axum::{
    Router,
    body::{Body, Bytes},
    http::{HeaderMap, Request, header::HeaderName},
};
use dont_ddos_yourself::rate_limit::CLIENT_ID_HEADER;
use http_body_util::BodyExt;
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
    let what = format!("{} {}", request.method(), request.uri());
    let app = app.clone();
    let response = match tokio::spawn(async move { app.oneshot(request).await })
        .await
    {
        Ok(Ok(response)) => response,
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
                .unwrap_or_default();
            panic!(
                "{what} did not answer: the server panicked with\n  {reason}\nThe line above that starts with \
                 \"thread ... panicked at\" names the file and line (a `todo!()` you have not replaced yet?)."
            );
        }
    };
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}
