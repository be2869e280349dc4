// The class dashboard: one lane per learner, the last minute of their
// requests, drawn live.
//
// It keeps itself up to date the way the course teaches: a long poll with a
// cursor. `GET /class/feed?since=V&wait=25` answers as soon as the room has
// changed since version V (or after 25 s of nothing), with only what
// changed; the next poll goes out after the answer, never on a timer, and a
// failure is retried with exercise 04's backoff (at once, then 3 s, 10 s,
// 30 s, with jitter). The lanes are redrawn in requestAnimationFrame, which
// a hidden tab does not run: nobody is looking, so nothing is drawn.
//
// Two views of the same room: the detailed one, for the instructor's
// laptop, and the projector's (`?view=projector`), 30 lanes on one
// 1920×1080 screen in large type. Either can be anonymous (`?anonymous`):
// lanes are numbered, not named, for rooms where a mistake is not for the
// wall.
//
// Names and messages are put into the page as text (textContent), never as
// markup: a learner named <img src=x onerror=...> is shown as just that.
//
// A field the class server does not send (an older one) counts as null or
// empty, so the page works with either.

const LANE_MS = 60_000;
const RETRY_SCHEDULE_MS = [0, 3000, 10_000, 30_000];
const PAUSE_MS = 500; // at most two feed answers a second
const DRAW_EVERY_MS = 200;
const QUIET_CHECK_MS = 10 * 60_000; // a learner with no check for this long is marked

// How each request is drawn: a colour and a shape, so that no two answers
// differ by colour alone (a projector washes colours out, and not everyone
// sees them). A bar runs from sent to answered; `half`: half as tall;
// `end`: the mark at its answer. A stream (exercise 08's `/events`) is one
// request that stays open: a thinner bar from when its answer began to its
// end, crossed by a tick at each event the class server wrote to it, so it
// reads as a stream by its shape; it ends in the mark of how it ended (a
// connection broken ▼, closed by the page ○, or none: the server ended it).
const KINDS = {
  held: { colour: "#2456b3", end: "dot", text: "held, then answered" },
  holding: { colour: "#9dbcf0", text: "being held" },
  200: { colour: "#1f7a3d", text: "200" },
  304: { colour: "#2f9e55", half: true, text: "304" },
  429: { colour: "#d97a00", end: "up", text: "429" },
  503: { colour: "#d0281c", end: "square", text: "503" },
  "5xx": { colour: "#7d160c", end: "cross", text: "500" },
  "4xx": { colour: "#8a55b8", end: "diamond", text: "other 4xx" },
  error: { colour: "#111111", end: "down", text: "error (connection closed)" },
  aborted: { colour: "#8a8a8a", end: "ring", text: "given up by the page" },
  waiting: { colour: "#c4c4c4", text: "waiting for its answer" },
  streaming: { colour: "#7fcbc4", stream: true, text: "a stream, open (a tick per event)" },
  stream: { colour: "#13726b", stream: true, text: "a stream, ended" },
};
const TICK_COLOUR = "#0b3331";

// The rules the flags name (classroom/src/rules.rs), in the order the
// course teaches them, each with the short form the projector's lanes show.
const RULES = [
  ["two polls at once", "two at once"],
  ["polls while hidden", "while hidden"],
  ["retries too soon", "too soon"],
  ["Retry-After not honoured", "Retry-After"],
];
const FLOODING = "flooding";

const pad = (n) => String(n).padStart(2, "0");
const element = (tag, className, text) => {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
};

// The views, from the address; the buttons change them and the address.
const asked = new URLSearchParams(location.search);
let projector = asked.get("view") === "projector";
let anonymous = asked.has("anonymous");
const key = readKey();

const learners = new Map(); // name -> { view, requests: Map(n -> drawn), said: [[ms, what]], lane, seenAt }
const numbers = new Map(); // name -> its number in the anonymous view, kept after the lane goes
let server = null; // the class server's id for this start (feed.server)
let version = 0;
let feed = null; // the last answer
let receivedAt = 0; // performance.now() when it came
let failures = 0;
let markers = [];
let secondsSeen = []; // [second, requests] of the last minute, for the timeline

// The key comes in the address, after `#key=` (never sent to a server) or
// `?key=`; it is kept for this tab only and taken out of the address bar,
// so a projector showing this page does not show it.
function readKey() {
  const given = new URLSearchParams(location.hash.slice(1)).get("key") || asked.get("key");
  if (given) {
    try {
      sessionStorage.setItem("class-key", given);
    } catch {
      // storage blocked: the key lasts until the page is reloaded
    }
    showAddress();
    return given;
  }
  try {
    return sessionStorage.getItem("class-key");
  } catch {
    return null;
  }
}

