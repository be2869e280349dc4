// One reader's page in chapter 04's fleet figures: a setTimeout chain with
// exercise 04's backoff. (No animation frames: no page in the fleet is ever
// hidden, and a thousand pages drawing 60 frames a second would only slow
// the simulation down.) "/fleet-random.js" gives the backoff its random
// numbers: Math.random for the jittered fleet, or always the top of each
// range, which is the fixed schedule: at once, 3 s, 10 s, 30 s. A 429 or a
// 503 may carry Retry-After, read as exercise 04's client reads it.
import { Backoff, retryAfterMs } from "/backoff.js";
import { random } from "/fleet-random.js";

const backoff = new Backoff(random);

async function poll() {
  let wait;
  try {
    const response = await fetch("/poll");
    if (response.ok) {
      await response.text();
      wait = backoff.succeeded();
    } else {
      const asks = response.status === 429 || response.status === 503;
      wait = backoff.failed(asks ? retryAfterMs(response.headers.get("retry-after")) : 0);
    }
  } catch {
    wait = backoff.failed();
  }
  setTimeout(poll, wait);
}

poll();
