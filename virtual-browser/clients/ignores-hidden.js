// Wrong for exercise 03: exercise 02's setTimeout chain, pared down, which
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
