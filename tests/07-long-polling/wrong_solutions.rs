//! Exercise 07's known wrong solutions fail its spec, each with a message
//! that names the rule it breaks (the rules are listed at the top of
//! `spec.rs`). Each breaks one rule and nothing else: the clients are the
//! solution's `client.js` with one change, and the wrong hub is the
//! solution's `Hub::wait` with two steps swapped.
//!
//! They run in the solution's test target, beside the spec, once.

use crate::spec;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use dont_ddos_yourself::store::Cursor;
use long_polling::app_with;
use long_polling::hold::Hub;
use long_polling::news::News;
use poll_endpoint::error::ApiError;
use redis_chat::memory::MemoryStore;
use redis_chat::store::{Store, StoreError};
use spec::{AfterRead, StoresWhileRead};
use spec::{R1, R2, R3, R3_BAD_WAIT, R4, R5, R6, R7, R8, R9, R10, R11, R12, R13};
use spec_support::{
    assert_names, block_on, block_on_paused, failure_message, replaced,
};
use std::sync::Arc;
use std::time::Duration;

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
    let message = failure_message("a hub that looks before it subscribes", || {
        block_on_paused(spec::a_message_in_the_gap_is_not_lost(
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
    assert_names(R4, &message);
}

// ---------------------------------------------------------------------------
// R3: the wait runs from when the request came
// ---------------------------------------------------------------------------

/// The solution's `Hub::wait` with the mistake the chapter names: a fresh
/// `sleep(wait)` in every round of the loop instead of one deadline, so each
/// wake-up that brings nothing new starts the wait again.
struct RestartsTheWait {
    store: Arc<MemoryStore>,
    news: News,
}

impl spec::Holds for RestartsTheWait {
    async fn wait(
        &self,
        cursor: Option<Cursor>,
        wait: Duration,
    ) -> Result<Bytes, StoreError> {
        let mut news = self.news.subscribe();
        loop {
            news.borrow_and_update();
            let answer = self.store.poll(cursor).await?;
            if answer.news {
                return Ok(answer.body);
            }
            tokio::select! {
                _ = news.changed() => {}
                () = tokio::time::sleep(wait) => return Ok(answer.body), // again each round
            }
        }
    }
    fn held(&self) -> usize {
        0
    }
    async fn tell(&self) {
        self.news.tell().await;
    }
}

/// The solution's `Hub::wait`, but it hears of the stop only as a change:
/// a request that arrives after the stop is held for its whole wait.
struct HearsTheStopOnlyAsAChange {
    store: Arc<MemoryStore>,
    news: News,
    stopping: tokio::sync::watch::Sender<bool>,
}

impl spec::Holds for HearsTheStopOnlyAsAChange {
    async fn wait(
        &self,
        cursor: Option<Cursor>,
        wait: Duration,
    ) -> Result<Bytes, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut news = self.news.subscribe();
        let mut stopping = self.stopping.subscribe();
        loop {
            news.borrow_and_update();
            let answer = self.store.poll(cursor).await?;
            if answer.news {
                return Ok(answer.body);
            }
            tokio::select! {
                _ = news.changed() => {}
                () = tokio::time::sleep_until(deadline) => return Ok(answer.body),
                _ = stopping.changed() => return Ok(answer.body),
            }
        }
    }
    fn held(&self) -> usize {
        0
    }
    async fn tell(&self) {
        self.news.tell().await;
    }
}

#[test]
fn r7_a_wait_that_hears_the_stop_only_as_a_change_fails_s06() {
    let message =
        failure_message("a wait that hears the stop only as a change", || {
            block_on_paused(spec::a_request_after_the_stop_is_answered_at_once(
                Arc::new(HearsTheStopOnlyAsAChange {
                    store: Arc::new(MemoryStore::with_epoch(
                        long_polling::MAX_MESSAGES,
                        1_000,
                    )),
                    news: News::local(),
                    stopping: tokio::sync::watch::Sender::new(true),
                }),
            ))
        });
    assert_names(R7, &message);
}

#[test]
fn r3_a_wait_that_starts_again_at_each_wake_up_fails_s10() {
    let message =
        failure_message("a wait that starts again at each wake-up", || {
            block_on_paused(async {
                let store = Arc::new(MemoryStore::with_epoch(
                    long_polling::MAX_MESSAGES,
                    1_000,
                ));
                let hub = Arc::new(RestartsTheWait {
                    store: store.clone(),
                    news: News::local(),
                });
                spec::s10(hub, store).await;
            });
        });
    assert_names(R3, &message);
}

// ---------------------------------------------------------------------------
// R9 to R12: the client, one change at a time
// ---------------------------------------------------------------------------

/// The solution's client with `from` replaced by `to` (which must be there).
fn client_with(from: &str, to: &str) -> &'static str {
    replaced(long_polling::CLIENT_JS, from, to)
}

#[test]
fn r9_a_client_that_never_asks_the_server_to_wait_fails_s16() {
    // Interval polling in disguise: no `wait`, so every answer comes at once.
    let client = client_with("wait=${WAIT_SECONDS}", "");
    let message = failure_message("a client without `wait`", || {
        spec::s16(&spec::client_with(client))
    });
    assert_names(R9, &message);
}

#[test]
fn r10_a_client_that_waits_3_s_after_an_empty_answer_fails_s17() {
    let client = client_with(
        "backoff.succeeded(); // reset",
        "await sleep(3000); backoff.succeeded(); // reset",
    );
    let message = failure_message("a client that pauses after each answer", || {
        spec::s17(&spec::client_with(client))
    });
    assert_names(R10, &message);
}

#[test]
fn r11_a_client_that_retries_at_once_forever_fails_s18() {
    let client = client_with(
        "const wait = backoff.failed(error.retryAfterMs ?? 0);",
        "const wait = 0;",
    );
    let message = failure_message("a client without backoff", || {
        spec::s18(&spec::client_with(client))
    });
    assert_names(R11, &message);
}

#[test]
fn r11_a_client_that_fails_in_silence_fails_s18() {
    let client =
        client_with("      showStatus(`${problem}; trying again ${when}`);\n", "");
    let message = failure_message("a client that fails in silence", || {
        spec::s18(&spec::client_with(client))
    });
    assert_names(R11, &message);
    // That is all it gets wrong: the other client scenes pass it.
    for scene in [spec::s16, spec::s17, spec::s19, spec::s20, spec::s21] {
        scene(&spec::client_with(client));
    }
}

#[test]
fn r11_a_client_that_never_clears_its_status_fails_s18() {
    let client = client_with("      showStatus(\"\");\n", "");
    let message = failure_message("a client that never clears its status", || {
        spec::s18(&spec::client_with(client))
    });
    assert_names(R11, &message);
    for scene in [spec::s16, spec::s17, spec::s19, spec::s20, spec::s21] {
        scene(&spec::client_with(client));
    }
}

#[test]
fn r11_a_client_that_ignores_retry_after_fails_s20() {
    // The schedule, but not what the server asked for.
    let client = client_with(
        "const wait = backoff.failed(error.retryAfterMs ?? 0);",
        "const wait = backoff.failed();",
    );
    let message = failure_message("a client that ignores Retry-After", || {
        spec::s20(&spec::client_with(client))
    });
    assert_names(R11, &message);
    // That is all it gets wrong: the other client scenes pass it.
    for scene in [spec::s16, spec::s17, spec::s18, spec::s19, spec::s21] {
        scene(&spec::client_with(client));
    }
}

#[test]
fn r11_a_client_that_never_resets_its_backoff_fails_s21() {
    // It never tells the backoff a request succeeded, so the failures of
    // the first outage still count in the second.
    let client = client_with("backoff.succeeded(); // reset", "// reset");
    let message = failure_message("a client that never resets its backoff", || {
        spec::s21(&spec::client_with(client))
    });
    assert_names(R11, &message);
    // That is all it gets wrong: the other client scenes pass it.
    for scene in [spec::s16, spec::s17, spec::s18, spec::s19, spec::s20] {
        scene(&spec::client_with(client));
    }
}

#[test]
fn r12_a_client_that_keeps_its_request_while_hidden_fails_s19() {
    let client =
        client_with("if (document.hidden && waiting !== null) waiting.abort();", "");
    let message = failure_message("a client that holds on while hidden", || {
        spec::s19(&spec::client_with(client))
    });
    assert_names(R12, &message);
}

// ---------------------------------------------------------------------------
// R1, R2, R3, R6, R7, R8: the server, one mistake at a time, around the
// solution's app
// ---------------------------------------------------------------------------

/// The request with its query rewritten by `keep` (which gets each `name=value`).
fn with_query(mut request: Request, keep: impl Fn(&str) -> bool) -> Request {
    let path = request.uri().path().to_owned();
    let query: Vec<&str> =
        request.uri().query().unwrap_or("").split('&').filter(|p| keep(p)).collect();
    let uri =
        if query.is_empty() { path } else { format!("{path}?{}", query.join("&")) };
    *request.uri_mut() = uri.parse::<Uri>().expect("a path and a query");
    request
}

fn is_long_poll(request: &Request) -> bool {
    request
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("wait=")))
}

