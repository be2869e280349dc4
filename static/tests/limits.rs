//! The serving limits, on real sockets (serve.rs): slow headers and bodies
//! are cut after their timeouts while other clients are answered, the
//! connection cap turns newcomers away with a 503 they can read, and a
//! request the server holds is never cut by a timeout. The limits are
//! shrunk to fractions of a second so each test takes about one.

use axum::{Router, routing::get};
use chat_page::serve::{Limits, serve_with};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMITS: Limits = Limits {
    header_timeout: Duration::from_millis(300),
    body_timeout: Duration::from_millis(300),
    max_connections: 8,
    max_connections_per_address: 8,
};

/// The app: `/` answers at once, `/hold` after a second (like a long poll
/// that waits for news), and `POST /echo` says how long the body was.
fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/hold",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                "held"
            }),
        )
        .route("/echo", axum::routing::post(|body: String| async move { body.len().to_string() }))
}

/// Serve `app()` within `limits` on a free port until the sender is dropped.
async fn serve(limits: Limits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_with(listener, app(), limits, async move { drop(stopped.await) }, || {}));
    (address, stop)
}

/// Send `request` on a new connection and read the whole answer (the
/// requests say `connection: close`).
async fn exchange(address: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;
    answer
}

async fn get_ok(address: SocketAddr) -> bool {
    exchange(address, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.starts_with("HTTP/1.1 200")
}

/// How long until the server closes `stream` (reads return 0), at most 5 s.
async fn closed_after(stream: &mut TcpStream) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue, // an answer (408, say), then the close
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn a_half_sent_header_is_cut_and_everyone_else_is_answered() {
    let (address, _stop) = serve(LIMITS).await;
    let mut slow = Vec::new();
    for _ in 0..5 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nx-never: ends").await.unwrap();
        slow.push(stream);
    }
    assert!(get_ok(address).await, "while five clients dawdle over their headers, a normal GET is answered");
    for stream in &mut slow {
        let closed = closed_after(stream).await;
        assert!(
            closed.is_some_and(|after| after < Duration::from_secs(2)),
            "a header not finished within {:?} should get its connection closed; it was {closed:?}",
            LIMITS.header_timeout
        );
    }
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let (address, _stop) = serve(LIMITS).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    // The answer, then silence: the connection is kept alive, and idle.
    let closed = closed_after(&mut stream).await;
    assert!(
        closed.is_some_and(|after| after < Duration::from_secs(2)),
        "a kept-alive connection that sends no next request should be closed after {:?}; it was {closed:?}",
        LIMITS.header_timeout
    );
}

#[tokio::test]
async fn a_body_that_comes_too_slowly_is_refused() {
    let (address, _stop) = serve(LIMITS).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\nconnection: close\r\n\r\nten bytes.")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;
    assert!(
        answer.starts_with("HTTP/1.1 4") && started.elapsed() < Duration::from_secs(2),
        "a body still 90 bytes short after {:?} should be refused with a 4xx, not waited for: after {:?}, {answer:?}",
        LIMITS.body_timeout,
        started.elapsed()
    );
    assert!(get_ok(address).await, "and the server goes on answering");
}

#[tokio::test]
async fn a_held_request_is_not_cut_by_the_timeouts() {
    let (address, _stop) = serve(LIMITS).await;
    let answer = exchange(address, "GET /hold HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("held"),
        "a request the server holds for 1 s, longer than every timeout ({:?}), is answered: {answer:?}",
        LIMITS.header_timeout
    );
}

#[tokio::test]
async fn past_the_connection_cap_a_newcomer_gets_503_and_room_comes_back() {
    let limits = Limits { header_timeout: Duration::from_secs(5), max_connections: 3, ..LIMITS };
    // (one address's share is 8, above the cap of 3: this is the server's cap)
    let (address, _stop) = serve(limits).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(b"GET /hold HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        open.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await; // let the server take all three
    let turned_away = exchange(address, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    assert!(
        turned_away.starts_with("HTTP/1.1 503") && turned_away.contains("retry-after: 1"),
        "with all 3 connections taken, a new one should get 503 with Retry-After: {turned_away:?}"
    );
    drop(open);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !get_ok(address).await {
        assert!(Instant::now() < deadline, "once connections close, new ones should be served again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    // Five from 127.0.0.1 at most; 127.0.0.2 (also this machine) still gets in.
    let limits = Limits { header_timeout: Duration::from_secs(5), max_connections_per_address: 5, ..LIMITS };
    let (address, _stop) = serve(limits).await;
    let mut hogs = Vec::new();
    for _ in 0..5 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(b"GET /hold HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        hogs.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sixth = exchange(address, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    assert!(sixth.starts_with("HTTP/1.1 503"), "a sixth connection from one address gets 503: {sixth:?}");
    let other = tokio::net::TcpSocket::new_v4().unwrap();
    other.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut stream = other.connect(address).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "another address is served meanwhile: {answer:?}");
}

#[tokio::test]
async fn shutting_down_calls_stopping_and_waits_for_the_request_in_flight() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (told, mut was_told) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with(listener, app(), LIMITS, async move { drop(stopped.await) }, move || {
        let _ = told.send(());
    }));
    let held = tokio::spawn(exchange(address, "GET /hold HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    let answer = held.await.unwrap();
    assert!(answer.ends_with("held"), "the request in flight is finished before the server stops: {answer:?}");
    assert!(was_told.try_recv().is_ok(), "`stopping` was called");
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("the server stopped").unwrap().unwrap();
}
