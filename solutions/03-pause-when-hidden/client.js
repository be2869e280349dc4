// Exercise 03's client: poll every 3 s while someone can see the page, and
// not at all while it is hidden.
//
// The loop is driven by requestAnimationFrame. Browsers run frame callbacks
// before each paint, and stop running them while the page is hidden
// (another tab in front, the window minimised, the phone locked). So the
// polls stop by themselves when nobody is looking, and start again with the
// first frame after the page is shown.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

/** Ask for the messages once and show them. Throws if that fails. */
async function refresh() {
  const response = await fetch("/poll");
  if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
  const body = await response.json();
  renderMessages(body.msg);
}

// ANCHOR: frame
/** When the next poll is due, on the clock of performance.now(). */
let nextPollAt = 0;

async function frame(now) {
  if (now >= nextPollAt) {
    try {
      await refresh(); // await: no new frame is asked for until this poll is over
      showStatus("");
    } catch (error) {
      showStatus(`polling failed: ${error.message}`);
    }
    nextPollAt = performance.now() + INTERVAL_MS;
  }
  requestAnimationFrame(frame);
}

requestAnimationFrame(frame);
// ANCHOR_END: frame

// After you send a message, show it at once instead of up to 3 s later.
onSubmit(() =>
  refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)),
);
