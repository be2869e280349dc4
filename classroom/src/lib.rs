//! Classroom mode: one class server for the room, every learner's own
//! client joined to it, the projector's dashboard, and the faults the
//! instructor sets for everyone.
//!
//! - [`server`]: the class server, exercise 08's chat (exercise 07's
//!   long polls and 08's streams) with the room watching and the
//!   instructor's [`control::Mode`] in front;
//! - [`room`]: who joined, their requests and what their pages said, all
//!   bounded, and what the dashboard is sent;
//! - [`rules`]: each learner's flags, from the specs' own checks run on
//!   their real traffic;
//! - [`join`]: the learner's side, a proxy that serves their page and
//!   forwards the API to the class server, tagged ([`tag`]);
//! - [`control`]: the modes, the controls and the instructor's key.
//!
//! The dashboard (`dashboard.html`, `.js`, `.css`) and the joined page's
//! reporter (`report.js`) live beside this crate and are compiled in.

pub mod control;
pub mod join;
pub mod room;
pub mod rules;
pub mod server;
pub mod simulate;
pub mod tag;

/// A Redis URL with its password hidden, for what is printed.
pub use redis_chat::redacted;

/// The projector's page, `/class`.
pub const DASHBOARD_HTML: &str = include_str!("../dashboard.html");
pub const DASHBOARD_JS: &str = include_str!("../dashboard.js");
pub const DASHBOARD_CSS: &str = include_str!("../dashboard.css");
/// The class server's `/`, for the projector while the room comes in:
/// `{command}` is replaced by the command to type.
pub const JOIN_HTML: &str = include_str!("../join.html");
/// The module a joined page loads before its client: it reports the page
/// loading, hidden, shown and throwing.
pub const REPORT_JS: &str = include_str!("../report.js");

use governor::clock::Clock;
use server::{Chat, MakeChat};
use std::sync::Arc;

/// Exercise 08's chat (exercise 07's `/poll` and 08's `/events`, on 07's
/// hub) on the in-memory store, its rate limit reading `clock`; a restart
/// makes a new store, so a new epoch. Stopping it answers the held polls
/// and ends the streams.
pub fn memory_chat<C>(clock: C) -> MakeChat
where
    C: Clock + Clone + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    Box::new(move || {
        let hub = server_sent_events::memory_hub();
        let app = server_sent_events::app_with(hub.clone(), clock.clone());
        Ok(Chat { app, stop: Arc::new(move || hub.stop()) })
    })
}

/// Exercise 08's chat on the Redis at `url`. A restart makes a new
/// connection; the messages stay (they are in Redis), and so does the epoch.
pub fn redis_chat(url: String) -> MakeChat {
    Box::new(move || {
        let hub = server_sent_events::redis_hub(&url)?;
        let app = server_sent_events::app_with(hub.clone(), governor::clock::DefaultClock::default());
        Ok(Chat { app, stop: Arc::new(move || hub.stop()) })
    })
}

#[cfg(test)]
mod tests {
    /// Names and messages reach the dashboard's page as text only.
    #[test]
    fn the_dashboard_and_the_reporter_never_put_text_into_html() {
        for (file, code) in [("dashboard.js", super::DASHBOARD_JS), ("report.js", super::REPORT_JS)] {
            let code: String = code.lines().filter(|line| !line.trim_start().starts_with("//")).collect();
            for forbidden in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
                assert!(!code.contains(forbidden), "classroom/{file} uses {forbidden}; use textContent");
            }
        }
        assert!(super::DASHBOARD_JS.contains("lane.name.textContent = view.name"));
    }

    /// The dashboard loads nothing from outside the class server.
    #[test]
    fn the_dashboard_loads_nothing_from_outside() {
        for page in [super::DASHBOARD_HTML, super::DASHBOARD_JS, super::DASHBOARD_CSS] {
            assert!(!page.contains("http://") && !page.contains("https://"), "{page}");
        }
    }
}
