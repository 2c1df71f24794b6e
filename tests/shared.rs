//! Retry state shared across messages: each mechanism can be switched on alone, does what its
//! source says, and keeps the run's invariants.

mod common;

use common::load;

/// 600 messages/h for 2 h to one MX that is down for the first hour.
fn scenario(shared: &str) -> String {
    format!(
        r#"
name = "shared state"
seed = 5
[workload]
arrivals = {{ poisson_per_hour = 600, for = "2h" }}
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx"
role = "mx"
failure = {{ schedule = [{{ from = "0s", to = "1h" }}] }}
[[links]]
from = "out"
to = "mx"
latency = "10ms"
[[domains]]
name = "example.net"
mx = [{{ preference = 10, host = "mx" }}]
[policy]
retry = {{ fixed = "5m" }}
{shared}
"#
    )
}

fn run(shared: &str) -> mxsim_core::Report {
    let r = mxsim_core::run(load(&scenario(shared)));
    let o = &r.outcomes;
    assert_eq!(o.generated, o.delivered + o.bounced + o.expired + o.queued);
    assert_eq!(
        o.delivered, o.generated,
        "the outage ends after an hour: everything arrives"
    );
    r
}

fn contacts(r: &mxsim_core::Report) -> u64 {
    r.hosts.iter().find(|h| h.id == "mx").unwrap().contacts
}

#[test]
fn without_shared_state_every_message_hammers_the_dead_host() {
    let r = run("");
    assert!(r.gated.is_empty());
    // ~600 messages arrive during the outage, each retrying every 5 minutes.
    assert!(contacts(&r) > 3_000, "{}", contacts(&r));
}

#[test]
fn host_retry_records_make_every_message_skip_the_failing_host() {
    let off = run("");
    let on = run("shared = { host_retry = true }");
    assert!(on.gated["host retry time not reached"] > 0);
    // Only one message per retry interval probes the host; the rest wait for its record.
    let refused = |r: &mxsim_core::Report| {
        r.hosts
            .iter()
            .find(|h| h.id == "mx")
            .unwrap()
            .failures
            .get("451 4.4.1")
            .copied()
            .unwrap_or(0)
    };
    assert!(
        refused(&on) * 50 < refused(&off),
        "refused on {} off {}",
        refused(&on),
        refused(&off)
    );
    assert!(
        refused(&on) <= 13,
        "one probe per 5 minutes during the hour: {}",
        refused(&on)
    );
}

#[test]
fn dead_destination_suspends_delivery_for_five_minutes() {
    let on = run("shared = { dead_destination = true }");
    assert!(on.gated["delivery temporarily suspended"] > 0);
    assert!(contacts(&on) < contacts(&run("")));
}

#[test]
fn circuit_breaker_fails_fast_while_open() {
    let on = run("shared = { circuit_breaker = { window = 20, min_calls = 10, failure_rate = 0.5, open_for = \"10m\", half_open_probes = 3 } }");
    assert!(on.gated["circuit open"] > 0);
    assert!(contacts(&on) < contacts(&run("")));
}

#[test]
fn retry_budget_bounds_retries_by_first_attempts() {
    let on =
        run("shared = { retry_budget = { percent = 0.2, min_per_second = 0.01, ttl = \"10m\" } }");
    assert!(on.gated["retry budget exhausted"] > 0);
    let off = run("");
    assert!(
        on.attempts.total < off.attempts.total,
        "on {} off {}",
        on.attempts.total,
        off.attempts.total
    );
}

#[test]
fn shared_state_is_validated() {
    let err = mxsim_core::scenario::load(
        &scenario("shared = { host_retyr = true, circuit_breaker = { failure_rate = 2 }, retry_budget = 3 }"),
        "s.toml",
    )
    .unwrap_err()
    .to_string();
    for want in [
        "unknown field `host_retyr`",
        "did you mean `host_retry`?",
        "probability must be between 0 and 1, got 2",
        "expected true, false or a table of parameters",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
}

#[test]
fn a_retry_budget_without_a_floor_starves_retries_once_traffic_stops() {
    // Finagle's floor exists for this: with min_per_second = 0 and no new first attempts, no
    // retry is ever allowed again, and deferred mail expires.
    let r = mxsim_core::run(load(&scenario("queue_lifetime = \"1d\"\nshared = { retry_budget = { percent = 0.2, min_per_second = 0.0, ttl = \"10m\" } }")));
    assert!(r.outcomes.expired > 0);
    assert_eq!(
        r.outcomes.generated,
        r.outcomes.delivered + r.outcomes.expired
    );
}
