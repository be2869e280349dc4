//! The workshop as a learner drives it: which exercise is next, running its
//! spec, hints, starting over, and the solution.
//!
//! The runner never links a learner's code (it may not compile): it runs
//! `cargo test -p <starter>` and `cargo run -p <starter>` as child processes.

use crate::course::{Course, Exercise};
use crate::paint::Paint;
use crate::progress::{Progress, Status};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How a check went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The spec passed.
    Passed,
    /// The spec ran and failed; `first` is the first failing test, if known.
    Failed { first: Option<String> },
    /// The crate does not compile, so the spec could not run.
    DoesNotCompile,
    /// Every test that ran passed, but some could not run: they need `needs`
    /// (`redis-server`), which is not here. That is not a pass.
    Incomplete { passed: usize, skipped: usize, needs: String },
}

/// The environment variable that names a file where a spec's tests write
/// one line, `<test>\t<what it needs>`, when they skip for want of a service
/// (see `spec_support::redis_server`). The runner sets it for each check.
pub const SKIPPED_FILE_ENV: &str = "WORKSHOP_SKIPPED_FILE";

/// A workshop checkout: its course and your progress in it.
pub struct Workshop {
    root: PathBuf,
    course: Course,
    progress: Progress,
    /// Pass cargo's own messages (compiling, progress) on to standard error.
    echo_cargo: bool,
}

/// What one check of an exercise found. [`Workshop::check`] makes it; the
/// progress file ([`Workshop::record`]) and, in a class, the report to the
/// class server each take it from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The exercise checked.
    pub exercise: u32,
    pub checked: Checked,
    pub tally: Tally,
}

impl Check {
    /// Whether the spec passed, every test run.
    pub fn passed(&self) -> bool {
        self.checked == Checked::Passed
    }
}

/// How many tests a check ran, and how many of them passed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub run: usize,
}

impl Workshop {
    /// The workshop whose `course.toml` is in `root`.
    pub fn open(root: &Path) -> Result<Workshop, String> {
        let manifest = root.join("course.toml");
        let text = std::fs::read_to_string(&manifest).map_err(|error| {
            format!("cannot read {} ({error}): run this from the workshop's folder", manifest.display())
        })?;
        Ok(Workshop {
            root: root.to_owned(),
            course: Course::parse(&text)?,
            progress: Progress::load(root)?,
            echo_cargo: true,
        })
    }

