//! The JavaScript engine, behind a small trait.
//!
//! The browser ([`crate::Browser`]) owns the clock, the network and the
//! trace; an [`Engine`] only runs the page's code. It runs one [`Task`] at a
//! time, drains the microtasks that task queued, and hands back the
//! [`HostCall`]s the page made on the way (timers to schedule, requests to
//! send, lines to log). [`QuickJs`] is the engine we use: QuickJS-ng through
//! `rquickjs`, compiled from C that ships inside the crate.

use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Function, Module, Object, Runtime, Value,
    loader::{BuiltinLoader, BuiltinResolver},
    promise::PromiseState,
};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Something the page asked the browser to do during a task.
#[derive(Debug, Clone, PartialEq)]
pub enum HostCall {
    /// `setTimeout`/`setInterval`: call timer `id` after `delay` ms.
    Timer { id: u32, delay: f64, repeat: bool },
    /// `clearTimeout`/`clearInterval`.
    ClearTimer { id: u32 },
    /// An `AbortController` aborted the fetch `id`.
    Abort { id: u32 },
    /// `requestAnimationFrame`: run the frame callbacks before the next paint.
    WantFrame,
    /// `fetch`: send a request; settle promise `id` with the answer.
    /// `cache` is its `cache` option (`"default"` when not given).
    Fetch { id: u32, method: String, url: String, headers: Vec<(String, String)>, body: Option<String>, cache: String },
    /// `new EventSource(url)`: open the event source `id` (`url` resolved
    /// against the page's origin).
    EventSource { id: u32, url: String },
    /// `EventSource.close()`: the event source `id` is closed for good.
    CloseEventSource { id: u32 },
    /// `console.log` and friends.
    Console { level: String, text: String },
    /// An uncaught exception or an unhandled rejection, with its location.
    Error { text: String },
    /// The chat module showed these messages (by id).
    Render { ids: Vec<u64> },
    /// The chat module's status line.
    Status { text: String },
}

