//! `cargo run -p ex01-poll-endpoint` serves the chat on
//! http://127.0.0.1:3000 (set `PORT` to use another port).

#[tokio::main]
async fn main() {
    if let Err(problem) =
        chat_page::serve("Exercise 01, the poll endpoint", ex01_poll_endpoint::app())
            .await
    {
        eprintln!("error: {problem}");
        std::process::exit(1);
    }
}
