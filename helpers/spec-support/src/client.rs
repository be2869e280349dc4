//! What every client exercise's spec needs: open the exercise's client in a
//! fresh browser, run a scene, and fail with a message that says what went
//! wrong and which of the chapter's rules that breaks, shows the trace, and
//! names the file to open.
//!
//! A spec's scenarios take a `&ClientSpec`, so its wrong solutions can run
//! the very same scenarios against known wrong clients
//! ([`ClientSpec::with_client`], [`ClientSpec::with_module`]) and check that
//! each fails naming the rule it breaks ([`KnownClients`]).

use crate::failure::failure_of;
use crate::learner::crate_path;
use crate::rule::{Rule, broken};
use axum::Router;
use virtual_browser::{Browser, Page, Trace};

/// When the page in `trace` first showed message `id`, if it ever did.
pub fn shown_at(trace: &Trace, id: u64) -> Option<u64> {
    trace.events().iter().find_map(|(at, event)| match event {
        virtual_browser::Event::Rendered { ids } if ids.contains(&id) => Some(*at),
        _ => None,
    })
}

/// The page's status line in `trace` at `at` ms: the text of the last
/// `showStatus` at or before it (empty once cleared), or `None` if the page
/// had set none.
pub fn status_at(trace: &Trace, at: u64) -> Option<String> {
    trace.events().iter().rev().find_map(|(t, event)| match event {
        virtual_browser::Event::Status { text } if *t <= at => Some(text.clone()),
        _ => None,
    })
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
    pub fn new(
        app: fn() -> Router,
        client: &'static str,
        crate_dir: &str,
    ) -> ClientSpec {
        let crate_path = crate_path(crate_dir);
        ClientSpec {
            app,
            client,
            modules: Vec::new(),
            crate_path,
            learner_file: "client.js",
            replaced: false,
        }
    }

    /// The page also imports `source` as `name` (e.g. `/backoff.js`),
    /// instead of the module of that name it had, if any.
    pub fn with_module(
        mut self,
        name: &'static str,
        source: &'static str,
    ) -> ClientSpec {
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
        self.modules
            .iter()
            .fold(page, |page, (name, source)| page.with_module(name, source))
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
        if let Err(problem) = virtual_browser::checks::no_script_errors(trace) {
            panic!(
                "{problem}\n\nThe script was:\n{script}\nLook at {}.",
                self.client_path()
            );
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
    pub fn check_rules(
        &self,
        rules: &[Rule],
        trace: &Trace,
        result: Result<(), String>,
    ) {
        let Err(problem) = result else { return };
        let script = match trace.errors().first() {
            Some((at, text)) if !problem.contains(text.as_str()) => format!(
                "\nThe page's script also failed, at {at} ms (an uncaught error often stops polling; start \
                 there):\n  {text}\n"
            ),
            _ => String::new(),
        };
        panic!(
            "{}{problem}\n{script}\nWhat happened:\n{trace}\nLook at {}.",
            broken(rules),
            self.client_path()
        );
    }

    /// Fail the test with `result`'s message, naming the rules it breaks,
    /// and where to look (`function` in the learner's file): for checks
    /// without a trace, the learner's module called directly with
    /// [`logs_of`](Self::logs_of).
    #[track_caller]
    pub fn require(
        &self,
        rules: &[Rule],
        function: &str,
        result: Result<(), String>,
    ) {
        if let Err(problem) = result {
            panic!(
                "{}{problem}\nLook at `{function}` in {}.",
                broken(rules),
                self.client_path()
            );
        }
    }
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
/// right when it is due, so with `tolerance` = [`FRAME_MS`](virtual_browser::FRAME_MS)
/// the two match: each of their steps differs by less than a frame, even
/// where the differences add up over a scenario.
pub fn traces_match(
    reference: &str,
    actual: &str,
    tolerance: u64,
    end: u64,
) -> bool {
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
        [
            "page loads ",
            "page hidden",
            "page visible",
            "the server restarts",
            "user sends ",
        ]
        .iter()
        .any(|start| event.starts_with(start))
            || (event.contains(" posts \"")
                && event.ends_with(')')
                && event.contains("(server: "))
    }
    let (Some(reference), Some(actual)) = (lines(reference), lines(actual)) else {
        return reference == actual;
    };
    let tolerance = i64::try_from(tolerance).unwrap_or(i64::MAX);
    let end = i64::try_from(end).unwrap_or(i64::MAX);
    // Lines only one trace has must be the page's, at the very end.
    let common = reference.len().min(actual.len());
    let left_over = if reference.len() > common {
        &reference[common..]
    } else {
        &actual[common..]
    };
    if left_over.iter().any(|(at, event)| {
        of_the_scene(event) || *at < end.saturating_sub(tolerance)
    }) {
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

/// A spec's scenarios with the names the spec gives them (`("s02", s02)`).
pub type Scenarios<'a> = &'a [(&'a str, Scenario)];

/// The course checks' side of a spec: `spec` runs a known wrong client (its
/// first line, `// Wrong: ...`, is `name`), which must fail each scenario in
/// `wanted` with a message naming `rule`.
#[track_caller]
pub fn assert_breaks(
    spec: &ClientSpec,
    name: &str,
    scenarios: Scenarios<'_>,
    rule: Rule,
    wanted: &[&str],
) {
    for wanted in wanted {
        let (_, scenario) = scenarios
            .iter()
            .find(|(n, _)| n == wanted)
            .expect("a scenario of the spec");
        match failure_of(|| scenario(spec)) {
            None => panic!(
                "{wanted} passed a client that breaks {rule}, but it must catch it:\n{name}"
            ),
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
pub fn assert_passes(
    spec: &ClientSpec,
    name: &str,
    scenarios: Scenarios<'_>,
    except: &[&str],
) {
    for (scenario_name, scenario) in scenarios {
        if except.contains(scenario_name) {
            continue;
        }
        if let Some(message) = failure_of(|| scenario(spec)) {
            panic!(
                "{scenario_name} failed {name}, which it should pass:\n{message}"
            );
        }
    }
}

/// A client exercise's known clients, run through its spec: `page` opens
/// the exercise's page with a client (or module) in the place of the
/// learner's, and `scenarios` are the spec's, by name.
pub struct KnownClients<'a> {
    pub page: fn(&'static str) -> ClientSpec,
    pub scenarios: Scenarios<'a>,
}

impl KnownClients<'_> {
    /// `client` fails each of `scenarios` with a message naming `rule`.
    #[track_caller]
    pub fn breaks(&self, client: &'static str, rule: Rule, scenarios: &[&str]) {
        let spec = (self.page)(client);
        assert_breaks(&spec, name_of(client), self.scenarios, rule, scenarios);
    }

    /// `client` passes every scenario of the spec.
    #[track_caller]
    pub fn passes_every_scenario(&self, client: &'static str) {
        self.passes_all_but(client, &[]);
    }

    /// `client` passes every scenario but `failing` (which
    /// [`breaks`](Self::breaks) checks).
    #[track_caller]
    pub fn passes_all_but(&self, client: &'static str, failing: &[&str]) {
        let spec = (self.page)(client);
        assert_passes(&spec, name_of(client), self.scenarios, failing);
    }
}

/// A known client's name: its first line (`// Wrong: ...`).
fn name_of(client: &str) -> &str {
    client.lines().next().unwrap_or_default()
}
