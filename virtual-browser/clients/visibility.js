// Right: pausing with the Page Visibility API instead of animation frames.
// A setTimeout chain that does not re-arm while the page is hidden, cancels
// a pending timer when the page hides, and polls at once when it is shown.
import { renderMessages, showStatus } from "/static/chat.js";

const INTERVAL_MS = 3000;

// ANCHOR: visibility
let timer = null; // the pending setTimeout, if any
let inFlight = false; // a poll is on its way

async function poll() {
  timer = null;
  inFlight = true;
  try {
    const response = await fetch("/poll");
    if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
    renderMessages((await response.json()).msg);
    showStatus("");
  } catch (error) {
    showStatus(`polling failed: ${error.message}`);
  } finally {
    inFlight = false;
    if (!document.hidden) timer = setTimeout(poll, INTERVAL_MS);
  }
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    clearTimeout(timer);
    timer = null;
  } else if (timer === null && !inFlight) {
    poll();
  }
});

poll();
// ANCHOR_END: visibility