/// A task the browser runs in the page.
#[derive(Debug, Clone)]
pub enum Task {
    Timer {
        id: u32,
    },
    Frame,
    Visibility {
        hidden: bool,
    },
    FetchDone {
        id: u32,
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    FetchFailed {
        id: u32,
    },
    /// Event source `id` is open: `readyState` OPEN, an `open` event.
    SourceOpen {
        id: u32,
    },
    /// An event of event source `id`'s stream: a `MessageEvent` of type `kind`.
    SourceMessage {
        id: u32,
        kind: String,
        data: String,
        last_event_id: String,
    },
    /// Event source `id` lost its connection: an `error` event, and
    /// `readyState` CONNECTING (it reconnects) or, when `closed`, CLOSED.
    SourceError {
        id: u32,
        closed: bool,
    },
    /// The user fills in the form and presses Send.
    Submit {
        user: String,
        text: String,
    },
    /// An event on `window` with no more to it than its type: `pagehide`,
    /// which a document gets as it goes (a reload, a navigation).
    WindowEvent {
        kind: &'static str,
    },
}

/// The page's code is broken beyond one failed task: it does not parse, or
/// a task ran too long and was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError(pub String);

/// What the browser needs from a JavaScript engine.
pub trait Engine {
    /// Evaluate `source` as the ES module `name`. It may import the modules
    /// in `modules` (name, source) by name, `/static/chat.js` included.
    fn load(&mut self, name: &str, source: &str, modules: &[(String, String)]) -> Result<(), ScriptError>;
    /// Run one task at virtual time `time` (ms), then its microtasks.
    fn run(&mut self, time: u64, task: Task) -> Result<(), ScriptError>;
    /// The host calls made since the last time this was called, in order.
    fn take_calls(&mut self) -> Vec<HostCall>;
    /// Throw the page away for a new document, loaded at virtual time
    /// `time` (ms), as a reload does: new globals, no modules, timers or
    /// callbacks of the old page, `performance.now()` counting from `time`
    /// (`Date.now()` goes on), and `Math.random` seeded anew. The tab's
    /// `sessionStorage` is kept.
    fn new_document(&mut self, time: u64) -> Result<(), ScriptError>;
    /// Whether the page may use `sessionStorage`; when not, reading it
    /// throws a `SecurityError`, as in a browser whose user blocks site data.
    fn allow_storage(&mut self, allowed: bool);
}

/// A tab's `sessionStorage`: its items, which outlive each document (a
/// reload keeps them), and whether the page may use it at all.
#[derive(Debug)]
struct SessionStorage {
    allowed: bool,
    items: BTreeMap<String, String>,
}

const PRELUDE: &str = include_str!("prelude.js");
/// The chat page's stand-in render module lives with the rest of the chat,
/// in `browser/chat.rs`; it is named here too because `tests/globals.rs`
/// checks its exports against the real module's by this path.
pub use crate::browser::CHAT_STUB;

/// How much one task may compute before it is stopped as a runaway loop.
/// QuickJS calls the interrupt handler about every 10,000 steps, so this is
/// some 50 million steps: far beyond any honest poll loop, and well under a
/// second of real time.
const STEP_BUDGET: u32 = 5_000;

/// QuickJS-ng, through rquickjs.
///
/// Neither `Runtime` nor `Context` is `Send`, so a `QuickJs` stays on the
/// thread that made it (a test's thread). Nothing here keeps a JavaScript
/// value alive outside a `ctx.with` (no `Persistent`): callbacks live in
/// JavaScript maps, and Rust refers to them by number.
pub struct QuickJs {
    // Fields drop in order: the context before the runtime it belongs to.
    context: Context,
    runtime: Runtime,
    calls: Rc<RefCell<Vec<HostCall>>>,
    steps: Rc<Cell<u32>>,
    /// Promises rejected with no handler yet, by the id the page tagged
    /// them with; a handler attached before the task ends takes one off.
    unhandled: Rc<RefCell<BTreeMap<u64, String>>>,
    /// The tab's, so it is kept in Rust: a new document gets a new context.
    storage: Rc<RefCell<SessionStorage>>,
    seed: u32,
    /// Documents loaded before this one, in this tab.
    documents: u32,
    /// When this document was loaded, in the browser's virtual ms: its
    /// `performance.now()` counts from here.
    origin: u64,
}

impl QuickJs {
    /// A fresh page context. `seed` seeds `Math.random`.
    pub fn new(seed: u32) -> Result<QuickJs, ScriptError> {
        let fail = |error: rquickjs::Error| ScriptError(format!("the JavaScript engine failed to start: {error}"));
        let runtime = Runtime::new().map_err(fail)?;
        runtime.set_memory_limit(256 * 1024 * 1024);
        runtime.set_max_stack_size(1024 * 1024);
        let context = Context::full(&runtime).map_err(fail)?;
        let storage = Rc::new(RefCell::new(SessionStorage { allowed: true, items: BTreeMap::new() }));
        let (calls, steps, unhandled) = (Rc::default(), Rc::default(), Rc::default());
        let engine = QuickJs { context, runtime, calls, steps, unhandled, storage, seed, documents: 0, origin: 0 };

        let steps = engine.steps.clone();
        engine.runtime.set_interrupt_handler(Some(Box::new(move || {
            steps.set(steps.get() + 1);
            steps.get() > STEP_BUDGET
        })));

        let unhandled = engine.unhandled.clone();
        engine.runtime.set_host_promise_rejection_tracker(Some(Box::new(
            move |ctx: Ctx<'_>, promise: Value<'_>, reason: Value<'_>, is_handled: bool| {
                let Ok(id) = promise_id(&ctx, promise) else {
                    return;
                };
                if is_handled {
                    unhandled.borrow_mut().remove(&id);
                } else {
                    let text = describe(&ctx, reason).replacen("Uncaught ", "Uncaught (in promise) ", 1);
                    unhandled.borrow_mut().insert(id, text);
                }
            },
        )));

