//! The course checks: `cargo test` at the root runs them on every change.
//!
//! They hold the course to its own rules. Every exercise in `course.toml` has
//! a starter, a solution, a chapter and hints; the starter and the solution
//! differ only in source files and share one spec; the book lists every
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
/// the name the shared spec uses, and include the shared spec.
fn spec_shim(exercise: &Exercise, package: &str) -> String {
    let lib_name = exercise.spec_alias();
    format!(
        "//! Runs exercise {:02}'s spec against this crate. The spec itself is shared with\n\
         //! the solution and lives at the workspace root: tests/{slug}/spec.rs.\n\
         extern crate {crate_name} as {lib_name};\n\
         \n\
         #[path = \"../../../tests/{slug}/spec.rs\"]\n\
         mod spec;\n",
        exercise.number,
        slug = exercise.slug,
        crate_name = package.replace('-', "_"),
    )
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
        assert!(
            root().join(exercise.spec_dir()).join("spec.rs").is_file(),
            "{at}: no tests/{}/spec.rs",
            exercise.slug
        );
        assert!(
            root().join(exercise.chapter_path()).is_file(),
            "{at}: no chapter {}",
            exercise.chapter_path().display()
        );
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
                "{}/tests/spec.rs should only include the shared spec, tests/{}/spec.rs",
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

/// The slow check: build and run each exercise's spec against the solution
/// (it must pass) and against the starter (it must compile, run, and fail:
/// a starter that passes teaches nothing).
#[test]
fn every_solution_passes_and_every_starter_fails_its_spec() {
    for exercise in course().exercises {
        let solution = run_spec(&exercise.solution);
        assert!(
            solution.passed && solution.log.contains("test result: ok."),
            "the solution {} should pass its spec:\n{}",
            exercise.solution,
            solution.log
        );

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

/// The chapter shows the manifest's hints word for word, so the two can
/// never drift apart (line breaks may differ).
#[test]
fn each_chapter_shows_its_hints_from_the_manifest() {
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    for exercise in course().exercises {
        let chapter = words(&read(exercise.chapter_path()));
        for (n, hint) in exercise.hints.iter().enumerate() {
            assert!(
                chapter.contains(&words(hint)),
                "{} should show hint {} from course.toml word for word:\n{hint}",
                exercise.chapter_path().display(),
                n + 1
            );
        }
    }
}
