// Exercise 02's client: poll every 3 seconds, counted from each answer.
//
// setInterval would start a request every 3 s whether or not the last one
// had come back; on a server slower than 3 s, requests pile up. Here the
// next poll is scheduled only once the current one is over, so at most one
// is ever in flight, and the gap between polls is always 3 s of quiet.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

// ANCHOR: refresh
/** Ask for the messages once and show them. Throws if that fails. */
async function refresh() {
  const response = await fetch("/poll");
  if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
  const body = await response.json();
  renderMessages(body.msg);
}
// ANCHOR_END: refresh

// ANCHOR: poll
async function poll() {
  try {
    await refresh();
    showStatus("");
  } catch (error) {
    // fetch rejects on a network error; refresh() throws on a 5xx.
    // Either way, say so and keep going.
    showStatus(`polling failed: ${error.message}`);
  } finally {
    // Whatever happened, the next poll starts 3 s after this one ended.
    setTimeout(poll, INTERVAL_MS);
  }
}

poll();
// ANCHOR_END: poll

// After you send a message, show it at once instead of up to 3 s later.
onSubmit(() =>
  refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)),
);
