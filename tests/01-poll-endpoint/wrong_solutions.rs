//! Exercise 01's known wrong servers fail its spec, each with a message that
//! names the rule it breaks (the rules are listed at the top of `spec.rs`).
//!
//! Each is the solution's app with one behaviour changed, as a layer around
//! it: what a client sees is exactly what a server with that one mistake
//! would answer. They run in the solution's test target, beside the spec,
//! once: each scenario takes the app it runs on.

use crate::spec;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use poll_endpoint::error::ApiError;
use poll_endpoint::message::{Invalid, NewMessage};
use serde_json::Value;
use spec::{App, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10};
use spec_support::{assert_names, block_on, failure_message};
use std::future::Future;

/// Run `scene` on the wrong server `app`, and return its failure message.
fn failure_of<F: Future<Output = ()>>(app: App, scene: fn(App) -> F) -> String {
    failure_message("a wrong server", || block_on(scene(app)))
}

/// Rewrite each answer's JSON body with `change` (other answers pass as they are).
async fn rewrite_json(
    request: Request,
    next: Next,
    change: fn(&mut Value),
) -> Response {
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let Ok(mut json) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    change(&mut json);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json.to_string()))
}

fn with_json_change(change: fn(&mut Value)) -> Router {
    poll_endpoint::app().layer(middleware::from_fn(
        move |request: Request, next: Next| rewrite_json(request, next, change),
    ))
}

// R1: `Cache-Control: no-store` left out, and the list newest first.

fn without_no_store() -> Router {
    poll_endpoint::app().layer(middleware::from_fn(
        |request: Request, next: Next| async move {
            let mut response = next.run(request).await;
            response.headers_mut().remove(header::CACHE_CONTROL);
            response
        },
    ))
}

fn newest_first() -> Router {
    with_json_change(|json| {
        if let Some(list) = json.get_mut("msg").and_then(Value::as_array_mut) {
            list.reverse();
        }
    })
}

#[test]
fn r1_a_poll_answer_a_cache_may_keep_fails_s02() {
    assert_names(R1, &failure_of(without_no_store, spec::s02));
}

#[test]
fn r1_newest_first_fails_s04() {
    assert_names(R1, &failure_of(newest_first, spec::s04));
}

// R2: a POST answered 201 with the message, which is then not kept.

fn forgets_what_it_stores() -> Router {
    let elsewhere = poll_endpoint::app(); // a store of its own, never read
    poll_endpoint::app().layer(middleware::from_fn(
        move |request: Request, next: Next| {
            let elsewhere = elsewhere.clone();
            async move {
                if request.method() == Method::POST {
                    return tower::ServiceExt::oneshot(elsewhere, request)
                        .await
                        .into_response();
                }
                next.run(request).await
            }
        },
    ))
}

#[test]
fn r2_a_post_that_is_not_kept_fails_s03() {
    assert_names(R2, &failure_of(forgets_what_it_stores, spec::s03));
}

// R3: the message stored as sent, untrimmed (seen as padded names and texts).

fn untrimmed() -> Router {
    with_json_change(|json| {
        let pad = |message: &mut Value| {
            for field in ["user", "text"] {
                if let Some(text) = message.get(field).and_then(Value::as_str) {
                    message[field] = Value::from(format!("  {text} "));
                }
            }
        };
        match json.get_mut("msg").and_then(Value::as_array_mut) {
            Some(list) => list.iter_mut().for_each(pad),
            None => pad(json),
        }
    })
}

#[test]
fn r3_an_untrimmed_store_fails_s05() {
    assert_names(R3, &failure_of(untrimmed, spec::s05));
}

// R3: the limit counted before trimming (a padded name at its limit refused).

/// The `user` and `text` a POST's body holds, if it is JSON.
fn fields(bytes: &[u8]) -> Option<(String, String)> {
    let json: Value = serde_json::from_slice(bytes).ok()?;
    Some((json["user"].as_str()?.to_owned(), json["text"].as_str()?.to_owned()))
}

