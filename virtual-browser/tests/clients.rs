//! Deliberately wrong clients fail the same checks the exercise specs use,
//! with messages that teach; the right alternative the book shows passes.

use virtual_browser::{Browser, Failure, Latency, Page, Trace, checks, known_clients};

fn run(client: &str, end: u64, scene: impl FnOnce(&mut Browser)) -> Trace {
    let mut browser = Browser::new(poll_server::app());
    scene(&mut browser);
    browser.open(Page::client("/client.js", client));
    browser.run_until(end).clone()
}

fn slow_server(browser: &mut Browser) {
    browser.latency(Latency::Fixed(5000));
}

#[test]
fn set_interval_on_a_slow_server_overlaps_requests() {
    let trace = run(known_clients::SET_INTERVAL, 20_000, slow_server);
    let problem = checks::never_two_polls_at_once(&trace).unwrap_err();
    assert_eq!(
        problem,
        "two GET /poll requests were in flight at 6000 ms (#1 sent at 3000 ms was still waiting when #2 was sent): \
         start the next request only after the previous one has finished: in a timer chain, set the next \
         setTimeout after the answer (never setInterval); in a frame loop, `await` the request before the next \
         frame may start another"
    );
}

#[test]
fn a_loop_that_stops_after_one_failed_request_is_caught() {
    let trace = run(known_clients::STOPS_AFTER_A_FAILURE, 30_000, |browser| {
        browser.latency(Latency::Fixed(100)).fail(5_000..8_000, Failure::NetworkError);
    });
    let error = checks::no_script_errors(&trace).unwrap_err();
    assert!(
        error.starts_with(
            "the page's script failed at 6300 ms:\n  Uncaught (in promise) TypeError: cannot read property 'msg' of \
             undefined at /client.js:13:18, in getNewMsgs"
        ),
        "{error}"
    );
    let stopped = checks::keeps_polling_after_a_failure(&trace, 30_000, 3100).unwrap_err();
    assert!(
        stopped.starts_with("GET /poll #3 failed at 6300 ms (network error), and no poll followed it"),
        "{stopped}"
    );
    assert!(stopped.contains("the client stopped polling for good"), "{stopped}");
}

#[test]
fn a_raf_loop_that_does_not_await_overlaps_requests() {
    let trace = run(known_clients::RAF_WITHOUT_AWAIT, 20_000, slow_server);
    let problem = checks::never_two_polls_at_once(&trace).unwrap_err();
    assert!(problem.starts_with("two GET /poll requests were in flight at 3024 ms (#1 sent at 16 ms"), "{problem}");
    // It does pause while hidden: that part of the original was right.
    let trace = run(known_clients::RAF_WITHOUT_AWAIT, 30_000, |browser| {
        browser.latency(Latency::Fixed(100)).hide(5_000..20_000);
    });
    assert_eq!(checks::no_polls_while_hidden(&trace, 30_000), Ok(()));
}

#[test]
fn a_loop_that_ignores_hidden_is_caught() {
    let trace = run(known_clients::IGNORES_HIDDEN, 30_000, |browser| {
        browser.latency(Latency::Fixed(100)).hide(5_000..20_000);
    });
    let problem = checks::no_polls_while_hidden(&trace, 30_000).unwrap_err();
    assert!(
        problem.starts_with("GET /poll #3 was sent at 7000 ms while the page was hidden (from 5000 ms to 20000 ms)"),
        "{problem}"
    );
}

#[test]
fn the_page_visibility_alternative_passes_every_hidden_page_check() {
    let client = known_clients::VISIBILITY;
    let trace = run(client, 40_000, |browser| {
        browser.latency(Latency::Fixed(100)).hide(5_000..20_000).hide(26_050..30_000);
    });
    assert_eq!(checks::no_script_errors(&trace), Ok(()));
    assert_eq!(checks::no_polls_while_hidden(&trace, 40_000), Ok(()));
    assert_eq!(checks::resumes_when_shown(&trace, 40_000, 3000), Ok(()));
    assert_eq!(
        checks::waits_between_polls(&trace, 3000, 0),
        Err("GET /poll #3 was sent at 20000 ms, 16800 ms after #2 was answered at 3200 ms: the client should wait \
         INTERVAL_MS = 3000 ms after each answer before it polls again"
            .to_owned()),
        "it waits longer than one interval only because the page was hidden"
    );
    let trace = run(client, 20_000, slow_server);
    assert_eq!(checks::never_two_polls_at_once(&trace), Ok(()));
}

#[test]
fn a_chain_started_with_a_timer_is_caught_waiting_before_the_first_poll() {
    let trace = run(known_clients::WAITS_BEFORE_THE_FIRST_POLL, 5_000, |browser| {
        browser.latency(Latency::Fixed(100));
    });
    let problem = checks::first_poll_by(&trace, 0).unwrap_err();
    assert!(problem.starts_with("the first GET /poll went out at 3000 ms"), "{problem}");
}

/// Answers on whole tenths of a second hide a poller that ticks every
/// 100 ms; answers at odd moments show it.
#[test]
fn a_poller_that_ticks_every_100_ms_is_caught_only_when_answers_land_between_ticks() {
    let even = run(known_clients::TICKS_EVERY_100_MS, 10_000, |browser| {
        browser.latency(Latency::Scripted(vec![100, 700, 1800, 100]));
    });
    assert_eq!(checks::waits_between_polls(&even, 3000, 0), Ok(()));
    let odd = run(known_clients::TICKS_EVERY_100_MS, 10_000, |browser| {
        browser.latency(Latency::Scripted(vec![130, 1234]));
    });
    assert_eq!(
        checks::waits_between_polls(&odd, 3000, 4),
        Err("GET /poll #2 was sent at 3200 ms, 3070 ms after #1 was answered at 130 ms: the client should wait \
             INTERVAL_MS = 3000 ms after each answer before it polls again"
            .to_owned())
    );
}

