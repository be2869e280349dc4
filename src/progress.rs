//! Your progress, in a plain-text file at the workshop's root
//! (`.workshop-progress.toml`, which git ignores). It is keyed by each
//! exercise's slug, not its number or folder, so renumbering the course never
//! mixes it up. Delete the file to start over.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file's name, at the workshop's root.
pub const FILE: &str = ".workshop-progress.toml";

/// How far you are with one exercise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    #[default]
    NotStarted,
    /// Checked, and its spec did not pass (yet).
    Tried,
    /// Its spec passed.
    Done,
}

/// One exercise's entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Entry {
    pub status: Status,
    /// How many of its hints you have seen.
    pub hints_shown: usize,
    /// What its last check could not run without, when it skipped tests
    /// (`redis-server`): then it is not done, however many tests passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<String>,
}

/// Everyone's entries, by slug.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
}

impl Progress {
    /// Read the file at `root`; a missing file is an empty progress.
    pub fn load(root: &Path) -> Result<Progress, String> {
        let path = root.join(FILE);
        let entries = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|error| {
                format!("{} is not readable ({error}); fix it, or delete it to start over", path.display())
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
        };
        Ok(Progress { path, entries })
    }

    pub fn entry(&self, slug: &str) -> Entry {
        self.entries.get(slug).cloned().unwrap_or_default()
    }

    /// Change `slug`'s entry and write the file.
    pub fn update(&mut self, slug: &str, change: impl FnOnce(&mut Entry)) -> Result<(), String> {
        change(self.entries.entry(slug.to_owned()).or_default());
        let text = format!(
            "# Your progress in the workshop, kept by `cargo run`. Delete this file to start over.\n\n{}",
            toml::to_string(&self.entries).expect("progress is plain data")
        );
        std::fs::write(&self.path, text).map_err(|error| format!("cannot write {}: {error}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_an_empty_progress_and_updates_round_trip() {
        let dir = std::env::temp_dir().join(format!("workshop-progress-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join(FILE));
        let mut progress = Progress::load(&dir).unwrap();
        assert_eq!(progress.entry("01-poll-endpoint"), Entry::default());
        progress.update("01-poll-endpoint", |e| e.status = Status::Done).unwrap();
        progress.update("02-settimeout-chain", |e| e.hints_shown += 1).unwrap();
        let again = Progress::load(&dir).unwrap();
        assert_eq!(again.entry("01-poll-endpoint").status, Status::Done);
        assert_eq!(
            again.entry("02-settimeout-chain"),
            Entry { status: Status::NotStarted, hints_shown: 1, needs: None }
        );
        let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
        assert!(text.starts_with("# Your progress"), "{text}");
        assert!(text.contains("[01-poll-endpoint]\nstatus = \"done\""), "{text}");
        std::fs::write(dir.join(FILE), "not = [toml").unwrap();
        assert!(Progress::load(&dir).unwrap_err().contains("delete it to start over"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
