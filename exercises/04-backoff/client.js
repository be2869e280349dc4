// Exercise 04's client, given complete: exercise 03's animation-frame loop
// (nothing while the page is hidden, never two polls at once), which now
// asks `backoff.js` how long to wait after each poll.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";
import { Backoff, retryAfterMs } from "/backoff.js";

/** A poll that failed; `retryAfterMs` is the wait the server asked for. */
class PollFailed extends Error {
  constructor(message, retryAfterMs) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

// ANCHOR: refresh
/** Ask for the messages once and show them. Throws if that fails. */
async function refresh() {
  const response = await fetch("/poll");
  if (!response.ok) {
    // 429 Too Many Requests and 503 Service Unavailable may say how long to wait.
    const asks = response.status === 429 || response.status === 503;
    const wait = asks ? retryAfterMs(response.headers.get("retry-after")) : 0;
    throw new PollFailed(`GET /poll answered ${response.status}`, wait);
  }
  const body = await response.json();
  renderMessages(body.msg);
}
// ANCHOR_END: refresh

// ANCHOR: frame
const backoff = new Backoff();
/** When the next poll is due, on the clock of performance.now(). */
let nextPollAt = 0;

async function frame(now) {
  if (now >= nextPollAt) {
    let wait;
    try {
      await refresh();
      wait = backoff.succeeded();
      showStatus("");
    } catch (error) {
      // A network error (fetch rejects) carries no Retry-After: 0.
      wait = backoff.failed(error.retryAfterMs ?? 0);
      const when = wait < 1000 ? "now" : `in ${Math.ceil(wait / 1000)} s`;
      showStatus(`polling failed (${error.message}); trying again ${when}`);
    }
    nextPollAt = performance.now() + wait;
  }
  requestAnimationFrame(frame);
}

requestAnimationFrame(frame);
// ANCHOR_END: frame

// After you send a message, show it at once instead of waiting for the next poll.
onSubmit(() => refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)));
