//! The timeline drawing: what a figure shows, and that it shows it the same
//! way every time.

use book_figures::svg;
use virtual_browser::{Browser, Failure, Latency, Page};

fn scene() -> String {
    let mut browser = Browser::new(poll_endpoint::app());
    browser
        .latency(Latency::Fixed(4000))
        .fail(6_000..9_000, Failure::NetworkError)
        .fail(9_000..12_000, Failure::Status(503))
        .hide(12_000..15_000)
        .post_at(2_000, "grace", "<b>hi</b> & bye");
    // A URL of its own for each request: GETs to one URL wait for each other.
    browser.open(Page::client(
        "/client.js",
        r#"let n = 0; setInterval(() => fetch(`/poll?n=${++n}`).catch(() => {}), 3000);"#,
    ));
    svg::timeline(browser.run_until(20_000), "A <test> & a figure", 20_000)
}

#[test]
fn it_draws_every_kind_of_request_and_period() {
    let svg = scene();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("<title id=\"title\">A &lt;test&gt; &amp; a figure</title>"), "titles are escaped");
    // Requests every 3 s that take 4 s: two lanes.
    assert!(svg.contains(">2 at once</text>"), "overlapping requests get a second lane");
    assert!(!svg.contains(">3 at once</text>"));
    assert!(svg.contains("fill=\"#2f6fdf\"><title>#1 GET /poll?n=1: 200 (1 msg), 3000 to 7000 ms"), "{svg}");
    assert!(svg.contains("stroke-dasharray=\"3 2\"><title>#2 GET /poll?n=2: network error, 6000 to 10000 ms"), "{svg}");
    assert!(svg.contains("fill=\"#d93025\"><title>#3 GET /poll?n=3: 503, 9000 to 13000 ms"), "{svg}");
    assert!(svg.contains("fill=\"#9db7ef\"><title>#6 GET /poll?n=6: still waiting, 18000 to … ms"), "{svg}");
    assert!(svg.contains(">page hidden</text>"));
    assert!(svg.contains("<title>grace posts &quot;&lt;b&gt;hi&lt;/b&gt; &amp; bye&quot; at 2000 ms</title>"), "{svg}");
    for tick in ["0 s", "10 s", "20 s"] {
        assert!(svg.contains(&format!(">{tick}</text>")), "missing tick {tick}");
    }
}

#[test]
fn the_same_trace_draws_the_same_bytes() {
    assert_eq!(scene(), scene());
}
