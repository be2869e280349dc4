// Wrong, and the original course's: 3, 8, 13, 18, 23 s... linear, no cap.
export class Backoff {
  constructor() {
    this.failures = 0;
  }
  succeeded() {
    this.failures = 0;
    return 3000;
  }
  failed(retryAfterMs = 0) {
    this.failures += 1;
    return Math.max(3000 + 5000 * (this.failures - 1), retryAfterMs);
  }
}
export { retryAfterMs } from "/good-backoff.js";
