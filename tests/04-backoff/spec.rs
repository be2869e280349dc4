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
//!
//! The rules chapter 04 teaches, and the scenarios that pin them: a known
//! wrong `backoff.js` that breaks the rule fails each of those scenarios
//! (other scenarios check the rule too). A failure names the rule it breaks:
//! "Broken rule R3 (30 s is the cap): ...".
//!
//! - R1 the first retry goes out at once: after one failure, wait 0 (s01, s06, s07)
//! - R2 then the waits grow: 3 s after the second failure in a row, 10 s after the third, 30 s after that (s01, s06, s07)
//! - R3 30 s is the cap: no wait is ever longer, and the page finds out within 30 s that the server is back (s01, s06, s11)
//! - R4 it never gives up: however long the outage, a retry is always due (s01, s11)
//! - R5 one success resets it: INTERVAL_MS after a success, and the next failure is retried at once again (s03, s07, s09)
//! - R6 equal jitter: each wait is random, between half of its step and all of it, in whole milliseconds (Math.round) (s02)
//! - R7 Retry-After is a minimum: never wait less than the server asked for, and a Retry-After shorter than the schedule's wait changes nothing (s04, s08, s12, s13)
//! - R8 Retry-After holds whole seconds ("120") or an HTTP date; anything else, "120abc" or "1.5", is 0 (s05)
//! - R9 showing the page does not reset the backoff: only a success does (s10)
//! - R10 a Retry-After is spread: when it is longer than the jittered wait, wait Retry-After plus a random extra, this.random() × RETRY_AFTER_SPREAD (half) of it, in whole milliseconds, so clients told the same Retry-After do not come back together (s08, s12, s13)
//!
//! The snapshots (`snapshots/`) show the solution's run of s06, s07, s08,
//! s10 and s13, and are compared only when the spec runs the solution. Each
//! wait is random, and a backoff that keeps every rule may draw its random
//! numbers in another order than the solution does (one draw for the jitter
//! and another for a Retry-After's spread, say), and so wait other lengths,
//! all of them right. So the checks alone decide whether your backoff keeps
//! the rules, and your run may differ from the snapshot's.
//!
//! Each scenario is a function taking the [`ClientSpec`] it runs, so the
//! course's own tests (`wrong_solutions.rs`, next to this file) run the very
//! same scenarios with known wrong `backoff.js` modules, and check that each
//! fails naming the rule it breaks.

use backoff::{
    BACKOFF_JS, CLIENT_JS, INTERVAL_MS, RETRY_AFTER_SPREAD, RETRY_SCHEDULE_MS, app,
};
use spec_support::{ClientSpec, Rule, assert_trace_snapshot};
use virtual_browser::{
    Event, FRAME_MS, Failure, Latency, Outcome, Trace,
    checks::{self, BackoffPart},
};

pub const R1: Rule = Rule::new("R1", "the first retry goes out at once");
pub const R2: Rule = Rule::new("R2", "then the waits grow: 3 s, 10 s, 30 s");
pub const R3: Rule = Rule::new("R3", "30 s is the cap");
pub const R4: Rule = Rule::new("R4", "it never gives up");
pub const R5: Rule = Rule::new("R5", "one success resets it");
pub const R6: Rule = Rule::new("R6", "equal jitter, in whole milliseconds");
pub const R7: Rule = Rule::new("R7", "Retry-After is a minimum");
pub const R8: Rule =
    Rule::new("R8", "Retry-After holds whole seconds or an HTTP date");
pub const R9: Rule = Rule::new("R9", "showing the page does not reset the backoff");
pub const R10: Rule = Rule::new("R10", "a Retry-After is spread");
/// Exercise 03's rule, kept by the given client.
pub const EX03_R1: Rule = Rule::new("exercise 03's R1", "nothing while hidden");

