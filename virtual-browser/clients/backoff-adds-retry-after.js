// Wrong: it adds what the server asked for to the schedule's wait even when
// the schedule's wait is the longer: Retry-After is a minimum, not extra.
// (A Retry-After longer than the jittered wait it spreads, as it should.)
const SCHEDULE = [0, 3000, 10000, 30000];
export class Backoff {
  constructor(random = Math.random) {
    this.failures = 0;
    this.random = random;
  }
  succeeded() {
    this.failures = 0;
    return 3000;
  }
  failed(retryAfterMs = 0) {
    this.failures += 1;
    const step = SCHEDULE[Math.min(this.failures, SCHEDULE.length) - 1];
    const r = this.random();
    const jittered = Math.round(step / 2 + r * (step / 2));
    if (retryAfterMs > jittered) return Math.round(retryAfterMs + r * retryAfterMs * 0.5);
    return jittered + retryAfterMs;
  }
}
export { retryAfterMs } from "/good-backoff.js";
