//! The course checks: `cargo test` at the root runs them on every change.
//!
//! They hold the course to its own rules. Every exercise in `course.toml` has
//! a starter, a solution, a chapter and hints; the starter and the solution
//! differ only in source files and share one spec; a starter's TODOs state
//! contracts, never code or steps (those are the hints); the book lists every
//! chapter and its includes point at real code; and, the slow one, every
//! solution passes its spec while every starter fails it.

use polling_workshop::course::{Course, Exercise, root};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn course() -> Course {
    Course::parse(&read("course.toml")).unwrap_or_else(|error| panic!("{error}"))
}

fn read(relative: impl AsRef<Path>) -> String {
    let path = root().join(relative.as_ref());
    fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Every file below `dir`, relative to it, skipping build output.
fn files_below(dir: &Path) -> BTreeSet<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        for entry in fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|name| name == "target") {
                continue;
            }
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.insert(path.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// `exercise.starter_is_pristine()`, saying so when it is not.
fn starter_is_pristine(exercise: &Exercise) -> bool {
    let pristine = exercise.starter_is_pristine();
    if !pristine {
        println!(
            "{} has your changes, so the checks on the course's own starter skip it (they run on a clean clone in CI)",
            exercise.starter_dir().display()
        );
    }
    pristine
}

/// The package name a crate's Cargo.toml declares.
fn package_name(manifest: &str) -> Option<String> {
    let value: toml::Table = toml::from_str(manifest).ok()?;
    Some(value.get("package")?.get("name")?.as_str()?.to_owned())
}

/// What a crate's `tests/spec.rs` must say: alias the crate's own library to
/// the name the shared spec uses, and include the shared spec; the
/// solution's also includes the known wrong solutions, which run beside the
/// spec, once, in the root `cargo test` (a learner's run of the starter has
/// only the spec).
fn spec_shim(exercise: &Exercise, package: &str) -> String {
    let lib_name = exercise.spec_alias();
    let (slug, crate_name) = (&exercise.slug, package.replace('-', "_"));
    if package == exercise.solution {
        format!(
            "//! Runs exercise {:02}'s spec against this crate, and its known wrong\n\
             //! solutions against the spec. Both live at the workspace root, shared\n\
             //! with the starter, which runs the spec alone: tests/{slug}/.\n\
             extern crate {crate_name} as {lib_name};\n\
             \n\
             #[path = \"../../../tests/{slug}/spec.rs\"]\n\
             mod spec;\n\
             #[path = \"../../../tests/{slug}/wrong_solutions.rs\"]\n\
             mod wrong_solutions;\n",
            exercise.number,
        )
    } else {
        format!(
            "//! Runs exercise {:02}'s spec against this crate. The spec itself is shared with\n\
             //! the solution and lives at the workspace root: tests/{slug}/spec.rs.\n\
             extern crate {crate_name} as {lib_name};\n\
             \n\
             #[path = \"../../../tests/{slug}/spec.rs\"]\n\
             mod spec;\n",
            exercise.number,
        )
    }
}

#[test]
fn manifest_entries_are_complete_and_in_order() {
    let course = course();
    assert!(!course.exercises.is_empty(), "course.toml lists no exercises");
    for (index, exercise) in course.exercises.iter().enumerate() {
        // Number, chapter and package names follow from the slug (see `Course::parse`).
        let at = format!("course.toml, exercise {} ({})", index + 1, exercise.slug);
        assert!(!exercise.title.trim().is_empty(), "{at}: the title is empty");
        assert!(
            exercise.minutes > 0,
            "{at}: give the minutes the exercise takes in class"
        );

        assert!(
            exercise.hints.len() >= 2,
            "{at}: give at least two hints, from a nudge to nearly the answer"
        );
        let distinct: BTreeSet<&str> =
            exercise.hints.iter().map(|h| h.trim()).collect();
        assert!(
            exercise.hints.iter().all(|h| h.trim().len() >= 20)
                && distinct.len() == exercise.hints.len(),
            "{at}: every hint says something (20 characters at least) and no two are the same"
        );

        for (dir, package) in [
            (exercise.starter_dir(), &exercise.starter),
            (exercise.solution_dir(), &exercise.solution),
        ] {
            let manifest = read(dir.join("Cargo.toml"));
            assert_eq!(
                package_name(&manifest).as_deref(),
                Some(package.as_str()),
                "{at}: {}/Cargo.toml should declare the package `{package}`",
                dir.display()
            );
            assert!(
                root().join(&dir).join(&exercise.start_in).is_file(),
                "{at}: start_in {} is not in {}",
                exercise.start_in,
                dir.display()
            );
        }
    }
}

#[test]
fn starter_and_solution_differ_only_in_source_files() {
    for exercise in course().exercises.iter().filter(|e| starter_is_pristine(e)) {
        let starter = root().join(exercise.starter_dir());
        let solution = root().join(exercise.solution_dir());
        let (starter_files, solution_files) =
            (files_below(&starter), files_below(&solution));
        assert_eq!(
            starter_files,
            solution_files,
            "{} and {} should hold the same files; only the contents of source files may differ",
            exercise.starter_dir().display(),
            exercise.solution_dir().display()
        );
        for file in &starter_files {
            let (a, b) = (
                fs::read(starter.join(file)).unwrap(),
                fs::read(solution.join(file)).unwrap(),
            );
            let is_source = matches!(
                file.extension().and_then(|e| e.to_str()),
                Some("rs" | "js")
            );
            // The spec shim differs on purpose: the solution's also runs the
            // wrong solutions (`starter_and_solution_run_the_one_shared_spec`).
            if file == Path::new("tests/spec.rs") {
                continue;
            }
            if is_source {
                // A source file the learner has nothing to do in (no TODO
                // and no `todo!`) is given code: the same as the solution's,
                // but for the crate's own name (and the line breaks rustfmt
                // chooses for a name of another length).
                let starter_text = String::from_utf8_lossy(&a);
                if !starter_text.contains("TODO") && !starter_text.contains("todo!")
                {
                    let crate_name = |package: &str| package.replace('-', "_");
                    let as_starter = String::from_utf8_lossy(&b)
                        .replace(&exercise.solution, &exercise.starter)
                        .replace(
                            &crate_name(&exercise.solution),
                            &crate_name(&exercise.starter),
                        );
                    let layout_free = |text: &str| {
                        let text: String =
                            text.chars().filter(|c| !c.is_whitespace()).collect();
                        text.replace(",)", ")").replace(",]", "]").replace(",}", "}")
                    };
                    assert!(
                        layout_free(&starter_text) == layout_free(&as_starter),
                        "{}: {} has no TODO in the starter, so it is given code and should be the same as the \
                         solution's (but for the crate's name); copy the solution's over it",
                        exercise.slug,
                        file.display()
                    );
                }
                continue;
            }
            if file == Path::new("Cargo.toml") {
                // Only the package name may differ.
                let same = String::from_utf8_lossy(&a)
                    .replace(&format!("\"{}\"", exercise.starter), "\"NAME\"")
                    == String::from_utf8_lossy(&b)
                        .replace(&format!("\"{}\"", exercise.solution), "\"NAME\"");
                assert!(
                    same,
                    "{}: the starter's and the solution's Cargo.toml may differ only in the package name",
                    exercise.slug
                );
            } else {
                assert!(
                    a == b,
                    "{}: {} differs between starter and solution, but only source files may",
                    exercise.slug,
                    file.display()
                );
            }
        }
    }
}

#[test]
fn starter_and_solution_run_the_one_shared_spec() {
    for exercise in course().exercises {
        for (dir, package) in [
            (exercise.starter_dir(), &exercise.starter),
            (exercise.solution_dir(), &exercise.solution),
        ] {
            assert_eq!(
                read(dir.join("tests/spec.rs")),
                spec_shim(&exercise, package),
                "{}/tests/spec.rs should only include the shared spec, tests/{}/spec.rs (and, in the \
                 solution, the wrong solutions beside it)",
                dir.display(),
                exercise.slug
            );
        }
        // A spec without snapshots has no folder for them (git keeps no empty folders).
        let snapshots = root().join(exercise.spec_dir()).join("snapshots");
        let committed: Vec<_> = if snapshots.is_dir() {
            files_below(&snapshots).into_iter().collect()
        } else {
            Vec::new()
        };
        assert!(
            committed.iter().all(|f| f.extension().is_some_and(|e| e == "snap")),
            "tests/{}/snapshots holds files that are not accepted snapshots: {committed:?}",
            exercise.slug
        );
    }
}

#[test]
fn the_root_cargo_test_runs_solutions_and_never_starters() {
    let workspace: toml::Table = toml::from_str(&read("Cargo.toml")).unwrap();
    let default_members: Vec<&str> = workspace["workspace"]["default-members"]
        .as_array()
        .expect("[workspace] default-members is set")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        default_members.contains(&"solutions/*"),
        "default-members should include solutions/*"
    );
    assert!(
        default_members.iter().all(|m| !m.starts_with("exercises")),
        "default-members must not include a starter: the README's `cargo test` would fail on unfinished exercises"
    );
}

