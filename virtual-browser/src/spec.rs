//! What every client exercise's spec needs: open the exercise's client in a
//! fresh browser, run a scene, and fail with a message that says what went
//! wrong, shows the trace, and names the file to open.

use crate::{Browser, Page, Trace};
use axum::Router;
use std::path::Path;

/// One client exercise under test.
pub struct ClientSpec {
    app: fn() -> Router,
    client: &'static str,
    modules: Vec<(&'static str, &'static str)>,
    crate_path: String,
    learner_file: &'static str,
}

impl ClientSpec {
    /// `app` serves the exercise, `client` is its `client.js`, and
    /// `crate_dir` is `env!("CARGO_MANIFEST_DIR")` of the crate under test,
    /// so failures can name `exercises/02-settimeout-chain/client.js`.
    pub fn new(app: fn() -> Router, client: &'static str, crate_dir: &str) -> ClientSpec {
        let dir = Path::new(crate_dir);
        let name = |p: &Path| p.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let crate_path = format!("{}/{}", name(dir.parent().unwrap_or(dir)), name(dir));
        ClientSpec { app, client, modules: Vec::new(), crate_path, learner_file: "client.js" }
    }

    /// The page also imports `source` as `name` (e.g. `/backoff.js`).
    pub fn with_module(mut self, name: &'static str, source: &'static str) -> ClientSpec {
        self.modules.push((name, source));
        self
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
        if let Err(problem) = result {
            panic!("{problem}\n\nWhat happened:\n{trace}\nLook at {}.", self.client_path());
        }
    }
}

/// Compare a trace with the named snapshot next to the spec (the spec's
/// crate needs `insta` as a dev-dependency). On a mismatch, insta prints the
/// description first, so the diff reads in plain words.
#[macro_export]
macro_rules! assert_trace_snapshot {
    ($name:literal, $trace:expr) => {
        ::insta::with_settings!({
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => "what the course's solution does in this scene, line by line: in the diff, - lines are \
                            the solution's and + lines your client's. The checks above it passed, so look for \
                            when your client sends each request.",
        }, {
            ::insta::assert_snapshot!($name, $trace.to_string());
        })
    };
}
