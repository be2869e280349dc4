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
        let chapter = root().join(exercise.chapter_path());
        let page = unfolded(&chapter);
        for todo in &todos {
            if let Some(how) = shows(&page, todo) {
                problems.push(format!(
                    "{} shows the finished code of `{}` outside <details> ({how}). {} leaves it to the learner: \
                     explain the idea in the open text, and fold the code at the end of its section under \
                     <details><summary>Solution: ...</summary>.",
                    exercise.chapter_path().display(),
                    todo.name,
                    todo.starter_file.display()
                ));
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
        "x\n{{#include ../../solutions/05-dont-ddos-yourself/src/store.rs:poll}}\ny",
        &dir,
    );
    assert!(
        expanded.contains("pub fn poll(&self, cursor: Option<Cursor>) -> Bytes {"),
        "{expanded}"
    );
}