#[test]
fn the_book_lists_every_chapter() {
    let summary = read("book/src/SUMMARY.md");
    let linked: BTreeSet<String> = summary
        .split("](")
        .skip(1)
        .filter_map(|rest| {
            rest.split_once(')')
                .map(|(target, _)| target.trim_start_matches("./").to_owned())
        })
        .collect();
    for exercise in course().exercises {
        assert!(
            linked.contains(&exercise.chapter),
            "book/src/SUMMARY.md does not list {}",
            exercise.chapter
        );
    }
    for target in &linked {
        assert!(
            root().join("book/src").join(target).is_file(),
            "book/src/SUMMARY.md links to {target}, which does not exist"
        );
    }
    for file in files_below(&root().join("book/src")) {
        let name = file.to_string_lossy().into_owned();
        // figures/*.md are generated tables that chapters include.
        if name.ends_with(".md")
            && name != "SUMMARY.md"
            && !name.starts_with("figures/")
        {
            assert!(
                linked.contains(&name),
                "book/src/{name} is not in SUMMARY.md, so the book never shows it"
            );
        }
    }
}

/// `{{#include path:anchor}}` must name a file that exists and, with an
/// anchor, a file that marks it with `ANCHOR: name` and `ANCHOR_END: name`.
#[test]
fn book_includes_point_at_real_files_and_anchors() {
    let mut count = 0;
    for file in files_below(&root().join("book/src")) {
        if file.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let chapter = root().join("book/src").join(&file);
        let text = fs::read_to_string(&chapter).unwrap();
        for include in text.split("{{#include ").skip(1) {
            let spec = include.split("}}").next().unwrap().trim();
            let (path, anchor) = match spec.split_once(':') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (spec, None),
            };
            let target = chapter.parent().unwrap().join(path);
            let source = fs::read_to_string(&target).unwrap_or_else(|_| {
                panic!(
                    "book/src/{} includes {path}, which does not exist",
                    file.display()
                )
            });
            // `path:name` names an anchor; `path:4:8` (digits) is a line range.
            if let Some(anchor) =
                anchor.filter(|a| !a.starts_with(|c: char| c.is_ascii_digit()))
            {
                assert!(
                    source.contains(&format!("ANCHOR: {anchor}\n"))
                        && source.contains(&format!("ANCHOR_END: {anchor}\n")),
                    "book/src/{} includes {path}:{anchor}, but {path} has no ANCHOR: {anchor} ... ANCHOR_END: {anchor}",
                    file.display()
                );
            }
            assert!(
                !path.contains("exercises/"),
                "book/src/{} includes {path}: listings come from solutions/, which are tested",
                file.display()
            );
            count += 1;
        }
    }
    assert!(
        count > 0,
        "the book includes no code at all; listings must be included from solutions/"
    );
}

/// The widest line a listing in the book may have: wider ones scroll
/// sideways on the page. `solutions/rustfmt.toml` formats Rust to it.
const LISTING_WIDTH: usize = 85;

