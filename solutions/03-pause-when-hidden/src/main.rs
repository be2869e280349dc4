//! `cargo run -p ex03-pause-when-hidden-solution` serves the chat on
//! http://127.0.0.1:3000 (set `PORT` to use another port).

fn main() -> std::process::ExitCode {
    chat_page::main(chat_page::serve(
        "Exercise 03, pause while hidden",
        ex03_pause_when_hidden_solution::app(),
    ))
}
