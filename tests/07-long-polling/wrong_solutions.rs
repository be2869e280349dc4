//! Exercise 07's known wrong solutions fail its spec, each with a message
//! that names the rule it breaks (the rules are listed at the top of
//! `spec.rs`). Each breaks one rule and nothing else: the clients are the
//! solution's `client.js` with one change, and the wrong hub is the
//! solution's `Hub::wait` with two steps swapped.
//!
//! The spec is included as it is, so its own tests run here too, against
//! the solution (which the root package depends on as `long_polling`).

#[path = "spec.rs"]
mod spec;

use axum::body::Bytes;
use dont_ddos_yourself::store::Cursor;
use long_polling::news::News;
use redis_chat::store::{Store, StoreError};
use spec::{AfterRead, StoresWhileRead};
use std::sync::Arc;
use std::time::Duration;

/// Run `scene` and return its panic message; fail if it passed.
fn failure_of(what: &str, scene: impl FnOnce() + std::panic::UnwindSafe) -> String {
    match std::panic::catch_unwind(scene) {
        Ok(()) => panic!(
            "{what} passed the spec's scene, but it breaks a rule the spec must catch"
        ),
        Err(panic) => panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default(),
    }
}

#[track_caller]
fn assert_names(rule: &str, message: &str) {
    assert!(
        message.contains(rule),
        "the failure should name {rule}, but says:\n{message}"
    );
}

// ---------------------------------------------------------------------------
// R4: subscribe before you look
// ---------------------------------------------------------------------------

/// The solution's hub with the one mistake the chapter warns about: it looks
/// at the store first and subscribes to the news afterwards, so a message
/// stored in between wakes nobody.
struct LooksThenSubscribes {
    store: Arc<StoresWhileRead>,
    news: News,
}

impl LooksThenSubscribes {
    async fn wait(
        &self,
        cursor: Option<Cursor>,
        wait: Duration,
    ) -> Result<Bytes, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let answer = self.store.poll(cursor).await?; // looks first...
            if answer.news {
                return Ok(answer.body);
            }
            let mut news = self.news.subscribe(); // ...and subscribes too late
            news.borrow_and_update();
            tokio::select! {
                _ = news.changed() => {}
                () = tokio::time::sleep_until(deadline) => return Ok(answer.body),
            }
        }
    }
}

#[test]
fn r4_a_hub_that_looks_before_it_subscribes_fails_s09() {
    let message = failure_of("a hub that looks before it subscribes", || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(spec::a_message_in_the_gap_is_not_lost(
            |store| {
                let hub = Arc::new(LooksThenSubscribes {
                    store: store.clone(),
                    news: News::local(),
                });
                let weak = Arc::downgrade(&hub);
                let tell: AfterRead = Box::new(move || {
                    let hub = weak.upgrade();
                    Box::pin(async move {
                        if let Some(hub) = hub {
                            hub.news.tell().await;
                        }
                    })
                });
                let _ = store.after_first_read.set(tell);
                hub
            },
            |hub, cursor, wait| async move { hub.wait(cursor, wait).await },
        ));
    });
    assert_names("R4 subscribe before you look", &message);
}

// ---------------------------------------------------------------------------
// R9 to R12: the client, one change at a time
// ---------------------------------------------------------------------------

/// The solution's client with `from` replaced by `to` (which must be there).
fn client_with(from: &str, to: &str) -> &'static str {
    assert!(
        long_polling::CLIENT_JS.contains(from),
        "the solution's client.js no longer has {from:?}"
    );
    Box::leak(long_polling::CLIENT_JS.replacen(from, to, 1).into_boxed_str())
}

#[test]
fn r9_a_client_that_never_asks_the_server_to_wait_fails_s10() {
    // Interval polling in disguise: no `wait`, so every answer comes at once.
    let client = client_with("wait=${WAIT_SECONDS}", "");
    let message = failure_of("a client without `wait`", || {
        spec::s10(&spec::client_with(client))
    });
    assert_names("R9", &message);
}

#[test]
fn r10_a_client_that_waits_3_s_after_an_empty_answer_fails_s11() {
    let client = client_with(
        "backoff.succeeded(); // reset",
        "await sleep(3000); backoff.succeeded(); // reset",
    );
    let message = failure_of("a client that pauses after each answer", || {
        spec::s11(&spec::client_with(client))
    });
    assert_names("R10 after an empty answer, ask again at once", &message);
}

#[test]
fn r11_a_client_that_retries_at_once_forever_fails_s12() {
    let client = client_with(
        "const wait = backoff.failed(error.retryAfterMs ?? 0);",
        "const wait = 0;",
    );
    let message = failure_of("a client without backoff", || {
        spec::s12(&spec::client_with(client))
    });
    assert_names("R11 a broken held request is retried with backoff", &message);
}

#[test]
fn r12_a_client_that_keeps_its_request_while_hidden_fails_s13() {
    let client =
        client_with("if (document.hidden && waiting !== null) waiting.abort();", "");
    let message = failure_of("a client that holds on while hidden", || {
        spec::s13(&spec::client_with(client))
    });
    assert_names("R12 a hidden page lets go", &message);
}

/// The scenes themselves are not the problem: the solution passes each.
#[test]
fn the_solution_passes_each_client_scene() {
    let solution = spec::client_with(long_polling::CLIENT_JS);
    spec::s10(&solution);
    spec::s11(&solution);
    spec::s12(&solution);
    spec::s13(&solution);
}
