// Wrong, and the original course's client: when fetch rejects, `json` stays
// undefined, `json.msg` throws, and the next setTimeout is never reached.
import { renderMessages } from "/static/chat.js";

async function getNewMsgs() {
  let json;
  try {
    const res = await fetch("/poll");
    json = await res.json();
  } catch (e) {
    console.error("polling error", e);
  }
  renderMessages(json.msg);
  setTimeout(getNewMsgs, 3000);
}

getNewMsgs();
