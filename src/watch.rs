//! `cargo run -- watch`: check the current exercise each time one of its
//! files is saved. When it passes, say what comes next and wait for you:
//! it never moves on by itself.
//!
//! Saving is noticed with the `notify` crate. Where that does not work (WSL
//! on a Windows drive, `/mnt/c`, is known not to, and some network file
//! systems), `--manual` checks each time you press Enter instead.

use crate::paint::Paint;
use crate::workshop::{Checked, Workshop, report};
use notify::{EventKind, RecursiveMode, Watcher};
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

/// What can wake the watch loop up.
enum Wake {
    /// A source file of the exercise was saved.
    Saved,
    /// A line typed at the terminal.
    Line(String),
    /// The terminal's input ended.
    Closed,
}

/// Whether a changed path is one worth checking again for: source and
/// manifest files of the exercise, not build output.
pub fn matters(path: &Path) -> bool {
    let in_target = path.components().any(|c| c.as_os_str() == "target");
    let source = path.extension().is_some_and(|e| e == "rs" || e == "js" || e == "toml");
    source && !in_target
}

fn read_lines(wake: Sender<Wake>) {
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = wake.send(Wake::Closed);
                    return;
                }
                Ok(_) => {
                    if wake.send(Wake::Line(line.trim().to_owned())).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// Wait for the next save (or, with `manual`, Enter). Saves that come in a
/// burst (an editor writing several files) count once. `Ok(false)`: stop.
fn wait_for_change(wake: &Receiver<Wake>, manual: bool) -> bool {
    loop {
        match wake.recv() {
            Ok(Wake::Saved) if !manual => {
                while wake.recv_timeout(Duration::from_millis(300)).is_ok() {}
                return true;
            }
            Ok(Wake::Saved) => {}
            Ok(Wake::Line(line)) if line == "q" => return false,
            Ok(Wake::Line(_)) => return true,
            Ok(Wake::Closed) | Err(_) => return false,
        }
    }
}

/// Watch exercise `number` (or the current one), and the ones after it.
pub fn watch(workshop: &mut Workshop, number: Option<u32>, manual: bool, paint: Paint) -> Result<(), String> {
    let (wake_tx, wake) = channel();
    read_lines(wake_tx.clone());
    let mut exercise = workshop.exercise(number)?.clone();
    loop {
        let dir = workshop.root().join(exercise.starter_dir());
        // Keep the watcher alive for as long as this exercise is watched.
        let _watcher = if manual {
            None
        } else {
            let saved = wake_tx.clone();
            let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event {
                    let changed =
                        matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_));
                    if changed && event.paths.iter().any(|p| matters(p)) {
                        let _ = saved.send(Wake::Saved);
                    }
                }
            })
            .map_err(|error| format!("cannot watch files here ({error}); use `cargo run -- watch --manual`"))?;
            watcher.watch(&dir, RecursiveMode::Recursive).map_err(|error| {
                format!("cannot watch {} ({error}); use `cargo run -- watch --manual`", dir.display())
            })?;
            Some(watcher)
        };
        let how = if manual {
            "press Enter to check again, q and Enter to stop".to_owned()
        } else {
            format!(
                "checking again each time you save a file in {} (q and Enter to stop; if saving does nothing, \
                 as on WSL under /mnt/c, use `cargo run -- watch --manual`)",
                exercise.starter_dir().display()
            )
        };
        loop {
            println!("\n{} {:02} {}", paint.bold("Checking"), exercise.number, exercise.title);
            let check = workshop.check(Some(exercise.number), &mut std::io::stdout())?;
            // Joined to a class: the result goes to its dashboard too, on
            // a thread of its own, while this goes on watching.
            let reporting = crate::class::report_check(workshop.root(), &check);
            workshop.record(&check)?;
            let checked = check.checked;
            if checked == Checked::Passed {
                println!("\n{}", report(&Checked::Passed, &exercise, paint));
                reporting.finish();
                break;
            }
            println!("\n{}", report(&checked, &exercise, paint));
            println!("{}", paint.dim(&format!("Watching: {how}.")));
            if !wait_for_change(&wake, manual) {
                return Ok(());
            }
        }
        let Some(next) = workshop.after(&exercise).cloned() else {
            println!("{}", workshop.next_step(paint));
            return Ok(());
        };
        println!(
            "Next is {:02} {}: read its chapter (book/src/{}), then open {}/{}.\n\
             Press Enter to watch it, or q and Enter to stop.",
            next.number,
            next.title,
            next.chapter,
            next.starter_dir().display(),
            next.start_in
        );
        loop {
            match wake.recv() {
                Ok(Wake::Line(line)) if line == "q" => return Ok(()),
                Ok(Wake::Line(_)) => break,
                Ok(Wake::Saved) => {}
                Ok(Wake::Closed) | Err(_) => return Ok(()),
            }
        }
        exercise = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_source_files_outside_target_matter() {
        assert!(matters(Path::new("exercises/02-settimeout-chain/client.js")));
        assert!(matters(Path::new("exercises/01-poll-endpoint/src/store.rs")));
        assert!(matters(Path::new("exercises/01-poll-endpoint/Cargo.toml")));
        assert!(!matters(Path::new("exercises/01-poll-endpoint/target/debug/build/x.rs")));
        assert!(!matters(Path::new("exercises/01-poll-endpoint/src/store.rs.swp")));
        assert!(!matters(Path::new("exercises/01-poll-endpoint/notes.md")));
    }
}
