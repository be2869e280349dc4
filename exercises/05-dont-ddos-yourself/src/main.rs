//! `cargo run -p ex05-dont-ddos-yourself` serves the chat on
//! http://127.0.0.1:3000 (set `PORT` to use another port).

#[tokio::main]
async fn main() {
    if let Err(problem) = chat_page::serve(
        "Exercise 05, don't DDoS yourself",
        ex05_dont_ddos_yourself::app(),
    )
    .await
    {
        eprintln!("error: {problem}");
        std::process::exit(1);
    }
}
