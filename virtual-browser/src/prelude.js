// The browser globals of the virtual browser, evaluated before the page's
// script. All time is virtual: Rust owns the clock and calls the functions
// on `__browser` (at the bottom) as tasks, passing the time in. Callbacks
// stay here, in JavaScript maps; Rust only schedules them by id.
//
// `__host` is provided by Rust: every call on it records an effect (a timer
// to schedule, a request to send, a line of console output) for Rust to act
// on when the current task is over.
(() => {
  "use strict";
  const host = globalThis.__host;
  delete globalThis.__host;

  /** Virtual milliseconds since the page loaded; Rust sets it before each task. */
  let now = 0;
  /** What Date.now() says at the tab's virtual time 0: 2026-01-01T00:00:00Z. */
  const EPOCH_MS = 1767225600000;
  /** What Date.now() said when this page loaded: a reloaded page's clock
   * (performance.now()) starts again from 0, and the tab's goes on. */
  const ORIGIN_MS = EPOCH_MS + host.timeOrigin;

  // ---- Timers ------------------------------------------------------------
  const timers = new Map();
  let nextTimerId = 1;

  function addTimer(repeat, callback, delay, args) {
    if (typeof callback !== "function") {
      throw new TypeError("setTimeout/setInterval: pass a function (a string of code is not supported here)");
    }
    const id = nextTimerId++;
    timers.set(id, { callback, args, repeat });
    const ms = Number(delay);
    host.timer(id, Number.isFinite(ms) && ms > 0 ? ms : 0, repeat);
    return id;
  }

  globalThis.setTimeout = (callback, delay, ...args) => addTimer(false, callback, delay, args);
  globalThis.setInterval = (callback, delay, ...args) => addTimer(true, callback, delay, args);
  globalThis.clearTimeout = (id) => {
    if (timers.delete(id)) host.clearTimer(id);
  };
  globalThis.clearInterval = globalThis.clearTimeout;

  // ---- Animation frames ----------------------------------------------------
  let frameCallbacks = new Map();
  let nextFrameId = 1;
  globalThis.requestAnimationFrame = (callback) => {
    if (typeof callback !== "function") throw new TypeError("requestAnimationFrame: pass a function");
    const id = nextFrameId++;
    frameCallbacks.set(id, callback);
    host.wantFrame();
    return id;
  };
  globalThis.cancelAnimationFrame = (id) => {
    frameCallbacks.delete(id);
  };

  // ---- Events: document (visibilitychange) and window ----------------------
  function eventTarget() {
    const listeners = new Map();
    return {
      addEventListener(type, listener) {
        if (!listeners.has(type)) listeners.set(type, []);
        const list = listeners.get(type);
        if (!list.includes(listener)) list.push(listener);
      },
      removeEventListener(type, listener) {
        const list = listeners.get(type) || [];
        const at = list.indexOf(listener);
        if (at >= 0) list.splice(at, 1);
      },
      dispatch(type, target) {
        const event = { type, target, timeStamp: now };
        for (const listener of [...(listeners.get(type) || [])]) {
          report(() => (typeof listener === "function" ? listener.call(target, event) : listener.handleEvent(event)));
        }
      },
    };
  }

  let hidden = false;
  const documentEvents = eventTarget();
  const windowEvents = eventTarget();
  globalThis.document = {
    get hidden() {
      return hidden;
    },
    get visibilityState() {
      return hidden ? "hidden" : "visible";
    },
    addEventListener: documentEvents.addEventListener,
    removeEventListener: documentEvents.removeEventListener,
  };
  globalThis.window = globalThis;
  globalThis.addEventListener = windowEvents.addEventListener;
  globalThis.removeEventListener = windowEvents.removeEventListener;

  // ---- fetch ---------------------------------------------------------------
  const requests = new Map();
  let nextRequestId = 1;

  class Headers {
    constructor(pairs) {
      this._map = new Map((pairs || []).map(([name, value]) => [String(name).toLowerCase(), String(value)]));
    }
    get(name) {
      const value = this._map.get(String(name).toLowerCase());
      return value === undefined ? null : value;
    }
    has(name) {
      return this._map.has(String(name).toLowerCase());
    }
  }
  globalThis.Headers = Headers;

  function headerPairs(headers) {
    if (!headers) return [];
    if (headers instanceof Headers) return [...headers._map.entries()];
    if (Array.isArray(headers)) return headers.map(([name, value]) => [String(name), String(value)]);
    return Object.entries(headers).map(([name, value]) => [name, String(value)]);
  }

  // `cache` asks the HTTP cache one of these ways (the Fetch standard's
  // RequestCache); the browser's network does what each says.
  const CACHE_MODES = ["default", "no-store", "reload", "no-cache", "force-cache", "only-if-cached"];

  globalThis.fetch = (input, init = {}) =>
    new Promise((resolve, reject) => {
      const id = nextRequestId++;
      const method = String(init.method || "GET").toUpperCase();
      // As Chromium words it: new Request() throws, so fetch rejects.
      const cache = init.cache === undefined ? "default" : String(init.cache);
      if (!CACHE_MODES.includes(cache)) {
        reject(
          new TypeError(
            "Failed to execute 'fetch' on 'Window': Failed to read the 'cache' property from 'RequestInit': " +
              `The provided value '${cache}' is not a valid enum value of type RequestCache.`,
          ),
        );
        return;
      }
      const mode = init.mode === undefined ? "cors" : String(init.mode);
      if (cache === "only-if-cached" && mode !== "same-origin") {
        reject(new TypeError("Failed to execute 'fetch' on 'Window': 'only-if-cached' can be set only with 'same-origin' mode"));
        return;
      }
      const signal = init.signal;
      if (signal && signal.aborted) {
        reject(signal.reason);
        return;
      }
      requests.set(id, { resolve, reject, url: String(input) });
      if (signal) {
        signal.addEventListener("abort", () => {
          if (!requests.has(id)) return; // already answered
          requests.delete(id);
          host.abort(id);
          reject(signal.reason);
        });
      }
      const body = init.body == null ? null : String(init.body);
      host.fetch(id, method, String(input), JSON.stringify(headerPairs(init.headers)), body, cache);
    });

  class AbortSignal {
    constructor() {
      this.aborted = false;
      this.reason = undefined;
      this._listeners = [];
    }
    addEventListener(type, listener) {
      if (type === "abort") this._listeners.push(listener);
    }
    removeEventListener(type, listener) {
      this._listeners = this._listeners.filter((l) => l !== listener);
    }
    throwIfAborted() {
      if (this.aborted) throw this.reason;
    }
  }
  class AbortController {
    constructor() {
      this.signal = new AbortSignal();
    }
    abort(reason) {
      const signal = this.signal;
      if (signal.aborted) return;
      signal.aborted = true;
      signal.reason = reason ?? new DOMException("signal is aborted without reason", "AbortError");
      for (const listener of [...signal._listeners]) report(() => listener({ type: "abort", target: signal }));
    }
  }
  globalThis.AbortController = AbortController;
  globalThis.AbortSignal = AbortSignal;

  class DOMException extends Error {
    constructor(message, name) {
      super(message);
      this.name = name;
    }
  }
  globalThis.DOMException = DOMException;

  function response(url, status, pairs, body) {
    let used = false;
    const read = () => {
      if (used) return Promise.reject(new TypeError("Failed to execute 'text' on 'Response': body stream already read"));
      used = true;
      return Promise.resolve(body);
    };
    return {
      url,
      status,
      ok: status >= 200 && status < 300,
      headers: new Headers(pairs),
      get bodyUsed() {
        return used;
      },
      text: read,
      json: () => read().then((text) => JSON.parse(text)),
    };
  }

  // ---- EventSource ------------------------------------------------------------
  // The HTML standard's server-sent events ("9.2 Server-sent events"). Rust
  // makes each connection, reads and parses the stream ("Interpreting an event
  // stream"), and runs one task per thing that happens (`sourceOpen`,
  // `sourceMessage`, `sourceError`, at the bottom); this is the object the
  // page holds: its state and its listeners.
  const ORIGIN = host.origin;
  const sources = new Map();
  let nextSourceId = 1;

  /** `url` resolved against the page's URL (the origin's root). */
  function resolveUrl(url) {
    const text = String(url);
    if (/^[a-z][a-z0-9+.-]*:/i.test(text)) return text;
    if (text.startsWith("//")) return `http:${text}`;
    return text.startsWith("/") ? ORIGIN + text : `${ORIGIN}/${text}`;
  }

  /** The origin of an absolute URL: scheme, host and port. */
  function originOf(url) {
    const match = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)/i.exec(url);
    return match ? match[1].toLowerCase() : "null";
  }

  /** Events whose `stopImmediatePropagation()` was called. */
  const stopped = new WeakSet();

  class Event {
    constructor(type, init = {}) {
      this.type = String(type);
      this.bubbles = Boolean(init.bubbles);
      this.cancelable = Boolean(init.cancelable);
      this.defaultPrevented = false;
      this.isTrusted = false;
      this.target = null;
      this.currentTarget = null;
      this.timeStamp = now;
    }
    preventDefault() {
      if (this.cancelable) this.defaultPrevented = true;
    }
    stopPropagation() {}
    stopImmediatePropagation() {
      stopped.add(this);
    }
  }
  class MessageEvent extends Event {
    constructor(type, init = {}) {
      super(type, init);
      this.data = init.data === undefined ? null : init.data;
      this.origin = init.origin === undefined ? "" : String(init.origin);
      this.lastEventId = init.lastEventId === undefined ? "" : String(init.lastEventId);
      this.source = null;
      this.ports = [];
    }
  }
  globalThis.Event = Event;
  globalThis.MessageEvent = MessageEvent;

  /** Call the listeners of `event.type` on `source`, in the order added. */
  function fire(source, event) {
    const listeners = source._.listeners;
    event.isTrusted = true;
    event.target = source;
    event.currentTarget = source;
    for (const entry of [...(listeners.get(event.type) || [])]) {
      if (entry.removed) continue; // removed by a listener before it
      if (entry.once) removeListener(source, event.type, entry.callback);
      const callback = entry.callback;
      report(() => (typeof callback === "function" ? callback.call(source, event) : callback.handleEvent(event)));
      if (stopped.has(event)) break;
    }
  }

  function removeListener(source, type, callback) {
    const list = source._.listeners.get(type) || [];
    const at = list.findIndex((entry) => entry.callback === callback);
    if (at >= 0) list.splice(at, 1)[0].removed = true;
  }

  class EventSource {
    constructor(url, init = undefined) {
      const id = nextSourceId++;
      const absolute = resolveUrl(url);
      const withCredentials = Boolean(init && init.withCredentials);
      // `_` keeps the state out of the page's way (not enumerable).
      Object.defineProperty(this, "_", {
        value: { id, url: absolute, withCredentials, readyState: 0, listeners: new Map(), handlers: new Map() },
      });
      sources.set(id, this);
      host.eventSource(id, absolute);
    }
    get url() {
      return this._.url;
    }
    get withCredentials() {
      return this._.withCredentials;
    }
    get readyState() {
      return this._.readyState;
    }
    /** "The close() method must abort any instances of the fetch algorithm
     * started for this EventSource object, and must set the readyState
     * attribute to CLOSED." */
    close() {
      if (this._.readyState === 2) return;
      this._.readyState = 2;
      sources.delete(this._.id);
      host.closeEventSource(this._.id);
    }
    addEventListener(type, callback, options = undefined) {
      if (callback == null) return;
      const key = String(type);
      if (!this._.listeners.has(key)) this._.listeners.set(key, []);
      const list = this._.listeners.get(key);
      if (list.some((entry) => entry.callback === callback)) return;
      const once = typeof options === "object" && options !== null && Boolean(options.once);
      list.push({ callback, once, removed: false });
    }
    removeEventListener(type, callback) {
      removeListener(this, String(type), callback);
    }
    dispatchEvent(event) {
      fire(this, event);
      event.isTrusted = false;
      return !event.defaultPrevented;
    }
  }
  for (const [name, value] of [
    ["CONNECTING", 0],
    ["OPEN", 1],
    ["CLOSED", 2],
  ]) {
    Object.defineProperty(EventSource, name, { value, enumerable: true });
    Object.defineProperty(EventSource.prototype, name, { value, enumerable: true });
  }
  // `onopen`, `onmessage`, `onerror`: HTML's event handlers. Setting one
  // adds a listener at that point in the list (once); null removes it.
  for (const type of ["open", "message", "error"]) {
    Object.defineProperty(EventSource.prototype, `on${type}`, {
      configurable: true,
      enumerable: true,
      get() {
        const handler = this._.handlers.get(type);
        return handler ? handler.value : null;
      },
      set(value) {
        const handlers = this._.handlers;
        if (typeof value !== "function" && (typeof value !== "object" || value === null)) {
          const handler = handlers.get(type);
          if (handler) removeListener(this, type, handler.listener);
          handlers.delete(type);
          return;
        }
        if (handlers.has(type)) {
          handlers.get(type).value = value;
          return;
        }
        const handler = { value };
        handler.listener = function (event) {
          if (typeof handler.value !== "function") throw new TypeError(`on${type} is not a function`);
          return handler.value.call(this, event);
        };
        handlers.set(type, handler);
        this.addEventListener(type, handler.listener);
      },
    });
  }
  globalThis.EventSource = EventSource;

  // ---- Date, performance, Math.random, queueMicrotask ----------------------
  const RealDate = Date;
  class VirtualDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(ORIGIN_MS + now);
      else super(...args);
    }
    static now() {
      return ORIGIN_MS + now;
    }
  }
  globalThis.Date = VirtualDate;
  globalThis.performance = { now: () => now, timeOrigin: ORIGIN_MS };

  let seed = host.seed >>> 0;
  Math.random = () => {
    // mulberry32: small, fast, and the same sequence for the same seed.
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  globalThis.queueMicrotask = (callback) => {
    Promise.resolve().then(() => report(callback));
  };

  // ---- sessionStorage --------------------------------------------------------
  // The tab's: Rust keeps the items, so a reload (a new document, a new
  // context) finds them again, and a new Browser (a new tab) starts empty.
  // Keys and values are strings. Where the tab forbids storage (a user who
  // blocks site data), reading `sessionStorage` throws, as in Chromium.
  const keys = () => JSON.parse(host.storageKeys());
  class Storage {
    get length() {
      return keys().length;
    }
    key(index) {
      const key = keys()[Math.trunc(Number(index))];
      return key === undefined ? null : key;
    }
    getItem(key) {
      const value = host.storageGet(String(key));
      return value === undefined ? null : value;
    }
    setItem(key, value) {
      host.storageSet(String(key), String(value));
    }
    removeItem(key) {
      host.storageRemove(String(key));
    }
    clear() {
      host.storageClear();
    }
  }
  const sessionStorage = new Storage();
  Object.defineProperty(globalThis, "sessionStorage", {
    configurable: true,
    enumerable: true,
    get() {
      if (!host.storageAllowed()) {
        throw new DOMException(
          "Failed to read the 'sessionStorage' property from 'Window': Access is denied for this document.",
          "SecurityError",
        );
      }
      return sessionStorage;
    },
  });

  // ---- console ---------------------------------------------------------------
  function show(value) {
    if (typeof value === "string") return value;
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  globalThis.console = {};
  for (const level of ["log", "info", "warn", "error", "debug"]) {
    console[level] = (...values) => host.console(level, values.map(show).join(" "));
  }

  // ---- Errors: what a browser would print as "Uncaught ..." -----------------
  /** "at poll (/client.js:12:20)" -> " at /client.js:12:20, in poll" */
  function where(stack) {
    const frame = String(stack || "")
      .split("\n")
      .map((line) => line.trim())
      .find((line) => line.startsWith("at ") && !line.includes("prelude.js"));
    if (!frame) return "";
    const named = /^at (.+?) \((.+)\)$/.exec(frame);
    if (!named) return ` at ${frame.slice(3)}`;
    return named[1] === "<anonymous>" ? ` at ${named[2]}` : ` at ${named[2]}, in ${named[1]}`;
  }

  function describe(error) {
    if (!(error instanceof Error)) return `Uncaught ${show(error)}`;
    return `Uncaught ${error.name}: ${error.message}${where(error.stack)}`;
  }
  globalThis.__describeError = describe;

  function report(callback) {
    try {
      callback();
    } catch (error) {
      host.error(describe(error));
    }
  }

  // ---- What Rust calls: one function per kind of task ------------------------
  globalThis.__browser = {
    timer(time, id) {
      now = time;
      const timer = timers.get(id);
      if (!timer) return;
      if (!timer.repeat) timers.delete(id);
      report(() => timer.callback(...timer.args));
    },
    frame(time) {
      now = time;
      const due = frameCallbacks;
      frameCallbacks = new Map();
      for (const callback of due.values()) report(() => callback(time));
    },
    visibility(time, isHidden) {
      now = time;
      if (hidden === isHidden) return;
      hidden = isHidden;
      documentEvents.dispatch("visibilitychange", globalThis.document);
    },
    windowEvent(time, type) {
      now = time;
      windowEvents.dispatch(type, globalThis);
    },
    fetchDone(time, id, status, pairs, body) {
      now = time;
      const request = requests.get(id);
      requests.delete(id);
      request.resolve(response(request.url, status, JSON.parse(pairs), body));
    },
    fetchFailed(time, id) {
      now = time;
      const request = requests.get(id);
      requests.delete(id);
      request.reject(new TypeError("Failed to fetch"));
    },
    sourceOpen(time, id) {
      now = time;
      // "announce the connection": unless closed, OPEN, and an `open` event.
      const source = sources.get(id);
      if (!source) return;
      source._.readyState = 1;
      fire(source, new Event("open"));
    },
    sourceMessage(time, id, type, data, lastEventId) {
      now = time;
      // "dispatch the event", unless the page has closed the source.
      const source = sources.get(id);
      if (!source) return;
      fire(source, new MessageEvent(type, { data, origin: originOf(source._.url), lastEventId }));
    },
    sourceError(time, id, closed) {
      now = time;
      // "reestablish the connection" (CONNECTING) or "fail the connection"
      // (CLOSED), then an `error` event; nothing if the page closed it.
      const source = sources.get(id);
      if (!source) return;
      source._.readyState = closed ? 2 : 0;
      if (closed) sources.delete(id);
      fire(source, new Event("error"));
    },
    submit(time, user, text) {
      now = time;
      const submit = globalThis.__chatSubmit;
      if (typeof submit !== "function") {
        host.error("Uncaught Error: the form was submitted, but the page never called onSubmit()");
        return;
      }
      submit(user, text).catch((error) => host.error(describe(error)));
    },
  };
})();