/// The lines `{{#include path[:anchor | :from:to]}}` shows.
fn included_lines(source: &str, selector: Option<&str>) -> Vec<String> {
    let lines: Vec<&str> = source.lines().collect();
    let shown: Vec<&str> = match selector {
        None => lines,
        Some(range) if range.starts_with(|c: char| c.is_ascii_digit()) => {
            let (from, to) = range.split_once(':').unwrap_or((range, ""));
            let from = from.parse::<usize>().unwrap_or(1).max(1);
            let to = to.parse::<usize>().unwrap_or(lines.len()).min(lines.len());
            lines.get(from - 1..to).unwrap_or_default().to_vec()
        }
        Some(anchor) => {
            let start =
                lines.iter().position(|l| l.contains(&format!("ANCHOR: {anchor}")));
            let end = lines
                .iter()
                .position(|l| l.contains(&format!("ANCHOR_END: {anchor}")));
            match (start, end) {
                (Some(start), Some(end)) if start < end => {
                    lines[start + 1..end].to_vec()
                }
                _ => Vec::new(),
            }
        }
    };
    shown
        .into_iter()
        .filter(|line| !line.contains("ANCHOR"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn listings_fit_the_page() {
    let mut too_wide = Vec::new();
    for file in files_below(&root().join("book/src")) {
        if file.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let chapter = root().join("book/src").join(&file);
        for include in
            fs::read_to_string(&chapter).unwrap().split("{{#include ").skip(1)
        {
            let spec = include.split("}}").next().unwrap().trim();
            let (path, selector) =
                spec.split_once(':').map_or((spec, None), |(p, s)| (p, Some(s)));
            if path.starts_with("figures/") {
                continue; // generated tables, not listings
            }
            let source = fs::read_to_string(chapter.parent().unwrap().join(path))
                .unwrap_or_default();
            for line in included_lines(&source, selector) {
                if line.chars().count() > LISTING_WIDTH {
                    too_wide.push(format!(
                        "{path}: {} columns: {}",
                        line.chars().count(),
                        line.trim()
                    ));
                }
            }
        }
    }
    too_wide.sort();
    too_wide.dedup();
    assert!(
        too_wide.is_empty(),
        "these lines of the book's listings are wider than {LISTING_WIDTH} columns, so they scroll on the page; \
         wrap them (`cargo fmt` does it for Rust in solutions/ and exercises/):\n{}",
        too_wide.join("\n")
    );
}

/// What `cargo tree <args>` resolves: each package (name and version) with
/// the feature sets it is built with (a package built for the host, for a
/// proc-macro, may have a second one).
fn resolved_features(
    args: &[&str],
) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .arg("tree")
        .args(args)
        .args(["--prefix", "none", "--format", "{p}|{f}", "--color", "never"])
        .current_dir(root())
        .output()
        .unwrap_or_else(|error| panic!("could not run cargo tree: {error}"));
    assert!(
        output.status.success(),
        "cargo tree {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut packages = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some((package, features)) = line.split_once('|') else { continue };
        // `name v1.2.3 (/path)` for path crates: the name and version are enough.
        let package =
            package.split(" (").next().unwrap_or(package).trim().to_owned();
        let features =
            features.split(" (").next().unwrap_or(features).trim().to_owned();
        packages.entry(package).or_default().insert(features);
    }
    packages
}

/// The README's `cargo run` and `cargo test`, and each learner's `cargo test
/// -p <exercise>`, build every shared dependency with the same features, so
/// one compiled copy serves them all (workspace-hack; see .config/hakari.toml).
/// A crate built with two feature sets is compiled twice, with everything
/// that depends on it: that is how target/ grew to 6.5 GB.
#[test]
fn every_command_a_learner_runs_reuses_one_build() {
    let mut commands: Vec<(String, Vec<String>)> = vec![
        ("cargo test".to_owned(), vec!["-e".into(), "normal,build,dev".into()]),
        (
            "cargo run".to_owned(),
            vec![
                "-p".into(),
                "polling-workshop".into(),
                "-e".into(),
                "normal,build".into(),
            ],
        ),
    ];
    for exercise in course().exercises {
        for package in [&exercise.starter, &exercise.solution] {
            commands.push((
                format!("cargo test -p {package}"),
                vec!["-p".into(), package.clone()],
            ));
        }
    }
    let mut first_seen =
        std::collections::BTreeMap::<String, (String, BTreeSet<String>)>::new();
    let mut differing = Vec::new();
    for (command, args) in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        for (package, features) in resolved_features(&args) {
            match first_seen.get(&package) {
                None => {
                    first_seen.insert(package, (command.clone(), features));
                }
                Some((other, seen)) if *seen != features => differing.push(format!(
                    "{package}: {features:?} in `{command}`, {seen:?} in `{other}`"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        differing.is_empty(),
        "these dependencies are built with other features by different commands, so each command compiles them \
         (and all that depends on them) again. Run `cargo install cargo-hakari --locked && cargo hakari generate` \
         to update workspace-hack, or give a workspace crate one set of features:\n{}",
        differing.join("\n")
    );
}

/// The first build's cost is measured once (`benchmarks --bin first-build`
/// writes `book/src/figures/first-build.md`, which the book includes) and the
/// README quotes that table as it is, so the two never disagree.
#[test]
fn the_readme_quotes_the_measured_first_build() {
    let figure = read("book/src/figures/first-build.md");
    let rows: Vec<&str> =
        figure.lines().filter(|line| line.starts_with('|')).collect();
    assert!(
        rows.len() >= 4,
        "book/src/figures/first-build.md has no table of the first build"
    );
    let readme = read("README.md");
    for row in rows {
        assert!(
            readme.contains(row),
            "README.md should quote book/src/figures/first-build.md's table as it is; it lacks:\n{row}"
        );
    }
}

/// A failing snapshot must never be written or accepted behind a learner's
/// back. This runs a deliberately failing snapshot assertion (the ignored
/// test below) in a child process, with CI and INSTA_UPDATE unset as on a
/// learner's machine, and checks that nothing was written.
#[test]
fn a_failing_snapshot_is_never_written() {
    let snapshots = root().join("tests/snapshots");
    let before = files_below(&snapshots);
    let committed = read("tests/snapshots/course__insta_guard.snap");
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "insta_guard_probe", "--test-threads=1"])
        .env_remove("CI")
        .env_remove("INSTA_UPDATE")
        .env_remove("INSTA_FORCE_PASS")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && log.contains("1 failed"),
        "the probe's snapshot should mismatch:\n{log}"
    );
    assert_eq!(
        files_below(&snapshots),
        before,
        "a failing snapshot assertion wrote a file; .config/insta.yaml should say update: \"no\""
    );
    assert_eq!(
        read("tests/snapshots/course__insta_guard.snap"),
        committed,
        "a failing snapshot assertion changed the committed snapshot"
    );
}

#[test]
#[ignore = "run by a_failing_snapshot_is_never_written, in a child process"]
fn insta_guard_probe() {
    insta::assert_snapshot!(
        "insta_guard",
        "this value differs from the committed snapshot"
    );
}

/// The slow check: build and run each exercise's spec against the starter
/// (it must compile, run, and fail: a starter that passes teaches nothing).
/// The solution's spec is not run again here: it runs once, as the
/// solution's own test target, in this same `cargo test`
/// (`the_root_cargo_test_runs_solutions_and_never_starters`).
#[test]
fn every_starter_fails_its_spec() {
    for exercise in course().exercises {
        if !starter_is_pristine(&exercise) {
            continue;
        }
        let starter = run_spec(&exercise.starter);
        assert!(
            !starter.passed,
            "the starter {} passes its spec: a starter must leave work to do",
            exercise.starter
        );
        assert!(
            !starter.log.contains("error[E")
                && starter.log.contains("test result: FAILED."),
            "the starter {} should compile and then fail its spec, but it did not run to a test result:\n{}",
            exercise.starter,
            starter.log
        );
        assert!(
            starter.log.contains("Look at") || starter.log.contains("todo!()"),
            "the starter {}'s failures should say where to look:\n{}",
            exercise.starter,
            starter.log
        );
        // The runner sends a learner to `start_in` first: it must be where
        // the first failing test (the lowest-numbered) points.
        let first = first_failure(&starter.log);
        assert!(
            first.as_deref().is_some_and(|block| block.contains(&exercise.start_in)),
            "course.toml: {}'s start_in is {}, but the starter's first failing test points elsewhere:\n{}",
            exercise.slug,
            exercise.start_in,
            first.unwrap_or_default()
        );
        let leftovers: Vec<_> = files_below(&root().join(exercise.spec_dir()))
            .into_iter()
            .filter(|f| {
                !f.to_string_lossy().ends_with(".snap")
                    && !f.to_string_lossy().ends_with(".rs")
            })
            .collect();
        assert!(
            leftovers.is_empty(),
            "running the starter left files in tests/{}: {leftovers:?}",
            exercise.slug
        );
    }
}

/// The output of the lowest-numbered failing test (`---- spec::s01_...`) in
/// a libtest log, up to the next test's block.
fn first_failure(log: &str) -> Option<String> {
    let mut blocks: Vec<(String, String)> = log
        .split("\n---- ")
        .skip(1)
        .filter_map(|block| {
            let (name, rest) = block.split_once(" stdout ----")?;
            let name = name.trim_start_matches("spec::").to_owned();
            let body = rest.split("\n\nfailures:").next().unwrap_or(rest).to_owned();
            Some((name, body))
        })
        .collect();
    blocks.sort();
    blocks.into_iter().next().map(|(name, body)| format!("{name}:{body}"))
}

struct SpecRun {
    passed: bool,
    log: String,
}

fn run_spec(package: &str) -> SpecRun {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "test", "--quiet", "--color", "never", "-p", package, "--test", "spec",
        ])
        .current_dir(root())
        .env("RUST_BACKTRACE", "0")
        .env("INSTA_UPDATE", "no")
        .output()
        .unwrap_or_else(|error| panic!("could not run cargo: {error}"));
    SpecRun {
        passed: output.status.success(),
        log: String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    }
}

// ---------------------------------------------------------------------------
// A TODO states the contract; the hints give the steps
// ---------------------------------------------------------------------------

/// What every TODO that holds code is told.
const CONTRACT_NOT_CODE: &str =
    "a TODO states the contract; move the steps to the hints in course.toml";

/// One TODO of a starter: the line it starts on, and its text, one line per
/// source line, without comment markers. For a `todo!(...)` or a JavaScript
/// `new Error("TODO ...")`, the text is the string's.
#[derive(Debug)]
struct TodoText {
    line: usize,
    text: String,
}

/// A line that is a comment: its marker (`//`, with `///` and `//!`, or
/// Lua's `--`, in the scripts a Rust file holds) and its text.
fn line_comment(line: &str) -> Option<(&'static str, &str)> {
    let trimmed = line.trim_start();
    ["//", "--"].into_iter().find_map(|marker| {
        let rest = trimmed.strip_prefix(marker)?;
        Some((marker, rest.trim_start_matches(['/', '!']).trim()))
    })
}