// The address for the views shown, without the key.
function showAddress() {
  const query = [projector && "view=projector", anonymous && "anonymous"].filter(Boolean).join("&");
  history.replaceState(null, "", location.pathname + (query ? `?${query}` : ""));
}

async function poll() {
  let wait;
  try {
    const response = await fetch(`/class/feed?since=${version}&wait=25`, { cache: "no-store" });
    if (!response.ok) throw new Error(`the feed answered ${response.status}`);
    const again = merge(await response.json());
    failures = 0;
    showProblem("");
    wait = again ? 0 : PAUSE_MS;
  } catch (error) {
    failures += 1;
    const step = RETRY_SCHEDULE_MS[Math.min(failures, RETRY_SCHEDULE_MS.length) - 1];
    wait = Math.round(step / 2 + (Math.random() * step) / 2);
    showProblem(`lost the class server (${error.message}); trying again in ${Math.round(wait / 1000)} s`);
  }
  setTimeout(poll, wait);
}

// Take in an answer. True when it belongs to a class server started since
// the last one: every lane is dropped, and the whole room asked for again.
function merge(answer) {
  const started = answer.server ?? null;
  // A new id, or (from a class server that sends none) a version gone back.
  if ((server !== null && started !== server) || answer.version < version) {
    const cursor = version;
    startOver();
    server = started;
    if (cursor > 0) return true; // this answer went by the old room's cursor
  }
  server = started;
  version = answer.version;
  feed = answer;
  receivedAt = performance.now();
  markers = answer.markers.length ? mergeMarkers(markers, answer.markers) : markers;
  secondsSeen = answer.room.seconds;
  // Every answer names everyone in the room: a lane not in it was removed.
  const inRoom = new Set(answer.learners.map((view) => view.name));
  for (const [name, learner] of learners) {
    if (!inRoom.has(name)) {
      learner.lane.row.remove();
      learners.delete(name);
    }
  }
  for (const view of answer.learners) {
    let learner = learners.get(view.name);
    if (!learner) {
      if (!numbers.has(view.name)) numbers.set(view.name, numbers.size + 1);
      learner = { requests: new Map(), said: [], lane: makeLane(), seenAt: answer.now };
      learners.set(view.name, learner);
    }
    learner.view = view;
    for (const drawn of view.requests) learner.requests.set(drawn.n, drawn);
    learner.said.push(...view.said);
    const oldest = answer.now - LANE_MS;
    for (const [n, drawn] of learner.requests) {
      if (drawn.answered !== null && drawn.answered < oldest) learner.requests.delete(n);
    }
    learner.said = learner.said.filter(([at], i, all) => at >= oldest || i === lastBefore(all, oldest));
    describe(learner, answer.now);
  }
  showRoom(answer);
  return false;
}

// The class server started again: its lanes, times and versions are
// another room's. The page itself goes on.
function startOver() {
  for (const learner of learners.values()) learner.lane.row.remove();
  learners.clear();
  numbers.clear();
  markers = [];
  secondsSeen = [];
  version = 0;
  feed = null;
}

function mergeMarkers(kept, more) {
  const seen = new Set(kept.map((m) => `${m.at} ${m.text}`));
  return kept.concat(more.filter((m) => !seen.has(`${m.at} ${m.text}`)));
}

// The page event that tells whether the lane starts hidden.
function lastBefore(said, at) {
  let index = -1;
  said.forEach(([when], i) => {
    if (when < at) index = i;
  });
  return index;
}

// What the room sees of a learner: their name, or in the anonymous view
// their number.
function label(name) {
  return anonymous ? `learner ${numbers.get(name) ?? "?"}` : name;
}

// A text that may hold names (a marker, what a control did), as the view
// may show it: in the anonymous view, each name is replaced by its number.
function unnamed(text) {
  if (!anonymous) return text;
  const names = [...numbers.keys()].sort((a, b) => b.length - a.length);
  return names.reduce((said, name) => said.split(name).join(label(name)), text);
}

