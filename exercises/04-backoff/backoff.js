// How long the client waits before its next poll: the normal interval while
// all is well, and a growing wait while polls fail.
//
// This starter is the original course's backoff. It called itself
// exponential, but it adds 5 s per failure (3, 8, 13, 18, 23 s...): linear,
// with no cap, no jitter, and no first retry at once. It also never forgets
// its failures, and ignores what the server asks for.
//
// TODO: make it the chapter's backoff. After n failures in a row, wait the
// schedule's step for n (RETRY_SCHEDULE_MS; its last step, the cap, from
// then on), with equal jitter, rounded to whole milliseconds; only a
// success resets the count. A Retry-After is a minimum: one longer than the
// jittered wait is waited in full, spread by up to RETRY_AFTER_SPREAD of
// it again.
// `retryAfterMs` reads whole seconds ("120", and not "120abc") or an HTTP
// date, and anything else, or a time past, as 0. Rules R1 to R10 (s01 to
// s13; the spec's numbers are a good order to work in); chapter 04, «The
// schedule», «Jitter», «When the server says how long: Retry-After» and
// «Everyone gets the same Retry-After».

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
