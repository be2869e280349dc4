// Wrong, and the original course's: 3, 8, 13, 18, 23 s... linear, no cap.
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
    const wait = 3000 + 5000 * (this.failures - 1);
    if (retryAfterMs > wait) return Math.round(retryAfterMs + this.random() * retryAfterMs * 0.5);
    return wait;
  }
}
export { retryAfterMs } from "/good-backoff.js";
