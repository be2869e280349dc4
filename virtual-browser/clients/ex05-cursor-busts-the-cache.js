// Wrong cursor.js for exercise 05: `pollPath` adds the time to every URL
// ("so no cache can answer with something stale"), so no two polls ask for
// the same URL and the browser's cache can never revalidate one into a 304.

/** The page shows at most this many messages, like the server keeps. */
export const MAX_SHOWN = 50;

/**
 * Where to poll. `cursor` is null before the first answer, then
 * `{ since, epoch }`: the newest id the page has, and the epoch of the answer
 * it came in.
 */
export function pollPath(cursor) {
  if (cursor === null) return "/poll";
  return `/poll?since=${cursor.since}&epoch=${cursor.epoch}&t=${Date.now()}`;
}

/**
 * The messages to show after an answer: those `shown` already, and the ones
 * `incoming`, each once (by id), oldest first, at most MAX_SHOWN of them.
 */
export function merge(shown, incoming) {
  const byId = new Map(shown.map((message) => [message.id, message]));
  for (const message of incoming) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => a.id - b.id).slice(-MAX_SHOWN);
}

/** The cursor after an answer: the newest id shown, in the answer's epoch. */
export function nextCursor(shown, answer) {
  const since = shown.length === 0 ? 0 : shown[shown.length - 1].id;
  return { since, epoch: answer.epoch };
}