/// The solution's app, with `refuse` given each POST's fields first: what it
/// answers is answered instead.
fn refusing_first(refuse: fn(&str, &str) -> Option<Response>) -> Router {
    poll_endpoint::app().layer(middleware::from_fn(
        move |request: Request, next: Next| async move {
            if request.method() != Method::POST {
                return next.run(request).await;
            }
            let (parts, body) = request.into_parts();
            let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
            if let Some(refusal) =
                fields(&bytes).and_then(|(user, text)| refuse(&user, &text))
            {
                return refusal;
            }
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        },
    ))
}

fn counts_before_trimming() -> Router {
    refusing_first(|user, _| {
        let max = poll_endpoint::message::MAX_USER_CHARS;
        (user.chars().count() > max).then(|| {
            ApiError::from(Invalid::TooLong { field: "user", max }).into_response()
        })
    })
}

#[test]
fn r3_a_limit_counted_before_trimming_fails_s05() {
    assert_names(R3, &failure_of(counts_before_trimming, spec::s05));
}

// R4: a store that keeps everything.

fn keeps_everything() -> Router {
    // The solution's own pieces, with room for far more than MAX_MESSAGES.
    let store = std::sync::Arc::new(poll_endpoint::store::MemoryStore::new(
        10 * poll_endpoint::MAX_MESSAGES,
    ));
    Router::new()
        .route(
            "/poll",
            axum::routing::get(poll_endpoint::routes::get_poll)
                .post(poll_endpoint::routes::post_poll),
        )
        .with_state(store)
        .layer(axum::extract::DefaultBodyLimit::max(poll_endpoint::MAX_BODY_BYTES))
}

#[test]
fn r4_a_store_without_a_bound_fails_s06() {
    assert_names(R4, &failure_of(keeps_everything, spec::s06));
}

// R5: every message answered with id 1.

fn one_id_for_all() -> Router {
    with_json_change(|json| {
        if json.get("id").is_some() {
            json["id"] = Value::from(1);
        }
    })
}

#[test]
fn r5_ids_that_repeat_fail_s07() {
    assert_names(R5, &failure_of(one_id_for_all, spec::s07));
}

// R6: limits counted in bytes (`.len()`).

