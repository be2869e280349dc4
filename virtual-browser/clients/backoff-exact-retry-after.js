// Wrong: when the server asks for longer than the jittered wait, it waits
// exactly Retry-After (the longer of the two, and no more): every client the
// server answers at the same moment comes back in the same millisecond.
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
    return Math.max(Math.round(step / 2 + this.random() * (step / 2)), retryAfterMs);
  }
}
export { retryAfterMs } from "/good-backoff.js";
