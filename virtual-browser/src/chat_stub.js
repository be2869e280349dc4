// The virtual browser's stand-in for static/chat.js, the chat page's render
// module. It exports the same functions, but instead of building DOM nodes
// it records what the page would show, so a spec can see "the page showed
// message 7 at 3080 ms". Sending works as in the real module, over the
// virtual fetch.
const host = globalThis.__chat;
delete globalThis.__chat;

export function renderMessages(messages) {
  host.render(JSON.stringify(messages.map((message) => message.id)));
}

export function showStatus(text) {
  host.status(String(text));
}

export async function sendMessage(user, text) {
  let response;
  try {
    response = await fetch("/poll", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user, text }),
    });
  } catch {
    return "could not reach the server; is it running?";
  }
  if (response.ok) return null;
  try {
    const body = await response.json();
    return body.error ?? `the server answered ${response.status}`;
  } catch {
    return `the server answered ${response.status}`;
  }
}

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
