//! The network mechanisms of issue 4, end to end: each one checked against a closed form, a
//! reference fact, or the outcome its scenario promises.

mod common;

use common::{load, run_traced};
use mxsim_core::trace::TraceKind;
use mxsim_core::Report;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn run(text: &str) -> Report {
    let r = mxsim_core::run(load(text));
    let o = &r.outcomes;
    assert_eq!(o.generated, o.delivered + o.bounced + o.expired + o.queued);
    r
}

fn scenario_file(name: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join("scenarios").join(name)).unwrap()
}

/// `k` MX hosts at equal footing (preferences 10, 20, …), each with its own `failure`, plus
/// `policy` lines.
fn mx_hosts(k: usize, failure: &str, extra_host: &str, policy: &str, per_hour: u32) -> String {
    let mut t = format!(
        r#"
name = "k MX"
seed = 21
[workload]
arrivals = {{ poisson_per_hour = {per_hour}, for = "10h" }}
[[hosts]]
id = "out"
role = "sender"
"#
    );
    let mut mx = Vec::new();
    for i in 0..k {
        t += &format!(
            "[[hosts]]\nid = \"mx{i}\"\nrole = \"mx\"\n{failure}\n{extra_host}\n[[links]]\nfrom = \"out\"\nto = \"mx{i}\"\nlatency = \"10ms\"\n"
        );
        mx.push(format!(
            "{{ preference = {}, host = \"mx{i}\" }}",
            10 * (i + 1)
        ));
    }
    t += &format!(
        "[[domains]]\nname = \"example.net\"\nmx = [{}]\n[policy]\nretry = {{ fixed = \"1m\" }}\nqueue_lifetime = \"30d\"\n{policy}\n",
        mx.join(", ")
    );
    t
}

#[test]
fn k_independent_mx_hosts_fail_an_attempt_with_probability_q_to_the_k() {
    // smtp-facts.md §7.2: P(attempt fails) = q^k; E[hosts contacted per attempt] = Σ q^i.
    // Attempts per message are geometric: mean 1/(1−p), sd √p/(1−p); tolerance 4 standard
    // errors. n ≈ 20 000 messages.
    let q: f64 = 0.3;
    for k in 1..=3 {
        let r = run(&mx_hosts(
            k,
            "failure = { bernoulli = { p = 0.3 } }",
            "",
            "",
            2000,
        ));
        let n = r.outcomes.generated as f64;
        assert_eq!(r.outcomes.delivered as f64, n);
        let p = q.powi(k as i32);
        let mean = r.attempts.per_message.unwrap();
        let se = p.sqrt() / (1.0 - p) / n.sqrt();
        let want = 1.0 / (1.0 - p);
        assert!(
            (mean - want).abs() < 4.0 * se,
            "k={k}: {mean} vs {want} ± {}",
            4.0 * se
        );
        let contacts: u64 = r.hosts.iter().map(|h| h.contacts).sum();
        let per_attempt = contacts as f64 / r.attempts.total as f64;
        let hosts_want: f64 = (0..k).map(|i| q.powi(i as i32)).sum();
        assert!(
            (per_attempt - hosts_want).abs() < 0.02,
            "k={k}: {per_attempt} vs {hosts_want}"
        );
    }
}

#[test]
fn connect_retries_give_each_attempt_more_chances() {
    // One Bernoulli host, p = 0.5, two extra connects per attempt: an attempt fails only if all
    // three connects find it down: 0.5³ = 0.125, so attempts/message = 1/0.875.
    let r = run(&mx_hosts(
        1,
        "failure = { bernoulli = { p = 0.5 } }",
        "",
        "connect = { retries = 2, backoff = \"2s\" }",
        2000,
    ));
    let n = r.outcomes.generated as f64;
    let p: f64 = 0.125;
    let se = p.sqrt() / (1.0 - p) / n.sqrt();
    let mean = r.attempts.per_message.unwrap();
    assert!((mean - 1.0 / (1.0 - p)).abs() < 4.0 * se, "{mean}");
}