/// The exercise's page, with the learner's `backoff.js`.
pub fn spec() -> ClientSpec {
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

/// The cap: the schedule's last step.
const CAP_MS: u64 = RETRY_SCHEDULE_MS[RETRY_SCHEDULE_MS.len() - 1];

/// The rules a wrong wait in a trace breaks, by what it got wrong.
fn rules_for(part: BackoffPart) -> &'static [Rule] {
    match part {
        BackoffPart::AfterSuccess | BackoffPart::Reset => &[R5],
        BackoffPart::AtOnce => &[R1],
        // Shorter than half the step: the waits do not grow, or the jitter
        // takes more than half of each.
        BackoffPart::TooSoon => &[R2, R6],
        BackoffPart::TooLate => &[R2],
        BackoffPart::OverCap => &[R3],
        BackoffPart::RetryAfter => &[R7],
        BackoffPart::ShownReset => &[R9],
    }
}

/// Every wait in the trace follows the schedule, and every wait after a
/// Retry-After keeps R7 and R10; a failure names the rule.
fn check_backoff(spec: &ClientSpec, trace: &Trace, end: u64) {
    check_retry_after(spec, trace, end);
    let schedule_view = without_spread(trace, end);
    if let Err((part, problem)) = checks::backoff_problem(&schedule_view, RULES, end)
    {
        spec.check_rules(rules_for(part), trace, Err(problem));
    }
}

/// The most a Retry-After of `asked` ms may be spread by (R10): half of it.
fn spread_of(asked: u64) -> u64 {
    (asked as f64 * RETRY_AFTER_SPREAD).round() as u64
}

/// A wait after a poll that was answered with `Retry-After`.
#[derive(Debug)]
struct RetryAfterWait {
    /// The poll answered with Retry-After, when, and the poll after it.
    request: usize,
    answered: u64,
    next: usize,
    /// From that answer to the next poll.
    wait: u64,
    /// What the server asked for, in ms.
    asked: u64,
    /// The schedule's step for that failure in a row.
    step: u64,
    /// The page was hidden during the wait (nothing polls then).
    hidden: bool,
}

impl RetryAfterWait {
    /// The longest wait R7 and R10 allow: the schedule's step, or the
    /// Retry-After with all of its spread, whichever is longer.
    fn longest(&self) -> u64 {
        self.step.max(self.asked + spread_of(self.asked))
    }
}

/// Every wait after a poll answered with `Retry-After` (in seconds),
/// counting failures in a row as `checks::backoff_problem` does.
fn retry_after_waits(trace: &Trace, end: u64) -> Vec<RetryAfterWait> {
    let polls: Vec<_> =
        trace.spans_to("/poll").into_iter().filter(|p| p.method == "GET").collect();
    let hidden = trace.hidden_windows(end);
    let mut failures = 0;
    let mut waits = Vec::new();
    for pair in polls.windows(2) {
        let (previous, next) = (&pair[0], &pair[1]);
        let (Some(answered), Some(outcome)) = (previous.answered, &previous.outcome)
        else {
            continue;
        };
        if outcome.is_success() {
            failures = 0;
            continue;
        }
        failures += 1;
        let Outcome::Status { retry_after: Some(seconds), .. } = outcome else {
            continue;
        };
        let Ok(seconds) = seconds.parse::<u64>() else {
            continue;
        };
        waits.push(RetryAfterWait {
            request: previous.request,
            answered,
            next: next.request,
            wait: next.sent.saturating_sub(answered),
            asked: seconds * 1000,
            step: RETRY_SCHEDULE_MS[(failures - 1).min(RETRY_SCHEDULE_MS.len() - 1)],
            hidden: hidden.iter().any(|w| w.start < next.sent && w.end > answered),
        });
    }
    waits
}

