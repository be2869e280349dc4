// Wrong: exponential, but without the cap: after 30 s it goes on growing,
// 90 s, 270 s..., so a long outage leaves readers waiting minutes after the
// server is back.
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
    const last = SCHEDULE.length - 1;
    const step = SCHEDULE[Math.min(this.failures - 1, last)] * 3 ** Math.max(0, this.failures - 1 - last);
    const r = this.random();
    const wait = Math.round(step / 2 + r * (step / 2));
    if (retryAfterMs > wait) return Math.round(retryAfterMs + r * retryAfterMs * 0.5);
    return wait;
  }
}
export { retryAfterMs } from "/good-backoff.js";