fn counts_bytes() -> Router {
    poll_endpoint::app().layer(middleware::from_fn(
        |request: Request, next: Next| async move {
            if request.method() != Method::POST {
                return next.run(request).await;
            }
            let (parts, body) = request.into_parts();
            let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
            let too_long =
                serde_json::from_slice::<Value>(&bytes).ok().is_some_and(|json| {
                    json["user"].as_str().is_some_and(|u| {
                        u.len() > poll_endpoint::message::MAX_USER_CHARS
                    }) || json["text"].as_str().is_some_and(|t| {
                        t.len() > poll_endpoint::message::MAX_TEXT_CHARS
                    })
                });
            if too_long {
                let body = serde_json::json!({ "error": "too long" }).to_string();
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    [(header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response();
            }
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        },
    ))
}

#[test]
fn r6_a_limit_in_bytes_fails_s08() {
    assert_names(R6, &failure_of(counts_bytes, spec::s08));
}

// R7: every refusal a plain 400.

fn always_400() -> Router {
    poll_endpoint::app().layer(middleware::from_fn(
        |request: Request, next: Next| async move {
            let mut response = next.run(request).await;
            if response.status().is_client_error()
                && response.status() != StatusCode::NOT_FOUND
            {
                *response.status_mut() = StatusCode::BAD_REQUEST;
            }
            response
        },
    ))
}

#[test]
fn r7_one_status_for_every_refusal_fails_s10() {
    assert_names(R7, &failure_of(always_400, spec::s10));
}

// R8: a refused message stored anyway.

fn stores_what_it_refuses() -> Router {
    let app = poll_endpoint::app();
    let inner = app.clone();
    app.layer(middleware::from_fn(move |request: Request, next: Next| {
        let inner = inner.clone();
        async move {
            let post = request.method() == Method::POST;
            let response = next.run(request).await;
            if post && response.status().is_client_error() {
                let stray = Request::post("/poll")
                    .header(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )
                    .body(Body::from(
                        r#"{"user": "stray", "text": "stored though refused"}"#,
                    ))
                    .unwrap();
                let _ = tower::ServiceExt::oneshot(inner, stray).await;
            }
            response
        }
    }))
}

#[test]
fn r8_a_refusal_that_stores_fails_s12() {
    assert_names(R8, &failure_of(stores_what_it_refuses, spec::s12));
}

// R9: refusals in plain text.

fn plain_text_refusals() -> Router {
    poll_endpoint::app().layer(middleware::from_fn(
        |request: Request, next: Next| async move {
            let response = next.run(request).await;
            if !response.status().is_client_error() {
                return response;
            }
            let status = response.status();
            (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "refused",
            )
                .into_response()
        },
    ))
}

#[test]
fn r9_plain_text_refusals_fail_s09() {
    assert_names(R9, &failure_of(plain_text_refusals, spec::s09));
}

// R10: a validate that lets a right-to-left override through (it strips it).

fn lets_overrides_through() -> Router {
    poll_endpoint::app().layer(middleware::from_fn(
        |request: Request, next: Next| async move {
            let (parts, body) = request.into_parts();
            let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
            let cleaned = String::from_utf8_lossy(&bytes)
                .replace(['\u{202E}', '\u{200B}', '\u{3164}', '\u{200D}'], "");
            next.run(Request::from_parts(parts, Body::from(cleaned))).await
        },
    ))
}

#[test]
fn r10_a_name_check_that_lets_disguises_through_fails_s15() {
    assert_names(R10, &failure_of(lets_overrides_through, spec::s15));
}

// R10: a validate that looks at the text before it checks the name for
// disguises (each check is right; the order is not).

fn checks_the_text_before_the_disguise() -> Router {
    poll_endpoint::app().layer(middleware::from_fn(
        |request: Request, next: Next| async move {
            let (parts, body) = request.into_parts();
            let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
            let mut json: Value =
                serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let user = json["user"].as_str().unwrap_or_default().to_owned();
            let text = json["text"].as_str().unwrap_or_default().to_owned();
            let cleaned: String = user
                .chars()
                .filter(|c| {
                    poll_endpoint::message::disguised(&c.to_string()).is_none()
                })
                .collect();
            let new = |user: &str| poll_endpoint::message::NewMessage {
                user: user.to_owned(),
                text: text.clone(),
            };
            // The text's own refusal wins when the text is wrong too.
            let text_is_wrong = new("ada").validate().is_err();
            if poll_endpoint::message::disguised(user.trim()).is_some()
                && text_is_wrong
                && !cleaned.trim().is_empty()
            {
                json["user"] = Value::String(cleaned);
                let body = Body::from(json.to_string());
                return next.run(Request::from_parts(parts, body)).await;
            }
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        },
    ))
}

// R9: `text` checked before `user` (each check right, the order not).

fn checks_the_text_first() -> Router {
    refusing_first(|user, text| {
        let new = |user: &str, text: &str| {
            NewMessage { user: user.to_owned(), text: text.to_owned() }.validate()
        };
        match (new(user, "hi"), new("ada", text)) {
            (Err(_), Err(text_is_wrong)) => {
                Some(ApiError::from(text_is_wrong).into_response())
            }
            _ => None,
        }
    })
}

#[test]
fn r9_a_validate_that_checks_the_text_first_fails_s12() {
    assert_names(R9, &failure_of(checks_the_text_first, spec::s12));
}

#[test]
fn r10_a_validate_that_looks_at_the_text_first_fails_s15() {
    let message = failure_of(checks_the_text_before_the_disguise, spec::s15);
    assert_names(R10, &message);
    assert!(message.contains("checked whole before the text"), "{message}");
}