    /// Keep cargo's own messages to ourselves (tests use this; a learner
    /// wants to see the first build's progress).
    pub fn quiet(mut self) -> Workshop {
        self.echo_cargo = false;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn course(&self) -> &Course {
        &self.course
    }

    pub fn status(&self, exercise: &Exercise) -> Status {
        self.progress.entry(&exercise.slug).status
    }

    /// The first exercise that is not done, or the last one when all are.
    pub fn current(&self) -> &Exercise {
        let exercises = &self.course.exercises;
        exercises.iter().find(|e| self.status(e) != Status::Done).unwrap_or_else(|| exercises.last().expect("a course"))
    }

    /// What `exercise`'s last check could not run without, if it skipped tests.
    pub fn needs(&self, exercise: &Exercise) -> Option<String> {
        self.progress.entry(&exercise.slug).needs
    }

    pub fn all_done(&self) -> bool {
        self.course.exercises.iter().all(|e| self.status(e) == Status::Done)
    }

    /// Exercise `number`, or the current one; an error says what exists.
    pub fn exercise(&self, number: Option<u32>) -> Result<&Exercise, String> {
        let exercise = match number {
            None => self.current(),
            Some(n) => self.course.exercises.iter().find(|e| e.number == n).ok_or_else(|| {
                let last = self.course.exercises.last().map_or(0, |e| e.number);
                format!(
                    "there is no exercise {n}: the course has exercises 1 to {last} (`cargo run -- list` shows them)"
                )
            })?,
        };
        if !self.root.join(exercise.starter_dir()).join("Cargo.toml").is_file() {
            return Err(format!(
                "exercise {}'s folder, {}, is missing: restore it with `git checkout -- {}`",
                exercise.number,
                exercise.starter_dir().display(),
                exercise.starter_dir().display()
            ));
        }
        Ok(exercise)
    }

    /// The exercise after `exercise`, if any.
    pub fn after(&self, exercise: &Exercise) -> Option<&Exercise> {
        self.course.exercises.iter().find(|e| e.number == exercise.number + 1)
    }

    /// Run exercise `number`'s spec, passing its output on (test output to
    /// `out`, cargo's progress to standard error), and say what it found.
    pub fn check(&self, number: Option<u32>, out: &mut dyn Write) -> Result<Check, String> {
        let exercise = self.exercise(number)?;
        let (checked, tally) = run_spec(&self.root, &exercise.starter, self.echo_cargo, out)?;
        Ok(Check { exercise: exercise.number, checked, tally })
    }

    /// Write what `check` found to the progress file: done when it passed,
    /// tried otherwise, and what an incomplete run needs.
    pub fn record(&mut self, check: &Check) -> Result<(), String> {
        let slug = self.exercise(Some(check.exercise))?.slug.clone();
        let status = if check.passed() { Status::Done } else { Status::Tried };
        let needs = match &check.checked {
            Checked::Incomplete { needs, .. } => Some(needs.clone()),
            _ => None,
        };
        self.progress.update(&slug, |entry| {
            entry.status = status;
            entry.needs = needs;
        })
    }

    /// The next hint for exercise `number`: (which, how many there are, text).
    /// After the last one, it is shown again.
    pub fn next_hint(&mut self, number: Option<u32>) -> Result<(usize, usize, String), String> {
        let exercise = self.exercise(number)?;
        let (slug, hints) = (exercise.slug.clone(), exercise.hints.clone());
        let shown = (self.progress.entry(&slug).hints_shown + 1).min(hints.len());
        self.progress.update(&slug, |entry| entry.hints_shown = shown)?;
        Ok((shown, hints.len(), hints[shown - 1].clone()))
    }

    /// Put exercise `number`'s starter back as it was last committed (with
    /// git), and forget its status. Ask before calling this.
    pub fn reset(&mut self, number: u32) -> Result<(), String> {
        let exercise = self.exercise(Some(number))?;
        let (slug, dir) = (exercise.slug.clone(), exercise.starter_dir());
        let dir = dir.to_string_lossy().into_owned();
        git(&self.root, &["checkout", "HEAD", "--", &dir])?;
        git(&self.root, &["clean", "-fdq", "--", &dir])?;
        self.progress.update(&slug, |entry| entry.status = Status::NotStarted)
    }

    /// How your files differ from the solution's, as unified diffs.
    pub fn solution_diff(&self, number: u32, paint: Paint) -> Result<String, String> {
        let exercise = self.exercise(Some(number))?;
        let (mine, theirs) = (self.root.join(exercise.starter_dir()), self.root.join(exercise.solution_dir()));
        let mut text = String::new();
        for file in source_files(&theirs) {
            let solution = std::fs::read_to_string(theirs.join(&file)).unwrap_or_default();
            let yours = std::fs::read_to_string(mine.join(&file)).unwrap_or_default();
            if yours == solution {
                continue;
            }
            let (a, b) = (exercise.starter_dir().join(&file), exercise.solution_dir().join(&file));
            let diff = similar::TextDiff::from_lines(&yours, &solution);
            let unified =
                diff.unified_diff().context_radius(3).header(&a.to_string_lossy(), &b.to_string_lossy()).to_string();
            for line in unified.lines() {
                let painted = match line.chars().next() {
                    Some('+') if !line.starts_with("+++") => paint.green(line),
                    Some('-') if !line.starts_with("---") => paint.red(line),
                    Some('@') => paint.dim(line),
                    _ => line.to_owned(),
                };
                text.push_str(&painted);
                text.push('\n');
            }
        }
        if text.is_empty() {
            text = format!("Your files in {} are the same as the solution's.\n", exercise.starter_dir().display());
        }
        Ok(text)
    }

    /// The progress table.
    pub fn list(&self, paint: Paint) -> String {
        // The title column is as wide as the longest title, so every row's
        // columns line up whatever the course's titles are.
        let width = self.course.exercises.iter().map(|e| e.title.chars().count()).max().unwrap_or(0).max(28);
        let header = format!("  #   {:<width$} Minutes   Status         Hints seen", "Exercise");
        let mut text = format!("{}\n", paint.bold(&header));
        for exercise in &self.course.exercises {
            let entry = self.progress.entry(&exercise.slug);
            let status = match (entry.status, &entry.needs) {
                (Status::Done, _) => paint.green("done       "),
                (Status::Tried, Some(_)) => paint.yellow("incomplete "),
                (Status::Tried, None) => paint.yellow("in progress"),
                (Status::NotStarted, _) => paint.dim("not started"),
            };
            text.push_str(&format!(
                "  {:02}  {:<width$} {:>7}   {status}    {} of {}\n",
                exercise.number,
                exercise.title,
                exercise.minutes,
                entry.hints_shown,
                exercise.hints.len()
            ));
        }
        let done = self.course.exercises.iter().filter(|e| self.status(e) == Status::Done).count();
        text.push_str(&format!(
            "\n  {done} of {} done; about {} minutes of exercises in all.\n",
            self.course.exercises.len(),
            self.course.total_minutes()
        ));
        for exercise in &self.course.exercises {
            if let Some(needs) = self.progress.entry(&exercise.slug).needs {
                text.push_str(&format!(
                    "  {:02} is incomplete: some of its checks could not run without {needs}. {}\n",
                    exercise.number,
                    install_advice(&needs)
                ));
            }
        }
        text
    }

    /// The one next step, in words.
    pub fn next_step(&self, paint: Paint) -> String {
        if self.all_done() {
            return format!(
                "{} You have finished every exercise. The questions at the end of each chapter go further.\n",
                paint.green("All done!")
            );
        }
        let exercise = self.current();
        format!(
            "{} {:02} {}.\n  Read its chapter (book/src/{}), open {}/{},\n  and run `cargo run -- watch` to check it each time you save (or `{}`).\n",
            paint.bold("Next:"),
            exercise.number,
            exercise.title,
            exercise.chapter,
            exercise.starter_dir().display(),
            exercise.start_in,
            exercise.test_command()
        )
    }
}

/// What to say after a check, in a sentence or two.
pub fn report(checked: &Checked, exercise: &Exercise, paint: Paint) -> String {
    match checked {
        Checked::Passed => format!("{} {:02} {} passes its spec.", paint.green("✓"), exercise.number, exercise.title),
        Checked::Failed { first } => {
            let first = first.as_ref().map(|name| format!(": start with {name}")).unwrap_or_default();
            format!(
                "{} {:02} does not pass yet{first}. Its message above says what is wrong.\n  Stuck? `cargo run -- hint {}` \
                 shows a hint.",
                paint.red("✗"),
                exercise.number,
                exercise.number
            )
        }
        Checked::DoesNotCompile => {
            format!("{} {:02} does not compile yet: the first error above says where.", paint.red("✗"), exercise.number)
        }
        Checked::Incomplete { passed, skipped, needs } => format!(
            "{} {:02} is not done: {passed} of its checks passed, but {skipped} could not run without {needs}.\n  {}",
            paint.yellow("…"),
            exercise.number,
            install_advice(needs)
        ),
    }
}

/// How to get what skipped tests needed.
pub fn install_advice(needs: &str) -> String {
    match needs {
        // With REDIS_URL set, the specs use that server, but the checks that
        // kill and restart Redis cannot: they need a redis-server of their own.
        "redis-server" if std::env::var_os("REDIS_URL").is_some() => {
            "The checks that kill and restart Redis cannot use the server REDIS_URL names: install redis-server \
             (`apt-get install redis-server`, or `brew install redis`), and they start one of their own."
                .to_owned()
        }
        "redis-server" => {
            "Install it (`apt-get install redis-server`, or `brew install redis`; chapter 06 says more), \
                           or set REDIS_URL to a Redis you have, then check again."
                .to_owned()
        }
        other => format!("Install {other}, then check again."),
    }
}

/// Run a package's spec in `root`, streaming its output, in two steps as
/// rustlings does: `cargo test --no-run` builds it, and its exit status alone
/// says whether it compiles; then `cargo test` runs it, and its exit status
/// says whether it passed. Cargo's own messages (compiling, errors) go to
/// standard error, the tests' report to `out`; the two are never mixed.
fn run_spec(root: &Path, package: &str, echo: bool, out: &mut dyn Write) -> Result<(Checked, Tally), String> {
    let built = cargo_test(root, package, &["--no-run"], echo, &mut std::io::sink(), None)?;
    if !built.success() {
        return Ok((Checked::DoesNotCompile, Tally::default()));
    }
    let mut report = Tee { out, kept: Vec::new() };
    // The spec's tests say here what they skipped, and for want of what.
    let skipped_file = std::env::temp_dir().join(format!("workshop-skipped-{}-{package}", std::process::id()));
    let _ = std::fs::remove_file(&skipped_file);
    let ran = cargo_test(root, package, &[], echo, &mut report, Some(&skipped_file))?;
    let skipped = std::fs::read_to_string(&skipped_file).unwrap_or_default();
    let _ = std::fs::remove_file(&skipped_file);
    let tests = String::from_utf8_lossy(&report.kept);
    let skipped_count = skipped.lines().count();
    let passed = passed_count(&tests).saturating_sub(skipped_count);
    let tally = Tally { passed, run: passed + count_of(&tests, "failed") };
    if ran.success() {
        let Some(needs) = skipped.lines().find_map(|line| line.split_once('\t')).map(|(_, needs)| needs.to_owned())
        else {
            return Ok((Checked::Passed, tally));
        };
        return Ok((Checked::Incomplete { passed, skipped: skipped_count, needs }, tally));
    }
    if !tests.contains("test result: FAILED") {
        return Err(format!("`cargo test -p {package}` failed before any test ran; its messages are above"));
    }
    // libtest lists the failed tests, in order, after a line `failures:`.
    let first = tests
        .split("\nfailures:\n")
        .last()
        .and_then(|list| list.lines().map(str::trim).find(|line| !line.is_empty() && !line.starts_with("test result")))
        .map(str::to_owned);
    Ok((Checked::Failed { first }, tally))
}

/// How many tests libtest says `what` ("failed"), over every test binary.
fn count_of(report: &str, what: &str) -> usize {
    report
        .lines()
        .filter_map(|line| line.strip_prefix("test result: "))
        .flat_map(|rest| rest.split("; "))
        .filter_map(|part| part.trim().strip_suffix(what)?.trim().rsplit(' ').next()?.parse::<usize>().ok())
        .sum()
}

/// How many tests libtest says passed, over every test binary that ran.
fn passed_count(report: &str) -> usize {
    report
        .lines()
        .filter_map(|line| line.strip_prefix("test result: "))
        .filter_map(|rest| rest.split("; ").next()?.split_whitespace().rev().nth(1)?.parse::<usize>().ok())
        .sum()
}

/// Writes to `out` and keeps a copy.
struct Tee<'a> {
    out: &'a mut dyn Write,
    kept: Vec<u8>,
}

