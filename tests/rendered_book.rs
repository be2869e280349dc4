//! The book as readers see it: built with the same mdBook library the
//! workshop serves it with (`home::build_book`), and checked as HTML. The
//! Markdown checks in `book.rs` read the sources; these read what the reader
//! gets, where a paragraph inside a table or a wide line inside a list shows.
//!
//! - no table row that ended up as text in a paragraph (a `|` in a `<p>`);
//! - no include or other preprocessor directive left unexpanded (`{{#`);
//! - no code block wider than the page (85 columns), wherever it stands;
//! - every link inside the book reaches a page, and every `#anchor` an id.
//!
//! Each check is a function of the rendered pages, and each has a test that
//! plants its fault in a small book of its own and sees it caught.

use polling_workshop::home;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The widest line a code block may have: the book's page holds 85 columns.
const PAGE_WIDTH: usize = 85;

/// The course's book, built once for every test in this file.
fn course_book() -> &'static Pages {
    static PAGES: OnceLock<Pages> = OnceLock::new();
    PAGES.get_or_init(|| {
        let root = polling_workshop::course::root();
        let into = scratch("course");
        home::build_book(root, &into).expect("the book builds");
        Pages::read(&into)
    })
}

/// A fresh folder under the system's temporary one, for this process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("rendered-book-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The rendered pages: path below the build folder -> HTML. mdBook's own
/// pages (the print view, the 404 page, the table of contents) are left
/// out: they repeat the chapters or are mdBook's.
struct Pages(BTreeMap<String, String>);

