//! Paired comparison of policies over seeds: the numbers `mxsim compare` prints (and the
//! browser will show), computed from per-run reports by the pure functions of `stats`.
//!
//! Every policy runs on the same seeds, so run i of every policy meets the same environment
//! (common random numbers: outages and coin flips are drawn per host and per (message,
//! attempt), never from a shared sequence). The difference of each policy against the first
//! is therefore estimated from per-seed differences (paired), and the Welch interval of the
//! same runs treated as independent is given beside it to show what pairing bought.

use crate::report::Report;
use crate::stats::{mean_interval, paired_difference, welch_difference, Interval};
use serde::Serialize;

/// One metric read from a report: its name, whether it is a duration (ms), and its value
/// (`None` when the run does not define it, e.g. a delay percentile with nothing delivered).
pub struct Reading {
    /// Metric name, as in `[expect]` where one exists.
    pub name: String,
    /// Value and bounds are milliseconds.
    pub is_duration: bool,
    /// The value in this run.
    pub value: Option<f64>,
}

/// The metrics compared: outcome ratios, delays (delivered-only percentiles and mean),
/// SLO shares, attempts per message, and the network counters the scenario produces.
pub fn readings(r: &Report) -> Vec<Reading> {
    let g = r.outcomes.generated;
    let ratio = |n: u64| (g > 0).then(|| n as f64 / g as f64);
    let ms = |v: Option<u64>| v.map(|x| x as f64);
    let mut out = vec![
        ("delivered_ratio", false, ratio(r.outcomes.delivered)),
        ("bounced_ratio", false, ratio(r.outcomes.bounced)),
        ("expired_ratio", false, ratio(r.outcomes.expired)),
        ("delay_p50", true, ms(r.delay_ms.p50)),
        ("delay_p95", true, ms(r.delay_ms.p95)),
        ("delay_p99", true, ms(r.delay_ms.p99)),
        ("delay_mean", true, r.delay_ms.mean),
        ("attempts_per_message", false, r.attempts.per_message),
    ]
    .into_iter()
    .map(|(name, is_duration, value)| Reading {
        name: name.to_string(),
        is_duration,
        value,
    })
    .collect::<Vec<_>>();
    for w in &r.delivered_within {
        out.push(Reading {
            name: format!(
                "delivered_within_{}",
                crate::time::human(crate::time::SimDuration::from_ms(w.within_ms))
            ),
            is_duration: false,
            value: w.share,
        });
    }
    let n = &r.network;
    let mut counter = |name: &str, v: Option<f64>| {
        out.push(Reading {
            name: name.to_string(),
            is_duration: false,
            value: v,
        })
    };
    if n.over_capacity > 0 {
        counter("over_capacity", Some(n.over_capacity as f64));
    }
    if n.greylist_deferrals > 0 {
        counter("greylist_deferrals", Some(n.greylist_deferrals as f64));
    }
    if let Some(d) = &n.dns {
        counter("dns_hit_ratio", d.hit_ratio);
    }
    if let Some(c) = &n.connections {
        counter("connections_reused_ratio", c.reuse_ratio);
    }
    out
}

/// A policy against the baseline (the first policy), for one metric.
#[derive(Clone, Debug, Serialize)]
pub struct Difference {
    /// The paired interval of (this − baseline) over the seeds.
    pub paired: Interval,
    /// The Welch interval of the same runs treated as independent.
    pub unpaired: Interval,
    /// The paired interval leaves out zero.
    pub significant: bool,
}

/// One metric across the policies.
#[derive(Clone, Debug, Serialize)]
pub struct MetricComparison {
    /// Metric name.
    pub metric: String,
    /// Values are milliseconds.
    pub is_duration: bool,
    /// Per policy: the mean over seeds with its 95% interval (`None`: undefined in some run,
    /// or a single seed).
    pub policies: Vec<Option<Interval>>,
    /// Per policy after the first: its difference against the first.
    pub differences: Vec<Option<Difference>>,
    /// Runs in which the metric was undefined, per policy (they are left out).
    pub undefined: Vec<usize>,
}

/// The comparison of several policies on the same seeds.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Policy names, the baseline first.
    pub policies: Vec<String>,
    /// The seeds, in order (run i of every policy used seeds[i]).
    pub seeds: Vec<u64>,
    /// Per metric.
    pub metrics: Vec<MetricComparison>,
}

/// Compares `runs[p][i]`, the report of policy `p` on seed `seeds[i]`.
pub fn compare(policies: Vec<String>, seeds: Vec<u64>, runs: &[Vec<Report>]) -> Comparison {
    assert_eq!(policies.len(), runs.len(), "one row of runs per policy");
    assert!(
        runs.iter().all(|r| r.len() == seeds.len()),
        "one run per seed"
    );
    let table: Vec<Vec<Vec<Reading>>> = runs
        .iter()
        .map(|row| row.iter().map(readings).collect())
        .collect();
    // Metrics every run reports (network counters appear only where the scenario has them).
    let names: Vec<(String, bool)> = table[0][0]
        .iter()
        .map(|r| (r.name.clone(), r.is_duration))
        .filter(|(name, _)| {
            table
                .iter()
                .all(|row| row.iter().all(|run| run.iter().any(|r| &r.name == name)))
        })
        .collect();
    let metrics = names
        .into_iter()
        .map(|(name, is_duration)| {
            let values: Vec<Vec<Option<f64>>> = table
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|run| run.iter().find(|r| r.name == name).and_then(|r| r.value))
                        .collect()
                })
                .collect();
            let complete = |v: &[Option<f64>]| v.iter().copied().collect::<Option<Vec<f64>>>();
            let base = complete(&values[0]);
            MetricComparison {
                policies: values
                    .iter()
                    .map(|v| complete(v).and_then(|x| mean_interval(&x)))
                    .collect(),
                differences: values[1..]
                    .iter()
                    .map(|v| {
                        let (a, b) = (base.as_ref()?, complete(v)?);
                        let paired = paired_difference(a, &b)?;
                        Some(Difference {
                            significant: paired.excludes_zero(),
                            unpaired: welch_difference(a, &b)?,
                            paired,
                        })
                    })
                    .collect(),
                undefined: values
                    .iter()
                    .map(|v| v.iter().filter(|x| x.is_none()).count())
                    .collect(),
                metric: name,
                is_duration,
            }
        })
        .collect();
    Comparison {
        policies,
        seeds,
        metrics,
    }
}