/// R7 and R10 in a trace: each wait after a Retry-After is at least what
/// the server asked for, and at most the longer of the schedule's step and
/// the Retry-After with all of its spread (plus a frame).
fn check_retry_after(spec: &ClientSpec, trace: &Trace, end: u64) {
    for w in retry_after_waits(trace, end) {
        let what = format!(
            "GET /poll #{} went out {} ms after #{} was answered with Retry-After: {} at {} ms",
            w.next,
            w.wait,
            w.request,
            w.asked / 1000,
            w.answered
        );
        let (asked, spread, step) = (w.asked, spread_of(w.asked), w.step);
        if w.wait < asked {
            spec.check_rule(
                R7,
                trace,
                Err(format!(
                    "{what}; too soon: the server asked for {asked} ms, and Retry-After is a minimum: \
                     wait at least that long."
                )),
            );
        }
        if w.wait > w.longest() + FRAME_MS && !w.hidden {
            // Longer than the Retry-After with all of its spread: the spread
            // is too wide, or the schedule's own step is too long.
            let (rules, why) = if asked > step {
                (
                    &[R2, R10][..],
                    format!(
                        "wait what the server asked for plus a random extra of at most \
                         RETRY_AFTER_SPREAD of it ({spread} ms): {asked} to {} ms",
                        asked + spread
                    ),
                )
            } else {
                (
                    &[R7][..],
                    format!(
                        "the schedule's wait for this failure, at most {step} ms, is longer than \
                         the {asked} ms the server asked for, so the Retry-After changes nothing: \
                         it is a minimum, not extra"
                    ),
                )
            };
            spec.check_rules(rules, trace, Err(format!("{what}; too late: {why}.")));
        }
    }
}

/// R10 in a trace: the waits that a Retry-After longer than the schedule's
/// step decides are not all exactly that long. (A frame loop adds up to a
/// frame to each.)
fn check_spread(spec: &ClientSpec, trace: &Trace, end: u64) {
    let spread: Vec<RetryAfterWait> = retry_after_waits(trace, end)
        .into_iter()
        .filter(|w| w.asked > w.step && !w.hidden)
        .collect();
    let waits: Vec<String> = spread
        .iter()
        .map(|w| {
            format!(
                "#{} went out {} ms after #{}'s Retry-After: {}",
                w.next,
                w.wait,
                w.request,
                w.asked / 1000
            )
        })
        .collect();
    spec.check_rule(
        R10,
        trace,
        if spread.is_empty() || spread.iter().any(|w| w.wait > w.asked + FRAME_MS) {
            Ok(())
        } else {
            Err(format!(
                "when the server's Retry-After is longer than the schedule's wait, the client should wait \
                 that long plus a random extra of up to RETRY_AFTER_SPREAD of it, but it came back within a \
                 frame of exactly what the server asked for every time ({}). Every client the server answers \
                 at the same moment, with the same Retry-After, would come back together.",
                waits.join("; ")
            ))
        },
    );
}

/// The trace as `checks::backoff_problem` is to see it. That check knows
/// Retry-After only as a minimum: it allows no wait after one longer than
/// the schedule's step or the Retry-After itself. So the spread that
/// [`check_retry_after`] allowed (R10) is taken out of each wait after a
/// Retry-After, by moving that answer later by as much.
fn without_spread(trace: &Trace, end: u64) -> Trace {
    let shifts: Vec<(usize, u64)> = retry_after_waits(trace, end)
        .into_iter()
        .filter_map(|w| {
            let allowed = w.step.max(w.asked);
            (w.wait > allowed && w.wait <= w.longest() + FRAME_MS)
                .then(|| (w.request, w.wait - allowed))
        })
        .collect();
    let mut view = Trace::default();
    for (at, event) in trace.events() {
        let shift = match event {
            Event::Answered { request, .. } => {
                shifts.iter().find(|(r, _)| r == request).map_or(0, |(_, by)| *by)
            }
            _ => 0,
        };
        view.push(at + shift, event.clone());
    }
    view
}

/// What `failed()` returns for 8 failures in a row when `random()` always
/// returns `r`, as the page logged it.
fn failed_8_times(spec: &ClientSpec, r: &str) -> Vec<String> {
    spec.logs_of(&format!(
        r#"import {{ Backoff }} from "/backoff.js";
           const backoff = new Backoff(() => {r});
           for (let i = 0; i < 8; i++) console.log(String(backoff.failed()));"#
    ))
}

