//! The metric registry: every number a run can be judged by, in one place.
//!
//! `[expect]` bounds, `mxsim compare` (its table, verdicts and `--gate`), `mxsim sweep` (its
//! table and `--pareto`), the help texts, the JSON/CSV writers, the wasm facade and the page
//! all read this table: a metric's name, unit, better direction, whether it is censored, how
//! it is read from a [`Report`], whether it can be gated, and what a scenario needs to
//! measure it. Adding a metric is one row in [`FAMILIES`], one [`Metric`] variant and its
//! line in [`Metric::value`].
//!
//! **Censored** metrics count a message that was not delivered as delivered infinitely late,
//! so dropping mail can never make them better (a policy that expires 20% of its mail after
//! 30 minutes has a *shorter* delivered-only p95, but its censored p95 is "not reached").
//! Their undefined value means "not reached", which comparisons treat as +∞, never as a
//! missing number. The delivered-only delays (`delay_p95`, `delay_mean`) stay available for
//! bounds and gates, but are not in compare's default table: there they would call a policy
//! that drops mail "better".

use crate::report::Report;
use crate::time::{parse_duration, SimDuration};
use serde::Serialize;

pub use crate::report::Unit;

/// Which way a metric gets better: the direction of `better`/`worse` verdicts, of a gate's
/// allowance and of a Pareto front.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Higher is better (delivered shares, cache hit ratios).
    Higher,
    /// Lower is better (delays, attempts, failures).
    Lower,
    /// Neither: a plain count of what happened (messages generated).
    Neither,
}

/// What a scenario must have for a metric to mean something. A bound or gate on a metric the
/// scenario cannot measure is invalid input, not a failed check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Needs {
    /// Every run measures it.
    Nothing,
    /// A host with `capacity` (sessions can be refused or wait).
    Capacity,
    /// A greylisting MX.
    Greylist,
    /// A sender `[policy.dns]` resolver.
    Resolver,
    /// A sender `[policy.connections]` cache.
    ConnectionCache,
    /// The time must be one of the scenario's `delivered_within` SLO times.
    SloTime,
}

/// One row of the registry: a metric, or a family of metrics with a parameter
/// (`delivered_within_<time>`, `bounced_with."<code>"`, `host_share."<host>"`).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Family {
    /// The name as written (`delay_censored_p95`; `delivered_within_<time>` for a family).
    pub name: &'static str,
    /// What its numbers are.
    pub unit: Unit,
    /// Which way is better.
    pub better: Better,
    /// Undelivered messages count as infinitely late; undefined means "not reached".
    pub censored: bool,
    /// `mxsim compare --gate` and `mxsim sweep --pareto` take it (a scalar with a direction).
    pub gateable: bool,
    /// In compare's and sweep's tables by default (others appear when gated or asked for).
    pub compared: bool,
    /// What the scenario must have to measure it.
    pub needs: Needs,
    /// One line for help texts and docs.
    pub about: &'static str,
}

const fn family(
    name: &'static str,
    unit: Unit,
    better: Better,
    compared: bool,
    needs: Needs,
    about: &'static str,
) -> Family {
    Family {
        name,
        unit,
        better,
        censored: false,
        gateable: !matches!(better, Better::Neither),
        compared,
        needs,
        about,
    }
}

const fn censored(name: &'static str, about: &'static str) -> Family {
    Family {
        name,
        unit: Unit::Duration,
        better: Better::Lower,
        censored: true,
        gateable: true,
        compared: true,
        needs: Needs::Nothing,
        about,
    }
}

use Better::{Higher, Lower, Neither};
use Needs::{Capacity, ConnectionCache, Greylist, Nothing, Resolver, SloTime};
use Unit::{Count, Duration, PerMessage, Share};

