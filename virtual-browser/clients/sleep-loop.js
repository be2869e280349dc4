// Right: exercise 02 written another way: one async loop that awaits a
// sleep after each poll, instead of a function that schedules itself.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function refresh() {
  const response = await fetch("/poll");
  if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
  const body = await response.json();
  renderMessages(body.msg);
}

async function pollForever() {
  for (;;) {
    try {
      await refresh();
      showStatus("");
    } catch (error) {
      showStatus(`polling failed: ${error.message}`);
    }
    await sleep(INTERVAL_MS); // the quiet time starts when the answer is in
  }
}

pollForever();

onSubmit(() =>
  refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)),
);
