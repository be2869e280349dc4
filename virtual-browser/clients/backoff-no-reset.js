// Wrong: the schedule is right, but a success does not reset it.
const SCHEDULE = [0, 3000, 10000, 30000];
export class Backoff {
  constructor() {
    this.failures = 0;
  }
  succeeded() {
    return 3000;
  }
  failed(retryAfterMs = 0) {
    this.failures += 1;
    const step = SCHEDULE[Math.min(this.failures, SCHEDULE.length) - 1];
    return Math.max(step / 2 + Math.random() * (step / 2), retryAfterMs);
  }
}
export { retryAfterMs } from "/good-backoff.js";