/// A server that makes every long poll wait a second, news or not.
fn slow_with_news(app: Router) -> Router {
    app.layer(middleware::from_fn(|request: Request, next: Next| async move {
        if is_long_poll(&request) {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        next.run(request).await
    }))
}

/// A server that never holds: it answers a long poll as a plain poll.
fn never_holds(app: Router) -> Router {
    app.layer(middleware::from_fn(|request: Request, next: Next| async move {
        next.run(with_query(request, |p| !p.starts_with("wait="))).await
    }))
}

/// A server that takes a `wait` it cannot read for no `wait` at all.
fn ignores_a_bad_wait(app: Router) -> Router {
    app.layer(middleware::from_fn(|request: Request, next: Next| async move {
        let bad = |p: &str| {
            p.strip_prefix("wait=").is_some_and(|v| {
                v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit())
            })
        };
        next.run(with_query(request, |p| !bad(p))).await
    }))
}

/// A server whose `wait_for` parses a `u64`, so that a `wait` with more
/// digits than one holds is refused, though it is only a long wait.
fn refuses_a_huge_wait(app: Router) -> Router {
    app.layer(middleware::from_fn(|request: Request, next: Next| async move {
        let huge = request.uri().query().is_some_and(|q| {
            q.split('&').filter_map(|p| p.strip_prefix("wait=")).any(|v| {
                !v.is_empty()
                    && v.bytes().all(|b| b.is_ascii_digit())
                    && v.parse::<u64>().is_err()
            })
        });
        if huge {
            let refusal = ApiError {
                status: StatusCode::BAD_REQUEST,
                message: "`wait` must be a whole number of seconds".to_owned(),
            };
            return refusal.into_response();
        }
        next.run(request).await
    }))
}

