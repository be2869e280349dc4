//! The spec for exercise 04, backoff.
//!
//! One file checks both crates: `cargo test -p ex04-backoff` runs it against
//! your starter, and the root `cargo test` runs it against the solution.
//! Each crate's `tests/spec.rs` names its own library `backoff` and includes
//! this file.
//!
//! The first tests call your `backoff.js` directly (a small script imports it
//! and logs what it returns); the rest run the page's client, which uses it,
//! in the virtual browser through outages, errors and Retry-After answers.
//! The tests are numbered in the order to make them pass.

use backoff::{BACKOFF_JS, CLIENT_JS, INTERVAL_MS, RETRY_SCHEDULE_MS, app};
use virtual_browser::{
    FRAME_MS, Failure, Latency, assert_trace_snapshot, checks, spec::ClientSpec,
};

fn spec() -> ClientSpec {
    ClientSpec::new(app, CLIENT_JS, env!("CARGO_MANIFEST_DIR"))
        .with_module("/backoff.js", BACKOFF_JS)
        .learner_edits("backoff.js")
}

/// The schedule the client must keep, for the scenario checks.
const RULES: checks::Backoff<'static> = checks::Backoff {
    interval: INTERVAL_MS,
    schedule: &RETRY_SCHEDULE_MS,
    slack: FRAME_MS,
};

/// What `failed()` returns for 8 failures in a row when `random()` always
/// returns `r`.
fn waits(spec: &ClientSpec, r: &str) -> Vec<u64> {
    let logs = spec.logs_of(&format!(
        r#"import {{ Backoff }} from "/backoff.js";
           const backoff = new Backoff(() => {r});
           for (let i = 0; i < 8; i++) console.log(backoff.failed());"#
    ));
    logs.iter()
        .map(|text| {
            text.parse::<f64>().map(|ms| ms.round() as u64).unwrap_or(u64::MAX)
        })
        .collect()
}

#[test]
fn s01_retry_at_once_then_3_10_30_s_and_never_longer() {
    let spec = spec();
    // random() just below 1: the top of each step's range, i.e. the schedule itself.
    let top = waits(&spec, "0.9999999");
    assert_eq!(
        top,
        [0, 3000, 10_000, 30_000, 30_000, 30_000, 30_000, 30_000],
        "with random() near 1, 8 calls to failed() in a row should return the schedule: at once (0), then 3 s, \
         10 s, 30 s, and the cap, 30 s, from then on.\nLook at `failed` in {}.",
        spec.client_path()
    );
}

#[test]
fn s02_jitter_waits_between_half_of_each_step_and_all_of_it() {
    let spec = spec();
    let bottom = waits(&spec, "0");
    assert_eq!(
        bottom,
        [0, 1500, 5000, 15_000, 15_000, 15_000, 15_000, 15_000],
        "with random() = 0, failed() should return half of each step (\"equal jitter\": step / 2 + random() * \
         step / 2).\nLook at `failed` in {}.",
        spec.client_path()
    );
    // With the page's own Math.random, 200 clients that each failed three
    // times must not all wait the same.
    let logs = spec.logs_of(
        r#"import { Backoff } from "/backoff.js";
           const waits = [];
           for (let i = 0; i < 200; i++) { const b = new Backoff(); b.failed(); b.failed(); waits.push(b.failed()); }
           console.log(new Set(waits.map(Math.round)).size, Math.min(...waits), Math.max(...waits));"#,
    );
    let numbers: Vec<f64> =
        logs[0].split(' ').filter_map(|n| n.parse().ok()).collect();
    assert!(
        numbers.len() == 3
            && numbers[0] >= 150.0
            && numbers[1] >= 5000.0
            && numbers[1] < 5500.0
            && numbers[2] > 9500.0
            && numbers[2] <= 10_000.0,
        "200 clients after 3 failures should wait anywhere from 5000 to 10000 ms, nearly all different, but they \
         gave (different values, shortest, longest) = {logs:?}. Without jitter, clients that failed together all \
         come back together.\nLook at `failed` in {}: use `this.random()`.",
        spec.client_path()
    );
}

#[test]
fn s03_a_success_resets_the_backoff() {
    let spec = spec();
    let logs = spec.logs_of(
        r#"import { Backoff } from "/backoff.js";
           const b = new Backoff(() => 0.9999999);
           for (let i = 0; i < 5; i++) b.failed();
           console.log(b.succeeded());
           console.log(Math.round(b.failed()), Math.round(b.failed()));"#,
    );
    assert_eq!(
        logs,
        ["3000", "0 3000"],
        "after 5 failures and then a success, succeeded() should return INTERVAL_MS (3000), and the next failures \
         should start the schedule again from the beginning (0, then 3000).\nLook at `succeeded` in {}.",
        spec.client_path()
    );
}

