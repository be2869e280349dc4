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
    // The latest answer of the polls so far, per method (`None`: one is
    // unanswered): while it is at or before a poll's sending, nothing
    // earlier is in flight, and the earlier polls need no second look.
    let mut latest: std::collections::HashMap<&str, Option<u64>> = std::collections::HashMap::new();
    for (index, later) in polls.iter().enumerate() {
        let busy = latest.get(later.method.as_str()).is_some_and(|done| done.is_none_or(|at| at > later.sent));
        let entry = latest.entry(later.method.as_str()).or_insert(Some(0));
        *entry = match (*entry, later.answered) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        if !busy {
            continue;
        }
        if let Some(earlier) = polls[..index].iter().find(|p| p.method == later.method && p.in_flight_at(later.sent)) {
            return Err(format!(
                "two {} /poll requests were in flight at {} ms (#{} sent at {} ms was still waiting when #{} was \
                 sent): start the next request only after the previous one has finished: in a timer chain, set \
                 the next setTimeout after the answer (never setInterval); in a frame loop, `await` the request \
                 before the next frame may start another",
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

/// Which part of a backoff schedule a wait broke: see [`backoff_problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackoffPart {
    /// The wait after a success was not the interval.
    AfterSuccess,
    /// The first failure in a row was not retried at once.
    AtOnce,
    /// The first failure since a success waited as if earlier failures still
    /// counted: the success did not reset the backoff.
    Reset,
    /// A wait after two or more failures in a row was shorter than half its
    /// step: the waits do not grow, or the jitter takes more than half.
    TooSoon,
    /// A wait was longer than its step, before the cap.
    TooLate,
    /// A wait was longer than the cap.
    OverCap,
    /// A wait was shorter than the server asked for with `Retry-After`.
    RetryAfter,
    /// The first poll after the page was shown failed, and the next went out
    /// as if the backoff had started again: showing the page reset it.
    ShownReset,
}

/// Every wait between two polls follows the schedule: `interval` after a
/// success; after the n-th failure in a row, between half of the schedule's
/// step and all of it ("equal jitter"), or as long as a `Retry-After` asked.
/// A wait that spans a hidden period may be longer (nothing polls then), but
/// never shorter.
pub fn follows_backoff(trace: &Trace, rules: Backoff<'_>, end: u64) -> Result<(), String> {
    backoff_problem(trace, rules, end).map_err(|(_, problem)| problem)
}

/// [`follows_backoff`], saying also which part of the schedule the first
/// wrong wait broke, so a spec can name its rule.
pub fn backoff_problem(trace: &Trace, rules: Backoff<'_>, end: u64) -> Result<(), (BackoffPart, String)> {
    backoff_problems(trace, rules, end).into_iter().next().map_or(Ok(()), |wrong| Err((wrong.part, wrong.message)))
}

/// A wait that broke the schedule: see [`backoff_problems`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongWait {
    pub part: BackoffPart,
    /// Shorter than the rule allows (else longer).
    pub too_soon: bool,
    pub message: String,
}

/// Every wrong wait in the trace, in order, with the part of the schedule
/// each broke: the classroom's dashboard flags a learner from these, on
/// real traffic, with the same rules as the specs.
pub fn backoff_problems(trace: &Trace, rules: Backoff<'_>, end: u64) -> Vec<WrongWait> {
    let mut problems = Vec::new();
    let polls: Vec<_> = trace.spans_to("/poll").into_iter().filter(|p| p.method == "GET").collect();
    let hidden = trace.hidden_windows(end);
    let cap = *rules.schedule.last().expect("a schedule has steps");
    let mut failures = 0;
    // A success that ended a run of failures: after it, a first failure that
    // waits too long suggests the backoff was not reset.
    let mut recovered = false;
    for (index, pair) in polls.windows(2).enumerate() {
        let (previous, next) = (&pair[0], &pair[1]);
        let (Some(answered), Some(outcome)) = (previous.answered, previous.outcome.as_ref()) else {
            continue;
        };
        if *outcome == Outcome::Aborted {
            // The page gave up on it (it was hidden, say): neither a failure
            // nor a success, so the schedule goes on as it was.
            continue;
        }
        let wait = next.sent.saturating_sub(answered);
        let was_hidden = hidden.iter().any(|w| w.start < next.sent && w.end > answered);
        // `previous` is the first poll since the page was shown again.
        let since = index.checked_sub(1).and_then(|i| polls[i].answered).unwrap_or(0);
        let first_after_shown = hidden.iter().any(|w| w.end > since && w.end <= previous.sent);
        // The server asked (Retry-After) for longer than the schedule's step.
        let mut asked_more = false;
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
            asked_more = asked > step;
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
        let what = if outcome.is_success() { "succeeded".to_owned() } else { format!("failed ({outcome})") };
        if wait < low {
            let (part, hint) = if outcome.is_success() {
                (BackoffPart::AfterSuccess, "")
            } else if asked_more {
                (BackoffPart::RetryAfter, "")
            } else if first_after_shown && failures > 1 {
                (
                    BackoffPart::ShownReset,
                    " That failed poll was the first since the page was shown again: did showing the page reset \
                     the backoff? Only a success should.",
                )
            } else {
                (BackoffPart::TooSoon, "")
            };
            problems.push(WrongWait {
                part,
                too_soon: true,
                message: format!(
                    "GET /poll #{} went out {wait} ms after #{} {what} at {answered} ms; too soon: {rule}.{hint}",
                    next.request, previous.request,
                ),
            });
            continue;
        }
        if wait > high + rules.slack && !was_hidden {
            let (part, reset) = if outcome.is_success() {
                (BackoffPart::AfterSuccess, " Did the backoff forget its failures when this poll succeeded?")
            } else if asked_more {
                (BackoffPart::RetryAfter, "")
            } else if failures == 1 && recovered {
                (
                    BackoffPart::Reset,
                    " This is the first failure since a poll succeeded: did the backoff forget its failures then?",
                )
            } else if failures == 1 {
                (BackoffPart::AtOnce, "")
            } else if high >= cap {
                (BackoffPart::OverCap, "")
            } else {
                (BackoffPart::TooLate, "")
            };
            problems.push(WrongWait {
                part,
                too_soon: false,
                message: format!(
                    "GET /poll #{} went out {wait} ms after #{} {what} at {answered} ms; too late: {rule}.{reset}",
                    next.request, previous.request,
                ),
            });
        }
    }
    problems
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

/// The first GET /poll goes out as the page loads: by `by` ms.
pub fn first_poll_by(trace: &Trace, by: u64) -> Result<(), String> {
    let first = trace.spans_to("/poll").into_iter().find(|p| p.method == "GET");
    match first {
        Some(poll) if poll.sent <= by => Ok(()),
        Some(poll) => Err(format!(
            "the first GET /poll went out at {} ms: the page should ask as soon as it loads (by {by} ms), not wait \
             a whole interval first: start with a poll, not with a wait.",
            poll.sent
        )),
        None => Err(format!(
            "no GET /poll went out before the scenario ended: the page should ask as soon as it loads (by {by} \
             ms), not wait a whole interval first: start with a poll, not with a wait."
        )),
    }
}

/// An error answer shows no messages: a poll answered with an error status
/// is not followed, in the same moment, by the page showing messages.
pub fn shows_nothing_from_error_answers(trace: &Trace) -> Result<(), String> {
    let events = trace.events();
    for (index, (at, event)) in events.iter().enumerate() {
        let Event::Answered { request, method, path, outcome: outcome @ Outcome::Status { code, .. } } = event else {
            continue;
        };
        if method != "GET" || path.split('?').next() != Some("/poll") || outcome.is_success() {
            continue;
        }
        // What the page did with this answer: the events of the same moment,
        // up to the next request or answer.
        let shown = events[index + 1..]
            .iter()
            .take_while(|(t, e)| t == at && !matches!(e, Event::Sent { .. } | Event::Answered { .. }))
            .find(|(_, e)| matches!(e, Event::Rendered { .. }));
        if let Some((_, rendered)) = shown {
            return Err(format!(
                "GET /poll #{request} was answered {code} at {at} ms, and the page then {rendered}: an error answer \
                 holds no messages, and showing its (missing) list empties the chat. Check `response.ok` and throw, \
                 so that an error answer goes to your catch (say so on the status line), not to renderMessages()."
            ));
        }
    }
    Ok(())
}

/// After the user sends from the form, the page refreshes once, at once: a
/// GET /poll goes out within `slack` ms of the POST's answer, and the
/// polling loop goes on as before: no poll of the loop goes out sooner than
/// `interval` ms after the loop's previous answer (a second loop would).
pub fn refreshes_after_sending(trace: &Trace, interval: u64, slack: u64) -> Result<(), String> {
    let spans = trace.spans_to("/poll");
    let mut refreshes = Vec::new();
    for (sent_at, event) in trace.events() {
        let Event::UserSent { text, .. } = event else { continue };
        let Some(post) = spans.iter().find(|s| s.method == "POST" && s.sent >= *sent_at) else {
            return Err(format!(
                "the user sent {text:?} at {sent_at} ms, but the page sent no POST /poll: the form sends only once \
                 the page has called onSubmit(afterSend) from /static/chat.js; pass it a function that calls \
                 refresh()."
            ));
        };
        let (Some(answered), Some(true)) = (post.answered, post.outcome.as_ref().map(Outcome::is_success)) else {
            continue; // the send failed: the page says so; nothing to refresh
        };
        let refresh = spans.iter().find(|s| s.method == "GET" && s.sent >= answered);
        match refresh {
            Some(refresh) if refresh.sent <= answered + slack => refreshes.push(refresh.request),
            _ => {
                let next = refresh.map_or("none before the scenario ended".to_owned(), |r| {
                    format!("the next went out at {} ms", r.sent)
                });
                return Err(format!(
                    "the user sent {text:?} at {sent_at} ms (POST /poll #{} answered at {answered} ms), but no GET \
                     /poll followed at once ({next}): after sending, call refresh() once, so the user sees their \
                     message now instead of at the next poll.",
                    post.request
                ));
            }
        }
    }
    // A loop that polled too soon before anything was sent has another
    // problem (the wait), for another check to name.
    let Some(first_send) = trace.events().iter().find(|(_, e)| matches!(e, Event::UserSent { .. })).map(|(at, _)| *at)
    else {
        return Ok(());
    };
    let polls: Vec<_> = spans.iter().filter(|s| s.method == "GET" && !refreshes.contains(&s.request)).collect();
    for pair in polls.windows(2) {
        let (previous, next) = (pair[0], pair[1]);
        let Some(answered) = previous.answered else { continue };
        if next.sent < answered + interval {
            if next.sent < first_send {
                return Ok(());
            }
            return Err(format!(
                "GET /poll #{} went out at {} ms, only {} ms after #{} was answered at {answered} ms: since the user \
                 sent a message, two polling loops run side by side. After sending, call refresh() once; calling \
                 poll() there starts a second chain.",
                next.request,
                next.sent,
                next.sent.saturating_sub(answered),
                previous.request
            ));
        }
    }
    Ok(())
}

/// When the page is shown again, polling resumes at once: the next poll
/// goes out by the time it is due (`interval` after the last answer, or at
/// once if that has passed), within `slack` ms (the next frame, for a frame
/// loop). Checked for every time the page is shown before `end - interval`.
pub fn resumes_at_once_when_shown(trace: &Trace, end: u64, interval: u64, slack: u64) -> Result<(), String> {
    let polls: Vec<_> = trace.spans_to("/poll").into_iter().filter(|p| p.method == "GET").collect();
    for (at, event) in trace.events() {
        if *event != Event::Visible || at + interval > end {
            continue;
        }
        let last = polls.iter().rev().find(|p| p.sent < *at);
        let (due, why) = match last {
            None => (*at, "no poll had gone out yet".to_owned()),
            Some(last) => match last.answered {
                None => continue, // still in flight when the scenario ended
                Some(answered) if answered + interval > *at => (
                    answered + interval,
                    format!(
                        "GET /poll #{} was answered at {answered} ms, so the next was due at {} ms",
                        last.request,
                        answered + interval
                    ),
                ),
                Some(answered) => (
                    *at,
                    format!(
                        "the last answer (GET /poll #{}) came at {answered} ms, so a poll was overdue",
                        last.request
                    ),
                ),
            },
        };
        let next = polls.iter().find(|p| p.sent >= *at);
        if next.is_none_or(|p| p.sent > due + slack) {
            let when = next.map_or("no poll went out before the scenario ended".to_owned(), |p| {
                format!("the next poll went out only at {} ms", p.sent)
            });
            return Err(format!(
                "the page was shown again at {at} ms; {why}, but {when}: once someone can see the page again, a \
                 poll that is overdue goes out at once (by {} ms), and one not yet due goes out when it is due, \
                 not a whole interval after being shown.",
                due + slack
            ));
        }
    }
    Ok(())
}
