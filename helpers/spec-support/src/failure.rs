//! Catching the failure a known wrong solution must cause: run one of the
//! spec's scenarios against it, keep the panic quiet, and hand its message
//! to the check that it names the rule broken.

use crate::Rule;
use std::cell::Cell;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

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

/// Run an async scene to its end on a runtime of its own (one thread, as
/// `#[tokio::test]` runs the spec's own): for a server scenario run
/// against a known wrong solution inside [`failure_message`].
pub fn block_on(scene: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the scene")
        .block_on(scene);
}

/// Run an async scene as a spec's `#[tokio::test(start_paused = true)]`
/// does: on one thread, on tokio's clock paused from the start. (Pausing
/// the clock of [`block_on`]'s runtime after it started is not the same: a
/// sleep then ends up to a millisecond late, and some scenarios measure
/// their waits to the millisecond.)
pub fn block_on_paused(scene: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime for the scene")
        .block_on(scene);
}

/// The course checks' side of a server spec: run `scene` (a spec scenario
/// run against a known wrong solution, `what`) and return its failure
/// message; fail if it passed, since the spec must catch it.
#[track_caller]
pub fn failure_message(what: &str, scene: impl FnOnce()) -> String {
    failure_of(scene)
        .unwrap_or_else(|| panic!("{what} passed the spec's scenario, but it breaks a rule the spec must catch"))
}

/// A failure `message` names `rule`, its id and its words, as a client
/// spec (`R3 (the wait counts from each answer)`) or a server spec (`R3
/// the wait counts from each answer`) writes it.
#[track_caller]
pub fn assert_names(rule: Rule, message: &str) {
    assert!(
        message.contains(&format!("{rule}"))
            || message.contains(&format!("{rule:#}")),
        "the failure should name {rule:#}, but says:\n{message}"
    );
}