/// Logged waits as numbers (NaN for what is not one).
fn as_ms(logged: &[String]) -> Vec<f64> {
    logged.iter().map(|text| text.parse().unwrap_or(f64::NAN)).collect()
}

/// Every scenario after s01 works out what it expects from the schedule,
/// so each starts with s01's check: a schedule that is not the course's
/// fails naming R1 to R4, as s01 does, rather than the rule the scenario is
/// about (a wrong second step would otherwise read as a broken reset in s03).
fn the_schedule_first(spec: &ClientSpec) {
    s01(spec);
}

#[test]
fn s01_retry_at_once_then_3_10_30_s_and_never_longer() {
    s01(&spec());
}

pub fn s01(spec: &ClientSpec) {
    // random() = 1: the top of each step's range, i.e. the schedule itself
    // (exactly, so a wait rounded down is still its step here, and left to
    // R6's checks).
    let logged = failed_8_times(spec, "1");
    let top = as_ms(&logged);
    let expected = [0, 3000, 10_000, 30_000, 30_000, 30_000, 30_000, 30_000];
    let cap = CAP_MS as f64;
    let is = |wait: f64, ms: u64| (wait - ms as f64).abs() < 0.5;
    let mut broken = Vec::new();
    if !top.first().is_some_and(|wait| is(*wait, 0)) {
        broken.push(R1);
    }
    let wrong_steps = top.len() != expected.len()
        || top.iter().zip(expected).skip(1).any(|(wait, ms)| {
            wait.is_finite() && *wait <= cap + 0.5 && !is(*wait, ms)
        });
    if wrong_steps {
        broken.push(R2);
    }
    if top.iter().any(|wait| wait.is_finite() && *wait > cap + 0.5) {
        broken.push(R3);
    }
    if top.iter().any(|wait| !wait.is_finite()) {
        broken.push(R4);
    }
    spec.require(
        &broken,
        "failed",
        if broken.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "with random() = 1, 8 calls to failed() in a row should return the schedule: at once (0), \
                 then 3 s, 10 s, 30 s, and the cap, 30 s, from then on: {expected:?}. They returned [{}].",
                logged.join(", ")
            ))
        },
    );
}

#[test]
fn s02_jitter_waits_between_half_of_each_step_and_all_of_it() {
    s02(&spec());
}

