// Wrong: after sending, it calls poll() instead of refresh(). The message
// shows at once, but poll() schedules itself again: from then on two chains
// run side by side, and every message sent adds another.
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

onSubmit(() => poll());
