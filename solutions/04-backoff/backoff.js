// How long the client waits before its next poll: the normal interval while
// all is well, and a growing, jittered wait while polls fail.

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

// ANCHOR: backoff
export class Backoff {
  /** `random` returns a number in [0, 1): Math.random, or a test's own. */
  constructor(random = Math.random) {
    this.failures = 0; // polls that failed in a row
    this.random = random;
  }

  /** A poll worked: forget the failures and wait the normal interval. */
  succeeded() {
    this.failures = 0;
    return INTERVAL_MS;
  }

  /**
   * A poll failed. Wait this step of the schedule, with "equal jitter":
   * somewhere between half of it and all of it, so that clients that failed
   * together do not come back together. If the server asked for longer
   * (Retry-After), wait that long, plus a random extra of up to half of it:
   * the server tells every client the same, so the client adds the spread.
   */
  failed(retryAfterMs = 0) {
    this.failures += 1;
    const last = RETRY_SCHEDULE_MS.length - 1;
    const step = RETRY_SCHEDULE_MS[Math.min(this.failures - 1, last)];
    const r = this.random();
    const jittered = Math.round(step / 2 + r * (step / 2));
    if (retryAfterMs <= jittered) return jittered;
    return Math.round(retryAfterMs + r * retryAfterMs * RETRY_AFTER_SPREAD);
  }
}
// ANCHOR_END: backoff

// ANCHOR: retry_after
/**
 * The wait a `Retry-After` header asks for, in ms. It holds either a number
 * of seconds ("120") or an HTTP date ("Thu, 01 Jan 2026 00:02:00 GMT").
 * Absent, unreadable or in the past: 0.
 */
export function retryAfterMs(header, now = Date.now()) {
  if (header == null) return 0;
  const text = String(header).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? 0 : Math.max(0, at - now);
}
// ANCHOR_END: retry_after
