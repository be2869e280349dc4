//! What every client exercise's spec needs: open the exercise's client in a
//! fresh browser, run a scene, and fail with a message that says what went
//! wrong and which of the chapter's rules that breaks, shows the trace, and
//! names the file to open.
//!
//! A spec's scenarios take a `&ClientSpec`, so the course's own tests can
//! run the very same scenarios against known wrong clients
//! ([`ClientSpec::with_client`], [`ClientSpec::with_module`]) and check that
//! each fails naming the rule it breaks.

use crate::{Browser, Page, Trace};
use axum::Router;
use std::cell::Cell;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

/// A rule a chapter teaches, as a spec names it when it is broken: an id
/// (`R3`) and its words (`the wait counts from each answer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub words: &'static str,
}

impl Rule {
    pub const fn new(id: &'static str, words: &'static str) -> Rule {
        Rule { id, words }
    }
}

impl fmt::Display for Rule {
    /// `R3 (the wait counts from each answer)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.words)
    }
}

/// The first line of a failure that breaks `rules`: `Broken rule R3 (the
/// wait counts from each answer): `.
fn broken(rules: &[Rule]) -> String {
    let names: Vec<String> = rules.iter().map(Rule::to_string).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => format!("Broken rule {one}: "),
        [init @ .., last] => format!("Broken rules {} and {last}: ", init.join(", ")),
    }
}

/// One of a spec's scenarios: it runs its scene with the client it is
/// given, and panics with a message naming the rule the client broke.
pub type Scenario = fn(&ClientSpec);

/// One client exercise under test.
pub struct ClientSpec {
    app: fn() -> Router,
    client: &'static str,
    modules: Vec<(&'static str, &'static str)>,
    crate_path: String,
    learner_file: &'static str,
    /// A client or module was put in the place of the crate's own.
    replaced: bool,
}

impl ClientSpec {
    /// `app` serves the exercise, `client` is its `client.js`, and
    /// `crate_dir` is `env!("CARGO_MANIFEST_DIR")` of the crate under test,
    /// so failures can name `exercises/02-settimeout-chain/client.js`.
    pub fn new(app: fn() -> Router, client: &'static str, crate_dir: &str) -> ClientSpec {
        let dir = Path::new(crate_dir);
        let name = |p: &Path| p.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let crate_path = format!("{}/{}", name(dir.parent().unwrap_or(dir)), name(dir));
        ClientSpec { app, client, modules: Vec::new(), crate_path, learner_file: "client.js", replaced: false }
    }

    /// The page also imports `source` as `name` (e.g. `/backoff.js`),
    /// instead of the module of that name it had, if any.
    pub fn with_module(mut self, name: &'static str, source: &'static str) -> ClientSpec {
        let before = self.modules.len();
        self.modules.retain(|(kept, _)| *kept != name);
        self.replaced |= self.modules.len() < before;
        self.modules.push((name, source));
        self
    }

    /// The page runs `client` instead of the exercise's `client.js` (the
    /// server still serves the exercise's): for a known wrong client, or a
    /// right one written another way.
    pub fn with_client(mut self, client: &'static str) -> ClientSpec {
        self.client = client;
        self.replaced = true;
        self
    }

    /// Whether the page runs the course's solution as shipped: the crate
    /// under test is in `solutions/`, and no client or module was put in the
    /// place of its own. A spec whose traces depend on more than its rules
    /// (the page's random numbers, drawn in whatever order the client likes)
    /// asserts its snapshots only then: they show the solution's run, and the
    /// checks alone decide for every other client.
    pub fn runs_the_solution(&self) -> bool {
        self.crate_path.starts_with("solutions/") && !self.replaced
    }

    /// The file the learner edits, next to the crate's Cargo.toml, when it
    /// is not `client.js`.
    pub fn learner_edits(mut self, file: &'static str) -> ClientSpec {
        self.learner_file = file;
        self
    }

    /// Where the learner finds the file to edit: `exercises/04-backoff/backoff.js`.
    pub fn client_path(&self) -> String {
        format!("{}/{}", self.crate_path, self.learner_file)
    }

