//! Exercise 05's known wrong solutions fail its spec, each with a message
//! that names the rule it breaks (the rules are listed at the top of
//! `spec.rs`). Each is the solution with one rule broken and nothing else:
//!
//! - server variants: the solution's app with one step of `GET /poll`
//!   changed (R1 to R5), or one thing done to the rate limit (R6, R14);
//! - client variants: the solution's `cursor.js` or `client.js` with one
//!   change, kept in `virtual-browser/clients/ex05-*.js` (R7 to R13, R15).
//!
//! Each runs the spec's own scenario, through the same function its test
//! calls. A cursor written another way passes every client scenario. The
//! spec is included as it is, so its own tests run here too, against the
//! solution (which the root package depends on as `dont_ddos_yourself`).
//! `--nocapture` shows each failure message.

#[path = "spec.rs"]
mod spec;

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
use spec::Server;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use virtual_browser::known_clients;
use virtual_browser::spec::{assert_names, failure_message};

/// Run an async scenario to its end.
fn block_on(scene: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(scene);
}

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
    assert_names("R1 `since`", &message);
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
    assert_names("R2 a bad cursor is a 400", &message);
    assert!(message.contains("since=%2B1"), "{message}");
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
    assert_names("R3 a cursor from another life starts over", &message);
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
    assert_names("R4 serialize once per change", &message);
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
    assert_names("R5 entity tags", &message);
    assert!(message.contains("W/"), "{message}");
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
    assert_names("R16 one view per answer", &message);
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
    assert_names("R6 each client has its own allowance", &message);
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
    assert_names("R6 each client has its own allowance", &message);
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
    assert_names("R14 one address, one ceiling", &message);
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
    assert_names("R14 one address, one ceiling", &message);
    assert!(message.contains("no known address"), "{message}");
}

// ---------------------------------------------------------------------------
// Client variants: the solution's cursor.js or client.js with one change
// ---------------------------------------------------------------------------

#[test]
fn r7_a_cursor_without_epoch_fails_s10_and_s11() {
    let page =
        spec::client_with(CLIENT_JS, known_clients::EX05_CURSOR_WITHOUT_EPOCH);
    assert_names(
        "R7 `pollPath` sends the cursor",
        &failure_message("a cursor without epoch", || spec::s10(&page)),
    );
    let message = failure_message("a cursor without epoch", || spec::s11(&page));
    assert_names("R7 `pollPath` sends the cursor", &message);
    assert!(message.contains("asked /poll?since=0."), "{message}");
}

#[test]
fn r8_a_merge_that_keeps_duplicates_fails_s10() {
    let page =
        spec::client_with(CLIENT_JS, known_clients::EX05_MERGE_KEEPS_DUPLICATES);
    let message =
        failure_message("a merge that keeps duplicates", || spec::s10(&page));
    assert_names("R8 `merge` keeps each message once", &message);
    assert!(message.contains("\"1,2,3,3,4\""), "{message}");
}

#[test]
fn r9_a_page_that_draws_every_answer_fails_s12() {
    let page = spec::client_with(known_clients::EX05_DRAWS_EVERY_ANSWER, CURSOR_JS);
    let message =
        failure_message("a page that draws every answer", || spec::s12(&page));
    assert_names("R9 an idle page draws nothing new", &message);
}

#[test]
fn r10_a_cursor_that_busts_the_cache_fails_s12() {
    let page =
        spec::client_with(CLIENT_JS, known_clients::EX05_CURSOR_BUSTS_THE_CACHE);
    let message =
        failure_message("a cursor that busts the cache", || spec::s12(&page));
    assert_names("R10 an idle page asks for one URL", &message);
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
        assert_names("R10 an idle page asks for one URL", &message);
        assert!(message.contains("the URL of the poll before"), "{message}");
    }
}

#[test]
fn r11_a_page_that_ignores_retry_after_fails_s13() {
    let page = spec::client_with(known_clients::EX05_IGNORES_RETRY_AFTER, CURSOR_JS);
    let message =
        failure_message("a page that ignores Retry-After", || spec::s13(&page));
    assert_names("R11 the page honours 429 and Retry-After", &message);
}

#[test]
fn r12_a_page_that_ignores_reset_fails_s14() {
    let page = spec::client_with(known_clients::EX05_IGNORES_RESET, CURSOR_JS);
    let message =
        failure_message("a page that ignores `reset`", || spec::s14(&page));
    assert_names("R12 `reset: true` starts the list over", &message);
}

#[test]
fn r13_a_page_that_polls_without_waiting_fails_s15() {
    let page =
        spec::client_with(known_clients::EX05_POLLS_WITHOUT_WAITING, CURSOR_JS);
    let message =
        failure_message("a page that polls without waiting", || spec::s15(&page));
    assert_names("R13 one poll at a time", &message);
}

#[test]
fn r15_a_page_that_makes_a_new_id_on_every_load_fails_s16() {
    let page = spec::client_with(known_clients::EX05_NEW_ID_PER_LOAD, CURSOR_JS);
    let message =
        failure_message("a page that makes a new id on every load", || {
            spec::s16(&page)
        });
    assert_names("R15 a tab keeps its client id", &message);
    assert!(message.contains("different clients"), "{message}");
}

