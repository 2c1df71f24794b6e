//! `[expect]` bounds on a run's metrics, and their evaluation (`mxsim check`).
//!
//! A scenario states what it is supposed to show ("delivered_ratio ≥ 0.999", "p95 delay ≤ 6h");
//! a run checks every bound and reports its value and margin, so a scenario doubles as a
//! regression test and a CI gate.

use crate::report::Report;
use serde::Serialize;

/// A metric an `[expect]` bound can refer to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Metric {
    /// delivered / generated.
    DeliveredRatio,
    /// bounced / generated.
    BouncedRatio,
    /// expired / generated.
    ExpiredRatio,
    /// queued at the end / generated.
    QueuedRatio,
    /// Messages generated.
    Generated,
    /// Messages delivered.
    Delivered,
    /// Messages bounced.
    Bounced,
    /// Messages expired.
    Expired,
    /// Messages still queued at the end.
    Queued,
    /// Delivery delay percentile (50, 90, 95, 99) or 100 for the maximum, in ms.
    Delay(u8),
    /// All delivery attempts.
    AttemptsTotal,
    /// Attempts per generated message.
    AttemptsPerMessage,
    /// Messages bounced with this enhanced code (e.g. "5.1.1").
    BouncedWith(String),
    /// A host's share of the contacts made to hosts of its role (relay pool balance).
    HostShare(String),
    /// Most messages queued at once.
    QueuedPeak,
    /// Connections refused for load.
    OverCapacity,
    /// Connections abandoned while waiting for a greeting.
    AbandonedSessions,
    /// Greylisting deferrals.
    GreylistDeferrals,
    /// DNS lookups answered from a fresh cache entry / lookups.
    DnsHitRatio,
    /// DNS lookups answered with stale data.
    DnsStaleAnswers,
    /// DNS lookups that failed.
    DnsFailures,
    /// Sessions on a reused connection / all sessions of the sender.
    ConnectionsReusedRatio,
    /// Connections the sender opened.
    ConnectionsOpened,
    /// Censored delay percentile (50, 90, 95, 99) over every message, in ms; undefined when
    /// fewer than that share was delivered.
    DelayCensored(u8),
    /// Share of generated messages delivered within this many ms (an SLO figure).
    DeliveredWithin(u64),
    /// The failure analysis names this host first (`culprit = "relay-b"`; value 1 when it
    /// does, 0 when another host is named).
    Culprit(String),
}

impl Metric {
    /// Scalar metric names accepted in `[expect]` (besides the `bounced_with` table).
    pub const NAMES: [&'static str; 29] = [
        "delivered_ratio",
        "bounced_ratio",
        "expired_ratio",
        "queued_ratio",
        "generated",
        "delivered",
        "bounced",
        "expired",
        "queued",
        "delay_p50",
        "delay_p90",
        "delay_p95",
        "delay_p99",
        "delay_max",
        "attempts_total",
        "attempts_per_message",
        "queued_peak",
        "over_capacity",
        "abandoned_sessions",
        "greylist_deferrals",
        "dns_hit_ratio",
        "dns_stale_answers",
        "dns_failures",
        "connections_reused_ratio",
        "connections_opened",
        "delay_censored_p50",
        "delay_censored_p90",
        "delay_censored_p95",
        "delay_censored_p99",
    ];

