// Wrong: it reads Retry-After with parseInt, which stops at the first
// character that is not a digit: "120abc" becomes 120 s, "1.5" 1 s. Only a
// header of digits alone is a number of seconds.
export { Backoff } from "/good-backoff.js";

export function retryAfterMs(header, now = Date.now()) {
  if (header == null) return 0;
  const seconds = parseInt(header, 10);
  if (!Number.isNaN(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? 0 : Math.max(0, at - now);
}
