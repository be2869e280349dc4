// Wrong: exercise 03's frame loop without the try/catch: when a poll fails,
// frame() throws before it asks for the next frame, and polling stops for
// good.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

async function refresh() {
  const response = await fetch("/poll");
  if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
  const body = await response.json();
  renderMessages(body.msg);
}

let nextPollAt = 0;

async function frame(now) {
  if (now >= nextPollAt) {
    await refresh();
    showStatus("");
    nextPollAt = performance.now() + INTERVAL_MS;
  }
  requestAnimationFrame(frame);
}

requestAnimationFrame(frame);

onSubmit(() =>
  refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)),
);
