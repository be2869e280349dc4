// Exercise 03's client starts as exercise 02's: a setTimeout chain that
// polls every 3 s after each answer. It never overlaps requests, but it
// keeps polling while nobody can see the page (run the spec: s02 shows
// polls going out while the page is hidden).
//
// TODO: drive the loop with requestAnimationFrame instead. Browsers run
// frame callbacks before each paint and stop running them while the page
// is hidden, so polling pauses by itself. When done: no poll goes out while
// the page is hidden, not even one already due; once it is shown, an
// overdue poll goes out with the first frame; while it is visible, the
// first poll goes with the first frame and each next one INTERVAL_MS after
// the last answer, never while a poll is in flight (a slow server, s04);
// a failed poll does not stop the loop. `refresh()` and sending stay as
// they are. Rules R1 to R5 (s01 to s06); chapter 03, «requestAnimationFrame
// stops when nobody looks» and «Why the `await` matters». API:
// `requestAnimationFrame`, `performance.now`.
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
