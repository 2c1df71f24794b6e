//! Property tests over generated scenarios (random topologies, failure models, policies).
//!
//! Each property states an invariant the simulator must keep for *every* scenario: determinism,
//! conservation of messages, causality of the trace, RFC 5321 MX preference, and common random
//! numbers (the environment does not depend on the policy under test).

mod common;

use common::{knobs, knobs_with_network, load, retry_knob, run_traced, FailureKnob, Knobs};
use mxsim_core::scenario::HostId;
use mxsim_core::time::SimTime;
use mxsim_core::trace::TraceKind;
use mxsim_core::Simulation;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn same_seed_same_trace_digest(k in knobs_with_network()) {
        let a = run_traced(load(&k.toml()));
        let b = run_traced(load(&k.toml()));
        prop_assert_eq!(a.report().digest, b.report().digest);
        prop_assert_eq!(a.trace(), b.trace());
    }

    #[test]
    fn different_seeds_usually_differ(k in knobs()) {
        // A run with arrivals must depend on its seed; guards against a digest that ignores data.
        let s = load(&k.toml());
        let mut other = s.clone();
        other.seed ^= 0x5555;
        let (a, b) = (mxsim_core::run(s), mxsim_core::run(other));
        if a.outcomes.generated > 0 || b.outcomes.generated > 0 {
            prop_assert_ne!(a.digest, b.digest);
        }
    }

    #[test]
    fn outcomes_add_up(k in knobs_with_network()) {
        let r = mxsim_core::run(load(&k.toml()));
        let o = &r.outcomes;
        prop_assert_eq!(o.generated, o.delivered + o.bounced + o.expired + o.queued);
        // No duration limit: the run ends only when every message is terminal.
        prop_assert_eq!(r.stopped_by, "queue_empty");
        prop_assert_eq!(o.queued, 0);
        prop_assert_eq!(r.bounced_by_code.values().sum::<u64>(), o.bounced);
        prop_assert_eq!(r.expired_by_last_code.values().sum::<u64>(), o.expired);
    }

    #[test]
    fn outcomes_add_up_at_every_step(k in knobs_with_network()) {
        // Goal: conservation holds during the run, not only at the end. Method: step the run
        // and, every few events, compare the message store's state counts (the snapshot) with
        // the metrics' outcome counts (the report, which asserts they agree) and check that
        // the trace so far shows exactly those terminal outcomes.
        let mut sim = Simulation::new(load(&k.toml()));
        sim.record_trace();
        let mut steps = 0u64;
        loop {
            let more = sim.step();
            steps += 1;
            if steps.is_multiple_of(97) || !more {
                let q = sim.snapshot().queue;
                let r = sim.report();
                let o = &r.outcomes;
                prop_assert_eq!(q.delivered, o.delivered);
                prop_assert_eq!(q.bounced, o.bounced);
                prop_assert_eq!(q.expired, o.expired);
                prop_assert_eq!(q.deferred + q.in_flight + q.waiting, o.queued);
                let ended = sim.trace().iter().filter(|t| matches!(
                    t.kind,
                    TraceKind::Delivered { .. } | TraceKind::Bounced { .. } | TraceKind::Expired { .. }
                )).count() as u64;
                prop_assert_eq!(ended, o.delivered + o.bounced + o.expired);
            }
            if !more {
                break;
            }
        }
    }

    /// Observing a run in detail never changes it (same digest, same counters), and what it
    /// observes adds up: per-route attempts to the attempts, per-host contacts to the report's,
    /// the series to the outcomes, and blamed failed attempts to at most the failed ones.
    #[test]
    fn observation_changes_nothing_and_adds_up(k in knobs_with_network()) {
        let s = load(&k.toml());
        let plain = mxsim_core::run(s.clone());
        let mut sim = Simulation::new(s);
        sim.observe(None);
        sim.run();
        let r = sim.report();
        prop_assert_eq!(&r.digest, &plain.digest);
        prop_assert_eq!(r.attempts.total, plain.attempts.total);
        prop_assert_eq!(r.outcomes.delivered, plain.outcomes.delivered);
        let routing = r.routing.as_ref().expect("observed");
        let on_routes: u64 = routing.routes.iter().map(|x| x.tally.attempts).sum();
        prop_assert_eq!(on_routes + routing.routes_not_itemised, r.attempts.total);
        for (h, rh) in r.hosts.iter().zip(&routing.hosts) {
            prop_assert_eq!(h.contacts, rh.tally.attempts);
            prop_assert!(rh.failures_caused <= rh.tally.attempts - rh.tally.successes);
        }
        let series = r.series.as_ref().expect("observed");
        prop_assert_eq!(series.buckets.iter().map(|b| b.arrivals).sum::<u64>(), r.outcomes.generated);
        prop_assert_eq!(series.buckets.iter().map(|b| b.delivered).sum::<u64>(), r.outcomes.delivered);
        prop_assert_eq!(series.buckets.iter().map(|b| b.attempts).sum::<u64>(), r.attempts.total);
        let a = r.analysis.as_ref().expect("observed");
        let blamed: f64 = routing.hosts.iter().map(|h| h.failed_attempts_caused).sum();
        prop_assert!(blamed <= a.failed_attempts as f64 + 1e-6);
        prop_assert_eq!(a.culprit.is_some(), !a.suspects.is_empty());
        // Censored percentiles: equal to the ordinary ones when all was delivered, never
        // below them otherwise.
        if r.outcomes.delivered == r.outcomes.generated {
            prop_assert_eq!(r.delay_censored_ms.p95, r.delay_ms.p95);
            prop_assert_eq!(r.delay_censored_ms.p50, r.delay_ms.p50);
        } else if let (Some(c), Some(d)) = (r.delay_censored_ms.p50, r.delay_ms.p50) {
            prop_assert!(c >= d);
        }
    }

    #[test]
    fn trace_is_causal(k in knobs_with_network()) {
        let sim = run_traced(load(&k.toml()));
        let lifetime_ms = u64::from(k.lifetime_min) * 60_000;
        let mut last_t = 0;
        let mut arrival: BTreeMap<u64, u64> = BTreeMap::new();
        let mut finished: BTreeMap<u64, u64> = BTreeMap::new();
        let mut attempts: BTreeMap<u64, u32> = BTreeMap::new();
        let mut last_failure: BTreeMap<u64, u64> = BTreeMap::new();
        let mut attempt_end: BTreeMap<u64, u64> = BTreeMap::new();
        let mut warnings: BTreeMap<u64, u32> = BTreeMap::new();
        for r in sim.trace() {
            prop_assert!(r.t_ms >= last_t, "trace time went backwards at {:?}", r);
            last_t = r.t_ms;
            prop_assert!(!finished.contains_key(&r.message), "record after the end of message {}: {:?}", r.message, r);
            match &r.kind {
                TraceKind::Arrival { .. } => {
                    prop_assert!(arrival.insert(r.message, r.t_ms).is_none());
                }
                TraceKind::Attempt { n, hops, end_ms, .. } => {
                    let a = arrival[&r.message];
                    prop_assert!(r.t_ms >= a);
                    // No attempt after giving up, under each give-up semantics.
                    let deadline = a + lifetime_ms;
                    match k.give_up {
                        "deadline" => prop_assert!(r.t_ms < deadline, "attempt at or after the deadline"),
                        "overshoot" => prop_assert!(r.t_ms <= deadline, "attempt after the lifetime"),
                        _ => prop_assert!(
                            last_failure.get(&r.message).is_none_or(|&f| f < deadline),
                            "attempt after a failure past the lifetime"
                        ),
                    }
                    let count = attempts.entry(r.message).or_insert(0);
                    *count += 1;
                    prop_assert_eq!(*n, *count);
                    if let Some((cap, _)) = k.max_attempts {
                        prop_assert!(*n <= cap, "attempt {} over the cap {}", n, cap);
                    }
                    let mut t = r.t_ms;
                    for h in hops {
                        prop_assert!(h.at_ms >= t, "hop before its predecessor");
                        t = h.at_ms;
                    }
                    prop_assert!(*end_ms >= t);
                    attempt_end.insert(r.message, *end_ms);
                }
                TraceKind::Delivered { delay_ms } => {
                    prop_assert_eq!(*delay_ms, r.t_ms - arrival[&r.message]);
                    finished.insert(r.message, r.t_ms);
                }
                TraceKind::Bounced { .. } => {
                    finished.insert(r.message, r.t_ms);
                }
                TraceKind::Relayed { .. } => prop_assert!(false, "no store-and-forward relay here"),
                TraceKind::Expired { .. } => {
                    if k.give_up != "after-attempt" {
                        // At the deadline, or when an attempt under way then ends. Under
                        // overshoot a try exactly at the deadline is still allowed, so a
                        // message waiting for a queue slot expires 1 ms after it
                        // (`GiveUp::waiting_expires_at`: the first instant it is refused).
                        let grace = u64::from(k.give_up == "overshoot");
                        let deadline = arrival[&r.message] + lifetime_ms + grace;
                        let last_end = attempt_end.get(&r.message).copied().unwrap_or(0);
                        prop_assert!(r.t_ms <= deadline.max(last_end), "expired at {} after the deadline {}", r.t_ms, deadline);
                    }
                    finished.insert(r.message, r.t_ms);
                }
                TraceKind::Deferred { retry_at_ms, .. } => {
                    prop_assert!(*retry_at_ms >= r.t_ms);
                    last_failure.insert(r.message, r.t_ms);
                }
                TraceKind::Waiting => prop_assert!(arrival.contains_key(&r.message)),
                TraceKind::DelayWarning { n, age_ms } => {
                    // Warnings come in order, each once its age is reached (no relays here,
                    // so the sender's queue is the only one).
                    prop_assert!(r.t_ms >= arrival[&r.message] + age_ms);
                    let count = warnings.entry(r.message).or_insert(0);
                    *count += 1;
                    prop_assert_eq!(*n, *count);
                }
            }
        }
        prop_assert_eq!(finished.len(), arrival.len(), "every message ends exactly once");
    }

    #[test]
    fn mx_preference_respected_while_hosts_are_up(mut k in knobs()) {
        // Goal: RFC 5321 §5.1 — hosts are tried by increasing preference, the next one only after
        // the previous failed transiently, and the first contact is a most-preferred reachable MX.
        k.relays.clear();
        // Host retry records skip hosts on purpose (Exim); this property is about the RFC order.
        k.shared.0 = false;
        let s = load(&k.toml());
        let pref: Vec<u16> = k.mx.iter().map(|m| m.0 * 10).collect();
        let mx_of = |name: &str| name.strip_prefix("mx").and_then(|i| i.parse::<usize>().ok());
        let best_linked = k.mx.iter().filter(|m| m.2).map(|m| m.0 * 10).min();
        let limit_covers_all = k.address_limit as usize >= k.mx.len();
        let linked = k.mx.iter().filter(|m| m.2).count();
        let sim = run_traced(s);
        for r in sim.trace() {
            if let TraceKind::Attempt { hops, .. } = &r.kind {
                let prefs: Vec<u16> = hops.iter().map(|h| pref[mx_of(&h.host).expect("hops are MX hosts")]).collect();
                prop_assert!(prefs.windows(2).all(|w| w[0] <= w[1]), "preference order violated: {:?}", prefs);
                for h in &hops[..hops.len().saturating_sub(1)] {
                    prop_assert!(h.reply.is_transient(), "moved on after a final answer: {:?}", hops);
                }
                if let (Some(first), true) = (prefs.first(), limit_covers_all) {
                    prop_assert_eq!(Some(*first), best_linked);
                }
                // An attempt that failed softly must have tried every reachable MX first.
                if limit_covers_all && hops.last().is_some_and(|h| h.reply.is_transient()) {
                    prop_assert_eq!(hops.len(), linked, "gave up with untried MX hosts: {:?}", hops);
                }
            }
        }
    }

    #[test]
    fn changing_only_the_retry_policy_leaves_the_environment_unchanged(k in knobs(), other in retry_knob()) {
        // Goal: common random numbers (DESIGN §2). Method: run the scenario under two retry
        // policies with one seed. Every host contact in either run must agree with the outage
        // timeline of a third, never-run simulation, and a Bernoulli host must give the same
        // answer to the same (message, attempt) in both runs.
        let a = run_traced(load(&k.toml()));
        let b = run_traced(load(&k.toml_with_retry(&other)));
        let mut reference = Simulation::new(load(&k.toml()));
        let until = a.now().max(b.now()).after(mxsim_core::time::SimDuration::from_hours(1));
        let scenario = a.scenario().clone();
        let mut windows = BTreeMap::new();
        for (i, _) in scenario.hosts.iter().enumerate() {
            let id = HostId(i as u32);
            let w = reference.down_windows(id, until);
            windows.insert(scenario.hosts[i].id.clone(), w);
        }
        let bernoulli: Vec<String> = k.mx.iter().enumerate().filter(|(_, m)| matches!(m.3, FailureKnob::Bernoulli(_))).map(|(i, _)| format!("mx{i}"))
            .chain(k.relays.iter().enumerate().filter(|(_, f)| matches!(f, FailureKnob::Bernoulli(_))).map(|(i, _)| format!("relay{i}")))
            .collect();
        let mut coins: [BTreeMap<(String, u64, u32), bool>; 2] = [BTreeMap::new(), BTreeMap::new()];
        for (run, sim) in [&a, &b].into_iter().enumerate() {
            for r in sim.trace() {
                let TraceKind::Attempt { n, hops, .. } = &r.kind else { continue };
                for h in hops {
                    let down = h.reply.code.to_string() == "4.4.1";
                    if bernoulli.contains(&h.host) {
                        coins[run].insert((h.host.clone(), r.message, *n), down);
                    } else {
                        let t = SimTime(h.at_ms);
                        let in_window = windows[&h.host].iter().any(|&(from, to)| from <= t && t < to);
                        prop_assert_eq!(down, in_window, "run {} saw {} {} at {} against its timeline", run, h.host, if down { "down" } else { "up" }, h.at_ms);
                    }
                }
            }
        }
        for (key, down) in &coins[0] {
            if let Some(other) = coins[1].get(key) {
                prop_assert_eq!(down, other, "coin for {:?} differs between policies", key);
            }
        }
    }
}

