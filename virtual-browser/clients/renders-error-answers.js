// Wrong: it never checks `response.ok`, so an error answer is read as
// messages: `{"error": ...}` has no `msg`, and `?? []` turns that into an
// empty chat on every 500 instead of a failure.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

async function refresh() {
  const response = await fetch("/poll");
  const body = await response.json();
  renderMessages(body.msg ?? []);
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
