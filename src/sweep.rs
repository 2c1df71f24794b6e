//! `mxsim sweep`: a scenario over a grid of parameter values × seeds, each cell summarised by
//! the mean of every metric with its 95% interval, and optionally the Pareto front on two
//! metrics (statistics in core: `mxsim_core::sweep`).
//!
//! Every cell is the scenario edited by `--set` and by its `--param` values, then checked by
//! the normal loader; all invalid cells are reported, with their values, before anything runs.

use crate::check::CheckOutput;
use crate::compare::{edit_failure, parse_sets};
use crate::experiment::{inconclusive, metrics_checked, pool, run_jobs};
use crate::shard::{emit_shard, shard_jobs, text_hash, Experiment, JobResult, ShardFile};
use crate::{csv_text, emit, plot, read_scenario_text, render, Failure};
use mxsim_core::experiment::{seeds_from, RunResult, Shard};
use mxsim_core::metric::Metric;
use mxsim_core::scenario::edit::{parse_path, parse_value, split_assignment, split_list, Step};
use mxsim_core::scenario::{load_edited, Edit, Scenario};
use mxsim_core::sweep::{grid, mark_pareto, summarise, Sweep, CELLS_MAX};
use std::path::Path;

/// What `mxsim sweep` was asked.
pub struct SweepArgs<'a> {
    pub path: &'a Path,
    pub params: &'a [String],
    pub sets: &'a [String],
    /// `--metric`: metrics beyond the default table.
    pub metrics: &'a [String],
    pub seeds: u32,
    pub threads: Option<usize>,
    pub shard: Option<Shard>,
    pub pareto: Option<&'a str>,
}

/// Where the sweep's results go.
pub struct SweepOutputs<'a> {
    pub output: CheckOutput,
    pub plot: Option<&'a Path>,
    /// Judge runs cut by a limit as they are (`--allow-cut`).
    pub allow_cut: bool,
}

/// One `--param PATH=V1,V2,…`: the path and its values as written.
struct Param {
    path: Vec<Step>,
    text: String,
    values: Vec<String>,
}

fn parse_param(text: &str) -> Result<Param, Failure> {
    let bad = |m: String| {
        Failure::Input(format!(
            "error: --param {text}: {m}\n  help: --param PATH=V1,V2,… e.g. --param policy.retry.exponential.initial=1m,5m,15m or --param 'hosts[relay-a].failure.markov.mean_down=10m,1h'"
        ))
    };
    let (path, values) = split_assignment(text)
        .ok_or_else(|| bad("no `=` between the path and its values".into()))?;
    let path = parse_path(path).map_err(&bad)?;
    let values: Vec<String> = split_list(values).into_iter().map(str::to_string).collect();
    if values.iter().any(String::is_empty) {
        return Err(bad("an empty value in the list".into()));
    }
    Ok(Param {
        text: mxsim_core::scenario::edit::path_text(&path),
        path,
        values,
    })
}

/// The cells' value labels and scenarios, or every invalid cell with its values.
fn cells(
    text: &str,
    file: &str,
    params: &[Param],
    sets: &[Edit],
) -> Result<(Vec<Vec<String>>, Vec<Scenario>), Failure> {
    let counts: Vec<usize> = params.iter().map(|p| p.values.len()).collect();
    let grid = grid(&counts).ok_or_else(|| {
        let total = counts.iter().map(|&n| n as f64).product::<f64>();
        Failure::Input(format!(
            "error: the grid has {total} cells; at most {CELLS_MAX}\n  help: sweep fewer values at a time, or split the grid over several sweeps"
        ))
    })?;
    let mut labels = Vec::new();
    let mut scenarios = Vec::new();
    let mut invalid = Vec::new();
    for cell in &grid {
        let values: Vec<String> = cell
            .iter()
            .zip(params)
            .map(|(&i, p)| p.values[i].clone())
            .collect();
        let edits: Vec<Edit> = sets
            .iter()
            .cloned()
            .chain(params.iter().zip(&values).map(|(p, v)| Edit {
                path: p.path.clone(),
                value: parse_value(v),
                text: format!("{}={v}", p.text),
            }))
            .collect();
        let what = params
            .iter()
            .zip(&values)
            .map(|(p, v)| format!("{}={v}", p.text))
            .collect::<Vec<_>>()
            .join(" ");
        match load_edited(text, file, None, &edits) {
            Ok(s) => scenarios.push(s),
            Err(e) => match edit_failure(&format!("cell {what}"), e) {
                Failure::Input(m) => invalid.push(m),
                other => return Err(other),
            },
        }
        labels.push(values);
    }
    if !invalid.is_empty() {
        let shown = invalid.len().min(10);
        let more = if invalid.len() > shown {
            format!("\n… and {} more invalid cells", invalid.len() - shown)
        } else {
            String::new()
        };
        return Err(Failure::Input(format!(
            "{}{more}\n{} of {} cells are invalid; nothing was run",
            invalid[..shown].join("\n"),
            invalid.len(),
            grid.len()
        )));
    }
    Ok((labels, scenarios))
}