#[test]
fn s04_retry_after_is_a_minimum() {
    let spec = spec();
    let logs = spec.logs_of(
        r#"import { Backoff } from "/backoff.js";
           const b = new Backoff(() => 0);
           console.log(b.failed(20000), b.failed(1000), b.failed(), b.failed(45000));"#,
    );
    assert_eq!(
        logs,
        ["20000 1500 5000 45000"],
        "failed(retryAfterMs) should wait at least what the server asked for, and otherwise as the schedule says: \
         with random() = 0, failed(20000), failed(1000), failed(), failed(45000) should give 20000, 1500, 5000, \
         45000.\nLook at `failed` in {}.",
        spec.client_path()
    );
}

#[test]
fn s05_retry_after_headers_are_read_in_seconds_or_as_a_date() {
    let spec = spec();
    let logs = spec.logs_of(
        r#"import { retryAfterMs } from "/backoff.js";
           const now = Date.parse("2026-01-01T00:00:00Z");
           for (const header of ["20", " 120 ", "Thu, 01 Jan 2026 00:00:30 GMT", "Wed, 31 Dec 2025 23:59:00 GMT",
                                 "soon", "-5", "", null]) {
             console.log(JSON.stringify(header), retryAfterMs(header, now));
           }"#,
    );
    assert_eq!(
        logs,
        [
            "\"20\" 20000",
            "\" 120 \" 120000",
            "\"Thu, 01 Jan 2026 00:00:30 GMT\" 30000",
            "\"Wed, 31 Dec 2025 23:59:00 GMT\" 0",
            "\"soon\" 0",
            "\"-5\" 0",
            "\"\" 0",
            "null 0",
        ],
        "retryAfterMs(header, now) should read whole seconds (\"120\" is 120000 ms) or an HTTP date (the time until \
         then, or 0 if it has passed), and give 0 for anything else.\nLook at `retryAfterMs` in {}.",
        spec.client_path()
    );
}

#[test]
fn s06_an_outage_from_10_s_to_70_s() {
    let spec = spec();
    let trace = spec.run(120_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(10_000..70_000, Failure::NetworkError);
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
    spec.check(&trace, checks::follows_backoff(&trace, RULES, 120_000));
    spec.check(
        &trace,
        checks::keeps_polling_after_a_failure(&trace, 120_000, 30_000 + FRAME_MS),
    );
    let back = trace.spans_to("/poll").into_iter().find(|p| p.sent >= 70_000);
    assert!(
        back.as_ref()
            .is_some_and(|p| p.sent <= 70_000 + 30_000 + FRAME_MS && !p.failed()),
        "the server is back at 70 s: the client should find out within one capped wait (30 s), but its first poll \
         after 70 s was {back:?}.\nWhat happened:\n{trace}Look at {}.",
        spec.client_path()
    );
    assert_trace_snapshot!("s06_outage", trace);
}

#[test]
fn s07_intermittent_server_errors() {
    let spec = spec();
    let trace = spec.run(60_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(3_000..3_500, Failure::Status(500))
            .fail(12_000..20_000, Failure::Status(500))
            .fail(30_000..30_200, Failure::Status(502));
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::follows_backoff(&trace, RULES, 60_000));
    assert_trace_snapshot!("s07_intermittent_errors", trace);
}

#[test]
fn s08_a_429_with_retry_after_20_is_honoured() {
    let spec = spec();
    let trace = spec.run(40_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(3_000..3_500, Failure::RetryAfter { status: 429, seconds: 20 });
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::honours_retry_after(&trace));
    spec.check(&trace, checks::follows_backoff(&trace, RULES, 40_000));
    assert_trace_snapshot!("s08_retry_after", trace);
}

#[test]
fn s09_one_success_between_failures_resets_the_backoff() {
    // Failures from 3 s to 8 s; the server is fine from 8 s to 14 s (the
    // client gets through once); then it fails again from 14 s to 40 s.
    let spec = spec();
    let trace = spec.run(80_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(3_000..8_000, Failure::Status(503))
            .fail(14_000..40_000, Failure::Status(503));
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    let got_through = trace
        .spans_to("/poll")
        .iter()
        .any(|p| (8_000..14_000).contains(&p.sent) && !p.failed());
    assert!(
        got_through,
        "between the two outages (8 s to 14 s) the client should get one poll through: after 3 failures in a row \
         it waits at most 10 s.\nWhat happened:\n{trace}Look at {}.",
        spec.client_path()
    );
    spec.check(&trace, checks::follows_backoff(&trace, RULES, 80_000));
}

#[test]
fn s10_hidden_during_the_outage() {
    // The page is hidden from 20 s to 50 s of a 10 s to 70 s outage. While
    // hidden it sends nothing; when shown, it retries if a retry is due, and
    // its backoff goes on where it was (only a success resets it).
    let spec = spec();
    let trace = spec.run(120_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(10_000..70_000, Failure::NetworkError)
            .hide(20_000..50_000);
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::no_polls_while_hidden(&trace, 120_000));
    spec.check(&trace, checks::follows_backoff(&trace, RULES, 120_000));
    assert_trace_snapshot!("s10_hidden_outage", trace);
}
