//! No silent limits (issue 9): counts and ages that once narrowed or saturated inside core are
//! either exact at sizes past the old limits, or refused at load with a diagnostic naming the
//! limit and the field.

use mxsim_core::scenario;
use mxsim_core::trace::TraceKind;
use mxsim_core::Simulation;

/// A chain sender → r1 → r2 → … → rN → mx, every relay store-and-forward with its own queue
/// routing to the next one.
fn relay_chain(n: usize, hop_limit: u32) -> String {
    let mut s = String::from(
        r#"
name = "relay chain"
seed = 1
[workload]
arrivals = { at = ["0s", "1s", "2s"] }
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx.example"
role = "mx"
[[domains]]
name = "example"
mx = [{ preference = 10, host = "mx.example" }]
[limits]
hosts_max = 1000
[policy]
route = { via = ["r1"] }
"#,
    );
    for i in 1..=n {
        let next = if i == n {
            String::new()
        } else {
            format!("route = {{ via = [\"r{}\"] }}, ", i + 1)
        };
        s += &format!(
            "[[hosts]]\nid = \"r{i}\"\nrole = \"relay\"\nmode = \"store-and-forward\"\npolicy = {{ {next}hop_limit = {hop_limit} }}\n"
        );
        let from = if i == 1 {
            "out".to_string()
        } else {
            format!("r{}", i - 1)
        };
        s += &format!("[[links]]\nfrom = \"{from}\"\nto = \"r{i}\"\nlatency = \"1ms\"\n");
    }
    s += &format!("[[links]]\nfrom = \"r{n}\"\nto = \"mx.example\"\nlatency = \"1ms\"\n");
    s
}

#[test]
fn three_hundred_store_and_forward_relays_each_hand_the_mail_on() {
    // Goal: past 255 relays (the old u8 MTA index) every relay is its own queue. Method: a
    // 300-relay chain; each message must pass all 300 and be delivered once, by the MX.
    let text = relay_chain(300, 1_000);
    let sc = scenario::load(&text, "chain.toml").unwrap_or_else(|d| panic!("{d}"));
    let mut sim = Simulation::new(sc);
    sim.record_trace();
    sim.run();
    let r = sim.report();
    assert_eq!(r.outcomes.generated, 3);
    assert_eq!(r.outcomes.delivered, 3, "{:?}", r.outcomes);
    assert_eq!(r.network.relayed, 3 * 300);
    assert_eq!(r.hosts[1].accepted, 3, "the MX accepts each message once");
    // Each relay's attempt is made from that relay, in chain order.
    let froms: Vec<&str> = sim
        .trace()
        .iter()
        .filter(|t| t.message == 0)
        .filter_map(|t| match &t.kind {
            TraceKind::Attempt { from, .. } => Some(from.as_deref().unwrap_or("out")),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = std::iter::once("out".to_string())
        .chain((1..=300).map(|i| format!("r{i}")))
        .collect();
    assert_eq!(froms, expected);
    // Every attempt of a delivered message counts: 301 queues, one attempt each.
    assert_eq!(r.attempts.per_delivered, Some(301.0));
    assert_eq!(r.attempts.per_message, Some(301.0));
}

#[test]
fn a_hop_limit_above_254_is_honoured_exactly() {
    // The old code clamped hop_limit to 254; a 300-relay chain with limit 299 must bounce at
    // the 300th hand-off, with 5.4.6, and not before.
    let text = relay_chain(300, 299);
    let r = mxsim_core::run(scenario::load(&text, "chain.toml").unwrap());
    assert_eq!(r.outcomes.bounced, 3);
    assert_eq!(r.bounced_by_code.get("5.4.6"), Some(&3));
    assert_eq!(r.network.relayed, 3 * 300);
}

#[test]
fn messages_live_longer_than_fifty_days_at_a_relay() {
    // Goal: ages are exact past 49.7 days (the old u32 milliseconds saturated, and an attempt
    // after the deadline panicked). Method: the MX is down for 60 days; the relay's queue
    // lives 90 days and retries daily; the message arrives at the relay at 55 days.
    let text = r#"
name = "long-lived"
seed = 2
[workload]
arrivals = { at = ["0s"] }
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "hub"
role = "relay"
mode = "store-and-forward"
policy = { retry = { fixed = "1d" }, queue_lifetime = "90d" }
[[hosts]]
id = "mx.example"
role = "mx"
failure = { schedule = [{ from = "0s", to = "60d" }] }
[[links]]
from = "out"
to = "hub"
[[links]]
from = "hub"
to = "mx.example"
[[domains]]
name = "example"
mx = [{ preference = 10, host = "mx.example" }]
[policy]
route = { via = ["hub"] }
retry = { fixed = "55d" }
queue_lifetime = "100d"
"#;
    // The sender's first attempt reaches the hub at once; delay the hand-off to day 55 by
    // taking the hub down until then.
    let text = text.replace(
        "mode = \"store-and-forward\"\n",
        "mode = \"store-and-forward\"\nfailure = { schedule = [{ from = \"0s\", to = \"55d\" }] }\n",
    );
    let sc = scenario::load(&text, "long.toml").unwrap_or_else(|d| panic!("{d}"));
    let mut sim = Simulation::new(sc);
    sim.record_trace();
    sim.run();
    let r = sim.report();
    assert_eq!(r.outcomes.delivered, 1, "{:?}", r.outcomes);
    let day = 86_400_000u64;
    let relayed = sim
        .trace()
        .iter()
        .find(|t| matches!(t.kind, TraceKind::Relayed { .. }))
        .expect("handed to the hub");
    assert_eq!(relayed.t_ms / day, 55);
    // Delivered on the hub's first daily retry after the MX returns at 60 days.
    let delay = r.delay_ms.max.unwrap();
    assert!((60 * day..62 * day).contains(&delay), "{delay}");
}

#[test]
fn limits_past_what_ids_can_hold_are_refused_with_the_field_named() {
    let base = r#"
name = "x"
seed = 1
[workload]
arrivals = { at = ["0s"] }
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx"
role = "mx"
[[links]]
from = "out"
to = "mx"
[[domains]]
name = "example"
mx = [{ preference = 10, host = "mx" }]
"#;
    for (limit, value) in [
        ("messages_max", "4294967296"),
        ("events_max", "4294967296"),
        ("hosts_max", "1048577"),
        ("hosts_max", "0"),
    ] {
        let text = format!("{base}[limits]\n{limit} = {value}\n");
        let err = scenario::load(&text, "l.toml")
            .expect_err(limit)
            .to_string();
        assert!(err.contains(&format!("limits.{limit}")), "{err}");
    }
}
