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
//!
//! The rules chapter 02 teaches, and the scenarios that pin them: a known
//! wrong client that breaks the rule fails each of those scenarios (other
//! scenarios check the rule too). A failure names the rule it breaks:
//! "Broken rule R2 (one poll at a time): ...".
//!
//! - R1 poll at once: the first poll goes out as the page loads, not a whole interval later (s01)
//! - R2 one poll at a time: the next poll is scheduled only once the answer is in, so two are never in flight (s02)
//! - R3 the wait counts from each answer: the next poll goes out INTERVAL_MS after the answer, within the timer clamp (s03, s06)
//! - R4 keep going after a failure: whether the network failed or the server answered an error, the next poll is scheduled (s04)
//! - R5 an error answer is a failure: refresh() checks `response.ok` and throws, so a 500 shows no messages (s04)
//! - R6 show each answer: its `msg` list goes to renderMessages(), so a new message shows at the next poll (s05)
//! - R7 after sending, refresh once, at once: call refresh(), not poll(), which would start a second chain (s07)
//!
//! Each scenario is a function taking the [`ClientSpec`] it runs, so the
//! course's own tests (`wrong_solutions.rs`, next to this file) run the very
//! same scenarios against known wrong clients, and check that each fails
//! naming the rule it breaks.

use settimeout_chain::{CLIENT_JS, INTERVAL_MS, app};
use spec_support::{ClientSpec, Rule, assert_trace_snapshot};
use virtual_browser::{Failure, Latency, checks};

pub const R1: Rule = Rule::new("R1", "poll at once");
pub const R2: Rule = Rule::new("R2", "one poll at a time");
pub const R3: Rule = Rule::new("R3", "the wait counts from each answer");
pub const R4: Rule = Rule::new("R4", "keep going after a failure");
pub const R5: Rule = Rule::new("R5", "an error answer is a failure");
pub const R6: Rule = Rule::new("R6", "show each answer");
pub const R7: Rule = Rule::new("R7", "after sending, refresh once, at once");

/// HTML's timer clamp: a timer nested deep enough waits at least 4 ms, so a
/// chain of timers may send its next poll up to that late.
pub const TIMER_CLAMP_MS: u64 = 4;

/// The exercise's client, served by its server.
pub fn spec() -> ClientSpec {
    ClientSpec::new(app, CLIENT_JS, env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn s01_the_first_poll_goes_out_as_the_page_loads() {
    s01(&spec());
}

pub fn s01(spec: &ClientSpec) {
    let trace = spec.run(1000, |browser| {
        browser.latency(Latency::Fixed(100));
    });
    spec.check_rule(R1, &trace, checks::first_poll_by(&trace, 0));
    spec.check(&trace, checks::no_script_errors(&trace));
}

#[test]
fn s02_a_slow_server_never_has_two_polls_at_once() {
    s02(&spec());
}

pub fn s02(spec: &ClientSpec) {
    // The server takes 5 s to answer, longer than the 3 s interval.
    let trace = spec.run(20_000, |browser| {
        browser.latency(Latency::Fixed(5000));
    });
    spec.check_rule(R2, &trace, checks::never_two_polls_at_once(&trace));
    spec.check(&trace, checks::no_script_errors(&trace));
    assert_trace_snapshot!("s02_slow_server", trace);
}

#[test]
fn s03_the_next_poll_waits_3_s_after_each_answer() {
    s03(&spec());
}

pub fn s03(spec: &ClientSpec) {
    let trace = spec.run(10_000, |browser| {
        browser.latency(Latency::Scripted(vec![100, 700, 1800, 100]));
    });
    spec.check_rule(R3, &trace, checks::waits_between_polls(&trace, INTERVAL_MS, 0));
    spec.check(&trace, checks::no_script_errors(&trace));
    assert_trace_snapshot!("s03_uneven_server", trace);
}

#[test]
fn s04_polling_goes_on_after_a_failed_request() {
    s04(&spec());
}

pub fn s04(spec: &ClientSpec) {
    // The network fails from 2 s to 8 s, then the server answers 500 for a while.
    let trace = spec.run(30_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(2_000..8_000, Failure::NetworkError)
            .fail(8_000..14_000, Failure::Status(500));
    });
    spec.check_rule(
        R4,
        &trace,
        checks::keeps_polling_after_a_failure(&trace, 30_000, INTERVAL_MS + 100),
    );
    spec.check_rule(R2, &trace, checks::never_two_polls_at_once(&trace));
    spec.check_rule(R5, &trace, checks::shows_nothing_from_error_answers(&trace));
    let back = trace
        .spans_to("/poll")
        .iter()
        .any(|poll| poll.sent >= 14_000 && !poll.failed());
    spec.check_rule(
        R4,
        &trace,
        if back {
            Ok(())
        } else {
            Err("once the server is back (from 14 s), polls should succeed again."
                .to_owned())
        },
    );
    spec.check(&trace, checks::no_script_errors(&trace));
    assert_trace_snapshot!("s04_failures", trace);
}

#[test]
fn s05_a_new_message_shows_up_at_the_next_poll() {
    s05(&spec());
}

pub fn s05(spec: &ClientSpec) {
    let trace = spec.run(10_000, |browser| {
        browser.latency(Latency::Fixed(100)).post_at(
            4_000,
            "grace",
            "are you there?",
        );
    });
    spec.check_rule(
        R6,
        &trace,
        checks::shows_new_message(&trace, 4_000, INTERVAL_MS + 2 * 100),
    );
    spec.check(&trace, checks::no_script_errors(&trace));
}

#[test]
fn s06_answers_at_odd_moments_are_still_followed_3_s_later() {
    s06(&spec());
}

pub fn s06(spec: &ClientSpec) {
    // Answers that land at odd moments (130 ms, 4364 ms, 7409 ms...), one of
    // them slower than the interval: each next poll goes out exactly
    // INTERVAL_MS after the answer, not at the next tick of some clock.
    let trace = spec.run(20_000, |browser| {
        browser.latency(Latency::Scripted(vec![130, 1234, 45, 3333, 810, 77]));
    });
    spec.check_rule(
        R3,
        &trace,
        checks::waits_between_polls(&trace, INTERVAL_MS, TIMER_CLAMP_MS),
    );
    spec.check_rule(R2, &trace, checks::never_two_polls_at_once(&trace));
    spec.check(&trace, checks::no_script_errors(&trace));
}

#[test]
fn s07_after_sending_the_page_refreshes_once_at_once() {
    s07(&spec());
}

pub fn s07(spec: &ClientSpec) {
    // The user sends a message at 4.5 s, between two polls, and another at 10 s.
    let trace = spec.run(20_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .send_at(4_500, "ada", "hello, grace")
            .send_at(10_000, "ada", "anyone?");
    });
    spec.check_rule(
        R7,
        &trace,
        checks::refreshes_after_sending(&trace, INTERVAL_MS, TIMER_CLAMP_MS),
    );
    spec.check_rule(R2, &trace, checks::never_two_polls_at_once(&trace));
    spec.check(&trace, checks::no_script_errors(&trace));
}
