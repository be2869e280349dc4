// Wrong: exercise 03's frame loop, but it sets `nextPollAt` from the frame's
// time, taken before the await: the wait counts from when the poll was
// sent, not from its answer, so a slow answer eats into the quiet time.
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
    try {
      await refresh();
      showStatus("");
    } catch (error) {
      showStatus(`polling failed: ${error.message}`);
    }
    nextPollAt = now + INTERVAL_MS;
  }
  requestAnimationFrame(frame);
}

requestAnimationFrame(frame);

onSubmit(() =>
  refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)),
);
