// Wrong: retry at once, every time, forever.
export class Backoff {
  succeeded() {
    return 3000;
  }
  failed(retryAfterMs = 0) {
    return retryAfterMs;
  }
}
export { retryAfterMs } from "/good-backoff.js";
