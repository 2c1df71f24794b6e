//! `[expect]` bounds on a run's metrics, and their evaluation (`mxsim check`).
//!
//! A scenario states what it is supposed to show ("delivered_ratio ≥ 0.999", "p95 delay ≤ 6h");
//! a run checks every bound and reports its value and margin, so a scenario doubles as a
//! regression test and a CI gate.

use crate::report::Report;
use serde::Serialize;

pub use crate::metric::Metric;

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
