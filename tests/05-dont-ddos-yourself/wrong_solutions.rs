//! Exercise 05's known wrong solutions fail its spec, each with a message
//! that names the rule it breaks (the rules are listed at the top of
//! `spec.rs`). Each is the solution with one rule broken and nothing else:
//!
//! - server variants: the solution's app with one step of `GET /poll`
//!   changed (R1 to R5, R16), or one thing done to the rate limit (R6, R14, R17);
//! - client variants: the solution's `cursor.js` or `client.js` with one
//!   change, derived here from the solution's file (R7 to R13, R15, R18).
//!
//! Each runs the spec's own scenario, through the same function its test
//! calls. A cursor written another way passes every client scenario. They
//! run in the solution's test target, beside the spec, once.
//! `--nocapture` shows each failure message.

use crate::spec;

use axum::{
    Router,
    body::Bytes,
    extract::{ConnectInfo, DefaultBodyLimit, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::{MethodRouter, get},
};
use dont_ddos_yourself::rate_limit::{self, CLIENT_ID_HEADER, RateLimit};
use dont_ddos_yourself::routes::{self, PollQuery};
use dont_ddos_yourself::store::{CachedStore, Cursor, View};
use dont_ddos_yourself::{CLIENT_JS, CURSOR_JS, MAX_BODY_BYTES, app_with};
use governor::clock::FakeRelativeClock;
use poll_endpoint::error::ApiError;
use spec::{
    R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12, R13, R14, R15, R16, R17, R18,
    Server,
};
use spec_support::{assert_names, block_on, failure_message, replaced};
use std::net::SocketAddr;
use std::sync::Arc;
use virtual_browser::known_clients;

// ---------------------------------------------------------------------------
// Server variants: the solution's app with one step changed
// ---------------------------------------------------------------------------

/// The solution's `app_with`, with `poll` answering `GET /poll`.
fn app_answering(
    store: Arc<CachedStore>,
    clock: FakeRelativeClock,
    poll: MethodRouter<Arc<CachedStore>>,
) -> Router {
    let limit = Arc::new(RateLimit::new(clock));
    let poll = Router::new()
        .route("/poll", poll.post(routes::post_poll))
        .route_layer(middleware::from_fn_with_state(limit, rate_limit::limit))
        .with_state(store);
    poll.merge(dont_ddos_yourself::page())
        .fallback(poll_endpoint::error::not_found)
        .method_not_allowed_fallback(poll_endpoint::error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// What takes the place of `View::poll`.
type Body = fn(&View<'_>, Option<Cursor>) -> Bytes;
/// What takes the place of `routes::matches`.
type TagMatches = fn(&HeaderMap, &HeaderValue) -> bool;

/// The solution's `get_poll` after the cursor is read, with `body` in the
/// place of `view.poll` and `tag_matches` in the place of `routes::matches`.
fn answer(
    store: &CachedStore,
    cursor: Option<Cursor>,
    headers: &HeaderMap,
    body: Body,
    tag_matches: TagMatches,
) -> Response {
    let view = store.read();
    let tag = view.etag();
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if tag_matches(headers, &tag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag), cache])
            .into_response();
    }
    let json = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    ([json, (header::ETAG, tag), cache], body(&view, cursor)).into_response()
}

/// `GET /poll` as the solution answers it, but for `body` and `tag_matches`.
fn get_poll_with(
    body: Body,
    tag_matches: TagMatches,
) -> MethodRouter<Arc<CachedStore>> {
    get(
        move |State(store): State<Arc<CachedStore>>,
              Query(query): Query<PollQuery>,
              headers: HeaderMap| async move {
            let cursor = routes::cursor(&query)?;
            Ok::<_, ApiError>(answer(&store, cursor, &headers, body, tag_matches))
        },
    )
}

/// R1: `poll` that answers every message, whatever the cursor.
fn ignores_since(store: Arc<CachedStore>, clock: FakeRelativeClock) -> Router {
    let body = |view: &View<'_>, _: Option<Cursor>| view.poll(None);
    app_answering(store, clock, get_poll_with(body, routes::matches))
}

#[test]
fn r1_a_poll_that_ignores_since_fails_s01() {
    let message = failure_message("a poll that ignores `since`", || {
        block_on(spec::s01(Server::on(ignores_since)));
    });
    assert_names(R1, &message);
}

/// R2: `cursor` with `str::parse` alone, which takes `+1` for 1.
fn parses_with_parse_alone(
    store: Arc<CachedStore>,
    clock: FakeRelativeClock,
) -> Router {
    #[derive(serde::Deserialize)]
    struct Raw {
        since: Option<String>,
        epoch: Option<String>,
    }
    fn number(name: &str, value: &str) -> Result<u64, ApiError> {
        value.parse().map_err(|_| ApiError {
            status: StatusCode::BAD_REQUEST,
            message: format!("`{name}` must be a whole number; got {value:?}"),
        })
    }
    let poll = get(
        |State(store): State<Arc<CachedStore>>,
         Query(raw): Query<Raw>,
         headers: HeaderMap| async move {
            let cursor = match &raw.since {
                None => None,
                Some(since) => Some(Cursor {
                    since: number("since", since)?,
                    epoch: raw
                        .epoch
                        .as_deref()
                        .map(|e| number("epoch", e))
                        .transpose()?,
                }),
            };
            let body = |view: &View<'_>, cursor| view.poll(cursor);
            Ok::<_, ApiError>(answer(
                &store,
                cursor,
                &headers,
                body,
                routes::matches,
            ))
        },
    );
    app_answering(store, clock, poll)
}

#[test]
fn r2_a_cursor_read_with_parse_alone_fails_s02() {
    let message = failure_message("a cursor read with `parse` alone", || {
        block_on(spec::s02(Server::on(parses_with_parse_alone)));
    });
    assert_names(R2, &message);
    assert!(message.contains("since=%2B1"), "{message}");
}

/// R2: an `epoch` read and refused though there is no `since`.
fn reads_epoch_without_since(
    store: Arc<CachedStore>,
    clock: FakeRelativeClock,
) -> Router {
    app_with(store, clock).layer(middleware::from_fn(
        |request: Request, next: middleware::Next| async move {
            let query = request.uri().query().unwrap_or_default().to_owned();
            let pairs: Vec<&str> = query.split('&').collect();
            let bad_epoch = pairs
                .iter()
                .filter_map(|p| p.strip_prefix("epoch="))
                .any(|v| v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()));
            if bad_epoch && !pairs.iter().any(|p| p.starts_with("since=")) {
                let refusal = ApiError {
                    status: StatusCode::BAD_REQUEST,
                    message: "`epoch` must be a whole number".into(),
                };
                return refusal.into_response();
            }
            next.run(request).await
        },
    ))
}

