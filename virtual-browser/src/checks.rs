//! Properties of a trace, each with a failure message that teaches: what
//! happened, when, and what the client should do instead. The specs and the
//! virtual browser's own tests use the same checks.

use crate::trace::{Event, Outcome, Trace};

/// The page must not throw: an uncaught error usually means polling stopped.
pub fn no_script_errors(trace: &Trace) -> Result<(), String> {
    match trace.errors().first() {
        None => Ok(()),
        Some((at, text)) => Err(format!(
            "the page's script failed at {at} ms:\n  {text}\nA browser would show this in its console; `at file:line:column` says where \
             it was thrown."
        )),
    }
}

/// Never two polls in flight at once.
pub fn never_two_polls_at_once(trace: &Trace) -> Result<(), String> {
    let polls = trace.spans_to("/poll");
    for (index, later) in polls.iter().enumerate() {
        if let Some(earlier) = polls[..index].iter().find(|p| p.method == later.method && p.in_flight_at(later.sent)) {
            return Err(format!(
                "two {} /poll requests were in flight at {} ms (#{} sent at {} ms was still waiting when #{} was \
                 sent): schedule the next request only after the previous one has finished (setTimeout after the \
                 response, not setInterval)",
                later.method, later.sent, earlier.request, earlier.sent, later.request
            ));
        }
    }
    Ok(())
}

/// After a failed poll, polling goes on: some poll is sent within
/// `patience` ms of the failure (checked up to `end`).
pub fn keeps_polling_after_a_failure(trace: &Trace, end: u64, patience: u64) -> Result<(), String> {
    let polls: Vec<_> = trace.spans_to("/poll").into_iter().filter(|p| p.method == "GET").collect();
    for poll in polls.iter().filter(|p| p.failed()) {
        let failed_at = poll.answered.expect("a failed poll was answered");
        if failed_at + patience > end {
            continue; // not enough time left in the scenario to tell
        }
        let next = polls.iter().find(|p| p.sent >= failed_at && p.request > poll.request);
        if next.is_none_or(|next| next.sent > failed_at + patience) {
            return Err(format!(
                "GET /poll #{} failed at {failed_at} ms ({}), and no poll followed it in the next {patience} ms: \
                 the client stopped polling for good. Schedule the next poll whether or not this one worked: in a \
                 `finally`, or after a try/catch around the fetch and its json().",
                poll.request,
                poll.outcome.as_ref().expect("answered"),
            ));
        }
    }
    Ok(())
}

/// Each poll after the first is sent `interval` ms (within `slack`) after
/// the previous one was answered.
pub fn waits_between_polls(trace: &Trace, interval: u64, slack: u64) -> Result<(), String> {
    let polls: Vec<_> = trace.spans_to("/poll").into_iter().filter(|p| p.method == "GET").collect();
    for pair in polls.windows(2) {
        let (previous, next) = (&pair[0], &pair[1]);
        let Some(answered) = previous.answered else {
            continue;
        };
        let gap = next.sent as i64 - answered as i64;
        if gap < interval as i64 || gap > (interval + slack) as i64 {
            return Err(format!(
                "GET /poll #{} was sent at {} ms, {gap} ms after #{} was answered at {answered} ms: the client should \
                 wait INTERVAL_MS = {interval} ms after each answer before it polls again",
                next.request, next.sent, previous.request
            ));
        }
    }
    Ok(())
}

/// No poll is sent while the page is hidden (checked up to `end`).
pub fn no_polls_while_hidden(trace: &Trace, end: u64) -> Result<(), String> {
    for window in trace.hidden_windows(end) {
        if let Some(poll) = trace.spans_to("/poll").into_iter().find(|p| window.contains(&p.sent)) {
            return Err(format!(
                "GET /poll #{} was sent at {} ms while the page was hidden (from {} ms to {} ms): nobody can see the \
                 messages, so don't ask for them. requestAnimationFrame callbacks stop while a page is hidden; or \
                 check document.hidden and listen for visibilitychange.",
                poll.request, poll.sent, window.start, window.end
            ));
        }
    }
    Ok(())
}

/// When the page is shown again, a poll goes out within `interval` ms
/// (checked for every time it is shown before `end - interval`).
pub fn resumes_when_shown(trace: &Trace, end: u64, interval: u64) -> Result<(), String> {
    let polls = trace.spans_to("/poll");
    for (at, event) in trace.events() {
        if *event != Event::Visible || at + interval > end {
            continue;
        }
        let next = polls.iter().find(|p| p.sent >= *at);
        if next.is_none_or(|p| p.sent > at + interval) {
            let when = next.map_or("before the scenario ended".to_owned(), |p| format!("until {} ms", p.sent));
            return Err(format!(
                "the page was shown again at {at} ms, but no poll went out {when}: polling should resume within one \
                 interval ({interval} ms) once someone can see the page again"
            ));
        }
    }
    Ok(())
}

