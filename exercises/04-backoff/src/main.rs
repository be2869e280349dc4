//! `cargo run -p ex04-backoff` serves the chat on
//! http://127.0.0.1:3000 (set `PORT` to use another port).

#[tokio::main]
async fn main() {
    if let Err(problem) =
        chat_page::serve("Exercise 04, backoff", ex04_backoff::app()).await
    {
        eprintln!("error: {problem}");
        std::process::exit(1);
    }
}