#[test]
fn r3_a_server_that_refuses_a_wait_too_long_for_a_u64_fails_s03() {
    let message = failure_message("a server that refuses a huge wait", || {
        block_on_paused(spec::s03(|hub, clock| {
            refuses_a_huge_wait(app_with(hub, clock))
        }));
    });
    assert_names(R3, &message);
}

#[test]
fn r1_a_server_that_makes_news_wait_fails_s01() {
    let message = failure_message("a server that delays news", || {
        block_on_paused(spec::s01(|hub, clock| {
            slow_with_news(app_with(hub, clock))
        }));
    });
    assert_names(R1, &message);
}

#[test]
fn r2_a_server_that_never_holds_fails_s02() {
    let message = failure_message("a server that never holds", || {
        block_on_paused(spec::s02(|hub, clock| never_holds(app_with(hub, clock))));
    });
    assert_names(R2, &message);
}

#[test]
fn r3_a_server_that_takes_a_bad_wait_for_none_fails_s03() {
    let message = failure_message("a server that ignores a bad wait", || {
        block_on_paused(spec::s03(|hub, clock| {
            ignores_a_bad_wait(app_with(hub, clock))
        }));
    });
    assert_names(R3_BAD_WAIT, &message);
}

/// Instances whose news stays in their own process: a post on one wakes no
/// one on the other.
fn hub_with_local_news(url: &str) -> Arc<Hub<redis_chat::redis_store::RedisStore>> {
    let store =
        redis_chat::redis_store::RedisStore::new(url, long_polling::MAX_MESSAGES)
            .expect("a Redis URL");
    Arc::new(Hub::new(Arc::new(store), News::local()))
}

