//! `cargo run -p ex07-long-polling` serves the chat on
//! http://127.0.0.1:3000 (set `PORT` to use another port). With
//! `REDIS_URL=redis://127.0.0.1:6379` it keeps the chat in Redis; start two
//! on different ports, and a message posted to one wakes the readers of both.

fn main() -> std::process::ExitCode {
    chat_page::main(ex07_long_polling::serve("Exercise 07, long polling"))
}
