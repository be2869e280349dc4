//! The real-browser tier: the course's clients in headless Chromium, against
//! their real servers over real sockets on 127.0.0.1.
//!
//! The virtual browser (`virtual-browser/`) runs every client spec fast and
//! on a virtual clock, but it is a model. This crate checks that the
//! solutions behave the same in a real browser, and cross-checks the model:
//! the same scenario in both must send the same requests at the same times,
//! within a stated tolerance.
//!
//! - [`server`]: an exercise's app on a port, with a log of every request,
//!   a count of requests in flight, a slow mode, a down mode, and files
//!   served in place of the app's (a client with shorter intervals, or a
//!   deliberately broken one);
//! - [`chromium`]: headless Chromium through WebDriver (Debian's `chromium`
//!   and `chromium-driver`), kept off the network.
//!
//! Why WebDriver (`fantoccini`) and not the DevTools protocol
//! (`chromiumoxide`)? Both worked on this course's machines; fantoccini added
//! about 85 s to a cold build against about 250 s, and every test here needs
//! only what WebDriver offers: open a page, run a script, switch tabs.

pub mod chromium;
pub mod server;

/// Replace each `from` in `source` with its `to`, and panic if one is
/// missing: a scaled or broken client must differ from the real one exactly
/// where the test says, or the test would silently check something else.
pub fn edited(source: &str, edits: &[(&str, &str)]) -> String {
    let mut out = source.to_owned();
    for (from, to) in edits {
        assert!(out.contains(from), "the source no longer contains {from:?}: update the test's edit");
        out = out.replace(from, to);
    }
    out
}

/// One at a time: the tests measure timings, and two Chromiums on two cores
/// would measure each other. Hold the guard for the whole test.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
