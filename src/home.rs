//! The workshop's home page, served by `cargo run`: your progress, the book,
//! and the finished chat, all on one port.
//!
//! - `/` is the progress page, read from the progress file on each request;
//! - `/book/` is the book, built in-process with mdBook's library;
//! - `/chat` is the finished chat; its own paths (`/poll`, `/client.js`,
//!   `/static/...`) are served by the newest solution's app, which answers
//!   every path the home does not.

use crate::progress::Status;
use crate::workshop::Workshop;
use axum::{
    Router,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect},
    routing::get,
};
use chat_page::escape_html;
use std::path::{Path, PathBuf};
use tower_http::services::ServeDir;

/// Build the book in `root/book` into `into`, with mdBook's own library (the
/// same version `.ci/run` installs), so reading it needs nothing installed.
pub fn build_book(root: &Path, into: &Path) -> Result<(), String> {
    let mut book = mdbook_driver::MDBook::load(root.join("book"))
        .map_err(|error| format!("cannot load the book in {}: {error:#}", root.join("book").display()))?;
    book.config.build.build_dir = into.to_owned();
    book.build().map_err(|error| format!("cannot build the book: {error:#}"))
}

/// The finished chat: the newest solution's app (exercise 08's stream, with
/// exercise 07's long polls beside it, on the in-memory store), and what to
/// call when the server shuts down: it ends the streams and answers the held
/// requests, which shutting down would otherwise wait for.
pub fn finished_chat() -> (Router, impl FnOnce() + Send + 'static) {
    let hub = server_sent_events::memory_hub();
    let app = server_sent_events::app_with(hub.clone(), governor::clock::DefaultClock::default());
    (app, move || hub.stop())
}

/// The home server's routes. `chat` is the finished chat's app.
pub fn router(root: PathBuf, book: PathBuf, chat: Router) -> Router {
    Router::new()
        .route("/", get(move || progress_page(root.clone())))
        .route("/chat", get(|| async { Html(chat_page::INDEX_HTML) }))
        .route("/book", get(|| async { Redirect::permanent("/book/") }))
        .nest_service("/book/", ServeDir::new(book))
        .fallback_service(chat)
}

async fn progress_page(root: PathBuf) -> impl IntoResponse {
    match Workshop::open(&root) {
        Ok(workshop) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Html(page(&workshop))).into_response(),
        Err(problem) => {
            (StatusCode::INTERNAL_SERVER_ERROR, Html(format!("<p>{}</p>", escape_html(&problem)))).into_response()
        }
    }
}

fn page(workshop: &Workshop) -> String {
    let mut rows = String::new();
    for exercise in &workshop.course().exercises {
        let needs = workshop.needs(exercise);
        let (class, status) = match (workshop.status(exercise), &needs) {
            (Status::Done, _) => ("done", "done".to_owned()),
            (Status::Tried, Some(needs)) => ("tried", format!("incomplete: some checks need {}", escape_html(needs))),
            (Status::Tried, None) => ("tried", "in progress".to_owned()),
            (Status::NotStarted, _) => ("todo", "not started".to_owned()),
        };
        let chapter = exercise.chapter.replace(".md", ".html");
        rows.push_str(&format!(
            "<tr class=\"{class}\"><td>{:02}</td><td><a href=\"/book/{chapter}\">{}</a></td><td>{} min</td>\
             <td>{status}</td><td><code>{}</code></td></tr>\n",
            exercise.number,
            escape_html(&exercise.title),
            exercise.minutes,
            escape_html(&exercise.test_command()),
        ));
    }
    let next = if workshop.all_done() {
        "You have finished every exercise. The questions at the end of each chapter go further.".to_owned()
    } else {
        let e = workshop.current();
        format!(
            "<strong>Next: {:02} {}.</strong> Read <a href=\"/book/{}\">its chapter</a>, open <code>{}/{}</code>, \
             and run <code>cargo run -- watch</code> to check it each time you save.",
            e.number,
            escape_html(&e.title),
            e.chapter.replace(".md", ".html"),
            e.starter_dir().display(),
            escape_html(&e.start_in)
        )
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>The Real-Time Polling Workshop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color-scheme: light dark; }}
table {{ border-collapse: collapse; width: 100%; }} td {{ padding: .4rem .6rem; border-bottom: 1px solid #8884; }}
tr.done td:nth-child(4) {{ color: #188038; font-weight: 600; }} tr.tried td:nth-child(4) {{ color: #b06000; }}
.next {{ padding: .8rem 1rem; border-left: 4px solid #2f6fdf; background: #2f6fdf14; margin: 1rem 0; }}
</style></head>
<body>
<h1>The Real-Time Polling Workshop</h1>
<p class="next">{next}</p>
<p><a href="/book/">Read the book</a> · <a href="/chat">Try the finished chat</a></p>
<h2>Your progress</h2>
<table>
{rows}</table>
<p>This page reads <code>.workshop-progress.toml</code>; <code>cargo run -- check</code> and
<code>cargo run -- watch</code> update it. Reload to see the latest.</p>
</body></html>
"#
    )
}
