// Interval polling for chapter 07's comparison: exercise 05's client (a
// cursor, a poll 3 s after each answer) on a setTimeout chain instead of
// animation frames. No page in the comparison is ever hidden, and a thousand
// pages drawing 60 frames a second would only slow the simulation down.
import { renderMessages } from "/static/chat.js";
import { pollPath, merge, nextCursor } from "/cursor.js";

const INTERVAL_MS = 3000;
let shown = [];
let cursor = null;

async function poll() {
  try {
    const response = await fetch(pollPath(cursor));
    if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
    const answer = await response.json();
    const next = merge(answer.reset ? [] : shown, answer.msg);
    cursor = nextCursor(next, answer);
    if (answer.reset || answer.msg.length > 0) {
      shown = next;
      renderMessages(shown);
    }
  } catch {
    // the comparison's server never fails
  }
  setTimeout(poll, INTERVAL_MS);
}

poll();