function makeLane() {
  const row = element("div", "lane");
  const who = element("div", "who");
  const top = element("div", "top");
  const name = element("div", "name");
  const signal = element("span", "signal-place");
  const remove = element("button", "remove", "remove");
  remove.hidden = true;
  top.append(name, signal, remove);
  const about = element("div", "about");
  const flags = element("div", "flags");
  who.append(top, about, flags);
  const canvas = document.createElement("canvas");
  row.append(who, canvas);
  document.getElementById("lanes").append(row);
  return { row, name, signal, remove, about, flags, canvas };
}

// A learner's lane, but for the requests (drawn in frames): `now` is the
// room's time.
function describe(learner, now) {
  const { view, lane } = learner;
  if (anonymous) lane.name.textContent = label(view.name);
  else lane.name.textContent = view.name;
  lane.name.title = anonymous ? "" : view.name; // a long name, whole
  lane.row.classList.toggle("quiet", !view.active);
  // The last check: [the exercise checked, { passed, run, done }].
  const [checked, tally] = view.progress ?? [];
  const progress = tally ? `, check ${pad(checked)}: ${tally.passed}/${tally.run}${tally.done ? " done" : ""}` : "";
  lane.about.textContent = `exercise ${pad(view.exercise)}${progress}, ${view.per_minute} req/min`;
  if (view.hidden) lane.about.append(element("span", "hidden", " · hidden"));
  if (view.errors) lane.about.append(` · ${view.errors} script error${view.errors === 1 ? "" : "s"}`);
  lane.about.title = (!anonymous && view.last_error) || "";
  showSignal(learner);
  lane.remove.hidden = !key || projector;
  lane.remove.onclick = () => {
    if (confirm(`Remove ${label(view.name)} from the room? For a learner who left: their lane goes.`)) {
      send({ do: "remove", name: view.name });
    }
  };

  lane.flags.replaceChildren();
  // On the projector, the lane's exercise leads its line of marks.
  if (projector) lane.flags.append(element("span", "exercise", pad(view.exercise)));
  if (view.hidden && projector) lane.flags.append(element("span", "hidden", "hidden"));
  for (const flag of view.flags) {
    const short = RULES.find(([rule]) => rule === flag.rule)?.[1] ?? flag.rule;
    const text = projector ? short : `${flag.rule} (ch. ${pad(flag.chapter)})`;
    const chip = element("span", "flag", text);
    if (!anonymous) chip.title = flag.text;
    lane.flags.append(chip);
  }
  if (view.refused) {
    const text = projector ? FLOODING : `flooding: ${view.refused} refused`;
    const chip = element("span", "flag flood", text);
    chip.title = "more requests in one second than the class server takes from one client";
    lane.flags.append(chip);
  }
  // The third hint or more: stuck, most likely, whatever they say.
  const [hinted, shown] = view.hints ?? [];
  if (shown >= 3) {
    const chip = element("span", "mark hint", `hint ${shown} of ${pad(hinted)}`);
    chip.title = `has been shown ${shown} hints for exercise ${pad(hinted)}`;
    lane.flags.append(chip);
  }
  // No check for 10 minutes (or, never checked, in the room that long:
  // as long as this page has seen them). Only a class server that sends
  // `last_check` says.
  if (view.last_check !== undefined && view.active) {
    const since = view.last_check ?? learner.seenAt;
    if (now - since >= QUIET_CHECK_MS) {
      const minutes = Math.floor((now - since) / 60_000);
      const chip = element("span", "mark quiet-check", `no check ${minutes} min`);
      chip.title = view.last_check === null ? "no check since this page saw them" : "no check lately";
      lane.flags.append(chip);
    }
  }
}

// A learner's signal ("stuck" or "done"), until the instructor clears it:
// with the key, the signal is a button that clears it.
function showSignal(learner) {
  const { view, lane } = learner;
  const kind = view.signal?.kind;
  if (!kind) {
    lane.signal.replaceChildren();
    return;
  }
  const text = kind === "stuck" ? "! stuck" : kind === "done" ? "✓ done" : kind;
  const badge = element(key ? "button" : "span", `signal ${kind === "stuck" ? "stuck" : "done"}`, text);
  if (key) {
    badge.title = "clear this signal";
    badge.addEventListener("click", () => send({ do: "clear-signal", name: view.name }));
  }
  lane.signal.replaceChildren(badge);
}

