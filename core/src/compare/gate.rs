//! The CI gate of a comparison (`mxsim compare --gate`): how much worse a candidate may be
//! than the baseline, and the rule that fails it (the whole paired 95% interval beyond the
//! allowance).

use super::{family_of, Comparison};
use crate::metric::{Better, Metric};
use crate::stats::Interval;
use serde::Serialize;

/// How much worse a candidate may be.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Allowance {
    /// A share of the baseline's mean (`+10%` is 0.10).
    Relative(f64),
    /// An amount in the metric's unit (ms for delays).
    Absolute(f64),
}

/// A CI gate: `metric:+10%` (the metric may rise by at most 10% of the baseline's mean),
/// `delivered_ratio:-0.1%`, `delay_p95:+5m`, `attempts_per_message:+0.2`. The sign says which
/// way is worse for the metric and must agree with it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gate {
    /// The text as given.
    pub text: String,
    /// The metric.
    pub metric: String,
    /// How much worse it may get.
    pub allowance: Allowance,
}

impl Gate {
    /// Parses `metric:±amount[%]`; the error says what is wrong and what would be right.
    pub fn parse(text: &str) -> Result<Gate, String> {
        let (metric, amount) = text
            .split_once(':')
            .ok_or_else(|| format!("gate \"{text}\" has no `:`; write e.g. delay_p95:+10%"))?;
        let parsed = Metric::parse_gateable(metric).map_err(|m| format!("gate \"{text}\": {m}"))?;
        let worse_up = parsed.family().better == Better::Lower;
        let metric = parsed.name();
        let metric = metric.as_str();
        let (sign, rest) = match amount.chars().next() {
            Some('+') => (true, &amount[1..]),
            Some('-') => (false, &amount[1..]),
            _ => {
                return Err(format!(
                    "gate \"{text}\": the amount needs a sign, + or -: {}",
                    if worse_up {
                        "+ (this metric is worse when higher)"
                    } else {
                        "- (this metric is worse when lower)"
                    }
                ))
            }
        };
        if sign != worse_up {
            return Err(format!(
                "gate \"{text}\": {metric} is worse when {}, so its allowance is written {}",
                if worse_up { "higher" } else { "lower" },
                if worse_up { "+" } else { "-" }
            ));
        }
        let allowance = if let Some(pct) = rest.strip_suffix('%') {
            let v: f64 = pct
                .parse()
                .map_err(|_| format!("gate \"{text}\": \"{pct}\" is not a number"))?;
            Allowance::Relative(v / 100.0)
        } else if parsed.is_duration() {
            let d =
                crate::time::parse_duration(rest).map_err(|e| format!("gate \"{text}\": {e}"))?;
            Allowance::Absolute(d.as_ms() as f64)
        } else {
            Allowance::Absolute(
                rest.parse()
                    .map_err(|_| format!("gate \"{text}\": \"{rest}\" is not a number"))?,
            )
        };
        match allowance {
            Allowance::Relative(v) | Allowance::Absolute(v) if !(v.is_finite() && v >= 0.0) => Err(
                format!("gate \"{text}\": the allowance must be a finite amount ≥ 0"),
            ),
            _ => Ok(Gate {
                text: text.to_string(),
                metric: metric.to_string(),
                allowance,
            }),
        }
    }
}

impl Gate {
    /// The metric gated (a registry metric: [`Gate::parse`] accepted it).
    pub fn measures(&self) -> Metric {
        Metric::parse(&self.metric).expect("a parsed gate names a registry metric")
    }
}

/// A gate's outcome for one candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    /// The whole interval is within the allowance: not worse by more than allowed.
    Pass,
    /// The interval straddles the allowance: not shown worse, not shown within (more seeds
    /// would tell). Does not fail the gate.
    Inconclusive,
    /// The whole interval is beyond the allowance: worse by more than allowed, at 97.5%.
    Fail,
}

/// A gate checked for one candidate policy.
#[derive(Clone, Debug, Serialize)]
pub struct GateVerdict {
    /// The gate as written.
    pub gate: String,
    /// The metric gated, canonical (as in the comparison's `metrics[]`).
    pub metric: String,
    /// The candidate policy.
    pub policy: String,
    /// The paired difference candidate − baseline (None: the metric was undefined).
    pub difference: Option<Interval>,
    /// The allowance in the metric's unit, signed the way worse goes.
    pub limit: Option<f64>,
    /// The outcome.
    pub outcome: GateOutcome,
}

