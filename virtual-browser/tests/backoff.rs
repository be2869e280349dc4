//! Deliberately wrong backoffs, run by exercise 04's real client, fail the
//! checks exercise 04's spec uses, each with a message that says what is
//! wrong.

use virtual_browser::checks::BackoffPart;
use virtual_browser::{Browser, FRAME_MS, Failure, Latency, Page, Trace, checks, known_clients};

const CLIENT: &str = backoff::CLIENT_JS;
const GOOD: &str = backoff::BACKOFF_JS;
const RULES: checks::Backoff<'static> =
    checks::Backoff { interval: 3000, schedule: &[0, 3000, 10_000, 30_000], slack: FRAME_MS };

fn run(backoff: &str, end: u64, scene: impl FnOnce(&mut Browser)) -> Trace {
    let mut browser = Browser::new(poll_server::app());
    scene(&mut browser);
    let page =
        Page::client("/client.js", CLIENT).with_module("/backoff.js", backoff).with_module("/good-backoff.js", GOOD);
    browser.open(page);
    browser.run_until(end).clone()
}

fn outage(browser: &mut Browser) {
    browser.latency(Latency::Fixed(100)).fail(10_000..70_000, Failure::NetworkError);
}

#[test]
fn the_course_backoff_passes() {
    let trace = run(GOOD, 120_000, outage);
    assert_eq!(checks::follows_backoff(&trace, RULES, 120_000), Ok(()));
    assert_eq!(checks::keeps_polling_after_a_failure(&trace, 120_000, 30_016), Ok(()));
}

#[test]
fn retrying_at_once_forever_is_too_soon() {
    let trace = run(known_clients::BACKOFF_IMMEDIATE_FOREVER, 120_000, outage);
    let problem = checks::follows_backoff(&trace, RULES, 120_000).unwrap_err();
    assert!(
        problem.contains(
            "failed (network error) at 12644 ms; too soon: after 2 failures in a row, wait between 1500 and 3000 ms"
        ),
        "{problem}"
    );
}

#[test]
fn linear_backoff_without_a_cap_is_caught() {
    let trace = run(known_clients::BACKOFF_LINEAR_NO_CAP, 200_000, |browser| {
        browser.latency(Latency::Fixed(100)).fail(10_000..150_000, Failure::NetworkError);
    });
    let problem = checks::follows_backoff(&trace, RULES, 200_000).unwrap_err();
    assert!(problem.contains("too late: after the first failure, retry at once."), "{problem}");
}

#[test]
fn forgetting_to_reset_after_a_success_is_caught() {
    let trace = run(known_clients::BACKOFF_NO_RESET, 80_000, |browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(3_000..8_000, Failure::Status(503))
            .fail(14_000..40_000, Failure::Status(503));
    });
    let problem = checks::follows_backoff(&trace, RULES, 80_000).unwrap_err();
    assert!(problem.contains("too late: after the first failure, retry at once."), "{problem}");
    assert!(problem.contains("did the backoff forget its failures then?"), "{problem}");
}

#[test]
fn ignoring_retry_after_is_caught() {
    let trace = run(known_clients::BACKOFF_IGNORES_RETRY_AFTER, 40_000, |browser| {
        browser.latency(Latency::Fixed(100)).fail(3_000..3_500, Failure::RetryAfter { status: 429, seconds: 20 });
    });
    let problem = checks::honours_retry_after(&trace).unwrap_err();
    assert!(
        problem.starts_with("GET /poll #2 was answered 429 with Retry-After: 20 at 3220 ms, but #3 went out at 3232 ms, only 12 ms later"),
        "{problem}"
    );
}

#[test]
fn giving_up_after_five_failures_is_caught() {
    let trace = run(known_clients::BACKOFF_GIVES_UP, 200_000, |browser| {
        browser.latency(Latency::Fixed(100)).fail(10_000..150_000, Failure::NetworkError);
    });
    let problem = checks::keeps_polling_after_a_failure(&trace, 200_000, 30_000 + FRAME_MS).unwrap_err();
    assert!(problem.contains("the client stopped polling for good"), "{problem}");
}

/// A long outage: 10 s to 190 s.
fn long_outage(browser: &mut Browser) {
    browser.latency(Latency::Fixed(100)).fail(10_000..190_000, Failure::NetworkError);
}

#[test]
fn each_wrong_backoff_breaks_its_own_part_of_the_schedule() {
    let part = |backoff: &str, end: u64, scene: fn(&mut Browser)| {
        checks::backoff_problem(&run(backoff, end, scene), RULES, end).map_err(|(part, _)| part)
    };
    assert_eq!(part(GOOD, 250_000, long_outage), Ok(()));
    assert_eq!(part(known_clients::BACKOFF_LINEAR_NO_CAP, 250_000, long_outage), Err(BackoffPart::AtOnce));
    assert_eq!(part(known_clients::BACKOFF_IMMEDIATE_FOREVER, 250_000, long_outage), Err(BackoffPart::TooSoon));
    assert_eq!(part(known_clients::BACKOFF_FULL_JITTER, 250_000, long_outage), Err(BackoffPart::TooSoon));
    assert_eq!(part(known_clients::BACKOFF_NO_CAP, 250_000, long_outage), Err(BackoffPart::OverCap));
    let two_outages = |browser: &mut Browser| {
        browser
            .latency(Latency::Fixed(100))
            .fail(3_000..8_000, Failure::Status(503))
            .fail(14_000..40_000, Failure::Status(503));
    };
    assert_eq!(part(known_clients::BACKOFF_NO_RESET, 80_000, two_outages), Err(BackoffPart::Reset));
    let asks = |browser: &mut Browser| {
        browser.latency(Latency::Fixed(100)).fail(3_000..3_500, Failure::RetryAfter { status: 429, seconds: 20 });
    };
    assert_eq!(part(known_clients::BACKOFF_IGNORES_RETRY_AFTER, 40_000, asks), Err(BackoffPart::RetryAfter));
    let hidden = |browser: &mut Browser| {
        browser.latency(Latency::Fixed(100)).fail(10_000..70_000, Failure::NetworkError).hide(20_000..50_000);
    };
    assert_eq!(part(GOOD, 120_000, hidden), Ok(()));
    assert_eq!(part(known_clients::BACKOFF_RESETS_WHEN_SHOWN, 120_000, hidden), Err(BackoffPart::ShownReset));
}
