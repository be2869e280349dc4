// Exercise 03's client starts as exercise 02's: a setTimeout chain that
// polls every 3 s after each answer. It never overlaps requests, but it
// keeps polling while nobody can see the page (run the spec: s02 shows
// polls going out while the page is hidden).
//
// TODO: drive the loop with requestAnimationFrame instead. Browsers run
// frame callbacks before each paint and stop running them while the page
// is hidden, so polling pauses by itself.
//   1. keep `refresh()` as it is;
//   2. keep a variable `nextPollAt` (start it at 0), on the clock of
//      performance.now();
//   3. write `async function frame(now)`: if `now >= nextPollAt`, AWAIT the
//      poll (refresh() in a try/catch, as below), then set
//      `nextPollAt = performance.now() + INTERVAL_MS`. In every case, end
//      with requestAnimationFrame(frame);
//   4. start it with requestAnimationFrame(frame) instead of poll().
// Without the `await`, a slow server gets a new request every 3 s while
// the last one is still on its way (s04).
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

/** Ask for the messages once and show them. Throws if that fails. */
async function refresh() {
  const response = await fetch("/poll");
  if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
  const body = await response.json();
  renderMessages(body.msg);
}

async function poll() {
  try {
    await refresh();
    showStatus("");
  } catch (error) {
    showStatus(`polling failed: ${error.message}`);
  } finally {
    setTimeout(poll, INTERVAL_MS);
  }
}

poll();

// After you send a message, show it at once instead of up to 3 s later.
onSubmit(() =>
  refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)),
);