#[test]
fn r8_instances_that_keep_their_news_to_themselves_fail_s07() {
    if std::process::Command::new("redis-server").arg("--version").output().is_err()
        && std::env::var_os("REDIS_URL").is_none()
    {
        // s07 itself skips without Redis; so does this check, and says so.
        assert!(
            std::env::var_os("REQUIRE_REDIS").is_none(),
            "REQUIRE_REDIS is set, but redis-server is missing"
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "note: skipping the R8 wrong-solution check: no redis-server"
        );
        return;
    }
    let message = failure_message("instances with news of their own", || {
        // On two threads, as the spec's `#[tokio::test]` runs s07.
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the scene")
            .block_on(spec::s07(hub_with_local_news));
    });
    assert_names(R8, &message);
}

/// A server that does nothing to its hub when it shuts down: its held
/// requests have nothing to answer them, and wait out their time.
fn leaves_the_hub_holding(_: &Hub<MemoryStore>) {}

#[test]
fn r7_a_server_that_does_not_answer_its_held_requests_on_shutdown_fails_s06() {
    let message = failure_message(
        "a server whose held requests wait out their time on shutdown",
        || block_on(spec::s06(leaves_the_hub_holding)),
    );
    assert_names(R7, &message);
}

/// A server that runs each request in a task of its own, so a request lives
/// on after its client hangs up (as a hub that kept its waiters in a list of
/// its own would).
fn detaches_each_request(app: Router) -> Router {
    app.layer(middleware::from_fn(|request: Request, next: Next| async move {
        tokio::spawn(next.run(request)).await.expect("the request's task")
    }))
}

#[test]
fn r6_a_server_that_keeps_a_hung_up_request_fails_s05() {
    let message = failure_message("a server that detaches each request", || {
        block_on(spec::s05(|hub, clock| {
            detaches_each_request(app_with(hub, clock))
        }));
    });
    assert_names(R6, &message);
}

// ---------------------------------------------------------------------------
// R5: one read of the store per version and cursor
// ---------------------------------------------------------------------------

/// The solution's hub with the shortcut the chapter warns about: `wait`
/// reads the store itself instead of through the shared `answer`, so every
/// held request reads (and serializes) on its own.
struct ReadsForItself {
    store: Arc<spec::CountsReads>,
    news: News,
    held: std::sync::atomic::AtomicUsize,
}

