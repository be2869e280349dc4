// The reporter: loaded before your client when you have joined a class
// (`cargo run -- join ...`). It tells the class server, through your join
// proxy, what your page does, in the page's own time, so the projector can
// draw your lane and check your client against the course's rules:
//
// - when the page loads, is hidden or shown, and when its script throws;
// - for each request to /poll, when your client called fetch (a header on
//   that request) and when it settled (a header on the next one).
//
// An EventSource (exercise 08's stream) is not a fetch, and is left alone:
// the class server sees the stream itself (one request that stays open,
// and each event it writes to it), so nothing about it needs reporting.
//
// It wraps fetch for that, and changes nothing else: every request goes
// out as your client made it, and its answer comes back untouched. It also
// puts a small badge in the corner, saying whom the page is joined as, with
// two buttons that tell the instructor you are stuck, or done. A page that
// has not joined never loads this file, and sends nothing anywhere.

const load = Math.random().toString(36).slice(2, 12); // this page load's id
const realFetch = globalThis.fetch;
let polls = 0;
let settled = []; // "n:ms:how:retryAfter", not yet carried to the server
// The most settled polls one request carries: the class server reads no
// more than that from one header (MAX_SETTLED in classroom/src/server.rs).
const MAX_CARRIED = 20;

const now = () => Math.round(performance.now());

function isPoll(input) {
  const url = String(input instanceof Object && "url" in input ? input.url : input);
  return url.replace(/^https?:\/\/[^/]+/, "").split("?")[0] === "/poll";
}

// The same headers, and one more.
function withHeaders(headers, more) {
  if (typeof Headers === "function" && headers instanceof Headers && typeof headers.set === "function") {
    const copy = new Headers(headers);
    for (const [name, value] of Object.entries(more)) copy.set(name, value);
    return copy;
  }
  if (Array.isArray(headers)) return [...headers, ...Object.entries(more)];
  return { ...(headers ?? {}), ...more };
}

globalThis.fetch = function (input, init = {}) {
  if (!isPoll(input)) return realFetch(input, init);
  const n = ++polls;
  const carried = settled.splice(0, MAX_CARRIED);
  const headers = withHeaders(init.headers, {
    "x-class-page": `${load} ${n} ${now()}`,
    "x-class-settled": carried.join(","),
  });
  const request = realFetch(input, { ...init, headers });
  request.then(
    (response) => settled.push(`${n}:${now()}:${response.status}:${response.headers.get("retry-after") ?? ""}`),
    () => {
      // A request that failed may never have reached the class server (a
      // `join` restarting, a network that dropped): what it carried goes
      // again with the next one. If it did arrive, the server counts each
      // poll once all the same.
      settled.unshift(...carried);
      settled.push(`${n}:${now()}:${init.signal?.aborted ? "aborted" : "error"}:`);
    },
  );
  return request;
};

function report(kind, extra = {}) {
  const carried = settled.splice(0, MAX_CARRIED);
  const body = { kind, load, at: now(), settled: carried.join(","), ...extra };
  realFetch("/class/report", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }).catch(() => settled.unshift(...carried)); // changes nothing for the page
}

report("loaded");
if (document.hidden) report("hidden");
document.addEventListener("visibilitychange", () => report(document.hidden ? "hidden" : "shown"));
addEventListener("error", (event) => report("threw", { text: `${event.message} (${event.filename}:${event.lineno})` }));
addEventListener("unhandledrejection", (event) => report("threw", { text: String(event.reason).slice(0, 200) }));

// The badge: joined as whom, and the learner's two signals.
async function badge() {
  let joined;
  try {
    joined = await (await realFetch("/class/joined")).json();
  } catch {
    return; // no badge; the page works the same
  }
  const bar = document.createElement("div");
  bar.setAttribute("role", "status");
  bar.style.cssText =
    "position:fixed;right:8px;bottom:8px;z-index:9;padding:6px 10px;font:14px system-ui,sans-serif;" +
    "background:#fff;border:1px solid #888;border-radius:6px;box-shadow:0 1px 4px #0003";
  const who = document.createElement("span");
  who.textContent = `Joined the class as ${joined.name} (exercise ${String(joined.exercise).padStart(2, "0")}) `;
  bar.append(who);
  for (const [kind, label] of [["stuck", "I'm stuck"], ["done", "I'm done"]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.style.marginLeft = "6px";
    button.addEventListener("click", () => {
      realFetch("/class/report", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ kind }),
      }).then(
        (answer) => (who.textContent = answer.ok ? `Your instructor sees "${label}". ` : "Not sent: is the class server up? "),
        () => (who.textContent = "Not sent: is join still running? "),
      );
    });
    bar.append(button);
  }
  document.body.append(bar);
}
if (document.body) badge();
else addEventListener("DOMContentLoaded", badge);
