// Exercise 02's client, as most people first write it: poll every 3 s with
// setInterval.
//
// TODO: setInterval starts a request every 3 s whether or not the last one
// has come back. On a server slower than that, requests pile up (run the
// spec: s02 shows two polls in flight at once). Poll in a chain instead:
//   1. keep `refresh()` as it is;
//   2. turn `pollOnce` into `poll`, which, after its try/catch, in a
//      `finally`, schedules itself again: setTimeout(poll, INTERVAL_MS);
//   3. replace the two lines at the bottom that start polling with one
//      call: poll();
// The next poll must be scheduled whether this one worked or failed: a
// client that stops after one failed request has stopped for good.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

/** Ask for the messages once and show them. Throws if that fails. */
async function refresh() {
  const response = await fetch("/poll");
  if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
  const body = await response.json();
  renderMessages(body.msg);
}

async function pollOnce() {
  try {
    await refresh();
    showStatus("");
  } catch (error) {
    showStatus(`polling failed: ${error.message}`);
  }
}

pollOnce();
setInterval(pollOnce, INTERVAL_MS);

// After you send a message, show it at once instead of up to 3 s later.
onSubmit(() =>
  refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)),
);