        engine
            .context
            .with(|ctx| install_host(&ctx, &engine.calls, &engine.storage, seed, 0))
            .map_err(|error| ScriptError(format!("the virtual browser's prelude failed: {error}")))?;
        Ok(engine)
    }

    /// Run the microtask queue dry, then report rejections nobody handled.
    fn drain_microtasks(&mut self) -> Result<(), ScriptError> {
        loop {
            match self.runtime.execute_pending_job() {
                Ok(true) => continue,
                Ok(false) => break,
                Err(exception) => {
                    let text = exception.0.with(|ctx| ctx.catch().as_exception().map(|e| e.to_string()));
                    let text = text.unwrap_or_else(|| "an exception in a microtask".to_owned());
                    if self.steps.get() > STEP_BUDGET {
                        return Err(ScriptError(runaway(&text)));
                    }
                    self.calls.borrow_mut().push(HostCall::Error { text: format!("Uncaught {text}") });
                }
            }
        }
        let unhandled = std::mem::take(&mut *self.unhandled.borrow_mut());
        self.calls.borrow_mut().extend(unhandled.into_values().map(|text| HostCall::Error { text }));
        Ok(())
    }
}

fn runaway(detail: &str) -> String {
    format!(
        "a task ran for more than about {} million steps and was stopped: an endless loop? \
         A browser would freeze the page here. ({detail})",
        STEP_BUDGET / 100
    )
}

/// Tag `promise` with a number (once) so a later "handled" report can be
/// matched with the earlier "rejected" one.
fn promise_id<'js>(ctx: &Ctx<'js>, promise: Value<'js>) -> rquickjs::Result<u64> {
    let tag: Function<'_> = ctx.globals().get("__promiseId")?;
    tag.call((promise,))
}

/// The page's own words for an error: `Uncaught TypeError: ... (poll (/client.js:12:20))`.
fn describe<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> String {
    let describe: rquickjs::Result<Function<'_>> = ctx.globals().get("__describeError");
    match describe.and_then(|f| f.call::<_, String>((value,))) {
        Ok(text) => text,
        Err(_) => "Uncaught (an error that could not be described)".to_owned(),
    }
}

fn caught(error: CaughtError<'_>) -> String {
    match error {
        CaughtError::Exception(exception) => {
            let message = exception.message().unwrap_or_default();
            let name: String = exception.get("name").unwrap_or_else(|_| "Error".to_owned());
            let location = exception
                .stack()
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .find(|line| line.starts_with("at "))
                .map(|line| {
                    let line = line.trim_start_matches("at ");
                    match line.rsplit_once(" (") {
                        Some((_, place)) => format!(" at {}", place.trim_end_matches(')')),
                        None => format!(" at {line}"),
                    }
                })
                .unwrap_or_default();
            format!("{name}: {message}{location}")
        }
        other => other.to_string(),
    }
}

