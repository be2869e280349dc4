// Exercise 05's client, given complete: exercise 04's animation-frame loop
// with its backoff, which now polls with a cursor, so that an answer carries
// only what is new, and names itself so the server can rate-limit it fairly.
import { renderMessages, showStatus, onSubmit, nameThisPage } from "/static/chat.js";
import { Backoff, retryAfterMs } from "/backoff.js";
import { pollPath, merge, nextCursor } from "/cursor.js";

// ANCHOR: client_id
/**
 * This page's name for the server: random, and kept in the tab's
 * sessionStorage, so reloading the tab keeps it (and its allowance). While
 * the page is open the id is out of storage, and goes back only as the page
 * goes (`pagehide`): a tab duplicated from this one, or opened from it,
 * starts with a copy of its sessionStorage, and must not take this id with
 * it. Where storage is refused (it throws), the id is new on every load, and
 * the server's per-address ceiling still counts it.
 */
const CLIENT_ID = (() => {
  const fresh = () => `page-${Math.random().toString(36).slice(2, 12)}`;
  try {
    const id = sessionStorage.getItem("client-id") ?? fresh();
    sessionStorage.removeItem("client-id");
    addEventListener("pagehide", () => sessionStorage.setItem("client-id", id));
    // Back from the back/forward cache, the page is open again.
    addEventListener("pageshow", (event) => {
      if (event.persisted) sessionStorage.removeItem("client-id");
    });
    return id;
  } catch {
    return fresh(); // storage refused: an id for this load only
  }
})();
nameThisPage(CLIENT_ID); // its posts name it too
// ANCHOR_END: client_id

class PollFailed extends Error {
  constructor(message, retryAfterMs) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

// ANCHOR: refresh
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
// ANCHOR_END: refresh

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
