//! Snapshots that illustrate: a trace compared with the solution's, with a
//! failure that points at the spec rather than into insta.

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
/// ([`traces_match`](crate::traces_match)): the committed
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
                        $crate::traces_match(&reference.to_string(), &test.to_string(), self.0, self.1)
                    }
                    _ => false,
                }
            }
            fn dyn_clone(&self) -> ::std::boxed::Box<dyn ::insta::Comparator> {
                ::std::boxed::Box::new(self.clone())
            }
        }
        let (tolerance, end): (u64, u64) = ($tolerance, $end);
        $crate::snapshot_failures_point_at(file!());
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
        $crate::snapshot_failures_point_at(file!());
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