/// Make `__host` (the prelude's way to reach Rust) and `__chat` (the chat
/// stub's), then evaluate the prelude.
fn install_host(
    ctx: &Ctx<'_>,
    calls: &Rc<RefCell<Vec<HostCall>>>,
    storage: &Rc<RefCell<SessionStorage>>,
    seed: u32,
    origin: u64,
) -> rquickjs::Result<()> {
    let host = Object::new(ctx.clone())?;
    let push = |calls: &Rc<RefCell<Vec<HostCall>>>| {
        let calls = calls.clone();
        move |call: HostCall| calls.borrow_mut().push(call)
    };

    let record = push(calls);
    host.set(
        "timer",
        Function::new(ctx.clone(), move |id: u32, delay: f64, repeat: bool| {
            record(HostCall::Timer { id, delay, repeat })
        })?,
    )?;
    let record = push(calls);
    host.set("clearTimer", Function::new(ctx.clone(), move |id: u32| record(HostCall::ClearTimer { id }))?)?;
    let record = push(calls);
    host.set("abort", Function::new(ctx.clone(), move |id: u32| record(HostCall::Abort { id }))?)?;
    let record = push(calls);
    host.set("wantFrame", Function::new(ctx.clone(), move || record(HostCall::WantFrame))?)?;
    let record = push(calls);
    host.set(
        "fetch",
        Function::new(
            ctx.clone(),
            move |id: u32, method: String, url: String, headers: String, body: Option<String>, cache: String| {
                let headers = serde_json::from_str(&headers).unwrap_or_default();
                record(HostCall::Fetch { id, method, url, headers, body, cache })
            },
        )?,
    )?;
    let record = push(calls);
    host.set(
        "eventSource",
        Function::new(ctx.clone(), move |id: u32, url: String| record(HostCall::EventSource { id, url }))?,
    )?;
    let record = push(calls);
    host.set(
        "closeEventSource",
        Function::new(ctx.clone(), move |id: u32| record(HostCall::CloseEventSource { id }))?,
    )?;
    host.set("origin", crate::ORIGIN)?;
    let record = push(calls);
    host.set(
        "console",
        Function::new(ctx.clone(), move |level: String, text: String| record(HostCall::Console { level, text }))?,
    )?;
    let record = push(calls);
    host.set("error", Function::new(ctx.clone(), move |text: String| record(HostCall::Error { text }))?)?;
    host.set("seed", seed)?;
    host.set("timeOrigin", origin as f64)?;
    // sessionStorage, answered at once (the page reads it synchronously).
    let store = storage.clone();
    host.set("storageAllowed", Function::new(ctx.clone(), move || store.borrow().allowed)?)?;
    let store = storage.clone();
    host.set("storageGet", Function::new(ctx.clone(), move |key: String| store.borrow().items.get(&key).cloned())?)?;
    let store = storage.clone();
    host.set(
        "storageSet",
        Function::new(ctx.clone(), move |key: String, value: String| {
            store.borrow_mut().items.insert(key, value);
        })?,
    )?;
    let store = storage.clone();
    host.set(
        "storageRemove",
        Function::new(ctx.clone(), move |key: String| {
            store.borrow_mut().items.remove(&key);
        })?,
    )?;
    let store = storage.clone();
    host.set("storageClear", Function::new(ctx.clone(), move || store.borrow_mut().items.clear())?)?;
    let store = storage.clone();
    host.set(
        "storageKeys",
        Function::new(ctx.clone(), move || {
            serde_json::to_string(&store.borrow().items.keys().collect::<Vec<_>>()).expect("keys are strings")
        })?,
    )?;
    ctx.globals().set("__host", host)?;

    let chat = Object::new(ctx.clone())?;
    let record = push(calls);
    chat.set(
        "render",
        Function::new(ctx.clone(), move |ids: String| {
            record(HostCall::Render { ids: serde_json::from_str(&ids).unwrap_or_default() })
        })?,
    )?;
    let record = push(calls);
    chat.set("status", Function::new(ctx.clone(), move |text: String| record(HostCall::Status { text }))?)?;
    ctx.globals().set("__chat", chat)?;

    let options = {
        let mut options = rquickjs::context::EvalOptions::default();
        options.strict = false;
        options.filename = Some("prelude.js".to_owned());
        options
    };
    ctx.eval_with_options::<(), _>(PRELUDE, options)?;
    ctx.eval::<(), _>(
        "(() => { const tag = Symbol('id'); let next = 1; \
         globalThis.__promiseId = (p) => p[tag] ?? (p[tag] = next++); })();",
    )?;
    Ok(())
}