#[test]
fn a_silent_host_costs_the_connect_timeout_and_retries_wait_their_backoff() {
    let text = r#"
name = "silent"
seed = 1
[workload]
arrivals = { at = ["0s"] }
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx"
role = "mx"
failure = { schedule = [{ from = "0s", to = "1h" }] }
down = "silent"
[[links]]
from = "out"
to = "mx"
latency = "10ms"
[[domains]]
name = "example.net"
mx = [{ preference = 10, host = "mx" }]
[policy]
retry = { fixed = "2h" }
connect = { retries = 2, backoff = "1s", factor = 3.0, timeout = "30s" }
"#;
    let sim = run_traced(load(text));
    let first = sim
        .trace()
        .iter()
        .find_map(|r| match &r.kind {
            TraceKind::Attempt { hops, end_ms, .. } => Some((hops.clone(), *end_ms)),
            _ => None,
        })
        .unwrap();
    let times: Vec<u64> = first.0.iter().map(|h| h.at_ms).collect();
    // Connect at 0, timeout 30 s, wait 1 s; again at 31 s, timeout, wait 3 s; again at 64 s.
    assert_eq!(times, vec![0, 31_000, 64_000]);
    assert_eq!(first.1, 94_000);
    assert!(first.0.iter().all(|h| h.reply.to_string() == "451 4.4.1"));
}

fn greylisting_mx(k: usize, policy: &str) -> String {
    mx_hosts(
        k,
        "",
        "greylist = { delay = \"30s\", window = \"4h\" }",
        policy,
        60,
    )
}

#[test]
fn next_mx_rule_decides_whether_a_greylisted_session_moves_on() {
    // Postfix moves on after any soft failure but opens at most 2 sessions per attempt; the
    // connection-only rule (Haraka, Stalwart, KumoMTA, Postal) stops at the first 4xx.
    let soft = run(&greylisting_mx(3, ""));
    let conn = run(&greylisting_mx(3, "next_mx = \"connection-only\""));
    let one = run(&greylisting_mx(3, "mx_session_limit = 1"));
    let n = soft.outcomes.generated;
    // A 30 s greylist against a 1 min retry: each message is deferred on its first attempt
    // only, at 2 MX hosts under the Postfix rule, at 1 under the others.
    assert_eq!(soft.network.greylist_deferrals, 2 * n);
    assert_eq!(conn.network.greylist_deferrals, n);
    assert_eq!(one.network.greylist_deferrals, n);
    assert_eq!(
        soft.hosts[3].contacts, 0,
        "the third MX is beyond the session limit"
    );
    for r in [&soft, &conn] {
        assert_eq!(r.outcomes.delivered, n);
        assert_eq!(r.attempts.per_message, Some(2.0));
    }
}

#[test]
fn a_relay_pool_defeats_greylisting_keyed_on_the_client_host() {
    // smtp-facts.md §6: senders that change source host are greylisted again.
    let direct = run(&scenario_file("greylisting.toml"));
    let pooled = scenario_file("greylisting.toml")
        .replace(
            "[policy]\n",
            "[policy]\nnext_mx = \"connection-only\"\nroute = { via = [{ pool = [\"r1\", \"r2\", \"r3\"], choose = \"random\" }] }\n",
        )
        .replace(
            "[[domains]]",
            "[[hosts]]\nid = \"r1\"\nrole = \"relay\"\n[[hosts]]\nid = \"r2\"\nrole = \"relay\"\n[[hosts]]\nid = \"r3\"\nrole = \"relay\"\n\
             [[links]]\nfrom = \"out\"\nto = \"r1\"\nlatency = \"5ms\"\n[[links]]\nfrom = \"out\"\nto = \"r2\"\nlatency = \"5ms\"\n[[links]]\nfrom = \"out\"\nto = \"r3\"\nlatency = \"5ms\"\n\
             [[links]]\nfrom = \"r1\"\nto = \"mx.example.com\"\nlatency = \"5ms\"\n[[links]]\nfrom = \"r2\"\nto = \"mx.example.com\"\nlatency = \"5ms\"\n[[links]]\nfrom = \"r3\"\nto = \"mx.example.com\"\nlatency = \"5ms\"\n[[domains]]",
        );
    let pooled = run(&pooled);
    assert_eq!(direct.attempts.per_message, Some(2.0));
    // One relay per attempt (connection-only rule): a retry passes only from a relay that
    // already tried, and each attempt picks one of 3 at random, so attempts rise well above 2.
    let per = pooled.attempts.per_message.unwrap();
    assert!(per > 2.5, "{per}");
    assert!(pooled.delay_ms.p90.unwrap() > direct.delay_ms.p90.unwrap());
}

