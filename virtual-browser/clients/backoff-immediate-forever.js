// Wrong: retry at once, every time, forever.
export class Backoff {
  succeeded() {
    return 3000;
  }
  failed() {
    return 0;
  }
}
export const retryAfterMs = () => 0;
