//! The JS API under Node (wasm-bindgen-test): errors, stepping, the event cursor, snapshots.
//! Runs with `cargo test --target wasm32-unknown-unknown -p mxsim-wasm` (scripts/test does).
#![cfg(target_arch = "wasm32")]

use mxsim_wasm::{explain, presets, trace, validate, Sim};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const BACKUP: &str = include_str!("../../scenarios/backup-mx.toml");
const BROKEN: &str = include_str!("../../tests/fixtures/broken.toml");

fn message(e: wasm_bindgen::JsError) -> String {
    let v: JsValue = e.into();
    v.dyn_into::<js_sys::Error>()
        .expect("a JS Error")
        .message()
        .into()
}

fn parse(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("valid JSON")
}

#[wasm_bindgen_test]
fn invalid_scenarios_throw_the_cli_diagnostics() {
    let e = Sim::new(BROKEN, Some("broken.toml".into()), None, None, None)
        .err()
        .expect("invalid");
    let m = message(e);
    for want in [
        "broken.toml:4:12 (duration)",
        "got 1.7",
        "did you mean `failure`?",
        "unknown host \"relay-b\"",
        "5 problems found",
    ] {
        assert!(m.contains(want), "missing {want:?} in {m}");
    }
    let v = parse(&validate(BROKEN, None));
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"].as_array().unwrap().len(), 5);
    assert_eq!(v["problems"][1]["path"], "hosts[1].failure.bernoulli.p");
}

#[wasm_bindgen_test]
fn stepping_respects_the_event_budget() {
    let sim = Sim::new(BACKUP, None, None, None, None).unwrap();
    assert_eq!(sim.advance(100).unwrap(), 100);
    assert_eq!(sim.events().unwrap(), 100.0);
    let t = sim.now_ms().unwrap();
    let ran = sim
        .advance_to(t + 60_000.0, 10_000)
        .map_err(|_| "advanceTo")
        .unwrap();
    assert!(ran > 0 && sim.now_ms().unwrap() <= t + 60_000.0);
    assert!(
        sim.advance_to(t - 1.0, 10).is_err(),
        "a time in the past is an error"
    );
    assert!(sim.advance_to(f64::NAN, 10).is_err(), "NaN is not a time");
    let mut chunks = 0;
    while !sim.run_to_end(5_000).unwrap() {
        chunks += 1;
        assert!(chunks < 100, "the run must finish");
    }
    assert_eq!(sim.advance(10).unwrap(), 0, "nothing runs after the end");
    let report = parse(&sim.report().unwrap());
    assert_eq!(report["stopped_by"], "queue_empty");
    assert_eq!(report["digest"], sim.digest().unwrap());
}

#[wasm_bindgen_test]
fn the_cursor_returns_each_event_once_in_time_order() {
    let sim = Sim::new(BACKUP, None, Some(5), Some(true), None).unwrap();
    let mut cursor = 0;
    let mut seen = 0;
    let mut last_t = 0;
    while !sim.run_to_end(997).unwrap() {
        let batch = parse(&sim.events_since(f64::from(cursor), 400).unwrap());
        let events = batch["events"].as_array().unwrap();
        for e in events {
            let t = e["t_ms"].as_u64().unwrap();
            assert!(t >= last_t);
            last_t = t;
        }
        seen += events.len();
        cursor = batch["next"].as_u64().unwrap() as u32;
        assert_eq!(cursor as usize, seen);
    }
    let rest = parse(&sim.events_since(f64::from(cursor), u32::MAX).unwrap());
    seen += rest["events"].as_array().unwrap().len();
    let report = parse(&sim.report().unwrap());
    let generated = report["outcomes"]["generated"].as_u64().unwrap() as usize;
    // Each message: arrival, attempt, delivered (the backup scenario delivers at first try).
    assert_eq!(seen, 3 * generated);
    let without = Sim::new(BACKUP, None, None, None, None).unwrap();
    assert!(without.events_since(0.0, 10).is_err());
}

