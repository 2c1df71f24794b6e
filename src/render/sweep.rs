//! The text of `mxsim sweep`: one line per cell with its parameter values and the mean ±
//! 95% half-width of the key metrics, the Pareto front marked.

use super::compare::{mean_pm, number};
use mxsim_core::sweep::Sweep;
use std::fmt::Write;

/// Metrics shown as columns (JSON and CSV have all of them); the delays are censored, so a
/// cell that drops mail never looks faster.
const SHOWN: &[&str] = &[
    "delivered_ratio",
    "delay_censored_p50",
    "delay_censored_p95",
    "attempts_per_message",
];

/// The sweep table.
pub fn sweep(file: &str, s: &Sweep) -> String {
    let mut out = String::new();
    let first = s.seeds.first().copied().unwrap_or(0);
    let last = s.seeds.last().copied().unwrap_or(0);
    let same = if s.world_params.is_empty() {
        "every cell meets the same failures".to_string()
    } else {
        format!(
            "{} changes the world: only cells with the same value of it meet the same failures",
            s.world_params.join(" and ")
        )
    };
    let _ = writeln!(
        out,
        "{file}: {} cells × {} seeds (seeds {first}…{last}; {same})\n",
        s.cells.len(),
        s.seeds.len()
    );
    let mut metrics: Vec<&str> = SHOWN.to_vec();
    if let Some([a, b]) = &s.pareto {
        for m in [a, b] {
            if !metrics.contains(&m.as_str()) {
                metrics.push(m);
            }
        }
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header: Vec<String> = s.params.clone();
    header.extend(metrics.iter().map(|m| m.to_string()));
    rows.push(header);
    // Cells grouped by environment (grid order within each), a blank row between groups:
    // only rows of one group meet the same failures.
    let mut order: Vec<&mxsim_core::sweep::Cell> = s.cells.iter().collect();
    order.sort_by_key(|c| c.environment);
    let mut breaks = Vec::new();
    for (k, c) in order.iter().enumerate() {
        if k > 0 && c.environment != order[k - 1].environment {
            breaks.push(k + 1); // + 1: the header row
        }
        let mut row: Vec<String> = c.values.clone();
        for m in &metrics {
            let cell = c.metrics.iter().find(|x| x.metric == *m);
            row.push(match cell {
                Some(x) if x.interval.is_some() => mean_pm(&x.interval, x.is_duration),
                Some(x)
                    if x.undefined > 0
                        && mxsim_core::compare::family_of(&x.metric)
                            .is_some_and(|f| f.censored) =>
                {
                    format!("not reached in {}/{}", x.undefined, s.seeds.len())
                }
                Some(x) => x.mean.map_or("-".into(), |v| number(v, x.is_duration)),
                None => "-".into(),
            });
        }
        if c.pareto == Some(true) {
            row[0] = format!("* {}", row[0]);
        } else if c.pareto.is_some() {
            row[0] = format!("  {}", row[0]);
        }
        rows.push(row);
    }
    if s.pareto.is_some() {
        rows[0][0] = format!("  {}", rows[0][0]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|k| rows.iter().map(|r| r[k].chars().count()).max().unwrap_or(0))
        .collect();
    for (k, r) in rows.iter().enumerate() {
        if breaks.contains(&k) {
            let _ = writeln!(out);
        }
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    let _ = writeln!(
        out,
        "\nmean ± half-width of the 95% interval over seeds (Student t); all metrics with --json or --csv."
    );
    if let Some([a, b]) = &s.pareto {
        let n = s.cells.iter().filter(|c| c.pareto == Some(true)).count();
        let within = if s.world_params.is_empty() {
            String::new()
        } else {
            let k = s
                .cells
                .iter()
                .enumerate()
                .filter(|(i, c)| c.environment == *i)
                .count();
            format!(
                ", one front for each of the {k} values of {}",
                s.world_params.join(" and ")
            )
        };
        let other = if s.world_params.is_empty() {
            "no other cell"
        } else {
            "no other cell meeting the same failures"
        };
        let _ = writeln!(
            out,
            "* the Pareto front of {a} and {b} ({n} of {} cells{within}): {other} is better on both (by the means).",
            s.cells.len()
        );
    }
    out
}