/// Every metric, in the order tables list them.
pub const FAMILIES: &[Family] = &[
    family("delivered_ratio", Share, Higher, true, Nothing, "delivered / generated"),
    family("bounced_ratio", Share, Lower, true, Nothing, "bounced / generated"),
    family("expired_ratio", Share, Lower, true, Nothing, "expired (queue lifetime reached) / generated"),
    family("queued_ratio", Share, Lower, false, Nothing, "still queued at the end / generated"),
    family("delivered_within_<time>", Share, Higher, true, SloTime, "share of generated messages delivered within <time> of arrival (an SLO time of the scenario)"),
    censored("delay_censored_p50", "median delay over every message, undelivered ones counted as infinitely late"),
    censored("delay_censored_p90", "90th percentile delay over every message (censored)"),
    censored("delay_censored_p95", "95th percentile delay over every message (censored)"),
    censored("delay_censored_p99", "99th percentile delay over every message (censored)"),
    family("delay_p50", Duration, Lower, false, Nothing, "median delay of delivered messages only"),
    family("delay_p90", Duration, Lower, false, Nothing, "90th percentile delay of delivered messages only"),
    family("delay_p95", Duration, Lower, false, Nothing, "95th percentile delay of delivered messages only"),
    family("delay_p99", Duration, Lower, false, Nothing, "99th percentile delay of delivered messages only"),
    family("delay_max", Duration, Lower, false, Nothing, "longest delay of a delivered message"),
    family("delay_mean", Duration, Lower, false, Nothing, "mean delay of delivered messages only"),
    family("attempts_per_message", PerMessage, Lower, true, Nothing, "delivery attempts / generated"),
    family("attempts_total", Count, Lower, false, Nothing, "every delivery attempt"),
    family("generated", Count, Neither, false, Nothing, "messages generated"),
    family("delivered", Count, Higher, false, Nothing, "messages delivered"),
    family("bounced", Count, Lower, false, Nothing, "messages bounced"),
    family("expired", Count, Lower, false, Nothing, "messages expired"),
    family("queued", Count, Lower, false, Nothing, "messages still queued at the end"),
    family("queued_peak", Count, Lower, false, Nothing, "most messages queued at once"),
    family("over_capacity", Count, Lower, true, Capacity, "connections refused for load"),
    family("abandoned_sessions", Count, Lower, false, Capacity, "connections abandoned while waiting for a greeting"),
    family("greylist_deferrals", Count, Lower, true, Greylist, "greylisting deferrals (450 4.7.1)"),
    family("dns_hit_ratio", Share, Higher, true, Resolver, "DNS lookups answered from a fresh cache entry / lookups"),
    family("dns_stale_answers", Count, Lower, false, Resolver, "DNS lookups answered with stale data"),
    family("dns_failures", Count, Lower, false, Resolver, "DNS lookups that failed"),
    family("connections_reused_ratio", Share, Higher, true, ConnectionCache, "sessions on a reused connection / sessions"),
    family("connections_opened", Count, Lower, false, ConnectionCache, "connections the sender opened"),
    Family {
        gateable: false,
        ..family("bounced_with.\"<code>\"", Count, Lower, false, Nothing, "messages bounced with this enhanced code ([expect] only)")
    },
    Family {
        gateable: false,
        ..family("host_share.\"<host>\"", Share, Neither, false, Nothing, "a host's share of the contacts to hosts of its role ([expect] only)")
    },
    Family {
        unit: Unit::Flag,
        gateable: false,
        ..family("culprit", Count, Neither, false, Nothing, "the failure analysis names this host first ([expect] only)")
    },
];

/// One metric, with its parameter where its family has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Metric {
    /// A metric without a parameter: its [`FAMILIES`] row.
    Scalar(&'static Family),
    /// Share of generated messages delivered within this many ms (an SLO time).
    DeliveredWithin(u64),
    /// Messages bounced with this enhanced code (e.g. "5.1.1").
    BouncedWith(String),
    /// A host's share of the contacts made to hosts of its role (relay pool balance).
    HostShare(String),
    /// The failure analysis names this host first (1 when it does, 0 when another host is).
    Culprit(String),
}

impl PartialEq for Family {
    fn eq(&self, other: &Family) -> bool {
        self.name == other.name
    }
}

impl Eq for Family {}

