// The virtual browser's stand-in for static/chat.js, the chat page's render
// module. It exports the same functions, but instead of building DOM nodes
// it records what the page would show, so a spec can see "the page showed
// message 7 at 3080 ms". Sending is the real module's, over the virtual fetch.
import { nameThisPage, sendMessage } from "/static/real-chat.js";

const host = globalThis.__chat;
delete globalThis.__chat;

export function renderMessages(messages) {
  host.render(JSON.stringify(messages.map((message) => message.id)));
}

export function showStatus(text) {
  host.status(String(text));
}

// Sending is the real module's, unchanged: it needs only fetch and setTimeout.
export { nameThisPage, sendMessage };

export function onSubmit(afterSend) {
  // Kept here, in JavaScript; the virtual browser's `send` scenario calls it.
  globalThis.__chatSubmit = async (user, text) => {
    const error = await sendMessage(user, text);
    if (error) {
      showStatus(error);
      return;
    }
    showStatus("");
    await afterSend();
  };
}
