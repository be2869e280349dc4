// Wrong: the Page Visibility version, but it does not cancel the pending
// timer when the page hides: the poll it had already scheduled still goes
// out while nobody can see the page (timers in a hidden page are only
// throttled, not stopped).
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
  if (!document.hidden && timer === null && !inFlight) poll();
});

poll();
