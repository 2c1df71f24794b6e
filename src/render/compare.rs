//! The text of `mxsim compare`: per metric, each policy's mean ± 95% half-width, and each
//! policy's paired difference against the first, marked when it is not chance.

use super::human_ms;
use mxsim_core::compare::{Comparison, GateOutcome, GateVerdict, Verdict};
use mxsim_core::stats::Interval;
use std::fmt::Write;

pub(super) fn number(v: f64, duration: bool) -> String {
    if v.is_infinite() {
        // A censored percentile some run never reached.
        let sign = if v < 0.0 { "-" } else { "" };
        format!("{sign}∞ (not reached)")
    } else if duration {
        let sign = if v < 0.0 { "-" } else { "" };
        format!("{sign}{}", human_ms(v.abs().round() as u64))
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// [`number`], unless its rounding would stand differently to the gate's allowance `limit`
/// than the exact value does (`+10m` for +10m0.3s beside `allowed +10m`): then exact
/// (`mxsim_core::figures`).
fn beside(v: f64, duration: bool, limit: f64) -> String {
    let text = number(v, duration);
    if !v.is_finite() {
        return text;
    }
    let sign = if v < 0.0 { -1.0 } else { 1.0 };
    let ms = v.abs().round() as u64;
    let shown = if duration {
        sign * mxsim_core::time::rounded(mxsim_core::time::SimDuration::from_ms(ms)).0 as f64
    } else {
        text.parse().unwrap_or(v)
    };
    if v.partial_cmp(&limit) == shown.partial_cmp(&limit) {
        text
    } else if !duration {
        format!("{v}")
    } else if sign * ms as f64 == limit {
        format!("{v:.3}ms") // a fraction of a ms from the allowance
    } else {
        let exact = mxsim_core::time::SimDuration::from_ms(ms);
        format!("{}{exact}", if v < 0.0 { "-" } else { "" })
    }
}

fn signed_beside(v: f64, duration: bool, limit: Option<f64>) -> String {
    let text = limit.map_or_else(|| number(v, duration), |l| beside(v, duration, l));
    if v >= 0.0 {
        format!("+{text}")
    } else {
        text
    }
}

fn signed(v: f64, duration: bool) -> String {
    let text = number(v, duration);
    if v >= 0.0 {
        format!("+{text}")
    } else {
        text
    }
}

pub(super) fn mean_pm(i: &Option<Interval>, duration: bool) -> String {
    match i {
        Some(i) => format!(
            "{} ± {}",
            number(i.mean, duration),
            number(i.half_width, duration)
        ),
        None => "-".into(),
    }
}

/// The comparison table.
pub fn comparison(file: &str, c: &Comparison) -> String {
    let mut s = String::new();
    let first = c.seeds.first().copied().unwrap_or(0);
    let last = c.seeds.last().copied().unwrap_or(0);
    let _ = writeln!(
        s,
        "{file}: {} policies × {} seeds (seeds {first}…{last}; every policy meets the same failures)",
        c.policies.len(),
        c.seeds.len()
    );
    let _ = writeln!(s, "baseline: {}\n", c.policies[0]);
    let w = c
        .policies
        .iter()
        .map(|p| p.chars().count())
        .max()
        .unwrap_or(0)
        .max(16);
    for m in &c.metrics {
        let _ = writeln!(s, "{}", m.metric);
        for (k, (name, i)) in c.policies.iter().zip(&m.policies).enumerate() {
            let undefined = if m.undefined[k] > 0 && m.censored {
                format!(
                    "   (not reached in {} of {} runs: fewer than that share delivered)",
                    m.undefined[k],
                    c.seeds.len()
                )
            } else if m.undefined[k] > 0 {
                format!("   (undefined in {} runs, left out)", m.undefined[k])
            } else {
                String::new()
            };
            let diff = match k.checked_sub(1).and_then(|j| m.differences[j].as_ref()) {
                None if k == 0 => String::new(),
                None => "   vs baseline: -".into(),
                Some(d) if d.paired.mean.is_infinite() => format!(
                    "   vs baseline: {} *   (certain: it reached the percentile in fewer seeds)",
                    signed(d.paired.mean, m.is_duration)
                ),
                Some(d) => {
                    let ratio = d.unpaired.half_width / d.paired.half_width;
                    let narrowed = if d.paired.half_width == 0.0 {
                        "exact".into()
                    } else if (0.95..1.05).contains(&ratio) {
                        "about as wide".into()
                    } else if ratio >= 1.0 {
                        format!("{ratio:.1}× narrower")
                    } else {
                        format!(
                            "{:.1}× wider: these runs are not positively correlated",
                            1.0 / ratio
                        )
                    };
                    format!(
                        "   vs baseline: {} ± {}{}   (unpaired ± {}: pairing {narrowed})",
                        signed(d.paired.mean, m.is_duration),
                        number(d.paired.half_width, m.is_duration),
                        if d.significant { " *" } else { "" },
                        number(d.unpaired.half_width, m.is_duration),
                    )
                }
            };
            let _ = writeln!(
                s,
                "  {name:<w$} {:<24}{diff}{undefined}",
                mean_pm(i, m.is_duration)
            );
        }
    }
    let _ = write!(s, "{}", verdicts(c));
    let _ = writeln!(
        s,
        "\nmean ± half-width of the 95% interval over seeds (Student t). vs baseline: the mean of\n\
         the per-seed differences (paired: common random numbers) with its 95% interval; * marks\n\
         an interval that excludes 0 (not chance at 95%). unpaired: the interval's half-width if\n\
         the same runs were independent (Welch), to show what pairing bought."
    );
    s
}

/// One line per candidate answering "is it better than the baseline, and by how much?":
/// the metrics it is significantly better and worse on, with their paired differences, and
/// how many show no difference these seeds can tell from chance.
fn verdicts(c: &Comparison) -> String {
    let mut s = format!(
        "\nVerdict against {} (paired 95% intervals):\n",
        c.policies[0]
    );
    for (j, policy) in c.policies.iter().enumerate().skip(1) {
        let mut better = Vec::new();
        let mut worse = Vec::new();
        let mut changed = Vec::new();
        let mut same = 0;
        for m in &c.metrics {
            let Some(d) = &m.differences[j - 1] else {
                continue;
            };
            let text = if d.paired.mean.is_infinite() {
                format!(
                    "{} {} in {} of {} seeds",
                    m.metric,
                    if d.paired.mean > 0.0 {
                        "not reached"
                    } else {
                        "reached where the baseline's was not"
                    },
                    m.undefined[if d.paired.mean > 0.0 { j } else { 0 }],
                    c.seeds.len()
                )
            } else {
                format!(
                    "{} {} ± {}",
                    m.metric,
                    signed(d.paired.mean, m.is_duration),
                    number(d.paired.half_width, m.is_duration)
                )
            };
            match d.verdict {
                Verdict::Better => better.push(text),
                Verdict::Worse => worse.push(text),
                Verdict::Changed => changed.push(text),
                Verdict::NoDifference => same += 1,
            }
        }
        let _ = writeln!(s, "  {policy}");
        for (word, list) in [
            ("better:", better),
            ("worse:", worse),
            ("changed:", changed),
        ] {
            if !list.is_empty() {
                let _ = writeln!(s, "    {word:<8} {}", list.join(", "));
            }
        }
        let _ = writeln!(s, "    no significant difference on {same} metrics");
    }
    s
}

/// The gates' verdicts, and the rule they follow.
pub fn gates(c: &Comparison, verdicts: &[GateVerdict]) -> String {
    let mut s = String::new();
    if verdicts.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "\nGates (candidate − {}, paired 95% interval):",
        c.policies[0]
    );
    for v in verdicts {
        let duration = c
            .metrics
            .iter()
            .any(|m| m.metric == v.metric && m.is_duration);
        // The interval is read against the allowance: rounding may not move it across.
        let at = |x: f64| signed_beside(x, duration, v.limit);
        let diff = v.difference.map_or("undefined".into(), |d| {
            format!("{} [{}, {}]", at(d.mean), at(d.low), at(d.high))
        });
        let limit = v
            .limit
            .map_or("-".into(), |l| signed_beside(l, duration, Some(l)));
        let _ = writeln!(
            s,
            "  {} {}: {}: {diff}, allowed {limit}",
            match v.outcome {
                GateOutcome::Pass => "PASS",
                GateOutcome::Inconclusive => "PASS (inconclusive: more seeds would tell)",
                GateOutcome::Fail => "FAIL",
            },
            v.gate,
            v.policy
        );
    }
    for note in delivered_only_notes(c, verdicts) {
        let _ = writeln!(s, "  note: {note}");
    }
    let _ = writeln!(
        s,
        "  rule: a candidate fails when its whole interval lies beyond the allowance, i.e. it is\n  \
         worse than the baseline by more than allowed with 97.5% confidence (one-sided)"
    );
    s
}

/// For each gate on a delivered-only delay whose candidate delivered significantly less than
/// the baseline: a warning that the gate cannot see the undelivered mail.
fn delivered_only_notes(c: &Comparison, verdicts: &[GateVerdict]) -> Vec<String> {
    let delivered = c.metrics.iter().find(|m| m.metric == "delivered_ratio");
    verdicts
        .iter()
        .filter_map(|v| {
            let gated = mxsim_core::metric::Metric::parse(&v.metric).ok()?;
            if !gated.delivered_only() {
                return None;
            }
            let j = c.policies.iter().position(|p| *p == v.policy)?.checked_sub(1)?;
            let d = delivered?.differences[j].as_ref()?;
            (d.verdict == Verdict::Worse).then(|| {
                // Its censored counterpart in the registry (delay_p90 → delay_censored_p90);
                // for the mean and the maximum, which have none, the p95.
                let censored = v
                    .metric
                    .strip_prefix("delay_")
                    .map(|p| format!("delay_censored_{p}"))
                    .filter(|n| mxsim_core::metric::Metric::parse(n).is_ok())
                    .unwrap_or_else(|| "delay_censored_p95".into());
                format!(
                    "{} counts delivered mail only, and {} delivered {:.2} pp less; gate {censored} to count undelivered mail as infinitely late",
                    v.metric,
                    v.policy,
                    -d.paired.mean * 100.0,
                )
            })
        })
        .collect()
}

/// How a `--precision` run ended.
pub fn precision(p: &mxsim_core::compare::PrecisionOutcome) -> String {
    let widest = p.widest.as_ref().map_or(String::new(), |(m, w)| {
        format!("; widest: {m} ±{:.2}% of its baseline", w * 100.0)
    });
    let zero = if p.zero_baseline.is_empty() {
        String::new()
    } else {
        format!(
            "\n(left out, baseline mean 0: {})",
            p.zero_baseline.join(", ")
        )
    };
    format!(
        "\nprecision {:.2}%: {} with {} seeds per policy{widest}{zero}\n",
        p.target * 100.0,
        if p.reached {
            "reached"
        } else {
            "NOT reached: --max-seeds stopped it"
        },
        p.seeds
    )
}
