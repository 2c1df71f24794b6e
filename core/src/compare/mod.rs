//! Paired comparison of policies over seeds: the numbers `mxsim compare` prints (and the
//! browser will show), computed from per-run reports by the pure functions of `stats`.
//!
//! Every policy runs on the same seeds, so run i of every policy meets the same environment
//! (common random numbers: outages and coin flips are drawn per host and per (message,
//! attempt), never from a shared sequence). The difference of each policy against the first
//! is therefore estimated from per-seed differences (paired), and the Welch interval of the
//! same runs treated as independent is given beside it to show what pairing bought.

use crate::metric::{Better, Metric, Unit};
use crate::report::Report;
use crate::stats::{mean_interval, paired_difference, welch_difference, Interval};
use serde::Serialize;

pub use crate::report::Reading;

mod gate;
pub use gate::{check_gate, Allowance, Gate, GateOutcome, GateVerdict};

/// Reads `metrics` from a report, by the registry's rules ([`Metric::value`]), under their
/// canonical names.
pub fn readings(r: &Report, metrics: &[Metric]) -> Vec<Reading> {
    metrics
        .iter()
        .map(|m| Reading {
            name: m.name(),
            is_duration: m.is_duration(),
            unit: m.family().unit,
            censored: m.family().censored,
            value: m.value(r),
            text: None,
        })
        .collect()
}

/// The registry row of a reading's metric (`None` for a name the registry does not know,
/// e.g. from a shard file written by another version).
pub fn family_of(name: &str) -> Option<&'static crate::metric::Family> {
    Metric::parse(name).ok().map(|m| m.family())
}

/// The first policy spec given twice, if any: each policy is a column of a comparison named
/// by its spec, so a repeat is refused (the CLI and the browser alike).
pub fn repeated_policy(specs: &[String]) -> Option<&str> {
    specs
        .iter()
        .enumerate()
        .find_map(|(i, p)| specs[..i].contains(p).then_some(p.as_str()))
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
    /// What the difference means for a user: better or worse (significant, in the metric's
    /// direction from [`worse_when_higher`]), no difference (not significant), or changed (a
    /// significant difference in a metric without a better direction). For a censored metric
    /// not reached in some runs, the per-seed differences include ±∞: all of one sign is a
    /// certain verdict (the interval is that infinity, `null` in JSON).
    pub verdict: Verdict,
}

/// A difference read the way an operator asks "is B better than A?".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Significantly better than the baseline.
    Better,
    /// Significantly worse than the baseline.
    Worse,
    /// The paired interval includes zero: no difference these seeds can tell from chance.
    NoDifference,
    /// Significantly different, in a metric that is neither better higher nor lower.
    Changed,
}

impl Verdict {
    /// The name, as in the JSON output (`better`, `worse`, `no_difference`, `changed`).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::NoDifference => "no_difference",
            Verdict::Changed => "changed",
        }
    }

    /// The verdict on a paired difference (this − baseline) in `metric`.
    pub fn of(metric: &str, paired: &Interval) -> Verdict {
        if !paired.excludes_zero() {
            return Verdict::NoDifference;
        }
        match family_of(metric).map_or(Better::Neither, |f| f.better) {
            Better::Neither => Verdict::Changed,
            better if (paired.mean > 0.0) == (better == Better::Lower) => Verdict::Worse,
            _ => Verdict::Better,
        }
    }
}

/// One metric across the policies.
#[derive(Clone, Debug, Serialize)]
pub struct MetricComparison {
    /// Metric name.
    pub metric: String,
    /// Values are milliseconds.
    pub is_duration: bool,
    /// What the values are (the registry's unit; `count` for a name it does not know).
    pub unit: Unit,
    /// Undelivered messages count as infinitely late: an undefined run is "not reached".
    pub censored: bool,
    /// Per policy: the mean over seeds with its 95% interval (`None`: undefined in some run,
    /// or a single seed).
    pub policies: Vec<Option<Interval>>,
    /// Per policy after the first: its difference against the first.
    pub differences: Vec<Option<Difference>>,
    /// Runs in which the metric was undefined, per policy (they are left out; for a censored
    /// metric: runs in which the percentile was not reached, counted as +∞).
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
    /// The runs a limit cut short (policy, then seed order): a verdict on them is
    /// inconclusive unless the user accepts cut runs.
    pub cut_runs: Vec<CutRun>,
}

/// A run of a comparison that a limit cut short.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CutRun {
    /// Its policy.
    pub policy: String,
    /// Its seed.
    pub seed: u64,
    /// Which limit, and when.
    pub cut: crate::report::Cut,
}

impl CutRun {
    /// "POLICY seed N: run cut by events_max at 5h27m".
    pub fn describe(&self) -> String {
        format!(
            "{} seed {}: {}",
            self.policy,
            self.seed,
            self.cut.describe()
        )
    }
}

/// The metrics (name, is a duration) that every run of `table` reports, in the first run's
/// order: network counters appear only where a scenario has them, and a comparison or a sweep
/// can only summarise what all of its runs measured.
pub fn reported_by_every_run(table: &[Vec<Vec<Reading>>]) -> Vec<(String, bool)> {
    table[0][0]
        .iter()
        .map(|r| (r.name.clone(), r.is_duration))
        .filter(|(name, _)| {
            table
                .iter()
                .all(|row| row.iter().all(|run| run.iter().any(|r| &r.name == name)))
        })
        .collect()
}