#[test]
fn a_client_that_reads_an_error_answer_as_messages_is_caught() {
    let scene = |browser: &mut Browser| {
        browser.latency(Latency::Fixed(100)).fail(2_000..5_000, Failure::Status(500));
    };
    let trace = run(known_clients::RENDERS_ERROR_ANSWERS, 10_000, scene);
    let problem = checks::shows_nothing_from_error_answers(&trace).unwrap_err();
    assert!(
        problem.starts_with("GET /poll #2 was answered 500 at 3200 ms, and the page then shows 0 msgs"),
        "{problem}"
    );
    // A client that throws on an error answer shows nothing from it.
    let trace = run(known_clients::SLEEP_LOOP, 10_000, scene);
    assert_eq!(checks::shows_nothing_from_error_answers(&trace), Ok(()));
}

fn sending(browser: &mut Browser) {
    browser.latency(Latency::Fixed(100)).send_at(4_500, "ada", "hello");
}

#[test]
fn after_sending_a_client_refreshes_once_and_its_loop_goes_on() {
    let trace = run(known_clients::SLEEP_LOOP, 15_000, sending);
    assert_eq!(checks::refreshes_after_sending(&trace, 3000, 4), Ok(()));
}

#[test]
fn a_client_that_starts_a_second_chain_after_sending_is_caught() {
    let trace = run(known_clients::SECOND_CHAIN_AFTER_SENDING, 15_000, sending);
    let problem = checks::refreshes_after_sending(&trace, 3000, 4).unwrap_err();
    assert!(
        problem.starts_with("GET /poll #6 went out at 7700 ms, only 1400 ms after #5 was answered at 6300 ms"),
        "{problem}"
    );
    assert!(problem.contains("calling poll() there starts a second chain"), "{problem}");
}

#[test]
fn a_client_that_does_not_refresh_after_sending_is_caught() {
    let trace = run(known_clients::NO_REFRESH_AFTER_SENDING, 15_000, sending);
    let problem = checks::refreshes_after_sending(&trace, 3000, 4).unwrap_err();
    assert!(
        problem.starts_with(
            "the user sent \"hello\" at 4500 ms (POST /poll #3 answered at 4600 ms), but no GET /poll followed at \
             once (the next went out at 6200 ms)"
        ),
        "{problem}"
    );
}

fn hidden_twice(browser: &mut Browser) {
    browser.latency(Latency::Fixed(100)).hide(5_000..20_000).hide(21_000..22_000);
}

#[test]
fn the_page_visibility_alternative_resumes_at_once_when_shown() {
    let trace = run(known_clients::VISIBILITY, 40_000, hidden_twice);
    assert_eq!(checks::resumes_at_once_when_shown(&trace, 40_000, 3000, 16), Ok(()));
}

#[test]
fn a_client_that_waits_an_interval_when_shown_is_caught() {
    let trace = run(known_clients::VISIBILITY_WAITS_WHEN_SHOWN, 40_000, |browser| {
        browser.latency(Latency::Fixed(100)).hide(5_000..20_000);
    });
    let problem = checks::resumes_at_once_when_shown(&trace, 40_000, 3000, 16).unwrap_err();
    assert!(
        problem.starts_with(
            "the page was shown again at 20000 ms; the last answer (GET /poll #2) came at 3200 ms, so a poll was \
             overdue, but the next poll went out only at 23000 ms"
        ),
        "{problem}"
    );
    // Within one interval, which is all the older check asks.
    assert_eq!(checks::resumes_when_shown(&trace, 40_000, 3000), Ok(()));
}

#[test]
fn a_visibility_client_that_keeps_its_pending_timer_is_caught() {
    let trace = run(known_clients::VISIBILITY_KEEPS_ITS_TIMER, 30_000, |browser| {
        browser.latency(Latency::Fixed(100)).hide(5_000..20_000);
    });
    let problem = checks::no_polls_while_hidden(&trace, 30_000).unwrap_err();
    assert!(problem.starts_with("GET /poll #3 was sent at 7000 ms while the page was hidden"), "{problem}");
}

#[test]
fn a_frame_loop_that_counts_from_the_frame_is_caught() {
    let trace = run(known_clients::RAF_COUNTS_FROM_THE_FRAME, 10_000, |browser| {
        browser.latency(Latency::Fixed(100));
    });
    let problem = checks::waits_between_polls(&trace, 3000, 16).unwrap_err();
    assert!(
        problem.starts_with("GET /poll #2 was sent at 3024 ms, 2908 ms after #1 was answered at 116 ms"),
        "{problem}"
    );
}

#[test]
fn a_frame_loop_without_try_catch_stops_after_a_failure() {
    let trace = run(known_clients::RAF_STOPS_AFTER_A_FAILURE, 30_000, |browser| {
        browser.latency(Latency::Fixed(100)).fail(2_000..8_000, Failure::NetworkError);
    });
    let problem = checks::keeps_polling_after_a_failure(&trace, 30_000, 3116).unwrap_err();
    assert!(problem.contains("the client stopped polling for good"), "{problem}");
}
