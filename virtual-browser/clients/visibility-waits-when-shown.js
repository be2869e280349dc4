// Wrong: the Page Visibility version, but when the page is shown again it
// starts the chain with a whole interval's wait instead of polling at once:
// the reader who comes back looks at a stale chat for 3 s.
import { renderMessages, showStatus } from "/static/chat.js";

const INTERVAL_MS = 3000;

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
    timer = setTimeout(poll, INTERVAL_MS);
  }
});

poll();