/// Compares `table[p][i]`, the [`readings`] of policy `p`'s run on seed `seeds[i]`.
pub fn compare(policies: Vec<String>, seeds: Vec<u64>, table: &[Vec<Vec<Reading>>]) -> Comparison {
    assert_eq!(policies.len(), table.len(), "one row of runs per policy");
    assert!(
        table.iter().all(|r| r.len() == seeds.len()) && !seeds.is_empty(),
        "one run per seed"
    );
    let metrics = reported_by_every_run(table)
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
            let family = family_of(&name);
            let censored = family.is_some_and(|f| f.censored);
            let complete = |v: &[Option<f64>]| v.iter().copied().collect::<Option<Vec<f64>>>();
            // Censored: "not reached" is later than any delivery.
            let infinite = |v: &[Option<f64>]| -> Option<Vec<f64>> {
                censored.then(|| v.iter().map(|x| x.unwrap_or(f64::INFINITY)).collect())
            };
            let base = complete(&values[0]);
            MetricComparison {
                policies: values
                    .iter()
                    .map(|v| complete(v).and_then(|x| mean_interval(&x)))
                    .collect(),
                differences: values[1..]
                    .iter()
                    .map(|v| match (base.as_ref(), complete(v)) {
                        (Some(a), Some(b)) => {
                            let paired = paired_difference(a, &b)?;
                            Some(Difference {
                                significant: paired.excludes_zero(),
                                verdict: Verdict::of(&name, &paired),
                                unpaired: welch_difference(a, &b)?,
                                paired,
                            })
                        }
                        _ => infinite_difference(&name, &infinite(&values[0])?, &infinite(v)?),
                    })
                    .collect(),
                unit: family.map_or(Unit::Count, |f| f.unit),
                censored,
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
        cut_runs: Vec::new(),
    }
}

/// The difference (b − a) of a censored metric when some run did not reach it (+∞): certain
/// when every infinite per-seed difference has the same sign; `None` when signs mix or both
/// runs of a seed are infinite (∞ − ∞ tells nothing).
fn infinite_difference(name: &str, a: &[f64], b: &[f64]) -> Option<Difference> {
    let mut sign = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        let d = match (x.is_infinite(), y.is_infinite()) {
            (true, true) => return None,
            (false, false) => continue,
            (true, false) => f64::NEG_INFINITY,
            (false, true) => f64::INFINITY,
        };
        if sign != 0.0 && sign != d {
            return None;
        }
        sign = d;
    }
    let certain = Interval {
        mean: sign,
        low: sign,
        high: sign,
        half_width: 0.0,
        n: a.len(),
    };
    Some(Difference {
        paired: certain,
        unpaired: certain,
        significant: true,
        verdict: Verdict::of(name, &certain),
    })
}

/// Whether a comparison is precise enough (`mxsim compare --precision`).
#[derive(Clone, Debug, Serialize)]
pub struct PrecisionOutcome {
    /// The target: every paired half-width below this share of its baseline mean.
    pub target: f64,
    /// Whether every paired half-width is below it.
    pub reached: bool,
    /// Seeds per policy.
    pub seeds: usize,
    /// The widest paired half-width relative to its baseline mean, and its metric.
    pub widest: Option<(String, f64)>,
    /// Metrics left out because their baseline mean is 0 while their difference varies (no
    /// relative precision exists).
    pub zero_baseline: Vec<String>,
}

/// Checks `c` against a precision target: every paired interval's half-width below `target`
/// × |baseline mean| (metrics whose baseline mean is 0 are left out and listed).
pub fn precision_of(c: &Comparison, target: f64) -> PrecisionOutcome {
    let mut widest: Option<(String, f64)> = None;
    let mut zero_baseline = Vec::new();
    for m in &c.metrics {
        let Some(base) = m.policies[0].map(|i| i.mean.abs()) else {
            continue;
        };
        for d in m.differences.iter().flatten() {
            if !d.paired.mean.is_finite() {
                // Certain (a percentile one policy never reached): no precision to gain.
                continue;
            }
            if base == 0.0 {
                // No relative precision exists; an interval of zero width needs none.
                if d.paired.half_width > 0.0 && !zero_baseline.contains(&m.metric) {
                    zero_baseline.push(m.metric.clone());
                }
                continue;
            }
            let rel = d.paired.half_width / base;
            if widest.as_ref().is_none_or(|(_, w)| rel > *w) {
                widest = Some((m.metric.clone(), rel));
            }
        }
    }
    PrecisionOutcome {
        target,
        reached: widest.as_ref().is_none_or(|(_, w)| *w < target),
        seeds: c.seeds.len(),
        widest,
        zero_baseline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_each_metrics_direction_and_significance() {
        let iv = |lo: f64, hi: f64| Interval {
            mean: (lo + hi) / 2.0,
            low: lo,
            high: hi,
            half_width: (hi - lo) / 2.0,
            n: 10,
        };
        // Higher delay is worse; a higher delivered share is better.
        assert_eq!(Verdict::of("delay_p95", &iv(5.0, 15.0)), Verdict::Worse);
        assert_eq!(Verdict::of("delay_p95", &iv(-15.0, -5.0)), Verdict::Better);
        assert_eq!(
            Verdict::of("delivered_within_1h", &iv(0.05, 0.15)),
            Verdict::Better
        );
        assert_eq!(
            Verdict::of("delivered_ratio", &iv(-0.2, -0.1)),
            Verdict::Worse
        );
        // An interval that includes 0 is no difference, whatever its mean.
        assert_eq!(
            Verdict::of("attempts_per_message", &iv(-0.1, 0.9)),
            Verdict::NoDifference
        );
        // A metric without a direction can only have changed.
        assert_eq!(
            Verdict::of("something_else", &iv(1.0, 2.0)),
            Verdict::Changed
        );
        for v in [
            Verdict::Better,
            Verdict::Worse,
            Verdict::NoDifference,
            Verdict::Changed,
        ] {
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                v.name(),
                "CSV and JSON agree"
            );
        }
    }
}
