//! The chat page that every exercise serves.
//!
//! The files live next to this crate (`static/index.html`, `chat.css`,
//! `chat.js`) and are compiled into the binary with `include_str!`, so an
//! exercise serves them the same way whatever directory `cargo run` starts in.
//! Each exercise adds its own `/client.js`: the part of the front end that the
//! course is about.

pub mod serve;

use axum::{Router, http::header, response::IntoResponse, routing::get};
use std::net::SocketAddr;

/// The port an exercise listens on unless `PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 3000;

/// The HTML page.
pub const INDEX_HTML: &str = include_str!("../index.html");
/// The page's style sheet.
pub const CHAT_CSS: &str = include_str!("../chat.css");
/// The render module: shows messages with `textContent`, sends new ones.
pub const CHAT_JS: &str = include_str!("../chat.js");

/// Routes for `/`, `/static/chat.css` and `/static/chat.js`.
///
/// Merge them into an exercise's router next to its `/poll` routes and its
/// own `/client.js` (see [`javascript`]).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { html(INDEX_HTML) }))
        .route("/static/chat.css", get(|| async { css(CHAT_CSS) }))
        .route("/static/chat.js", get(|| async { javascript(CHAT_JS) }))
}

fn html(body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body)
}

fn css(body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], body)
}

/// A JavaScript response. Module scripts must be served with a JavaScript
/// MIME type, or the browser refuses to run them.
pub fn javascript(body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], body)
}

/// Read `PORT` from the environment: unset means [`DEFAULT_PORT`], `0`
/// means "any free port". Anything else that is not a port is an error that
/// says what to type instead.
pub fn port_from_env() -> Result<u16, String> {
    match std::env::var("PORT") {
        Err(_) => Ok(DEFAULT_PORT),
        Ok(value) => value.trim().parse().map_err(|_| {
            format!("PORT={value:?} is not a port number; try PORT=3001 (or unset PORT for {DEFAULT_PORT})")
        }),
    }
}

/// Text made safe to put inside HTML (or SVG) elements and quoted
/// attributes: the five characters that could start markup or end a value.
/// The chat page itself never needs it (it renders with `textContent`); the
/// workshop's generated pages and figures do.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Listen on 127.0.0.1:`port` (`0`: any free port). A port that is taken
/// gets an error that ends with `if_taken`, the advice for this program.
///
/// Only the loopback address is bound: the workshop's servers are for your
/// own browser, not for the network you are on.
pub async fn listen(port: u16, if_taken: &str) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(("127.0.0.1", port)).await.map_err(|error| match error.kind() {
        std::io::ErrorKind::AddrInUse => format!("port {port} is already in use; {if_taken}"),
        _ => format!("could not listen on 127.0.0.1:{port}: {error}"),
    })
}

/// Serve `app` on `listener` until Ctrl-C, within the [`serve::Limits`] a
/// server on a shared network needs (timeouts, a cap on connections), then
/// call `stopping` before waiting for the requests in flight to finish. A
/// server that holds requests (exercise 07) answers them there: otherwise
/// shutting down would wait for every one. Handlers can read the peer's
/// address (`ConnectInfo<SocketAddr>`).
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    stopping: impl FnOnce() + Send + 'static,
) -> Result<(), String> {
    let ctrl_c = async {
        // If Ctrl-C cannot be watched, run until the process is killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    serve::serve_with(listener, app, serve::Limits::default(), ctrl_c, stopping).await
}

/// The whole of an exercise's `main`: run `serving` (a server, until
/// Ctrl-C) on a Tokio runtime, and report how it ended. A server that could
/// not start says why on stderr and the process exits with a failure, so a
/// script or the workshop's runner can tell.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     chat_page::main(chat_page::serve("Exercise 01", axum::Router::new()))
/// }
/// ```
pub fn main(serving: impl Future<Output = Result<(), String>>) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serving) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("error: {problem}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Serve `app` on 127.0.0.1 (the port from [`port_from_env`]) until Ctrl-C,
/// after printing the address to open. `name` says what is being served.
pub async fn serve(name: &str, app: Router) -> Result<(), String> {
    serve_until_stopped(name, app, || {}).await
}

/// [`serve`], calling `stopping` when Ctrl-C arrives (see [`run`]).
pub async fn serve_until_stopped(
    name: &str,
    app: Router,
    stopping: impl FnOnce() + Send + 'static,
) -> Result<(), String> {
    let port = port_from_env()?;
    let listener = listen(
        port,
        "stop the other server (another exercise still running?), or pick another port: PORT=3001 cargo run ...",
    )
    .await?;
    let address: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("{name}: open http://{address}/ (Ctrl-C stops it)");
    run(listener, app, stopping).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::Body, http::Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get_page(path: &str) -> (u16, String, String) {
        let response = routes::<()>().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, content_type, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn serves_the_page_its_style_and_its_module() {
        let (status, kind, body) = get_page("/").await;
        assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
        assert!(body.contains(r#"<script type="module" src="/client.js">"#));

        let (status, kind, _) = get_page("/static/chat.css").await;
        assert_eq!((status, kind.as_str()), (200, "text/css; charset=utf-8"));

        let (status, kind, body) = get_page("/static/chat.js").await;
        assert_eq!((status, kind.as_str()), (200, "text/javascript; charset=utf-8"));
        assert!(body.contains("export function renderMessages"));
    }

    /// The render module is the course's answer to the original XSS hole:
    /// message text must only ever reach the page through `textContent`.
    #[test]
    fn escape_html_leaves_no_markup() {
        assert_eq!(escape_html(r#"<img src=x onerror='a&b'>"#), "&lt;img src=x onerror=&#39;a&amp;b&#39;&gt;");
        assert_eq!(escape_html("plain text, ünïcode"), "plain text, ünïcode");
    }

    #[test]
    fn render_module_never_puts_text_into_html() {
        // Comments may explain the hole; code may not use it.
        let code: String = CHAT_JS.lines().filter(|line| !line.trim_start().starts_with("//")).collect();
        for forbidden in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"] {
            assert!(
                !code.contains(forbidden),
                "static/chat.js uses {forbidden}; render message text with textContent instead"
            );
        }
        assert!(CHAT_JS.contains("user.textContent = message.user"));
        assert!(CHAT_JS.contains("text.textContent = message.text"));
    }
}