/// What a scenario can measure (see [`Needs`]), as [`crate::Scenario::measurable`] reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Measurable {
    /// The SLO times, ms.
    pub slo_times_ms: Vec<u64>,
    /// Some host has a `capacity`.
    pub capacity: bool,
    /// Some MX greylists.
    pub greylist: bool,
    /// The sender has a resolver.
    pub resolver: bool,
    /// The sender keeps a connection cache.
    pub connection_cache: bool,
}

fn row(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}

/// The names a gate or a sweep's `--pareto` can take, for help texts and errors.
pub fn gateable_names() -> Vec<&'static str> {
    FAMILIES
        .iter()
        .filter(|f| f.gateable)
        .map(|f| f.name)
        .collect()
}

impl Metric {
    /// The scalar metric named `name`, or `delivered_within_<time>`; the error lists the
    /// valid names (and the nearest one). `bounced_with`, `host_share` and `culprit` are
    /// written as tables in `[expect]` and are not parsed here.
    pub fn parse(name: &str) -> Result<Metric, String> {
        if let Some(time) = name.strip_prefix("delivered_within_") {
            return match parse_duration(time) {
                Ok(d) if d.as_ms() > 0 => Ok(Metric::DeliveredWithin(d.as_ms())),
                _ => Err(format!(
                    "\"{name}\": \"{time}\" is not a positive duration; write e.g. delivered_within_4h"
                )),
            };
        }
        match row(name) {
            Some(f) if !f.name.contains('<') && f.name != "culprit" => Ok(Metric::Scalar(f)),
            Some(_) => Err(format!(
                "\"{name}\" is written as a table in [expect] and cannot be compared or gated"
            )),
            None => {
                let names = FAMILIES.iter().map(|f| f.name);
                let near = crate::diagnostic::suggest(name, names.clone())
                    .map(|n| format!("did you mean {n}? "))
                    .unwrap_or_default();
                Err(format!(
                    "unknown metric \"{name}\"; {near}metrics: {}",
                    names.collect::<Vec<_>>().join(", ")
                ))
            }
        }
    }

    /// The metric a gate or `--pareto` names: one that [`Metric::parse`] knows and that has a
    /// better direction.
    pub fn parse_gateable(name: &str) -> Result<Metric, String> {
        let m = Metric::parse(name).map_err(|e| match e.split_once("; metrics: ") {
            // An unknown name: list what a gate can take, not every metric.
            Some((head, _)) => format!("{head}; gateable metrics: {}", gateable_names().join(", ")),
            None => e,
        })?;
        if m.family().gateable {
            Ok(m)
        } else {
            Err(format!(
                "\"{name}\" has no better direction, so it cannot be gated; gateable metrics: {}",
                gateable_names().join(", ")
            ))
        }
    }