impl Write for Tee<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.kept.extend_from_slice(bytes);
        self.out.write_all(bytes).map(|()| bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// `cargo test -p <package> <extra>`: its standard output to `out`, line by
/// line as it comes, and cargo's messages to our standard error when `echo`.
fn cargo_test(
    root: &Path,
    package: &str,
    extra: &[&str],
    echo: bool,
    out: &mut dyn Write,
    skipped_file: Option<&Path>,
) -> Result<std::process::ExitStatus, String> {
    use std::io::IsTerminal;
    let terminal = echo && std::io::stderr().is_terminal();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    if let Some(file) = skipped_file {
        command.env(SKIPPED_FILE_ENV, file);
    }
    let mut child = command
        .args(["test", "-p", package])
        .args(extra)
        .current_dir(root)
        .env("RUST_BACKTRACE", "0")
        .env("INSTA_UPDATE", "no")
        // Keep cargo's progress bar on a terminal even though we read its output.
        .env("CARGO_TERM_PROGRESS_WHEN", if terminal { "always" } else { "never" })
        .env("CARGO_TERM_COLOR", if terminal { "always" } else { "never" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if echo { Stdio::inherit() } else { Stdio::null() })
        .spawn()
        .map_err(|error| format!("could not run cargo ({error}); is the Rust toolchain installed?"))?;
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let _ = writeln!(out, "{}", line.unwrap_or_default());
    }
    child.wait().map_err(|error| format!("cargo did not finish: {error}"))
}

fn git(root: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|error| format!("`reset` needs git, which could not be run ({error})"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// The files a learner edits in a crate: its `.rs` and `.js` files, outside
/// `target/` and `tests/` (the spec's shim is not theirs to change).
fn source_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap_or_default();
            if path.is_dir() {
                if name != "target" && name != "tests" {
                    walk(base, &path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs" || e == "js") {
                out.push(path.strip_prefix(base).expect("below base").to_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}
