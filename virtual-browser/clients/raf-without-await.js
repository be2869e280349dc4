// Wrong, and the original course's requestAnimationFrame client: it pauses
// while hidden, but it does not await the request, so a slow server gets a
// new one every 3 s while the last is still on its way.
import { renderMessages } from "/static/chat.js";

async function getNewMsgs() {
  const res = await fetch("/poll");
  renderMessages((await res.json()).msg);
}

let timeToMakeNextRequest = 0;
function rafTimer(time) {
  if (timeToMakeNextRequest <= time) {
    getNewMsgs();
    timeToMakeNextRequest = time + 3000;
  }
  requestAnimationFrame(rafTimer);
}

requestAnimationFrame(rafTimer);