impl Pages {
    fn read(dir: &Path) -> Pages {
        let mut pages = BTreeMap::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(folder) = stack.pop() {
            for entry in std::fs::read_dir(&folder).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let name = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let ours = name.ends_with(".html")
                    && !["print.html", "404.html", "toc.html"]
                        .contains(&name.as_str());
                if ours {
                    pages.insert(name, std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        Pages(pages)
    }

    /// Each page's main content: what mdBook puts inside `<main>`
    /// (`index.html` is a copy of the first page, so it is left out here).
    fn mains(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter(|(name, _)| name.as_str() != "index.html").map(
            |(name, html)| {
                let main = html
                    .split_once("<main>")
                    .map_or(html.as_str(), |(_, rest)| rest);
                let main = main.split_once("</main>").map_or(main, |(main, _)| main);
                (name.as_str(), main)
            },
        )
    }
}

/// The text of `html` without its tags, entities decoded.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// Every element `<tag ...>...</tag>` in `html` (not nested in itself).
fn elements<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        // `<pre` is not `<p`: the tag's name must end there.
        if !after.starts_with(['>', ' ']) {
            rest = after;
            continue;
        }
        let Some(end) = after.find(&close) else { break };
        // The element's content: after its opening tag's `>`.
        let content = &after[..end];
        found.push(content.split_once('>').map_or(content, |(_, inside)| inside));
        rest = &after[end + close.len()..];
    }
    found
}

/// Paragraphs that hold a table row as text: a table cut in two by a
/// paragraph between its rows renders the rows after it as `| a | b |`.
fn table_rows_in_paragraphs(pages: &Pages) -> Vec<String> {
    let mut found = Vec::new();
    for (name, main) in pages.mains() {
        for paragraph in elements(main, "p") {
            let text = text_of(paragraph);
            if text.lines().any(|line| {
                line.trim_start().starts_with('|') && line.matches('|').count() >= 2
            }) {
                found.push(format!(
                    "{name}: a table row in a paragraph: {}",
                    text.trim()
                ));
            }
        }
    }
    found
}

/// Directives a preprocessor should have replaced, left in the page.
fn unexpanded_directives(pages: &Pages) -> Vec<String> {
    let mut found = Vec::new();
    for (name, main) in pages.mains() {
        for line in text_of(main).lines().filter(|line| line.contains("{{#")) {
            found.push(format!("{name}: {}", line.trim()));
        }
    }
    found
}

/// Lines of code blocks wider than the page, with the page and the line.
fn wide_code_lines(pages: &Pages) -> Vec<String> {
    let mut found = Vec::new();
    for (name, main) in pages.mains() {
        for block in elements(main, "pre") {
            // mdBook's hidden lines (`# ` in Rust listings) are not shown.
            let boring: Vec<&str> =
                block.split("<span class=\"boring\">").skip(1).collect();
            let shown = boring.iter().fold(block.to_owned(), |block, span| {
                let hidden = span.split("</span>").next().unwrap_or("");
                block.replace(hidden, "")
            });
            for line in text_of(&shown).lines() {
                let width = line.chars().count();
                if width > PAGE_WIDTH {
                    found.push(format!("{name}: {width} columns: {line}"));
                }
            }
        }
    }
    found
}

/// Links inside the book that reach no page, or no id on it.
fn broken_links(pages: &Pages) -> Vec<String> {
    let ids: BTreeMap<&str, BTreeSet<String>> = pages
        .0
        .iter()
        .map(|(name, html)| {
            let ids = html
                .split(" id=\"")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .map(str::to_owned);
            (name.as_str(), ids.collect())
        })
        .collect();
    let mut found = Vec::new();
    for (name, main) in pages.mains() {
        let folder = Path::new(name).parent().unwrap_or(Path::new(""));
        for href in
            main.split(" href=\"").skip(1).filter_map(|rest| rest.split('"').next())
        {
            let external = href.contains("://") || href.starts_with("mailto:");
            if external || href.is_empty() {
                continue;
            }
            let (target, anchor) = href.split_once('#').unwrap_or((href, ""));
            let page = if target.is_empty() {
                name.to_owned()
            } else {
                normalised(&folder.join(target))
            };
            match ids.get(page.as_str()) {
                None if !page.ends_with(".html") => {} // a picture, a figure file: mdBook copies them
                None => found.push(format!("{name}: {href} reaches no page")),
                Some(ids) if !anchor.is_empty() && !ids.contains(anchor) => found
                    .push(format!("{name}: {href}: {page} has no id {anchor:?}")),
                Some(_) => {}
            }
        }
    }
    found
}

/// `a/../b.html` as `b.html`.
fn normalised(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::CurDir => {}
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    parts.join("/")
}

#[test]
fn no_table_row_is_left_in_a_paragraph() {
    let found = table_rows_in_paragraphs(course_book());
    assert!(
        found.is_empty(),
        "a table was cut in two (move what stands between its rows below it):\n{}",
        found.join("\n")
    );
}

#[test]
fn no_directive_is_left_unexpanded() {
    let found = unexpanded_directives(course_book());
    assert!(found.is_empty(), "mdBook left these as text:\n{}", found.join("\n"));
}

#[test]
fn no_code_block_is_wider_than_the_page() {
    let found = wide_code_lines(course_book());
    assert!(
        found.is_empty(),
        "code wider than {PAGE_WIDTH} columns scrolls on the book's page; wrap it:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_link_inside_the_book_arrives() {
    let pages = course_book();
    assert!(pages.0.len() >= 10, "the book has pages: {:?}", pages.0.keys());
    let found = broken_links(pages);
    assert!(found.is_empty(), "links that go nowhere:\n{}", found.join("\n"));
}

/// A small book with every fault these checks look for, built by the same
/// library: each check must find its own.
#[test]
fn each_check_catches_its_fault_in_a_planted_book() {
    let root = scratch("planted");
    let src = root.join("book/src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        root.join("book/book.toml"),
        "[book]\ntitle = \"planted\"\nsrc = \"src\"\n",
    )
    .unwrap();
    std::fs::write(
        src.join("SUMMARY.md"),
        "# Summary\n\n- [One](one.md)\n- [Two](two.md)\n",
    )
    .unwrap();
    let wide = "x".repeat(PAGE_WIDTH + 1);
    std::fs::write(
        src.join("one.md"),
        format!(
            "# One\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nA paragraph between the rows.\n| 3 | 4 |\n\n\
             {{{{#incluude nothing.rs}}}}\n\n- In a list:\n\n  ```text\n  {wide}\n  ```\n\n\
             [to two](two.md#nowhere) and [to three](three.md) and [fine](two.md#two)\n"
        ),
    )
    .unwrap();
    std::fs::write(src.join("two.md"), "# Two\n\nFine.\n").unwrap();
    let into = root.join("build");
    home::build_book(&root, &into).expect("the planted book builds");
    let pages = Pages::read(&into);
    let rows = table_rows_in_paragraphs(&pages);
    assert!(rows.iter().any(|row| row.contains("| 3 | 4 |")), "{rows:?}");
    let directives = unexpanded_directives(&pages);
    assert!(directives.iter().any(|d| d.contains("{{#incluude")), "{directives:?}");
    let wide_lines = wide_code_lines(&pages);
    assert!(wide_lines.iter().any(|line| line.contains(&wide)), "{wide_lines:?}");
    let links = broken_links(&pages);
    assert!(links.iter().any(|link| link.contains("two.html#nowhere")), "{links:?}");
    assert!(links.iter().any(|link| link.contains("three.html")), "{links:?}");
    assert!(
        !links.iter().any(|link| link.contains("#two")),
        "a good link is not flagged: {links:?}"
    );
    // And the course's own fault from its review, a row cut off by a
    // paragraph, is what the table check reports.
    assert_eq!(rows.len(), 1, "{rows:?}");
    let _ = std::fs::remove_dir_all(&root);
}
