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
  // TODO: open one EventSource on the stream's path for the page's cursor
  // (`eventsPath`), kept in `source`.
  // Each `message` event's data is a message: show it at once, each message
  // once and in order (exercise 05's `merge`), and keep the cursor its id
  // carries. A `reset` event means the page's messages are from a store
  // that is gone: forget them before the new ones come. While the browser
  // reconnects by itself (after the server's `retry:`, with the last id),
  // let it, and say so until it is back; once it gives up (the server
  // refused the stream), open another with `backoff`'s wait if the page is
  // visible then, and say when. The status line is empty while the stream
  // is open, and a stream that opens starts `backoff` over. Rules R10 to
  // R14 (s12 to s16); chapter 08, «The client». API: `EventSource` (`onopen`,
  // `onmessage`, `onerror`, `readyState`, `lastEventId`, `close`),
  // `addEventListener`, `setTimeout`.
  throw new Error("TODO: open in client.js");
}
// ANCHOR_END: open

// ANCHOR: visibility
// TODO: a hidden page holds no stream: close it when the page hides, and
// open one from the cursor when it shows (unless a retry is already
// waiting in `retrying`). Rule R13 (s15); chapter 08, «The client». API:
// the "visibilitychange" event, `document.hidden`.
// ANCHOR_END: visibility

if (!document.hidden) open();

// A message this page sends comes back through the stream, like everyone
// else's: nothing to do after sending.
onSubmit(async () => {});