#[test]
fn r2_a_cursor_that_reads_epoch_without_since_fails_s02() {
    let message = failure_message("a cursor that reads epoch without since", || {
        block_on(spec::s02(Server::on(reads_epoch_without_since)));
    });
    assert_names(R2, &message);
    assert!(message.contains("?epoch=x has no `since`"), "{message}");
}

/// R3: `poll` that never looks at the cursor's epoch.
fn ignores_epoch(store: Arc<CachedStore>, clock: FakeRelativeClock) -> Router {
    let body = |view: &View<'_>, cursor: Option<Cursor>| {
        view.poll(cursor.map(|cursor| Cursor { epoch: None, ..cursor }))
    };
    app_answering(store, clock, get_poll_with(body, routes::matches))
}

#[test]
fn r3_a_poll_that_ignores_the_epoch_fails_s03() {
    let message = failure_message("a poll that ignores the epoch", || {
        block_on(spec::s03(Server::on(ignores_epoch)));
    });
    assert_names(R3, &message);
    assert!(message.contains("epoch=999"), "{message}");
}

/// R4: `poll` that builds the full answer again for every client without
/// a cursor, instead of handing out the cached `everything`.
fn serializes_every_time(
    store: Arc<CachedStore>,
    clock: FakeRelativeClock,
) -> Router {
    let body = |view: &View<'_>, cursor: Option<Cursor>| {
        view.poll(Some(cursor.unwrap_or(Cursor { since: 0, epoch: None })))
    };
    app_answering(store, clock, get_poll_with(body, routes::matches))
}

