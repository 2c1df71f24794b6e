//! `mxsim compare`: several policies on the same seeds, with 95% intervals and paired
//! differences (statistics in core: `mxsim_core::compare`, `mxsim_core::stats`).
//!
//! Runs are spread over threads (rayon); each run is a pure function of (scenario, policy,
//! seed) and results are put back in (policy, seed) order, so the output does not depend on
//! the thread count or on scheduling.

use crate::check::CheckOutput;
use crate::experiment::{inconclusive, metrics_checked, pool, run_jobs};
use crate::shard::{emit_shard, shard_jobs, text_hash, Experiment, JobResult, ShardFile};
use crate::{csv_text, emit, junit, plot, read_scenario_text, render, Failure};
use mxsim_core::compare::{precision_of, Comparison, PrecisionOutcome};
use mxsim_core::experiment::{seeds_from, RunResult, Shard};
use mxsim_core::metric::Metric;
use mxsim_core::scenario::{load_edited, Edit, EditError, Scenario};
use std::path::Path;

/// What `mxsim compare` was asked.
pub struct CompareArgs<'a> {
    pub path: &'a Path,
    pub policies: &'a [String],
    pub sets: &'a [String],
    /// `--metric`: metrics beyond the default table.
    pub metrics: &'a [String],
    pub seeds: u32,
    pub threads: Option<usize>,
    pub shard: Option<Shard>,
}

/// Where `compare` (and `merge` of compare shards) writes its results.
pub struct CompareOutputs<'a> {
    pub output: CheckOutput,
    /// Judge runs cut by a limit as they are (`--allow-cut`).
    pub allow_cut: bool,
    pub junit: Option<&'a Path>,
    pub plot: Option<&'a Path>,
}

/// A `--policy` spec: `NAME` (a preset, a named policy of the scenario, or `scenario`),
/// `NAME:PATH=VALUE[,PATH=VALUE…]` (that policy with overrides), or `PATH=VALUE[,…]` (the
/// scenario's own policy with overrides).
pub fn parse_policy_spec(text: &str) -> Result<(String, Vec<Edit>), Failure> {
    mxsim_core::scenario::edit::parse_policy_spec(text).map_err(|m| {
        Failure::Input(format!(
            "error: --policy {text}: {m}\n  help: a policy is NAME, NAME:PATH=VALUE[,PATH=VALUE] or PATH=VALUE, e.g. --policy 'scenario:policy.on_code.\"4.4.3\"={{ fixed = \"1h\" }}'"
        ))
    })
}

/// Parses `--set` edits.
pub fn parse_sets(sets: &[String]) -> Result<Vec<Edit>, Failure> {
    sets.iter()
        .map(|s| {
            Edit::parse(s).map_err(|m| {
                Failure::Input(format!(
                    "error: --set {s}: {m}\n  help: e.g. --set policy.retry.fixed=1h or --set 'hosts[relay-a].failure.markov.mean_down=30m'"
                ))
            })
        })
        .collect()
}

/// The message for an edited scenario that does not load, naming what was asked.
pub fn edit_failure(what: &str, e: EditError) -> Failure {
    match e {
        EditError::Edit(m) => Failure::Input(format!("error: {what}: {m}")),
        EditError::Invalid(d) => {
            Failure::Input(format!("{what}: the edited scenario is invalid\n{d}"))
        }
    }
}

/// The scenario for each policy spec: the chosen policy, then `--set`, then its own edits.
fn variants(
    text: &str,
    file: &str,
    policies: &[String],
    sets: &[Edit],
) -> Result<Vec<Scenario>, Failure> {
    policies
        .iter()
        .map(|spec| {
            let (name, own) = parse_policy_spec(spec)?;
            let edits: Vec<Edit> = sets.iter().chain(&own).cloned().collect();
            load_edited(text, file, Some(&name), &edits)
                .map_err(|e| edit_failure(&format!("--policy {spec}"), e))
        })
        .collect()
}

