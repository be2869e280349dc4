// One reader's page in chapter 04's fleet figure: a setTimeout chain with
// exercise 04's backoff. (No animation frames: no page in the fleet is ever
// hidden, and a thousand pages drawing 60 frames a second would only slow
// the simulation down.) "/fleet-random.js" gives the backoff its random
// numbers: Math.random for the jittered fleet, or always the top of each
// range, which is the fixed schedule: at once, 3 s, 10 s, 30 s.
import { Backoff } from "/backoff.js";
import { random } from "/fleet-random.js";

const backoff = new Backoff(random);

async function poll() {
  let wait;
  try {
    const response = await fetch("/poll");
    if (!response.ok) throw new Error(`GET /poll answered ${response.status}`);
    await response.text();
    wait = backoff.succeeded();
  } catch {
    wait = backoff.failed();
  }
  setTimeout(poll, wait);
}

poll();