#[test]
fn r4_a_poll_that_serializes_every_answer_fails_s04() {
    let message = failure_message("a poll that serializes every answer", || {
        block_on(spec::s04(Server::on(serializes_every_time)));
    });
    assert_names(R4, &message);
}

/// R5: `If-None-Match` compared as one whole string: no weak tags, lists or `*`.
fn compares_tags_as_strings(
    store: Arc<CachedStore>,
    clock: FakeRelativeClock,
) -> Router {
    let matches = |headers: &HeaderMap, etag: &HeaderValue| {
        headers.get(header::IF_NONE_MATCH) == Some(etag)
    };
    let body = |view: &View<'_>, cursor| view.poll(cursor);
    app_answering(store, clock, get_poll_with(body, matches))
}

#[test]
fn r5_tags_compared_as_whole_strings_fail_s05() {
    let message = failure_message("tags compared as whole strings", || {
        block_on(spec::s05(Server::on(compares_tags_as_strings)));
    });
    assert_names(R5, &message);
    assert!(message.contains("W/"), "{message}");
}

/// R5: only the first `If-None-Match` header read (`get`, not `get_all`).
fn reads_the_first_header_only(
    store: Arc<CachedStore>,
    clock: FakeRelativeClock,
) -> Router {
    let matches = |headers: &HeaderMap, etag: &HeaderValue| {
        let mut first = HeaderMap::new();
        if let Some(value) = headers.get(header::IF_NONE_MATCH) {
            first.insert(header::IF_NONE_MATCH, value.clone());
        }
        routes::matches(&first, etag)
    };
    let body = |view: &View<'_>, cursor| view.poll(cursor);
    app_answering(store, clock, get_poll_with(body, matches))
}

#[test]
fn r5_a_server_that_reads_the_first_if_none_match_only_fails_s05() {
    let message = failure_message("a server that reads one If-None-Match", || {
        block_on(spec::s05(Server::on(reads_the_first_header_only)));
    });
    assert_names(R5, &message);
    assert!(message.contains("two `If-None-Match` headers"), "{message}");
}

/// R5: a `304` without `Cache-Control` (the header set on the 200 only).
fn no_cache_control_on_304s(
    store: Arc<CachedStore>,
    clock: FakeRelativeClock,
) -> Router {
    app_with(store, clock).layer(middleware::map_response(
        |mut response: Response| async move {
            if response.status() == StatusCode::NOT_MODIFIED {
                response.headers_mut().remove(header::CACHE_CONTROL);
            }
            response
        },
    ))
}

#[test]
fn r5_a_304_without_cache_control_fails_s05() {
    let message = failure_message("a 304 without Cache-Control", || {
        block_on(spec::s05(Server::on(no_cache_control_on_304s)));
    });
    assert_names(R5, &message);
    assert!(message.contains("a `304` carries"), "{message}");
}

/// R16: the tag from one view of the store and the body from another.
fn two_views(store: Arc<CachedStore>, clock: FakeRelativeClock) -> Router {
    let poll = get(
        |State(store): State<Arc<CachedStore>>,
         Query(query): Query<PollQuery>,
         headers: HeaderMap| async move {
            let cursor = routes::cursor(&query)?;
            let tag = store.read().etag();
            let cache =
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            if routes::matches(&headers, &tag) {
                let headers = [(header::ETAG, tag), cache];
                return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
            }
            let body = store.read().poll(cursor); // a second look
            let json =
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok::<_, ApiError>(
                ([json, (header::ETAG, tag), cache], body).into_response(),
            )
        },
    );
    app_answering(store, clock, poll)
}