/// `--precision`: keep adding seeds until every paired half-width is below `share` of the
/// baseline's mean, or `max_seeds` is reached.
#[derive(Clone, Copy, Debug)]
pub struct Precision {
    /// The target, as a share of the baseline's mean (5% is 0.05).
    pub share: f64,
    /// Most seeds to run per policy.
    pub max_seeds: u32,
}

/// Parses `5%` (or `0.05`) as a share in (0, 1).
pub fn parse_precision(text: &str) -> Result<f64, Failure> {
    let v = match text.strip_suffix('%') {
        Some(p) => p.parse::<f64>().map(|v| v / 100.0),
        None => text.parse::<f64>(),
    };
    match v {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(Failure::Input(format!(
            "error: --precision {text}: a share between 0 and 100%, e.g. 5%\n  help: the target half-width of every paired interval, relative to the baseline's mean"
        ))),
    }
}

/// Runs every policy on every seed; with `precision`, keeps doubling the seeds (in the same
/// deterministic order: the scenario's seed and the ones after it) until the target is met or
/// the maximum is reached. Returns the seeds and `table[policy][seed]`.
fn run_all(
    pool: &rayon::ThreadPool,
    labels: &[String],
    scenarios: &[Scenario],
    metrics: &[Metric],
    first_seed: u64,
    seeds: u32,
    precision: Option<Precision>,
) -> (Vec<u64>, Vec<Vec<RunResult>>, Option<PrecisionOutcome>) {
    let mut table: Vec<Vec<RunResult>> = vec![Vec::new(); scenarios.len()];
    let mut done = 0u64;
    let mut want = u64::from(seeds);
    loop {
        let new = seeds_from(first_seed.wrapping_add(done), want - done);
        let jobs: Vec<(usize, u64)> = (0..scenarios.len())
            .flat_map(|p| new.iter().map(move |&seed| (p, seed)))
            .collect();
        let results = run_jobs(pool, "compare", scenarios, metrics, &jobs);
        for (&(p, _), r) in jobs.iter().zip(results) {
            table[p].push(r);
        }
        done = want;
        let Some(target) = precision else {
            return (seeds_from(first_seed, done), table, None);
        };
        let c = comparison(labels, &seeds_from(first_seed, done), &table);
        let outcome = precision_of(&c, target.share);
        if outcome.reached || done >= u64::from(target.max_seeds) {
            return (seeds_from(first_seed, done), table, Some(outcome));
        }
        want = (want * 2).min(u64::from(target.max_seeds));
    }
}

/// The comparison of `table[policy][seed]`.
fn comparison(labels: &[String], seeds: &[u64], table: &[Vec<RunResult>]) -> Comparison {
    mxsim_core::experiment::compare_runs(labels.to_vec(), seeds.to_vec(), table)
}