function showRoom(answer) {
  const room = answer.room;
  showMode(answer.mode, answer.spread);
  showDone(answer.mode);
  document.getElementById("room-line").textContent =
    `${room.joined} joined, ${room.hidden} hidden · ${room.held} held · ` +
    (room.streams ? `${room.streams} stream${room.streams === 1 ? "" : "s"} open · ` : "") +
    `${room.per_second} req/s now, busiest second ${room.busiest}, average ${room.average}` +
    (room.refused ? ` · ${room.refused} refused for flooding in the last minute` : "") +
    (room.turned_away ? ` · ${room.turned_away} turned away so far (the room is full)` : "");
  // The room's exercise, and how many pass each one (that one first).
  const exercise = room.exercise ?? null;
  const shown = document.getElementById("room-exercise");
  shown.hidden = exercise === null;
  shown.textContent = exercise === null ? "" : `Exercise ${pad(exercise)}`;
  const choice = document.getElementById("exercise-choice");
  if (document.activeElement !== choice) choice.value = exercise === null ? "" : String(exercise);
  const passing = [...(room.passing ?? [])].sort(([a], [b]) => (b === exercise) - (a === exercise) || a - b);
  document.getElementById("passing").replaceChildren(
    ...passing.map(([number, count]) => {
      // Of those in the room lately (`joined`), or more: a check counts for longer.
      const of = Math.max(room.joined, count);
      return element("li", number === exercise ? "now" : "", `${count} of ${of} pass ${pad(number)}`);
    }),
  );
  // Per rule, how many learners it flags: the rules first, in the
  // course's order, then any other the class server names.
  const counts = new Map(RULES.map(([rule]) => [rule, 0]));
  let flooding = 0;
  for (const view of answer.learners) {
    for (const rule of new Set(view.flags.map((flag) => flag.rule))) counts.set(rule, (counts.get(rule) ?? 0) + 1);
    if (view.refused) flooding += 1;
  }
  if (flooding) counts.set(FLOODING, flooding);
  document.getElementById("rules").replaceChildren(
    ...[...counts].map(([rule, count]) => {
      const item = element("li", count ? "flagged" : "", `${rule}: `);
      item.append(element("strong", "", String(count)));
      return item;
    }),
  );
}

function showMode(mode, spread) {
  const line = document.getElementById("mode");
  line.textContent = `Mode: ${mode}${spread ? " · Retry-After spread" : ""}`;
  line.classList.toggle("changed", mode !== "normal");
}

function showProblem(text) {
  document.getElementById("problem").textContent = text;
}

// ---- The views ------------------------------------------------------------

function showViews() {
  document.body.classList.toggle("projector", projector);
  document.body.classList.toggle("anonymous", anonymous);
  document.getElementById("projector-view").setAttribute("aria-pressed", String(projector));
  document.getElementById("anonymous-view").setAttribute("aria-pressed", String(anonymous));
  document.getElementById("controls").hidden = !key || projector;
  if (feed) for (const learner of learners.values()) describe(learner, feed.now);
  showDone(feed?.mode);
  drawLegend();
}

function views() {
  document.getElementById("projector-view").addEventListener("click", () => {
    projector = !projector;
    showAddress();
    showViews();
  });
  document.getElementById("anonymous-view").addEventListener("click", () => {
    anonymous = !anonymous;
    showAddress();
    showViews();
  });
}

// ---- Drawing ------------------------------------------------------------

let lastDrawn = 0;

function frame(time) {
  if (feed && time - lastDrawn >= DRAW_EVERY_MS) {
    lastDrawn = time;
    const now = feed.now + (time - receivedAt);
    for (const learner of learners.values()) drawLane(learner, now);
    drawTimeline(now);
  }
  requestAnimationFrame(frame);
}

// Size the canvas to its place on the page, in device pixels, and draw in
// CSS pixels: sharp on any screen. Returns the size in CSS pixels.
function fit(canvas, least = { width: 100, height: 10 }) {
  const ratio = devicePixelRatio || 1;
  const width = Math.max(least.width, canvas.clientWidth);
  const height = Math.max(least.height, canvas.clientHeight);
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { width, height, context };
}

// One request: its bar from `start` to `end` (x), and its mark, in a lane
// `height` tall. Marks are drawn after every bar (`marks`), so that a
// failure shows on top of a long held bar. A stream's `stream` gives the x
// where its answer began (`opened`) and of each event (`ticks`).
function drawRequest(context, kind, start, end, height, post, marks, stream = null) {
  const look = KINDS[kind] ?? { colour: "#555" };
  context.fillStyle = look.colour;
  // A post runs along the top, thin; a poll in the middle band.
  const top = post ? 1 : Math.round(height * 0.3);
  const size = post ? Math.max(3, Math.round(height * 0.18)) : Math.round(height * 0.5);
  const half = look.half && !post;
  if (stream) drawStream(context, kind, start, end, top, size, stream);
  else context.fillRect(start, half ? top + size / 2 : top, Math.max(3, end - start), half ? size / 2 : size);
  if (look.end) marks.push([look, end, top + size / 2, Math.max(8, Math.round(height * 0.46))]);
}

