// Wrong: after five failures in a row, it stops for good.
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
    if (this.failures > 5) return Infinity;
    const step = SCHEDULE[Math.min(this.failures, SCHEDULE.length) - 1];
    return step / 2 + Math.random() * (step / 2);
  }
}
export const retryAfterMs = () => 0;
