//! `cargo run -p ex06-redis` serves the chat on http://127.0.0.1:3000
//! (set `PORT` to use another port). With `REDIS_URL=redis://127.0.0.1:6379`
//! it keeps the chat in Redis; start two on different ports to share one chat.

#[tokio::main]
async fn main() {
    println!("Messages: {}", ex06_redis::store_choice());
    let served = match ex06_redis::app() {
        Ok(app) => chat_page::serve("Exercise 06, Redis", app).await,
        Err(problem) => Err(problem),
    };
    if let Err(problem) = served {
        eprintln!("error: {problem}");
        std::process::exit(1);
    }
}
