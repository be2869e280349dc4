//! `cargo run -p ex04-backoff` serves the chat on
//! http://127.0.0.1:3000 (set `PORT` to use another port).

fn main() -> std::process::ExitCode {
    chat_page::main(chat_page::serve("Exercise 04, backoff", ex04_backoff::app()))
}