#[test]
fn r16_a_tag_and_a_body_from_two_views_fail_s08() {
    let message = failure_message("a tag and a body from two views", || {
        block_on(spec::s08(Server::on(two_views)));
    });
    assert_names(R16, &message);
}

/// R6: one allowance for every client: the limit never sees who asks.
fn one_bucket_for_all(store: Arc<CachedStore>, clock: FakeRelativeClock) -> Router {
    app_with(store, clock).layer(middleware::map_request(
        |mut request: Request| async move {
            request.headers_mut().remove(CLIENT_ID_HEADER);
            request.extensions_mut().remove::<ConnectInfo<SocketAddr>>();
            request
        },
    ))
}

#[test]
fn r6_one_allowance_for_every_client_fails_s06() {
    let message = failure_message("one allowance for every client", || {
        block_on(spec::s06(Server::on(one_bucket_for_all)));
    });
    assert_names(R6, &message);
    assert!(message.contains("`grace`"), "{message}");
}

/// R6: a 429 that does not say when to come back.
fn no_retry_after(store: Arc<CachedStore>, clock: FakeRelativeClock) -> Router {
    app_with(store, clock).layer(middleware::map_response(
        |mut response: Response| async move {
            response.headers_mut().remove(header::RETRY_AFTER);
            response
        },
    ))
}

#[test]
fn r6_a_429_without_retry_after_fails_s06() {
    let message = failure_message("a 429 without Retry-After", || {
        block_on(spec::s06(Server::on(no_retry_after)));
    });
    assert_names(R6, &message);
    assert!(message.contains("Retry-After"), "{message}");
}

/// R14: the address counted only for a client that sends no id (what the
/// limit did before it had a ceiling): a page that names itself anew on
/// every request is never stopped.
fn address_only_without_an_id(
    store: Arc<CachedStore>,
    clock: FakeRelativeClock,
) -> Router {
    app_with(store, clock).layer(middleware::map_request(
        |mut request: Request| async move {
            if request.headers().contains_key(CLIENT_ID_HEADER) {
                request.extensions_mut().remove::<ConnectInfo<SocketAddr>>();
            }
            request
        },
    ))
}

#[test]
fn r14_a_limit_without_an_address_ceiling_fails_s07() {
    let message = failure_message("a limit without an address ceiling", || {
        block_on(spec::s07(Server::on(address_only_without_an_id)));
    });
    assert_names(R14, &message);
    assert!(message.contains("should answer 429"), "{message}");
}

/// R14: every request from no known address counted as one address, so
/// that every in-process client shares one ceiling.
fn unknown_is_one_address(
    store: Arc<CachedStore>,
    clock: FakeRelativeClock,
) -> Router {
    app_with(store, clock).layer(middleware::map_request(
        |mut request: Request| async move {
            if request.extensions().get::<ConnectInfo<SocketAddr>>().is_none() {
                let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
                request.extensions_mut().insert(ConnectInfo(nowhere));
            }
            request
        },
    ))
}

#[test]
fn r14_one_ceiling_for_every_unknown_address_fails_s07() {
    let message = failure_message("one ceiling for every unknown address", || {
        block_on(spec::s07(Server::on(unknown_is_one_address)));
    });
    assert_names(R14, &message);
    assert!(message.contains("no known address"), "{message}");
}

/// R17: a limiter whose clock never moves. Every client it has seen still
/// looks busy to it, so its sweep forgets no one: the same as a limiter
/// that never sweeps, and a map that grows with every client there ever was.
#[test]
fn r17_a_limiter_that_never_forgets_fails_s09() {
    let message = failure_message("a limiter that never forgets", || {
        let stands_still = FakeRelativeClock::default();
        let limit = Arc::new(RateLimit::new(stands_still));
        block_on(spec::s09(limit, FakeRelativeClock::default()));
    });
    assert_names(R17, &message);
}

// ---------------------------------------------------------------------------
// Client variants: the solution's cursor.js or client.js with one change
// ---------------------------------------------------------------------------

