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
    client_path: String,
}

impl ClientSpec {
    /// `app` serves the exercise, `client` is its `client.js`, and
    /// `crate_dir` is `env!("CARGO_MANIFEST_DIR")` of the crate under test,
    /// so failures can name `exercises/02-settimeout-chain/client.js`.
    pub fn new(app: fn() -> Router, client: &'static str, crate_dir: &str) -> ClientSpec {
        let dir = Path::new(crate_dir);
        let name = |p: &Path| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        };
        let client_path = format!(
            "{}/{}/client.js",
            name(dir.parent().unwrap_or(dir)),
            name(dir)
        );
        ClientSpec {
            app,
            client,
            client_path,
        }
    }

    /// Where the learner finds the client.
    pub fn client_path(&self) -> &str {
        &self.client_path
    }

    /// Set the scene, open the page at 0 ms, and run it until `end` ms.
    pub fn run(&self, end: u64, scene: impl FnOnce(&mut Browser)) -> Trace {
        let mut browser = Browser::new((self.app)());
        scene(&mut browser);
        browser.open(Page::client("/client.js", self.client));
        browser.run_until(end).clone()
    }

    /// Fail the test with `result`'s message, the trace, and where to look.
    #[track_caller]
    pub fn check(&self, trace: &Trace, result: Result<(), String>) {
        if let Err(problem) = result {
            panic!(
                "{problem}\n\nWhat happened:\n{trace}\nLook at {}.",
                self.client_path
            );
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