// A stream: while its answer had not begun (a slow server), a thin grey
// line; then its bar, pale while open, dark once ended; and a tick across
// it at each event.
function drawStream(context, kind, start, end, top, size, { opened, ticks }) {
  if (opened - start >= 1) {
    context.fillStyle = KINDS.waiting.colour;
    context.fillRect(start, top + size * 0.4, opened - start, Math.max(2, size * 0.2));
  }
  context.fillStyle = (kind === "streaming" ? KINDS.streaming : KINDS.stream).colour;
  const bar = Math.max(3, Math.round(size * 0.5));
  context.fillRect(opened, top + (size - bar) / 2, Math.max(3, end - opened), bar);
  context.fillStyle = TICK_COLOUR;
  const tick = Math.max(2, Math.round(size / 8));
  for (const at of ticks) context.fillRect(at - tick / 2, top - 2, tick, size + 4);
}

function drawMark(context, [look, x, y, size]) {
  const r = size / 2;
  context.fillStyle = look.colour;
  context.strokeStyle = look.colour;
  context.lineWidth = Math.max(2, size / 5);
  context.beginPath();
  switch (look.end) {
    case "dot":
      context.arc(x, y, r * 0.7, 0, 2 * Math.PI);
      break;
    case "ring":
      context.arc(x, y, r * 0.7, 0, 2 * Math.PI);
      context.stroke();
      return;
    case "square":
      context.rect(x - r, y - r, size, size);
      break;
    case "up":
      context.moveTo(x, y - r);
      context.lineTo(x + r, y + r);
      context.lineTo(x - r, y + r);
      break;
    case "down":
      context.moveTo(x - r, y - r);
      context.lineTo(x + r, y - r);
      context.lineTo(x, y + r);
      break;
    case "diamond":
      context.moveTo(x, y - r);
      context.lineTo(x + r, y);
      context.lineTo(x, y + r);
      context.lineTo(x - r, y);
      break;
    case "cross":
      context.moveTo(x - r, y - r);
      context.lineTo(x + r, y + r);
      context.moveTo(x + r, y - r);
      context.lineTo(x - r, y + r);
      context.stroke();
      return;
  }
  context.closePath();
  context.fill();
  // A white edge keeps marks apart where they crowd.
  context.strokeStyle = "#fff";
  context.lineWidth = 1;
  context.stroke();
}

function drawLane(learner, now) {
  const { width, height, context } = fit(learner.lane.canvas);
  context.clearRect(0, 0, width, height);
  const x = (at) => width * (1 - (now - at) / LANE_MS);
  // Hidden stretches, shaded.
  context.fillStyle = "#e7e0f3";
  let hiddenSince = null;
  for (const [at, what] of learner.said) {
    if (what === "hidden" && hiddenSince === null) hiddenSince = at;
    if ((what === "shown" || what === "loaded") && hiddenSince !== null) {
      context.fillRect(x(hiddenSince), 0, x(at) - x(hiddenSince), height);
      hiddenSince = null;
    }
  }
  if (hiddenSince !== null) context.fillRect(x(hiddenSince), 0, width - x(hiddenSince), height);
  // Requests: a bar from sent to answered (or to now, in flight).
  const marks = [];
  for (const drawn of learner.requests.values()) {
    const end = x(drawn.answered ?? now);
    if (end < 0) continue;
    const stream = drawn.stream ? { opened: x(drawn.stream.opened), ticks: drawn.stream.ticks.map(x) } : null;
    drawRequest(context, drawn.kind, x(drawn.sent), end, height, drawn.post, marks, stream);
  }
  for (const mark of marks) drawMark(context, mark);
}

