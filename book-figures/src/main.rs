//! Draw every figure of the book from real runs and write them to
//! `book/src/figures/`: `cargo run -p book-figures`.

fn main() {
    let dir = polling_workshop::course::root().join("book/src/figures");
    std::fs::create_dir_all(&dir).expect("book/src/figures can be created");
    for figure in book_figures::all() {
        let started = std::time::Instant::now();
        let content = (figure.draw)();
        let path = dir.join(figure.file);
        std::fs::write(&path, &content).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        println!("wrote book/src/figures/{} ({:.1} s)", figure.file, started.elapsed().as_secs_f64());
    }
}
