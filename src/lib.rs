//! The Real-Time Polling Workshop: the course manifest and the runner that
//! `cargo run` starts. The exercises themselves are separate crates in
//! `exercises/` (starters) and `solutions/` (finished); see CONTRIBUTING.md.

pub mod class;
pub mod course;
pub mod home;
pub mod paint;
pub mod progress;
pub mod watch;
pub mod workshop;
