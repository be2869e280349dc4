// Wrong: it passes the whole answer to renderMessages() instead of its
// `msg` list, so every poll "fails" and no message is ever shown.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

async function refresh() {
  const response = await fetch("/poll");
  if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
  const body = await response.json();
  renderMessages(body);
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

onSubmit(() =>
  refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)),
);