/// `mxsim sweep`: validates every cell, runs the grid × seeds in parallel and prints each
/// cell's metrics; with `--shard K/N`, runs only that slice and prints it for `mxsim merge`.
pub fn command(args: &SweepArgs<'_>, outputs: &SweepOutputs<'_>) -> Result<(), Failure> {
    let params = args
        .params
        .iter()
        .map(|p| parse_param(p))
        .collect::<Result<Vec<_>, _>>()?;
    let pareto = args.pareto.map(parse_pareto).transpose()?;
    let sets = parse_sets(args.sets)?;
    let file = args.path.display().to_string();
    let text = read_scenario_text(args.path)?;
    let (labels, scenarios) = cells(&text, &file, &params, &sets)?;
    let cell_names: Vec<String> = labels.iter().map(|l| l.join(", ")).collect();
    let asked = crate::compare::parse_metrics(args.metrics)?;
    metrics_checked("--metric", &cell_names, &scenarios, &asked)?;
    let paretos = pareto.map_or_else(Vec::new, |(a, b)| vec![a, b]);
    metrics_checked("--pareto", &cell_names, &scenarios, &paretos)?;
    let metrics = metrics_checked(
        "--metric",
        &cell_names,
        &scenarios,
        &[asked, paretos].concat(),
    )?;
    let seeds = seeds_from(scenarios[0].seed, u64::from(args.seeds));
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let jobs = shard_jobs(shard, scenarios.len(), &seeds);
    let pairs: Vec<(usize, u64)> = jobs.iter().map(|&(_, p)| p).collect();
    let pool = pool(args.threads)?;
    let results = run_jobs(&pool, "sweep", &scenarios, &metrics, &pairs);
    let experiment = Experiment::Sweep {
        scenario: file,
        params: args.params.to_vec(),
        sets: args.sets.to_vec(),
        seeds: seeds.clone(),
        pareto: args.pareto.map(str::to_string),
        metrics: args.metrics.to_vec(),
    };
    if let Some(shard) = args.shard {
        emit_shard(&ShardFile {
            format: crate::shard::FORMAT.into(),
            experiment,
            scenario_hash: text_hash(&text),
            variants: labels,
            shard,
            jobs: scenarios.len() * seeds.len(),
            results: jobs
                .iter()
                .zip(results)
                .map(|(&(job, _), run)| JobResult { job, run })
                .collect(),
        });
        return Ok(());
    }
    let mut rows = results.into_iter();
    let table: Vec<Vec<RunResult>> = (0..scenarios.len())
        .map(|_| rows.by_ref().take(seeds.len()).collect())
        .collect();
    finish(&experiment, labels, &table, outputs)
}

