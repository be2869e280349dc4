// The reporter: loaded before your client when you have joined a class
// (`cargo run -- join ...`). It tells the class server, through your join
// proxy, what your page does, in the page's own time, so the projector can
// draw your lane and check your client against the course's rules:
//
// - when the page loads, is hidden or shown, and when its script throws;
// - for each request to /poll, when your client called fetch (a header on
//   that request) and when it settled (a header on the next one).
//
// It wraps fetch for that, and changes nothing else: every request goes
// out as your client made it, and its answer comes back untouched. A page
// that has not joined never loads this file, and sends nothing anywhere.

const load = Math.random().toString(36).slice(2, 12); // this page load's id
const realFetch = globalThis.fetch;
let polls = 0;
let settled = []; // "n:ms:how:retryAfter", since the last request

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
  const headers = withHeaders(init.headers, {
    "x-class-page": `${load} ${n} ${now()}`,
    "x-class-settled": settled.splice(0).join(","),
  });
  const request = realFetch(input, { ...init, headers });
  request.then(
    (response) => settled.push(`${n}:${now()}:${response.status}:${response.headers.get("retry-after") ?? ""}`),
    () => settled.push(`${n}:${now()}:${init.signal?.aborted ? "aborted" : "error"}:`),
  );
  return request;
};

function report(kind, extra = {}) {
  const body = { kind, load, at: now(), settled: settled.splice(0).join(","), ...extra };
  realFetch("/class/report", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }).catch(() => {}); // a report that fails changes nothing for the page
}

report("loaded");
if (document.hidden) report("hidden");
document.addEventListener("visibilitychange", () => report(document.hidden ? "hidden" : "shown"));
addEventListener("error", (event) => report("threw", { text: `${event.message} (${event.filename}:${event.lineno})` }));
addEventListener("unhandledrejection", (event) => report("threw", { text: String(event.reason).slice(0, 200) }));
