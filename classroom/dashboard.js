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
// Names and messages are put into the page as text (textContent), never as
// markup: a learner named <img src=x onerror=...> is shown as just that.

const LANE_MS = 60_000;
const RETRY_SCHEDULE_MS = [0, 3000, 10_000, 30_000];
const PAUSE_MS = 500; // at most two feed answers a second
const DRAW_EVERY_MS = 200;

const COLOURS = {
  holding: "#a9c4ef",
  waiting: "#cfcfcf",
  held: "#3465c0",
  200: "#2e8b47",
  304: "#94c89e",
  429: "#e08a1e",
  503: "#cc3322",
  "5xx": "#7d160c",
  "4xx": "#8a55b8",
  error: "#111111",
  aborted: "#888888",
};
const LEGEND = [
  ["held", "held, then answered"],
  ["holding", "being held"],
  [200, "200"],
  [304, "304"],
  [429, "429"],
  [503, "503"],
  ["5xx", "500"],
  ["4xx", "other 4xx"],
  ["error", "network error (closed)"],
  ["aborted", "given up by the page"],
  ["waiting", "waiting for its answer"],
];

const key = readKey();
const learners = new Map(); // name -> { view, requests: Map(n -> drawn), said: [[ms, what]], lane }
let version = 0;
let feed = null; // the last answer
let receivedAt = 0; // performance.now() when it came
let failures = 0;
let markers = [];
let secondsSeen = []; // [second, requests] of the last minute, for the timeline

// The key comes in the address's fragment (#key=...), which is never sent
// to a server; it is kept for this tab only and taken out of the address
// bar, so a projector showing this page does not show it.
function readKey() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("key");
  if (fromHash) {
    try {
      sessionStorage.setItem("class-key", fromHash);
    } catch {
      // storage blocked: the key lasts until the page is reloaded
    }
    history.replaceState(null, "", location.pathname);
    return fromHash;
  }
  try {
    return sessionStorage.getItem("class-key");
  } catch {
    return null;
  }
}

async function poll() {
  let wait;
  try {
    const response = await fetch(`/class/feed?since=${version}&wait=25`, { cache: "no-store" });
    if (!response.ok) throw new Error(`the feed answered ${response.status}`);
    merge(await response.json());
    failures = 0;
    showProblem("");
    wait = PAUSE_MS;
  } catch (error) {
    failures += 1;
    const step = RETRY_SCHEDULE_MS[Math.min(failures, RETRY_SCHEDULE_MS.length) - 1];
    wait = Math.round(step / 2 + (Math.random() * step) / 2);
    showProblem(`lost the class server (${error.message}); trying again in ${Math.round(wait / 1000)} s`);
  }
  setTimeout(poll, wait);
}

