//! Clients the course knows, kept as files beside this crate
//! (`virtual-browser/clients/`): plausible wrong ones, each breaking one rule
//! a chapter teaches, that the checks must catch with a message naming the
//! rule; and correct ones written another way, that must pass. The virtual
//! browser's own tests and the real-browser tier run the same files, and
//! each client exercise's `tests/<slug>/wrong_solutions.rs` runs them
//! through that exercise's spec. The `backoff-*.js` files are exercise 04's
//! `backoff.js`, wrong (or right) in one way; the rest are whole clients.

/// `backoff-adds-retry-after.js`: Wrong: it adds what the server asked for to the schedule's wait even when the
/// schedule's wait is the longer: Retry-After is a minimum, not extra. (A Retry-After longer than the jittered wait
/// it spreads, as it should.)
pub const BACKOFF_ADDS_RETRY_AFTER: &str = include_str!("../clients/backoff-adds-retry-after.js");

/// `backoff-alternative.js`: Right: exercise 04's backoff written another way: private fields, the step looked up
/// before the failure is counted, a Retry-After spread as a factor of 1 to 1.5, and Retry-After read with Number()
/// after a digits-only test.
pub const BACKOFF_ALTERNATIVE: &str = include_str!("../clients/backoff-alternative.js");

/// `backoff-exact-retry-after.js`: Wrong: when the server asks for longer than the jittered wait, it waits exactly
/// Retry-After (the longer of the two, and no more): every client the server answers at the same moment comes back
/// in the same millisecond.
pub const BACKOFF_EXACT_RETRY_AFTER: &str = include_str!("../clients/backoff-exact-retry-after.js");

/// `backoff-full-jitter.js`: Wrong: "full jitter", anywhere from 0 to the whole step, so a broken server can be
/// retried at once, again and again (fine elsewhere, not here).
pub const BACKOFF_FULL_JITTER: &str = include_str!("../clients/backoff-full-jitter.js");

/// `backoff-gives-up.js`: Wrong: after five failures in a row, it stops for good.
pub const BACKOFF_GIVES_UP: &str = include_str!("../clients/backoff-gives-up.js");

/// `backoff-ignores-retry-after.js`: Wrong: the schedule is right, but what the server asks for is ignored.
pub const BACKOFF_IGNORES_RETRY_AFTER: &str = include_str!("../clients/backoff-ignores-retry-after.js");

/// `backoff-immediate-forever.js`: Wrong: retry at once, every time, forever.
pub const BACKOFF_IMMEDIATE_FOREVER: &str = include_str!("../clients/backoff-immediate-forever.js");

/// `backoff-linear-no-cap.js`: Wrong, and the original course's: 3, 8, 13, 18, 23 s... linear, no cap.
pub const BACKOFF_LINEAR_NO_CAP: &str = include_str!("../clients/backoff-linear-no-cap.js");

/// `backoff-no-cap.js`: Wrong: exponential, but without the cap: after 30 s it goes on growing, 90 s, 270 s...,
/// so a long outage leaves readers waiting minutes after the server is back.
pub const BACKOFF_NO_CAP: &str = include_str!("../clients/backoff-no-cap.js");

/// `backoff-no-jitter.js`: Wrong: the schedule exactly, with no jitter: clients that failed together come back
/// together, at every step, for good.
pub const BACKOFF_NO_JITTER: &str = include_str!("../clients/backoff-no-jitter.js");

/// `backoff-no-reset.js`: Wrong: the schedule is right, but a success does not reset it.
pub const BACKOFF_NO_RESET: &str = include_str!("../clients/backoff-no-reset.js");

/// `backoff-parseint-retry-after.js`: Wrong: it reads Retry-After with parseInt, which stops at the first
/// character that is not a digit: "120abc" becomes 120 s, "1.5" 1 s. Only a header of digits alone is a number of
/// seconds.
pub const BACKOFF_PARSEINT_RETRY_AFTER: &str = include_str!("../clients/backoff-parseint-retry-after.js");

/// `backoff-resets-when-shown.js`: Wrong: it forgets its failures when the page is shown again, so a reader who
/// switches tabs back and forth retries a server that is down at once, again and again. Only a success should
/// reset the backoff.
pub const BACKOFF_RESETS_WHEN_SHOWN: &str = include_str!("../clients/backoff-resets-when-shown.js");

/// `backoff-two-draws.js`: Right: exercise 04's backoff as the starter's TODOs read, word for word: one
/// this.random() for the jitter, and another for a Retry-After's spread. Each draw is in [0, 1), so every wait
/// keeps the rules; it only uses the page's random numbers in another order than the solution.
pub const BACKOFF_TWO_DRAWS: &str = include_str!("../clients/backoff-two-draws.js");

/// `backoff-unrounded.js`: Wrong: equal jitter, but not rounded to whole milliseconds: failed() returns waits
/// like 1685.184 ms.
pub const BACKOFF_UNROUNDED: &str = include_str!("../clients/backoff-unrounded.js");

/// `ignores-hidden.js`: Wrong for exercise 03: exercise 02's setTimeout chain, pared down, which keeps polling
/// while nobody can see the page.
pub const IGNORES_HIDDEN: &str = include_str!("../clients/ignores-hidden.js");

/// `no-refresh-after-sending.js`: Wrong: exercise 02's chain, but nothing is done after sending ("the next poll
/// will show it"): the user's own message shows up to 3 s after they sent it.
pub const NO_REFRESH_AFTER_SENDING: &str = include_str!("../clients/no-refresh-after-sending.js");

