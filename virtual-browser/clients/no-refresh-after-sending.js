// Wrong: exercise 02's chain, but nothing is done after sending ("the next
// poll will show it"): the user's own message shows up to 3 s after they
// sent it.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

async function refresh() {
  const response = await fetch("/poll");
  if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
  const body = await response.json();
  renderMessages(body.msg);
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

onSubmit(() => {});
