// Exercise 07's client: long polling. While the page is visible, one request
// is always waiting at the server, and its answer comes the moment there is
// something new. There is no polling interval any more: the answers set the
// pace. Exercise 04's backoff is for failures only, and exercise 05's cursor
// makes sure nothing falls between two requests.
import { renderMessages, showStatus, onSubmit, nameThisPage } from "/static/chat.js";
import { Backoff, retryAfterMs } from "/backoff.js";
import { pollPath, merge, nextCursor } from "/cursor.js";

// ANCHOR: path
/**
 * How long the server may hold a request, in seconds. The server holds for
 * at most 30 s; asking for less keeps the client's own patience in charge.
 */
export const WAIT_SECONDS = 25;

/** Exercise 05's poll path, plus how long to wait for news. */
export function longPollPath(cursor) {
  const path = pollPath(cursor);
  return `${path}${path.includes("?") ? "&" : "?"}wait=${WAIT_SECONDS}`;
}
// ANCHOR_END: path

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

class PollFailed extends Error {
  constructor(message, retryAfterMs) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

let shown = []; // the messages on the page, oldest first
let cursor = null; // { since, epoch } once the server has answered

// ANCHOR: refresh
/** One long poll: resolves when the server answers, with news or after a wait. */
async function refresh(signal) {
  const headers = { "x-client-id": CLIENT_ID };
  // `no-store`: no HTTP cache for an answer that is for this moment only,
  // and no cache lock: Chromium lets one request at a time fill a cache
  // entry, so a second tab at the same cursor would wait behind this one.
  const response = await fetch(longPollPath(cursor), {
    headers,
    signal,
    cache: "no-store",
  });
  if (!response.ok) {
    const asks = response.status === 429 || response.status === 503;
    const wait = asks ? retryAfterMs(response.headers.get("retry-after")) : 0;
    throw new PollFailed(`GET /poll answered ${response.status}`, wait);
  }
  const answer = await response.json();
  const next = merge(answer.reset ? [] : shown, answer.msg);
  cursor = nextCursor(next, answer);
  if (answer.reset || answer.msg.length > 0) {
    shown = next;
    renderMessages(shown);
  }
}
// ANCHOR_END: refresh

// ANCHOR: loop
const backoff = new Backoff();
let waiting = null; // the AbortController of the request held at the server

async function pollForever() {
  // TODO: long poll for as long as the page is open, one request at a
  // time, and none while the page is hidden. The request being held can be
  // aborted through `waiting`, which is null when none is. After an answer,
  // even an empty one, ask again at once, with the backoff reset; an abort
  // (the page hid) is not a failure; after any other failure, wait as
  // `backoff` says, and say so in the status line (s18's snapshot has the
  // course's words) until a request succeeds, which clears it.
  // Rules R9 to R12 (s16 to s21); chapter 07, «The client». API:
  // `AbortController`, `pageShown`, `sleep`.
  throw new Error("TODO: pollForever in client.js");
}

// TODO: when the page hides, the request held for it is let go (aborted),
// so the server can forget it; the cursor catches up once it is shown.
// Rule R12 (s19); chapter 07, «The client». API: the "visibilitychange"
// event, `document.hidden`, `AbortController.abort`.
// ANCHOR_END: loop

function pageShown() {
  return new Promise((resolve) => {
    const shownAgain = () => {
      if (document.hidden) return;
      document.removeEventListener("visibilitychange", shownAgain);
      resolve();
    };
    document.addEventListener("visibilitychange", shownAgain);
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

pollForever();

// A message this page sends comes back through the held request, like
// everyone else's: nothing to do after sending.
onSubmit(async () => {});