pub fn s02(spec: &ClientSpec) {
    the_schedule_first(spec);
    let bottom_logged = failed_8_times(spec, "0");
    let bottom = as_ms(&bottom_logged);
    let halves = [0, 1500, 5000, 15_000, 15_000, 15_000, 15_000, 15_000];
    let at_half = bottom.len() == halves.len()
        && bottom
            .iter()
            .zip(halves)
            .all(|(wait, ms)| (wait - ms as f64).abs() < 0.5);
    spec.require(
        &[R6],
        "failed",
        if at_half {
            Ok(())
        } else {
            Err(format!(
                "with random() = 0, failed() should return half of each step (\"equal jitter\": step / 2 + \
                 random() * step / 2): {halves:?}, but it returned [{}].",
                bottom_logged.join(", ")
            ))
        },
    );
    // Whole milliseconds: with random() = 0.123456, step / 2 + random() *
    // step / 2 is 1685.184 ms for the 3 s step; the wait is 1685.
    let r = 0.123456;
    let logged = failed_8_times(spec, &r.to_string());
    let jittered: Vec<f64> =
        [0, 3000, 10_000, 30_000, 30_000, 30_000, 30_000, 30_000]
            .iter()
            .map(|step| *step as f64 / 2.0 + r * *step as f64 / 2.0)
            .collect();
    let whole = logged.len() == jittered.len()
        && logged.iter().zip(&jittered).all(|(text, exact)| {
            text.parse::<i64>().is_ok_and(|ms| (ms as f64 - exact).abs() <= 1.0)
        });
    let rounded: Vec<i64> = jittered.iter().map(|ms| ms.round() as i64).collect();
    spec.require(
        &[R6],
        "failed",
        if whole {
            Ok(())
        } else {
            Err(format!(
                "with random() = {r}, failed() should return the jittered waits in whole milliseconds, \
                 {rounded:?} (step / 2 + random() * step / 2, rounded with Math.round), but it returned [{}].",
                logged.join(", ")
            ))
        },
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
    let spread = numbers.len() == 3
        && numbers[0] >= 150.0
        && numbers[1] >= 5000.0
        && numbers[1] < 5500.0
        && numbers[2] > 9500.0
        && numbers[2] <= 10_000.0;
    spec.require(
        &[R6],
        "failed",
        if spread {
            Ok(())
        } else {
            Err(format!(
                "200 clients after 3 failures should wait anywhere from 5000 to 10000 ms, nearly all different, \
                 but they gave (different values, shortest, longest) = {logs:?}. Without jitter, clients that \
                 failed together all come back together: use `this.random()`."
            ))
        },
    );
}

#[test]
fn s03_a_success_resets_the_backoff() {
    s03(&spec());
}

pub fn s03(spec: &ClientSpec) {
    the_schedule_first(spec);
    let logs = spec.logs_of(
        r#"import { Backoff } from "/backoff.js";
           const b = new Backoff(() => 0.9999999);
           for (let i = 0; i < 5; i++) b.failed();
           console.log(b.succeeded());
           console.log(Math.round(b.failed()), Math.round(b.failed()));"#,
    );
    // The schedule started again, but one millisecond short: the wait was
    // rounded down, not to the nearest millisecond (R6), and R5 is kept.
    if logs == ["3000", "0 2999"] {
        spec.require(
            &[R6],
            "failed",
            Err(format!(
                "after a success the schedule starts again (0, then the 3000 ms step), but with random() just \
                 below 1 the second wait was 2999 ms, not 3000: round each wait to the nearest millisecond \
                 (`Math.round`), so that the largest draw gives the whole step. The script logged {logs:?}."
            )),
        );
    }
    spec.require(
        &[R5],
        "succeeded",
        if logs == ["3000", "0 3000"] {
            Ok(())
        } else {
            Err(format!(
                "after 5 failures and then a success, succeeded() should return INTERVAL_MS (3000), and the \
                 next failures should start the schedule again from the beginning (0, then 3000): [\"3000\", \
                 \"0 3000\"], but the script logged {logs:?}."
            ))
        },
    );
}

#[test]
fn s04_retry_after_is_a_minimum() {
    s04(&spec());
}

pub fn s04(spec: &ClientSpec) {
    the_schedule_first(spec);
    let logs = spec.logs_of(
        r#"import { Backoff } from "/backoff.js";
           const b = new Backoff(() => 0);
           console.log(b.failed(20000), b.failed(1000), b.failed(), b.failed(45000));"#,
    );
    spec.require(
        &[R7],
        "failed",
        if logs == ["20000 1500 5000 45000"] {
            Ok(())
        } else {
            Err(format!(
                "failed(retryAfterMs) should wait at least what the server asked for, and otherwise as the \
                 schedule says: with random() = 0 (so no random extra, s12), failed(20000), failed(1000), \
                 failed(), failed(45000) should give 20000, 1500, 5000, 45000, but the script logged {logs:?}."
            ))
        },
    );
}

#[test]
fn s05_retry_after_headers_are_read_in_seconds_or_as_a_date() {
    s05(&spec());
}

pub fn s05(spec: &ClientSpec) {
    the_schedule_first(spec);
    let logs = spec.logs_of(
        r#"import { retryAfterMs } from "/backoff.js";
           const now = Date.parse("2026-01-01T00:00:00Z");
           for (const header of ["20", " 120 ", "Thu, 01 Jan 2026 00:00:30 GMT", "Wed, 31 Dec 2025 23:59:00 GMT",
                                 "soon", "-5", "120abc", "1.5", "", null]) {
             console.log(JSON.stringify(header), retryAfterMs(header, now));
           }"#,
    );
    let expected = [
        "\"20\" 20000",
        "\" 120 \" 120000",
        "\"Thu, 01 Jan 2026 00:00:30 GMT\" 30000",
        "\"Wed, 31 Dec 2025 23:59:00 GMT\" 0",
        "\"soon\" 0",
        "\"-5\" 0",
        "\"120abc\" 0",
        "\"1.5\" 0",
        "\"\" 0",
        "null 0",
    ];
    let wrong: Vec<String> = expected
        .iter()
        .zip(logs.iter().map(String::as_str).chain(std::iter::repeat("(nothing)")))
        .filter(|(want, got)| **want != *got)
        .map(|(want, got)| format!("  expected {want}, got {got}"))
        .collect();
    spec.require(
        &[R8],
        "retryAfterMs",
        if wrong.is_empty() && logs.len() == expected.len() {
            Ok(())
        } else {
            Err(format!(
                "retryAfterMs(header, now) should read whole seconds (\"120\" is 120000 ms: digits only, so \
                 not \"120abc\", which parseInt would read as 120) or an HTTP date (the time until then, or 0 if \
                 it has passed), and give 0 for anything else:\n{}",
                wrong.join("\n")
            ))
        },
    );
}

#[test]
fn s06_an_outage_from_10_s_to_70_s() {
    s06(&spec());
}

pub fn s06(spec: &ClientSpec) {
    the_schedule_first(spec);
    let trace = spec.run(120_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(10_000..70_000, Failure::NetworkError);
    });
    spec.check(&trace, checks::never_two_polls_at_once(&trace));
    check_backoff(spec, &trace, 120_000);
    // No poll within the cap after a failure: the wait was longer than the
    // cap, or the client gave up.
    spec.check_rules(
        &[R3, R4],
        &trace,
        checks::keeps_polling_after_a_failure(&trace, 120_000, CAP_MS + FRAME_MS),
    );
    let back = trace.spans_to("/poll").into_iter().find(|p| p.sent >= 70_000);
    spec.check_rule(
        R3,
        &trace,
        if back
            .as_ref()
            .is_some_and(|p| p.sent <= 70_000 + CAP_MS + FRAME_MS && !p.failed())
        {
            Ok(())
        } else {
            Err(format!(
                "the server is back at 70 s: the client should find out within one capped wait (30 s), but \
                 its first poll after 70 s was {back:?}."
            ))
        },
    );
    spec.check(&trace, checks::no_script_errors(&trace));
    if spec.runs_the_solution() {
        assert_trace_snapshot!("s06_outage", trace);
    }
}