    /// The metric named `name` (one of [`Metric::NAMES`]).
    pub fn from_name(name: &str) -> Option<Metric> {
        Some(match name {
            "delivered_ratio" => Metric::DeliveredRatio,
            "bounced_ratio" => Metric::BouncedRatio,
            "expired_ratio" => Metric::ExpiredRatio,
            "queued_ratio" => Metric::QueuedRatio,
            "generated" => Metric::Generated,
            "delivered" => Metric::Delivered,
            "bounced" => Metric::Bounced,
            "expired" => Metric::Expired,
            "queued" => Metric::Queued,
            "delay_p50" => Metric::Delay(50),
            "delay_p90" => Metric::Delay(90),
            "delay_p95" => Metric::Delay(95),
            "delay_p99" => Metric::Delay(99),
            "delay_max" => Metric::Delay(100),
            "attempts_total" => Metric::AttemptsTotal,
            "attempts_per_message" => Metric::AttemptsPerMessage,
            "queued_peak" => Metric::QueuedPeak,
            "over_capacity" => Metric::OverCapacity,
            "abandoned_sessions" => Metric::AbandonedSessions,
            "greylist_deferrals" => Metric::GreylistDeferrals,
            "dns_hit_ratio" => Metric::DnsHitRatio,
            "dns_stale_answers" => Metric::DnsStaleAnswers,
            "dns_failures" => Metric::DnsFailures,
            "connections_reused_ratio" => Metric::ConnectionsReusedRatio,
            "connections_opened" => Metric::ConnectionsOpened,
            "delay_censored_p50" => Metric::DelayCensored(50),
            "delay_censored_p90" => Metric::DelayCensored(90),
            "delay_censored_p95" => Metric::DelayCensored(95),
            "delay_censored_p99" => Metric::DelayCensored(99),
            _ => return None,
        })
    }

    /// True for delay metrics, whose bounds are written as durations.
    pub fn is_duration(&self) -> bool {
        matches!(self, Metric::Delay(_) | Metric::DelayCensored(_))
    }

    /// The metric's value in a report (ms for delays; `None` when undefined, e.g. a delay
    /// percentile when nothing was delivered).
    pub fn value(&self, r: &Report) -> Option<f64> {
        let o = &r.outcomes;
        let ratio = |n: u64| {
            if o.generated == 0 {
                None
            } else {
                Some(n as f64 / o.generated as f64)
            }
        };
        match self {
            Metric::DeliveredRatio => ratio(o.delivered),
            Metric::BouncedRatio => ratio(o.bounced),
            Metric::ExpiredRatio => ratio(o.expired),
            Metric::QueuedRatio => ratio(o.queued),
            Metric::Generated => Some(o.generated as f64),
            Metric::Delivered => Some(o.delivered as f64),
            Metric::Bounced => Some(o.bounced as f64),
            Metric::Expired => Some(o.expired as f64),
            Metric::Queued => Some(o.queued as f64),
            Metric::Delay(p) => {
                let d = &r.delay_ms;
                match p {
                    50 => d.p50,
                    90 => d.p90,
                    95 => d.p95,
                    99 => d.p99,
                    _ => d.max,
                }
                .map(|v| v as f64)
            }
            Metric::AttemptsTotal => Some(r.attempts.total as f64),
            Metric::AttemptsPerMessage => r.attempts.per_message,
            Metric::BouncedWith(code) => {
                Some(r.bounced_by_code.get(code).copied().unwrap_or(0) as f64)
            }
            Metric::HostShare(host) => r.hosts.iter().find(|h| &h.id == host)?.share,
            Metric::QueuedPeak => Some(r.queued_peak as f64),
            Metric::OverCapacity => Some(r.network.over_capacity as f64),
            Metric::AbandonedSessions => Some(r.network.abandoned_sessions as f64),
            Metric::GreylistDeferrals => Some(r.network.greylist_deferrals as f64),
            Metric::DnsHitRatio => r.network.dns.as_ref()?.hit_ratio,
            Metric::DnsStaleAnswers => Some(r.network.dns.as_ref()?.counters.stale_answers as f64),
            Metric::DnsFailures => Some(r.network.dns.as_ref()?.counters.failures as f64),
            Metric::ConnectionsReusedRatio => r.network.connections.as_ref()?.reuse_ratio,
            Metric::ConnectionsOpened => {
                Some(r.network.connections.as_ref()?.counters.opened as f64)
            }
            Metric::DelayCensored(p) => {
                let d = &r.delay_censored_ms;
                match p {
                    50 => d.p50,
                    90 => d.p90,
                    95 => d.p95,
                    _ => d.p99,
                }
                .map(|v| v as f64)
            }
            Metric::DeliveredWithin(ms) => {
                r.delivered_within
                    .iter()
                    .find(|w| w.within_ms == *ms)?
                    .share
            }
            Metric::Culprit(host) => {
                let found = r.analysis.as_ref()?.culprit.as_ref();
                Some(if found == Some(host) { 1.0 } else { 0.0 })
            }
        }
    }
}

