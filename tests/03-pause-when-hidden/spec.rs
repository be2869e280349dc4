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
//!
//! The rules chapter 03 teaches, and the scenarios that pin them: a known
//! wrong client that breaks the rule fails each of those scenarios (other
//! scenarios check the rule too). A failure names the rule it breaks:
//! "Broken rule R1 (nothing while hidden): ...".
//!
//! - R1 nothing while hidden: no poll is sent while the page is hidden, not even one a timer had already scheduled (s02, s03, s05)
//! - R2 resume at once when shown: an overdue poll goes out with the first frame after the page is shown, one not yet due when it is due (s03, s05)
//! - R3 await the poll: the next frame is asked for only once the answer is in, so two polls are never in flight (s04)
//! - R4 the wait counts from each answer: while visible, the first poll goes out with the first frame, each next one INTERVAL_MS after the answer (s01)
//! - R5 keep going after a failure: a failed poll is caught and shown, and the loop asks for the next frame anyway (s06)
//!
//! s07 checks again that new messages show (exercise 02's R6).
//!
//! The requestAnimationFrame loop and the Page Visibility version (a
//! setTimeout chain that stops when the page hides) both keep these rules, and
//! both pass. The checks decide; the snapshots are the solution's traces, and
//! a client's times may differ from them by up to one frame (FRAME_MS) at
//! each step: each of the page's events counted from its event before.
//!
//! Each scenario is a function taking the [`ClientSpec`] it runs, so the
//! course's own tests (`wrong_solutions.rs`, next to this file) run the very
//! same scenarios against known wrong clients and right alternatives.

use pause_when_hidden::{CLIENT_JS, INTERVAL_MS, app};
use spec_support::{ClientSpec, Rule, assert_trace_snapshot, status_at};
use virtual_browser::{FRAME_MS, Failure, Latency, checks};

pub const R1: Rule = Rule::new("R1", "nothing while hidden");
pub const R2: Rule = Rule::new("R2", "resume at once when shown");
pub const R3: Rule = Rule::new("R3", "await the poll");
pub const R4: Rule = Rule::new("R4", "the wait counts from each answer");
pub const R5: Rule = Rule::new("R5", "keep going after a failure");
/// Exercise 02's rule, checked again here.
pub const EX02_R6: Rule = Rule::new("exercise 02's R6", "show each answer");

/// The exercise's client, served by its server.
pub fn spec() -> ClientSpec {
    ClientSpec::new(app, CLIENT_JS, env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn s01_while_visible_it_polls_every_3_s_after_each_answer() {
    s01(&spec());
}

pub fn s01(spec: &ClientSpec) {
    let trace = spec.run(15_000, |browser| {
        browser.latency(Latency::Fixed(100));
    });
    // A poll driven by frames starts at the first frame on or after the due time.
    spec.check_rule(R4, &trace, checks::first_poll_by(&trace, FRAME_MS));
    spec.check_rule(
        R4,
        &trace,
        checks::waits_between_polls(&trace, INTERVAL_MS, FRAME_MS),
    );
    spec.check(&trace, checks::no_script_errors(&trace));
}

#[test]
fn s02_no_polls_while_the_page_is_hidden() {
    s02(&spec());
}

pub fn s02(spec: &ClientSpec) {
    let trace = spec.run(30_000, |browser| {
        browser.latency(Latency::Fixed(100)).hide(5_000..20_000);
    });
    spec.check_rule(R1, &trace, checks::no_polls_while_hidden(&trace, 30_000));
    spec.check(&trace, checks::no_script_errors(&trace));
    assert_trace_snapshot!(
        "s02_hidden_for_15_s",
        trace,
        steps_within = FRAME_MS,
        until = 30_000
    );
}

#[test]
fn s03_polling_resumes_at_once_when_shown() {
    s03(&spec());
}

pub fn s03(spec: &ClientSpec) {
    let trace = spec.run(40_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .hide(5_000..20_000)
            .hide(26_000..30_000);
    });
    spec.check_rule(R1, &trace, checks::no_polls_while_hidden(&trace, 40_000));
    spec.check_rule(
        R2,
        &trace,
        checks::resumes_at_once_when_shown(&trace, 40_000, INTERVAL_MS, FRAME_MS),
    );
    spec.check(&trace, checks::no_script_errors(&trace));
}

#[test]
fn s04_a_slow_server_never_has_two_polls_at_once() {
    s04(&spec());
}

pub fn s04(spec: &ClientSpec) {
    let trace = spec.run(20_000, |browser| {
        browser.latency(Latency::Fixed(5000));
    });
    spec.check_rule(R3, &trace, checks::never_two_polls_at_once(&trace));
    spec.check(&trace, checks::no_script_errors(&trace));
}

#[test]
fn s05_hidden_while_a_poll_is_in_flight() {
    s05(&spec());
}

pub fn s05(spec: &ClientSpec) {
    // The page is hidden at 1 s, while poll #1 (2 s to answer) is on its way.
    let trace = spec.run(20_000, |browser| {
        browser.latency(Latency::Fixed(2000)).hide(1_000..10_000);
    });
    spec.check_rule(R1, &trace, checks::no_polls_while_hidden(&trace, 20_000));
    spec.check_rule(
        R2,
        &trace,
        checks::resumes_at_once_when_shown(&trace, 20_000, INTERVAL_MS, FRAME_MS),
    );
    spec.check_rule(R3, &trace, checks::never_two_polls_at_once(&trace));
    spec.check(&trace, checks::no_script_errors(&trace));
    assert_trace_snapshot!(
        "s05_hidden_mid_poll",
        trace,
        steps_within = FRAME_MS,
        until = 20_000
    );
}

#[test]
fn s06_polling_goes_on_after_a_failed_request() {
    s06(&spec());
}

pub fn s06(spec: &ClientSpec) {
    let trace = spec.run(30_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(2_000..8_000, Failure::NetworkError)
            .fail(8_000..12_000, Failure::Status(503));
    });
    spec.check_rule(
        R5,
        &trace,
        checks::keeps_polling_after_a_failure(
            &trace,
            30_000,
            INTERVAL_MS + 100 + FRAME_MS,
        ),
    );
    // Shown while the polls fail, cleared once one succeeds.
    let failing = status_at(&trace, 11_999).unwrap_or_default();
    spec.check_rule(
        R5,
        &trace,
        if failing.is_empty() {
            Err("while the polls fail (2 s to 12 s), the status line says so (`showStatus` in the `catch`); at \
                 11999 ms it said nothing."
                .to_owned())
        } else {
            Ok(())
        },
    );
    let after = status_at(&trace, 29_999).unwrap_or_default();
    spec.check_rule(
        R5,
        &trace,
        if after.is_empty() {
            Ok(())
        } else {
            Err(format!("once a poll succeeds again, the status line is cleared; at 29999 ms it still said {after:?}."))
        },
    );
    spec.check(&trace, checks::no_script_errors(&trace));
}

#[test]
fn s07_a_new_message_shows_up_at_the_next_poll() {
    s07(&spec());
}

pub fn s07(spec: &ClientSpec) {
    let trace = spec.run(10_000, |browser| {
        browser.latency(Latency::Fixed(100)).post_at(
            4_000,
            "grace",
            "are you there?",
        );
    });
    spec.check_rule(
        EX02_R6,
        &trace,
        checks::shows_new_message(&trace, 4_000, INTERVAL_MS + 2 * 100 + FRAME_MS),
    );
    spec.check(&trace, checks::no_script_errors(&trace));
}