/// `raf-counts-from-the-frame.js`: Wrong: exercise 03's frame loop, but it sets `nextPollAt` from the frame's
/// time, taken before the await: the wait counts from when the poll was sent, not from its answer, so a slow
/// answer eats into the quiet time.
pub const RAF_COUNTS_FROM_THE_FRAME: &str = include_str!("../clients/raf-counts-from-the-frame.js");

/// `raf-stops-after-a-failure.js`: Wrong: exercise 03's frame loop without the try/catch: when a poll fails,
/// frame() throws before it asks for the next frame, and polling stops for good.
pub const RAF_STOPS_AFTER_A_FAILURE: &str = include_str!("../clients/raf-stops-after-a-failure.js");

/// `raf-without-await.js`: Wrong, and the original course's requestAnimationFrame client: it pauses while hidden,
/// but it does not await the request, so a slow server gets a new one every 3 s while the last is still on its
/// way.
pub const RAF_WITHOUT_AWAIT: &str = include_str!("../clients/raf-without-await.js");

/// `renders-error-answers.js`: Wrong: it never checks `response.ok`, so an error answer is read as messages:
/// `{"error": ...}` has no `msg`, and `?? []` turns that into an empty chat on every 500 instead of a failure.
pub const RENDERS_ERROR_ANSWERS: &str = include_str!("../clients/renders-error-answers.js");

/// `renders-the-whole-answer.js`: Wrong: it passes the whole answer to renderMessages() instead of its `msg`
/// list, so every poll "fails" and no message is ever shown.
pub const RENDERS_THE_WHOLE_ANSWER: &str = include_str!("../clients/renders-the-whole-answer.js");

/// `second-chain-after-sending.js`: Wrong: after sending, it calls poll() instead of refresh(). The message shows
/// at once, but poll() schedules itself again: from then on two chains run side by side, and every message sent
/// adds another.
pub const SECOND_CHAIN_AFTER_SENDING: &str = include_str!("../clients/second-chain-after-sending.js");

/// `set-interval.js`: Wrong: a request every 3 s, whether or not the last one came back.
pub const SET_INTERVAL: &str = include_str!("../clients/set-interval.js");

/// `sleep-loop.js`: Right: exercise 02 written another way: one async loop that awaits a sleep after each poll,
/// instead of a function that schedules itself.
pub const SLEEP_LOOP: &str = include_str!("../clients/sleep-loop.js");

/// `stops-after-a-failure.js`: Wrong, and the original course's client: when fetch rejects, `json` stays
/// undefined, `json.msg` throws, and the next setTimeout is never reached.
pub const STOPS_AFTER_A_FAILURE: &str = include_str!("../clients/stops-after-a-failure.js");

/// `subtracts-the-latency.js`: Wrong: a chain that keeps a steady beat: it takes the time the request took off
/// the wait, so polls start 3 s apart and the quiet time between an answer and the next poll shrinks when the
/// server is slow.
pub const SUBTRACTS_THE_LATENCY: &str = include_str!("../clients/subtracts-the-latency.js");

/// `ticks-every-100-ms.js`: Wrong: it never chains timers. It wakes every 100 ms and polls once 3 s have passed
/// since the last answer and none is in flight: one poll at a time, but each goes out up to 100 ms after it is
/// due. On a server whose answers land on whole tenths of a second it looks exactly right.
pub const TICKS_EVERY_100_MS: &str = include_str!("../clients/ticks-every-100-ms.js");

/// `visibility-keeps-its-timer.js`: Wrong: the Page Visibility version, but it does not cancel the pending timer
/// when the page hides: the poll it had already scheduled still goes out while nobody can see the page (timers in
/// a hidden page are only throttled, not stopped).
pub const VISIBILITY_KEEPS_ITS_TIMER: &str = include_str!("../clients/visibility-keeps-its-timer.js");

/// `visibility-waits-when-shown.js`: Wrong: the Page Visibility version, but when the page is shown again it
/// starts the chain with a whole interval's wait instead of polling at once: the reader who comes back looks at a
/// stale chat for 3 s.
pub const VISIBILITY_WAITS_WHEN_SHOWN: &str = include_str!("../clients/visibility-waits-when-shown.js");

/// `visibility.js`: Right: pausing with the Page Visibility API instead of animation frames. A setTimeout chain
/// that does not re-arm while the page is hidden, cancels a pending timer when the page hides, and polls at once
/// when it is shown.
pub const VISIBILITY: &str = include_str!("../clients/visibility.js");

/// `waits-before-the-first-poll.js`: Wrong: exercise 02's chain, started with a timer instead of a call, so the
/// page shows nothing for the first 3 s: the first poll waits a whole interval.
pub const WAITS_BEFORE_THE_FIRST_POLL: &str = include_str!("../clients/waits-before-the-first-poll.js");

// Exercise 05's right cursor written another way (its wrong clients are
// the solution's files with one change, derived in
// tests/05-dont-ddos-yourself/wrong_solutions.rs).

/// `ex05-cursor-another-way.js`: Right cursor.js for exercise 05, written another way: `pollPath` puts `epoch`
/// first and builds the query from its parts, and `merge` drops the shown messages that came again before it
/// appends what came.
pub const EX05_CURSOR_ANOTHER_WAY: &str = include_str!("../clients/ex05-cursor-another-way.js");
