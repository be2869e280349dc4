// Exercise 08's client: the chat pushed to the page. While the page is
// visible, one EventSource is open, and the server writes each message to it
// the moment it is stored. When the stream breaks, the browser connects again
// by itself, after the server's `retry:`, and sends the id of the last event
// it got (`Last-Event-ID`), so nothing is missed. The page steps in only
// where the browser does not: when it gives up (a refusal), with exercise
// 04's backoff, and when the page hides and shows.
import { renderMessages, showStatus, onSubmit, nameThisPage } from "/static/chat.js";
import { Backoff } from "/backoff.js";
import { merge } from "/cursor.js";

/**
 * This page's name for the server, as in exercise 07: random, and kept in
 * the tab's sessionStorage only while the page is not open, so a duplicated
 * tab does not take it. An EventSource cannot send headers of its own, so
 * the name goes in the stream's URL.
 */
const CLIENT_ID = (() => {
  const fresh = () => `page-${Math.random().toString(36).slice(2, 12)}`;
  try {
    const id = sessionStorage.getItem("client-id") ?? fresh();
    sessionStorage.removeItem("client-id");
    addEventListener("pagehide", () => sessionStorage.setItem("client-id", id));
    addEventListener("pageshow", (event) => {
      if (event.persisted) sessionStorage.removeItem("client-id");
    });
    return id;
  } catch {
    return fresh(); // storage refused: an id for this load only
  }
})();
nameThisPage(CLIENT_ID); // its posts name it too

// ANCHOR: path
/**
 * Where to open the stream. `cursor` is null before the first event, then
 * `{ since, epoch }`, as in exercise 05: a new EventSource has no last event
 * id, so the page says where it is in the URL.
 */
export function eventsPath(cursor) {
  const client = `client=${encodeURIComponent(CLIENT_ID)}`;
  if (cursor === null) return `/events?${client}`;
  return `/events?since=${cursor.since}&epoch=${cursor.epoch}&${client}`;
}

/** The cursor an event's id carries: `"1767225600000-42"`. */
export function cursorOf(id) {
  const [epoch, since] = id.split("-").map(Number);
  return { since, epoch };
}
// ANCHOR_END: path

let shown = []; // the messages on the page, oldest first
let cursor = null; // { since, epoch } once an event has come
let source = null; // the open EventSource, while the page is visible
let retrying = null; // the timer of a retry the page itself scheduled
const backoff = new Backoff();

// ANCHOR: open
function open() {
  source = new EventSource(eventsPath(cursor));
  showStatus("connecting…");
  source.onopen = () => {
    backoff.succeeded();
    showStatus("");
  };
  source.onmessage = (event) => {
    shown = merge(shown, [JSON.parse(event.data)]);
    cursor = cursorOf(event.lastEventId);
    renderMessages(shown);
  };
  // The store the page's messages came from is gone: start again from the
  // new one, whose messages follow this event.
  source.addEventListener("reset", (event) => {
    shown = [];
    cursor = cursorOf(event.lastEventId);
    renderMessages(shown);
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CONNECTING) {
      // The browser reconnects by itself, after the server's `retry:`.
      showStatus("connection lost; reconnecting…");
      return;
    }
    // CLOSED: the browser gave up, because the server refused the stream
    // (a 429 or 503 under its caps, or an answer that is not a stream). An
    // EventSource does not show us the status or Retry-After: back off.
    source.close();
    source = null;
    const wait = backoff.failed(0);
    const when = wait < 1000 ? "now" : `in ${Math.ceil(wait / 1000)} s`;
    showStatus(`the stream was refused; trying again ${when}`);
    retrying = setTimeout(() => {
      retrying = null;
      if (!document.hidden) open();
    }, wait);
  };
}
// ANCHOR_END: open

// ANCHOR: visibility
// A hidden page holds no stream: the server can give its slot to someone
// who is looking, and the cursor brings back what came in the meantime.
document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    source?.close();
    source = null;
    showStatus("paused while the page is hidden");
  } else if (source === null && retrying === null) {
    open();
  }
});
// ANCHOR_END: visibility

if (!document.hidden) open();

// A message this page sends comes back through the stream, like everyone
// else's: nothing to do after sending.
onSubmit(async () => {});
