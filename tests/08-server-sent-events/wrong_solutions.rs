//! Exercise 08's known wrong solutions fail its spec, each with a message
//! that names the rule it breaks (the rules are listed at the top of
//! `spec.rs`). Each breaks one rule and nothing else: a function of the
//! solution with one step changed, a layer around the solution's app, or
//! the solution's `client.js` with one change.
//!
//! They run in the solution's test target, beside the spec, once.

use crate::spec;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::response::sse::Event;
use dont_ddos_yourself::routes::{PollQuery, cursor};
use dont_ddos_yourself::store::Cursor;
use futures_util::StreamExt;
use limits::held::OwnedSlot;
use long_polling::hold::Hub;
use poll_endpoint::error::ApiError;
use server_sent_events::events::{Answer, events};
use server_sent_events::resume::{event_id, resume_from};
use server_sent_events::{CLIENT_JS, RETRY_MIN};
use spec::SpecStore;
use spec::{R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12, R13, R14};
use spec_support::{
    assert_names, block_on, block_on_paused, failure_message, replaced,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

// ---------------------------------------------------------------------------
// Your functions
// ---------------------------------------------------------------------------

/// The URL's cursor first: a reconnecting browser's newer id is ignored.
fn url_first(
    last_event_id: Option<&HeaderValue>,
    query: &PollQuery,
) -> Result<Option<Cursor>, ApiError> {
    match query.since {
        Some(_) => cursor(query),
        None => resume_from(last_event_id, query),
    }
}

#[test]
fn r2_a_resume_that_reads_the_url_first_fails_s01() {
    let message = failure_message("a resume that reads the URL first", || {
        spec::s01(url_first)
    });
    assert_names(R2, &message);
}

/// The right cursor, but a refusal that does not say which header is wrong.
fn refuses_without_naming_the_header(
    last_event_id: Option<&HeaderValue>,
    query: &PollQuery,
) -> Result<Option<Cursor>, ApiError> {
    resume_from(last_event_id, query)
        .map_err(|refused| ApiError { message: "bad request".to_owned(), ..refused })
}

#[test]
fn r2_a_400_that_does_not_name_the_header_fails_s01() {
    let message = failure_message("a 400 that does not name the header", || {
        spec::s01(refuses_without_naming_the_header)
    });
    assert_names(R2, &message);
    assert!(message.contains("names the header"), "{message}");
}

/// Ids without the epoch: `42` instead of `1000-42`.
fn ids_without_the_epoch(
    answer: &Answer,
    cursor: Option<Cursor>,
) -> (Vec<Event>, Option<Cursor>) {
    let (_, after) = events(answer, cursor);
    let mut made = Vec::new();
    if answer.reset {
        made.push(
            Event::default()
                .event("reset")
                .id(event_id(answer.epoch, 0))
                .data(format!("{{\"epoch\":{}}}", answer.epoch)),
        );
    }
    for message in &answer.msg {
        let data = serde_json::to_string(message).expect("a message serializes");
        made.push(Event::default().id(message.id.to_string()).data(data));
    }
    (made, after)
}

#[test]
fn r1_events_whose_id_is_not_the_cursor_fail_s02() {
    let message =
        failure_message("events whose id is the message's id alone", || {
            block_on(spec::s02(ids_without_the_epoch))
        });
    assert_names(R1, &message);
}

/// No reset event: the messages of the new life, as if they followed on.
fn no_reset(
    answer: &Answer,
    cursor: Option<Cursor>,
) -> (Vec<Event>, Option<Cursor>) {
    events(&Answer { reset: false, ..answer.clone() }, cursor)
}

#[test]
fn r4_events_without_a_reset_fail_s02() {
    let message =
        failure_message("events without a reset", || block_on(spec::s02(no_reset)));
    assert_names(R4, &message);
}

/// Every stream told the same retry.
fn the_same_retry(_draw: f64) -> Duration {
    RETRY_MIN
}

#[test]
fn r6_the_same_retry_for_everyone_fails_s03() {
    let message =
        failure_message("the same retry for everyone", || spec::s03(the_same_retry));
    assert_names(R6, &message);
}

// ---------------------------------------------------------------------------
// Feeds: the solution's loop with one step changed
// ---------------------------------------------------------------------------

/// What a wrong feed gets wrong.
#[derive(Clone, Copy, PartialEq)]
enum Mistake {
    /// It never moves its cursor on: every wake-up sends everything again.
    KeepsItsCursor,
    /// It lets go of its slot at once: the caps count nothing.
    DropsItsSlot,
    /// It waits for room in the queue: a reader that stops reading holds it
    /// forever, and its slot.
    WaitsForTheReader,
    /// It does not listen for the server stopping.
    IgnoresTheStop,
    /// It looks at the store, then watches for news: a message stored
    /// during the look moves the version before it watches, and waits for
    /// the next one.
    LooksBeforeItWatches,
    /// When the store fails, it waits for news instead of ending: a stream
    /// held open that can say nothing.
    WaitsOutAStoreFailure,
}

async fn wrong_feed(
    mistake: Mistake,
    hub: Arc<Hub<SpecStore>>,
    mut cursor: Option<Cursor>,
    queue: mpsc::Sender<Event>,
    slot: OwnedSlot,
) {
    let slot = if mistake == Mistake::DropsItsSlot {
        drop(slot);
        None
    } else {
        Some(slot)
    };
    let _slot = slot;
    let mut news = hub.news.subscribe();
    let mut stopping = hub.stopping.subscribe();
    loop {
        if mistake != Mistake::IgnoresTheStop && *stopping.borrow_and_update() {
            return;
        }
        let version = *news.borrow_and_update();
        let (body, new) = match hub.answers.get(&*hub.store, version, cursor).await {
            Ok(looked) => looked,
            Err(_) if mistake == Mistake::WaitsOutAStoreFailure => {
                (Bytes::new(), false)
            }
            Err(_) => return,
        };
        if mistake == Mistake::LooksBeforeItWatches {
            news = hub.news.subscribe(); // the version it sees now counts as seen
        }
        if new {
            let Ok(answer) = serde_json::from_slice::<Answer>(&body) else { return };
            let (batch, next) = events(&answer, cursor);
            for event in batch {
                if mistake == Mistake::WaitsForTheReader {
                    if queue.send(event).await.is_err() {
                        return;
                    }
                } else if queue.try_send(event).is_err() {
                    return;
                }
            }
            if mistake != Mistake::KeepsItsCursor {
                cursor = next;
            }
        }
        let stop = async {
            if mistake == Mistake::IgnoresTheStop {
                std::future::pending::<()>().await;
            }
            let _ = stopping.changed().await;
        };
        tokio::select! {
            _ = news.changed() => {}
            () = stop => return,
            () = queue.closed() => return,
        }
    }
}

macro_rules! feed_with {
    ($mistake:expr) => {
        |hub, cursor, queue, slot| -> Pin<Box<dyn Future<Output = ()> + Send>> {
            Box::pin(wrong_feed($mistake, hub, cursor, queue, slot))
        }
    };
}

#[test]
fn each_wrong_feed_passes_the_scenarios_of_the_other_rules() {
    // Each wrong feed breaks its own rule and no other: the failures above
    // come from the one step changed.
    block_on_paused(spec::s04(feed_with!(Mistake::DropsItsSlot)));
    block_on_paused(spec::s04(feed_with!(Mistake::WaitsForTheReader)));
    block_on_paused(spec::s04(feed_with!(Mistake::IgnoresTheStop)));
    block_on_paused(spec::s09(feed_with!(Mistake::KeepsItsCursor), spec::the_app));
    block_on_paused(spec::s09(
        feed_with!(Mistake::WaitsForTheReader),
        spec::the_app,
    ));
    block_on_paused(spec::s09(feed_with!(Mistake::IgnoresTheStop), spec::the_app));
    block_on_paused(spec::s10(feed_with!(Mistake::DropsItsSlot)));
    block_on_paused(spec::s10(feed_with!(Mistake::IgnoresTheStop)));
    block_on_paused(spec::s11(feed_with!(Mistake::KeepsItsCursor), spec::the_app));
    block_on_paused(spec::s11(feed_with!(Mistake::DropsItsSlot), spec::the_app));
    block_on_paused(spec::s11(
        feed_with!(Mistake::WaitsForTheReader),
        spec::the_app,
    ));
    block_on_paused(spec::s09(
        feed_with!(Mistake::LooksBeforeItWatches),
        spec::the_app,
    ));
    block_on_paused(spec::s10(feed_with!(Mistake::LooksBeforeItWatches)));
    block_on_paused(spec::s04(feed_with!(Mistake::WaitsOutAStoreFailure)));
    block_on_paused(spec::s09(
        feed_with!(Mistake::WaitsOutAStoreFailure),
        spec::the_app,
    ));
    block_on_paused(spec::s10(feed_with!(Mistake::WaitsOutAStoreFailure)));
    block_on_paused(spec::s11(
        feed_with!(Mistake::LooksBeforeItWatches),
        spec::the_app,
    ));
}

#[test]
fn r9_a_feed_that_waits_out_a_store_failure_fails_s11() {
    let message = failure_message("a feed that waits out a store failure", || {
        block_on_paused(spec::s11(
            feed_with!(Mistake::WaitsOutAStoreFailure),
            spec::the_app,
        ))
    });
    assert_names(R9, &message);
}

#[test]
fn r3_a_feed_that_looks_before_it_watches_fails_s04() {
    let message = failure_message("a feed that looks before it watches", || {
        block_on_paused(spec::s04(feed_with!(Mistake::LooksBeforeItWatches)))
    });
    assert_names(R3, &message);
}

#[test]
fn r3_a_feed_that_keeps_its_cursor_fails_s04() {
    let message = failure_message("a feed that never moves its cursor", || {
        block_on_paused(spec::s04(feed_with!(Mistake::KeepsItsCursor)))
    });
    assert_names(R3, &message);
}

#[test]
fn r7_a_feed_that_drops_its_slot_fails_s09() {
    let message = failure_message("a feed that lets go of its slot", || {
        block_on_paused(spec::s09(feed_with!(Mistake::DropsItsSlot), spec::the_app))
    });
    assert_names(R7, &message);
}

#[test]
fn r8_a_feed_that_waits_for_its_reader_fails_s10() {
    let message = failure_message("a feed that waits for its reader", || {
        block_on_paused(spec::s10(feed_with!(Mistake::WaitsForTheReader)))
    });
    assert_names(R8, &message);
}

#[test]
fn r9_a_feed_that_ignores_the_stop_fails_s11() {
    let message = failure_message("a feed that ignores the stop", || {
        block_on_paused(spec::s11(
            feed_with!(Mistake::IgnoresTheStop),
            spec::the_app,
        ))
    });
    assert_names(R9, &message);
}

// ---------------------------------------------------------------------------
// Apps: the solution's, behind a layer that breaks one rule
// ---------------------------------------------------------------------------

/// The solution's app with every stream's body passed through `keep`, frame
/// by frame (each frame is one event as axum's `Sse` writes it).
fn filtering(
    hub: Arc<Hub<SpecStore>>,
    change: fn(Bytes) -> Option<Bytes>,
) -> Router {
    spec::the_app(hub).layer(middleware::from_fn(
        move |request: Request, next: Next| async move {
            let (parts, body) = next.run(request).await.into_parts();
            let frames = body.into_data_stream().filter_map(move |frame| {
                std::future::ready(match frame {
                    Ok(bytes) => change(bytes).map(Ok),
                    Err(error) => Some(Err(error)),
                })
            });
            Response::from_parts(parts, Body::from_stream(frames))
        },
    ))
}

/// No comment lines: an idle stream says nothing.
fn without_keep_alive(hub: Arc<Hub<SpecStore>>) -> Router {
    filtering(hub, |frame| (!frame.starts_with(b":")).then_some(frame))
}

#[test]
fn r5_a_stream_without_keep_alive_fails_s07() {
    let message = failure_message("a stream without keep-alive", || {
        block_on_paused(spec::s07(without_keep_alive))
    });
    assert_names(R5, &message);
}

/// Every stream told `retry: 3000`.
fn one_retry_for_all(hub: Arc<Hub<SpecStore>>) -> Router {
    filtering(hub, |frame| {
        Some(if frame.starts_with(b"retry:") {
            Bytes::from("retry: 3000\n\n")
        } else {
            frame
        })
    })
}

#[test]
fn r6_one_retry_for_every_stream_fails_s08() {
    let message = failure_message("one retry for every stream", || {
        block_on_paused(spec::s08(one_retry_for_all))
    });
    assert_names(R6, &message);
}

/// The stream does not resume: `Last-Event-ID` is dropped on the way in.
fn forgets_the_last_id(hub: Arc<Hub<SpecStore>>) -> Router {
    spec::the_app(hub).layer(middleware::from_fn(
        |mut request: Request, next: Next| async {
            request.headers_mut().remove("last-event-id");
            next.run(request).await
        },
    ))
}

#[test]
fn r3_a_stream_that_forgets_the_last_id_fails_s06() {
    let message = failure_message("a stream that forgets the last id", || {
        block_on_paused(spec::s06(forgets_the_last_id))
    });
    assert_names(R3, &message);
}

// ---------------------------------------------------------------------------
// Clients: the solution's client.js with one change
// ---------------------------------------------------------------------------

fn client(js: &'static str) -> spec_support::ClientSpec {
    spec::client_with(js)
}

#[test]
fn r10_a_page_that_does_not_render_an_event_fails_s12() {
    let js = replaced(
        CLIENT_JS,
        "    cursor = cursorOf(event.lastEventId);\n    renderMessages(shown);\n  };",
        "    cursor = cursorOf(event.lastEventId);\n  };",
    );
    let message = failure_message("a page that does not render an event", || {
        spec::s12(&client(js))
    });
    assert_names(R10, &message);
}

#[test]
fn r11_a_page_that_reopens_at_once_fails_s13() {
    // The common mistake: on any error, close and open again at once, which
    // ignores the server's `retry:` (every reader back in the same instant).
    let js = replaced(
        CLIENT_JS,
        "      showStatus(\"connection lost; reconnecting…\");\n      return;",
        "      source.close();\n      open();\n      return;",
    );
    let message =
        failure_message("a page that reopens at once", || spec::s13(&client(js)));
    assert_names(R11, &message);
}

#[test]
fn r11_a_page_that_says_nothing_while_reconnecting_fails_s13() {
    let js = replaced(
        CLIENT_JS,
        "      showStatus(\"connection lost; reconnecting…\");\n      return;",
        "      return;",
    );
    let message =
        failure_message("a page that says nothing while reconnecting", || {
            spec::s13(&client(js))
        });
    assert_names(R11, &message);
}

#[test]
fn r11_a_page_that_never_clears_its_status_fails_s13() {
    let js = replaced(
        CLIENT_JS,
        "    backoff.succeeded();\n    showStatus(\"\");\n",
        "    backoff.succeeded();\n",
    );
    let message = failure_message("a page that never clears its status", || {
        spec::s13(&client(js))
    });
    assert_names(R11, &message);
}

#[test]
fn r12_a_page_that_ignores_the_reset_fails_s14() {
    let js = replaced(
        CLIENT_JS,
        "    shown = [];\n    cursor = cursorOf",
        "    cursor = cursorOf",
    );
    let message =
        failure_message("a page that ignores the reset", || spec::s14(&client(js)));
    assert_names(R12, &message);
}

#[test]
fn r13_a_page_that_keeps_its_stream_while_hidden_fails_s15() {
    let js = replaced(
        CLIENT_JS,
        "  if (document.hidden) {\n    source?.close();\n    source = null;\n",
        "  if (document.hidden) {\n",
    );
    let message =
        failure_message("a page that keeps its stream while hidden", || {
            spec::s15(&client(js))
        });
    assert_names(R13, &message);
}

#[test]
fn r13_a_page_whose_retry_opens_while_hidden_fails_s15() {
    let js = replaced(
        CLIENT_JS,
        "      retrying = null;\n      if (!document.hidden) open();",
        "      retrying = null;\n      open();",
    );
    let message = failure_message("a page whose retry opens while hidden", || {
        spec::s15(&client(js))
    });
    assert_names(R13, &message);
}

#[test]
fn r14_a_page_that_reopens_a_refused_stream_at_once_fails_s16() {
    let js =
        replaced(CLIENT_JS, "const wait = backoff.failed(0);", "const wait = 0;");
    let message =
        failure_message("a page that reopens a refused stream at once", || {
            spec::s16(&client(js))
        });
    assert_names(R14, &message);
}

#[test]
fn r14_a_page_that_gives_up_on_a_refused_stream_fails_s16() {
    let js = replaced(
        CLIENT_JS,
        "    retrying = setTimeout(() => {\n      retrying = null;\n      if (!document.hidden) open();\n    }, wait);",
        "",
    );
    let message =
        failure_message("a page that gives up on a refused stream", || {
            spec::s16(&client(js))
        });
    assert_names(R14, &message);
}

#[test]
fn r14_a_page_whose_backoff_never_starts_over_fails_s16() {
    // Chapter 04's reset on success, forgotten: after one outage every
    // later refusal waits as if the first had never ended.
    let js = replaced(
        CLIENT_JS,
        "    backoff.succeeded();\n    showStatus(\"\");\n",
        "    showStatus(\"\");\n",
    );
    let message = failure_message("a page whose backoff never starts over", || {
        spec::s16(&client(js))
    });
    assert_names(R14, &message);
}

/// A right client written another way: it listens with `addEventListener`
/// rather than `onmessage`, keeps the newest id it has seen rather than the
/// last event's, and renders only what the merge changed.
#[test]
fn a_right_client_written_another_way_passes_every_client_scenario() {
    let js = replaced(
        CLIENT_JS,
        "  source.onmessage = (event) => {
    shown = merge(shown, [JSON.parse(event.data)]);
    cursor = cursorOf(event.lastEventId);
    renderMessages(shown);
  };",
        "  source.addEventListener(\"message\", (event) => {
    const message = JSON.parse(event.data);
    const next = cursorOf(event.lastEventId);
    if (cursor === null || next.epoch !== cursor.epoch || next.since > cursor.since) {
      cursor = next;
    }
    const before = shown.length;
    shown = merge(shown, [message]);
    if (shown.length !== before || shown.at(-1).id === message.id) renderMessages(shown);
  });",
    );
    let spec = client(js);
    for scenario in [spec::s12, spec::s13, spec::s14, spec::s15, spec::s16] {
        scenario(&spec);
    }
}

#[test]
fn the_solution_passes_every_client_scenario() {
    let spec = client(CLIENT_JS);
    for scenario in [spec::s12, spec::s13, spec::s14, spec::s15, spec::s16] {
        scenario(&spec);
    }
}
