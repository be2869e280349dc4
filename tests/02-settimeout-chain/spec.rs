//! The spec for exercise 02, chain setTimeout.
//!
//! One file checks both crates: `cargo test -p ex02-settimeout-chain` runs it
//! against your starter, and the root `cargo test` runs it against the
//! solution. Each crate's `tests/spec.rs` names its own library
//! `settimeout_chain` and includes this file.
//!
//! Your `client.js` runs for real, in a virtual browser: an embedded
//! JavaScript engine on a virtual clock, whose `fetch` goes straight into the
//! exercise's server. A scenario of a minute takes milliseconds, and the
//! same scenario gives the same trace every time. Each test checks a trace:
//! one line per thing that happened, like `  3080 ms  GET /poll #2 -> 200 (1 msg)`.
//! The tests are numbered in the order to make them pass.

use settimeout_chain::{CLIENT_JS, INTERVAL_MS, app};
use virtual_browser::{
    Failure, Latency, assert_trace_snapshot, checks, spec::ClientSpec,
};

fn spec() -> ClientSpec {
    ClientSpec::new(app, CLIENT_JS, env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn s01_the_first_poll_goes_out_as_the_page_loads() {
    let spec = spec();
    let trace = spec.run(1000, |browser| {
        browser.latency(Latency::Fixed(100));
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    let polls = trace.spans_to("/poll");
    assert!(
        polls.first().is_some_and(|poll| poll.sent == 0 && poll.method == "GET"),
        "the page should ask GET /poll as soon as it loads (at 0 ms), not wait a whole interval first.\n\
         What happened:\n{trace}Look at {}.",
        spec.client_path()
    );
}

#[test]
fn s02_a_slow_server_never_has_two_polls_at_once() {
    // The server takes 5 s to answer, longer than the 3 s interval.
    let spec = spec();
    let trace = spec.run(20_000, |browser| {
        browser.latency(Latency::Fixed(5000));
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
    assert_trace_snapshot!("s02_slow_server", trace);
}

#[test]
fn s03_the_next_poll_waits_3_s_after_each_answer() {
    let spec = spec();
    let trace = spec.run(10_000, |browser| {
        browser.latency(Latency::Scripted(vec![100, 700, 1800, 100]));
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::waits_between_polls(&trace, INTERVAL_MS, 0));
    assert_trace_snapshot!("s03_uneven_server", trace);
}

#[test]
fn s04_polling_goes_on_after_a_failed_request() {
    // The network fails from 2 s to 8 s, then the server answers 500 for a while.
    let spec = spec();
    let trace = spec.run(30_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(2_000..8_000, Failure::NetworkError)
            .fail(8_000..14_000, Failure::Status(500));
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(
        &trace,
        checks::keeps_polling_after_a_failure(&trace, 30_000, INTERVAL_MS + 100),
    );
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
    assert!(
        trace
            .spans_to("/poll")
            .iter()
            .any(|poll| poll.sent >= 14_000 && !poll.failed()),
        "once the server is back (from 14 s), polls should succeed again.\nWhat happened:\n{trace}Look at {}.",
        spec.client_path()
    );
    assert_trace_snapshot!("s04_failures", trace);
}

#[test]
fn s05_a_new_message_shows_up_at_the_next_poll() {
    let spec = spec();
    let trace = spec.run(10_000, |browser| {
        browser.latency(Latency::Fixed(100)).post_at(
            4_000,
            "grace",
            "are you there?",
        );
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(
        &trace,
        checks::shows_new_message(&trace, 4_000, INTERVAL_MS + 2 * 100),
    );
}
