//! Which file a failure sends the learner to open.

use std::path::Path;

/// `name` in the crate at `crate_dir` (the spec passes
/// `env!("CARGO_MANIFEST_DIR")`), as the learner finds it from the
/// workspace: `exercises/06-redis/src/error.rs` when the starter runs its
/// spec, `solutions/06-redis/src/error.rs` when the solution does.
pub fn learner_file(crate_dir: &str, name: &str) -> String {
    format!("{}/{name}", crate_path(crate_dir))
}

/// The crate's folder from the workspace: `exercises/06-redis`.
pub(crate) fn crate_path(crate_dir: &str) -> String {
    let dir = Path::new(crate_dir);
    let name =
        |p: &Path| p.file_name().unwrap_or_default().to_string_lossy().into_owned();
    format!("{}/{}", name(dir.parent().unwrap_or(dir)), name(dir))
}

/// `source` with its first `from` replaced by `to`: a known wrong solution
/// derived from the solution's own file, one change at a time. It fails,
/// naming the text, when the solution no longer has `from`, so a change
/// to the solution cannot leave a wrong solution quietly testing nothing.
/// The result lives as long as the test binary, as a client's source must.
#[track_caller]
pub fn replaced(source: &str, from: &str, to: &str) -> &'static str {
    assert!(
        source.contains(from),
        "the solution's file no longer has {from:?}: the known wrong solution \
         derived from it must be written again"
    );
    Box::leak(source.replacen(from, to, 1).into_boxed_str())
}