impl Engine for QuickJs {
    fn load(&mut self, name: &str, source: &str, modules: &[(String, String)]) -> Result<(), ScriptError> {
        let mut resolver = BuiltinResolver::default();
        let mut loader = BuiltinLoader::default();
        for (module, code) in modules {
            resolver.add_module(module.clone());
            loader.add_module(module.clone(), code.clone());
        }
        self.runtime.set_loader(resolver, loader);
        self.steps.set(0);
        let loaded = self.context.with(|ctx| {
            let promise = Module::evaluate(ctx.clone(), name, source).catch(&ctx).map_err(caught)?;
            Ok::<_, String>(rquickjs::Persistent::save(&ctx, promise))
        });
        let promise = loaded.map_err(ScriptError)?;
        self.drain_microtasks()?;
        // A top-level `throw` rejects the module's promise.
        self.context.with(|ctx| {
            let promise = promise.restore(&ctx).map_err(|e| ScriptError(e.to_string()))?;
            match promise.state() {
                PromiseState::Rejected => {
                    let reason = promise.result::<Value<'_>>().and_then(|r| r.err()).map(|e| e.to_string());
                    let thrown = ctx.catch();
                    let text = if thrown.is_undefined() || thrown.is_null() {
                        reason.unwrap_or_else(|| "the page's script threw while loading".to_owned())
                    } else {
                        describe(&ctx, thrown)
                    };
                    Err(ScriptError(text))
                }
                _ => Ok(()),
            }
        })
    }

    fn run(&mut self, time: u64, task: Task) -> Result<(), ScriptError> {
        self.steps.set(0);
        let ran = self.context.with(|ctx| {
            let browser: Object<'_> = ctx.globals().get("__browser").catch(&ctx).map_err(caught)?;
            let call = |name: &str| browser.get::<_, Function<'_>>(name).catch(&ctx).map_err(caught);
            let t = time.saturating_sub(self.origin) as f64;
            let result = match task {
                Task::Timer { id } => call("timer")?.call::<_, ()>((t, id)),
                Task::Frame => call("frame")?.call::<_, ()>((t,)),
                Task::Visibility { hidden } => call("visibility")?.call::<_, ()>((t, hidden)),
                Task::FetchDone { id, status, headers, body } => {
                    let pairs = serde_json::to_string(&headers).expect("headers are strings");
                    call("fetchDone")?.call::<_, ()>((t, id, status, pairs, body))
                }
                Task::FetchFailed { id } => call("fetchFailed")?.call::<_, ()>((t, id)),
                Task::SourceOpen { id } => call("sourceOpen")?.call::<_, ()>((t, id)),
                Task::SourceMessage { id, kind, data, last_event_id } => {
                    call("sourceMessage")?.call::<_, ()>((t, id, kind, data, last_event_id))
                }
                Task::SourceError { id, closed } => call("sourceError")?.call::<_, ()>((t, id, closed)),
                Task::Submit { user, text } => call("submit")?.call::<_, ()>((t, user, text)),
                Task::WindowEvent { kind } => call("windowEvent")?.call::<_, ()>((t, kind)),
            };
            result.catch(&ctx).map_err(caught)
        });
        if let Err(text) = ran {
            return Err(ScriptError(if self.steps.get() > STEP_BUDGET { runaway(&text) } else { text }));
        }
        self.drain_microtasks()
    }

    fn take_calls(&mut self) -> Vec<HostCall> {
        std::mem::take(&mut *self.calls.borrow_mut())
    }

    fn new_document(&mut self, time: u64) -> Result<(), ScriptError> {
        let fail = |error: rquickjs::Error| ScriptError(format!("the virtual browser could not reload: {error}"));
        self.documents += 1;
        // Another seed, so `Math.random` goes on as if the tab had drawn
        // more numbers, instead of repeating the last document's.
        let seed = self.seed.wrapping_add(self.documents.wrapping_mul(0x9e37_79b9));
        let context = Context::full(&self.runtime).map_err(fail)?;
        context.with(|ctx| install_host(&ctx, &self.calls, &self.storage, seed, time)).map_err(fail)?;
        self.origin = time;
        // The old context, its modules and callbacks go with it.
        self.context = context;
        self.unhandled.borrow_mut().clear();
        self.calls.borrow_mut().clear();
        Ok(())
    }

    fn allow_storage(&mut self, allowed: bool) {
        self.storage.borrow_mut().allowed = allowed;
    }
}
