// Wrong for exercise 03 (right for exercise 02): a setTimeout chain that
// keeps polling while nobody can see the page.
import { renderMessages } from "/static/chat.js";

async function poll() {
  try {
    const response = await fetch("/poll");
    renderMessages((await response.json()).msg);
  } catch {
    // try again next time
  } finally {
    setTimeout(poll, 3000);
  }
}

poll();
