// Wrong: a chain that keeps a steady beat: it takes the time the request
// took off the wait, so polls start 3 s apart and the quiet time between an
// answer and the next poll shrinks when the server is slow.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

async function refresh() {
  const response = await fetch("/poll");
  if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
  const body = await response.json();
  renderMessages(body.msg);
}

async function poll() {
  const started = Date.now();
  try {
    await refresh();
    showStatus("");
  } catch (error) {
    showStatus(`polling failed: ${error.message}`);
  } finally {
    setTimeout(poll, Math.max(0, INTERVAL_MS - (Date.now() - started)));
  }
}

poll();

onSubmit(() =>
  refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)),
);
