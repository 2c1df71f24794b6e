//! Advancing frame by frame (the browser's `advanceTo`) is the same run as `run()`: the same
//! digest, the same report, and the run stops for the same reason once the frames pass its
//! end — with no event left, or past the scenario's duration.

mod common;

use mxsim_core::time::SimTime;
use mxsim_core::Simulation;

/// Runs `text` by frames of `frame_ms` (at most `budget` events each) until it stops.
fn by_frames(text: &str, frame_ms: u64, budget: u64) -> Simulation {
    let mut sim = Simulation::new(common::load(text));
    let mut t = 0;
    for _ in 0..1_000_000 {
        if sim.stopped().is_some() {
            return sim;
        }
        let ran = sim.run_until(SimTime(t), budget).unwrap();
        if ran < budget {
            t += frame_ms;
        }
    }
    panic!(
        "the frames never stopped the run (clock {})",
        sim.now().as_ms()
    );
}

fn whole(text: &str) -> Simulation {
    let mut sim = Simulation::new(common::load(text));
    sim.run();
    sim
}

fn same_run(text: &str, frame_ms: u64, budget: u64) -> String {
    let framed = by_frames(text, frame_ms, budget);
    let ran = whole(text);
    let a = serde_json::to_string(&framed.report()).unwrap();
    let b = serde_json::to_string(&ran.report()).unwrap();
    assert_eq!(a, b, "frames of {frame_ms} ms, budget {budget}");
    framed.report().stopped_by.to_string()
}

#[test]
fn frames_stop_when_no_event_is_left() {
    let text = common::one_mx(
        "duration = \"30d\"",
        "{ poisson_per_hour = 30, for = \"2h\" }",
        "failure = { schedule = [{ from = \"30m\", to = \"90m\" }] }",
        "retry = { fixed = \"10m\" }",
    );
    assert_eq!(same_run(&text, 600_000, 1_000_000), "queue_empty");
    // A small budget per frame: the frame's time is reached over several calls.
    assert_eq!(same_run(&text, 3_600_000, 7), "queue_empty");
}

#[test]
fn frames_stop_past_the_duration() {
    let text = common::one_mx(
        "duration = \"3h\"",
        "{ poisson_per_hour = 30, for = \"10h\" }",
        "failure = { schedule = [{ from = \"30m\", to = \"9h\" }] }",
        "retry = { fixed = \"10m\" }",
    );
    assert_eq!(same_run(&text, 600_000, 1_000_000), "duration");
    assert_eq!(same_run(&text, 7_000_000, 3), "duration");
}
