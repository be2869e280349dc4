//! The fleet simulation on a small fleet.

use book_figures::fleet::{Fleet, simulate};
use virtual_browser::{Failure, Page, known_clients};

/// A setTimeout chain with the course's schedule; `jitter` picks the wait
/// between half of each step and all of it, or always the whole step.
fn client(jitter: bool) -> Page {
    let random = if jitter { "Math.random()" } else { "1" };
    Page::client(
        "/client.js",
        &format!(
            r#"const SCHEDULE = [0, 3000, 10000, 30000];
               let failures = 0;
               async function poll() {{
                 let wait = 3000;
                 try {{
                   const response = await fetch("/poll");
                   if (!response.ok) throw new Error();
                   failures = 0;
                 }} catch {{
                   failures += 1;
                   const step = SCHEDULE[Math.min(failures, SCHEDULE.length) - 1];
                   wait = step / 2 + {random} * step / 2;
                 }}
                 setTimeout(poll, wait);
               }}
               poll();"#
        ),
    )
}

fn fleet() -> Fleet {
    Fleet {
        clients: 60,
        spread: 3000,
        outage: 10_000..40_000,
        failure: Failure::NetworkError,
        latency: 50,
        end: 90_000,
        first_seed: 1,
    }
}

#[test]
fn a_fleet_run_is_the_same_every_time() {
    let app = poll_endpoint::app();
    assert_eq!(simulate(&fleet(), &app, &client(true)), simulate(&fleet(), &app, &client(true)));
}

#[test]
fn it_counts_requests_per_second_and_when_each_client_got_back() {
    let run = simulate(&fleet(), &poll_endpoint::app(), &client(false));
    assert_eq!(run.per_second.len(), 90);
    assert_eq!(run.back_at.len(), 60);
    // Before the outage each client polls about every 3 s: 60 clients, ~20/s.
    let steady = run.mean(4..10);
    assert!((15.0..=25.0).contains(&steady), "{steady} requests/s before the outage");
    // Nothing gets through during the outage; everyone is back afterwards.
    assert!(run.back_at.iter().all(|at| at.is_some_and(|t| t >= 40_000)), "{:?}", run.back_at);
    let everyone = run.everyone_back_at().expect("everyone got back");
    assert!((40_000..=75_000).contains(&everyone), "the last client was back at {everyone} ms");
}

/// Pages opened within the same 200 ms (a live event starts) poll in
/// lockstep, and a fixed schedule keeps them so, even after an outage: every
/// client in the same second, every 3 s. Jitter breaks the lockstep up.
#[test]
fn jitter_breaks_up_a_fleet_in_lockstep_after_an_outage() {
    let app = poll_endpoint::app();
    let in_lockstep = Fleet { spread: 200, ..fleet() };
    let fixed = simulate(&in_lockstep, &app, &client(false));
    let jittered = simulate(&in_lockstep, &app, &client(true));
    let last_30_s = 60..90;
    assert_eq!(fixed.peak_to_mean(last_30_s.clone()), 3.0, "{:?}", fixed.per_second);
    assert_eq!(fixed.peak(last_30_s.clone()), 60, "all 60 clients in the same second");
    let smoothed = jittered.peak_to_mean(last_30_s);
    assert!(smoothed < 1.5, "jittered peak to mean {smoothed}: {:?}", jittered.per_second);
    // The price: with waits drawn between half and all of 30 s, the last
    // client gets back later than with the whole 30 s every time.
    assert!(jittered.everyone_back_at() > fixed.everyone_back_at());
}

/// The fleet page of chapter 04's figures, with `backoff` as its backoff.
fn fleet_page(backoff: &str) -> Page {
    Page::client("/client.js", include_str!("../src/fleet-client.js"))
        .with_module("/backoff.js", backoff)
        .with_module("/good-backoff.js", backoff::BACKOFF_JS)
        .with_module("/fleet-random.js", "export const random = Math.random;")
}

/// A fleet in lockstep through 10 s of 503s that all say `Retry-After: 5`:
/// waiting exactly that long keeps every client in the same second, the
/// first two retries and every poll after the outage; exercise 04's spread
/// breaks the lockstep up, at the price of a later last client.
#[test]
fn a_spread_retry_after_breaks_up_a_fleet_that_one_retry_after_keeps_in_lockstep() {
    let app = poll_endpoint::app();
    let in_lockstep = Fleet {
        spread: 200,
        outage: 10_000..20_000,
        failure: Failure::RetryAfter { status: 503, seconds: 5 },
        ..fleet()
    };
    let exact = simulate(&in_lockstep, &app, &fleet_page(known_clients::BACKOFF_EXACT_RETRY_AFTER));
    let spread = simulate(&in_lockstep, &app, &fleet_page(backoff::BACKOFF_JS));
    // Every client's poll at 12 s gets the 503; its retries come 5 s later.
    let retries = 16..23;
    assert_eq!(exact.peak(retries.clone()), 60, "all 60 retries in one second: {:?}", exact.per_second);
    let spread_peak = spread.peak(retries);
    assert!(spread_peak <= 30, "spread retries, at most {spread_peak} in a second: {:?}", spread.per_second);
    let last_30_s = 60..90;
    assert_eq!(exact.peak_to_mean(last_30_s.clone()), 3.0, "{:?}", exact.per_second);
    let smoothed = spread.peak_to_mean(last_30_s);
    assert!(smoothed < 1.5, "spread peak to mean {smoothed}: {:?}", spread.per_second);
    assert!(spread.everyone_back_at() > exact.everyone_back_at());
}