    fn page(&self, name: &str, source: &str) -> Page {
        let page = Page::client(name, source);
        self.modules.iter().fold(page, |page, (name, source)| page.with_module(name, source))
    }

    /// Set the scene, open the page at 0 ms, and run it until `end` ms.
    pub fn run(&self, end: u64, scene: impl FnOnce(&mut Browser)) -> Trace {
        let mut browser = Browser::new((self.app)());
        scene(&mut browser);
        browser.open(self.page("/client.js", self.client));
        browser.run_until(end).clone()
    }

    /// Run a small script instead of the client, with the same modules, and
    /// return what it logged with `console.log`, one entry per call: a way to
    /// test the learner's module directly.
    pub fn logs_of(&self, script: &str) -> Vec<String> {
        let mut browser = Browser::new((self.app)());
        browser.open(self.page("/check.js", script));
        let trace = browser.run_until(0);
        if let Err(problem) = crate::checks::no_script_errors(trace) {
            panic!("{problem}\n\nThe script was:\n{script}\nLook at {}.", self.client_path());
        }
        trace.logged()
    }

    /// Fail the test with `result`'s message, the trace, and where to look.
    #[track_caller]
    pub fn check(&self, trace: &Trace, result: Result<(), String>) {
        self.check_rules(&[], trace, result);
    }

    /// Fail the test with `result`'s message, naming the rule it breaks,
    /// with the trace and where to look. If the page's script also failed,
    /// the message says where: an uncaught error often explains the rest.
    #[track_caller]
    pub fn check_rule(&self, rule: Rule, trace: &Trace, result: Result<(), String>) {
        self.check_rules(&[rule], trace, result);
    }

    /// [`check_rule`](Self::check_rule) for a problem that breaks several rules at once.
    #[track_caller]
    pub fn check_rules(&self, rules: &[Rule], trace: &Trace, result: Result<(), String>) {
        let Err(problem) = result else { return };
        let script = match trace.errors().first() {
            Some((at, text)) if !problem.contains(text.as_str()) => format!(
                "\nThe page's script also failed, at {at} ms (an uncaught error often stops polling; start \
                 there):\n  {text}\n"
            ),
            _ => String::new(),
        };
        panic!("{}{problem}\n{script}\nWhat happened:\n{trace}\nLook at {}.", broken(rules), self.client_path());
    }

    /// Fail the test with `result`'s message, naming the rules it breaks,
    /// and where to look (`function` in the learner's file): for checks
    /// without a trace, the learner's module called directly with
    /// [`logs_of`](Self::logs_of).
    #[track_caller]
    pub fn require(&self, rules: &[Rule], function: &str, result: Result<(), String>) {
        if let Err(problem) = result {
            panic!("{}{problem}\nLook at `{function}` in {}.", broken(rules), self.client_path());
        }
    }
}

thread_local! {
    /// This thread runs a scenario expected to fail: don't print its panic.
    static EXPECTING_FAILURE: Cell<bool> = const { Cell::new(false) };
}

/// Run `scenario` (a spec's scenario, run against a known client) and
/// return its failure message, or `None` if it passed. The panic is not
/// printed, so a test run shows only the failures nobody expected.
pub fn failure_of(scenario: impl FnOnce()) -> Option<String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !EXPECTING_FAILURE.get() {
                default(info);
            }
        }));
    });
    EXPECTING_FAILURE.set(true);
    let result = panic::catch_unwind(AssertUnwindSafe(scenario));
    EXPECTING_FAILURE.set(false);
    result.err().map(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "(a panic without a message)".to_owned())
    })
}

