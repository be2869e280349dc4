//! The course manifest (`course.toml`): which exercises there are, in which
//! order, where their files live, and the hints for each.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The manifest as it was when this binary was built.
pub const MANIFEST: &str = include_str!("../course.toml");

/// The workspace root: where `course.toml`, `exercises/` and `book/` live.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Debug)]
pub struct Course {
    pub exercises: Vec<Exercise>,
}

/// An exercise. Only what cannot be derived is written in the manifest:
/// the slug (`01-poll-endpoint`) gives the number, the chapter's file and the
/// two package names, by the conventions at the top of `course.toml`.
#[derive(Debug, Clone)]
pub struct Exercise {
    /// 1 for `01-poll-endpoint`: the slug's number.
    pub number: u32,
    /// `01-poll-endpoint`: names the folders in exercises/, solutions/ and tests/.
    pub slug: String,
    pub title: String,
    /// The chapter's file name in `book/src/`: `<slug>.md`.
    pub chapter: String,
    /// The starter's package name, `ex01-poll-endpoint`: `cargo test -p <starter>`.
    pub starter: String,
    /// The solution's package name, `ex01-poll-endpoint-solution`.
    pub solution: String,
    /// How long the exercise takes in class, reading included.
    pub minutes: u32,
    /// The file a learner opens first, relative to the starter's folder.
    pub start_in: String,
    /// From a nudge to nearly the answer.
    pub hints: Vec<String>,
    /// What the shared spec calls the crate under test. By default the slug
    /// without its number (`poll_endpoint`); set it when that name is taken
    /// by a crate the spec uses (`06-redis` cannot be `redis`).
    pub spec_alias: Option<String>,
    /// The page's scripts: (the path the page loads it from, the file,
    /// relative to the workspace root), for the join proxy.
    pub page: Vec<(String, String)>,
}

/// `course.toml` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(rename = "exercise")]
    exercises: Vec<Entry>,
}

/// One `[[exercise]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    slug: String,
    title: String,
    minutes: u32,
    start_in: String,
    hints: Vec<String>,
    #[serde(default)]
    spec_alias: Option<String>,
    #[serde(default)]
    page: std::collections::BTreeMap<String, String>,
}

impl Course {
    /// Parse a manifest; the error says which entry or field is wrong.
    pub fn parse(text: &str) -> Result<Course, String> {
        let manifest: Manifest = toml::from_str(text).map_err(|error| format!("course.toml: {error}"))?;
        let exercises = manifest
            .exercises
            .into_iter()
            .enumerate()
            .map(|(index, entry)| Exercise::from_entry(index as u32 + 1, entry))
            .collect::<Result<_, _>>()?;
        Ok(Course { exercises })
    }

    /// The manifest compiled into this binary.
    pub fn embedded() -> Course {
        Course::parse(MANIFEST).expect("course.toml is checked by the course checks")
    }

    pub fn total_minutes(&self) -> u32 {
        self.exercises.iter().map(|e| e.minutes).sum()
    }
}

impl Exercise {
    /// The `number`th entry: its slug must start with that number, `01-`,
    /// so that folders sort in course order.
    fn from_entry(number: u32, entry: Entry) -> Result<Exercise, String> {
        let name =
            entry.slug.strip_prefix(&format!("{number:02}-")).filter(|name| !name.is_empty()).ok_or_else(|| {
                format!(
                    "course.toml, exercise {number}: its slug {:?} should be `{number:02}-` and a name: exercises are \
                 numbered 1, 2, 3... in file order, and the slug starts with the number",
                    entry.slug
                )
            })?;
        let starter = format!("ex{number:02}-{name}");
        Ok(Exercise {
            number,
            chapter: format!("{}.md", entry.slug),
            solution: format!("{starter}-solution"),
            starter,
            slug: entry.slug,
            title: entry.title,
            minutes: entry.minutes,
            start_in: entry.start_in,
            hints: entry.hints,
            spec_alias: entry.spec_alias,
            page: entry.page.into_iter().collect(),
        })
    }

