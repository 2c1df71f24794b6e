//! Parameter sweeps: the grid of values, and per cell the mean of every metric over seeds
//! with its 95% interval, plus the Pareto front on two metrics (`mxsim sweep`).
//!
//! Pure functions over [`Reading`]s (one list per run), so a sweep computed in one process,
//! over many threads, or in shards merged later gives the same numbers. Every cell runs on
//! the same seeds, so cells meet the same outages (common random numbers, as in
//! [`crate::compare`]) — unless a parameter changes the world itself ([`changes_the_world`]:
//! a host's failure model, the workload, the topology). Cells are then grouped by their
//! values of those parameters, their *environment*: only cells of one environment meet the
//! same failures, and each environment has its own Pareto front.

use crate::compare::{family_of, reported_by_every_run, Reading};
use crate::metric::Better;
use crate::stats::{mean, mean_interval, Interval};
use serde::Serialize;

/// Most cells in one sweep (each is a scenario run on every seed): a grid this large is
/// already hours of work; split it with several sweeps instead.
pub const CELLS_MAX: usize = 10_000;

/// The grid of cells: every combination of the parameters' values, the first parameter
/// varying slowest; each cell lists one value index per parameter. `None` when the grid has
/// more than [`CELLS_MAX`] cells (or a parameter has no value).
pub fn grid(value_counts: &[usize]) -> Option<Vec<Vec<usize>>> {
    let total = value_counts
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .filter(|&t| t > 0 && t <= CELLS_MAX)?;
    Some(
        (0..total)
            .map(|mut k| {
                let mut cell = vec![0; value_counts.len()];
                for (slot, &n) in cell.iter_mut().zip(value_counts).rev() {
                    *slot = k % n;
                    k /= n;
                }
                cell
            })
            .collect(),
    )
}

/// The top-level scenario tables whose values are the world the policy meets rather than the
/// policy (`[policy]`, `[policies]`) or what is measured (`expect`, `delivered_within`,
/// `series_every`, `limits`, `name`): sweeping one of these gives each cell other failures.
pub const WORLD_KEYS: [&str; 6] = ["seed", "duration", "hosts", "links", "domains", "workload"];

/// Whether a `--param` path (`hosts[relay-a].failure.markov.mean_down`) changes the world the
/// cells meet ([`WORLD_KEYS`]), not just the policy or the measurement.
pub fn changes_the_world(path: &str) -> bool {
    let first = path.split(['.', '[']).next().unwrap_or(path);
    WORLD_KEYS.contains(&first)
}

/// One metric of one cell.
#[derive(Clone, Debug, Serialize)]
pub struct CellMetric {
    /// Metric name (as in `mxsim compare`).
    pub metric: String,
    /// Values are milliseconds.
    pub is_duration: bool,
    /// The mean over seeds (`None`: undefined in some run).
    pub mean: Option<f64>,
    /// The mean's 95% interval (`None`: undefined in some run, or a single seed).
    pub interval: Option<Interval>,
    /// Runs in which the metric was undefined (left out).
    pub undefined: usize,
}

/// One cell of the grid.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// The value of each parameter, as written on the command line.
    pub values: Vec<String>,
    /// Per metric.
    pub metrics: Vec<CellMetric>,
    /// Its environment: index of the first cell with the same values of the parameters that
    /// change the world (`Sweep::world_params`); cells of one environment meet the same
    /// failures, and the Pareto front is drawn within each.
    pub environment: usize,
    /// On the Pareto front (only when one was asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pareto: Option<bool>,
}

impl Cell {
    /// The mean of `metric`, when defined.
    pub fn mean(&self, metric: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.metric == metric)
            .and_then(|m| m.mean)
    }
}

/// A sweep's results.
#[derive(Clone, Debug, Serialize)]
pub struct Sweep {
    /// The parameters' paths, in grid order.
    pub params: Vec<String>,
    /// Those of `params` that change the world ([`changes_the_world`]): empty when every cell
    /// meets the same failures.
    pub world_params: Vec<String>,
    /// The seeds every cell ran on.
    pub seeds: Vec<u64>,
    /// The cells, in grid order.
    pub cells: Vec<Cell>,
    /// The two metrics of the Pareto front, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pareto: Option<[String; 2]>,
}