/// Whether `actual` is the trace text `reference` is, but for the times of
/// the page's own events, which may differ by up to `tolerance` ms counted
/// from the page's event before them. The same lines must come in the same
/// order; what the scene does (the page loading, hidden or shown, a user
/// posting or sending, the server restarting) must come at the same times.
/// Only at the very end, within `tolerance` of the scenario's `end`, may a
/// page's event be in one trace and not the other (its counterpart came
/// just after the end).
///
/// A frame loop polls at the first frame after a poll is due and a timer
/// right when it is due, so with `tolerance` = [`FRAME_MS`](crate::FRAME_MS)
/// the two match: each of their steps differs by less than a frame, even
/// where the differences add up over a scenario.
pub fn traces_match(reference: &str, actual: &str, tolerance: u64, end: u64) -> bool {
    fn lines(text: &str) -> Option<Vec<(i64, &str)>> {
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let (time, event) = line.trim_start().split_once(" ms  ")?;
                Some((time.parse().ok()?, event))
            })
            .collect()
    }
    /// What the scene did, not the page: see `Event`'s `Display`.
    fn of_the_scene(event: &str) -> bool {
        ["page loads ", "page hidden", "page visible", "the server restarts", "user sends "]
            .iter()
            .any(|start| event.starts_with(start))
            || (event.contains(" posts \"") && event.ends_with(')') && event.contains("(server: "))
    }
    let (Some(reference), Some(actual)) = (lines(reference), lines(actual)) else {
        return reference == actual;
    };
    let tolerance = i64::try_from(tolerance).unwrap_or(i64::MAX);
    let end = i64::try_from(end).unwrap_or(i64::MAX);
    // Lines only one trace has must be the page's, at the very end.
    let common = reference.len().min(actual.len());
    let left_over = if reference.len() > common { &reference[common..] } else { &actual[common..] };
    if left_over.iter().any(|(at, event)| of_the_scene(event) || *at < end.saturating_sub(tolerance)) {
        return false;
    }
    // The times of the page's event before, in each trace.
    let mut before = (0, 0);
    for ((r_at, r_event), (a_at, a_event)) in reference.iter().zip(&actual) {
        if r_event != a_event {
            return false;
        }
        if of_the_scene(r_event) {
            if r_at != a_at {
                return false;
            }
        } else {
            if ((r_at - before.0) - (a_at - before.1)).abs() > tolerance {
                return false;
            }
            before = (*r_at, *a_at);
        }
    }
    true
}

/// Make a failed snapshot point at the spec rather than into insta's
/// source: insta panics inside its own runtime, so the test's `panicked at`
/// line would name a file in the cargo registry that no learner should
/// open. Call it before a snapshot assertion, with `file!()` (the macros
/// here do); the first call installs a panic hook for the whole test
/// binary, which leaves every other panic as it was.
pub fn snapshot_failures_point_at(spec: &'static str) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    // `exercises/07-long-polling/tests/../../../tests/07-long-polling/spec.rs`
    // is the spec at `tests/07-long-polling/spec.rs`.
    let spec = spec.rsplit("../").next().unwrap_or(spec);
    HOOK.call_once(|| {
        let before = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_insta = info.location().is_some_and(|at| at.file().contains("/insta-"));
            if !in_insta {
                return before(info);
            }
            let what = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("a snapshot assertion failed");
            let thread = std::thread::current();
            eprintln!(
                "\nthread '{}' panicked at {spec}: {what}\nThe diff above shows where your run differs \
                 from the solution's; the scenario is in {spec}, at the line named.",
                thread.name().unwrap_or("<unnamed>")
            );
        }));
    });
}