#[test]
fn r15_a_page_that_trusts_session_storage_fails_s16() {
    let page =
        spec::client_with(known_clients::EX05_TRUSTS_SESSION_STORAGE, CURSOR_JS);
    let message =
        failure_message("a page that trusts sessionStorage", || spec::s16(&page));
    assert_names("R15 a tab keeps its client id", &message);
    assert!(message.contains("SecurityError"), "{message}");
}

/// Each wrong client breaks its rule only: the scenarios of the other client
/// rules pass with it. (s11 ends with a snapshot of the whole trace, which
/// differs for a client that draws, polls or asks for URLs differently: for
/// those, s11's rule checks pass, and the snapshot shows the difference.)
#[test]
fn each_wrong_client_passes_the_scenarios_of_the_other_rules() {
    let cursor = |js| spec::client_with(CLIENT_JS, js);
    let client = |js| spec::client_with(js, CURSOR_JS);
    let without_epoch = cursor(known_clients::EX05_CURSOR_WITHOUT_EPOCH);
    for scenario in [spec::s12, spec::s13, spec::s15, spec::s16] {
        scenario(&without_epoch);
    }
    let duplicates = cursor(known_clients::EX05_MERGE_KEEPS_DUPLICATES);
    for scenario in
        [spec::s11, spec::s12, spec::s13, spec::s14, spec::s15, spec::s16]
    {
        scenario(&duplicates);
    }
    let busts = cursor(known_clients::EX05_CURSOR_BUSTS_THE_CACHE);
    for scenario in [spec::s10, spec::s13, spec::s14, spec::s15, spec::s16] {
        scenario(&busts);
    }
    let no_store = client(polls_with_cache("no-store"));
    for scenario in
        [spec::s10, spec::s11, spec::s13, spec::s14, spec::s15, spec::s16]
    {
        scenario(&no_store);
    }
    let draws = client(known_clients::EX05_DRAWS_EVERY_ANSWER);
    for scenario in [spec::s10, spec::s13, spec::s14, spec::s15, spec::s16] {
        scenario(&draws);
    }
    let retries = client(known_clients::EX05_IGNORES_RETRY_AFTER);
    for scenario in
        [spec::s10, spec::s11, spec::s12, spec::s14, spec::s15, spec::s16]
    {
        scenario(&retries);
    }
    let ignores_reset = client(known_clients::EX05_IGNORES_RESET);
    for scenario in
        [spec::s10, spec::s11, spec::s12, spec::s13, spec::s15, spec::s16]
    {
        scenario(&ignores_reset);
    }
    // It does not back off either (a poll every 3 s, whatever happens), so
    // s13 is not for it.
    let no_wait = client(known_clients::EX05_POLLS_WITHOUT_WAITING);
    for scenario in [spec::s10, spec::s12, spec::s14, spec::s16] {
        scenario(&no_wait);
    }
    let new_ids = client(known_clients::EX05_NEW_ID_PER_LOAD);
    let trusts = client(known_clients::EX05_TRUSTS_SESSION_STORAGE);
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

// ---------------------------------------------------------------------------
// R15 and R18 in a duplicated tab: the solution's client.js with one change
// ---------------------------------------------------------------------------

/// The solution's `client.js` with `from` replaced by `to` (which must be there).
fn client_js_with(from: &str, to: &str) -> &'static str {
    assert!(
        CLIENT_JS.contains(from),
        "the solution's client.js no longer has {from:?}"
    );
    Box::leak(CLIENT_JS.replacen(from, to, 1).into_boxed_str())
}

#[test]
fn r15_a_page_that_leaves_its_id_in_storage_fails_s17() {
    // The id stays in sessionStorage while the page is open, so a copy of
    // the tab takes it along.
    let js = client_js_with(
        "    sessionStorage.removeItem(\"client-id\");\n",
        "    sessionStorage.setItem(\"client-id\", id);\n",
    );
    let page = spec::client_with(js, CURSOR_JS);
    let message =
        failure_message("a page that leaves its id in storage", || spec::s17(&page));
    assert_names(
        "R15 a tab keeps its client id, and a duplicated tab gets its own",
        &message,
    );
    // It keeps every other client rule, the reload loop's included.
    spec::s16(&page);
}

#[test]
fn r18_a_page_whose_posts_do_not_name_it_fails_s17() {
    let js = client_js_with("nameThisPage(CLIENT_ID);", "");
    let page = spec::client_with(js, CURSOR_JS);
    let message =
        failure_message("a page whose posts do not name it", || spec::s17(&page));
    assert_names("R18 a page names itself on every request", &message);
    spec::s16(&page);
}

/// The solution's `client.js`, its polls fetched with `cache: mode`.
fn polls_with_cache(mode: &str) -> &'static str {
    client_js_with(
        "fetch(pollPath(cursor), { headers })",
        &format!("fetch(pollPath(cursor), {{ headers, cache: \"{mode}\" }})"),
    )
}