#[test]
fn retry_storm_persists_without_jitter_and_budget_and_clears_with_them() {
    let storm = scenario_file("retry-storm.toml");
    let r = run(&storm);
    // Metastable: hours after the 30-minute outage, most mail is still queued.
    assert!(
        r.outcomes.queued as f64 > 0.5 * r.outcomes.generated as f64,
        "{:?}",
        r.outcomes
    );
    assert!(r.network.abandoned_sessions > 10_000);
    let jitter = "retry = { exponential = { initial = \"5m\", factor = 2.0, max = \"1h\", jitter = \"full\" } }";
    // Jitter alone does not clear it: the retry load is still several times the capacity.
    let r = run(&storm.replace("retry = { fixed = \"1m\" }", jitter));
    assert!(r.outcomes.queued as f64 > 0.5 * r.outcomes.generated as f64);
    // Jitter plus a retry budget does.
    let calm = storm.replace(
        "retry = { fixed = \"1m\" }",
        &format!("{jitter}\nshared = {{ retry_budget = {{ percent = 0.1, min_per_second = 0.2, ttl = \"1m\" }} }}"),
    );
    let r = run(&calm);
    assert!(
        r.outcomes.delivered as f64 > 0.99 * r.outcomes.generated as f64,
        "{:?}",
        r.outcomes
    );
    assert_eq!(r.network.abandoned_sessions, 0);
    assert!(r.delay_ms.p99.unwrap() < 3 * 3_600_000);
}

#[test]
fn fallback_relay_takes_over_when_the_mx_list_fails_softly() {
    // mx1 is down for the first hour; the backup mx2 is reachable only from the fallback relay
    // (another network's view). Postfix's smtp_fallback_relay gets the mail there at once.
    let text = |fallback: &str| {
        format!(
            r#"
name = "fallback"
seed = 2
[workload]
arrivals = {{ poisson_per_hour = 600, for = "2h" }}
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx1"
role = "mx"
failure = {{ schedule = [{{ from = "0s", to = "1h" }}] }}
[[hosts]]
id = "mx2"
role = "mx"
[[hosts]]
id = "fallback"
role = "relay"
[[links]]
from = "out"
to = "mx1"
latency = "10ms"
[[links]]
from = "out"
to = "fallback"
latency = "10ms"
[[links]]
from = "fallback"
to = "mx1"
latency = "10ms"
[[links]]
from = "fallback"
to = "mx2"
latency = "10ms"
[[domains]]
name = "example.net"
mx = [{{ preference = 10, host = "mx1" }}, {{ preference = 20, host = "mx2" }}]
[policy]
retry = {{ fixed = "10m" }}
{fallback}
"#
        )
    };
    let without = run(&text(""));
    let with = run(&text("fallback_relay = \"fallback\""));
    assert!(without.attempts.per_message.unwrap() > 1.5);
    assert_eq!(with.attempts.per_message, Some(1.0));
    assert_eq!(with.outcomes.delivered, with.outcomes.generated);
    // Used only while mx1 is down (about half the messages), and it delivered through mx2.
    let fallback = &with.hosts[3];
    assert!(fallback.contacts > 0 && fallback.contacts < with.outcomes.generated);
    assert_eq!(with.hosts[2].accepted, fallback.contacts);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Concurrent sessions at a host never exceed its capacity, whatever the load.
    #[test]
    fn sessions_never_exceed_capacity(
        sessions in 1u32..6,
        service_s in 1u64..40,
        backlog in 0u32..20,
        per_hour in 100u32..3000,
        seed in 0u64..1000,
    ) {
        let text = format!(
            r#"
name = "capacity"
seed = {seed}
duration = "4h"
[workload]
arrivals = {{ poisson_per_hour = {per_hour}, for = "2h" }}
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx"
role = "mx"
capacity = {{ sessions = {sessions}, service_time = "{service_s}s", backlog = {backlog} }}
[[links]]
from = "out"
to = "mx"
latency = "20ms"
[[domains]]
name = "example.net"
mx = [{{ preference = 10, host = "mx" }}]
[policy]
retry = {{ exponential = {{ initial = "1m", factor = 2.0, max = "10m", jitter = "full" }} }}
connect = {{ greeting_timeout = "1m" }}
"#
        );
        let sim = run_traced(load(&text));
        let mut edges: BTreeMap<u64, i64> = BTreeMap::new();
        for r in sim.trace() {
            if let TraceKind::Attempt { hops, .. } = &r.kind {
                for h in hops {
                    if let Some([start, end]) = h.session_ms {
                        prop_assert!(end > start);
                        *edges.entry(start).or_default() += 1;
                        *edges.entry(end).or_default() -= 1;
                    }
                }
            }
        }
        let mut open = 0i64;
        for (_, d) in edges {
            open += d;
            prop_assert!(open <= i64::from(sessions), "{} sessions open, capacity {}", open, sessions);
        }
    }
}

