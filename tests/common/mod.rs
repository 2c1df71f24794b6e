//! Shared helpers for integration tests: a proptest generator of random but valid scenarios,
//! and small functions to load and run scenario text.
#![allow(dead_code)]

pub mod binary;

use mxsim_core::scenario::{self, Scenario};
use mxsim_core::Simulation;
use proptest::prelude::*;
use std::fmt::Write;

/// Loads scenario text, panicking with the diagnostics if it is invalid (a test bug).
pub fn load(text: &str) -> Scenario {
    match scenario::load(text, "<test>.toml") {
        Ok(s) => s,
        Err(d) => panic!("test scenario is invalid:\n{d}\n---\n{text}"),
    }
}

/// A small valid scenario: a sender, one MX host (`mx`, with `mx_extra` lines), one domain;
/// `top` goes after the seed, `arrivals` is the workload's arrival process, `policy` the
/// `[policy]` lines.
pub fn one_mx(top: &str, arrivals: &str, mx_extra: &str, policy: &str) -> String {
    format!(
        r#"name = "hostile"
seed = 1
{top}
[workload]
arrivals = {arrivals}
domains = [{{ name = "example.net" }}]
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx"
role = "mx"
{mx_extra}
[[links]]
from = "out"
to = "mx"
[[domains]]
name = "example.net"
mx = [{{ preference = 10, host = "mx" }}]
[policy]
{policy}
"#
    )
}

/// Runs a scenario with trace recording on.
pub fn run_traced(s: Scenario) -> Simulation {
    let mut sim = Simulation::new(s);
    sim.record_trace();
    sim.run();
    sim
}

/// Failure model of one generated host.
#[derive(Clone, Debug)]
pub enum FailureKnob {
    None,
    Bernoulli(f64),
    Markov { up_min: u32, down_min: u32 },
    Schedule { from_min: u32, len_min: u32 },
}

impl FailureKnob {
    fn toml(&self) -> String {
        match self {
            FailureKnob::None => "\"none\"".into(),
            FailureKnob::Bernoulli(p) => format!("{{ bernoulli = {{ p = {p} }} }}"),
            FailureKnob::Markov { up_min, down_min } => {
                format!("{{ markov = {{ mean_up = \"{up_min}m\", mean_down = \"{down_min}m\" }} }}")
            }
            FailureKnob::Schedule { from_min, len_min } => format!(
                "{{ schedule = [{{ from = \"{from_min}m\", to = \"{}m\" }}] }}",
                from_min + len_min
            ),
        }
    }
}