/// `--pareto A,B`: two different registry metrics that have a better direction (checked
/// before any run; whether every cell can measure them is checked once the cells load).
fn parse_pareto(text: &str) -> Result<(Metric, Metric), Failure> {
    let bad = |why: String| {
        Failure::Input(format!(
            "error: --pareto {text}: {why}\n  help: two different metrics, e.g. delay_censored_p95,attempts_per_message; metrics: {}",
            mxsim_core::metric::gateable_names().join(", ")
        ))
    };
    match text.split(',').map(str::trim).collect::<Vec<_>>()[..] {
        [a, b] => {
            let (a, b) = (
                Metric::parse_gateable(a).map_err(bad)?,
                Metric::parse_gateable(b).map_err(bad)?,
            );
            if a == b {
                return Err(bad("the two metrics are the same".into()));
            }
            Ok((a, b))
        }
        _ => Err(bad("not two metrics".into())),
    }
}

/// Summarises and prints a sweep (the end of `sweep`, and of `merge` for sweep shards).
pub fn finish(
    experiment: &Experiment,
    labels: Vec<Vec<String>>,
    table: &[Vec<RunResult>],
    outputs: &SweepOutputs<'_>,
) -> Result<(), Failure> {
    let Experiment::Sweep {
        scenario,
        params,
        seeds,
        pareto,
        ..
    } = experiment
    else {
        unreachable!("sweep::finish is called with a sweep");
    };
    let paths: Vec<String> = params
        .iter()
        .map(|p| parse_param(p).map(|p| p.text))
        .collect::<Result<_, _>>()?;
    let readings: Vec<Vec<Vec<_>>> = table
        .iter()
        .map(|row| row.iter().map(|r| r.readings.clone()).collect())
        .collect();
    let names: Vec<String> = labels.iter().map(|l| l.join(", ")).collect();
    let cut: Vec<String> = mxsim_core::experiment::cut_runs(&names, seeds, table)
        .iter()
        .map(|r| r.describe())
        .collect();
    let mut sweep = summarise(paths, labels, seeds.clone(), &readings);
    if let Some(p) = pareto {
        let (a, b) = parse_pareto(p)?;
        mark_pareto(&mut sweep, &a.name(), &b.name()).map_err(|m| {
            Failure::Input(format!(
                "error: --pareto {p}: {m}\n  help: pick two metrics, e.g. delay_p95,attempts_per_message"
            ))
        })?;
    }
    match outputs.output {
        CheckOutput::Json => {
            let mut v = serde_json::to_value(&sweep).expect("sweeps serialise");
            v["cut_runs"] = serde_json::to_value(&cut).expect("strings serialise");
            emit(&(serde_json::to_string_pretty(&v).expect("JSON prints") + "\n"))
        }
        CheckOutput::Csv => emit(&csv_text(&csv_rows(&sweep))),
        CheckOutput::Text => {
            emit(&render::cut_runs(&cut));
            emit(&render::sweep(scenario, &sweep));
        }
    }
    if let Some(dir) = outputs.plot {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Input(format!("error: cannot create {}: {e}", dir.display())))?;
        for p in plot::sweep_plots(dir, scenario, &sweep)? {
            eprintln!("wrote {}", p.display());
        }
    }
    match inconclusive("the sweep is", &cut, outputs.allow_cut) {
        Some(why) => Err(Failure::Inconclusive(why)),
        None => Ok(()),
    }
}

/// One CSV row per cell and metric: the parameter values, the mean and its interval.
pub fn csv_rows(s: &Sweep) -> Vec<Vec<String>> {
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    let mut header: Vec<String> = s.params.clone();
    header.extend(
        [
            "metric",
            "mean",
            "low",
            "high",
            "undefined_runs",
            "pareto",
            "environment",
        ]
        .iter()
        .map(|h| h.to_string()),
    );
    let mut rows = vec![header];
    for c in &s.cells {
        for m in &c.metrics {
            let mut row = c.values.clone();
            row.extend([
                m.metric.clone(),
                opt(m.mean),
                opt(m.interval.map(|i| i.low)),
                opt(m.interval.map(|i| i.high)),
                m.undefined.to_string(),
                c.pareto.map_or(String::new(), |p| p.to_string()),
                c.environment.to_string(),
            ]);
            rows.push(row);
        }
    }
    rows
}
