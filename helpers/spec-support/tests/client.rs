//! What client specs are built from: naming a broken rule, catching an
//! expected failure, and comparing a trace with a snapshot within a frame.

use spec_support::{Rule, failure_of, traces_match};

const SOLUTION: &str = "      0 ms  page loads /client.js
     16 ms  GET /poll #1 sent
    116 ms  GET /poll #1 -> 200 (0 msgs)
    116 ms  shows 0 msgs
   3120 ms  GET /poll #2 sent
   3220 ms  GET /poll #2 -> 200 (0 msgs)
   5000 ms  page hidden
  20000 ms  page visible
  20016 ms  GET /poll #3 sent
  20116 ms  GET /poll #3 -> 200 (0 msgs)
  23120 ms  GET /poll #4 sent
";

/// The same scene, with a timer instead of frames: each step up to a frame
/// sooner, 20 ms sooner in all by the time the page hides.
const TIMER: &str = "      0 ms  page loads /client.js
      0 ms  GET /poll #1 sent
    100 ms  GET /poll #1 -> 200 (0 msgs)
    100 ms  shows 0 msgs
   3100 ms  GET /poll #2 sent
   3200 ms  GET /poll #2 -> 200 (0 msgs)
   5000 ms  page hidden
  20000 ms  page visible
  20000 ms  GET /poll #3 sent
  20100 ms  GET /poll #3 -> 200 (0 msgs)
  23100 ms  GET /poll #4 sent
";

#[test]
fn a_trace_matches_itself_and_one_a_frame_apart_at_each_step() {
    assert!(traces_match(SOLUTION, SOLUTION, 0, 24_000));
    assert!(!traces_match(SOLUTION, TIMER, 0, 24_000));
    assert!(traces_match(SOLUTION, TIMER, 16, 24_000));
    // Less than a frame is not enough: the timer polls a whole frame sooner.
    assert!(!traces_match(SOLUTION, TIMER, 15, 24_000));
}

#[test]
fn a_step_more_than_a_frame_off_does_not_match() {
    let late = TIMER
        .replace("  23100 ms  GET /poll #4 sent", "  23140 ms  GET /poll #4 sent");
    assert!(!traces_match(SOLUTION, &late, 16, 24_000));
}

#[test]
fn what_the_scene_does_must_come_at_the_same_time_and_every_line_must_be_there() {
    let hidden_later =
        TIMER.replace("   5000 ms  page hidden", "   5010 ms  page hidden");
    assert!(!traces_match(SOLUTION, &hidden_later, 16, 24_000));
    let other = TIMER.replace("GET /poll #3 -> 200 (0 msgs)", "GET /poll #3 -> 500");
    assert!(!traces_match(SOLUTION, &other, 16, 24_000));
    let fewer: String = TIMER
        .lines()
        .filter(|l| !l.contains("shows"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!traces_match(SOLUTION, &fewer, 16, 24_000));
}

#[test]
fn only_at_the_very_end_may_one_trace_have_a_line_the_other_lacks() {
    let one_more = format!("{TIMER}  23200 ms  GET /poll #4 -> 200 (0 msgs)\n");
    // The scenario ended at 23210 ms: the solution's answer came just after.
    assert!(traces_match(SOLUTION, &one_more, 16, 23_210));
    // It ended at 24000 ms: the solution had time to get that answer too.
    assert!(!traces_match(SOLUTION, &one_more, 16, 24_000));
}

#[test]
fn a_broken_rule_is_named_with_its_id_and_words() {
    let rule = Rule::new("R3", "the wait counts from each answer");
    assert_eq!(rule.to_string(), "R3 (the wait counts from each answer)");
}

#[test]
fn an_expected_failure_is_caught_with_its_message() {
    assert_eq!(failure_of(|| {}), None);
    assert_eq!(
        failure_of(|| panic!("Broken rule R1: {}", 42)),
        Some("Broken rule R1: 42".to_owned())
    );
    assert_eq!(
        failure_of(|| std::panic::panic_any("static")),
        Some("static".to_owned())
    );
}