/// Retry policy of a generated scenario.
#[derive(Clone, Debug)]
pub enum RetryKnob {
    /// A preset's backoff in the retry position.
    Preset(&'static str),
    List {
        delays: Vec<u32>,
        repeat_last: bool,
    },
    AgeClamp {
        min_s: u32,
        max_s: u32,
    },
    Fixed(u32),
    Exponential {
        initial_s: u32,
        factor: f64,
        max_s: u32,
        jitter: &'static str,
    },
}

impl RetryKnob {
    pub fn toml(&self) -> String {
        match self {
            RetryKnob::Preset(name) => format!("\"{name}\""),
            RetryKnob::List { delays, repeat_last } => {
                let d: Vec<String> = delays.iter().map(|s| format!("\"{s}s\"")).collect();
                format!("{{ list = {{ delays = [{}], repeat_last = {repeat_last} }} }}", d.join(", "))
            }
            RetryKnob::AgeClamp { min_s, max_s } => {
                format!("{{ age_clamp = {{ min = \"{min_s}s\", max = \"{max_s}s\" }} }}")
            }
            RetryKnob::Fixed(s) => format!("{{ fixed = \"{s}s\" }}"),
            RetryKnob::Exponential { initial_s, factor, max_s, jitter } => format!(
                "{{ exponential = {{ initial = \"{initial_s}s\", factor = {factor:?}, max = \"{max_s}s\", jitter = \"{jitter}\" }} }}"
            ),
        }
    }
}

/// Every knob of a generated scenario; shrinks towards small, simple scenarios.
#[derive(Clone, Debug)]
pub struct Knobs {
    pub seed: u64,
    pub rate_per_hour: u32,
    pub window_min: u32,
    pub unknown_share: f64,
    /// Per MX: (preference, latency ms, linked from the route's last hop, failure).
    pub mx: Vec<(u16, u32, bool, FailureKnob)>,
    /// Relay chain (failure per relay); empty = direct.
    pub relays: Vec<FailureKnob>,
    pub retry: RetryKnob,
    pub override_443: Option<u32>,
    pub lifetime_min: u32,
    pub address_limit: u32,
    pub reject_share: f64,
    /// `deadline`, `after-attempt` or `overshoot`.
    pub give_up: &'static str,
    /// Attempt cap and its check (`failure` or `next-due`).
    pub max_attempts: Option<(u32, &'static str)>,
    /// Shared state: host retry records, dead destinations, circuit breaker, retry budget.
    pub shared: (bool, bool, bool, bool),
    /// Network mechanisms (issue 4), off in the plain generator.
    pub net: Option<NetKnobs>,
}

/// The network mechanisms of a generated scenario, each on or off.
#[derive(Clone, Debug)]
pub struct NetKnobs {
    /// MX capacity: sessions, service time (s), backlog.
    pub capacity: Option<(u32, u32, u32)>,
    /// MX greylisting delay, minutes.
    pub greylist_min: Option<u32>,
    /// Down MX hosts stay silent (connect timeout) instead of refusing.
    pub silent: bool,
    /// A resolver (failure model), MX TTL seconds, serve-stale.
    pub dns: Option<(FailureKnob, u32, bool)>,
    /// Postfix connection cache.
    pub connections: bool,
    /// Queue manager: active limit, fixed concurrency, fairness.
    pub queue: Option<(u32, u32, bool)>,
    /// `next_mx = "connection-only"`.
    pub connection_only: bool,
    /// Connect retries per attempt.
    pub connect_retries: u32,
}

pub fn net_knobs() -> impl Strategy<Value = NetKnobs> {
    (
        prop::option::weighted(0.4, (1u32..5, 0u32..30, 0u32..20)),
        prop::option::weighted(0.3, 1u32..30),
        prop::bool::weighted(0.3),
        prop::option::weighted(0.4, (failure_knob(), 0u32..3000, any::<bool>())),
        prop::bool::weighted(0.4),
        prop::option::weighted(0.4, (1u32..50, 1u32..6, any::<bool>())),
        prop::bool::weighted(0.3),
        0u32..3,
    )
        .prop_map(
            |(
                capacity,
                greylist_min,
                silent,
                dns,
                connections,
                queue,
                connection_only,
                connect_retries,
            )| {
                NetKnobs {
                    capacity,
                    greylist_min,
                    silent,
                    dns,
                    connections,
                    queue,
                    connection_only,
                    connect_retries,
                }
            },
        )
}

/// Generated scenarios with the network mechanisms switched on at random.
pub fn knobs_with_network() -> impl Strategy<Value = Knobs> {
    (knobs(), net_knobs()).prop_map(|(mut k, n)| {
        k.net = Some(n);
        k
    })
}

pub fn failure_knob() -> impl Strategy<Value = FailureKnob> {
    prop_oneof![
        Just(FailureKnob::None),
        (0.0f64..0.9).prop_map(FailureKnob::Bernoulli),
        (5u32..600, 1u32..120)
            .prop_map(|(up_min, down_min)| FailureKnob::Markov { up_min, down_min }),
        (0u32..300, 1u32..600)
            .prop_map(|(from_min, len_min)| FailureKnob::Schedule { from_min, len_min }),
    ]
}

pub fn retry_knob() -> impl Strategy<Value = RetryKnob> {
    prop_oneof![
        prop::sample::select(vec![
            "postfix",
            "exim",
            "kumomta",
            "haraka",
            "stalwart",
            "postal",
            "sendmail",
            "rfc5321",
            "decorrelated-jitter"
        ])
        .prop_map(RetryKnob::Preset),
        (prop::collection::vec(1u32..7200, 1..6), any::<bool>()).prop_map(
            |(delays, repeat_last)| RetryKnob::List {
                delays,
                repeat_last
            }
        ),
        (1u32..900, 900u32..20_000).prop_map(|(min_s, max_s)| RetryKnob::AgeClamp { min_s, max_s }),
        (1u32..7200).prop_map(RetryKnob::Fixed),
        (
            1u32..1800,
            1.0f64..3.0,
            1u32..20_000,
            prop::sample::select(vec!["none", "full", "equal", "decorrelated"])
        )
            .prop_map(
                |(initial_s, factor, extra, jitter)| RetryKnob::Exponential {
                    initial_s,
                    factor,
                    max_s: initial_s + extra,
                    jitter
                }
            ),
    ]
}

pub fn knobs() -> impl Strategy<Value = Knobs> {
    (
        any::<u64>(),
        1u32..400,
        1u32..180,
        0.0f64..0.2,
        prop::collection::vec(
            (
                0u16..3,
                0u32..200,
                prop::bool::weighted(0.9),
                failure_knob(),
            ),
            1..4,
        ),
        prop::collection::vec(failure_knob(), 0..3),
        retry_knob(),
        prop::option::of(60u32..14_400),
        (30u32..4000, 1u32..6, 0.0f64..0.1),
        (
            prop::sample::select(vec!["deadline", "after-attempt", "overshoot"]),
            prop::option::of((1u32..12, prop::sample::select(vec!["failure", "next-due"]))),
            (
                prop::bool::weighted(0.2),
                prop::bool::weighted(0.2),
                prop::bool::weighted(0.2),
                prop::bool::weighted(0.2),
            ),
        ),
    )
        .prop_map(
            |(
                seed,
                rate_per_hour,
                window_min,
                unknown_share,
                mx,
                relays,
                retry,
                override_443,
                (lifetime_min, address_limit, reject_share),
                (give_up, max_attempts, shared),
            )| Knobs {
                seed,
                rate_per_hour,
                window_min,
                unknown_share,
                mx,
                relays,
                retry,
                override_443,
                lifetime_min,
                address_limit,
                reject_share,
                give_up,
                max_attempts,
                shared,
                net: None,
            },
        )
}

impl Knobs {
    /// The scenario as TOML, with `retry` replaced if given (for paired policy comparisons).
    pub fn toml_with_retry(&self, retry: &RetryKnob) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "name = \"generated\"\nseed = {}\n",
            self.seed % (i64::MAX as u64)
        );
        let _ = writeln!(
            s,
            "[workload]\narrivals = {{ poisson_per_hour = {}, for = \"{}m\" }}\nunknown_recipient_share = {}\n",
            self.rate_per_hour, self.window_min, self.unknown_share
        );
        let _ = writeln!(s, "[[hosts]]\nid = \"out\"\nrole = \"sender\"\n");
        for (i, f) in self.relays.iter().enumerate() {
            let _ = writeln!(
                s,
                "[[hosts]]\nid = \"relay{i}\"\nrole = \"relay\"\nfailure = {}\n",
                f.toml()
            );
        }
        for (i, (_, _, _, f)) in self.mx.iter().enumerate() {
            let _ = writeln!(
                s,
                "[[hosts]]\nid = \"mx{i}\"\nrole = \"mx\"\nfailure = {}",
                f.toml()
            );
            if let Some(n) = &self.net {
                if let Some((sessions, service, backlog)) = n.capacity {
                    let _ = writeln!(s, "capacity = {{ sessions = {sessions}, service_time = \"{service}s\", backlog = {backlog} }}");
                }
                if let Some(d) = n.greylist_min {
                    let _ = writeln!(s, "greylist = {{ delay = \"{d}m\", window = \"4h\" }}");
                }
                if n.silent {
                    let _ = writeln!(s, "down = \"silent\"");
                }
            }
            if self.reject_share > 0.0 {
                let _ = writeln!(
                    s,
                    "reject = {{ share = {}, code = \"5.7.1\" }}",
                    self.reject_share
                );
            }
            s.push('\n');
        }
        let mut prev = "out".to_string();
        for i in 0..self.relays.len() {
            let _ = writeln!(
                s,
                "[[links]]\nfrom = \"{prev}\"\nto = \"relay{i}\"\nlatency = \"{}ms\"\n",
                10 + i
            );
            prev = format!("relay{i}");
        }
        for (i, (_, latency, linked, _)) in self.mx.iter().enumerate() {
            if *linked {
                let _ = writeln!(
                    s,
                    "[[links]]\nfrom = \"{prev}\"\nto = \"mx{i}\"\nlatency = \"{latency}ms\"\n"
                );
            }
        }
        if let Some((f, ..)) = self.net.as_ref().and_then(|n| n.dns.as_ref()) {
            let _ = writeln!(
                s,
                "[[hosts]]\nid = \"ns\"\nrole = \"resolver\"\nfailure = {}\n\n[[links]]\nfrom = \"out\"\nto = \"ns\"\nlatency = \"2ms\"\n",
                f.toml()
            );
        }
        let records: Vec<String> = self
            .mx
            .iter()
            .enumerate()
            .map(|(i, (p, ..))| format!("{{ preference = {}, host = \"mx{i}\" }}", p * 10))
            .collect();
        let ttl = self
            .net
            .as_ref()
            .and_then(|n| n.dns.as_ref())
            .map_or(3600, |d| d.1);
        let _ = writeln!(
            s,
            "[[domains]]\nname = \"example.net\"\nmx = [{}]\nttl = \"{ttl}s\"\n",
            records.join(", ")
        );
        let _ = writeln!(s, "[policy]\nretry = {}", retry.toml());
        if let Some(m) = self.override_443 {
            let _ = writeln!(s, "on_code = {{ \"4.4.3\" = {{ fixed = \"{m}s\" }} }}");
        }
        let _ = writeln!(
            s,
            "queue_lifetime = \"{}m\"\nmx_address_limit = {}",
            self.lifetime_min, self.address_limit
        );
        let _ = writeln!(s, "give_up = \"{}\"", self.give_up);
        let (host_retry, dead, breaker, budget) = self.shared;
        let _ = writeln!(
            s,
            "shared = {{ host_retry = {host_retry}, dead_destination = {dead}, circuit_breaker = {}, retry_budget = {} }}",
            if breaker { "{ window = 10, min_calls = 5, open_for = \"10m\", half_open_probes = 2 }" } else { "false" },
            if budget { "{ percent = 0.5, min_per_second = 0.001, ttl = \"1h\" }" } else { "false" },
        );
        if let Some((n, check)) = self.max_attempts {
            let _ = writeln!(s, "max_attempts = {n}\nmax_attempts_check = \"{check}\"");
        }
        if let Some(n) = &self.net {
            if let Some((_, _, stale)) = &n.dns {
                let _ = writeln!(s, "dns = {{ resolver = \"ns\", serve_stale = {stale} }}");
            }
            if n.connections {
                let _ = writeln!(s, "connections = \"postfix\"");
            }
            if let Some((active, concurrency, fair)) = n.queue {
                let _ = writeln!(s, "queue = {{ active_limit = {active}, concurrency = {concurrency}, fair = {fair} }}");
            }
            if n.connection_only {
                let _ = writeln!(s, "next_mx = \"connection-only\"");
            }
            let _ = writeln!(
                s,
                "connect = {{ retries = {}, backoff = \"2s\" }}",
                n.connect_retries
            );
        }
        if !self.relays.is_empty() {
            let via: Vec<String> = (0..self.relays.len())
                .map(|i| format!("\"relay{i}\""))
                .collect();
            let _ = writeln!(s, "route = {{ via = [{}] }}", via.join(", "));
        }
        s
    }

    /// The scenario as TOML.
    pub fn toml(&self) -> String {
        self.toml_with_retry(&self.retry)
    }
}
