//! The book check: a chapter teaches what the learner writes, and never shows
//! its finished code in the open.
//!
//! What the learner writes is found by comparing each starter with its
//! solution: in every source file where the starter says `todo!(` or `TODO`,
//! each function (a Rust `fn`, `const` or `static`; a JavaScript function, a
//! method, or a top-level statement with a block) that the solution adds or
//! changes is a TODO item. Its finished code is the solution's lines that the
//! starter does not have.
//!
//! A chapter's unfolded text is the chapter without its `<details>` blocks,
//! with each `{{#include}}` replaced by the lines it shows. It must not hold a
//! TODO item of its exercise: the item's signature with two of its distinctive
//! lines, or more than half of them, count as showing it. The finished code
//! belongs in a `<details><summary>Solution: ...</summary>` block.

use polling_workshop::course::{Course, Exercise, root};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Lines shorter than this say too little to recognise a function by
/// (`try {`, `} finally {`, `return 0;`).
const DISTINCTIVE_CHARS: usize = 12;

fn course() -> Course {
    let manifest = fs::read_to_string(root().join("course.toml"))
        .expect("course.toml is readable");
    Course::parse(&manifest).unwrap_or_else(|error| panic!("{error}"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

// ---------------------------------------------------------------------------
// What the learner writes
// ---------------------------------------------------------------------------

/// A function (or script, or listener) the starter leaves to the learner.
#[derive(Debug)]
struct Todo {
    /// `CachedStore::poll`, `Backoff.failed`, `pollForever`.
    name: String,
    /// The starter's file, relative to the workspace root.
    starter_file: PathBuf,
    /// The solution's first line of it, normalised: `pub fn poll(&self, cursor: Option<Cursor>) -> Bytes`.
    signature: String,
    /// The rest of its finished code, normalised: the lines the starter does not have.
    distinctive: Vec<String>,
    /// For an item whose every line is somewhere else in the starter too
    /// (`succeeded()` only adds `this.failures = 0;`, which the constructor
    /// has): the lines its starter version lacks. They count only right after
    /// the signature.
    near_signature: Vec<String>,
    /// How long the item is, normalised: how far after the signature to look.
    span: usize,
    /// The solution's lines of it, as written.
    source: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Lang {
    Rust,
    Js,
}

/// One function, method, constant or top-level block of a source file.
#[derive(Debug)]
struct Item {
    name: String,
    lines: Vec<String>,
}

/// Collapse every run of whitespace to one space, and trim.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A line of code without its comment, normalised; `None` for a line that is
/// only a comment (`//`, `///`, `/* */` and `*` doc lines, Lua's `--`).
fn code_of(line: &str) -> Option<String> {
    let trimmed = line.trim();
    let comment = ["//", "/*", "*/", "* ", "--"]
        .iter()
        .any(|start| trimmed.starts_with(start))
        || trimmed == "*";
    if comment || trimmed.is_empty() {
        return None;
    }
    // A trailing `// comment`: only after whitespace, so `https://` stays.
    let code = match trimmed.find(" //") {
        Some(at) => &trimmed[..at],
        None => trimmed,
    };
    Some(normalise(code))
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn ident_at(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(text.len());
    (end > 0).then(|| &text[..end])
}

fn strip_prefixes<'a>(mut text: &'a str, prefixes: &[&str]) -> &'a str {
    loop {
        let before = text;
        for prefix in prefixes {
            text = text.strip_prefix(prefix).unwrap_or(text).trim_start();
        }
        if text == before {
            return text;
        }
    }
}

/// What starts an item on this line, if anything: its name, and whether it
/// is a Rust `const`/`static` (which ends at its `;`, not at a brace).
fn item_start(line: &str, lang: Lang) -> Option<(String, bool)> {
    let trimmed = line.trim();
    match lang {
        Lang::Rust => {
            let rest = strip_prefixes(
                trimmed,
                &[
                    "pub(crate) ",
                    "pub(super) ",
                    "pub ",
                    "async ",
                    "unsafe ",
                    "extern \"C\" ",
                ],
            );
            let rest = if rest.starts_with("const fn ") {
                &rest["const ".len()..]
            } else {
                rest
            };
            if let Some(after) = rest.strip_prefix("fn ") {
                return ident_at(after.trim_start())
                    .map(|name| (name.to_owned(), false));
            }
            // `const X: T = ...` and `static X: T = ...` are constants.
            let constant = rest
                .strip_prefix("const ")
                .or_else(|| rest.strip_prefix("static "))?;
            let constant = constant.strip_prefix("mut ").unwrap_or(constant);
            let name = ident_at(constant)?;
            constant[name.len()..]
                .trim_start()
                .starts_with(':')
                .then(|| (name.to_owned(), true))
        }
        Lang::Js => {
            let rest = strip_prefixes(trimmed, &["export ", "default ", "async "]);
            if let Some(after) = rest.strip_prefix("function") {
                let after = after.trim_start().trim_start_matches('*').trim_start();
                return ident_at(after).map(|name| (name.to_owned(), false));
            }
            if !trimmed.ends_with('{') {
                return None;
            }
            if indent_of(line) == 0 {
                // A top-level statement with a block: a listener, say.
                let keyword = [
                    "class ",
                    "export class ",
                    "if ",
                    "if(",
                    "for ",
                    "for(",
                    "while ",
                    "}",
                ];
                let head = trimmed.trim_end_matches('{').trim_end();
                return (!keyword.iter().any(|k| trimmed.starts_with(k))
                    && !head.is_empty())
                .then(|| (head.to_owned(), false));
            }
            // A method: `name(params) {`, nothing else on the line.
            let rest =
                strip_prefixes(trimmed, &["static ", "async ", "get ", "set "]);
            let name = ident_at(rest)?;
            let keywords = [
                "if", "for", "while", "switch", "catch", "function", "return",
                "with",
            ];
            let method = rest[name.len()..].starts_with('(')
                && trimmed.ends_with(") {")
                && !trimmed.contains("=>");
            (method && !keywords.contains(&name)).then(|| (name.to_owned(), false))
        }
    }
}

/// The type or class a column-0 `impl`/`class` line opens, if any.
fn context_of(line: &str, lang: Lang) -> Option<String> {
    if indent_of(line) != 0 {
        return None;
    }
    let trimmed = line.trim();
    match lang {
        Lang::Rust => {
            let mut rest = trimmed.strip_prefix("impl")?;
            if rest.starts_with('<') {
                let mut depth = 0;
                let end = rest.char_indices().find_map(|(at, c)| {
                    match c {
                        '<' => depth += 1,
                        '>' => depth -= 1,
                        _ => {}
                    }
                    (depth == 0).then_some(at + 1)
                })?;
                rest = &rest[end..];
            } else if !rest.starts_with(' ') {
                return None;
            }
            let rest =
                rest.rsplit_once(" for ").map_or(rest, |(_, ty)| ty).trim_start();
            ident_at(rest).map(str::to_owned)
        }
        Lang::Js => {
            let rest = strip_prefixes(trimmed, &["export ", "default "]);
            ident_at(rest.strip_prefix("class ")?.trim_start()).map(str::to_owned)
        }
    }
}

/// Every item of a source file, nested ones included, named with the type or
/// class around it (`Hub::wait`, `Backoff.failed`).
fn items(source: &str, lang: Lang) -> Vec<Item> {
    let lines: Vec<&str> = source.lines().collect();
    let mut found = Vec::new();
    let mut context: Option<String> = None;
    for (at, line) in lines.iter().enumerate() {
        if indent_of(line) == 0 && line.trim_start().starts_with('}') {
            context = None;
        }
        if let Some(opened) = context_of(line, lang) {
            context = Some(opened);
            continue;
        }
        let Some((name, constant)) = item_start(line, lang) else { continue };
        let indent = indent_of(line);
        let mut end = at;
        if constant {
            // A raw string (the Lua script) ends at its `"#`; anything else at its `;`.
            let raw = line.contains("r#\"");
            end = (at..lines.len())
                .find(|&n| {
                    if raw {
                        n > at && lines[n].contains("\"#")
                    } else {
                        lines[n].trim_end().ends_with(';')
                    }
                })
                .unwrap_or(at);
        } else {
            // The signature ends at the first line that opens the body or is a declaration.
            let opens = (at..lines.len()).find(|&n| {
                let code = code_of(lines[n]).unwrap_or_default();
                code.ends_with('{') || code.ends_with(';') || code.ends_with('}')
            });
            if let Some(opens) = opens {
                let code = code_of(lines[opens]).unwrap_or_default();
                end = opens;
                if code.ends_with('{') {
                    end = (opens + 1..lines.len())
                        .find(|&n| {
                            let l = lines[n];
                            (indent_of(l) == indent
                                && l.trim_start().starts_with('}'))
                                || (!l.trim().is_empty() && indent_of(l) < indent)
                        })
                        .unwrap_or(lines.len() - 1);
                }
            }
        }
        let separator = if lang == Lang::Rust { "::" } else { "." };
        let name = match &context {
            Some(ty) if indent > 0 => format!("{ty}{separator}{name}"),
            _ => name,
        };
        found.push(Item {
            name,
            lines: lines[at..=end].iter().map(|l| l.to_string()).collect(),
        });
    }
    found
}

fn code_lines(lines: &[String]) -> Vec<String> {
    lines.iter().filter_map(|l| code_of(l)).collect()
}

/// The source files of a crate: `src/**/*.rs` and the JavaScript beside `Cargo.toml`.
fn source_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name =
                path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && name != "tests" && name != "node_modules" {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") || name.ends_with(".js") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// Every TODO item of an exercise, from its starter and its solution.
fn todos(exercise: &Exercise) -> Vec<Todo> {
    let starter_dir = root().join(exercise.starter_dir());
    let solution_dir = root().join(exercise.solution_dir());
    let mut found = Vec::new();
    for starter_path in source_files(&starter_dir) {
        let relative =
            starter_path.strip_prefix(&starter_dir).unwrap().to_path_buf();
        let solution_path = solution_dir.join(&relative);
        if !solution_path.is_file() {
            continue;
        }
        let starter = read(&starter_path);
        if !starter.contains("todo!(") && !starter.contains("TODO") {
            continue;
        }
        let solution = read(&solution_path);
        let lang = if relative.extension().is_some_and(|e| e == "rs") {
            Lang::Rust
        } else {
            Lang::Js
        };
        let starter_items = items(&starter, lang);
        let starter_lines: BTreeSet<String> =
            starter.lines().filter_map(code_of).collect();
        for item in items(&solution, lang) {
            let before = starter_items.iter().find(|s| s.name == item.name);
            if before.is_some_and(|before| {
                code_lines(&before.lines) == code_lines(&item.lines)
            }) {
                continue; // given: the same code in both
            }
            let signature = code_of(&item.lines[0]).unwrap_or_default();
            let signature = signature.trim_end_matches('{').trim_end().to_owned();
            let mut distinctive = Vec::new();
            for line in code_lines(&item.lines[1..]) {
                if line.chars().count() >= DISTINCTIVE_CHARS
                    && !starter_lines.contains(&line)
                    && !distinctive.contains(&line)
                {
                    distinctive.push(line);
                }
            }
            let old: Vec<String> =
                before.map(|b| code_lines(&b.lines)).unwrap_or_default();
            let mut near_signature = Vec::new();
            for line in code_lines(&item.lines[1..]) {
                if line.chars().count() > 1
                    && !old.contains(&line)
                    && !near_signature.contains(&line)
                {
                    near_signature.push(line);
                }
            }
            found.push(Todo {
                name: item.name,
                starter_file: exercise.starter_dir().join(&relative),
                signature,
                distinctive,
                near_signature,
                span: normalise(&item.lines.join("\n")).len(),
                source: item.lines,
            });
        }
    }
    found
}

// ---------------------------------------------------------------------------
// What a chapter shows unfolded
// ---------------------------------------------------------------------------

/// The chapter without its `<details>` ... `</details>` blocks.
fn without_details(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut rest = text;
    loop {
        let open = rest.find("<details");
        let close = rest.find("</details>");
        match (open, close) {
            (Some(o), Some(c)) if o < c => {
                if depth == 0 {
                    out.push_str(&rest[..o]);
                }
                depth += 1;
                rest = &rest[o + "<details".len()..];
            }
            (_, Some(c)) => {
                if depth == 0 {
                    // A stray `</details>`: keep what came before it.
                    out.push_str(&rest[..c]);
                }
                depth = depth.saturating_sub(1);
                rest = &rest[c + "</details>".len()..];
            }
            (Some(o), None) => {
                // An unclosed `<details>` folds the rest, as a browser would.
                if depth == 0 {
                    out.push_str(&rest[..o]);
                }
                return out;
            }
            (None, None) => {
                if depth == 0 {
                    out.push_str(rest);
                }
                return out;
            }
        }
    }
}

/// The lines `{{#include path[:anchor | :from:to]}}` shows, as mdBook does.
fn included(source: &str, selector: Option<&str>) -> Vec<String> {
    let lines: Vec<&str> = source.lines().collect();
    let shown: Vec<&str> = match selector.map(str::trim).filter(|s| !s.is_empty()) {
        None => lines,
        Some(range)
            if range.starts_with(|c: char| c.is_ascii_digit() || c == ':') =>
        {
            let number = |s: &str| s.trim().parse::<usize>().ok();
            let (from, to) = match range.split_once(':') {
                Some((from, to)) => {
                    (number(from).unwrap_or(1), number(to).unwrap_or(lines.len()))
                }
                None => (number(range).unwrap_or(1), number(range).unwrap_or(1)),
            };
            let (from, to) = (from.max(1), to.min(lines.len()));
            if from > to { Vec::new() } else { lines[from - 1..to].to_vec() }
        }
        Some(anchor) => {
            let marks = |line: &str, mark: &str| {
                line.split(mark).nth(1).is_some_and(|after| {
                    ident_at(after.trim_start()) == Some(anchor)
                })
            };
            let start = lines.iter().position(|l| marks(l, "ANCHOR:"));
            match start {
                Some(start) => lines[start + 1..]
                    .iter()
                    .copied()
                    .take_while(|l| !marks(l, "ANCHOR_END:"))
                    .collect(),
                None => Vec::new(),
            }
        }
    };
    shown
        .into_iter()
        .filter(|l| !l.contains("ANCHOR:") && !l.contains("ANCHOR_END:"))
        .map(str::to_owned)
        .collect()
}

/// `text` with every `{{#include ...}}` (and `{{#rustdoc_include ...}}`) replaced
/// by what it shows. Paths are relative to `dir`, the chapter's folder.
fn expand_includes(text: &str, dir: &Path) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("{{#") {
        let (before, from) = rest.split_at(at);
        let Some(end) = from.find("}}") else { break };
        let directive = &from[3..end];
        let escaped = before.ends_with('\\');
        let (command, spec) = directive
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((directive.trim(), ""));
        out.push_str(before);
        if escaped || !matches!(command, "include" | "rustdoc_include") {
            out.push_str(&from[..end + 2]);
        } else {
            let spec = spec.trim();
            let (path, selector) =
                spec.split_once(':').map_or((spec, None), |(p, s)| (p, Some(s)));
            // rustdoc_include puts the whole file on the page (hidden lines can be shown).
            let selector =
                if command == "rustdoc_include" { None } else { selector };
            let source = fs::read_to_string(dir.join(path)).unwrap_or_default();
            out.push_str(&included(&source, selector).join("\n"));
        }
        rest = &from[end + 2..];
    }
    out.push_str(rest);
    out
}

/// What a reader sees without opening anything, normalised.
fn unfolded(chapter: &Path) -> String {
    let text = read(chapter);
    normalise(&expand_includes(&without_details(&text), chapter.parent().unwrap()))
}

/// How `page` shows `todo`, if it does: a sentence for the failure message.
fn shows(page: &str, todo: &Todo) -> Option<String> {
    if todo.distinctive.is_empty() {
        // Every line is elsewhere in the starter: look right after the signature.
        let follows = page.match_indices(&todo.signature).any(|(at, _)| {
            let window: String = page[at..].chars().take(todo.span * 2).collect();
            !todo.near_signature.is_empty()
                && todo
                    .near_signature
                    .iter()
                    .all(|line| window.contains(line.as_str()))
        });
        return follows.then(|| {
            format!("its signature followed by `{}`", todo.near_signature.join(" "))
        });
    }
    let shown: Vec<&String> = todo
        .distinctive
        .iter()
        .filter(|line| page.contains(line.as_str()))
        .collect();
    let needed = todo.distinctive.len().min(2);
    let with_signature =
        needed > 0 && shown.len() >= needed && page.contains(&todo.signature);
    let most =
        todo.distinctive.len() >= 3 && shown.len() * 2 > todo.distinctive.len();
    (with_signature || most).then(|| {
        format!(
            "{}{} of its {} finished lines, e.g. `{}`",
            if page.contains(&todo.signature) { "its signature and " } else { "" },
            shown.len(),
            todo.distinctive.len(),
            shown[0]
        )
    })
}

// ---------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------

/// The chapters teach; the solutions are folded. A learner who copies the
/// open text of a chapter must not pass the spec.
#[test]
fn chapters_unfold_no_code_the_learner_writes() {
    let mut problems = Vec::new();
    let mut total = 0;
    for exercise in course().exercises {
        let todos = todos(&exercise);
        println!("{}: {} TODO items", exercise.slug, todos.len());
        for todo in &todos {
            println!(
                "  {} in {} ({} distinctive lines, {} new beside the starter's)",
                todo.name,
                todo.starter_file.display(),
                todo.distinctive.len(),
                todo.near_signature.len()
            );
        }
        assert!(
            !todos.is_empty(),
            "found no TODO items for {}: the starter in {} should leave `todo!()`s or TODOs for the learner, and \
             this check should find them (is the starter the same as {}?)",
            exercise.slug,
            exercise.starter_dir().display(),
            exercise.solution_dir().display()
        );
        total += todos.len();
        // The chapter, and its Going deeper page, which a learner may read first.
        let mut pages = vec![root().join(exercise.chapter_path())];
        pages.extend(Some(going_deeper(&exercise)).filter(|path| path.is_file()));
        for path in pages {
            let page = unfolded(&path);
            for todo in &todos {
                if let Some(how) = shows(&page, todo) {
                    problems.push(format!(
                        "{} shows the finished code of `{}` outside <details> ({how}). {} leaves it to the \
                         learner: explain the idea in the open text, and fold the code at the end of its \
                         section under <details><summary>Solution: ...</summary>.",
                        path.strip_prefix(root()).unwrap_or(&path).display(),
                        todo.name,
                        todo.starter_file.display()
                    ));
                }
            }
        }
    }
    assert!(
        total > 0,
        "found no TODO items in any exercise, so this check checked nothing"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Every starter function that is still `todo!()` is one of the items the
/// check looks for, and each can be recognised: the check cannot pass by
/// failing to see what the learner writes.
#[test]
fn every_todo_is_found_and_recognisable() {
    for exercise in course().exercises {
        let todos = todos(&exercise);
        let starter_dir = root().join(exercise.starter_dir());
        for path in source_files(&starter_dir) {
            let lang = if path.extension().is_some_and(|e| e == "rs") {
                Lang::Rust
            } else {
                Lang::Js
            };
            for item in items(&read(&path), lang) {
                let body = item.lines[1..].join("\n");
                if body.contains("todo!(") || body.contains("throw new Error(\"TODO")
                {
                    assert!(
                        todos.iter().any(|t| t.name == item.name),
                        "{} leaves `{}` as a TODO, but the book check does not count it as one: is it missing \
                         from {}?",
                        path.strip_prefix(root()).unwrap_or(&path).display(),
                        item.name,
                        exercise.solution_dir().display()
                    );
                }
            }
        }
        for todo in &todos {
            assert!(
                !todo.distinctive.is_empty() || !todo.near_signature.is_empty(),
                "`{}` in {} has no line of its own the check could recognise it by",
                todo.name,
                todo.starter_file.display()
            );
            // Pasted in the open, it is caught; folded, it is not.
            let pasted =
                format!("Some text.\n\n```\n{}\n```\n", todo.source.join("\n"));
            assert!(
                shows(&normalise(&pasted), todo).is_some(),
                "the check does not recognise `{}` ({}) even when its whole code is pasted",
                todo.name,
                todo.starter_file.display()
            );
            let folded = format!(
                "<details>\n<summary>Solution</summary>\n{pasted}\n</details>\n"
            );
            assert!(
                shows(&normalise(&without_details(&folded)), todo).is_none(),
                "the check should let `{}` be shown inside <details>",
                todo.name
            );
        }
    }
}

/// Includes are expanded as mdBook does: by anchor, by line range, and not
/// inside `<details>`.
#[test]
fn includes_are_expanded_like_mdbook() {
    let source = "one\n// ANCHOR: a\ntwo\n// ANCHOR: b\nthree\n// ANCHOR_END: b\n// ANCHOR_END: a\nfour\n";
    assert_eq!(included(source, Some("a")), ["two", "three"]);
    assert_eq!(included(source, Some("b")), ["three"]);
    assert_eq!(included(source, Some("1:3")), ["one", "two"]);
    assert_eq!(included(source, Some("8")), ["four"]);
    assert_eq!(included(source, Some("7:")), ["four"]);
    assert_eq!(included(source, None).len(), 4);
    let text = "a\n<details>\n<summary>x</summary>\n\nhidden\n\n</details>\nb\n";
    assert_eq!(normalise(&without_details(text)), "a b");
    let dir = root().join("book/src");
    let expanded = expand_includes(
        "x\n{{#include ../../solutions/05-dont-ddos-yourself/src/view.rs:poll}}\ny",
        &dir,
    );
    assert!(
        expanded.contains("pub fn poll(&self, cursor: Option<Cursor>) -> Bytes {"),
        "{expanded}"
    );
}

// ---------------------------------------------------------------------------
// Quoted figures
// ---------------------------------------------------------------------------
//
// The measured numbers live in the generated tables of `book/src/figures/`
// (`cargo run -p book-figures` and the benchmarks write them), and a page
// shows them with `{{#include figures/....md}}`. When prose quotes one of
// them ("87,801 req/s", "19.4 µs"), the quote must still be in a table the
// page includes: a figure drawn again, or a benchmark run again, must not
// leave the text saying what the table no longer does.
//
// To stay free of false alarms, the check reads only the sentences that say
// they quote a measurement (they contain one of `QUOTE_MARKERS`, or a ratio
// written as the tables write it, `×2.5`), and in them only the numbers
// written as measured quantities: with a thousands
// separator (`19,681`), as a ratio (`×2.5`), with one of the tables' units
// (`63,535 req/s`, `9.8 ms`, `46 B`, `2.4 requests a minute`), or in seconds
// with a decimal point (`29.9 s`). A constant that the text explains ("30 s",
// "500 characters", "port 3000") is none of those. A number worked out from
// the table shows its arithmetic and is exempt: one that follows `=` or `≈`
// ("60 / 25 = 2.4 requests a minute").

/// Words that mark a sentence as quoting a measurement.
/// ("in the table", not "the table": a hash table is a table too.)
const QUOTE_MARKERS: &[&str] = &[
    "measured",
    "in the table",
    "the table's",
    "this table",
    "table above",
    "table below",
    "req/s",
    "µs",
];

/// The units the generated tables give measured quantities in.
const UNITS: &[&str] = &[
    "req/s",
    "requests a minute",
    "requests per minute",
    "µs",
    "ms",
    "KiB",
    "MiB",
    "GiB",
    "bytes",
    "B",
];

/// Whether a sentence says it quotes a measurement.
fn quotes_a_measurement(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    QUOTE_MARKERS.iter().any(|marker| lower.contains(marker))
        || sentence.match_indices('×').any(|(at, _)| {
            sentence[at + '×'.len_utf8()..].starts_with(|c: char| c.is_ascii_digit())
        })
}

/// A number as the tables and the prose may write it: `87,801` and `87801`,
/// `3.0` and `3`, are the same.
fn number_value(text: &str) -> Option<f64> {
    text.replace(',', "").parse::<f64>().ok()
}

/// Every number in `text`, with where it starts and ends: digits, with
/// thousands separators in groups of three and a decimal part.
fn numbers_in(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let starts = bytes[at].is_ascii_digit()
            && (at == 0
                || !(bytes[at - 1].is_ascii_alphanumeric()
                    || bytes[at - 1] == b'.'));
        if !starts {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            at += 1;
        }
        // `,ddd` groups, then `.d+`; a comma or point not followed by digits ends it.
        while bytes.get(at) == Some(&b',')
            && bytes
                .get(at + 1..at + 4)
                .is_some_and(|g| g.iter().all(u8::is_ascii_digit))
            && !bytes.get(at + 4).is_some_and(u8::is_ascii_digit)
        {
            at += 4;
        }
        if bytes.get(at) == Some(&b'.')
            && bytes.get(at + 1).is_some_and(u8::is_ascii_digit)
        {
            at += 1;
            while at < bytes.len() && bytes[at].is_ascii_digit() {
                at += 1;
            }
        }
        if bytes.get(at).is_some_and(|b| b.is_ascii_alphabetic()) {
            // `p50`, `1st`, `0x1f`: part of a word, not a quantity.
            while at < bytes.len() && bytes[at].is_ascii_alphanumeric() {
                at += 1;
            }
            continue;
        }
        found.push((start, at));
    }
    found
}

/// The measured quantities a sentence quotes: the text of each, as written,
/// leaving out those it works out itself (after `=` or `≈`).
fn quoted_quantities(sentence: &str) -> Vec<String> {
    let mut quoted = Vec::new();
    for (start, end) in numbers_in(sentence) {
        let number = &sentence[start..end];
        let before = sentence[..start].trim_end();
        if before.ends_with('=') || before.ends_with('≈') {
            continue; // derived, and the arithmetic is in the sentence
        }
        let after = sentence[end..].trim_start();
        let unit = UNITS.iter().find(|unit| {
            after.starts_with(*unit)
                && !after[unit.len()..].starts_with(|c: char| c.is_alphanumeric())
        });
        let ratio = sentence[..start].ends_with('×');
        let separated = number.contains(',');
        let seconds = number.contains('.')
            && after.starts_with('s')
            && !after[1..].starts_with(|c: char| c.is_alphanumeric());
        if let Some(unit) = unit {
            quoted.push(format!("{number} {unit}"));
        } else if ratio {
            quoted.push(format!("×{number}"));
        } else if separated || seconds {
            quoted.push(if seconds {
                format!("{number} s")
            } else {
                number.to_owned()
            });
        }
    }
    quoted
}

/// The page's prose, one sentence at a time: without code blocks, code
/// spans, includes, tables, images and HTML tags, with its whitespace
/// normalised.
fn sentences(page: &str) -> Vec<String> {
    let mut paragraphs: Vec<String> = vec![String::new()];
    let mut fenced = false;
    for line in page.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            paragraphs.push(String::new());
            continue;
        }
        let skipped = fenced
            || trimmed.starts_with('|')
            || trimmed.starts_with("{{#")
            || trimmed.starts_with("![")
            || trimmed.starts_with('<')
            || trimmed.starts_with('#');
        if skipped || trimmed.is_empty() {
            paragraphs.push(String::new());
            continue;
        }
        // A list item starts a paragraph of its own.
        let item = trimmed.starts_with("- ")
            || trimmed
                .split_once(". ")
                .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()));
        if item {
            paragraphs.push(String::new());
        }
        let last = paragraphs.last_mut().unwrap();
        last.push(' ');
        last.push_str(trimmed);
    }
    let mut out = Vec::new();
    for paragraph in paragraphs {
        // Code spans are code, not quotes.
        let mut prose = String::new();
        for (n, piece) in paragraph.split('`').enumerate() {
            if n % 2 == 0 {
                prose.push_str(piece);
            } else {
                prose.push_str("(code)");
            }
        }
        let prose = normalise(&prose);
        let mut sentence = String::new();
        let chars: Vec<char> = prose.chars().collect();
        for (at, &c) in chars.iter().enumerate() {
            sentence.push(c);
            let ends = matches!(c, '.' | '?' | '!' | ':' | ';')
                && chars.get(at + 1) == Some(&' ')
                && chars.get(at + 2).is_some_and(|n| n.is_uppercase() || *n == '*');
            if ends {
                out.push(std::mem::take(&mut sentence).trim().to_owned());
            }
        }
        if !sentence.trim().is_empty() {
            out.push(sentence.trim().to_owned());
        }
    }
    out
}