/// One CSV row per metric and policy: its interval, its paired difference against the
/// baseline, and how many of the policy's runs a limit cut short; then one row per gate and
/// candidate (`metric` is `gate:<the gate>`, the difference its paired interval, `verdict` its
/// outcome, `gate_limit` the allowance in the metric's unit).
pub fn csv_rows(c: &Comparison, gates: &[mxsim_core::compare::GateVerdict]) -> Vec<Vec<String>> {
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    let mut rows = vec![[
        "metric",
        "policy",
        "mean",
        "low",
        "high",
        "diff_mean",
        "diff_low",
        "diff_high",
        "significant",
        "verdict",
        "unpaired_half_width",
        "cut_runs",
        "gate_limit",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()];
    for m in &c.metrics {
        for (k, (name, i)) in c.policies.iter().zip(&m.policies).enumerate() {
            let d = k.checked_sub(1).and_then(|j| m.differences[j].as_ref());
            rows.push(vec![
                m.metric.clone(),
                name.clone(),
                opt(i.map(|i| i.mean)),
                opt(i.map(|i| i.low)),
                opt(i.map(|i| i.high)),
                opt(d.map(|d| d.paired.mean)),
                opt(d.map(|d| d.paired.low)),
                opt(d.map(|d| d.paired.high)),
                d.map_or(String::new(), |d| d.significant.to_string()),
                d.map_or(String::new(), |d| d.verdict.name().to_string()),
                opt(d.map(|d| d.unpaired.half_width)),
                c.cut_runs
                    .iter()
                    .filter(|r| r.policy == *name)
                    .count()
                    .to_string(),
                String::new(),
            ]);
        }
    }
    for g in gates {
        let d = g.difference;
        let outcome = serde_json::to_value(g.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        rows.push(vec![
            format!("gate:{}", g.gate),
            g.policy.clone(),
            String::new(),
            String::new(),
            String::new(),
            opt(d.map(|d| d.mean)),
            opt(d.map(|d| d.low)),
            opt(d.map(|d| d.high)),
            String::new(),
            outcome,
            String::new(),
            c.cut_runs
                .iter()
                .filter(|r| r.policy == g.policy)
                .count()
                .to_string(),
            opt(g.limit),
        ]);
    }
    rows
}

/// Parses `--metric` names (any registry metric; the error lists them).
pub fn parse_metrics(names: &[String]) -> Result<Vec<Metric>, Failure> {
    names
        .iter()
        .map(|n| {
            Metric::parse(n).map_err(|m| {
                Failure::Input(format!(
                    "error: --metric {n}: {m}\n  help: `mxsim metrics` lists every metric with its unit and direction"
                ))
            })
        })
        .collect()
}

fn parse_gates(texts: &[String]) -> Result<Vec<mxsim_core::compare::Gate>, Failure> {
    texts
        .iter()
        .map(|g| {
            mxsim_core::compare::Gate::parse(g).map_err(|m| {
                Failure::Input(format!(
                    "error: --gate: {m}\n  help: e.g. --gate delay_censored_p95:+10% --gate delivered_ratio:-0.1% (`mxsim metrics` lists the gateable metrics)"
                ))
            })
        })
        .collect()
}

/// `mxsim compare`: runs, prints the comparison and the gates; exit 1 when a gate fails. With
/// `--shard K/N`, runs only that slice and prints it as a shard file for `mxsim merge`.
pub fn command(
    args: &CompareArgs<'_>,
    outputs: &CompareOutputs<'_>,
    gate_texts: &[String],
    precision: Option<Precision>,
) -> Result<(), Failure> {
    if args.policies.len() < 2 {
        return Err(Failure::Input(
            "error: compare needs at least two --policy\n  help: e.g. --policy postfix --policy exim (the first is the baseline)".into(),
        ));
    }
    if let Some(dup) = mxsim_core::compare::repeated_policy(args.policies) {
        return Err(Failure::Input(format!(
            "error: --policy {dup} is given twice\n  help: every policy is a column of the comparison, named by its spec; compare a policy with itself by editing one copy, e.g. --policy '{dup}:policy.queue_scan=5m'"
        )));
    }
    let gates = parse_gates(gate_texts)?;
    let sets = parse_sets(args.sets)?;
    let file = args.path.display().to_string();
    let text = read_scenario_text(args.path)?;
    let scenarios = variants(&text, &file, args.policies, &sets)?;
    let first_seed = scenarios[0].seed;
    let pool = pool(args.threads)?;
    let labels: Vec<String> = args.policies.to_vec();
    let asked = parse_metrics(args.metrics)?;
    metrics_checked("--metric", &labels, &scenarios, &asked)?;
    let gated: Vec<Metric> = gates.iter().map(|g| g.measures()).collect();
    metrics_checked("--gate", &labels, &scenarios, &gated)?;
    let metrics = metrics_checked("--metric", &labels, &scenarios, &[asked, gated].concat())?;
    if let Some(shard) = args.shard {
        if precision.is_some() {
            return Err(Failure::Input(
                "error: --precision adds seeds as results come in, which a fixed slice cannot do\n  help: use --seeds N with --shard".into(),
            ));
        }
        let seeds = seeds_from(first_seed, u64::from(args.seeds));
        let jobs = shard_jobs(shard, scenarios.len(), &seeds);
        let pairs: Vec<(usize, u64)> = jobs.iter().map(|&(_, p)| p).collect();
        let results = run_jobs(&pool, "compare", &scenarios, &metrics, &pairs);
        emit_shard(&ShardFile {
            format: crate::shard::FORMAT.into(),
            experiment: Experiment::Compare {
                scenario: file,
                policies: labels.clone(),
                sets: args.sets.to_vec(),
                seeds,
                gates: gate_texts.to_vec(),
                metrics: args.metrics.to_vec(),
            },
            scenario_hash: text_hash(&text),
            variants: labels.iter().map(|l| vec![l.clone()]).collect(),
            shard,
            jobs: scenarios.len() * args.seeds as usize,
            results: jobs
                .iter()
                .zip(results)
                .map(|(&(job, _), run)| JobResult { job, run })
                .collect(),
        });
        return Ok(());
    }
    let (seeds, table, precision) = run_all(
        &pool, &labels, &scenarios, &metrics, first_seed, args.seeds, precision,
    );
    finish(
        &file, &labels, &seeds, &table, gate_texts, precision, outputs,
    )
}

/// Prints a comparison of `table[policy][seed]` with its gates (the end of `compare`, and of
/// `merge` for compare shards); exit 1 when a gate fails.
pub fn finish(
    file: &str,
    labels: &[String],
    seeds: &[u64],
    table: &[Vec<RunResult>],
    gate_texts: &[String],
    precision: Option<PrecisionOutcome>,
    outputs: &CompareOutputs<'_>,
) -> Result<(), Failure> {
    use mxsim_core::compare::{check_gate, GateOutcome};
    let gates = parse_gates(gate_texts)?;
    let c = comparison(labels, seeds, table);
    let verdicts: Vec<_> = gates.iter().flat_map(|g| check_gate(&c, g)).collect();
    let cut: Vec<String> = c.cut_runs.iter().map(|r| r.describe()).collect();
    let blocked = inconclusive("the comparison is", &cut, outputs.allow_cut);
    match outputs.output {
        CheckOutput::Json => {
            let mut v = serde_json::to_value(&c).expect("comparisons serialise");
            v["gates"] = serde_json::to_value(&verdicts).expect("verdicts serialise");
            if let Some(p) = &precision {
                v["precision"] = serde_json::to_value(p).expect("outcomes serialise");
            }
            emit(&(serde_json::to_string_pretty(&v).expect("JSON prints") + "\n"));
        }
        CheckOutput::Csv => emit(&csv_text(&csv_rows(&c, &verdicts))),
        CheckOutput::Text => {
            emit(&render::cut_runs(&cut));
            emit(&render::comparison(file, &c));
            if let Some(p) = &precision {
                emit(&render::precision(p));
            }
            emit(&render::gates(&c, &verdicts));
        }
    }
    if let Some(path) = outputs.junit {
        std::fs::write(
            path,
            junit::gates_xml(file, &c, &verdicts, blocked.as_deref()),
        )
        .map_err(|e| Failure::Input(format!("error: cannot write {}: {e}", path.display())))?;
    }
    if let Some(dir) = outputs.plot {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Input(format!("error: cannot create {}: {e}", dir.display())))?;
        let cdfs: Vec<Vec<(f64, f64)>> = table
            .iter()
            .map(|row| mxsim_core::experiment::pooled_delay_cdf(&row.iter().collect::<Vec<_>>()))
            .collect();
        let written = plot::comparison_plots(dir, file, &c, &cdfs)?;
        for p in written {
            eprintln!("wrote {}", p.display());
        }
    }
    if let Some(why) = blocked {
        return Err(Failure::Inconclusive(why));
    }
    if verdicts.iter().any(|v| v.outcome == GateOutcome::Fail) {
        Err(Failure::Check)
    } else {
        Ok(())
    }
}