#[test]
fn invalid_scenarios_never_panic_the_validator() {
    // Goal: bad input is handled, never a panic. Method: mutate valid scenario text by deleting
    // and duplicating lines and corrupting characters; every variant must either load or return
    // diagnostics.
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/hard-and-soft.toml"
    ))
    .unwrap();
    let lines: Vec<&str> = base.lines().collect();
    for i in 0..lines.len() {
        let mut v = lines.clone();
        v.remove(i);
        let _ = mxsim_core::scenario::load(&v.join("\n"), "x.toml");
        let mut v = lines.clone();
        v.insert(i, lines[i]);
        let _ = mxsim_core::scenario::load(&v.join("\n"), "x.toml");
        for junk in ["\"", "=", "[", "-1", "1e400", "{"] {
            let mut v = lines.clone();
            let replaced = format!("{}{}", lines[i], junk);
            v[i] = &replaced;
            let _ = mxsim_core::scenario::load(&v.join("\n"), "x.toml");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn validator_never_panics_on_arbitrary_text(text in "\\PC{0,300}") {
        let _ = mxsim_core::scenario::load(&text, "x.toml");
        let _ = mxsim_core::scenario::load(&text, "x.json");
    }

    #[test]
    fn generated_scenarios_round_trip_through_json(k in knobs()) {
        // The JSON form of a scenario is the same schema: converting the TOML tree to JSON and
        // loading that must give the same scenario.
        let text = k.toml();
        let value: toml_json::Value = toml_json::parse(&text);
        let json = serde_json::to_string(&value).unwrap();
        let from_json = mxsim_core::scenario::load(&json, "x.json").map_err(|d| d.to_string()).unwrap();
        prop_assert_eq!(from_json, load(&text));
    }
}

/// A tiny TOML → JSON converter for the round-trip property, via the `toml` crate's own tree.
mod toml_json {
    pub type Value = serde_json::Value;
    pub fn parse(text: &str) -> Value {
        let table: toml::Table = text.parse().expect("generated TOML parses");
        serde_json::to_value(table).expect("TOML values convert to JSON")
    }
}

#[allow(dead_code)]
fn _assert_knobs_debug(k: &Knobs) -> String {
    format!("{k:?}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn exim_rules_round_trip_through_their_text(
        rules in prop::collection::vec((0usize..3, 1u64..2_000, 1u64..1_000, 10u32..50), 1..5)
    ) {
        // Build rules with increasing cutoffs, print them, parse them back.
        let mut cutoff = 0;
        let parts: Vec<String> = rules
            .iter()
            .map(|&(kind, step, p1, m)| {
                cutoff += step;
                let k = ["F", "G", "H"][kind];
                if k == "F" { format!("{k},{cutoff}m,{p1}s") } else { format!("{k},{cutoff}m,{p1}s,{}", f64::from(m) / 10.0) }
            })
            .collect();
        let text = parts.join("; ");
        let parsed = mxsim_core::policy::EximRules::parse(&text).map_err(TestCaseError::fail)?;
        let again = mxsim_core::policy::EximRules::parse(&parsed.to_string()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(parsed, again);
    }

    #[test]
    fn exim_parser_rejects_garbage_without_panicking(text in "[FGHX0-9smhdw,;. *-]{0,40}") {
        if let Err(e) = mxsim_core::policy::EximRules::parse(&text) {
            prop_assert!(e.starts_with("rule "), "errors name the rule: {}", e);
        }
    }

    #[test]
    fn every_wait_lies_within_its_family_bounds(k in 1u32..60, u in 0.0f64..1.0, prev_s in 0u64..20_000, age_s in 0u64..500_000) {
        use mxsim_core::policy::{Backoff, Jitter, RetryState, Step};
        use mxsim_core::time::{SimDuration, SimTime};
        let (base, cap) = (SimDuration::from_secs(300), SimDuration::from_secs(4000));
        let s = RetryState { retry: k, age: SimDuration::from_secs(age_s), now: SimTime(age_s * 1000), previous: Some(SimDuration::from_secs(prev_s)), u };
        let wait = |b: &Backoff| match b.next(&s) { Step::Wait(w, _) => w, Step::Exhausted => panic!("no exhaustion here") };
        let v = (300_000.0 * 2f64.powi((k - 1).min(40) as i32)).min(4_000_000.0) as u64;
        for (jitter, lo, hi) in [(Jitter::None, v, v), (Jitter::Full, 0, v), (Jitter::Equal, v / 2, v), (Jitter::Decorrelated, 300_000, 4_000_000)] {
            let w = wait(&Backoff::Exponential { initial: base, factor: 2.0, max: Some(cap), jitter }).as_ms();
            prop_assert!(lo <= w && w <= hi, "{:?}: {} not in [{}, {}]", jitter, w, lo, hi);
        }
        let clamp = wait(&Backoff::AgeClamp { min: base, max: cap });
        prop_assert!(base <= clamp && clamp <= cap);
        let run = wait(&Backoff::QueueRun { interval: SimDuration::from_mins(30) }).as_ms();
        prop_assert!(run > 0 && run <= 1_800_000 && (age_s * 1000 + run) % 1_800_000 == 0);
    }
}