/// The text of the string literals in the parentheses of a call whose
/// arguments start at `lines[at][from..]`, up to its closing parenthesis.
fn call_strings(lines: &[&str], at: usize, from: usize) -> String {
    let mut text = String::new();
    let (mut depth, mut quote, mut escaped) = (1, None, false);
    for (n, line) in lines.iter().enumerate().skip(at) {
        let line = if n == at { &line[from..] } else { line };
        for c in line.chars() {
            match quote {
                Some(_) if escaped => {
                    text.push(c);
                    escaped = false;
                }
                Some(_) if c == '\\' => escaped = true,
                Some(q) if c == q => quote = None,
                Some(_) => text.push(c),
                None if c == '"' || c == '\'' || c == '`' => quote = Some(c),
                None if c == '(' => depth += 1,
                None if c == ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return text;
                    }
                }
                None => {}
            }
        }
        if quote.is_some() {
            text.push('\n');
        }
    }
    text
}

/// Every TODO of a source file: a comment that starts with `TODO` and the
/// comment lines that continue it (up to code, another TODO or an anchor),
/// the string of each `todo!(...)`, and JavaScript's `new Error("TODO ...")`.
fn todo_texts(source: &str) -> Vec<TodoText> {
    let lines: Vec<&str> = source.lines().collect();
    let mut found = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let line = lines[at];
        let comment = line_comment(line);
        let start = match comment {
            Some((marker, text)) if text.starts_with("TODO") => Some((marker, text)),
            Some(_) => None,
            // A TODO after code on the same line.
            None => line.find("// TODO").map(|i| ("//", line[i + 2..].trim())),
        };
        if let Some((marker, first)) = start {
            let mut text = vec![first.to_owned()];
            let mut next = at + 1;
            while let Some((m, more)) = lines.get(next).and_then(|l| line_comment(l))
            {
                if m != marker || more.starts_with("TODO") || more.contains("ANCHOR")
                {
                    break;
                }
                text.push(more.to_owned());
                next += 1;
            }
            found.push(TodoText { line: at + 1, text: text.join("\n") });
            at = next;
            continue;
        }
        if comment.is_none() {
            for opener in ["todo!(", "new Error("] {
                for (i, _) in line.match_indices(opener) {
                    let text = call_strings(&lines, at, i + opener.len());
                    if opener == "todo!(" || text.starts_with("TODO") {
                        found.push(TodoText { line: at + 1, text });
                    }
                }
            }
        }
        at += 1;
    }
    found
}

/// The byte ranges of the backticked spans of `text` (what is between the
/// backticks), as Markdown reads them: a run of n backticks closes at the
/// next run of n.
fn backtick_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let run = |at: usize| bytes[at..].iter().take_while(|&&b| b == b'`').count();
    let mut spans = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'`' {
            at += 1;
            continue;
        }
        let n = run(at);
        let mut close = at + n;
        let found = loop {
            match bytes[close..].iter().position(|&b| b == b'`') {
                None => break None,
                Some(p) if run(close + p) == n => break Some(close + p),
                Some(p) => close += p + run(close + p),
            }
        };
        match found {
            Some(end) => {
                spans.push(at + n..end);
                at = end + n;
            }
            None => at += n,
        }
    }
    spans
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Why a backticked span is code, if it is: an expression, a call with
/// arguments, a method chain, an assignment or a statement. Names and paths
/// (`redis::pipe`, `tokio::select!`, `performance.now()`, `Option<u64>`),
/// headers, URLs and JSON shapes are not.
fn span_code(span: &str) -> Option<&'static str> {
    let s = span.trim();
    let statements = [
        "let ", "const ", "var ", "return ", "await ", "if ", "match ", "while ",
        "for ",
    ];
    if statements.iter().any(|k| s.starts_with(k)) {
        return Some("a statement");
    }
    let operators =
        ["==", "!=", "<=", ">=", "&&", "||", "=>", "+=", "-=", "*=", "/=", "~="];
    if operators.iter().any(|op| s.contains(op)) {
        return Some("an operator");
    }
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let spaced = prev.is_some_and(char::is_whitespace)
            && next.is_some_and(char::is_whitespace);
        let after_operand = prev.is_some_and(|p| is_word(p) || p == ')' || p == ']');
        let before_operand = next.is_some_and(|n| is_word(n) || n == '(');
        let starts_operand =
            prev.is_none_or(|p| p.is_whitespace() || "([,=".contains(p));
        let what = match c {
            '=' if prev.is_some_and(char::is_whitespace)
                || next.is_some_and(char::is_whitespace) =>
            {
                Some("an assignment")
            }
            // `+` alone is a character, `U+202E` a code point.
            '+' if chars.len() > 1
                && !(prev == Some('U')
                    && next.is_some_and(|n| n.is_ascii_hexdigit())) =>
            {
                Some("an operator")
            }
            '-' if spaced
                || (starts_operand
                    && next.is_some_and(|n| n.is_alphabetic() || n == '(')) =>
            {
                Some("an operator")
            }
            // `*` alone is If-None-Match's "any tag".
            '*' if chars.len() > 1
                && (spaced || after_operand || before_operand) =>
            {
                Some("an operator")
            }
            '/' | '<' | '>' | '%' if spaced => Some("an operator"),
            '!' if starts_operand && before_operand => Some("an operator"),
            '?' if after_operand
                && next.is_none_or(|n| n.is_whitespace() || ";.),:".contains(n)) =>
            {
                Some("an operator")
            }
            '.' if chars[..i].iter().rev().find(|c| !c.is_whitespace())
                == Some(&')') =>
            {
                Some("a method chain")
            }
            '(' if prev.is_some_and(|p| is_word(p) || p == '!' || p == '>')
                && chars[i + 1..].iter().find(|c| !c.is_whitespace())
                    != Some(&')') =>
            {
                Some("a call with arguments")
            }
            _ => None,
        };
        if what.is_some() {
            return what;
        }
    }
    None
}

