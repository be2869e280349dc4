// How long the client waits before its next poll: the normal interval while
// all is well, and a growing wait while polls fail.
//
// This starter is the original course's backoff. It called itself
// exponential, but it adds 5 s per failure (3, 8, 13, 18, 23 s...): linear,
// with no cap, no jitter, and no first retry at once. It also never forgets
// its failures, and ignores what the server asks for.
//
// TODO, in this order (the spec's tests follow it):
//   1. failed(): keep counting failures in a row, and wait the schedule's
//      step for that count: RETRY_SCHEDULE_MS[0] after the first failure,
//      [1] after the second, and the last step (the cap) from then on.
//   2. failed(): add "equal jitter": wait step / 2 + this.random() * step / 2,
//      rounded to whole milliseconds (Math.round).
//   3. succeeded(): reset the count of failures.
//   4. failed(retryAfterMs): never wait less than retryAfterMs. When it is
//      longer than the jittered wait, wait retryAfterMs plus a random extra
//      of this.random() * retryAfterMs * RETRY_AFTER_SPREAD (up to half of
//      it again), rounded with Math.round; otherwise the jittered wait.
//   5. retryAfterMs(header, now): read "120" as 120000 ms (digits only:
//      "120abc" is no number of seconds), an HTTP date as the time from
//      `now` until then (Date.parse reads it), and anything else, or a time
//      in the past, as 0.

// ANCHOR: constants
/** Between polls while all is well. */
export const INTERVAL_MS = 3000;

/**
 * After 1, 2, 3 and more failures in a row: at once, then 3 s, 10 s, 30 s.
 * The last step is the cap: the schedule never waits longer (a server's
 * larger Retry-After can), and never gives up.
 */
export const RETRY_SCHEDULE_MS = [0, 3000, 10000, 30000];

/**
 * A Retry-After longer than the schedule's wait is waited in full, plus up
 * to this part of it again, at random: a server tells all its clients the
 * same wait, and this keeps them from coming back together.
 */
export const RETRY_AFTER_SPREAD = 0.5;
// ANCHOR_END: constants

export class Backoff {
  /** `random` returns a number in [0, 1): Math.random, or a test's own. */
  constructor(random = Math.random) {
    this.failures = 0; // polls that failed in a row
    this.random = random;
  }

  /** A poll worked: wait the normal interval. */
  succeeded() {
    return INTERVAL_MS;
  }

  /** A poll failed: how long to wait before the next one. */
  failed(retryAfterMs = 0) {
    this.failures += 1;
    return 3000 + 5000 * (this.failures - 1);
  }
}

/** The wait a `Retry-After` header asks for, in ms. */
export function retryAfterMs(header, now = Date.now()) {
  return 0;
}
