// Wrong: it never chains timers. It wakes every 100 ms and polls once 3 s
// have passed since the last answer and none is in flight: one poll at a
// time, but each goes out up to 100 ms after it is due. On a server whose
// answers land on whole tenths of a second it looks exactly right.
import { renderMessages, showStatus, onSubmit } from "/static/chat.js";

const INTERVAL_MS = 3000;

async function refresh() {
  const response = await fetch("/poll");
  if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
  const body = await response.json();
  renderMessages(body.msg);
}

let busy = false;
let lastAnswer = 0;

async function pollOnce() {
  busy = true;
  try {
    await refresh();
    showStatus("");
  } catch (error) {
    showStatus(`polling failed: ${error.message}`);
  } finally {
    busy = false;
    lastAnswer = Date.now();
  }
}

pollOnce();
setInterval(() => {
  if (!busy && Date.now() - lastAnswer >= INTERVAL_MS) pollOnce();
}, 100);

onSubmit(() =>
  refresh().catch((error) => showStatus(`could not refresh: ${error.message}`)),
);
