// Wrong: the schedule is right, but what the server asks for is ignored.
const SCHEDULE = [0, 3000, 10000, 30000];
export class Backoff {
  constructor() {
    this.failures = 0;
  }
  succeeded() {
    this.failures = 0;
    return 3000;
  }
  failed() {
    this.failures += 1;
    const step = SCHEDULE[Math.min(this.failures, SCHEDULE.length) - 1];
    return step / 2 + Math.random() * (step / 2);
  }
}
export { retryAfterMs } from "/good-backoff.js";