/// R7: `pollPath` sends `since` but not `epoch`, so after a server restart
/// the server cannot tell an old cursor from a new one.
fn cursor_without_epoch() -> &'static str {
    replaced(
        CURSOR_JS,
        "return `/poll?since=${cursor.since}&epoch=${cursor.epoch}`;",
        "return `/poll?since=${cursor.since}`;",
    )
}

/// R8: `merge` appends what came to what is shown and sorts it, so a
/// message that comes twice is shown twice.
fn merge_keeps_duplicates() -> &'static str {
    replaced(
        CURSOR_JS,
        "  const byId = new Map(shown.map((message) => [message.id, message]));\n  \
         for (const message of incoming) byId.set(message.id, message);\n  \
         return [...byId.values()]",
        "  return [...shown, ...incoming]",
    )
}

/// R9: the page draws the messages after every answer, so an idle page
/// redraws the same list every 3 s.
fn draws_every_answer() -> &'static str {
    replaced(
        CLIENT_JS,
        "  if (answer.reset || answer.msg.length > 0) {\n    shown = next;\n    \
         renderMessages(shown); // only when something changed\n  }",
        "  shown = next;\n  renderMessages(shown); // every time",
    )
}

/// R10: `pollPath` adds the time to every URL ("so no cache can answer
/// with something stale"), so no two polls ask for the same URL and the
/// browser's cache can never revalidate one into a 304.
fn cursor_busts_the_cache() -> &'static str {
    replaced(
        CURSOR_JS,
        "&epoch=${cursor.epoch}`;",
        "&epoch=${cursor.epoch}&t=${Date.now()}`;",
    )
}

/// R10: one URL, but a `fetch` that skips the HTTP cache (`cache: mode`).
fn polls_with_cache(mode: &str) -> &'static str {
    replaced(
        CLIENT_JS,
        "fetch(pollPath(cursor), { headers })",
        &format!("fetch(pollPath(cursor), {{ headers, cache: \"{mode}\" }})"),
    )
}

/// R11: a 429 is a failure like any other, and its Retry-After is ignored,
/// so the page asks again before the server said it may.
fn ignores_retry_after() -> &'static str {
    replaced(
        CLIENT_JS,
        "const wait = asks ? retryAfterMs(response.headers.get(\"retry-after\")) : 0;",
        "const wait = 0;",
    )
}

/// R12: the page merges every answer into what it shows, even one that
/// says `reset: true`, so after a server restart it keeps messages the new
/// server never had.
fn ignores_reset() -> &'static str {
    replaced(
        CLIENT_JS,
        "merge(answer.reset ? [] : shown, answer.msg)",
        "merge(shown, answer.msg)",
    )
}

/// R13: the frame loop starts a poll and goes on without waiting for it,
/// so on a slow server a new poll goes out every 3 s while the last is
/// still on its way.
fn polls_without_waiting() -> &'static str {
    replaced(
        CLIENT_JS,
        "      await refresh();\n      wait = backoff.succeeded();\n      showStatus(\"\");\n",
        "      refresh().then(\n        () => showStatus(\"\"),\n        \
         (error) => showStatus(`polling failed (${error.message})`),\n      );\n      \
         wait = backoff.succeeded(); // not waiting for the answer\n",
    )
}

/// R15: the page names itself with a new random id on every load, so each
/// reload of the tab is a client the rate limit has never seen, with a
/// whole allowance of its own: a reload loop is never held to one.
fn new_id_per_load() -> &'static str {
    replaced(
        CLIENT_JS,
        "sessionStorage.getItem(\"client-id\") ?? fresh()",
        "fresh()",
    )
}

/// R15: the page keeps its id in sessionStorage but trusts the storage to
/// be there, so where the browser refuses it (reading `sessionStorage`
/// throws) the script stops at its first line and never polls.
fn trusts_session_storage() -> &'static str {
    let without_try = replaced(
        CLIENT_JS,
        "  try {\n    const id = sessionStorage",
        "    const id = sessionStorage",
    );
    replaced(
        without_try,
        "  } catch {\n    return fresh(); // storage refused: an id for this load only\n  }\n",
        "",
    )
}

