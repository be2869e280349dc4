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
  // TODO: "/poll" before the first answer; then, from the cursor,
  // "/poll?since=<since>&epoch=<epoch>". Rule R7 (s10 to s12); chapter 05,
  // «The page's side».
  throw new Error("TODO: pollPath in cursor.js");
}
// ANCHOR_END: path

// ANCHOR: merge
/**
 * The messages to show after an answer: those `shown` already, and the ones
 * `incoming`, each once (by id), oldest first, at most MAX_SHOWN of them.
 */
export function merge(shown, incoming) {
  // TODO: every message of both lists, each id once, oldest first, and at
  // most MAX_SHOWN of them, the newest. Rule R8 (s10, s11); chapter 05,
  // «The page's side». API: `Map`, `Array.prototype.sort`.
  throw new Error("TODO: merge in cursor.js");
}
// ANCHOR_END: merge

/** The cursor after an answer: the newest id shown, in the answer's epoch. */
export function nextCursor(shown, answer) {
  const since = shown.length === 0 ? 0 : shown[shown.length - 1].id;
  return { since, epoch: answer.epoch };
}