function drawTimeline(now) {
  const { width, height, context } = fit(document.getElementById("timeline"));
  context.clearRect(0, 0, width, height);
  const x = (at) => width * (1 - (now - at) / LANE_MS);
  const busiest = Math.max(1, ...secondsSeen.map(([, n]) => n));
  context.fillStyle = "#9db3d6";
  for (const [second, count] of secondsSeen) {
    const bar = (count / busiest) * (height - 4);
    context.fillRect(x(second * 1000), height - bar, Math.max(1, width / 60 - 1), bar);
  }
  context.fillStyle = "#b3261e";
  const size = projector ? 16 : 12;
  context.font = `${size}px system-ui, sans-serif`;
  // A label that would run into the one before goes on the next line.
  let freeFrom = [-Infinity, -Infinity];
  for (const marker of markers) {
    const at = x(marker.at);
    if (at < 0) continue;
    context.fillRect(at, 0, 2, height);
    const line = at >= freeFrom[0] ? 0 : at >= freeFrom[1] ? 1 : -1;
    if (line < 0) continue; // no room: the line alone marks it
    const text = unnamed(marker.text);
    context.fillText(text, at + 4, size * (line + 1));
    freeFrom[line] = at + 8 + context.measureText(text).width;
  }
}

// The legend: each kind drawn as the lanes draw it, beside its words.
function drawLegend() {
  const list = document.getElementById("legend");
  if (!list.children.length) {
    for (const [kind, look] of Object.entries(KINDS)) {
      const item = element("li");
      const sample = document.createElement("canvas");
      sample.dataset.kind = kind;
      item.append(sample, look.text);
      list.append(item);
    }
  }
  for (const sample of list.querySelectorAll("canvas")) {
    const { width, height, context } = fit(sample, { width: 10, height: 10 });
    context.clearRect(0, 0, width, height);
    const marks = [];
    const end = width - height * 0.4;
    const stream = KINDS[sample.dataset.kind].stream ? { opened: 2, ticks: [end * 0.35, end * 0.7] } : null;
    drawRequest(context, sample.dataset.kind, 2, end, height, false, marks, stream);
    for (const mark of marks) drawMark(context, mark);
  }
}

// ---- The instructor's controls (only with the key) ----------------------

const CONTROLS = {
  normal: () => ({ do: "normal" }),
  slow: () => ({ do: "slow", seconds: Number(document.getElementById("slow-seconds").value) }),
  down: () => ({ do: "down", close: false }),
  "down-close": () => ({ do: "down", close: true }),
  flaky: () => ({ do: "flaky", percent: Number(document.getElementById("flaky-percent").value) }),
  tight: () => ({ do: "tight" }),
  restart: () => ({ do: "restart" }),
  same: () => ({ do: "retry-after", spread: false }),
  spread: () => ({ do: "retry-after", spread: true }),
  post: () => ({ do: "post", text: document.getElementById("post-text").value }),
  "clear-flags": () => ({ do: "clear-flags" }),
};

let lastDone = null; // what the last control did, as the class server said it

// What the last control did, and the mode the room is in now: the control's
// answer says it first, then each feed answer (a mode may also be set from
// a terminal).
function showDone(mode) {
  if (lastDone === null) return;
  const said = document.getElementById("control-said");
  said.textContent = `Done: ${unnamed(lastDone)}${mode ? `. The mode is now: ${mode}` : ""}`;
}

async function send(body) {
  const said = document.getElementById("control-said");
  lastDone = null;
  try {
    const response = await fetch("/class/control", {
      method: "POST",
      headers: { "content-type": "application/json", "x-class-key": key },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
      // The mode line shows the new mode at once; the feed confirms it.
      lastDone = answer.done ?? "";
      showDone(answer.mode);
      if (answer.mode) showMode(answer.mode, feed?.spread);
    } else if (response.status === 403) {
      // The key is the class server's for one start: one started again
      // without `--key` has a new one.
      said.textContent =
        "Refused: the key has changed (the class server was started again). " +
        "Open the new address with the key that the class server printed.";
    } else {
      said.textContent = `Refused: ${unnamed(answer.error ?? `the class server answered ${response.status}`)}`;
    }
  } catch (error) {
    said.textContent = `Could not reach the class server: ${error.message}`;
  }
}

function controls() {
  if (!key) return; // the projector's view: nothing to press
  const section = document.getElementById("controls");
  for (const button of section.querySelectorAll("button[data-do]")) {
    button.addEventListener("click", () => send(CONTROLS[button.dataset.do]()));
  }
  const choice = document.getElementById("exercise-choice");
  choice.addEventListener("change", () => {
    if (choice.value) send({ do: "exercise", number: Number(choice.value) });
  });
}

views();
controls();
showViews();
poll();
requestAnimationFrame(frame);
