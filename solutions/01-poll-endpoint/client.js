// Exercise 01's client, given complete: the plainest poller there is.
//
// It asks for every message every 3 seconds with setInterval. That works on
// a fast server and a quiet network; exercise 02 shows what goes wrong when
// the server is slower than the interval, and fixes it.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

async function refresh() {
  try {
    const response = await fetch("/poll");
    if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
    const body = await response.json();
    renderMessages(body.msg);
    showStatus("");
  } catch (error) {
    showStatus(`polling failed: ${error.message}`);
  }
}

onSubmit(refresh); // show your own message at once, not up to 3 s later
refresh();
setInterval(refresh, INTERVAL_MS);
