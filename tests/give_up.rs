//! One give-up rule (issue 22, item 5): the engine, `mxsim schedule` and `mxsim trace` ask the
//! same `policy::lifetime` functions, so what the schedule prints is what the engine does, for
//! every preset and give-up mode, and a message waiting for a queue slot gives up as its mode
//! promises.

mod common;

use mxsim_core::policy::timeline::timeline;
use mxsim_core::policy::{presets, GiveUp};
use mxsim_core::trace::TraceKind;
use proptest::prelude::*;

/// Attempts (ms), the end (ms), how it ended and the last failure of message `id`.
struct Life {
    attempts: Vec<u64>,
    end: Option<(u64, &'static str)>,
    last: Option<String>,
}

fn life(sim: &mxsim_core::Simulation, id: u64) -> Life {
    let mut l = Life {
        attempts: Vec::new(),
        end: None,
        last: None,
    };
    for r in sim.trace().iter().filter(|r| r.message == id) {
        match &r.kind {
            TraceKind::Attempt { .. } => l.attempts.push(r.t_ms),
            TraceKind::Expired { last } => {
                l.end = Some((r.t_ms, "expired"));
                l.last = last.map(|r| r.to_string());
            }
            TraceKind::Bounced { .. } => l.end = Some((r.t_ms, "bounced")),
            TraceKind::Delivered { .. } => l.end = Some((r.t_ms, "delivered")),
            _ => {}
        }
    }
    l
}

/// Two messages at 0 s and 1 s to an MX that never answers; each attempt waits the 5-minute
/// connect timeout; the active queue holds one message, so the second waits for the first's
/// slot past its 2-minute lifetime.
fn waiting_past_the_lifetime(give_up: &str) -> String {
    common::one_mx(
        "",
        "{ at = [\"0s\", \"1s\"] }",
        "failure = { schedule = [{ from = \"0s\", to = \"100d\" }] }\ndown = \"silent\"",
        &format!(
            "retry = {{ fixed = \"1m\" }}\nqueue_lifetime = \"2m\"\ngive_up = \"{give_up}\"\nqueue = {{ active_limit = 1 }}\nconnect = {{ timeout = \"5m\" }}"
        ),
    )
}

#[test]
fn item_5_after_attempt_makes_the_attempt_it_promises_to_a_waiting_message() {
    let sim = common::run_traced(common::load(&waiting_past_the_lifetime("after-attempt")));
    let second = life(&sim, 1);
    // It waited for message 0's slot (free at 5 min), was attempted then although its
    // lifetime ended at 2m1s, and the failure after the lifetime ended it, at 10 min.
    assert_eq!(
        second.attempts,
        vec![300_000],
        "one attempt when the slot freed"
    );
    assert_eq!(second.end, Some((600_000, "expired")));
    assert_eq!(
        second.last.as_deref(),
        Some("451 4.4.1"),
        "its real failure"
    );
}

#[test]
fn item_5_deadline_and_overshoot_expire_a_waiting_message_without_inventing_a_failure() {
    for (mode, at) in [("deadline", 121_000), ("overshoot", 121_001)] {
        let sim = common::run_traced(common::load(&waiting_past_the_lifetime(mode)));
        let second = life(&sim, 1);
        assert!(
            second.attempts.is_empty(),
            "{mode}: no attempt past the lifetime"
        );
        assert_eq!(second.end, Some((at, "expired")), "{mode}");
        // It never failed: no 2.0.0 placeholder, and the report counts it under "none".
        assert_eq!(second.last, None, "{mode}");
        let report = sim.report();
        assert_eq!(report.expired_by_last_code.get("none"), Some(&1), "{mode}");
        assert!(!report.expired_by_last_code.contains_key("2.0.0"), "{mode}");
    }
}

/// One message at 0 to an MX that refuses every connection at once (no latency), under
/// preset `preset` with give-up mode `mode`.
fn always_failing(preset: &str, mode: GiveUp, seed: u64) -> String {
    common::one_mx(
        "duration = \"60d\"",
        "{ at = [\"0s\"] }",
        "failure = { schedule = [{ from = \"0s\", to = \"100d\" }] }",
        &format!("preset = \"{preset}\"\ngive_up = \"{}\"", mode.name()),
    )
    .replace("seed = 1", &format!("seed = {seed}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn item_5_schedule_is_what_the_engine_does_for_every_preset_and_give_up_mode(seed in 0u64..1_000_000) {
        for preset in presets() {
            for mode in GiveUp::ALL {
                let scenario = common::load(&always_failing(preset.name, mode, seed));
                let t = timeline(&scenario.policy.retry, mxsim_core::smtp::codes::NO_ANSWER, Some(seed));
                let sim = common::run_traced(scenario);
                let l = life(&sim, 0);
                let planned: Vec<u64> = t.attempts.iter().map(|a| a.offset_ms).collect();
                let n = l.attempts.len().min(planned.len());
                prop_assert!(n > 0);
                prop_assert_eq!(&l.attempts[..n], &planned[..n], "{} {}: attempt times", preset.name, mode.name());
                if let (Some(gives_up), Some((end, how))) = (t.gives_up_at_ms, l.end) {
                    prop_assert_eq!(l.attempts.len(), planned.len(), "{} {}: attempt count", preset.name, mode.name());
                    prop_assert_eq!(end, gives_up, "{} {}: give-up time", preset.name, mode.name());
                    prop_assert!(how == "expired" || how == "bounced");
                }
            }
        }
    }
}