    /// Its registry row.
    pub fn family(&self) -> &'static Family {
        let name = match self {
            Metric::Scalar(f) => return f,
            Metric::DeliveredWithin(_) => "delivered_within_<time>",
            Metric::BouncedWith(_) => "bounced_with.\"<code>\"",
            Metric::HostShare(_) => "host_share.\"<host>\"",
            Metric::Culprit(_) => "culprit",
        };
        row(name).expect("every variant has a row")
    }

    /// The canonical name: the one compare, sweep and the JSON/CSV writers print and
    /// [`Metric::parse`] reads back (`delivered_within_4h`).
    pub fn name(&self) -> String {
        match self {
            Metric::Scalar(f) => f.name.to_string(),
            Metric::DeliveredWithin(ms) => {
                format!("delivered_within_{}", SimDuration::from_ms(*ms))
            }
            Metric::BouncedWith(code) => format!("bounced_with.\"{code}\""),
            Metric::HostShare(host) => format!("host_share.\"{host}\""),
            Metric::Culprit(_) => "culprit".into(),
        }
    }

    /// A delay over delivered messages only (`delay_p95`): dropping mail can improve it.
    pub fn delivered_only(&self) -> bool {
        self.is_duration() && !self.family().censored
    }

    /// True for delay metrics, whose bounds and allowances are durations.
    pub fn is_duration(&self) -> bool {
        self.family().unit == Unit::Duration
    }

    /// Whether a scenario that can measure `m` measures this metric; the error says what is
    /// missing and how to add it.
    pub fn measurable(&self, m: &Measurable) -> Result<(), String> {
        let name = self.name();
        let missing = |what: &str, hint: &str| Err(format!("{name} needs {what}\n  help: {hint}"));
        match (self.family().needs, self) {
            (Nothing, _) => Ok(()),
            (SloTime, Metric::DeliveredWithin(ms)) if m.slo_times_ms.contains(ms) => Ok(()),
            (SloTime, _) => {
                let times: Vec<String> = m
                    .slo_times_ms
                    .iter()
                    .map(|&t| format!("delivered_within_{}", SimDuration::from_ms(t)))
                    .collect();
                Err(format!(
                    "{name}: that time is not one of the scenario's SLO times ({})\n  help: add it to the scenario's top-level delivered_within list, e.g. --set 'delivered_within=[\"1h\",\"2h\"]'",
                    times.join(", ")
                ))
            }
            (Capacity, _) if m.capacity => Ok(()),
            (Capacity, _) => missing(
                "a host with a capacity, and this scenario has none",
                "give a host `capacity = { sessions = 20, service_time = \"2s\" }`",
            ),
            (Greylist, _) if m.greylist => Ok(()),
            (Greylist, _) => missing(
                "a greylisting MX, and this scenario has none",
                "give an MX `greylist = { delay = \"5m\" }`",
            ),
            (Resolver, _) if m.resolver => Ok(()),
            (Resolver, _) => missing(
                "a sender resolver, and this policy has none",
                "add [policy.dns] with a resolver host",
            ),
            (ConnectionCache, _) if m.connection_cache => Ok(()),
            (ConnectionCache, _) => missing(
                "a sender connection cache, and this policy has none",
                "add [policy.connections]",
            ),
        }
    }

    /// The metrics compare and sweep show by default for a scenario that can measure `m`, in
    /// table order (one `delivered_within_<time>` per SLO time).
    pub fn compared(m: &Measurable) -> Vec<Metric> {
        let mut out = Vec::new();
        for f in FAMILIES.iter().filter(|f| f.compared) {
            if f.needs == SloTime {
                out.extend(m.slo_times_ms.iter().map(|&t| Metric::DeliveredWithin(t)));
            } else {
                let metric = Metric::Scalar(f);
                if metric.measurable(m).is_ok() {
                    out.push(metric);
                }
            }
        }
        out
    }

    /// The metric's value in a report (ms for delays; `None` when undefined: a ratio of
    /// nothing, a delivered-only delay with nothing delivered, or, for a censored metric, a
    /// share of messages never delivered: "not reached").
    pub fn value(&self, r: &Report) -> Option<f64> {
        match self {
            Metric::Scalar(f) => scalar_value(f.name, r),
            Metric::DeliveredWithin(ms) => {
                r.delivered_within
                    .iter()
                    .find(|w| w.within_ms == *ms)?
                    .share
            }
            Metric::BouncedWith(code) => {
                Some(r.bounced_by_code.get(code).copied().unwrap_or(0) as f64)
            }
            Metric::HostShare(host) => r.hosts.iter().find(|h| &h.id == host)?.share,
            Metric::Culprit(host) => {
                let found = r.analysis.as_ref()?.culprit.as_ref();
                Some(if found == Some(host) { 1.0 } else { 0.0 })
            }
        }
    }
}

