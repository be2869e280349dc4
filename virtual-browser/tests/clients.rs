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
         schedule the next request only after the previous one has finished (setTimeout after the response, not \
         setInterval)"
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
