// Wrong client.js for exercise 05: it names itself with a new random id on
// every load, so each reload of the tab is a client the rate limit has never
// seen, with a whole allowance of its own: a reload loop is never held to one.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";
import { Backoff, retryAfterMs } from "/backoff.js";
import { pollPath, merge, nextCursor } from "/cursor.js";

/** This page's name for the rate limit: random, and new on every load. */
const CLIENT_ID = `page-${Math.random().toString(36).slice(2, 12)}`;

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
  const response = await fetch(pollPath(cursor), { headers });
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