/// The value of the scalar metric `name` in `r` (see [`Metric::value`]).
fn scalar_value(name: &str, r: &Report) -> Option<f64> {
    let o = &r.outcomes;
    let ratio = |n: u64| (o.generated > 0).then(|| n as f64 / o.generated as f64);
    let ms = |v: Option<u64>| v.map(|x| x as f64);
    let count = |n: u64| Some(n as f64);
    let n = &r.network;
    let (d, c) = (&r.delay_ms, &r.delay_censored_ms);
    match name {
        "delivered_ratio" => ratio(o.delivered),
        "bounced_ratio" => ratio(o.bounced),
        "expired_ratio" => ratio(o.expired),
        "queued_ratio" => ratio(o.queued),
        "delay_censored_p50" => ms(c.p50),
        "delay_censored_p90" => ms(c.p90),
        "delay_censored_p95" => ms(c.p95),
        "delay_censored_p99" => ms(c.p99),
        "delay_p50" => ms(d.p50),
        "delay_p90" => ms(d.p90),
        "delay_p95" => ms(d.p95),
        "delay_p99" => ms(d.p99),
        "delay_max" => ms(d.max),
        "delay_mean" => d.mean,
        "attempts_per_message" => r.attempts.per_message,
        "attempts_total" => count(r.attempts.total),
        "generated" => count(o.generated),
        "delivered" => count(o.delivered),
        "bounced" => count(o.bounced),
        "expired" => count(o.expired),
        "queued" => count(o.queued),
        "queued_peak" => count(r.queued_peak),
        "over_capacity" => count(n.over_capacity),
        "abandoned_sessions" => count(n.abandoned_sessions),
        "greylist_deferrals" => count(n.greylist_deferrals),
        "dns_hit_ratio" => n.dns.as_ref()?.hit_ratio,
        "dns_stale_answers" => count(n.dns.as_ref()?.counters.stale_answers),
        "dns_failures" => count(n.dns.as_ref()?.counters.failures),
        "connections_reused_ratio" => n.connections.as_ref()?.reuse_ratio,
        "connections_opened" => count(n.connections.as_ref()?.counters.opened),
        _ => unreachable!("scalar metric {name} has no value in scalar_value"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scalar_row_parses_back_to_itself_and_has_a_value_rule() {
        let report = crate::run(
            crate::scenario::load(
                include_str!("../../scenarios/connection-reuse.toml"),
                "connection-reuse.toml",
            )
            .unwrap(),
        );
        for f in FAMILIES
            .iter()
            .filter(|f| !f.name.contains('<') && f.name != "culprit")
        {
            let m = Metric::parse(f.name).unwrap();
            assert_eq!(m.name(), f.name);
            // Panics (unreachable) if a row has no rule in scalar_value.
            let _ = m.value(&report);
        }
        assert_eq!(
            Metric::parse("delivered_within_4h").unwrap(),
            Metric::DeliveredWithin(4 * 3_600_000)
        );
        assert_eq!(
            Metric::DeliveredWithin(90 * 60_000).name(),
            "delivered_within_1h30m"
        );
    }

    #[test]
    fn unknown_names_list_the_valid_ones_and_the_nearest() {
        let e = Metric::parse("delay_p59").unwrap_err();
        assert!(e.contains("did you mean delay_p50"), "{e}");
        assert!(e.contains("delay_censored_p95"), "{e}");
        assert!(Metric::parse_gateable("generated")
            .unwrap_err()
            .contains("no better direction"));
        assert!(Metric::parse("culprit").unwrap_err().contains("table"));
    }

    #[test]
    fn a_metric_the_scenario_cannot_measure_says_what_is_missing() {
        let none = Measurable {
            slo_times_ms: vec![3_600_000],
            ..Measurable::default()
        };
        let over = Metric::parse("over_capacity").unwrap();
        assert!(over.measurable(&none).unwrap_err().contains("capacity"));
        assert!(over
            .measurable(&Measurable {
                capacity: true,
                ..none.clone()
            })
            .is_ok());
        let e = Metric::DeliveredWithin(7_200_000)
            .measurable(&none)
            .unwrap_err();
        assert!(e.contains("delivered_within_1h"), "{e}");
        assert!(Metric::DeliveredWithin(3_600_000).measurable(&none).is_ok());
        // The default table: no network counters without their mechanism.
        let names: Vec<String> = Metric::compared(&none).iter().map(Metric::name).collect();
        assert!(names.contains(&"delay_censored_p95".to_string()));
        assert!(names.contains(&"delivered_within_1h".to_string()));
        assert!(!names
            .iter()
            .any(|n| n == "over_capacity" || n == "dns_hit_ratio"));
    }
}