/// Compare a trace with the named snapshot next to the spec (the spec's
/// crate needs `insta` as a dev-dependency). On a mismatch, insta prints the
/// description first, so the diff reads in plain words.
///
/// With `steps_within = ms, until = end` (the scenario's end), the times of
/// the page's own events may differ from the snapshot's by up to `ms`,
/// counted from the page's event before
/// ([`spec::traces_match`](crate::spec::traces_match)): the committed
/// snapshot stays the solution's trace, and a right client whose every step
/// is a frame earlier or later still matches it. The checks before the
/// snapshot decide whether a client keeps the rules; the snapshot only shows
/// where it does something else than the solution.
#[macro_export]
macro_rules! assert_trace_snapshot {
    ($name:literal, $trace:expr, steps_within = $tolerance:expr, until = $end:expr) => {{
        /// Compares the snapshot's trace and this one with the tolerance.
        #[derive(Clone)]
        struct StepsWithin(u64, u64);
        impl ::insta::Comparator for StepsWithin {
            fn matches(&self, reference: &::insta::Snapshot, test: &::insta::Snapshot) -> bool {
                match (reference.as_text(), test.as_text()) {
                    (Some(reference), Some(test)) => {
                        $crate::spec::traces_match(&reference.to_string(), &test.to_string(), self.0, self.1)
                    }
                    _ => false,
                }
            }
            fn dyn_clone(&self) -> ::std::boxed::Box<dyn ::insta::Comparator> {
                ::std::boxed::Box::new(self.clone())
            }
        }
        let (tolerance, end): (u64, u64) = ($tolerance, $end);
        $crate::spec::snapshot_failures_point_at(file!());
        ::insta::with_settings!({
            prepend_module_to_snapshot => false,
            omit_expression => true,
            comparator => ::std::boxed::Box::new(StepsWithin(tolerance, end)),
            description => format!(
                "what the course's solution does in this scene, line by line: in the diff, - lines are the \
                 solution's and + lines your client's. Your page's times may differ by up to {tolerance} ms, \
                 counted from its event before. The checks above it passed, so look for when your client \
                 sends each request."
            ),
        }, {
            ::insta::assert_snapshot!($name, $trace.to_string());
        })
    }};
    ($name:literal, $trace:expr) => {{
        $crate::spec::snapshot_failures_point_at(file!());
        ::insta::with_settings!({
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => "what the course's solution does in this scene, line by line: in the diff, - lines are \
                            the solution's and + lines your client's. The checks above it passed, so look for \
                            when your client sends each request.",
        }, {
            ::insta::assert_snapshot!($name, $trace.to_string());
        })
    }};
}

/// A spec's scenarios with the names the spec gives them (`("s02", s02)`).
pub type Scenarios<'a> = &'a [(&'a str, Scenario)];

/// The course checks' side of a spec: `spec` runs a known wrong client (its
/// first line, `// Wrong: ...`, is `name`), which must fail each scenario in
/// `wanted` with a message naming `rule`.
#[track_caller]
pub fn assert_breaks(spec: &ClientSpec, name: &str, scenarios: Scenarios<'_>, rule: Rule, wanted: &[&str]) {
    for wanted in wanted {
        let (_, scenario) = scenarios.iter().find(|(n, _)| n == wanted).expect("a scenario of the spec");
        match failure_of(|| scenario(spec)) {
            None => panic!("{wanted} passed a client that breaks {rule}, but it must catch it:\n{name}"),
            Some(message) => assert!(
                message.contains(&rule.to_string()),
                "{wanted} failed the client that breaks {rule} ({name}), but its message does not name the \
                 rule:\n{message}"
            ),
        }
    }
}

/// `spec` runs a client that must pass every scenario but those in `except`
/// (a right client written another way, with `except` empty; or a wrong one,
/// which must break only the scenarios of its own rule).
#[track_caller]
pub fn assert_passes(spec: &ClientSpec, name: &str, scenarios: Scenarios<'_>, except: &[&str]) {
    for (scenario_name, scenario) in scenarios {
        if except.contains(scenario_name) {
            continue;
        }
        if let Some(message) = failure_of(|| scenario(spec)) {
            panic!("{scenario_name} failed {name}, which it should pass:\n{message}");
        }
    }
}

/// The course checks' side of a server spec: run `scene` (a spec scenario
/// run against a known wrong solution, `what`) and return its failure
/// message; fail if it passed, since the spec must catch it.
#[track_caller]
pub fn failure_message(what: &str, scene: impl FnOnce()) -> String {
    failure_of(scene)
        .unwrap_or_else(|| panic!("{what} passed the spec's scenario, but it breaks a rule the spec must catch"))
}

/// A failure `message` names `rule` (its id and words, or the id alone).
#[track_caller]
pub fn assert_names(rule: &str, message: &str) {
    assert!(message.contains(rule), "the failure should name {rule}, but says:\n{message}");
}