#[test]
fn dns_outage_defers_with_4_4_3_unless_stale_answers_may_be_served() {
    let text = scenario_file("dns-outage.toml");
    let plain = run(&text);
    let dns = plain.network.dns.as_ref().unwrap();
    assert!(dns.counters.failures > 1000);
    assert_eq!(dns.counters.stale_answers, 0);
    assert!(plain.hosts[1].failures.contains_key("451 4.4.3"));
    let stale = run(&text.replace(
        "dns = { resolver = \"ns1\" }",
        "dns = { resolver = \"ns1\", serve_stale = \"1d\" }",
    ));
    let dns = stale.network.dns.as_ref().unwrap();
    assert_eq!(dns.counters.failures, 0);
    assert!(dns.counters.stale_answers > 1000);
    assert!(stale.delay_ms.max.unwrap() < 10_000);
    // Without a cache, every attempt queries the resolver.
    let uncached = run(&text.replace(
        "dns = { resolver = \"ns1\" }",
        "dns = { resolver = \"ns1\", cache = false }",
    ));
    let dns = uncached.network.dns.as_ref().unwrap();
    assert_eq!(dns.counters.queries, dns.counters.lookups);
    assert_eq!(dns.counters.cache_hits, 0);
}

#[test]
fn negative_answers_are_cached_for_at_most_max_negative_ttl() {
    // RFC 2308 §5: an NXDOMAIN is cached like a positive answer, capped (BIND: 3 h).
    let text = r#"
name = "nx"
seed = 4
[workload]
arrivals = { poisson_per_hour = 120, for = "5h" }
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "ns"
role = "resolver"
[[links]]
from = "out"
to = "ns"
latency = "1ms"
[[domains]]
name = "gone.example"
nxdomain = true
ttl = "1d"
[policy]
dns = { resolver = "ns" }
"#;
    let r = run(text);
    assert_eq!(r.outcomes.bounced, r.outcomes.generated);
    assert_eq!(r.bounced_by_code.get("5.1.2"), Some(&r.outcomes.generated));
    let dns = r.network.dns.unwrap();
    assert_eq!(
        dns.counters.queries, 2,
        "one query per 3 h of the 5 h window"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A cached MX answer is never used past its TTL, and a stale one only with serve-stale
    /// on and within its limit.
    #[test]
    fn cached_answers_respect_ttl_and_serve_stale(
        ttl_s in 0u64..4000,
        stale_s in proptest::option::of(60u64..20_000),
        mean_up_m in 10u64..300,
        mean_down_m in 1u64..120,
        seed in 0u64..1000,
    ) {
        let stale = stale_s.map_or(String::new(), |s| format!(", serve_stale = \"{s}s\""));
        let text = format!(
            r#"
name = "dns property"
seed = {seed}
duration = "2d"
[workload]
arrivals = {{ poisson_per_hour = 200, for = "10h" }}
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "ns"
role = "resolver"
failure = {{ markov = {{ mean_up = "{mean_up_m}m", mean_down = "{mean_down_m}m" }} }}
[[hosts]]
id = "mx"
role = "mx"
[[links]]
from = "out"
to = "ns"
latency = "3ms"
[[links]]
from = "out"
to = "mx"
latency = "10ms"
[[domains]]
name = "example.net"
mx = [{{ preference = 10, host = "mx" }}]
ttl = "{ttl_s}s"
[policy]
retry = {{ fixed = "10m" }}
dns = {{ resolver = "ns"{stale} }}
"#
        );
        let sim = run_traced(load(&text));
        let mut lookups = 0;
        for r in sim.trace() {
            let TraceKind::Attempt { dns: Some(l), .. } = &r.kind else { continue };
            lookups += 1;
            use mxsim_core::network::Source;
            match l.source {
                Source::Cache => {
                    let expiry = l.fetched_ms.unwrap() + l.ttl_ms.unwrap();
                    prop_assert!(r.t_ms < expiry, "cache hit at {} past expiry {}", r.t_ms, expiry);
                    prop_assert!(l.ttl_ms.unwrap() > 0);
                }
                Source::Stale => {
                    let limit = stale_s.expect("stale answer with serve-stale off") * 1000;
                    let expiry = l.fetched_ms.unwrap() + l.ttl_ms.unwrap();
                    prop_assert!(l.done_ms >= expiry);
                    prop_assert!(l.done_ms < expiry + limit);
                }
                Source::Resolver => prop_assert!(l.fetched_ms == Some(l.done_ms)),
                Source::Failed => prop_assert!(l.fetched_ms.is_none()),
            }
        }
        prop_assert!(lookups > 0);
    }
}

#[test]
fn connection_cache_skips_setup_round_trips() {
    let text = scenario_file("connection-reuse.toml");
    let cached = run(&text);
    let none = run(&text.replace(
        "connections = { preset = \"postfix\", tls = true }",
        "connections = { preset = \"none\", tls = true }",
    ));
    let c = cached.network.connections.as_ref().unwrap();
    assert!(c.reuse_ratio.unwrap() > 0.5);
    let n = none.network.connections.as_ref().unwrap();
    assert_eq!(n.counters.reused, 0);
    // Without a cache, every delivery opens its own connection.
    assert!(n.counters.opened >= none.outcomes.delivered);
    assert!(cached.delay_ms.mean.unwrap() < none.delay_ms.mean.unwrap());
    // Without connect retries, 20% of the attempts that need a new connection defer.
    let no_retries = run(&text.replace(
        "connect = { retries = 3, backoff = \"1s\", factor = 2.0 }",
        "connect = { retries = 0 }",
    ));
    let deferred = no_retries.attempts.total - no_retries.outcomes.generated;
    let opened = no_retries
        .network
        .connections
        .as_ref()
        .unwrap()
        .counters
        .opened;
    let share = deferred as f64 / (opened + deferred) as f64;
    assert!((share - 0.2).abs() < 0.03, "{share}");
    assert!(cached.attempts.total - cached.outcomes.generated < deferred / 50);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Idle cached connections never exceed the cache size, and every session is counted
    /// once as opened or reused.
    #[test]
    fn connection_cache_stays_within_its_size(
        size in 1u32..5,
        idle_s in 0u64..30,
        max_deliveries in 0u32..6,
        per_hour in 600u32..20_000,
        seed in 0u64..1000,
    ) {
        let text = format!(
            r#"
name = "conn property"
seed = {seed}
[workload]
arrivals = {{ poisson_per_hour = {per_hour}, for = "20m" }}
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx"
role = "mx"
failure = {{ markov = {{ mean_up = "5m", mean_down = "30s" }} }}
[[links]]
from = "out"
to = "mx"
latency = "50ms"
[[domains]]
name = "example.net"
mx = [{{ preference = 10, host = "mx" }}]
[policy]
retry = {{ fixed = "1m" }}
connections = {{ size = {size}, idle_limit = "{idle_s}s", max_deliveries = {max_deliveries} }}
"#
        );
        let sim = run_traced(load(&text));
        let r = sim.report();
        let c = r.network.connections.as_ref().unwrap();
        prop_assert!(c.counters.peak_idle <= u64::from(size));
        let mut sessions = 0u64;
        let mut reused = 0u64;
        for rec in sim.trace() {
            if let TraceKind::Attempt { hops, .. } = &rec.kind {
                sessions += hops.iter().filter(|h| h.session_ms.is_some()).count() as u64;
                reused += hops.iter().filter(|h| h.reused).count() as u64;
            }
        }
        prop_assert_eq!(sessions, c.counters.opened + c.counters.reused);
        prop_assert_eq!(reused, c.counters.reused);
    }
}

#[test]
fn a_postfix_queue_manager_prevents_the_retry_storm() {
    // The concurrency window (5 … 20 attempts per destination) bounds the load on the relay
    // whatever the retry schedule: the backlog never fills and the queue drains in minutes.
    let storm = scenario_file("retry-storm.toml");
    let r = run(&storm.replace(
        "route = { via = [\"relay.example.net\"] }",
        "route = { via = [\"relay.example.net\"] }\nqueue = true",
    ));
    assert!(r.outcomes.delivered as f64 > 0.99 * r.outcomes.generated as f64);
    assert_eq!(r.network.abandoned_sessions, 0);
    let manager = r.queue.manager.unwrap();
    assert!(manager.waits > 0);
    // The series shows the backlog built during the outage and drained after it.
    let peak = r.queue.series.iter().max_by_key(|s| s.queued).unwrap();
    assert!(
        peak.t_ms > 3_600_000 && peak.t_ms < 3 * 3_600_000,
        "{peak:?}"
    );
    assert!(r.queue.series.last().unwrap().queued < 100);
}

/// Two domains through one sender: `slow.example`'s MX serves one session of 30 s at a time.
fn two_domains(queue: &str) -> String {
    format!(
        r#"
name = "fairness"
seed = 8
[workload]
arrivals = {{ poisson_per_hour = 1200, for = "2h" }}
domains = [{{ name = "slow.example" }}, {{ name = "fast.example" }}]
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx.slow"
role = "mx"
capacity = {{ sessions = 1, service_time = "30s", backlog = 10000 }}
[[hosts]]
id = "mx.fast"
role = "mx"
[[links]]
from = "out"
to = "mx.slow"
latency = "10ms"
[[links]]
from = "out"
to = "mx.fast"
latency = "10ms"
[[domains]]
name = "slow.example"
mx = [{{ preference = 10, host = "mx.slow" }}]
[[domains]]
name = "fast.example"
mx = [{{ preference = 10, host = "mx.fast" }}]
[policy]
retry = {{ fixed = "5m" }}
connect = {{ greeting_timeout = "1h" }}
{queue}
"#
    )
}

/// p90 delivery delay of messages to `domain`, from the trace.
fn p90_of(sim: &mxsim_core::Simulation, domain: &str) -> u64 {
    let mut of_domain = std::collections::BTreeSet::new();
    let mut delays = Vec::new();
    for r in sim.trace() {
        match &r.kind {
            TraceKind::Arrival { domain: d, .. } if d == domain => {
                of_domain.insert(r.message);
            }
            TraceKind::Delivered { delay_ms } if of_domain.contains(&r.message) => {
                delays.push(*delay_ms)
            }
            _ => {}
        }
    }
    delays.sort_unstable();
    mxsim_core::report::percentile(&delays, 90).unwrap()
}

#[test]
fn fairness_keeps_a_slow_destination_from_starving_the_others() {
    let fair = run_traced(load(&two_domains(
        "queue = { active_limit = 40, concurrency = 5, fair = true }",
    )));
    let fifo = run_traced(load(&two_domains(
        "queue = { active_limit = 40, concurrency = 5, fair = false }",
    )));
    let (fast_fair, fast_fifo) = (p90_of(&fair, "fast.example"), p90_of(&fifo, "fast.example"));
    // First come, first served: fast mail waits behind slow mail for room in the active
    // queue; with fair shares it hardly waits at all.
    assert!(fast_fair < 5_000, "{fast_fair}");
    assert!(
        fast_fifo > 60 * fast_fair.max(1_000),
        "{fast_fifo} vs {fast_fair}"
    );
    assert!(fifo.report().queue.manager.unwrap().waiting_peak > 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Attempts under way per destination never exceed a fixed concurrency limit, and the
    /// active queue never exceeds its limit; every message still ends once.
    #[test]
    fn concurrency_and_active_limits_hold(
        limit in 1u32..6,
        active in 1u32..30,
        fair in any::<bool>(),
        p in 0.0f64..0.6,
        seed in 0u64..1000,
    ) {
        let text = format!(
            r#"
name = "qmgr property"
seed = {seed}
[workload]
arrivals = {{ poisson_per_hour = 3000, for = "30m" }}
domains = [{{ name = "a.example" }}, {{ name = "b.example" }}]
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx.a"
role = "mx"
failure = {{ bernoulli = {{ p = {p} }} }}
capacity = {{ sessions = 3, service_time = "20s", backlog = 50 }}
[[hosts]]
id = "mx.b"
role = "mx"
[[links]]
from = "out"
to = "mx.a"
latency = "10ms"
[[links]]
from = "out"
to = "mx.b"
latency = "10ms"
[[domains]]
name = "a.example"
mx = [{{ preference = 10, host = "mx.a" }}]
[[domains]]
name = "b.example"
mx = [{{ preference = 10, host = "mx.b" }}]
[policy]
retry = {{ fixed = "2m" }}
queue_lifetime = "1h"
queue = {{ active_limit = {active}, concurrency = {limit}, fair = {fair} }}
"#
        );
        let sim = run_traced(load(&text));
        let mut domain_of = BTreeMap::new();
        let mut edges: BTreeMap<(String, u64), i64> = BTreeMap::new();
        let mut ends = BTreeMap::new();
        for r in sim.trace() {
            match &r.kind {
                TraceKind::Arrival { domain, .. } => {
                    domain_of.insert(r.message, domain.clone());
                }
                TraceKind::Attempt { end_ms, .. } => {
                    let d = domain_of[&r.message].clone();
                    *edges.entry((d.clone(), r.t_ms)).or_default() += 1;
                    *edges.entry((d, *end_ms)).or_default() -= 1;
                }
                TraceKind::Delivered { .. } | TraceKind::Bounced { .. } | TraceKind::Expired { .. } => {
                    prop_assert!(ends.insert(r.message, ()).is_none(), "message ended twice");
                }
                _ => {}
            }
        }
        for d in ["a.example", "b.example"] {
            let mut open = 0i64;
            // At equal times, ends (negative) sort with starts in one bucket: net change.
            for ((_, _), delta) in edges.range((d.to_string(), 0)..=(d.to_string(), u64::MAX)) {
                open += delta;
                prop_assert!(open <= i64::from(limit), "{} attempts to {} at once, limit {}", open, d, limit);
            }
        }
        let r = sim.report();
        prop_assert!(r.queue.manager.unwrap().active_peak <= u64::from(active));
        prop_assert_eq!(ends.len() as u64, r.outcomes.delivered + r.outcomes.bounced + r.outcomes.expired);
    }
}

/// A sender handing mail to store-and-forward `hub`, whose own `hub_policy` delivers to an MX
/// that is down for the first 2 hours.
fn store_and_forward(hub_policy: &str, hub_route: &str) -> String {
    format!(
        r#"
name = "store and forward"
seed = 3
[workload]
arrivals = {{ poisson_per_hour = 600, for = "4h" }}
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "hub"
role = "relay"
mode = "store-and-forward"
policy = {{ {hub_policy} }}
[[hosts]]
id = "hub2"
role = "relay"
mode = "store-and-forward"
policy = {{ route = {{ via = ["hub"] }} }}
[[hosts]]
id = "mx"
role = "mx"
failure = {{ schedule = [{{ from = "0s", to = "2h" }}] }}
[[links]]
from = "out"
to = "hub"
latency = "5ms"
[[links]]
from = "hub"
to = "mx"
latency = "20ms"
[[links]]
from = "hub"
to = "hub2"
latency = "5ms"
[[links]]
from = "hub2"
to = "hub"
latency = "5ms"
[[domains]]
name = "example.net"
mx = [{{ preference = 10, host = "mx" }}]
[policy]
retry = {{ fixed = "1m" }}
route = {{ via = ["hub"] }}
{hub_route}
"#
    )
}

#[test]
fn a_store_and_forward_relay_accepts_at_once_and_retries_under_its_own_policy() {
    let r = run(&store_and_forward("preset = \"postfix\"", ""));
    let n = r.outcomes.generated;
    assert_eq!(r.outcomes.delivered, n);
    assert_eq!(r.network.relayed, n);
    // The sender made one attempt per message; the retries are the relay's, at Postfix's
    // pace (300 s, 600 s, …), far fewer than the sender's 1-minute schedule would make.
    assert_eq!(r.hosts[1].contacts, n);
    let relay_attempts = r.attempts.total - n;
    assert!(relay_attempts < 6 * n, "{relay_attempts}");
    // Gives up under its own lifetime: mail expires at the relay.
    let r = run(&store_and_forward("queue_lifetime = \"30m\"", ""));
    assert!(r.outcomes.expired > 0);
    assert_eq!(
        r.outcomes.expired + r.outcomes.delivered,
        r.outcomes.generated
    );
}

#[test]
fn a_forwarding_loop_between_relays_bounces_with_5_4_6_at_the_hop_limit() {
    let looping = store_and_forward("route = { via = [\"hub2\"] }, hop_limit = 6", "");
    let r = run(&looping);
    let n = r.outcomes.generated;
    assert_eq!(r.outcomes.bounced, n);
    assert_eq!(r.bounced_by_code.get("5.4.6"), Some(&n));
    // hub accepts (1), hub2 (2), hub (3) … the 7th hand-off exceeds hub's limit of 6, but
    // hub2 (default 50) receives every even one: the bounce comes at hand-off 7.
    assert_eq!(r.network.relayed, 7 * n);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Across store-and-forward hops no message is lost or duplicated: each ends exactly once
    /// (or is still queued), hand-offs only happen to live messages, and the run is
    /// deterministic.
    #[test]
    fn store_and_forward_conserves_messages(
        hub_lifetime_m in 10u64..600,
        hub_retry_m in 1u64..60,
        p in 0.0f64..0.9,
        loop_limit in proptest::option::of(1u32..8),
        seed in 0u64..1000,
    ) {
        let hub = match loop_limit {
            Some(l) => format!("route = {{ via = [\"hub2\"] }}, hop_limit = {l}, retry = {{ fixed = \"{hub_retry_m}m\" }}, queue_lifetime = \"{hub_lifetime_m}m\""),
            None => format!("retry = {{ fixed = \"{hub_retry_m}m\" }}, queue_lifetime = \"{hub_lifetime_m}m\""),
        };
        let text = store_and_forward(&hub, "")
            .replace("seed = 3", &format!("seed = {seed}\nduration = \"1d\""))
            .replace("failure = { schedule = [{ from = \"0s\", to = \"2h\" }] }", &format!("failure = {{ bernoulli = {{ p = {p} }} }}"));
        let a = run_traced(load(&text));
        let b = run_traced(load(&text));
        prop_assert_eq!(a.digest(), b.digest());
        let mut ended = BTreeMap::new();
        let mut arrived = std::collections::BTreeSet::new();
        for r in a.trace() {
            match &r.kind {
                TraceKind::Arrival { .. } => { arrived.insert(r.message); }
                TraceKind::Relayed { .. } | TraceKind::Attempt { .. } => {
                    prop_assert!(arrived.contains(&r.message));
                    prop_assert!(!ended.contains_key(&r.message), "activity after the end");
                }
                TraceKind::Delivered { .. } | TraceKind::Bounced { .. } | TraceKind::Expired { .. } => {
                    prop_assert!(ended.insert(r.message, r.t_ms).is_none(), "ended twice");
                }
                _ => {}
            }
        }
        let rep = a.report();
        let o = &rep.outcomes;
        prop_assert_eq!(ended.len() as u64 + o.queued, o.generated);
        prop_assert_eq!(arrived.len() as u64, o.generated);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// With capacity that never runs out and no service time, a scenario runs exactly as
    /// without capacity: the load model adds nothing until it binds.
    #[test]
    fn unlimited_capacity_matches_the_simpler_model(k in common::knobs()) {
        let plain = k.toml();
        let unlimited = plain
            .replace("role = \"mx\"\n", "role = \"mx\"\ncapacity = { sessions = 100000, service_time = \"0s\", backlog = 0 }\n")
            .replace("role = \"relay\"\n", "role = \"relay\"\ncapacity = { sessions = 100000, service_time = \"0s\" }\n");
        prop_assume!(unlimited != plain);
        let a = run_traced(load(&plain));
        let b = run_traced(load(&unlimited));
        prop_assert_eq!(a.digest(), b.digest());
        prop_assert_eq!(b.report().network.over_capacity, 0);
    }
}
