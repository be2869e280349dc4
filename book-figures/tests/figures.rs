//! The committed figures are the ones the code draws now.

use book_figures as figures;
use polling_workshop::course::root;

#[test]
fn every_committed_figure_is_up_to_date() {
    let figures = figures::checkable();
    assert!(!figures.is_empty(), "there are no figures to check");
    for figure in figures {
        let path = root().join("book/src/figures").join(figure.file);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == (figure.draw)(),
            "book/src/figures/{} is missing or stale: the code now draws something else. \
             Run `cargo run -p book-figures` and commit the result.",
            figure.file
        );
    }
}

#[test]
fn every_figure_is_shown_in_the_book() {
    let mut book = String::new();
    for entry in std::fs::read_dir(root().join("book/src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            book.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    for figure in figures::all() {
        assert!(book.contains(&format!("figures/{}", figure.file)), "no chapter shows figures/{}", figure.file);
    }
}
