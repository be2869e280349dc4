// The chat page's render module, shared by every exercise.
//
// Each exercise's own client.js decides *when* to ask the server for messages
// (that is what the course is about); this module only shows them and sends
// new ones. It never builds HTML from message text: every piece of text a user
// typed goes into the page through `textContent`, which the browser treats as
// plain characters. `innerHTML = "<li>" + m.text + "</li>"` would let anyone
// who posts `<img src=x onerror=alert(1)>` run script in every reader's page.

// ANCHOR: render
/** Replace the list with `messages` (oldest first), newest at the bottom. */
export function renderMessages(messages) {
  const list = document.getElementById("messages");
  const items = messages.map((message) => {
    const item = document.createElement("li");
    item.dataset.id = String(message.id);

    const user = document.createElement("span");
    user.className = "user";
    user.textContent = message.user; // text, never markup

    const time = document.createElement("time");
    const when = new Date(message.time);
    time.dateTime = when.toISOString();
    time.textContent = when.toLocaleTimeString();

    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text; // text, never markup

    item.append(user, time, text);
    return item;
  });
  list.replaceChildren(...items);
}
// ANCHOR_END: render

/** Show a short line under the form; an empty string clears it. */
export function showStatus(text) {
  document.getElementById("status").textContent = text;
}

/** The page's own name for the server (`x-client-id`), once it has one. */
let clientId = null;

/**
 * Name this page on its posts too, with the same `x-client-id` its polls
 * send (exercise 05 on): the server's rate limit and idempotency keys are
 * each page's own, not shared by every tab behind one address.
 */
export function nameThisPage(id) {
  clientId = id;
}

/**
 * POST one message. Resolves to `null` when the server stored it, or to the
 * server's error sentence (`{"error": "..."}`) when it refused it or could
 * not answer. A 503 does not always mean "not stored": the store may have
 * kept it just before its answer timed out, which is what the idempotency
 * key (and the one retry with it) is for.
 */
export async function sendMessage(user, text) {
  // One key per message: if an answer is lost and the POST is sent again,
  // the server stores the message once (exercise 06's Idempotency-Key).
  const key = `m-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  for (let attempt = 1; ; attempt += 1) {
    let response;
    try {
      response = await fetch("/poll", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "idempotency-key": key,
          ...(clientId === null ? {} : { "x-client-id": clientId }),
        },
        body: JSON.stringify({ user, text }),
      });
    } catch {
      if (attempt < 2) continue; // the network failed: once more, same key
      return "could not reach the server; is it running?";
    }
    if (response.status === 503 && attempt < 2) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue; // the store is down for a moment: once more, same key
    }
    if (response.ok) return null;
    try {
      const body = await response.json();
      return body.error ?? `the server answered ${response.status}`;
    } catch {
      return `the server answered ${response.status}`;
    }
  }
}

/**
 * Wire the form: on submit, send the message, keep the name, clear the text,
 * and call `afterSend()` so the client can show the new message at once.
 */
export function onSubmit(afterSend) {
  const form = document.getElementById("compose");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const user = form.elements.user.value;
    const text = form.elements.text.value;
    const error = await sendMessage(user, text);
    if (error) {
      showStatus(error);
      return;
    }
    showStatus("");
    form.elements.text.value = "";
    await afterSend();
  });
}