#[wasm_bindgen_test]
fn snapshots_show_hosts_queue_and_messages_in_flight() {
    let sim = Sim::new(BACKUP, None, None, Some(true), None).unwrap();
    sim.advance(1).unwrap();
    let s = parse(&sim.snapshot().unwrap());
    let hosts = s["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    // mx1 is scheduled down for the first 6 hours.
    assert_eq!(hosts[1]["id"], "mx1.example.org");
    assert_eq!(hosts[1]["state"], "down");
    assert_eq!(hosts[2]["state"], "up");
    assert_eq!(s["queue"]["in_flight"], 1);
    let flying = s["in_flight"].as_array().unwrap();
    assert_eq!(flying.len(), 1);
    assert_eq!(flying[0]["attempt"], 1);
    assert_eq!(flying[0]["hop"], "mx1.example.org");
}

#[wasm_bindgen_test]
fn presets_and_explanations_come_from_the_core_registry() {
    let p = parse(&presets());
    assert!(p.as_array().unwrap().iter().any(|x| x["name"] == "rfc5321"));
    let e = parse(&explain("4.4.3").unwrap());
    assert_eq!(e["name"], "Directory server failure");
    assert!(message(explain("4.4").err().unwrap()).contains("invalid status code"));
}

#[wasm_bindgen_test]
fn observing_adds_routing_series_and_analysis_and_refuses_bad_widths() {
    const BAD_BACKUP: &str = include_str!("../../scenarios/analyze-bad-backup-mx.toml");
    let sim = Sim::new(BAD_BACKUP, None, None, None, None).unwrap();
    for bad in [0.0, -5.0, 1.5, f64::NAN, f64::INFINITY] {
        assert!(
            sim.observe(Some(bad)).is_err(),
            "{bad} is not a bucket width"
        );
    }
    sim.observe(Some(600_000.0)).unwrap();
    while !sim.run_to_end(100_000).unwrap() {}
    let report = parse(&sim.report().unwrap());
    assert_eq!(report["analysis"]["culprit"], "old-mx2.example.org");
    assert_eq!(report["series"]["every_ms"], 600_000);
    assert!(report["routing"]["routes"].as_array().unwrap().len() >= 2);
}

#[wasm_bindgen_test]
fn events_read_are_released_and_unread_ones_are_bounded() {
    let sim = Sim::new(BACKUP, None, Some(5), Some(true), None).unwrap();
    while !sim.run_to_end(10_000).unwrap() {}
    let all = parse(&sim.events_since(0.0, u32::MAX).unwrap());
    let n = all["events"].as_array().unwrap().len();
    assert_eq!(all["skipped"], 0);
    // Reading from `next` releases what came before: asking again from 0 returns nothing
    // old, and says how many records before the first one returned are gone.
    let again = parse(&sim.events_since(n as f64, 10).unwrap());
    assert!(again["events"].as_array().unwrap().is_empty());
    let from_zero = parse(&sim.events_since(0.0, 10).unwrap());
    assert!(from_zero["events"].as_array().unwrap().is_empty());
    assert_eq!(from_zero["skipped"], n as u64);
    assert!(sim.events_since(-1.0, 10).is_err());
    assert!(sim.events_since(0.5, 10).is_err());
}

#[wasm_bindgen_test]
fn a_policy_spec_changes_the_run_and_a_bad_one_is_named() {
    // Soft bounces retried on the scenario's schedule or on Postfix's: the runs must differ.
    const HARD_AND_SOFT: &str = include_str!("../../scenarios/hard-and-soft.toml");
    let own = Sim::new(HARD_AND_SOFT, None, Some(5), None, None).unwrap();
    let postfix = Sim::new(HARD_AND_SOFT, None, Some(5), None, Some("postfix".into())).unwrap();
    while !own.run_to_end(100_000).unwrap() {}
    while !postfix.run_to_end(100_000).unwrap() {}
    assert_ne!(own.digest().unwrap(), postfix.digest().unwrap());
    let m = message(
        Sim::new(BACKUP, None, None, None, Some("no-such-preset".into()))
            .err()
            .expect("unknown policy"),
    );
    assert!(m.starts_with("policy no-such-preset:"), "{m}");
    // `scenario` is the file's own policy: the same run, and the same errors as without one.
    let named = Sim::new(HARD_AND_SOFT, None, Some(5), None, Some("scenario".into())).unwrap();
    while !named.run_to_end(100_000).unwrap() {}
    assert_eq!(named.digest().unwrap(), own.digest().unwrap());
    let broken = "name = \"x\"\nseed = \"nope\"\n";
    let plain = message(Sim::new(broken, None, None, None, None).err().unwrap());
    let spec = message(
        Sim::new(broken, None, None, None, Some("scenario".into()))
            .err()
            .unwrap(),
    );
    assert_eq!(spec, plain);
}

#[wasm_bindgen_test]
fn topology_lists_hosts_links_and_mx_preferences() {
    let sim = Sim::new(BACKUP, None, None, None, None).unwrap();
    let t = parse(&sim.topology().unwrap());
    assert_eq!(t["hosts"].as_array().unwrap().len(), 3);
    let domain = &t["domains"][0];
    let mx = domain["mx"].as_array().unwrap();
    assert_eq!(mx.len(), 2);
    assert!(mx[0][0].as_u64().unwrap() < mx[1][0].as_u64().unwrap());
}

#[wasm_bindgen_test]
fn trace_picks_messages_like_the_cli_and_refuses_bad_picks() {
    let worst = parse(&trace(BACKUP, None, Some(5), None, r#"{"worst": 2}"#).unwrap());
    let worst = worst.as_array().unwrap();
    assert_eq!(worst.len(), 2);
    let id = worst[0]["message"].as_u64().unwrap();
    let by_id =
        parse(&trace(BACKUP, None, Some(5), None, &format!("{{\"ids\": [{id}]}}")).unwrap());
    assert_eq!(by_id[0], worst[0], "the same message traces the same way");
    for bad in [r#"{}"#, r#"{"worst": 0}"#, r#"{"ids": "x"}"#, "nope"] {
        let m = message(trace(BACKUP, None, None, None, bad).expect_err(bad));
        assert!(m.starts_with("trace: "), "{m}");
    }
}
