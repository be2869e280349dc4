// Wrong: a request every 3 s, whether or not the last one came back.
import { renderMessages } from "/static/chat.js";

setInterval(async () => {
  const response = await fetch("/poll");
  renderMessages((await response.json()).msg);
}, 3000);