#[test]
fn s07_intermittent_server_errors() {
    s07(&spec());
}

pub fn s07(spec: &ClientSpec) {
    the_schedule_first(spec);
    let trace = spec.run(60_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(3_000..3_500, Failure::Status(500))
            .fail(12_000..20_000, Failure::Status(500))
            .fail(30_000..30_200, Failure::Status(502));
    });
    check_backoff(spec, &trace, 60_000);
    spec.check(&trace, checks::no_script_errors(&trace));
    if spec.runs_the_solution() {
        assert_trace_snapshot!("s07_intermittent_errors", trace);
    }
}

#[test]
fn s08_a_429_with_retry_after_20_is_honoured() {
    s08(&spec());
}

pub fn s08(spec: &ClientSpec) {
    the_schedule_first(spec);
    let trace = spec.run(40_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(3_000..3_500, Failure::RetryAfter { status: 429, seconds: 20 });
    });
    spec.check_rule(R7, &trace, checks::honours_retry_after(&trace));
    check_backoff(spec, &trace, 40_000);
    check_spread(spec, &trace, 40_000);
    spec.check(&trace, checks::no_script_errors(&trace));
    if spec.runs_the_solution() {
        assert_trace_snapshot!("s08_retry_after", trace);
    }
}

#[test]
fn s09_one_success_between_failures_resets_the_backoff() {
    s09(&spec());
}

