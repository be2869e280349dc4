//! Classroom mode: one class server for the room, every learner's own
//! client joined to it, the projector's dashboard, and the faults the
//! instructor sets for everyone.
//!
//! - [`server`]: the class server, exercise 07's chat with the room
//!   watching and the instructor's [`control::Mode`] in front;
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
pub mod tag;

/// A Redis URL with its password hidden, for what is printed.
pub use redis_chat::redacted;

/// The projector's page, `/class`.
pub const DASHBOARD_HTML: &str = include_str!("../dashboard.html");
pub const DASHBOARD_JS: &str = include_str!("../dashboard.js");
pub const DASHBOARD_CSS: &str = include_str!("../dashboard.css");
/// The module a joined page loads before its client: it reports the page
/// loading, hidden, shown and throwing.
pub const REPORT_JS: &str = include_str!("../report.js");

use governor::clock::Clock;
use server::{Chat, MakeChat};
use std::sync::Arc;

/// Exercise 07's chat on the in-memory store, its rate limit reading
/// `clock`; a restart makes a new store, so a new epoch.
pub fn memory_chat<C>(clock: C) -> MakeChat
where
    C: Clock + Clone + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    Box::new(move || {
        let hub = long_polling::memory_hub();
        let app = long_polling::app_with(hub.clone(), clock.clone());
        Ok(Chat { app, stop: Arc::new(move || hub.stop()) })
    })
}

/// Exercise 07's chat on the Redis at `url`. A restart makes a new
/// connection; the messages stay (they are in Redis), and so does the epoch.
pub fn redis_chat(url: String) -> MakeChat {
    Box::new(move || {
        let hub = long_polling::redis_hub(&url)?;
        let app = long_polling::app_with(hub.clone(), governor::clock::DefaultClock::default());
        Ok(Chat { app, stop: Arc::new(move || hub.stop()) })
    })
}
