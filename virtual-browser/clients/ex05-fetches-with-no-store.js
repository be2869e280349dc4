// Wrong client.js for exercise 05: it polls with `cache: "no-store"`, which
// keeps the browser's HTTP cache out of it: no answer is kept, no poll asks
// `If-None-Match`, and every idle poll comes back a whole 200, never a 304.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";
import { Backoff, retryAfterMs } from "/backoff.js";
import { pollPath, merge, nextCursor } from "/cursor.js";

/**
 * This page's name for the rate limit: random, and kept in the tab's
 * sessionStorage, so reloading the tab keeps it (and its allowance) while
 * a new tab gets its own. Where storage is refused (it throws), the id is
 * new on every load, and the server's per-address ceiling still counts it.
 */
const CLIENT_ID = (() => {
  const fresh = () => `page-${Math.random().toString(36).slice(2, 12)}`;
  try {
    const kept = sessionStorage.getItem("client-id");
    if (kept !== null) return kept;
    const id = fresh();
    sessionStorage.setItem("client-id", id);
    return id;
  } catch {
    return fresh(); // storage refused: an id for this load only
  }
})();

class PollFailed extends Error {
  constructor(message, retryAfterMs) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

let shown = []; // the messages on the page, oldest first
let cursor = null; // { since, epoch } once the server has answered

async function refresh() {
  const headers = { "x-client-id": CLIENT_ID };
  const response = await fetch(pollPath(cursor), { headers, cache: "no-store" });
  if (!response.ok) {
    const asks = response.status === 429 || response.status === 503;
    const wait = asks ? retryAfterMs(response.headers.get("retry-after")) : 0;
    throw new PollFailed(`GET /poll answered ${response.status}`, wait);
  }
  const answer = await response.json();
  // `reset`: the server does not know our cursor (it restarted): start over.
  const next = merge(answer.reset ? [] : shown, answer.msg);
  cursor = nextCursor(next, answer);
  if (answer.reset || answer.msg.length > 0) {
    shown = next;
    renderMessages(shown); // only when something changed
  }
}

const backoff = new Backoff();
let nextPollAt = 0;

async function frame(now) {
  if (now >= nextPollAt) {
    let wait;
    try {
      await refresh();
      wait = backoff.succeeded();
      showStatus("");
    } catch (error) {
      wait = backoff.failed(error.retryAfterMs ?? 0);
      const when = wait < 1000 ? "now" : `in ${Math.ceil(wait / 1000)} s`;
      showStatus(`polling failed (${error.message}); trying again ${when}`);
    }
    nextPollAt = performance.now() + wait;
  }
  requestAnimationFrame(frame);
}

requestAnimationFrame(frame);

onSubmit(() => refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)));
