//! The flags on a learner's lane: the course's rules, checked on what
//! their client really did.
//!
//! A joined page's reporter (`report.js`) tells the class server, in the
//! page's own time, when each `/poll` fetch was made and settled and when
//! the page was hidden or shown. Each page load becomes a
//! [`client_rules::Trace`], and the very checks the specs run on the virtual
//! browser's traces run on it. The page's view matters: a browser sends
//! two GETs of one URL one after the other, so at the server a
//! `setInterval` client's polls never overlap, though its page has two in
//! flight, which is what the rule is about.
//!
//! A rule is checked from the exercise whose chapter teaches it on:
//! exercise 01's given client polls with `setInterval` on purpose (chapter
//! 02 is about what that does), so two of its polls in flight at once is
//! the lesson, not a mistake.

use client_rules::checks::{self, Backoff};
use client_rules::{Event, Outcome, Trace};
use serde::Serialize;

/// The schedule exercise 04 teaches (and 05 and 07 keep).
const RULES: Backoff<'static> =
    Backoff { interval: backoff::INTERVAL_MS, schedule: &backoff::RETRY_SCHEDULE_MS, slack: 0 };

/// A rule a learner's client broke, with the check's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// The rule, short, as the dashboard shows it.
    pub rule: &'static str,
    /// The chapter that teaches it.
    pub chapter: u32,
    /// What happened, from the check that caught it.
    pub text: String,
}

/// The rules, each with the chapter that teaches it.
pub const TWO_AT_ONCE: (&str, u32) = ("two polls at once", 2);
pub const WHILE_HIDDEN: (&str, u32) = ("polls while hidden", 3);
pub const TOO_SOON: (&str, u32) = ("retries too soon", 4);
pub const RETRY_AFTER: (&str, u32) = ("Retry-After not honoured", 4);

/// One page load, to be checked: its trace, the page time it was last
/// heard of, and the exercise its page was (so its own rules apply to it).
pub struct Load {
    pub trace: Trace,
    pub end: u64,
    pub exercise: u32,
}

/// The flags for one learner, from the traces of their page loads (a reload
/// starts a new page, with its own timers and backoff), each judged by the
/// rules of the exercise it was.
pub fn flags(loads: &[Load]) -> Vec<Flag> {
    let mut flags: Vec<Flag> = Vec::new();
    for Load { trace, end, exercise } in loads {
        let (end, exercise) = (*end, *exercise);
        let mut raise = |(rule, chapter): (&'static str, u32), problem: Result<(), String>| {
            if let Err(text) = problem
                && exercise >= chapter
                && !flags.iter().any(|f| f.rule == rule)
            {
                flags.push(Flag { rule, chapter, text });
            }
        };
        raise(TWO_AT_ONCE, checks::never_two_polls_at_once(trace));
        raise(WHILE_HIDDEN, checks::no_polls_while_hidden(trace, end));
        let too_soon = checks::backoff_problems(trace, RULES, end)
            .into_iter()
            .find(|wrong| wrong.too_soon && wrong.part != checks::BackoffPart::AfterSuccess);
        raise(TOO_SOON, too_soon.map_or(Ok(()), |wrong| Err(wrong.message)));
        raise(RETRY_AFTER, checks::honours_retry_after(trace));
    }
    flags
}

/// Something a learner's page did, as its reporter (`report.js`) tells the
/// class server, in the page's own time (`performance.now()`, ms since the
/// page loaded): the specs check what the page did, so the room does too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageEvent {
    /// The page called `fetch` for `/poll`: its `n`th since it loaded.
    Sent {
        n: usize,
        post: bool,
    },
    /// That fetch settled: an answer (`status`), or a rejection (`None`),
    /// which the page itself caused (`aborted`) or the network did.
    Settled {
        n: usize,
        status: Option<u16>,
        aborted: bool,
        retry_after: Option<u32>,
    },
    Hidden,
    Shown,
}

/// A GET the page sends this soon after its own POST was answered is the
/// refresh after sending (chapter 02), not a poll of its chain.
pub const REFRESH_AFTER_POST_MS: u64 = 100;