/// Checks `gate` for every candidate (every policy after the first) of `c`.
///
/// The rule: a candidate fails when the paired 95% interval of (candidate − baseline) lies
/// entirely beyond the allowance in the worse direction, that is, when it is worse by more
/// than allowed with 97.5% confidence (one-sided). An interval that straddles the allowance
/// is inconclusive and passes; an undefined metric fails (the candidate lost a number the
/// baseline had, or neither has it).
pub fn check_gate(c: &Comparison, gate: &Gate) -> Vec<GateVerdict> {
    let worse_up = family_of(&gate.metric).is_none_or(|f| f.better == Better::Lower);
    let m = c.metrics.iter().find(|m| m.metric == gate.metric);
    c.policies[1..]
        .iter()
        .enumerate()
        .map(|(j, policy)| {
            let d = m.and_then(|m| m.differences[j].as_ref()).map(|d| d.paired);
            let base = m.and_then(|m| m.policies[0]).map(|i| i.mean);
            let limit = base.map(|b| {
                let amount = match gate.allowance {
                    Allowance::Relative(r) => r * b.abs(),
                    Allowance::Absolute(a) => a,
                };
                if worse_up {
                    amount
                } else {
                    -amount
                }
            });
            let outcome = match (d, limit) {
                (Some(d), Some(l)) => {
                    let (beyond, within) = if worse_up {
                        (d.low > l, d.high <= l)
                    } else {
                        (d.high < l, d.low >= l)
                    };
                    if beyond {
                        GateOutcome::Fail
                    } else if within {
                        GateOutcome::Pass
                    } else {
                        GateOutcome::Inconclusive
                    }
                }
                _ => GateOutcome::Fail,
            };
            GateVerdict {
                gate: gate.text.clone(),
                metric: gate.metric.clone(),
                policy: policy.clone(),
                difference: d,
                limit,
                outcome,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{Difference, MetricComparison, Verdict};
    use crate::metric::Unit;

    #[test]
    fn gates_parse_with_the_sign_of_worse() {
        let g = Gate::parse("delay_p95:+10%").unwrap();
        assert_eq!(g.allowance, Allowance::Relative(0.1));
        assert_eq!(
            Gate::parse("delivered_ratio:-0.1%").unwrap().allowance,
            Allowance::Relative(0.001)
        );
        assert_eq!(
            Gate::parse("delay_p99:+5m").unwrap().allowance,
            Allowance::Absolute(300_000.0)
        );
        assert!(Gate::parse("delivered_ratio:+1%")
            .unwrap_err()
            .contains("worse when lower"));
        assert!(Gate::parse("delay_p95:10%")
            .unwrap_err()
            .contains("needs a sign"));
        assert!(Gate::parse("latency:+1%")
            .unwrap_err()
            .contains("unknown metric"));
        assert!(Gate::parse("delay_p95").unwrap_err().contains("no `:`"));
        assert!(Gate::parse("attempts_per_message:+x").is_err());
        assert!(Gate::parse("attempts_per_message:+NaN").is_err());
    }

    fn comparison(diff: (f64, f64), base_mean: f64) -> Comparison {
        let iv = |lo: f64, hi: f64| Interval {
            mean: (lo + hi) / 2.0,
            low: lo,
            high: hi,
            half_width: (hi - lo) / 2.0,
            n: 10,
        };
        Comparison {
            cut_runs: Vec::new(),
            policies: vec!["a".into(), "b".into()],
            seeds: (0..10).collect(),
            metrics: vec![MetricComparison {
                metric: "delay_p95".into(),
                is_duration: true,
                unit: Unit::Duration,
                censored: false,
                policies: vec![Some(iv(base_mean - 1.0, base_mean + 1.0)), None],
                differences: vec![Some(Difference {
                    paired: iv(diff.0, diff.1),
                    unpaired: iv(diff.0 * 2.0, diff.1 * 2.0),
                    significant: true,
                    verdict: Verdict::Worse,
                })],
                undefined: vec![0, 0],
            }],
        }
    }

    #[test]
    fn a_gate_fails_only_when_the_whole_interval_is_beyond_the_allowance() {
        let gate = Gate::parse("delay_p95:+10%").unwrap();
        // Baseline 100: the allowance is +10.
        let outcome = |lo, hi| check_gate(&comparison((lo, hi), 100.0), &gate)[0].outcome;
        assert_eq!(outcome(11.0, 20.0), GateOutcome::Fail);
        assert_eq!(outcome(5.0, 20.0), GateOutcome::Inconclusive);
        assert_eq!(outcome(-5.0, 9.0), GateOutcome::Pass);
        assert_eq!(
            check_gate(&comparison((11.0, 20.0), 100.0), &gate)[0].limit,
            Some(10.0)
        );
    }
}
