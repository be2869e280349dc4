// Exercise 02's client, as most people first write it: poll every 3 s with
// setInterval.
//
// TODO: setInterval starts a request every 3 s whether or not the last one
// has come back. On a server slower than that, requests pile up (run the
// spec: s02 shows two polls in flight at once). Poll in a chain instead.
// When done: the first poll goes out as the page loads; the next is
// scheduled only once the answer to the last is in, INTERVAL_MS after it,
// so two are never in flight; and it is scheduled whether the last poll
// worked or failed, since a client that stops after one failed request has
// stopped for good. `refresh()` and sending stay as they are. Rules R1 to
// R4 (s01 to s04, s06); chapter 02, «Chain the timer instead» and «Keep
// going when a poll fails». API: `setTimeout`, `try...finally`.
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
