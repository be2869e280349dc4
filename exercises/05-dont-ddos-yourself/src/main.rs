//! `cargo run -p ex05-dont-ddos-yourself` serves the chat on
//! http://127.0.0.1:3000 (set `PORT` to use another port).

fn main() -> std::process::ExitCode {
    chat_page::main(chat_page::serve(
        "Exercise 05, don't DDoS yourself",
        ex05_dont_ddos_yourself::app(),
    ))
}