/// The trace of one page load, from its events (in any order), with only
/// the page's own polling in it: a person pressing Send is not the client's
/// schedule, so the POSTs and the refresh that follows each are left out.
/// (Chapter 02 allows that refresh to overlap a poll; and a message sent
/// while the server asked for quiet is the reader's choice, not a retry.)
pub fn trace(events: impl Iterator<Item = (u64, PageEvent)>) -> Trace {
    // In one millisecond: hidden or shown first, then the requests in the
    // order they were sent, each sent before it settled; so an answer comes
    // before a later request sent in the same millisecond, as in the
    // virtual browser.
    let mut events: Vec<(u64, usize, PageEvent)> = events
        .map(|(at, event)| {
            let order = match event {
                PageEvent::Hidden | PageEvent::Shown => 0,
                PageEvent::Sent { n, .. } => 2 * n,
                PageEvent::Settled { n, .. } => 2 * n + 1,
            };
            (at, order, event)
        })
        .collect();
    events.sort_by_key(|(at, order, _)| (*at, *order));
    // A request the page made once may reach the server more than once: a
    // browser sends it again, headers and all, when the kept-alive
    // connection it went on closes before any answer (the class server's
    // Down with closed connections, a restart), and the reporter sends a
    // settled poll again when the request that carried it failed (a `join`
    // restarted, a network that dropped). The page made one fetch: one
    // event each.
    events.dedup();
    let mut posted_at: Option<u64> = None;
    let mut left_out: std::collections::HashSet<usize> = std::collections::HashSet::new();
    for (at, _, event) in &events {
        match *event {
            PageEvent::Sent { n, post: true } => {
                left_out.insert(n);
            }
            PageEvent::Settled { n, .. } if left_out.contains(&n) => posted_at = Some(*at),
            PageEvent::Sent { n, post: false }
                if posted_at.is_some_and(|p| at.saturating_sub(p) <= REFRESH_AFTER_POST_MS) =>
            {
                left_out.insert(n);
                posted_at = None;
            }
            _ => {}
        }
    }
    let events = events.into_iter().filter(|(_, _, event)| match event {
        PageEvent::Sent { n, .. } | PageEvent::Settled { n, .. } => !left_out.contains(n),
        _ => true,
    });
    let mut methods: std::collections::HashMap<usize, &'static str> = std::collections::HashMap::new();
    let mut trace = Trace::default();
    for (at, _, event) in events {
        let path = "/poll".to_owned();
        let event = match event {
            PageEvent::Hidden => Event::Hidden,
            PageEvent::Shown => Event::Visible,
            PageEvent::Sent { n, post } => {
                let method = if post { "POST" } else { "GET" };
                methods.insert(n, method);
                Event::Sent { request: n, method: method.to_owned(), path }
            }
            PageEvent::Settled { n, status, aborted, retry_after } => {
                let Some(method) = methods.get(&n) else {
                    continue; // sent before the record begins
                };
                let outcome = match (status, aborted) {
                    (Some(code), _) => Outcome::Status {
                        code,
                        messages: None,
                        retry_after: retry_after.map(|s| s.to_string()),
                        bytes: 0,
                    },
                    (None, true) => Outcome::Aborted,
                    (None, false) => Outcome::NetworkError,
                };
                Event::Answered { request: n, method: (*method).to_owned(), path, outcome }
            }
        };
        trace.push(at, event);
    }
    trace
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A poll sent at `sent` and answered `status` at `answered`.
    fn poll(n: usize, sent: u64, answered: u64, status: u16) -> Vec<(u64, PageEvent)> {
        vec![
            (sent, PageEvent::Sent { n, post: false }),
            (answered, PageEvent::Settled { n, status: Some(status), aborted: false, retry_after: None }),
        ]
    }

    fn flagged(exercise: u32, events: Vec<Vec<(u64, PageEvent)>>) -> Vec<&'static str> {
        let events: Vec<_> = events.into_iter().flatten().collect();
        let end = events.iter().map(|(at, _)| *at).max().unwrap_or(0) + 1;
        flags(&[Load { trace: trace(events.into_iter()), end, exercise }]).iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_poll_the_server_saw_twice_is_one_poll() {
        // #2 was resent by the browser (the same header twice), and its
        // answer reported twice (the request that first carried it failed).
        let mut events = [poll(1, 0, 100, 200), poll(2, 3_100, 3_200, 503), poll(3, 6_200, 6_300, 200)].concat();
        events.push((3_100, PageEvent::Sent { n: 2, post: false }));
        events.push((3_200, PageEvent::Settled { n: 2, status: Some(503), aborted: false, retry_after: None }));
        assert_eq!(flagged(2, vec![events]), Vec::<&str>::new());
    }

    #[test]
    fn overlapping_polls_are_flagged_from_exercise_02_on() {
        let events = vec![poll(1, 0, 5000, 200), poll(2, 3000, 8000, 200)];
        assert_eq!(flagged(2, events.clone()), ["two polls at once"]);
        assert!(flagged(1, events).is_empty(), "exercise 01's given client overlaps on purpose");
    }

    #[test]
    fn a_poll_while_hidden_is_flagged() {
        let events = vec![poll(1, 0, 50, 200), vec![(1000, PageEvent::Hidden)], poll(2, 3050, 3100, 200)];
        assert_eq!(flagged(3, events.clone()), ["polls while hidden"]);
        assert!(flagged(2, events).is_empty());
    }

    #[test]
    fn retrying_at_once_again_and_again_is_too_soon() {
        let events = vec![poll(1, 0, 50, 503), poll(2, 60, 110, 503), poll(3, 120, 170, 503)];
        assert_eq!(flagged(4, events), ["retries too soon"]);
    }

    #[test]
    fn a_request_inside_retry_after_is_flagged_and_one_after_it_is_not() {
        let told = |n, at| (at, PageEvent::Settled { n, status: Some(429), aborted: false, retry_after: Some(5) });
        let early = vec![(0, PageEvent::Sent { n: 1, post: false }), told(1, 50)];
        let events = vec![early.clone(), poll(2, 3050, 3100, 200)];
        assert!(flagged(4, events).contains(&"Retry-After not honoured"));
        let events = vec![early, poll(2, 5100, 5150, 200)];
        assert!(flagged(4, events.clone()).is_empty(), "{:?}", flagged(4, events));
    }

    #[test]
    fn the_courses_clients_keep_the_rules() {
        // A chain: each poll 3 s after the answer; a failure retried at once,
        // then after half to all of 3 s (equal jitter).
        let events =
            vec![poll(1, 0, 50, 200), poll(2, 3050, 3100, 503), poll(3, 3100, 3150, 503), poll(4, 5000, 5050, 200)];
        assert!(flagged(7, events.clone()).is_empty(), "{:?}", flagged(7, events));
    }

    #[test]
    fn sending_a_message_is_not_the_clients_polling() {
        let send = |n, at| {
            vec![
                (at, PageEvent::Sent { n, post: true }),
                (at + 40, PageEvent::Settled { n, status: Some(201), aborted: false, retry_after: None }),
            ]
        };
        // The refresh after sending overlaps a slow poll: allowed (chapter 02).
        let events = vec![poll(1, 0, 5000, 200), send(2, 1000), poll(3, 1045, 1090, 200)];
        assert!(flagged(2, events).is_empty());
        // A message sent while the server asked for quiet is the reader's
        // choice, and so is the refresh after it...
        let told = (50, PageEvent::Settled { n: 1, status: Some(429), aborted: false, retry_after: Some(5) });
        let first = vec![(0, PageEvent::Sent { n: 1, post: false }), told];
        let events = vec![first.clone(), send(2, 1000), poll(3, 1045, 1090, 200), poll(4, 9000, 9050, 200)];
        assert!(flagged(4, events).is_empty(), "the post and its refresh are left out");
        // ...but a poll of the chain inside the quiet time is flagged still.
        let events = vec![first, poll(2, 2000, 2050, 200)];
        assert!(flagged(4, events).contains(&"Retry-After not honoured"));
    }

    #[test]
    fn a_page_that_streams_is_judged_by_its_fetches_alone() {
        // Exercise 08's page: its stream is an EventSource, which the
        // reporter does not log (the class server sees it); its only
        // fetches are the messages sent, even two at once, which are the
        // reader's, not the client's schedule.
        let send = |n, at, answered| {
            vec![
                (at, PageEvent::Sent { n, post: true }),
                (answered, PageEvent::Settled { n, status: Some(201), aborted: false, retry_after: None }),
            ]
        };
        let hidden = vec![(2_000, PageEvent::Hidden), (9_000, PageEvent::Shown)];
        let events = vec![send(1, 1_000, 3_000), send(2, 1_500, 3_500), hidden, send(3, 5_000, 5_040)];
        assert!(flagged(8, events.clone()).is_empty(), "{:?}", flagged(8, events));
    }

    #[test]
    fn an_answer_in_the_same_millisecond_comes_before_the_next_poll() {
        let events = vec![poll(1, 0, 3000, 200), poll(2, 3000, 6000, 200)];
        assert!(flagged(2, events).is_empty());
    }
}