/// R15: the id stays in sessionStorage while the page is open, so a copy
/// of the tab takes it along.
fn leaves_its_id_in_storage() -> &'static str {
    replaced(
        CLIENT_JS,
        "    sessionStorage.removeItem(\"client-id\");\n",
        "    sessionStorage.setItem(\"client-id\", id);\n",
    )
}

/// R18: the page's posts do not name it: the chat module is never told
/// the id.
fn posts_do_not_name_it() -> &'static str {
    replaced(CLIENT_JS, "nameThisPage(CLIENT_ID);", "")
}

#[test]
fn r7_a_cursor_without_epoch_fails_s10_and_s11() {
    let page = spec::client_with(CLIENT_JS, cursor_without_epoch());
    assert_names(
        R7,
        &failure_message("a cursor without epoch", || spec::s10(&page)),
    );
    let message = failure_message("a cursor without epoch", || spec::s11(&page));
    assert_names(R7, &message);
    assert!(message.contains("asked /poll?since=0."), "{message}");
}

#[test]
fn r8_a_merge_that_keeps_duplicates_fails_s10() {
    let page = spec::client_with(CLIENT_JS, merge_keeps_duplicates());
    let message =
        failure_message("a merge that keeps duplicates", || spec::s10(&page));
    assert_names(R8, &message);
    assert!(message.contains("\"1,2,3,3,4\""), "{message}");
}

#[test]
fn r9_a_page_that_draws_every_answer_fails_s12() {
    let page = spec::client_with(draws_every_answer(), CURSOR_JS);
    let message =
        failure_message("a page that draws every answer", || spec::s12(&page));
    assert_names(R9, &message);
}

#[test]
fn r10_a_cursor_that_busts_the_cache_fails_s12() {
    let page = spec::client_with(CLIENT_JS, cursor_busts_the_cache());
    let message =
        failure_message("a cursor that busts the cache", || spec::s12(&page));
    assert_names(R10, &message);
}

#[test]
fn r10_a_page_that_keeps_the_cache_out_of_its_polls_fails_s12() {
    // One URL, but a `fetch` that skips the HTTP cache: "no-store" keeps
    // nothing, and "reload" keeps each answer but never revalidates one.
    for what in ["no-store", "reload"] {
        let client = polls_with_cache(what);
        let page = spec::client_with(client, CURSOR_JS);
        let message =
            failure_message(&format!("a page that polls with {what}"), || {
                spec::s12(&page)
            });
        assert_names(R10, &message);
        assert!(message.contains("the URL of the poll before"), "{message}");
    }
}

#[test]
fn r11_a_page_that_ignores_retry_after_fails_s13() {
    let page = spec::client_with(ignores_retry_after(), CURSOR_JS);
    let message =
        failure_message("a page that ignores Retry-After", || spec::s13(&page));
    assert_names(R11, &message);
}

#[test]
fn r12_a_page_that_ignores_reset_fails_s14() {
    let page = spec::client_with(ignores_reset(), CURSOR_JS);
    let message =
        failure_message("a page that ignores `reset`", || spec::s14(&page));
    assert_names(R12, &message);
}

#[test]
fn r13_a_page_that_polls_without_waiting_fails_s15() {
    let page = spec::client_with(polls_without_waiting(), CURSOR_JS);
    let message =
        failure_message("a page that polls without waiting", || spec::s15(&page));
    assert_names(R13, &message);
}

#[test]
fn r15_a_page_that_makes_a_new_id_on_every_load_fails_s16() {
    let page = spec::client_with(new_id_per_load(), CURSOR_JS);
    let message =
        failure_message("a page that makes a new id on every load", || {
            spec::s16(&page)
        });
    assert_names(R15, &message);
    assert!(message.contains("different clients"), "{message}");
}

