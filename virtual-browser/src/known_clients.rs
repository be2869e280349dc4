//! Clients the course knows, kept as files beside this crate
//! (`virtual-browser/clients/`): plausible wrong ones, each breaking one rule
//! a chapter teaches, that the checks must catch with a message naming the
//! rule; and correct ones written another way, that must pass. The virtual
//! browser's own tests and the real-browser tier run the same files.

/// `backoff-gives-up.js`: Wrong: after five failures in a row, it stops for good.
pub const BACKOFF_GIVES_UP: &str = include_str!("../clients/backoff-gives-up.js");

/// `backoff-ignores-retry-after.js`: Wrong: the schedule is right, but what the server asks for is
/// ignored.
pub const BACKOFF_IGNORES_RETRY_AFTER: &str = include_str!("../clients/backoff-ignores-retry-after.js");

/// `backoff-immediate-forever.js`: Wrong: retry at once, every time, forever.
pub const BACKOFF_IMMEDIATE_FOREVER: &str = include_str!("../clients/backoff-immediate-forever.js");

/// `backoff-linear-no-cap.js`: Wrong, and the original course's: 3, 8, 13, 18, 23 s... linear, no
/// cap.
pub const BACKOFF_LINEAR_NO_CAP: &str = include_str!("../clients/backoff-linear-no-cap.js");

/// `backoff-no-reset.js`: Wrong: the schedule is right, but a success does not reset it.
pub const BACKOFF_NO_RESET: &str = include_str!("../clients/backoff-no-reset.js");

/// `ignores-hidden.js`: Wrong for exercise 03 (right for exercise 02): a setTimeout chain that
/// keeps polling while nobody can see the page.
pub const IGNORES_HIDDEN: &str = include_str!("../clients/ignores-hidden.js");

/// `raf-without-await.js`: Wrong, and the original course's requestAnimationFrame client: it pauses
/// while hidden, but it does not await the request, so a slow server gets a new one every 3 s while
/// the last is still on its way.
pub const RAF_WITHOUT_AWAIT: &str = include_str!("../clients/raf-without-await.js");

/// `set-interval.js`: Wrong: a request every 3 s, whether or not the last one came back.
pub const SET_INTERVAL: &str = include_str!("../clients/set-interval.js");

/// `stops-after-a-failure.js`: Wrong, and the original course's client: when fetch rejects, `json`
/// stays undefined, `json.msg` throws, and the next setTimeout is never reached.
pub const STOPS_AFTER_A_FAILURE: &str = include_str!("../clients/stops-after-a-failure.js");

/// `visibility.js`: Right: pausing with the Page Visibility API instead of animation frames. A
/// setTimeout chain that does not re-arm while the page is hidden, cancels a pending timer when the
/// page hides, and polls at once when it is shown.
pub const VISIBILITY: &str = include_str!("../clients/visibility.js");