/// The figures a page includes: `{{#include figures/x.md}}`, by file name.
fn included_figures(page: &str) -> Vec<String> {
    page.split("{{#include ")
        .skip(1)
        .filter_map(|rest| rest.split("}}").next())
        .map(|spec| spec.trim().split(':').next().unwrap_or("").to_owned())
        .filter(|path| path.starts_with("figures/") && path.ends_with(".md"))
        .collect()
}

/// What is wrong with the figures `page` quotes, given the text of the
/// figures it includes: one sentence per quote that none of them holds.
fn misquoted_figures(page: &str, figures: &[String]) -> Vec<String> {
    let measured: Vec<f64> = figures
        .iter()
        .flat_map(|figure| {
            numbers_in(figure)
                .into_iter()
                .filter_map(|(start, end)| number_value(&figure[start..end]))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut problems = Vec::new();
    for sentence in sentences(page) {
        if !quotes_a_measurement(&sentence) {
            continue;
        }
        for quantity in quoted_quantities(&sentence) {
            let digits: String = quantity
                .trim_start_matches('×')
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
                .collect();
            let value = number_value(&digits);
            if !value.is_some_and(|value| measured.contains(&value)) {
                problems.push(format!("\"{quantity}\" in: {sentence}"));
            }
        }
    }
    problems
}

/// A sentence that quotes a measurement quotes a table the page includes, as
/// the table says it now.
#[test]
fn quoted_figures_are_in_the_tables() {
    let dir = root().join("book/src");
    let mut pages: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("book/src is readable")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in pages {
        let page = read(&path);
        let figures = included_figures(&page);
        if figures.is_empty() {
            continue;
        }
        let tables: Vec<String> =
            figures.iter().map(|f| read(&dir.join(f))).collect();
        let name = path.strip_prefix(root()).unwrap_or(&path).display().to_string();
        for sentence in sentences(&page) {
            if quotes_a_measurement(&sentence) {
                let quantities = quoted_quantities(&sentence);
                if !quantities.is_empty() {
                    println!("{name}: {}", quantities.join(", "));
                }
                checked += quantities.len();
            }
        }
        for problem in misquoted_figures(&page, &tables) {
            problems.push(format!(
                "{name} quotes {problem}\n  No figure it includes ({}) holds that number. Quote the table as \
                 it is now, or show the arithmetic (`60 / 25 = 2.4`), or keep a constant out of the \
                 sentence that quotes the table.",
                figures.join(", ")
            ));
        }
    }
    assert!(
        checked > 0,
        "found no quoted figure in the book, so this check checked nothing"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The check above is not blind: a number the table does not hold fails it,
/// and the constants and worked numbers it must leave alone pass.
#[test]
fn a_misquoted_figure_fails_the_check() {
    // A table as the load benchmark writes one, fixed here so that running
    // the benchmark again does not change this test.
    let table = "| Answer | Status, body | 50 connections: req/s, p50 / p99, vs. exercise 01 |\n\
                 |---|---|---|\n\
                 | serialized on every poll (exercise 01) | 200, 5400 B | 25456, 2.02 / 2.35 ms, ×1.0 |\n\
                 | serialized once per change | 200, 5436 B | 63535, 0.80 / 1.02 ms, ×2.5 |\n"
        .to_owned();
    let tables = [table];
    let right = "Measured, the cached answer served 63,535 req/s at 50 connections, with a \
                 p50 of 0.80 ms.\n";
    assert_eq!(misquoted_figures(right, &tables), Vec::<String>::new());
    let wrong =
        "Measured, the cached answer served 63,536 req/s at 50 connections.\n";
    let found = misquoted_figures(wrong, &tables);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("63,536 req/s"), "{found:?}");
    // "The table" alone may be a hash table: its sentence is not read.
    let hash_table = "The store keeps its keys beside the table, at most 10,000.\n";
    assert_eq!(misquoted_figures(hash_table, &tables), Vec::<String>::new());
    let wrong_ratio = "Serialized once, the answer serves ×2.6 as many.\n";
    assert_eq!(misquoted_figures(wrong_ratio, &tables).len(), 1);
    let right_ratio = "Serialized once, the answer serves ×2.5 as many, over 2 × 25 connections.\n";
    assert_eq!(misquoted_figures(right_ratio, &tables), Vec::<String>::new());
    // Constants the text explains, and numbers worked out in the sentence.
    let constants = "Measured over 10 s runs, with 500 characters a message, a 30 s cap and \
                     port 3000: one poll per 25 s is 60 / 25 = 2.4 requests a minute, and \
                     `8 KiB` is code.\n";
    assert_eq!(misquoted_figures(constants, &tables), Vec::<String>::new());
    // Only sentences that say they quote a measurement are read.
    let unmarked = "A chat message is about 5,400 bytes of JSON for 50 messages.\n";
    assert_eq!(misquoted_figures(unmarked, &tables), Vec::<String>::new());
    // Code blocks and tables in the chapter's own text are not prose.
    let code =
        "Measured:\n\n```text\n63,536 req/s\n```\n\n| measured | 63,536 req/s |\n";
    assert_eq!(misquoted_figures(code, &tables), Vec::<String>::new());
    assert_eq!(
        quoted_quantities(
            "at 87,801 req/s, ×4.1, 46 B and 29.9 s, in 5 s, p50 of 2"
        ),
        ["87,801 req/s", "×4.1", "46 B", "29.9 s"]
    );
}

// ---------------------------------------------------------------------------
// Reading time
// ---------------------------------------------------------------------------
//
// In class, an exercise chapter is read in the minutes its row of the
// instructors' timing table gives it ("Read (15)", in book/src/instructors.md).
// Its running prose must fit them at `WORDS_PER_MINUTE`. Measurement and
// tuning live on the chapter's Going deeper page (`<slug>-going-deeper.md`),
// which is read after class, and has no budget.
//
// What counts, precisely: the chapter's text without its `<details>` ...
// `</details>` folds (hints and solutions, opened on demand), without fenced
// code blocks (listings, traces, commands), and without the lines that are a
// table row (`|`), a heading (`#`), an image (`![`), an `{{#include}}`, or a
// link definition (`[name]: url`). In the lines left, HTML tags (`<b>`,
// `</details>`, an autolink `<http://...>`), link targets (`](url)`) and note
// markers (`[!NOTE]`) are dropped. A word is then a whitespace-separated piece
// with at least one letter or digit in it; a code span counts as its words.

/// How fast a chapter is read in class: a careful, technical pace.
const WORDS_PER_MINUTE: usize = 200;

/// The words of a chapter's running prose, as the comment above says.
fn running_prose(chapter: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut fenced = false;
    for line in without_details(chapter).lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let link_definition = trimmed.starts_with('[') && trimmed.contains("]: ");
        let skipped = fenced
            || trimmed.starts_with('|')
            || trimmed.starts_with('#')
            || trimmed.starts_with("![")
            || trimmed.starts_with("{{#")
            || link_definition;
        if skipped {
            continue;
        }
        let text =
            without_tags(&without_link_targets(trimmed)).replace("[!NOTE]", "");
        let text = text.replace("[!WARNING]", "");
        words.extend(
            text.split_whitespace()
                .filter(|word| word.chars().any(char::is_alphanumeric))
                .map(str::to_owned),
        );
    }
    words
}

/// `text` without its HTML tags: `<` followed by a letter or `/`, to the next `>`.
fn without_tags(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('<') {
        let after = &rest[at + 1..];
        let tag = after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/');
        match after.find('>').filter(|_| tag) {
            Some(end) => {
                out.push_str(&rest[..at]);
                out.push(' ');
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[..=at]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` with each `[words](target)` kept as `[words]`.
fn without_link_targets(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        out.push_str(&rest[..=at]);
        let target = &rest[at + 2..];
        match target.find(')') {
            Some(end) => rest = &target[end + 1..],
            None => {
                rest = target;
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The reading minutes of an exercise in the instructors' timing table: the
/// `N` of `Read (N)` in the row whose first cell starts with `label`
/// (`05 Don't DDoS yourself`).
fn read_minutes(instructors: &str, label: &str) -> Option<usize> {
    instructors.lines().find_map(|line| {
        let cells: Vec<&str> = line.trim().strip_prefix('|')?.split('|').collect();
        if !cells.first()?.trim().starts_with(label) {
            return None;
        }
        let after = line.split("Read (").nth(1)?;
        after.split(')').next()?.trim().parse().ok()
    })
}

/// What is wrong with a chapter's length, if anything: a sentence for the
/// failure message.
fn over_reading_time(name: &str, chapter: &str, minutes: usize) -> Option<String> {
    let words = running_prose(chapter).len();
    let budget = minutes * WORDS_PER_MINUTE;
    (words > budget).then(|| {
        format!(
            "{name} has {words} words of running prose, {} over its budget of {budget}: {minutes} Read \
             minutes in book/src/instructors.md's timing table, at {WORDS_PER_MINUTE} words a minute. Move \
             measurement and tuning (load and instruction tables, profiles, capacity, sweeps) to the \
             chapter's Going deeper page, and tighten the rest. If the chapter truly needs more, raise its \
             Read minutes in instructors.md and its `minutes` in course.toml by the same amount, keep the \
             page's totals in step, and say why on the instructors' page.",
            words - budget
        )
    })
}

/// The Going deeper page of an exercise, if it has one.
fn going_deeper(exercise: &Exercise) -> PathBuf {
    root().join("book/src").join(format!("{}-going-deeper.md", exercise.slug))
}

/// Each exercise chapter's running prose fits the Read minutes the
/// instructors' timing table gives it.
#[test]
fn each_chapter_fits_its_reading_time() {
    let instructors = read(&root().join("book/src/instructors.md"));
    let mut problems = Vec::new();
    for exercise in course().exercises {
        let label = format!("{:02} {}", exercise.number, exercise.title);
        let minutes = read_minutes(&instructors, &label).unwrap_or_else(|| {
            panic!(
                "book/src/instructors.md's timing table has no row starting `| {label}` with `Read (N)` in it: \
                 the reading time of {} is what its chapter is held to",
                exercise.slug
            )
        });
        let name = format!("book/src/{}", exercise.chapter);
        let chapter = read(&root().join(&name));
        println!(
            "{name}: {} words of running prose, budget {} ({minutes} min)",
            running_prose(&chapter).len(),
            minutes * WORDS_PER_MINUTE
        );
        problems.extend(over_reading_time(&name, &chapter, minutes));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The reading-time check is not blind: prose over the budget fails it, and
/// what a reader does not read line by line (code, tables, folds, headings,
/// includes, tags, link targets) does not count.
#[test]
fn a_chapter_over_its_reading_time_fails() {
    let instructors = "| Segment | Minutes | What happens |\n|---|---|---|\n\
                       | 01 The poll endpoint | 50 | Read (10): the API table. Code (30). |\n\
                       | 02 Chain setTimeout | 35 | Read (10), code (15), wrap-up (10). |\n";
    assert_eq!(read_minutes(instructors, "01 The poll endpoint"), Some(10));
    assert_eq!(read_minutes(instructors, "02 Chain setTimeout"), Some(10));
    assert_eq!(read_minutes(instructors, "03 Pause while hidden"), None);

    let prose = |words: usize| format!("{}\n", vec!["word"; words].join(" "));
    let at_budget = prose(2000);
    assert_eq!(running_prose(&at_budget).len(), 2000);
    assert_eq!(over_reading_time("ch.md", &at_budget, 10), None);
    let over = prose(2001);
    let found = over_reading_time("ch.md", &over, 10)
        .expect("2,001 words in 10 minutes fail");
    assert!(
        found.contains("ch.md has 2001 words") && found.contains("budget of 2000"),
        "{found}"
    );
    assert!(
        found.contains("Going deeper") && found.contains("course.toml"),
        "{found}"
    );

    // None of this is running prose, however long.
    let many = vec!["measured"; 500].join(" ");
    let unread = format!(
        "# A heading of {many}\n\n\
         ```text\n{many}\n```\n\n\
         - a list:\n\n   ```console\n   {many}\n   ```\n\n\
         | Table | {many} |\n|---|---|\n| row | {many} |\n\n\
         <details>\n<summary>Solution: {many}</summary>\n\n{many}\n\n</details>\n\n\
         {{{{#include figures/05-load-benchmark.md}}}}\n\n\
         ![{many}](figures/04-fleet.svg)\n\n\
         [rfc6202]: https://www.rfc-editor.org/rfc/rfc6202\n"
    );
    assert_eq!(running_prose(&unread), ["a", "list:"]);
    let padded = format!("{at_budget}\n{unread}");
    assert_eq!(running_prose(&padded).len(), 2002);
    assert_eq!(
        over_reading_time("ch.md", &format!("{}\n{unread}", prose(1998)), 10),
        None
    );
    // Tags, link targets and note markers are not words; code spans are.
    assert_eq!(
        running_prose(
            "> [!NOTE]\n> See [the tests](running-the-tests.md#the-virtual-browser), \
             <b>now</b>: `cargo test` at <http://127.0.0.1:3000> — done.\n"
        ),
        ["See", "[the", "tests],", "now", "`cargo", "test`", "at", "done."]
    );
}

/// Each Going deeper page belongs to an exercise, and the two link each other:
/// the chapter ends by pointing at it, and it starts by pointing back.
#[test]
fn going_deeper_pages_are_linked_from_their_chapters() {
    let course = course();
    let mut found = 0;
    for file in fs::read_dir(root().join("book/src"))
        .expect("book/src is readable")
        .flatten()
    {
        let name = file.file_name().to_string_lossy().into_owned();
        let Some(slug) = name.strip_suffix("-going-deeper.md") else { continue };
        let exercise = course.exercises.iter().find(|e| e.slug == slug).unwrap_or_else(|| {
            panic!("book/src/{name} is named for {slug}, which is no exercise in course.toml")
        });
        found += 1;
        let chapter = read(&root().join("book/src").join(&exercise.chapter));
        assert!(
            chapter.contains(&format!("]({name})")),
            "book/src/{} should link to its Going deeper page, {name}, near its end",
            exercise.chapter
        );
        assert!(
            read(&going_deeper(exercise))
                .contains(&format!("]({})", exercise.chapter)),
            "book/src/{name} should link back to its chapter, {}",
            exercise.chapter
        );
    }
    assert!(
        found > 0,
        "found no Going deeper page (book/src/<slug>-going-deeper.md)"
    );
}