/// Summarises `table[c][i]`, the readings of cell `c` on seed `seeds[i]`; `values[c]` are
/// the cell's parameter values. Metrics are those every run reports.
pub fn summarise(
    params: Vec<String>,
    values: Vec<Vec<String>>,
    seeds: Vec<u64>,
    table: &[Vec<Vec<Reading>>],
) -> Sweep {
    assert_eq!(values.len(), table.len(), "one row of runs per cell");
    assert!(
        table.iter().all(|r| r.len() == seeds.len()) && !seeds.is_empty(),
        "one run per seed"
    );
    let names = reported_by_every_run(table);
    let world: Vec<usize> = (0..params.len())
        .filter(|&k| changes_the_world(&params[k]))
        .collect();
    let key = |values: &[String]| world.iter().map(|&k| values[k].clone()).collect::<Vec<_>>();
    let keys: Vec<Vec<String>> = values.iter().map(|v| key(v)).collect();
    let environment = |c: usize| keys.iter().position(|k| *k == keys[c]).unwrap_or(c);
    let cells = values
        .into_iter()
        .zip(table)
        .enumerate()
        .map(|(c, (values, row))| Cell {
            environment: environment(c),
            values,
            metrics: names
                .iter()
                .map(|(name, is_duration)| {
                    let v: Vec<Option<f64>> = row
                        .iter()
                        .map(|run| run.iter().find(|r| &r.name == name).and_then(|r| r.value))
                        .collect();
                    let complete = v.iter().copied().collect::<Option<Vec<f64>>>();
                    CellMetric {
                        metric: name.clone(),
                        is_duration: *is_duration,
                        mean: complete.as_deref().map(mean),
                        interval: complete.as_ref().and_then(|x| mean_interval(x)),
                        undefined: v.iter().filter(|x| x.is_none()).count(),
                    }
                })
                .collect(),
            pareto: None,
        })
        .collect();
    Sweep {
        world_params: world.iter().map(|&k| params[k].clone()).collect(),
        params,
        seeds,
        cells,
        pareto: None,
    }
}

