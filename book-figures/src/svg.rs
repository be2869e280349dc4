//! A trace drawn as a timeline: each request a bar from sent to answered on
//! a time axis, overlapping requests stacked in lanes, hidden periods
//! shaded, failures in red. The output depends only on the trace, so a
//! committed figure can be compared byte for byte with a fresh one.

use chat_page::escape_html;
use std::fmt::Write;
use virtual_browser::{Event, Outcome, Trace};

const WIDTH: f64 = 760.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 56.0;
const LANE: f64 = 22.0;
const BAR: f64 = 14.0;

/// Draw `trace` from 0 to `end` ms, under `title`.
pub fn timeline(trace: &Trace, title: &str, end: u64) -> String {
    let spans = trace.spans();
    // Put each request in the first lane that is free when it is sent.
    let mut lane_ends: Vec<u64> = Vec::new();
    let mut placed = Vec::new();
    for span in &spans {
        let finish = span.answered.unwrap_or(end);
        let lane = match lane_ends.iter().position(|&free_at| free_at <= span.sent) {
            Some(lane) => lane,
            None => {
                lane_ends.push(0);
                lane_ends.len() - 1
            }
        };
        lane_ends[lane] = finish;
        placed.push((lane, span));
    }
    let lanes = lane_ends.len().max(1);
    let plot_bottom = TOP + LANE * lanes as f64 + 6.0;
    let height = plot_bottom + 62.0;
    let x = |t: u64| LEFT + (t.min(end) as f64) * (WIDTH - LEFT - RIGHT) / end.max(1) as f64;

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height:.0}\" width=\"{WIDTH}\" \
         height=\"{height:.0}\" role=\"img\" aria-labelledby=\"title\" font-family=\"system-ui, sans-serif\" \
         font-size=\"12\">\n<title id=\"title\">{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n\
         <text x=\"{LEFT}\" y=\"22\" font-size=\"14\" font-weight=\"600\">{}</text>\n",
        escape_html(title),
        escape_html(title)
    );

    for window in trace.hidden_windows(end) {
        let (a, b) = (x(window.start), x(window.end));
        let _ = writeln!(
            svg,
            "<rect x=\"{a:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#e3e3e3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#666\">page hidden</text>",
            TOP - 6.0,
            (b - a).max(1.0),
            plot_bottom - TOP + 6.0,
            a + 4.0,
            TOP - 10.0
        );
    }

    for lane in 0..lanes {
        let y = TOP + LANE * lane as f64 + BAR / 2.0 + 4.0;
        let label = if lane == 0 { "requests".to_owned() } else { format!("{} at once", lane + 1) };
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{y:.1}\" text-anchor=\"end\" fill=\"#444\">{label}</text>",
            LEFT - 8.0
        );
    }

    for (lane, span) in &placed {
        let (a, b) = (x(span.sent), x(span.answered.unwrap_or(end)));
        let y = TOP + LANE * *lane as f64;
        let (fill, dash) = match &span.outcome {
            Some(Outcome::NetworkError) => ("#d93025", " stroke=\"#a50e0e\" stroke-dasharray=\"3 2\""),
            Some(Outcome::Aborted) => ("#bdbdbd", ""),
            Some(outcome) if !outcome.is_success() => ("#d93025", ""),
            Some(_) => ("#2f6fdf", ""),
            None => ("#9db7ef", ""),
        };
        let what = span.outcome.as_ref().map_or("still waiting".to_owned(), |o| o.to_string());
        let _ = writeln!(
            svg,
            "<rect x=\"{a:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR}\" rx=\"2\" fill=\"{fill}\"{dash}>\
             <title>#{} {} {}: {what}, {} to {} ms</title></rect>",
            (b - a).max(2.0),
            span.request,
            span.method,
            escape_html(&span.path),
            span.sent,
            span.answered.map_or("…".to_owned(), |t| t.to_string()),
        );
    }

    for (at, event) in trace.events() {
        if let Event::OtherUserPosted { user, text, .. } = event {
            let cx = x(*at);
            let y = plot_bottom - 2.0;
            let _ = writeln!(
                svg,
                "<path d=\"M{cx:.1} {:.1} l5 6 l-5 6 l-5 -6 z\" fill=\"#188038\"><title>{} posts {} at {at} ms</title></path>",
                y - 6.0,
                escape_html(user),
                escape_html(&format!("{text:?}"))
            );
        }
    }

    // The time axis, with a tick every "nice" step.
    let step = [100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000]
        .into_iter()
        .find(|step| end / step <= 12)
        .unwrap_or(600_000);
    let axis = plot_bottom + 12.0;
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{axis:.1}\" x2=\"{:.1}\" y2=\"{axis:.1}\" stroke=\"#444\"/>",
        WIDTH - RIGHT
    );
    let mut t = 0;
    while t <= end {
        let tx = x(t);
        let label = if step % 1000 == 0 { format!("{} s", t / 1000) } else { format!("{:.1} s", t as f64 / 1000.0) };
        let _ = writeln!(
            svg,
            "<line x1=\"{tx:.1}\" y1=\"{axis:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"#444\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">{label}</text>",
            axis + 4.0,
            axis + 17.0
        );
        t += step;
    }

    let legend = height - 12.0;
    let _ = writeln!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{:.1}\" width=\"12\" height=\"10\" fill=\"#2f6fdf\"/><text x=\"{:.1}\" y=\"{legend:.1}\">answered</text>\
         <rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"10\" fill=\"#d93025\"/><text x=\"{:.1}\" y=\"{legend:.1}\">failed</text>\
         <rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"10\" fill=\"#e3e3e3\"/><text x=\"{:.1}\" y=\"{legend:.1}\">page hidden</text>\
         <rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"10\" fill=\"#9db7ef\"/><text x=\"{:.1}\" y=\"{legend:.1}\">no answer yet</text>\
         <path d=\"M{:.1} {:.1} l5 6 l-5 6 l-5 -6 z\" fill=\"#188038\"/><text x=\"{:.1}\" y=\"{legend:.1}\">someone posts</text>",
        legend - 9.0,
        LEFT + 16.0,
        LEFT + 100.0,
        legend - 9.0,
        LEFT + 116.0,
        LEFT + 180.0,
        legend - 9.0,
        LEFT + 196.0,
        LEFT + 290.0,
        legend - 9.0,
        LEFT + 306.0,
        LEFT + 410.0,
        legend - 11.0,
        LEFT + 421.0,
    );
    // Only timelines with an aborted request explain the colour.
    if placed.iter().any(|(_, span)| matches!(span.outcome, Some(Outcome::Aborted))) {
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"10\" fill=\"#bdbdbd\"/><text x=\"{:.1}\" \
             y=\"{legend:.1}\">aborted by the page</text>",
            LEFT + 530.0,
            legend - 9.0,
            LEFT + 546.0,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Requests per second over time, one line per series, with the `outage`
/// (ms) shaded: `series` is (label, colour, counts per second).
pub fn rates(title: &str, series: &[(&str, &str, &[u32])], outage: std::ops::Range<u64>) -> String {
    let seconds = series.iter().map(|(_, _, counts)| counts.len()).max().unwrap_or(1).max(1);
    let peak = series.iter().flat_map(|(_, _, counts)| counts.iter().copied()).max().unwrap_or(1).max(1);
    // A round top for the y axis: 1, 2 or 5 times a power of ten.
    let top = {
        let mut unit = 1u32;
        loop {
            if let Some(top) = [unit, 2 * unit, 5 * unit].into_iter().find(|&t| t >= peak) {
                break top;
            }
            unit *= 10;
        }
    };
    let (plot_top, plot_bottom) = (TOP, TOP + 200.0);
    let height = plot_bottom + 40.0 + 18.0 * series.len() as f64;
    let x = |second: f64| LEFT + second * (WIDTH - LEFT - RIGHT) / seconds as f64;
    let y = |count: f64| plot_bottom - count * (plot_bottom - plot_top) / f64::from(top);

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height:.0}\" width=\"{WIDTH}\" \
         height=\"{height:.0}\" role=\"img\" aria-labelledby=\"title\" font-family=\"system-ui, sans-serif\" \
         font-size=\"12\">\n<title id=\"title\">{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n\
         <text x=\"{LEFT}\" y=\"22\" font-size=\"14\" font-weight=\"600\">{}</text>\n",
        escape_html(title),
        escape_html(title)
    );
    let (a, b) = (x(outage.start as f64 / 1000.0), x(outage.end as f64 / 1000.0));
    let _ = writeln!(
        svg,
        "<rect x=\"{a:.1}\" y=\"{plot_top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#fbe3e1\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#a50e0e\">server down</text>",
        b - a,
        plot_bottom - plot_top,
        a + 4.0,
        plot_top - 6.0
    );
    for step in 0..=5 {
        let count = f64::from(top) * f64::from(step) / 5.0;
        let ty = y(count);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{ty:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#444\">{count:.0}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            ty + 4.0
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"14\" y=\"{:.1}\" fill=\"#444\" transform=\"rotate(-90 14 {:.1})\" text-anchor=\"middle\">requests per second</text>",
        (plot_top + plot_bottom) / 2.0,
        (plot_top + plot_bottom) / 2.0
    );
    let tick = [5, 10, 15, 30, 60, 120].into_iter().find(|t| seconds / t <= 12).unwrap_or(300);
    let mut second = 0;
    while second <= seconds {
        let tx = x(second as f64);
        let _ = writeln!(
            svg,
            "<line x1=\"{tx:.1}\" y1=\"{plot_bottom:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"#444\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">{second} s</text>",
            plot_bottom + 4.0,
            plot_bottom + 17.0
        );
        second += tick;
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{plot_bottom:.1}\" x2=\"{:.1}\" y2=\"{plot_bottom:.1}\" stroke=\"#444\"/>",
        WIDTH - RIGHT
    );
    for (index, (label, colour, counts)) in series.iter().enumerate() {
        let points: Vec<String> = counts
            .iter()
            .enumerate()
            .flat_map(|(s, &n)| {
                let (left, right, top) = (x(s as f64), x(s as f64 + 1.0), y(f64::from(n)));
                [format!("{left:.1},{top:.1}"), format!("{right:.1},{top:.1}")]
            })
            .collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"><title>{}</title></polyline>",
            points.join(" "),
            escape_html(label)
        );
        let ly = plot_bottom + 40.0 + 18.0 * index as f64;
        let _ = writeln!(
            svg,
            "<rect x=\"{LEFT}\" y=\"{:.1}\" width=\"14\" height=\"4\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{ly:.1}\">{}</text>",
            ly - 6.0,
            LEFT + 20.0,
            escape_html(label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