    /// `exercises/<slug>`, relative to the workspace root.
    pub fn starter_dir(&self) -> PathBuf {
        Path::new("exercises").join(&self.slug)
    }

    /// `solutions/<slug>`, relative to the workspace root.
    pub fn solution_dir(&self) -> PathBuf {
        Path::new("solutions").join(&self.slug)
    }

    /// The page's scripts under `root`: the learner's own files, or with
    /// `finished`, the solutions' (what the finished exercise serves).
    pub fn page_files(&self, root: &Path, finished: bool) -> Vec<(String, PathBuf)> {
        self.page
            .iter()
            .map(|(path, file)| {
                let file = match file.strip_prefix("exercises/") {
                    Some(rest) if finished => format!("solutions/{rest}"),
                    _ => file.clone(),
                };
                (path.clone(), root.join(file))
            })
            .collect()
    }

    /// `tests/<slug>`: the shared spec (`spec.rs`) and its `snapshots/`.
    pub fn spec_dir(&self) -> PathBuf {
        Path::new("tests").join(&self.slug)
    }

    /// `book/src/<chapter>`.
    pub fn chapter_path(&self) -> PathBuf {
        Path::new("book").join("src").join(&self.chapter)
    }

    /// Whether the starter is as the course ships it (git shows no change
    /// in its folder). The checks that are about the course's own starters
    /// (it fails its spec, it mirrors the solution, the "before" figures)
    /// stand aside for a learner's edited copy; CI checks a clean clone.
    /// Without git we cannot tell, and say yes.
    pub fn starter_is_pristine(&self) -> bool {
        let status = std::process::Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=all", "--"])
            .arg(self.starter_dir())
            .current_dir(root())
            .output();
        !matches!(status, Ok(output) if output.status.success() && !output.stdout.is_empty())
    }

    /// What the shared spec calls the crate under test: `extern crate <package> as <alias>;`.
    pub fn spec_alias(&self) -> String {
        self.spec_alias
            .clone()
            .unwrap_or_else(|| self.slug.split_once('-').map_or(self.slug.clone(), |(_, rest)| rest.replace('-', "_")))
    }

    /// The command a learner runs to check their work.
    pub fn test_command(&self) -> String {
        format!("cargo test -p {}", self.starter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_minimal_manifest() {
        let course = Course::parse(
            r#"
            [[exercise]]
            slug = "01-x"
            title = "X"
            minutes = 10
            start_in = "src/lib.rs"
            hints = ["a", "b"]
            "#,
        )
        .unwrap();
        let exercise = &course.exercises[0];
        assert_eq!(exercise.starter_dir(), Path::new("exercises/01-x"));
        assert_eq!(exercise.spec_dir(), Path::new("tests/01-x"));
        assert_eq!(exercise.test_command(), "cargo test -p ex01-x");
        assert_eq!((exercise.number, exercise.chapter.as_str()), (1, "01-x.md"));
        assert_eq!((exercise.starter.as_str(), exercise.solution.as_str()), ("ex01-x", "ex01-x-solution"));
        assert_eq!(course.total_minutes(), 10);
    }

    #[test]
    fn a_slug_out_of_order_is_an_error_that_says_what_it_should_be() {
        let entry = |slug: &str| {
            format!("[[exercise]]\nslug = {slug:?}\ntitle = \"X\"\nminutes = 1\nstart_in = \"a\"\nhints = []\n")
        };
        let error = Course::parse(&(entry("01-a") + &entry("03-b"))).unwrap_err();
        assert!(error.contains("exercise 2") && error.contains("`02-`"), "{error}");
        assert!(Course::parse(&entry("01-")).unwrap_err().contains("`01-` and a name"));
    }

    #[test]
    fn a_misspelt_field_is_an_error_that_names_it() {
        let error = Course::parse("[[exercise]]\nnumbr = 1\n").unwrap_err();
        assert!(error.contains("numbr"), "{error}");
    }
}
