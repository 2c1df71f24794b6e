//! Experiments of many runs (`mxsim compare`, `mxsim sweep`): what one run is reduced to, and
//! how the runs are numbered and sliced into shards for batch systems.
//!
//! An experiment is a list of variants (policies, or cells of a sweep grid) × a list of seeds.
//! Job `j` is variant `j / seeds` on seed `j % seeds`; shard K of N owns the jobs with
//! `j % N == K − 1`. Each job is a pure function of (scenario, variant, seed), so any thread
//! count, any shard split and any order of merging give the same results.

use crate::compare::{readings, Reading};
use crate::metric::Metric;
use crate::report::{CdfPoint, Cut};
use crate::scenario::Scenario;
use crate::simulation::Simulation;
use serde::{Deserialize, Serialize};

/// One run reduced to what comparisons and sweeps use: its metrics and its delay
/// distribution (for overlaid CDF plots). Serialisable for shard files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Metric readings (see [`crate::compare::readings`]).
    pub readings: Vec<Reading>,
    /// Censored delay distribution at whole percents.
    pub delay_cdf: Vec<CdfPoint>,
    /// The limit that cut the run short, if one did (verdicts on it are inconclusive).
    #[serde(default)]
    pub cut: Option<Cut>,
}

/// Runs `scenario` to the end and reduces it to `metrics` (see [`metrics_for`]).
pub fn run_reduced(scenario: Scenario, metrics: &[Metric]) -> RunResult {
    let mut sim = Simulation::new(scenario);
    sim.run();
    RunResult {
        readings: readings(&sim.report(), metrics),
        delay_cdf: sim.delay_cdf(),
        cut: sim.cut(),
    }
}

/// The metrics an experiment over `variants` reads: the registry's default table for what
/// every variant can measure ([`Metric::compared`]), then `extra` (gated or `--pareto`
/// metrics, already checked measurable by the caller) not already in it.
pub fn metrics_for(variants: &[Scenario], extra: &[Metric]) -> Vec<Metric> {
    let mut out: Vec<Metric> = variants.first().map_or_else(Vec::new, |first| {
        Metric::compared(&first.measurable())
            .into_iter()
            .filter(|m| {
                variants
                    .iter()
                    .all(|v| m.measurable(&v.measurable()).is_ok())
            })
            .collect()
    });
    for m in extra {
        if !out.contains(m) {
            out.push(m.clone());
        }
    }
    out
}

/// Compares `table[p][i]`, policy `p`'s run on seed `seeds[i]` ([`crate::compare::compare`]
/// over their readings), listing the runs a limit cut short.
pub fn compare_runs(
    policies: Vec<String>,
    seeds: Vec<u64>,
    table: &[Vec<RunResult>],
) -> crate::compare::Comparison {
    let readings: Vec<Vec<Vec<Reading>>> = table
        .iter()
        .map(|row| row.iter().map(|r| r.readings.clone()).collect())
        .collect();
    let cut_runs = cut_runs(&policies, &seeds, table);
    let mut c = crate::compare::compare(policies, seeds, &readings);
    c.cut_runs = cut_runs;
    c
}

/// The runs of `table[variant][seed]` a limit cut short, in variant then seed order;
/// `labels[v]` names variant `v` (a policy, or a sweep cell's values).
pub fn cut_runs(
    labels: &[String],
    seeds: &[u64],
    table: &[Vec<RunResult>],
) -> Vec<crate::compare::CutRun> {
    labels
        .iter()
        .zip(table)
        .flat_map(|(label, row)| {
            row.iter().zip(seeds).filter_map(|(run, &seed)| {
                run.cut.map(|cut| crate::compare::CutRun {
                    policy: label.clone(),
                    seed,
                    cut,
                })
            })
        })
        .collect()
}

/// Checks that every variant can measure `metric` (a gate's or `--pareto`'s); the error
/// names the variant that cannot and what it lacks.
pub fn check_measurable(metric: &Metric, variants: &[(String, &Scenario)]) -> Result<(), String> {
    for (label, v) in variants {
        metric
            .measurable(&v.measurable())
            .map_err(|why| format!("{label}: {why}"))?;
    }
    Ok(())
}

/// The delay distribution of several runs (one policy over its seeds), pooled: at each delay,
/// the mean over runs of the share of messages delivered by then. It is a step function,
/// rising only at delays some run delivered at (as (share, delay ms) points: a vertical step
/// at each such delay), so a policy retrying every 10 minutes shows no deliveries between
/// its tries. (Averaging the runs' quantiles instead would place deliveries at delays no run
/// had.)
pub fn pooled_delay_cdf(runs: &[&RunResult]) -> Vec<(f64, f64)> {
    if runs.is_empty() {
        return Vec::new();
    }
    let mut delays: Vec<u64> = runs
        .iter()
        .flat_map(|r| r.delay_cdf.iter().map(|p| p.delay_ms))
        .collect();
    delays.sort_unstable();
    delays.dedup();
    // A run's share delivered by `d`: its largest share reached at a delay ≤ d.
    let share_by = |r: &RunResult, d: u64| {
        r.delay_cdf
            .iter()
            .filter(|p| p.delay_ms <= d)
            .map(|p| p.share)
            .fold(0.0, f64::max)
    };
    let mut out = Vec::with_capacity(delays.len() * 2);
    let mut previous = 0.0;
    for d in delays {
        let share = runs.iter().map(|r| share_by(r, d)).sum::<f64>() / runs.len() as f64;
        out.push((previous, d as f64));
        out.push((share, d as f64));
        previous = share;
    }
    out
}

