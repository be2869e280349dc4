// Wrong: retry at once, every time, forever.
export class Backoff {
  constructor(random = Math.random) {
    this.random = random;
  }
  succeeded() {
    return 3000;
  }
  failed(retryAfterMs = 0) {
    if (retryAfterMs > 0) return Math.round(retryAfterMs + this.random() * retryAfterMs * 0.5);
    return 0;
  }
}
export { retryAfterMs } from "/good-backoff.js";