pub fn s09(spec: &ClientSpec) {
    the_schedule_first(spec);
    // Failures from 3 s to 8 s; the server is fine from 8 s to 14 s (the
    // client gets through once); then it fails again from 14 s to 40 s.
    let trace = spec.run(80_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(3_000..8_000, Failure::Status(503))
            .fail(14_000..40_000, Failure::Status(503));
    });
    let got_through = trace
        .spans_to("/poll")
        .iter()
        .any(|p| (8_000..14_000).contains(&p.sent) && !p.failed());
    spec.check_rule(
        R2,
        &trace,
        if got_through {
            Ok(())
        } else {
            Err("between the two outages (8 s to 14 s) the client should get one poll through: after 3 \
                 failures in a row it waits at most 10 s."
                .to_owned())
        },
    );
    check_backoff(spec, &trace, 80_000);
    spec.check(&trace, checks::no_script_errors(&trace));
}

#[test]
fn s10_hidden_during_the_outage() {
    s10(&spec());
}

pub fn s10(spec: &ClientSpec) {
    the_schedule_first(spec);
    // The page is hidden from 20 s to 50 s of a 10 s to 70 s outage. While
    // hidden it sends nothing; when shown, it retries if a retry is due, and
    // its backoff goes on where it was (only a success resets it).
    let trace = spec.run(120_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(10_000..70_000, Failure::NetworkError)
            .hide(20_000..50_000);
    });
    spec.check_rule(EX03_R1, &trace, checks::no_polls_while_hidden(&trace, 120_000));
    check_backoff(spec, &trace, 120_000);
    spec.check(&trace, checks::no_script_errors(&trace));
    if spec.runs_the_solution() {
        assert_trace_snapshot!("s10_hidden_outage", trace);
    }
}

#[test]
fn s11_a_three_minute_outage() {
    s11(&spec());
}

pub fn s11(spec: &ClientSpec) {
    the_schedule_first(spec);
    // Down from 10 s to 190 s: a dozen failures in a row. The client keeps
    // retrying, never more than 30 s apart, and finds the server back.
    let trace = spec.run(250_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(10_000..190_000, Failure::NetworkError);
    });
    check_backoff(spec, &trace, 250_000);
    // No poll within the cap after a failure: the wait was longer than the
    // cap, or the client gave up.
    spec.check_rules(
        &[R3, R4],
        &trace,
        checks::keeps_polling_after_a_failure(&trace, 250_000, CAP_MS + FRAME_MS),
    );
    let back = trace.spans_to("/poll").into_iter().find(|p| p.sent >= 190_000);
    spec.check_rules(
        &[R3, R4],
        &trace,
        if back
            .as_ref()
            .is_some_and(|p| p.sent <= 190_000 + CAP_MS + FRAME_MS && !p.failed())
        {
            Ok(())
        } else {
            Err(format!(
                "the server is back at 190 s: the client should find out within one capped wait (30 s), but \
                 its first poll after 190 s was {back:?}."
            ))
        },
    );
    spec.check(&trace, checks::no_script_errors(&trace));
}

#[test]
fn s12_a_retry_after_is_spread_over_up_to_half_of_it_again() {
    s12(&spec());
}

