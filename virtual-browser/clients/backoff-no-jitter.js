// Wrong: the schedule exactly, with no jitter: clients that failed together
// come back together, at every step, for good.
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
    if (retryAfterMs > step) return Math.round(retryAfterMs + this.random() * retryAfterMs * 0.5);
    return step;
  }
}
export { retryAfterMs } from "/good-backoff.js";
