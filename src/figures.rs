//! The book's figures, drawn from real runs: each is a client from the
//! course (a starter as shipped, or a solution) in the virtual browser,
//! against exercise 01's finished server, in a fixed scenario.
//!
//! `cargo run --example figures` writes them to `book/src/figures/`, and a
//! test fails when a committed figure is not what the code draws now.

use crate::course::Course;
use virtual_browser::{Browser, Latency, Page, svg};

/// One figure: where it goes in `book/src/figures/`, and the SVG.
pub struct Figure {
    pub file: &'static str,
    /// The slug of the exercise whose *starter* it draws, if any: such a
    /// figure is only checked while that starter is as shipped.
    pub from_starter: Option<&'static str>,
    pub svg: String,
}

/// A client in a scene, from 0 to `end` ms, drawn under `title`.
fn draw(client: &str, title: &str, end: u64, scene: impl FnOnce(&mut Browser)) -> String {
    let mut browser = Browser::new(poll_endpoint::app());
    scene(&mut browser);
    browser.open(Page::client("/client.js", client));
    svg::timeline(browser.run_until(end), title, end)
}

fn slow_server(browser: &mut Browser) {
    browser
        .latency(Latency::Fixed(5000))
        .post_at(9_000, "grace", "anyone there?");
}

fn hidden_for_a_while(browser: &mut Browser) {
    browser.latency(Latency::Fixed(300)).hide(7_000..22_000);
}

/// Every figure, drawn now.
pub fn all() -> Vec<Figure> {
    vec![
        Figure {
            file: "02-before-setinterval.svg",
            from_starter: Some("02-settimeout-chain"),
            svg: draw(
                include_str!("../exercises/02-settimeout-chain/client.js"),
                "setInterval, server answers in 5 s: requests pile up",
                20_000,
                slow_server,
            ),
        },
        Figure {
            file: "02-after-settimeout-chain.svg",
            from_starter: None,
            svg: draw(
                include_str!("../solutions/02-settimeout-chain/client.js"),
                "setTimeout after each answer, same server: one at a time",
                20_000,
                slow_server,
            ),
        },
        Figure {
            file: "03-before-timer-chain.svg",
            from_starter: Some("03-pause-when-hidden"),
            svg: draw(
                include_str!("../exercises/03-pause-when-hidden/client.js"),
                "setTimeout chain, page hidden from 7 s to 22 s: it keeps polling",
                30_000,
                hidden_for_a_while,
            ),
        },
        Figure {
            file: "03-after-animation-frames.svg",
            from_starter: None,
            svg: draw(
                include_str!("../solutions/03-pause-when-hidden/client.js"),
                "requestAnimationFrame loop, same scene: nothing while hidden",
                30_000,
                hidden_for_a_while,
            ),
        },
    ]
}

/// The figures whose sources are as shipped here (see [`Figure::from_starter`]).
pub fn checkable() -> Vec<Figure> {
    let course = Course::embedded();
    all()
        .into_iter()
        .filter(|figure| {
            figure.from_starter.is_none_or(|slug| {
                course
                    .exercises
                    .iter()
                    .find(|e| e.slug == slug)
                    .is_none_or(|e| e.starter_is_pristine())
            })
        })
        .collect()
}
