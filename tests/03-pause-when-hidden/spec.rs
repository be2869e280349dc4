//! The spec for exercise 03, pause while hidden.
//!
//! One file checks both crates: `cargo test -p ex03-pause-when-hidden` runs
//! it against your starter, and the root `cargo test` runs it against the
//! solution. Each crate's `tests/spec.rs` names its own library
//! `pause_when_hidden` and includes this file.
//!
//! As in exercise 02, your `client.js` runs in a virtual browser on a
//! virtual clock. Here the scenarios also hide the page (as when another tab
//! comes to the front): frames stop, and the spec watches what your client
//! sends meanwhile. The tests are numbered in the order to make them pass.

use pause_when_hidden::{CLIENT_JS, INTERVAL_MS, app};
use virtual_browser::{
    FRAME_MS, Failure, Latency, assert_trace_snapshot, checks, spec::ClientSpec,
};

fn spec() -> ClientSpec {
    ClientSpec::new(app, CLIENT_JS, env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn s01_while_visible_it_polls_every_3_s_after_each_answer() {
    let spec = spec();
    let trace = spec.run(15_000, |browser| {
        browser.latency(Latency::Fixed(100));
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    // A poll driven by frames starts at the first frame on or after the due time.
    spec.check(&trace, checks::waits_between_polls(&trace, INTERVAL_MS, FRAME_MS));
    let first = trace.spans_to("/poll").first().map(|poll| poll.sent);
    assert!(
        first.is_some_and(|sent| sent <= FRAME_MS),
        "the first poll should go out with the first frame, by {FRAME_MS} ms, but it went out at {first:?} ms.\n\
         What happened:\n{trace}Look at {}.",
        spec.client_path()
    );
}

#[test]
fn s02_no_polls_while_the_page_is_hidden() {
    let spec = spec();
    let trace = spec.run(30_000, |browser| {
        browser.latency(Latency::Fixed(100)).hide(5_000..20_000);
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::no_polls_while_hidden(&trace, 30_000));
    assert_trace_snapshot!("s02_hidden_for_15_s", trace);
}

#[test]
fn s03_polling_resumes_within_one_interval_when_shown() {
    let spec = spec();
    let trace = spec.run(40_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .hide(5_000..20_000)
            .hide(26_000..30_000);
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::resumes_when_shown(&trace, 40_000, INTERVAL_MS));
    spec.check(&trace, checks::no_polls_while_hidden(&trace, 40_000));
}

#[test]
fn s04_a_slow_server_never_has_two_polls_at_once() {
    let spec = spec();
    let trace = spec.run(20_000, |browser| {
        browser.latency(Latency::Fixed(5000));
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
}

#[test]
fn s05_hidden_while_a_poll_is_in_flight() {
    // The page is hidden at 1 s, while poll #1 (2 s to answer) is on its way.
    let spec = spec();
    let trace = spec.run(20_000, |browser| {
        browser.latency(Latency::Fixed(2000)).hide(1_000..10_000);
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(&trace, checks::no_polls_while_hidden(&trace, 20_000));
    spec.check(&trace, checks::resumes_when_shown(&trace, 20_000, INTERVAL_MS));
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
    assert_trace_snapshot!("s05_hidden_mid_poll", trace);
}

#[test]
fn s06_polling_goes_on_after_a_failed_request() {
    let spec = spec();
    let trace = spec.run(30_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(2_000..8_000, Failure::NetworkError)
            .fail(8_000..12_000, Failure::Status(503));
    });
    spec.check(&trace, checks::no_script_errors(&trace));
    spec.check(
        &trace,
        checks::keeps_polling_after_a_failure(
            &trace,
            30_000,
            INTERVAL_MS + 100 + FRAME_MS,
        ),
    );
}

#[test]
fn s07_a_new_message_shows_up_at_the_next_poll() {
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
        checks::shows_new_message(&trace, 4_000, INTERVAL_MS + 2 * 100 + FRAME_MS),
    );
}
