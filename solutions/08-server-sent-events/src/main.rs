//! `cargo run -p ex08-server-sent-events-solution` serves the chat on
//! http://127.0.0.1:3000 (set `PORT` to use another port). With
//! `REDIS_URL=redis://127.0.0.1:6379` it keeps the chat in Redis; start two
//! on different ports, and a message posted to one reaches the streams of
//! both.

fn main() -> std::process::ExitCode {
    chat_page::main(ex08_server_sent_events_solution::serve(
        "Exercise 08, Server-Sent Events",
    ))
}
