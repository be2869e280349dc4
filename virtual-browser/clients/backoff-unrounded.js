// Wrong: equal jitter, but not rounded to whole milliseconds: failed()
// returns waits like 1685.184 ms.
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
    const wait = step / 2 + r * (step / 2);
    if (retryAfterMs > wait) return Math.round(retryAfterMs + r * retryAfterMs * 0.5);
    return wait;
  }
}
export { retryAfterMs } from "/good-backoff.js";
