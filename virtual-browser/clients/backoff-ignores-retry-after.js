// Wrong: the schedule is right, but what the server asks for is ignored.
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
  failed() {
    this.failures += 1;
    const step = SCHEDULE[Math.min(this.failures, SCHEDULE.length) - 1];
    return Math.round(step / 2 + this.random() * (step / 2));
  }
}
export { retryAfterMs } from "/good-backoff.js";
