//! `cargo run -p ex02-settimeout-chain` serves the chat on
//! http://127.0.0.1:3000 (set `PORT` to use another port).

fn main() -> std::process::ExitCode {
    chat_page::main(chat_page::serve(
        "Exercise 02, chain setTimeout",
        ex02_settimeout_chain::app(),
    ))
}