/// The message another user posted at `posted_at` is shown within `within` ms.
pub fn shows_new_message(trace: &Trace, posted_at: u64, within: u64) -> Result<(), String> {
    let posted = trace
        .events()
        .iter()
        .position(|(at, e)| *at == posted_at && matches!(e, Event::OtherUserPosted { .. }))
        .ok_or_else(|| format!("the scenario has no message posted at {posted_at} ms"))?;
    let last_shown_before = trace.events()[..posted]
        .iter()
        .rev()
        .find_map(|(_, e)| match e {
            Event::Rendered { ids } => Some(ids.last().copied()),
            _ => None,
        })
        .flatten();
    let shown = trace.events()[posted..].iter().find(|(_, e)| match e {
        Event::Rendered { ids } => ids.last().copied() > last_shown_before,
        _ => false,
    });
    match shown {
        Some((at, _)) if *at <= posted_at + within => Ok(()),
        Some((at, _)) => Err(format!(
            "a message posted at {posted_at} ms was only shown at {at} ms, {} ms later; it should show within \
             {within} ms (one interval plus the server's answer)",
            at - posted_at
        )),
        None => Err(format!(
            "a message posted at {posted_at} ms was never shown: after each successful poll, pass the answer's `msg` \
             list to renderMessages()"
        )),
    }
}

/// The waits a backing-off client must keep: [`follows_backoff`].
#[derive(Debug, Clone, Copy)]
pub struct Backoff<'a> {
    /// The wait after a successful poll.
    pub interval: u64,
    /// The longest wait after 1, 2, 3... failures in a row; the last is the cap.
    pub schedule: &'a [u64],
    /// Extra time allowed for reaching the next frame (16 ms for a frame loop).
    pub slack: u64,
}

/// Every wait between two polls follows the schedule: `interval` after a
/// success; after the n-th failure in a row, between half of the schedule's
/// step and all of it ("equal jitter"), or as long as a `Retry-After` asked.
/// A wait that spans a hidden period may be longer (nothing polls then), but
/// never shorter.
pub fn follows_backoff(trace: &Trace, rules: Backoff<'_>, end: u64) -> Result<(), String> {
    let polls: Vec<_> = trace.spans_to("/poll").into_iter().filter(|p| p.method == "GET").collect();
    let hidden = trace.hidden_windows(end);
    let cap = *rules.schedule.last().expect("a schedule has steps");
    let mut failures = 0;
    // A success that ended a run of failures: after it, a first failure that
    // waits too long suggests the backoff was not reset.
    let mut recovered = false;
    for pair in polls.windows(2) {
        let (previous, next) = (&pair[0], &pair[1]);
        let (Some(answered), Some(outcome)) = (previous.answered, previous.outcome.as_ref()) else {
            continue;
        };
        let wait = next.sent.saturating_sub(answered);
        let was_hidden = hidden.iter().any(|w| w.start < next.sent && w.end > answered);
        let (low, high, rule) = if outcome.is_success() {
            recovered |= failures > 0;
            failures = 0;
            (
                rules.interval,
                rules.interval,
                format!("after a successful poll, wait INTERVAL_MS = {} ms", rules.interval),
            )
        } else {
            failures += 1;
            let step = rules.schedule[(failures - 1).min(rules.schedule.len() - 1)];
            let asked = match outcome {
                Outcome::Status { retry_after: Some(seconds), .. } => seconds.parse::<u64>().unwrap_or(0) * 1000,
                _ => 0,
            };
            let rule = match (failures, asked) {
                (_, asked) if asked > step => {
                    format!("the server asked for {asked} ms with Retry-After: wait that long")
                }
                (1, _) => "after the first failure, retry at once".to_owned(),
                (n, _) if step == cap => format!(
                    "after {n} failures in a row, wait between {} and {cap} ms: the cap, {cap} ms, with jitter",
                    cap / 2
                ),
                (n, _) => format!(
                    "after {n} failures in a row, wait between {} and {step} ms (the schedule's {step} ms, with jitter)",
                    step / 2
                ),
            };
            ((step / 2).max(asked), step.max(asked), rule)
        };
        if wait < low {
            return Err(format!(
                "GET /poll #{} went out {wait} ms after #{} {} at {answered} ms; too soon: {rule}.",
                next.request,
                previous.request,
                if outcome.is_success() { "succeeded".to_owned() } else { format!("failed ({outcome})") },
            ));
        }
        if wait > high + rules.slack && !was_hidden {
            let reset = if outcome.is_success() {
                " Did the backoff forget its failures when this poll succeeded?"
            } else if failures == 1 && recovered {
                " This is the first failure since a poll succeeded: did the backoff forget its failures then?"
            } else {
                ""
            };
            return Err(format!(
                "GET /poll #{} went out {wait} ms after #{} {} at {answered} ms; too late: {rule}.{reset}",
                next.request,
                previous.request,
                if outcome.is_success() { "succeeded".to_owned() } else { format!("failed ({outcome})") },
            ));
        }
    }
    Ok(())
}

/// After an answer with `Retry-After: N`, nothing is sent for N seconds.
pub fn honours_retry_after(trace: &Trace) -> Result<(), String> {
    let spans = trace.spans();
    for span in &spans {
        let Some(Outcome::Status { code, retry_after: Some(seconds), .. }) = &span.outcome else {
            continue;
        };
        let (Ok(seconds), Some(answered)) = (seconds.parse::<u64>(), span.answered) else {
            continue;
        };
        let until = answered + seconds * 1000;
        if let Some(early) = spans.iter().find(|s| s.sent >= answered && s.sent < until && s.request != span.request) {
            return Err(format!(
                "{} {} #{} was answered {code} with Retry-After: {seconds} at {answered} ms, but #{} went out at {} ms, \
                 only {} ms later: the server asked for {seconds} s of quiet; wait at least that long.",
                span.method,
                span.path,
                span.request,
                early.request,
                early.sent,
                early.sent - answered
            ));
        }
    }
    Ok(())
}
