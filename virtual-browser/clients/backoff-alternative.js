// Right: exercise 04's backoff written another way: private fields, the
// step looked up before the failure is counted, a Retry-After spread as a
// factor of 1 to 1.5, and Retry-After read with Number() after a digits-only
// test.
export const INTERVAL_MS = 3000;
export const RETRY_SCHEDULE_MS = [0, 3000, 10000, 30000];

export class Backoff {
  #random;
  #inARow = 0;

  constructor(random = Math.random) {
    this.#random = random;
  }

  succeeded() {
    this.#inARow = 0;
    return INTERVAL_MS;
  }

  failed(retryAfterMs = 0) {
    const step = RETRY_SCHEDULE_MS.at(Math.min(this.#inARow, RETRY_SCHEDULE_MS.length - 1));
    this.#inARow += 1;
    const half = step / 2;
    const random = this.#random();
    const jittered = Math.round(half + half * random);
    return retryAfterMs > jittered ? Math.round(retryAfterMs * (1 + random / 2)) : jittered;
  }
}

export function retryAfterMs(header, now = Date.now()) {
  const text = (header ?? "").trim();
  if (/^[0-9]+$/.test(text)) return 1000 * Number(text);
  const when = new Date(text).getTime();
  return Number.isFinite(when) && when > now ? when - now : 0;
}