/// Where a TODO's text holds code: (the line within the text, what, the text
/// that is code). Backticked spans are checked by [`span_code`]; the prose
/// around them for calls with arguments, assignments and operators written
/// out, and for numbered or ordered recipes.
fn code_in_todo(text: &str) -> Vec<(usize, &'static str, String)> {
    // Offsets are into `text`, `prose` or `lower`: each counts its own lines.
    let line_of = |s: &str, at: usize| s[..at].matches('\n').count();
    let mut found = Vec::new();
    let spans = backtick_spans(text);
    // The prose: the text with every span (and its backticks) blanked.
    let mut prose: Vec<char> = text.chars().collect();
    let mut blank = vec![false; text.len() + 1];
    for span in &spans {
        if let Some(what) = span_code(&text[span.clone()]) {
            found.push((
                line_of(text, span.start),
                what,
                text[span.clone()].to_owned(),
            ));
        }
        let (mut from, mut to) = (span.start, span.end);
        while from > 0 && text.as_bytes()[from - 1] == b'`' {
            from -= 1;
        }
        while text.as_bytes().get(to) == Some(&b'`') {
            to += 1;
        }
        blank[from..to].iter_mut().for_each(|b| *b = true);
    }
    for ((at, c), p) in text.char_indices().zip(prose.iter_mut()) {
        if blank[at] && c != '\n' {
            *p = ' ';
        }
    }
    let prose: String = prose.into_iter().collect();
    let chars: Vec<(usize, char)> = prose.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j].1);
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let word_before = |k: usize| {
            k.checked_sub(1).is_some_and(|j| {
                let p = chars[j].1;
                is_word(p) || p == ')' || p == ']'
            })
        };
        let word_after = |k: usize| {
            chars.get(k + 1).is_some_and(|&(_, n)| is_word(n) || n == '(')
        };
        match c {
            // `name(argument)`, not `name()`, nor a plural's `message(s)`.
            '(' if prev.is_some_and(is_word) => {
                let start = chars[..i]
                    .iter()
                    .rposition(|&(_, p)| !(is_word(p) || p == '.' || p == ':'))
                    .map_or(0, |j| j + 1);
                let close =
                    chars[i..].iter().position(|&(_, c)| c == ')').map(|p| i + p);
                let inner: String = chars[i + 1..close.unwrap_or(chars.len())]
                    .iter()
                    .map(|&(_, c)| c)
                    .collect();
                let named = chars[start].1.is_alphabetic() || chars[start].1 == '_';
                if named
                    && !inner.trim().is_empty()
                    && !["s", "es"].contains(&inner.trim())
                {
                    let end = close.map_or(prose.len(), |j| chars[j].0 + 1);
                    found.push((
                        line_of(&prose, at),
                        "a call with arguments",
                        prose[chars[start].0..end].to_owned(),
                    ));
                }
            }
            // ` = `, ` + `, ` * `, ` / ` between two operands, and `==` and its kind.
            '=' | '+' | '*' | '/' | '%'
                if prev == Some(' ')
                    && next == Some(' ')
                    && word_before(i - 1)
                    && word_after(i + 1) =>
            {
                let what = if c == '=' { "an assignment" } else { "an operator" };
                let from = chars[..i - 1]
                    .iter()
                    .rposition(|&(_, p)| p.is_whitespace())
                    .map_or(0, |j| j + 1);
                let to = chars[i + 2..]
                    .iter()
                    .position(|&(_, n)| n.is_whitespace())
                    .map_or(chars.len(), |p| i + 2 + p);
                let snippet: String =
                    chars[from..to].iter().map(|&(_, c)| c).collect();
                found.push((line_of(&prose, at), what, snippet));
            }
            _ => {}
        }
    }
    for op in ["==", "!=", "<=", ">=", "&&", "||", "=>", "+=", "-=", "~="] {
        for (at, _) in prose.match_indices(op) {
            found.push((line_of(&prose, at), "an operator", op.to_owned()));
        }
    }
    // Numbered recipes: `1.`, `2)` or `(1)` opening a line; `(1) ... (2)`
    // within one; "step 3".
    for ((n, line), written) in prose.lines().enumerate().zip(text.lines()) {
        let number = line.trim_start().trim_start_matches('(');
        let digits = number.chars().take_while(char::is_ascii_digit).count();
        let opens = digits > 0
            && matches!(number[digits..].chars().next(), Some('.' | ')'))
            && number[digits + 1..].starts_with(char::is_whitespace);
        if opens {
            found.push((n, "a numbered recipe", written.trim().to_owned()));
        }
    }
    let words: Vec<String> = prose
        .split(|c: char| !(is_word(c) || c == '(' || c == ')'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.contains(&"(1)".to_owned()) && words.contains(&"(2)".to_owned()) {
        found.push((
            line_of(&prose, prose.find("(1)").unwrap_or(0)),
            "a numbered recipe",
            "(1) ... (2)".to_owned(),
        ));
    }
    let lower = prose.to_lowercase();
    for (at, _) in lower.match_indices("step ") {
        let numbered = lower[at + 5..].starts_with(|c: char| c.is_ascii_digit());
        if numbered && !lower[..at].ends_with(is_word) {
            let number: String =
                lower[at + 5..].chars().take_while(char::is_ascii_digit).collect();
            found.push((
                line_of(&lower, at),
                "a numbered recipe",
                format!("step {number}"),
            ));
        }
    }
    // "first ..., then ..., finally ...": an ordered recipe.
    let first = words.iter().position(|w| w == "first");
    let then = first
        .and_then(|f| words[f..].iter().position(|w| w == "then").map(|t| f + t));
    let finally = then.and_then(|t| words[t..].iter().position(|w| w == "finally"));
    if finally.is_some() {
        found.push((
            0,
            "an ordered recipe",
            "first ... then ... finally".to_owned(),
        ));
    }
    found
}

/// A learner's TODO says what must hold when the function is done, which
/// rules pin it and where the chapter explains it. It never gives the code
/// or the steps: those are the hints, from a nudge to nearly the answer,
/// which the workshop shows one at a time and counts.
/// A starter's source files (Rust and JavaScript, its spec shim aside), as
/// paths from the workspace root: where its TODOs are.
fn learner_sources(exercise: &Exercise) -> Vec<PathBuf> {
    let dir = exercise.starter_dir();
    files_below(&root().join(&dir))
        .into_iter()
        .filter(|file| {
            let source = matches!(
                file.extension().and_then(|e| e.to_str()),
                Some("rs" | "js")
            );
            source && !file.starts_with("tests")
        })
        .map(|file| dir.join(file))
        .collect()
}

#[test]
fn todos_state_the_contract_and_leave_the_steps_to_the_hints() {
    let mut problems = Vec::new();
    for exercise in course().exercises.iter().filter(|e| starter_is_pristine(e)) {
        let dir = exercise.starter_dir();
        let mut todos = 0;
        for path in learner_sources(exercise) {
            for todo in todo_texts(&read(&path)) {
                todos += 1;
                for (line, what, code) in code_in_todo(&todo.text) {
                    problems.push(format!(
                        "{}:{}: the TODO holds {what}, {code:?}: {CONTRACT_NOT_CODE}",
                        path.display(),
                        todo.line + line
                    ));
                }
            }
        }
        assert!(
            todos > 0,
            "found no TODO in {}: this check reads `// TODO` comments, `todo!(...)` and `new Error(\"TODO ...\")`",
            dir.display()
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check above catches each kind of code a TODO could hold, and lets a
/// contract with API names in it pass.
#[test]
fn the_todo_check_catches_code_and_lets_a_contract_pass() {
    // Each kind of code, planted in a TODO, and what the check must call it.
    let planted = [
        ("an operator", "// TODO: set it to `performance.now() + INTERVAL_MS`."),
        ("an operator", "// TODO: wait at least `step / 2`."),
        ("an operator", "// TODO: poll only when `now >= nextPollAt`."),
        ("an operator", "// TODO: answer when `new && ready`."),
        (
            "an operator",
            "// TODO: the select's first branch is `_ = news.changed() => {}`.",
        ),
        ("an operator", "// TODO: read the body with `body?`."),
        ("an operator", "// TODO: refuse it when `!value.is_empty` does not hold."),
        ("an operator", "// TODO: the version is `*news.borrow_and_update()`."),
        ("a method chain", "// TODO: use `redis::pipe().get`, in one round trip."),
        (
            "a call with arguments",
            "// TODO: schedule it with `setTimeout(poll, INTERVAL_MS)`.",
        ),
        (
            "a call with arguments",
            "// TODO: go on with requestAnimationFrame(frame) in every case.",
        ),
        (
            "a call with arguments",
            "// TODO: start the invocation with `self.append.key(..)`.",
        ),
        ("an assignment", "// TODO: afterwards, `waiting = null`."),
        ("an assignment", "// TODO: keep nextPollAt = 0 until the first answer."),
        ("an operator", "// TODO: wait step / 2 at least."),
        ("a statement", "// TODO: start with `let mut news` before you look."),
        (
            "a numbered recipe",
            "// TODO, in this order:\n//   1. lock it;\n//   2. push the message.",
        ),
        ("a numbered recipe", "// TODO: (1) lock it, (2) push the message."),
        ("a numbered recipe", "// TODO:\n//   (1) lock the store"),
        ("a numbered recipe", "// TODO: if it fails, skip to step 3."),
        (
            "an ordered recipe",
            "// TODO: first lock it, then push, and finally return the message.",
        ),
        // On a line that continues the TODO, in a `todo!`, in a JavaScript
        // error, in a Lua comment, and after code on the TODO's line.
        (
            "an operator",
            "// TODO: what holds when done.\n// More of it.\n// Then `x += 1`.",
        ),
        (
            "a call with arguments",
            "fn f() {\n    todo!(\n        \"f: call store.push(valid) and answer\"\n    )\n}",
        ),
        (
            "an assignment",
            "function f() {\n  throw new Error(\"TODO: f, with x = 1 first\");\n}",
        ),
        (
            "a call with arguments",
            "const S: &str = r#\"\n-- TODO, in Lua: `redis.call('INCR', KEYS[2])`.\nreturn 1\n\"#;",
        ),
        ("an operator", "let x = 1; // TODO: `x - 1`, once more"),
    ];
    for (kind, source) in planted {
        let todos = todo_texts(source);
        assert!(!todos.is_empty(), "the check found no TODO in:\n{source}");
        let caught: Vec<_> =
            todos.iter().flat_map(|t| code_in_todo(&t.text)).collect();
        assert!(
            caught.iter().any(|(_, what, _)| *what == kind),
            "the check should find {kind} in this TODO, and found {caught:?}:\n{source}"
        );
    }

    let contract = r#"
/// Not a TODO: every `todo!()` says what its function must do, `x = 1`.
pub fn poll(&self) -> Result<Poll, StoreError> {
    // TODO: the answer for `cursor`, from one view of the store: every
    // message (`{"msg": [...]}`) when there is no cursor, with `ETag` and
    // `Cache-Control: no-cache`; `304 Not Modified` when `If-None-Match`
    // names the tag (`W/"..."`, a list, or `*`). The user's name may not hold
    // U+202E, nor `U+200B`; the path is `/poll?since=<since>&epoch=<epoch>`,
    // `wait=25`, the header `x-client-id`; the message(s) are stored first,
    // and the list is trimmed then. Rules R1, R5 (s01, s05); chapter 05,
    // «Or let HTTP say "not modified"». API: `redis::pipe`, `Mutex::lock`,
    // `tokio::select!`, `tokio::sync::watch`, `requestAnimationFrame`,
    // `performance.now()`, `fetch`, `Option<u64>`, `str::parse::<u64>`,
    // `HeaderMap::get_all`, `Array.prototype.sort`, `self.capacity`.
    let x = a + b; // not a TODO: code is code
    // A later comment is not the TODO's: `x = y + 1`.
    todo!("poll: answer from the cached bodies where you can")
}
"#;
    let todos = todo_texts(contract);
    assert_eq!(
        todos.len(),
        2,
        "the contract has one TODO comment and one todo!: {todos:?}"
    );
    for todo in &todos {
        assert_eq!(
            code_in_todo(&todo.text),
            Vec::new(),
            "a contract is not code:\n{}",
            todo.text
        );
    }
}

// ---------------------------------------------------------------------------
// Given code: little to read, so a learner reads the chapter, not the crate
// ---------------------------------------------------------------------------

/// The most given lines in the files a learner edits (those with a `TODO` or
/// a `todo!`), Rust and JavaScript together.
const MAX_GIVEN_IN_EDITED_FILES: usize = 150;
/// The most given lines of Rust in a whole starter crate.
const MAX_GIVEN_RUST_IN_CRATE: usize = 300;
/// What to do past either: code an exercise uses but does not teach lives
/// outside the learner's crate.
const MOVE_GIVEN_CODE: &str = "move code the exercise uses but does not teach out of the learner's crate: into an \
     earlier exercise's solution it depends on, or a small crate under helpers/ (as helpers/limits and \
     helpers/chat-store are), and let the chapter say where it is; or into a file of its own in the crate, \
     if only the edited files are over";

/// A source file's lines as a learner reads them: `(given lines, has a
/// TODO)`. A given line is one that is not blank, not only a comment, and
/// not part of a `todo!(..)` (what the learner replaces).
fn given_lines(source: &str) -> (usize, bool) {
    let (mut given, mut depth, mut has_todo, mut in_block) = (0, 0i32, false, false);
    for line in source.lines() {
        let text = line.trim();
        if in_block {
            in_block = !text.contains("*/");
            continue;
        }
        if text.starts_with("/*") {
            in_block = !text.contains("*/");
            continue;
        }
        if text.starts_with("//")
            && text.trim_start_matches('/').trim_start().starts_with("TODO")
        {
            has_todo = true;
        }
        if text.is_empty() || text.starts_with("//") || text.starts_with('*') {
            continue;
        }
        if depth > 0 || text.contains("todo!(") {
            has_todo = true;
            depth +=
                text.matches('(').count() as i32 - text.matches(')').count() as i32;
            continue;
        }
        given += 1;
    }
    (given, has_todo)
}

#[test]
fn starters_give_little_code_to_read() {
    let mut report = String::new();
    let mut over = Vec::new();
    // A starter the learner has worked on holds their lines too: only the
    // course's own starters are counted.
    for exercise in course().exercises.iter().filter(|e| starter_is_pristine(e)) {
        let dir = exercise.starter_dir();
        let (mut in_crate, mut in_edited, mut edited) = (0, 0, Vec::new());
        for file in files_below(&dir) {
            let Some(kind) = file.extension().and_then(|e| e.to_str()) else {
                continue;
            };
            if !matches!(kind, "rs" | "js") || file.starts_with("tests") {
                continue;
            }
            let (given, has_todo) = given_lines(&read(dir.join(&file)));
            if kind == "rs" {
                in_crate += given;
            }
            if has_todo {
                in_edited += given;
                edited.push(format!("{} ({given})", file.display()));
            }
        }
        report.push_str(&format!(
            "{}: {in_edited} given lines in the files you edit ({}), {in_crate} of Rust in the crate\n",
            exercise.slug,
            edited.join(", ")
        ));
        if in_edited > MAX_GIVEN_IN_EDITED_FILES {
            over.push(format!(
                "{}: {in_edited} given lines in the files a learner edits, more than {MAX_GIVEN_IN_EDITED_FILES}",
                exercise.slug
            ));
        }
        if in_crate > MAX_GIVEN_RUST_IN_CRATE {
            over.push(format!(
                "{}: {in_crate} given lines of Rust in the starter crate, more than {MAX_GIVEN_RUST_IN_CRATE}",
                exercise.slug
            ));
        }
    }
    println!("{report}");
    assert!(
        over.is_empty(),
        "{}.\nTo fix it, {MOVE_GIVEN_CODE}.\n\n{report}",
        over.join(";\n")
    );
}

#[test]
fn the_given_code_count_skips_comments_blanks_and_todos() {
    let source = "//! A module.\n\n/// Docs.\npub fn given() -> u32 {\n    1\n}\n\npub fn yours() -> u32 {\n    \
                  // TODO: the contract.\n    todo!(\n        \"yours: what to write\"\n    )\n}\n/* a\n   block */\n";
    assert_eq!(given_lines(source), (5, true));
    assert_eq!(given_lines("fn f() {}\n"), (1, false));
    let js = "// TODO: the contract.\nexport function f() {\n  return 1;\n}\n";
    assert_eq!(given_lines(js), (3, true));
    // Over the limit: 151 given lines in an edited file is one too many.
    let heavy = format!(
        "// TODO: yours\n{}",
        "let x = 1;\n".repeat(MAX_GIVEN_IN_EDITED_FILES + 1)
    );
    assert!(given_lines(&heavy).0 > MAX_GIVEN_IN_EDITED_FILES);
}

// ---------------------------------------------------------------------------
// The figures in exercise 01's comments on its limits
// ---------------------------------------------------------------------------

#[test]
fn the_limits_comments_hold_their_figures() {
    use poll_endpoint::message::{MAX_TEXT_CHARS, MAX_USER_CHARS, Message};
    // The widest character in UTF-8 takes 4 bytes, and serde_json writes it
    // as it is; the longest id and time have 20 and 13 digits.
    let widest = |n: usize| "\u{1F600}".repeat(n);
    let largest = Message {
        id: u64::MAX,
        user: widest(MAX_USER_CHARS),
        text: widest(MAX_TEXT_CHARS),
        time: 9_999_999_999_999,
    };
    let one = serde_json::to_vec(&largest).unwrap().len();
    let answer = serde_json::to_vec(
        &serde_json::json!({ "msg": vec![&largest; poll_endpoint::MAX_MESSAGES] }),
    )
    .unwrap()
    .len();
    // The largest valid body: every character escaped as a surrogate pair.
    let escaped = |n: usize| "\\ud83d\\ude00".repeat(n);
    let body = format!(
        r#"{{"user":"{}","text":"{}"}}"#,
        escaped(MAX_USER_CHARS),
        escaped(MAX_TEXT_CHARS)
    )
    .len();
    assert!(body <= poll_endpoint::MAX_BODY_BYTES, "{body}");
    let lib = read("solutions/01-poll-endpoint/src/lib.rs");
    let with_commas = |n: usize| {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    for (what, figure) in [
        ("the largest stored message", with_commas(one)),
        ("the largest poll answer", with_commas(answer)),
        ("about KiB", format!("about {} KiB", answer / 1024)),
        ("the largest valid body", with_commas(body)),
    ] {
        assert!(
            lib.contains(&figure),
            "exercise 01's lib.rs should give {what} as {figure}, which is what serde_json makes of it"
        );
    }
}

/// The `sNN` numbers of a spec's scenarios (`fn s03_...`), in file order.
fn scenario_numbers(spec: &str) -> Vec<u32> {
    spec.lines()
        .filter_map(|line| {
            let name = line
                .trim_start()
                .strip_prefix("async fn s")
                .or_else(|| line.trim_start().strip_prefix("fn s"))?;
            let (digits, rest) = name.split_at_checked(2)?;
            rest.starts_with('_').then(|| digits.parse().ok())?
        })
        .collect()
}

/// Each spec's scenarios are numbered in the order to make them pass: the
/// file lists s01, s02, ... without a gap, and a learner reads the lowest
/// failing number first.
#[test]
fn scenarios_are_numbered_in_file_order_without_gaps() {
    for exercise in course().exercises {
        let spec = read(exercise.spec_dir().join("spec.rs"));
        let numbers = scenario_numbers(&spec);
        let expected: Vec<u32> = (1..=numbers.len() as u32).collect();
        assert_eq!(
            numbers, expected,
            "tests/{}/spec.rs: its scenarios should be s01, s02, ... in the order they appear, the order \
             to make them pass; rename them (and their snapshots) to match",
            exercise.slug
        );
    }
    assert_eq!(
        scenario_numbers(
            "fn s01_a() {}\nasync fn s02_b() {}\npub fn s02(spec: &X) {}\nfn s04_c() {}"
        ),
        [1, 2, 4]
    );
}

/// What stopped a page's scripts before they ran, if anything did: a
/// syntax error in `client` or in one of its `modules` (name, source).
fn syntax_error(client: &str, modules: &[(String, String)]) -> Option<String> {
    let page = modules.iter().fold(
        virtual_browser::Page::client("/client.js", client),
        |page, (name, source)| page.with_module(name, source),
    );
    let mut browser = virtual_browser::Browser::new(axum::Router::new());
    browser.open(page);
    browser.run_until(0).events().iter().find_map(|(_, event)| match event {
        virtual_browser::Event::ScriptError { text }
        | virtual_browser::Event::Halted { reason: text }
            if text.contains("SyntaxError") =>
        {
            Some(text.clone())
        }
        _ => None,
    })
}

/// Every script a learner is given parses: a starter's `todo` may throw
/// when it runs, but a file that does not parse fails every scenario for
/// a reason the learner did not cause (as a starter once did, with a piece
/// of its solution left after the last TODO).
#[test]
fn every_page_script_a_learner_is_given_parses() {
    let mut problems = Vec::new();
    for exercise in course().exercises {
        let files: Vec<(String, String)> = exercise
            .page
            .iter()
            .map(|(path, file)| (path.clone(), read(file)))
            .collect();
        let Some((_, client)) = files.iter().find(|(path, _)| path == "/client.js")
        else {
            continue;
        };
        let modules: Vec<(String, String)> =
            files.iter().filter(|(path, _)| path != "/client.js").cloned().collect();
        if let Some(error) = syntax_error(client, &modules) {
            problems.push(format!(
                "{}: the page's scripts do not parse: {error}",
                exercise.slug
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        syntax_error(
            "function open() {\n  return 1;\n}\n    }, wait);\n  };\n}",
            &[]
        )
        .is_some(),
        "the check must catch a script that does not parse"
    );
    assert_eq!(syntax_error("throw new Error(\"TODO: open\");", &[]), None);
}

/// The rules (`R3`) and scenarios (`s05`) a text names, ranges ("R9 to R12",
/// "s01 to s06") spelled out.
fn rules_and_scenarios(text: &str) -> (BTreeSet<u32>, BTreeSet<u32>) {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let number = |word: &str, prefix: char| {
        let digits = word.strip_prefix(prefix)?;
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<u32>().ok())?
    };
    let (mut rules, mut scenarios) = (BTreeSet::new(), BTreeSet::new());
    for (at, word) in words.iter().enumerate() {
        for (prefix, found) in [('R', &mut rules), ('s', &mut scenarios)] {
            let Some(n) = number(word, prefix) else { continue };
            found.insert(n);
            let to = words.get(at + 2).and_then(|w| number(w, prefix));
            if let (Some(&"to"), Some(last)) = (words.get(at + 1), to) {
                found.extend(n..=last);
            }
        }
    }
    (rules, scenarios)
}

/// A spec's header: each rule and the scenarios that pin it, from its list
/// `//! - R3 ... (s05, s10).`, which may run over several lines.
fn rule_scenarios(spec: &str) -> Vec<(u32, BTreeSet<u32>)> {
    let mut rules: Vec<(u32, String)> = Vec::new();
    for line in spec.lines().map_while(|l| l.strip_prefix("//!")) {
        let line = line.trim();
        let first = line.strip_prefix("- R").and_then(|rest| {
            let digits: String =
                rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        let listing = !rules.is_empty();
        match (first, rules.last_mut()) {
            (Some(rule), _) => rules.push((rule, line.to_owned())),
            (None, Some(last)) if !line.is_empty() && !line.starts_with('-') => {
                last.1.push(' ');
                last.1.push_str(line);
            }
            _ if listing => break,
            _ => {}
        }
    }
    rules
        .into_iter()
        .map(|(rule, text)| {
            // The scenarios in brackets, past the rule's own number.
            let pinned = text
                .find('(')
                .map_or_else(BTreeSet::new, |at| rules_and_scenarios(&text[at..]).1);
            (rule, pinned)
        })
        .collect()
}

/// A TODO that names rules and scenarios names scenarios that pin those
/// rules, as the spec's header says: renumbered scenarios leave no TODO
/// sending a learner to the wrong one.
#[test]
fn todos_name_the_scenarios_that_pin_their_rules() {
    let mut problems = Vec::new();
    for exercise in course().exercises.iter().filter(|e| starter_is_pristine(e)) {
        let spec = read(exercise.spec_dir().join("spec.rs"));
        let pins = rule_scenarios(&spec);
        let scenarios = scenario_numbers(&spec);
        assert!(
            !pins.is_empty(),
            "tests/{}/spec.rs lists no rules in its header",
            exercise.slug
        );
        for path in learner_sources(exercise) {
            for todo in todo_texts(&read(&path)) {
                let (rules, named) = rules_and_scenarios(&todo.text);
                for s in &named {
                    let pins_one = pins
                        .iter()
                        .any(|(r, pinned)| rules.contains(r) && pinned.contains(s));
                    if !scenarios.contains(s) {
                        problems.push(format!("{}:{}: the TODO names s{s:02}, which the spec does not have", path.display(), todo.line));
                    } else if !rules.is_empty() && !pins_one {
                        problems.push(format!(
                            "{}:{}: the TODO names s{s:02}, which pins none of its rules ({}) in the spec's header",
                            path.display(),
                            todo.line,
                            rules.iter().map(|r| format!("R{r}")).collect::<Vec<_>>().join(", ")
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let (rules, scenarios) =
        rules_and_scenarios("Rules R9 to R11 and R14 (s16 to s18, s20); chapter 07");
    assert_eq!(
        (
            rules.into_iter().collect::<Vec<_>>(),
            scenarios.into_iter().collect::<Vec<_>>()
        ),
        (vec![9, 10, 11, 14], vec![16, 17, 18, 20])
    );
    let header = "//! Intro.\n//! - R1 news is answered (s01).\n//! - R2 hold, and\n//!   wake (s02, s04 to s05).\n//!\n//! More.";
    assert_eq!(
        rule_scenarios(header),
        vec![(1, BTreeSet::from([1])), (2, BTreeSet::from([2, 4, 5]))]
    );
}

/// The rules a spec names as `Rule` constants: `R3` for `const R3: Rule`.
fn rules_of(spec: &str) -> Vec<String> {
    spec.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("pub const ")?;
            let (name, rest) = rest.split_once(':')?;
            let is_rule = rest.trim_start().starts_with("Rule")
                && name.starts_with('R')
                && name[1..].chars().all(|c| c.is_ascii_digit());
            is_rule.then(|| name.to_owned())
        })
        .collect()
}

/// Whether `text` uses the identifier `name` (`R1` in `R1,` but not in `R10`).
fn uses_name(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let before = text[..at].chars().next_back().is_none_or(|c| !ident(c));
        let after = text[at + name.len()..].chars().next().is_none_or(|c| !ident(c));
        before && after
    })
}

/// What `exercise` lacks of the five places an exercise takes, each named
/// as CONTRIBUTING.md's "Adding an exercise" names it. (Its entry in
/// `course.toml`, the first place, is how it is found.)
fn missing_places(exercise: &Exercise) -> Vec<String> {
    let mut missing = Vec::new();
    let mut lacks =
        |place: &str, what: String| missing.push(format!("{place}: {what}"));
    // 2. The crates.
    for dir in [exercise.solution_dir(), exercise.starter_dir()] {
        if !root().join(&dir).join("Cargo.toml").is_file() {
            lacks("the crates", format!("no {}/Cargo.toml", dir.display()));
        }
    }
    // 3. The spec and its wrong solutions.
    let tests = root().join(exercise.spec_dir());
    let spec = fs::read_to_string(tests.join("spec.rs")).unwrap_or_default();
    let wrong =
        fs::read_to_string(tests.join("wrong_solutions.rs")).unwrap_or_default();
    if spec.is_empty() {
        lacks("the spec", format!("no tests/{}/spec.rs", exercise.slug));
    } else if rules_of(&spec).is_empty() {
        lacks(
            "the spec",
            format!(
                "tests/{}/spec.rs names no rule (`pub const R1: Rule = ...`)",
                exercise.slug
            ),
        );
    }
    if wrong.is_empty() {
        lacks(
            "the wrong solutions",
            format!("no tests/{}/wrong_solutions.rs", exercise.slug),
        );
    }
    for rule in rules_of(&spec) {
        if !wrong.is_empty() && !uses_name(&wrong, &rule) {
            lacks(
                "the wrong solutions",
                format!(
                    "no wrong solution in tests/{}/wrong_solutions.rs breaks {rule}",
                    exercise.slug
                ),
            );
        }
    }
    // 4. The chapter, in the book, with the hints.
    let chapter =
        fs::read_to_string(root().join(exercise.chapter_path())).unwrap_or_default();
    let summary = read("book/src/SUMMARY.md");
    if chapter.is_empty() {
        lacks("the chapter", format!("no {}", exercise.chapter_path().display()));
    } else if !summary.contains(&format!("]({})", exercise.chapter)) {
        lacks(
            "the chapter",
            format!("book/src/SUMMARY.md does not list {}", exercise.chapter),
        );
    }
    let flat = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat_chapter = flat(&chapter);
    for (n, hint) in exercise.hints.iter().enumerate() {
        if !chapter.is_empty() && !flat_chapter.contains(&flat(hint)) {
            lacks(
                "the hints in the chapter",
                format!("hint {} is not in {}", n + 1, exercise.chapter),
            );
        }
    }
    // 5. The rows of the tables that list the exercises.
    let label = format!("| {:02} {}", exercise.number, exercise.title);
    let package = format!("`{}`", exercise.starter);
    for (file, row) in [
        ("book/src/instructors.md", label.clone()),
        ("book/src/introduction.md", format!("| {:02} ", exercise.number)),
        ("README.md", package),
    ] {
        if !read(file)
            .lines()
            .any(|line| line.starts_with('|') && line.contains(&row))
        {
            lacks(
                "the rows",
                format!("{file} has no row for {} ({row})", exercise.slug),
            );
        }
    }
    missing
}

/// Every exercise is in the five places CONTRIBUTING.md lists, and nothing
/// else is needed: the workspace finds the crates by `exercises/*` and
/// `solutions/*`, and the solution's `tests/spec.rs` runs the spec and the
/// wrong solutions. A failure names each missing piece.
#[test]
fn every_exercise_is_in_its_five_places() {
    let course = course();
    let mut problems: Vec<String> = Vec::new();
    for exercise in &course.exercises {
        problems.extend(
            missing_places(exercise)
                .into_iter()
                .map(|p| format!("{}: {p}", exercise.slug)),
        );
    }
    // The other way round: a folder of an exercise course.toml does not list.
    for folder in ["exercises", "solutions", "tests"] {
        for entry in fs::read_dir(root().join(folder)).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let numbered =
                name.len() > 3 && name[..2].chars().all(|c| c.is_ascii_digit());
            if entry.path().is_dir()
                && numbered
                && !course.exercises.iter().any(|e| e.slug == name)
            {
                problems.push(format!("{folder}/{name} is an exercise's folder, but course.toml has no entry for it"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "an exercise lacks a place (see CONTRIBUTING.md, \"Adding an exercise\"):\n{}",
        problems.join("\n")
    );
}

/// The check names what a half-added exercise lacks, place by place.
#[test]
fn a_half_added_exercise_is_named_piece_by_piece() {
    let mut exercise = course().exercises.last().unwrap().clone();
    exercise.slug = "99-not-written".to_owned();
    exercise.number = 99;
    exercise.chapter = "99-not-written.md".to_owned();
    exercise.starter = "ex99-not-written".to_owned();
    exercise.solution = "ex99-not-written-solution".to_owned();
    let missing = missing_places(&exercise).join("\n");
    for piece in [
        "the crates: no solutions/99-not-written/Cargo.toml",
        "the spec: no tests/99-not-written/spec.rs",
        "the wrong solutions: no tests/99-not-written/wrong_solutions.rs",
        "the chapter: no book/src/99-not-written.md",
        "the rows: book/src/instructors.md has no row",
    ] {
        assert!(
            missing.contains(piece),
            "should name {piece:?}, but says:\n{missing}"
        );
    }
    assert!(uses_name("breaks(X, R1, &[])", "R1") && !uses_name("R10", "R1"));
    assert_eq!(
        rules_of(
            "pub const R2: Rule = Rule::new(\"R2\", \"x\");\npub const EX02_R6: Rule = x;"
        ),
        ["R2"]
    );
}