/// Marks the cells on the Pareto front of metrics `a` and `b`: those no other cell of the same
/// environment ([`Cell::environment`]) beats on both (at least as good on each, strictly
/// better on one, by the means): a cell that meets milder failures is not a better policy. A
/// cell where either metric is undefined is never on the front. Errors name an unknown metric.
pub fn mark_pareto(sweep: &mut Sweep, a: &str, b: &str) -> Result<(), String> {
    let names: Vec<&str> = sweep
        .cells
        .first()
        .map(|c| c.metrics.iter().map(|m| m.metric.as_str()).collect())
        .unwrap_or_default();
    let mut lower_better = [true; 2];
    for (k, m) in [a, b].iter().enumerate() {
        if !names.contains(m) {
            return Err(format!(
                "no metric `{m}` in this sweep; metrics: {}",
                names.join(", ")
            ));
        }
        lower_better[k] = match family_of(m).map(|f| f.better) {
            Some(Better::Lower) => true,
            Some(Better::Higher) => false,
            _ => return Err(format!("`{m}` has no better direction")),
        };
    }
    // Oriented so that lower is better on both axes.
    let points: Vec<Option<[f64; 2]>> = sweep
        .cells
        .iter()
        .map(|c| {
            let orient = |v: f64, k: usize| if lower_better[k] { v } else { -v };
            Some([orient(c.mean(a)?, 0), orient(c.mean(b)?, 1)])
        })
        .collect();
    let envs: Vec<usize> = sweep.cells.iter().map(|c| c.environment).collect();
    let dominates =
        |p: [f64; 2], q: [f64; 2]| p[0] <= q[0] && p[1] <= q[1] && (p[0] < q[0] || p[1] < q[1]);
    for (i, cell) in sweep.cells.iter_mut().enumerate() {
        let env = cell.environment;
        cell.pareto = Some(points[i].is_some_and(|q| {
            !points
                .iter()
                .zip(&envs)
                .enumerate()
                .any(|(j, (p, &e))| j != i && e == env && p.is_some_and(|p| dominates(p, q)))
        }));
    }
    sweep.pareto = Some([a.to_string(), b.to_string()]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(name: &str, v: f64) -> Reading {
        let m = crate::metric::Metric::parse(name).unwrap();
        Reading {
            name: name.into(),
            is_duration: m.is_duration(),
            unit: m.family().unit,
            censored: m.family().censored,
            value: Some(v),
            text: None,
        }
    }

    #[test]
    fn the_grid_is_every_combination_first_parameter_slowest() {
        assert_eq!(
            grid(&[2, 3]).unwrap(),
            vec![
                vec![0, 0],
                vec![0, 1],
                vec![0, 2],
                vec![1, 0],
                vec![1, 1],
                vec![1, 2]
            ]
        );
        assert_eq!(grid(&[]).unwrap(), vec![Vec::<usize>::new()]);
        assert!(grid(&[2, 0]).is_none());
        assert!(grid(&[CELLS_MAX, 2]).is_none());
        assert!(grid(&[usize::MAX, usize::MAX]).is_none());
    }

    #[test]
    fn the_front_keeps_exactly_the_undominated_cells() {
        // (delay_p95, attempts): lower is better on both.
        let points = [
            (10.0, 5.0),
            (20.0, 2.0),
            (15.0, 6.0),
            (30.0, 1.0),
            (20.0, 2.0),
        ];
        let table: Vec<Vec<Vec<Reading>>> = points
            .iter()
            .map(|&(d, a)| {
                vec![
                    vec![reading("delay_p95", d), reading("attempts_per_message", a)],
                    vec![reading("delay_p95", d), reading("attempts_per_message", a)],
                ]
            })
            .collect();
        let values = (0..points.len()).map(|i| vec![i.to_string()]).collect();
        let mut s = summarise(vec!["x".into()], values, vec![1, 2], &table);
        mark_pareto(&mut s, "delay_p95", "attempts_per_message").unwrap();
        let front: Vec<bool> = s.cells.iter().map(|c| c.pareto.unwrap()).collect();
        // (15, 6) is beaten by (10, 5); equal points do not beat each other.
        assert_eq!(front, vec![true, true, false, true, true]);
        assert!(mark_pareto(&mut s, "delay_p95", "nope")
            .unwrap_err()
            .contains("attempts_per_message"));
    }

    #[test]
    fn higher_is_better_for_ratios() {
        let table: Vec<Vec<Vec<Reading>>> = [(0.9, 10.0), (0.99, 10.0)]
            .iter()
            .map(|&(r, d)| vec![vec![reading("delivered_ratio", r), reading("delay_p95", d)]])
            .collect();
        let values = vec![vec!["a".into()], vec!["b".into()]];
        let mut s = summarise(vec!["x".into()], values, vec![1], &table);
        mark_pareto(&mut s, "delivered_ratio", "delay_p95").unwrap();
        assert_eq!(s.cells[0].pareto, Some(false));
        assert_eq!(s.cells[1].pareto, Some(true));
    }

    #[test]
    fn a_parameter_of_the_world_splits_the_cells_into_environments_each_with_its_front() {
        assert!(changes_the_world("hosts[relay-a].failure.markov.mean_down"));
        assert!(changes_the_world("workload.arrivals.poisson_per_hour"));
        assert!(!changes_the_world("policy.retry.fixed"));
        assert!(!changes_the_world("delivered_within"));
        // Two policies × two outage lengths. Under the short outage both policies do well;
        // under the long one both do worse. One front across both would keep only the
        // short-outage cells, as if a milder world were a better policy.
        let points = [(10.0, 2.0), (12.0, 1.5), (50.0, 4.0), (40.0, 5.0)];
        let table: Vec<Vec<Vec<Reading>>> = points
            .iter()
            .map(|&(d, a)| {
                vec![vec![
                    reading("delay_p95", d),
                    reading("attempts_per_message", a),
                ]]
            })
            .collect();
        let values = [
            ("short", "fast"),
            ("short", "slow"),
            ("long", "fast"),
            ("long", "slow"),
        ]
        .iter()
        .map(|(o, p)| vec![o.to_string(), p.to_string()])
        .collect();
        let params = vec!["hosts[mx].failure".into(), "policy.retry.fixed".into()];
        let mut s = summarise(params, values, vec![1], &table);
        assert_eq!(s.world_params, vec!["hosts[mx].failure".to_string()]);
        let envs: Vec<usize> = s.cells.iter().map(|c| c.environment).collect();
        assert_eq!(envs, vec![0, 0, 2, 2]);
        mark_pareto(&mut s, "delay_p95", "attempts_per_message").unwrap();
        let front: Vec<bool> = s.cells.iter().map(|c| c.pareto.unwrap()).collect();
        assert_eq!(front, vec![true, true, true, true]);
    }
}