pub fn s12(spec: &ClientSpec) {
    the_schedule_first(spec);
    // Each case is a client's first failure in a row: the schedule says 0,
    // so the server's Retry-After is the longer wait, and is spread.
    let cases: [(f64, u64); 5] = [
        (0.0, 20_000),
        (0.5, 20_000),
        (0.9999999, 20_000),
        (0.5, 5000),
        (0.123456, 5000),
    ];
    let calls: Vec<String> =
        cases.iter().map(|(r, asked)| format!("[{r}, {asked}]")).collect();
    let logged = spec.logs_of(&format!(
        r#"import {{ Backoff }} from "/backoff.js";
           for (const [r, asked] of [{}]) console.log(String(new Backoff(() => r).failed(asked)));"#,
        calls.join(", ")
    ));
    let waits = as_ms(&logged);
    let expected: Vec<u64> = cases
        .iter()
        .map(|(r, asked)| {
            (*asked as f64 + r * *asked as f64 * RETRY_AFTER_SPREAD).round() as u64
        })
        .collect();
    let listed: Vec<String> = cases
        .iter()
        .zip(&expected)
        .map(|((r, asked), want)| {
            format!("  random() = {r}, failed({asked}): {want}")
        })
        .collect();
    let too_soon = waits.len() != cases.len()
        || waits
            .iter()
            .zip(&cases)
            .any(|(wait, (_, asked))| wait.is_nan() || *wait < *asked as f64);
    spec.require(
        &[R7],
        "failed",
        if too_soon {
            Err(format!(
                "after a first failure the schedule says 0, so the server's Retry-After is the longer wait, \
                 and failed(retryAfterMs) should wait at least that long; for\n{}\nit returned [{}].",
                listed.join("\n"),
                logged.join(", ")
            ))
        } else {
            Ok(())
        },
    );
    let exact =
        waits.iter().zip(&expected).all(|(wait, want)| *wait == *want as f64);
    spec.require(
        &[R10],
        "failed",
        if exact {
            Ok(())
        } else {
            Err(format!(
                "a Retry-After longer than the jittered wait should be waited in full, plus a random extra \
                 of this.random() * retryAfterMs * RETRY_AFTER_SPREAD (up to half of it again), rounded with \
                 Math.round: the server tells every client the same wait, and the client spreads it. For\n{}\n\
                 failed() returned [{}].",
                listed.join("\n"),
                logged.join(", ")
            ))
        },
    );
    // 200 readers, each with a random() of its own (a seeded generator, as
    // each reader's browser has its own Math.random), all answered 503 with
    // Retry-After: 5 at their first failure, as exercise 06's server does.
    let logs = spec.logs_of(
        r#"import { Backoff } from "/backoff.js";
           function seeded(seed) {
             return () => {
               seed = (seed + 0x6d2b79f5) | 0;
               let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
               t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
               return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
             };
           }
           const waits = [];
           for (let reader = 1; reader <= 200; reader++) waits.push(new Backoff(seeded(reader)).failed(5000));
           console.log(new Set(waits).size, Math.min(...waits), Math.max(...waits));"#,
    );
    let numbers: Vec<f64> =
        logs[0].split(' ').filter_map(|n| n.parse().ok()).collect();
    let top = 5000.0 + spread_of(5000) as f64;
    let spread = numbers.len() == 3
        && numbers[0] >= 150.0
        && numbers[1] >= 5000.0
        && numbers[1] < 5250.0
        && numbers[2] > top - 250.0
        && numbers[2] <= top;
    spec.require(
        &[R10],
        "failed",
        if spread {
            Ok(())
        } else {
            Err(format!(
                "200 readers, each with its own random(), all answered Retry-After: 5 at their first \
                 failure, should come back anywhere from 5000 to {top} ms, nearly all at different times, \
                 but they gave (different values, shortest, longest) = {logs:?}. Waiting exactly what the \
                 server asked for brings them all back in the same millisecond."
            ))
        },
    );
}

#[test]
fn s13_a_503_outage_where_every_answer_says_retry_after_5() {
    s13(&spec());
}

pub fn s13(spec: &ClientSpec) {
    the_schedule_first(spec);
    // The store is down from 10 s to 40 s, and every poll gets 503 with
    // Retry-After: 5, as exercise 06's server answers. After the first two
    // failures the server's 5 s is longer than the schedule's step (0, then
    // 3 s), so it is spread; from the third on, the jittered wait (5 to 10 s,
    // then 15 to 30 s) is at least as long, and Retry-After changes nothing.
    let trace = spec.run(100_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(10_000..40_000, Failure::RetryAfter { status: 503, seconds: 5 });
    });
    spec.check_rule(R7, &trace, checks::honours_retry_after(&trace));
    check_backoff(spec, &trace, 100_000);
    check_spread(spec, &trace, 100_000);
    spec.check(&trace, checks::no_script_errors(&trace));
    if spec.runs_the_solution() {
        assert_trace_snapshot!("s13_retry_after_outage", trace);
    }
}