function merge(answer) {
  if (answer.version < version) learners.clear(); // the class server started again
  version = answer.version;
  feed = answer;
  receivedAt = performance.now();
  markers = answer.markers.length ? mergeMarkers(markers, answer.markers) : markers;
  secondsSeen = answer.room.seconds;
  for (const view of answer.learners) {
    let learner = learners.get(view.name);
    if (!learner) {
      learner = { requests: new Map(), said: [], lane: makeLane() };
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
    describe(learner);
  }
  showRoom(answer);
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

function makeLane() {
  const row = document.createElement("div");
  row.className = "lane";
  const who = document.createElement("div");
  who.className = "who";
  const name = document.createElement("div");
  name.className = "name";
  const about = document.createElement("div");
  about.className = "about";
  const flags = document.createElement("div");
  flags.className = "flags";
  who.append(name, about, flags);
  const canvas = document.createElement("canvas");
  row.append(who, canvas);
  document.getElementById("lanes").append(row);
  return { row, name, about, flags, canvas };
}

function describe(learner) {
  const { view, lane } = learner;
  lane.name.textContent = view.name;
  lane.row.classList.toggle("quiet", !view.active);
  // The last check: [the exercise checked, { passed, run, done }].
  const [checked, tally] = view.progress ?? [];
  const progress = tally
    ? `, check ${String(checked).padStart(2, "0")}: ${tally.passed}/${tally.run}${tally.done ? " done" : ""}`
    : "";
  lane.about.textContent = `exercise ${String(view.exercise).padStart(2, "0")}${progress}, ${view.per_minute} req/min`;
  if (view.hidden) {
    const hidden = document.createElement("span");
    hidden.className = "hidden";
    hidden.textContent = " · hidden";
    lane.about.append(hidden);
  }
  if (view.errors) lane.about.append(` · ${view.errors} script error${view.errors === 1 ? "" : "s"}`);
  if (view.last_error) lane.about.title = view.last_error;
  lane.flags.replaceChildren();
  for (const flag of view.flags) {
    const chip = document.createElement("span");
    chip.className = "flag";
    chip.textContent = `${flag.rule} (ch. ${String(flag.chapter).padStart(2, "0")})`;
    chip.title = flag.text;
    lane.flags.append(chip);
  }
  if (view.refused) {
    const chip = document.createElement("span");
    chip.className = "flag flood";
    chip.textContent = `flooding: ${view.refused} refused`;
    chip.title = "more requests in one second than the class server takes from one client";
    lane.flags.append(chip);
  }
}

function showRoom(answer) {
  const room = answer.room;
  const modeLine = document.getElementById("mode");
  modeLine.textContent = `Mode: ${answer.mode}${answer.spread ? " · Retry-After spread" : ""}`;
  modeLine.classList.toggle("changed", answer.mode !== "normal");
  document.getElementById("room-line").textContent =
    `${room.per_second} req/s now · busiest second ${room.busiest}, average ${room.average} · ` +
    `${room.joined} joined, ${room.hidden} hidden · ${room.held} held` +
    (room.refused ? ` · ${room.refused} refused for flooding in the last minute` : "") +
    (room.turned_away ? ` · ${room.turned_away} turned away so far (the room is full)` : "");
}

function showProblem(text) {
  document.getElementById("problem").textContent = text;
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
function fit(canvas) {
  const ratio = devicePixelRatio || 1;
  const width = Math.max(100, canvas.clientWidth);
  const height = Math.max(10, canvas.clientHeight);
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { width, height, context };
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
  for (const drawn of learner.requests.values()) {
    const start = x(drawn.sent);
    const end = x(drawn.answered ?? now);
    if (end < 0) continue;
    context.fillStyle = COLOURS[drawn.kind] ?? "#555";
    const top = drawn.post ? 2 : 8;
    context.fillRect(start, top, Math.max(2, end - start), drawn.post ? 5 : 12);
  }
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
  const size = 11;
  context.font = `${size}px system-ui, sans-serif`;
  // A label that would run into the one before goes on the next line.
  let freeFrom = [-Infinity, -Infinity];
  for (const marker of markers) {
    const at = x(marker.at);
    if (at < 0) continue;
    context.fillRect(at, 0, 2, height);
    const line = at >= freeFrom[0] ? 0 : at >= freeFrom[1] ? 1 : -1;
    if (line < 0) continue; // no room: the line alone marks it
    context.fillText(marker.text, at + 4, size * (line + 1));
    freeFrom[line] = at + 8 + context.measureText(marker.text).width;
  }
}

// ---- The instructor's controls (only with the key) ----------------------

function legend() {
  const list = document.getElementById("legend");
  for (const [kind, text] of LEGEND) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.style.background = COLOURS[kind];
    item.append(swatch, text);
    list.append(item);
  }
}

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
};

async function control(what) {
  const said = document.getElementById("control-said");
  try {
    const response = await fetch("/class/control", {
      method: "POST",
      headers: { "content-type": "application/json", "x-class-key": key },
      body: JSON.stringify(CONTROLS[what]()),
    });
    const answer = await response.json();
    said.textContent = response.ok ? `Done: ${answer.done}` : `Refused: ${answer.error}`;
  } catch (error) {
    said.textContent = `Could not reach the class server: ${error.message}`;
  }
}

function controls() {
  if (!key) return; // the projector's view: nothing to press
  const section = document.getElementById("controls");
  section.hidden = false;
  for (const button of section.querySelectorAll("button[data-do]")) {
    button.addEventListener("click", () => control(button.dataset.do));
  }
}

legend();
controls();
poll();
requestAnimationFrame(frame);
