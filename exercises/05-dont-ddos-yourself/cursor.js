// The client's cursor: what to ask the server for, and how to fold what it
// answers into what the page already shows.

// ANCHOR: shown
/** The page shows at most this many messages, like the server keeps. */
export const MAX_SHOWN = 50;
// ANCHOR_END: shown

// ANCHOR: path
/**
 * Where to poll. `cursor` is null before the first answer, then
 * `{ since, epoch }`: the newest id the page has, and the epoch of the answer
 * it came in.
 */
export function pollPath(cursor) {
  // TODO: "/poll" before the first answer; then "/poll?since=<since>&epoch=<epoch>".
  throw new Error("TODO: pollPath in cursor.js");
}
// ANCHOR_END: path

// ANCHOR: merge
/**
 * The messages to show after an answer: those `shown` already, and the ones
 * `incoming`, each once (by id), oldest first, at most MAX_SHOWN of them.
 */
export function merge(shown, incoming) {
  // TODO: put both lists into a Map by id (a message already shown is kept
  // once), sort by id, and keep the newest MAX_SHOWN (`slice(-MAX_SHOWN)`).
  throw new Error("TODO: merge in cursor.js");
}
// ANCHOR_END: merge

/** The cursor after an answer: the newest id shown, in the answer's epoch. */
export function nextCursor(shown, answer) {
  const since = shown.length === 0 ? 0 : shown[shown.length - 1].id;
  return { since, epoch: answer.epoch };
}
