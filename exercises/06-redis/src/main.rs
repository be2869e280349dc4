//! `cargo run -p ex06-redis` serves the chat on http://127.0.0.1:3000
//! (set `PORT` to use another port). With `REDIS_URL=redis://127.0.0.1:6379`
//! it keeps the chat in Redis; start two on different ports to share one chat.

fn main() -> std::process::ExitCode {
    chat_page::main(ex06_redis::serve("Exercise 06, Redis"))
}