/// One bound from `[expect]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The key as written (`delay_p95`, `bounced_with."5.1.1"`), used in output.
    pub name: String,
    /// What is measured.
    pub metric: Metric,
    /// Lower bound (inclusive).
    pub min: Option<f64>,
    /// Upper bound (inclusive).
    pub max: Option<f64>,
}

/// The result of checking one bound.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// The bound's name.
    pub name: String,
    /// Measured value (ms for delays), or `None` if undefined.
    pub value: Option<f64>,
    /// Lower bound.
    pub min: Option<f64>,
    /// Upper bound.
    pub max: Option<f64>,
    /// Distance to the nearest violated-or-binding bound: positive inside, negative outside.
    pub margin: Option<f64>,
    /// Whether the value satisfies every bound.
    pub pass: bool,
    /// True when the value is a duration in ms (for printing).
    pub is_duration: bool,
    /// With `[expect] seeds`: the value's 95% interval over the seeds (`value` is its mean).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<crate::stats::Interval>,
    /// With `[expect] seeds`: how many seeds the value is the mean of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seeds: Option<usize>,
    /// For a `culprit` bound: the host expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// For a `culprit` bound: the host the analysis named first (null: none failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

impl Expectation {
    fn margin(&self, value: Option<f64>) -> Option<f64> {
        value.map(|v| {
            let lo = self.min.map_or(f64::INFINITY, |m| v - m);
            let hi = self.max.map_or(f64::INFINITY, |m| m - v);
            lo.min(hi)
        })
    }

    /// Checks this bound against the mean over the runs of several seeds (`[expect] seeds`):
    /// the bound applies to the mean, and the verdict carries its 95% interval. A value
    /// undefined in any run fails (the runs promised a number one did not produce). For a
    /// `culprit` bound the value is the share of seeds whose analysis names the host first.
    pub fn check_mean(&self, reports: &[Report]) -> Verdict {
        let values: Option<Vec<f64>> = reports.iter().map(|r| self.metric.value(r)).collect();
        let interval = values.as_deref().and_then(crate::stats::mean_interval);
        let value = values
            .as_ref()
            .filter(|v| !v.is_empty())
            .map(|v| v.iter().sum::<f64>() / v.len() as f64);
        self.verdict(value, interval.map(|i| (i, reports.len())), None)
    }

    /// Checks this bound against a report. An undefined value fails (the scenario promised a
    /// number it did not produce).
    pub fn check(&self, report: &Report) -> Verdict {
        let found = match &self.metric {
            Metric::Culprit(_) => report.analysis.as_ref().and_then(|a| a.culprit.clone()),
            _ => None,
        };
        self.verdict(self.metric.value(report), None, found)
    }

    /// The verdict on `value`, with its interval over seeds if it is a mean, and for a
    /// `culprit` bound the host found (the one place a verdict is built).
    fn verdict(
        &self,
        value: Option<f64>,
        over_seeds: Option<(crate::stats::Interval, usize)>,
        found: Option<String>,
    ) -> Verdict {
        let margin = self.margin(value);
        Verdict {
            name: self.name.clone(),
            value,
            interval: over_seeds.map(|(i, _)| i),
            seeds: over_seeds.map(|(_, n)| n),
            min: self.min,
            max: self.max,
            margin: margin.filter(|m| m.is_finite()),
            pass: margin.is_some_and(|m| m >= 0.0),
            is_duration: self.metric.is_duration(),
            expected: match &self.metric {
                Metric::Culprit(host) => Some(host.clone()),
                _ => None,
            },
            found,
        }
    }
}