impl spec::Holds for ReadsForItself {
    async fn wait(
        &self,
        cursor: Option<Cursor>,
        wait: Duration,
    ) -> Result<Bytes, StoreError> {
        use std::sync::atomic::Ordering;
        self.held.fetch_add(1, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + wait;
        let mut news = self.news.subscribe();
        let answer = loop {
            news.borrow_and_update();
            let answer = self.store.poll(cursor).await?; // its own read, every time
            if answer.news {
                break answer.body;
            }
            tokio::select! {
                _ = news.changed() => {}
                () = tokio::time::sleep_until(deadline) => break answer.body,
            }
        };
        self.held.fetch_sub(1, Ordering::SeqCst);
        Ok(answer)
    }
    fn held(&self) -> usize {
        self.held.load(std::sync::atomic::Ordering::SeqCst)
    }
    async fn tell(&self) {
        self.news.tell().await;
    }
}

#[test]
fn r5_a_wait_that_reads_the_store_for_itself_fails_s04() {
    let message = failure_message("a wait that reads the store for itself", || {
        block_on_paused(async {
            let store = Arc::new(spec::CountsReads::new());
            let hub = Arc::new(ReadsForItself {
                store: store.clone(),
                news: News::local(),
                held: std::sync::atomic::AtomicUsize::new(0),
            });
            spec::a_thousand_waiters_share_one_read(hub, store).await;
        });
    });
    assert_names(R5, &message);
}

// ---------------------------------------------------------------------------
// R13: held long polls are not rate-limited
// ---------------------------------------------------------------------------

/// The solution's app with exercise 05's rate limit as it was, in front of
/// the long polls too: every long poll counts, held or not.
fn counts_every_long_poll(
    hub: Arc<Hub<MemoryStore>>,
    clock: governor::clock::FakeRelativeClock,
) -> Router {
    use dont_ddos_yourself::rate_limit::{self, RateLimit};
    let limit = Arc::new(RateLimit::new(clock));
    app_with_limit(
        hub,
        axum::middleware::from_fn_with_state(limit, rate_limit::limit),
    )
}

/// The solution's app with no rate limit on long polls at all: a client
/// that asks with a stale cursor again and again is never refused.
fn counts_no_long_poll(
    hub: Arc<Hub<MemoryStore>>,
    clock: governor::clock::FakeRelativeClock,
) -> Router {
    use axum::response::IntoResponse;
    use dont_ddos_yourself::rate_limit::RateLimit;
    type Limit = Arc<RateLimit<governor::clock::FakeRelativeClock>>;
    async fn unless_long(
        axum::extract::State(limit): axum::extract::State<Limit>,
        request: Request,
        next: Next,
    ) -> axum::response::Response {
        if request.uri().query().is_some_and(|q| q.contains("wait=")) {
            return next.run(request).await;
        }
        match limit.check(limit.who(&request)) {
            Ok(()) => next.run(request).await,
            Err(refused) => refused.into_response(),
        }
    }
    let limit: Limit = Arc::new(RateLimit::new(clock));
    app_with_limit(hub, middleware::from_fn_with_state(limit, unless_long))
}

/// `long_polling::app_with`'s routes, behind `layer` instead of its limit.
fn app_with_limit<L>(hub: Arc<Hub<MemoryStore>>, layer: L) -> Router
where
    L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
    L::Service: tower::Service<Request, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as tower::Service<Request>>::Response:
        axum::response::IntoResponse + 'static,
    <L::Service as tower::Service<Request>>::Future: Send + 'static,
{
    use long_polling::routes;
    Router::new()
        .route(
            "/poll",
            axum::routing::get(routes::get_poll::<MemoryStore>)
                .post(routes::post_poll::<MemoryStore>),
        )
        .route_layer(layer)
        .with_state(hub)
}

#[test]
fn r13_a_limit_that_counts_every_long_poll_fails_s15() {
    let message = failure_message("a limit that counts every long poll", || {
        block_on_paused(spec::s15(counts_every_long_poll));
    });
    assert_names(R13, &message);
    assert!(message.contains("number 11"), "{message}");
}

#[test]
fn r13_no_limit_on_long_polls_fails_s15() {
    let message = failure_message("no limit on long polls", || {
        block_on_paused(spec::s15(counts_no_long_poll));
    });
    assert_names(R13, &message);
    assert!(message.contains("stale"), "{message}");
}
