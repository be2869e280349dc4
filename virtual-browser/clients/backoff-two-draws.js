// Right: exercise 04's backoff as the starter's TODOs read, word for word:
// one this.random() for the jitter, and another for a Retry-After's spread.
// Each draw is in [0, 1), so every wait keeps the rules; it only uses the
// page's random numbers in another order than the solution.
export const INTERVAL_MS = 3000;
export const RETRY_SCHEDULE_MS = [0, 3000, 10000, 30000];
export const RETRY_AFTER_SPREAD = 0.5;

export class Backoff {
  constructor(random = Math.random) {
    this.failures = 0;
    this.random = random;
  }

  succeeded() {
    this.failures = 0;
    return INTERVAL_MS;
  }

  failed(retryAfterMs = 0) {
    this.failures += 1;
    const last = RETRY_SCHEDULE_MS.length - 1;
    const step = RETRY_SCHEDULE_MS[Math.min(this.failures - 1, last)];
    const jittered = Math.round(step / 2 + this.random() * (step / 2));
    if (retryAfterMs <= jittered) return jittered;
    return Math.round(retryAfterMs + this.random() * retryAfterMs * RETRY_AFTER_SPREAD);
  }
}

export function retryAfterMs(header, now = Date.now()) {
  if (header == null) return 0;
  const text = String(header).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? 0 : Math.max(0, at - now);
}
