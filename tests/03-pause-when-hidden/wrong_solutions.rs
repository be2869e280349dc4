//! Exercise 03's known wrong solutions fail its spec, each in the
//! scenarios that pin the rule it breaks, with a message that names that
//! rule (the rules are listed at the top of `spec.rs`); and the right
//! clients written another way, the Page Visibility version that chapter 03
//! shows among them, pass every scenario. The clients are files in
//! `virtual-browser/clients/`, each breaking one rule.
//!
//! They run in the solution's test target, beside the spec, once.

use crate::spec;

use spec::{R1, R2, R3, R4, R5};
use spec_support::{ClientSpec, KnownClients, Scenario, replaced};
use virtual_browser::known_clients;

/// The scenarios, by name, as the spec numbers them.
const SCENARIOS: [(&str, Scenario); 7] = [
    ("s01", spec::s01),
    ("s02", spec::s02),
    ("s03", spec::s03),
    ("s04", spec::s04),
    ("s05", spec::s05),
    ("s06", spec::s06),
    ("s07", spec::s07),
];

/// The spec's scenarios, run with a known client in place of `client.js`.
const CLIENTS: KnownClients<'static> =
    KnownClients { page: with_client, scenarios: &SCENARIOS };

/// The exercise's page running `client`.
fn with_client(client: &'static str) -> ClientSpec {
    spec::spec().with_client(client)
}

#[test]
fn r1_a_timer_chain_that_ignores_hidden_fails_s02_s03_and_s05() {
    CLIENTS.breaks(known_clients::IGNORES_HIDDEN, R1, &["s02", "s03", "s05"]);
}

#[test]
fn r1_the_visibility_version_without_cancelling_its_timer_fails_s02_and_s03() {
    CLIENTS.breaks(known_clients::VISIBILITY_KEEPS_ITS_TIMER, R1, &["s02", "s03"]);
}

#[test]
fn r2_the_visibility_version_that_waits_an_interval_when_shown_fails_s03_and_s05() {
    CLIENTS.breaks(known_clients::VISIBILITY_WAITS_WHEN_SHOWN, R2, &["s03", "s05"]);
}

#[test]
fn r3_the_original_course_frame_loop_without_await_fails_s04() {
    CLIENTS.breaks(known_clients::RAF_WITHOUT_AWAIT, R3, &["s04"]);
}

#[test]
fn r4_a_frame_loop_that_counts_from_the_frame_fails_s01() {
    CLIENTS.breaks(known_clients::RAF_COUNTS_FROM_THE_FRAME, R4, &["s01"]);
}

#[test]
fn r5_a_frame_loop_that_fails_in_silence_fails_s06_and_nothing_else() {
    let client = replaced(
        pause_when_hidden::CLIENT_JS,
        "      showStatus(`polling failed: ${error.message}`);\n",
        "",
    );
    CLIENTS.breaks(client, R5, &["s06"]);
    CLIENTS.passes_all_but(client, &["s06"]);
}

#[test]
fn r5_a_frame_loop_without_try_catch_fails_s06() {
    CLIENTS.breaks(known_clients::RAF_STOPS_AFTER_A_FAILURE, R5, &["s06"]);
}

#[test]
fn the_solution_passes_every_scenario() {
    CLIENTS.passes_every_scenario(pause_when_hidden::CLIENT_JS);
}

/// Chapter 03: "Both versions pass the same checks in the virtual browser."
#[test]
fn the_page_visibility_version_passes_every_scenario() {
    CLIENTS.passes_every_scenario(known_clients::VISIBILITY);
}
