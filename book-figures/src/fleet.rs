//! Many pages, one server: how a fleet of clients behaves through an outage.
//!
//! Each client is its own [`Browser`] with its own JavaScript context and
//! its own `Math.random` seed. The pages open at seeded moments spread over
//! `spread` ms (real readers do not all load the page at once), all against
//! one server (one `Router`, one store), which fails every request during
//! `outage` in the same way (`failure`).
//! The clients share nothing but that server, so each runs on its own.

use axum::Router;
use std::ops::Range;
use virtual_browser::{Browser, Failure, Latency, Page};

/// The scene.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub clients: usize,
    /// Pages open at seeded moments in `0..spread` ms.
    pub spread: u64,
    /// The server fails every request during this window...
    pub outage: Range<u64>,
    /// ...in this way: refused connections (`Failure::NetworkError`), or
    /// the same answer to every client, such as a 503 with `Retry-After`.
    pub failure: Failure,
    /// How long the server takes to answer, when it is up.
    pub latency: u64,
    /// How long to simulate, in ms.
    pub end: u64,
    /// Client `i` gets seed `first_seed + i`; the opening moments come from it too.
    pub first_seed: u32,
}

/// What the fleet did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetRun {
    /// Requests sent in each second of the run: `[0]` counts 0 to 999 ms.
    pub per_second: Vec<u32>,
    /// For each client, when its first successful poll after the outage was
    /// answered (`None`: not within the run).
    pub back_at: Vec<Option<u64>>,
}

impl FleetRun {
    /// The busiest second in `seconds`.
    pub fn peak(&self, seconds: Range<usize>) -> u32 {
        self.per_second[seconds].iter().copied().max().unwrap_or(0)
    }

    /// Requests per second on average over `seconds`.
    pub fn mean(&self, seconds: Range<usize>) -> f64 {
        let slice = &self.per_second[seconds];
        slice.iter().map(|&n| f64::from(n)).sum::<f64>() / slice.len().max(1) as f64
    }

    /// How much busier the busiest second is than the average one.
    pub fn peak_to_mean(&self, seconds: Range<usize>) -> f64 {
        f64::from(self.peak(seconds.clone())) / self.mean(seconds).max(f64::MIN_POSITIVE)
    }

    /// When the last client got through after the outage, if all did.
    pub fn everyone_back_at(&self) -> Option<u64> {
        self.back_at.iter().copied().collect::<Option<Vec<u64>>>()?.into_iter().max()
    }
}

/// A small, well-mixed hash (splitmix64), for the opening moments.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Run every client of `fleet` with `page` against `app`.
///
/// Clients share only the server, and only read from it, so they run on as
/// many threads as the machine has cores; the result does not depend on how
/// many that is.
pub fn simulate(fleet: &Fleet, app: &Router, page: &Page) -> FleetRun {
    let seconds = fleet.end.div_ceil(1000).max(1) as usize;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(fleet.clients.max(1));
    let clients: Vec<usize> = (0..fleet.clients).collect();
    let chunk = clients.len().div_ceil(threads).max(1);
    let runs: Vec<(Vec<u32>, Vec<Option<u64>>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = clients
            .chunks(chunk)
            .map(|ids| {
                scope.spawn(move || {
                    ids.iter().map(|&i| run_client(fleet, app, page, i)).fold(
                        (vec![0; seconds], Vec::new()),
                        |(mut counts, mut back), (client_counts, client_back)| {
                            counts.iter_mut().zip(client_counts).for_each(|(total, n)| *total += n);
                            back.push(client_back);
                            (counts, back)
                        },
                    )
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a fleet thread panicked")).collect()
    });
    let mut per_second = vec![0; seconds];
    let mut back_at = Vec::with_capacity(fleet.clients);
    for (counts, back) in runs {
        per_second.iter_mut().zip(counts).for_each(|(total, n)| *total += n);
        back_at.extend(back);
    }
    FleetRun { per_second, back_at }
}

/// One client: its requests per second, and when it first got through
/// after the outage.
fn run_client(fleet: &Fleet, app: &Router, page: &Page, i: usize) -> (Vec<u32>, Option<u64>) {
    let seconds = fleet.end.div_ceil(1000).max(1) as usize;
    let seed = fleet.first_seed.wrapping_add(i as u32);
    let opens_at = if fleet.spread == 0 { 0 } else { mix(u64::from(seed)) % fleet.spread };
    let mut browser = Browser::with_seed(app.clone(), seed);
    browser.latency(Latency::Fixed(fleet.latency)).fail(fleet.outage.clone(), fleet.failure.clone());
    browser.run_until(opens_at);
    browser.open(page.clone());
    let spans = browser.run_until(fleet.end).spans();
    let mut counts = vec![0; seconds];
    for span in &spans {
        if let Some(count) = counts.get_mut((span.sent / 1000) as usize) {
            *count += 1;
        }
    }
    let back = spans.iter().filter(|s| s.sent >= fleet.outage.end && !s.failed()).find_map(|s| s.answered);
    (counts, back)
}
