// Right cursor.js for exercise 05, written another way: `pollPath` puts
// `epoch` first and builds the query from its parts, and `merge` drops the
// shown messages that came again before it appends what came.
export const MAX_SHOWN = 50;

export function pollPath(cursor) {
  if (!cursor) return "/poll";
  const query = [`epoch=${cursor.epoch}`, `since=${cursor.since}`];
  return `/poll?${query.join("&")}`;
}

export function merge(shown, incoming) {
  const again = new Set(incoming.map((message) => message.id));
  const kept = shown.filter((message) => !again.has(message.id));
  const all = kept.concat(incoming);
  all.sort((a, b) => a.id - b.id);
  const unique = all.filter((message, i) => i === 0 || all[i - 1].id !== message.id);
  return unique.length > MAX_SHOWN ? unique.slice(unique.length - MAX_SHOWN) : unique;
}

export function nextCursor(shown, answer) {
  const since = shown.length === 0 ? 0 : shown[shown.length - 1].id;
  return { since, epoch: answer.epoch };
}