/// Most seeds [`compare_specs`] runs per policy: it runs in one thread (the browser's worker),
/// so its work is bounded here; the CLI's parallel `compare` allows more.
pub const COMPARE_SEEDS_MAX: u32 = 1_000;

/// Runs every policy spec (as `mxsim compare --policy` takes them, see
/// [`crate::scenario::edit::parse_policy_spec`]) on the same `seeds` seeds — the scenario's
/// seed and the ones after it — and compares them: the comparison `mxsim compare` computes,
/// in one thread, for callers without threads (the browser). Errors name the bad spec.
pub fn compare_specs(
    text: &str,
    file: &str,
    specs: &[String],
    seeds: u32,
) -> Result<crate::compare::Comparison, String> {
    use crate::scenario::edit::{load_edited, parse_policy_spec};
    if specs.len() < 2 {
        return Err("compare needs at least two policies (the first is the baseline)".into());
    }
    if let Some(dup) = crate::compare::repeated_policy(specs) {
        return Err(format!("policy {dup} is given twice"));
    }
    if !(2..=COMPARE_SEEDS_MAX).contains(&seeds) {
        return Err(format!(
            "seeds must be between 2 and {COMPARE_SEEDS_MAX}, got {seeds}"
        ));
    }
    let scenarios = specs
        .iter()
        .map(|spec| {
            let (name, edits) =
                parse_policy_spec(spec).map_err(|m| format!("policy {spec}: {m}"))?;
            load_edited(text, file, Some(&name), &edits).map_err(|e| format!("policy {spec}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let seed_list = seeds_from(scenarios[0].seed, u64::from(seeds));
    let metrics = metrics_for(&scenarios, &[]);
    let table: Vec<Vec<RunResult>> = scenarios
        .iter()
        .map(|s| {
            seed_list
                .iter()
                .map(|&seed| {
                    let mut s = s.clone();
                    s.seed = seed;
                    run_reduced(s, &metrics)
                })
                .collect()
        })
        .collect();
    Ok(compare_runs(specs.to_vec(), seed_list, &table))
}

/// The seeds of an experiment: the scenario's seed and the ones after it (wrapping inside
/// the range a scenario's `seed` accepts).
pub fn seeds_from(first: u64, count: u64) -> Vec<u64> {
    (0..count)
        .map(|i| first.wrapping_add(i) & (i64::MAX as u64))
        .collect()
}

/// A slice of an experiment's jobs: shard `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, 1 … count.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// Most shards (more than jobs is allowed: the extra shards are empty).
    pub const COUNT_MAX: u32 = 100_000;

    /// The whole experiment as one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N` (1 ≤ K ≤ N ≤ [`Shard::COUNT_MAX`]).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || {
            format!(
                "`{text}` is not K/N with 1 ≤ K ≤ N ≤ {}, e.g. 2/8 (shard 2 of 8; indices count from 1)",
                Shard::COUNT_MAX
            )
        };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n) = (
            k.trim().parse::<u32>().map_err(|_| bad())?,
            n.trim().parse::<u32>().map_err(|_| bad())?,
        );
        if k == 0 || n == 0 || k > n || n > Shard::COUNT_MAX {
            return Err(bad());
        }
        Ok(Shard { index: k, count: n })
    }

    /// Whether this shard runs job `j`.
    pub fn owns(self, job: usize) -> bool {
        job % self.count as usize == (self.index - 1) as usize
    }

    /// The jobs of an experiment of `total` jobs this shard runs, ascending.
    pub fn jobs(self, total: usize) -> impl Iterator<Item = usize> {
        (self.index as usize - 1..total).step_by(self.count as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_jobs_exactly_once() {
        for n in 1..6u32 {
            let mut seen = vec![0; 17];
            for k in 1..=n {
                let s = Shard { index: k, count: n };
                for j in s.jobs(17) {
                    assert!(s.owns(j));
                    seen[j] += 1;
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "{n}: {seen:?}");
        }
    }

    #[test]
    fn shard_specs_are_checked() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "-1/2", "1/200000", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_pooled_cdf_rises_only_at_delays_a_run_delivered_at() {
        let run = |points: &[(f64, u64)]| RunResult {
            cut: None,
            readings: Vec::new(),
            delay_cdf: points
                .iter()
                .map(|&(share, delay_ms)| CdfPoint { share, delay_ms })
                .collect(),
        };
        // Fixed 10-minute retries: deliveries at once or after 10 minutes, never between.
        let a = run(&[(0.8, 100), (1.0, 600_100)]);
        let b = run(&[(0.6, 120), (0.9, 600_120)]);
        let pooled = pooled_delay_cdf(&[&a, &b]);
        // The mean share rises at 100 ms, 120 ms, 10m0.1s and 10m0.12s, and nowhere else.
        let rises: Vec<u64> = pooled
            .chunks(2)
            .filter(|w| w[1].0 > w[0].0)
            .map(|w| w[1].1 as u64)
            .collect();
        assert_eq!(rises, vec![100, 120, 600_100, 600_120]);
        let last = pooled.last().unwrap();
        assert!((last.0 - 0.95).abs() < 1e-12, "{last:?}");
        assert!(pooled.iter().all(|&(_, d)| d <= 600.0 || d >= 600_100.0));
        assert!(pooled_delay_cdf(&[]).is_empty());
    }

    #[test]
    fn seeds_start_at_the_scenarios_and_stay_in_range() {
        assert_eq!(seeds_from(5, 3), vec![5, 6, 7]);
        assert_eq!(seeds_from(i64::MAX as u64, 2), vec![i64::MAX as u64, 0]);
    }
}