#[test]
fn r15_a_page_that_trusts_session_storage_fails_s16() {
    let page = spec::client_with(trusts_session_storage(), CURSOR_JS);
    let message =
        failure_message("a page that trusts sessionStorage", || spec::s16(&page));
    assert_names(R15, &message);
    assert!(message.contains("SecurityError"), "{message}");
}

#[test]
fn r15_a_page_that_leaves_its_id_in_storage_fails_s17() {
    let page = spec::client_with(leaves_its_id_in_storage(), CURSOR_JS);
    let message =
        failure_message("a page that leaves its id in storage", || spec::s17(&page));
    assert_names(R15, &message);
    assert!(message.contains("a duplicated tab gets its own"), "{message}");
    // It keeps every other client rule, the reload loop's included.
    spec::s16(&page);
}

#[test]
fn r18_a_page_whose_posts_do_not_name_it_fails_s17() {
    let page = spec::client_with(posts_do_not_name_it(), CURSOR_JS);
    let message =
        failure_message("a page whose posts do not name it", || spec::s17(&page));
    assert_names(R18, &message);
    spec::s16(&page);
}

/// Each wrong client breaks its rule only: the scenarios of the other client
/// rules pass with it. (s11 ends with a snapshot of the whole trace, which
/// differs for a client that draws, polls or asks for URLs differently: for
/// those, s11's rule checks pass, and the snapshot shows the difference.)
#[test]
fn each_wrong_client_passes_the_scenarios_of_the_other_rules() {
    let cursor = |js| spec::client_with(CLIENT_JS, js);
    let client = |js| spec::client_with(js, CURSOR_JS);
    let without_epoch = cursor(cursor_without_epoch());
    for scenario in [spec::s12, spec::s13, spec::s15, spec::s16] {
        scenario(&without_epoch);
    }
    let duplicates = cursor(merge_keeps_duplicates());
    for scenario in
        [spec::s11, spec::s12, spec::s13, spec::s14, spec::s15, spec::s16]
    {
        scenario(&duplicates);
    }
    let busts = cursor(cursor_busts_the_cache());
    for scenario in [spec::s10, spec::s13, spec::s14, spec::s15, spec::s16] {
        scenario(&busts);
    }
    let no_store = client(polls_with_cache("no-store"));
    for scenario in
        [spec::s10, spec::s11, spec::s13, spec::s14, spec::s15, spec::s16]
    {
        scenario(&no_store);
    }
    let draws = client(draws_every_answer());
    for scenario in [spec::s10, spec::s13, spec::s14, spec::s15, spec::s16] {
        scenario(&draws);
    }
    let retries = client(ignores_retry_after());
    for scenario in
        [spec::s10, spec::s11, spec::s12, spec::s14, spec::s15, spec::s16]
    {
        scenario(&retries);
    }
    let ignores_reset = client(ignores_reset());
    for scenario in
        [spec::s10, spec::s11, spec::s12, spec::s13, spec::s15, spec::s16]
    {
        scenario(&ignores_reset);
    }
    // It does not back off either (a poll every 3 s, whatever happens), so
    // s13 is not for it.
    let no_wait = client(polls_without_waiting());
    for scenario in [spec::s10, spec::s12, spec::s14, spec::s16] {
        scenario(&no_wait);
    }
    let new_ids = client(new_id_per_load());
    let trusts = client(trusts_session_storage());
    for page in [&new_ids, &trusts] {
        for scenario in
            [spec::s10, spec::s11, spec::s12, spec::s13, spec::s14, spec::s15]
        {
            scenario(page);
        }
    }
}

/// A cursor written another way (the query in another order, `merge` with
/// a `Set` and `filter`) passes every client scenario.
#[test]
fn a_cursor_written_another_way_passes() {
    let page = spec::client_with(CLIENT_JS, known_clients::EX05_CURSOR_ANOTHER_WAY);
    spec::s10(&page);
    spec::s11(&page);
    spec::s12(&page);
    spec::s13(&page);
    spec::s14(&page);
    spec::s15(&page);
    spec::s16(&page);
}
