//! `mxsim compare`: several policies on the same seeds, with 95% intervals and paired
//! differences (statistics in core: `mxsim_core::compare`, `mxsim_core::stats`).
//!
//! Runs are spread over threads (rayon); each run is a pure function of (scenario, policy,
//! seed) and results are put back in (policy, seed) order, so the output does not depend on
//! the thread count or on scheduling.

use crate::check::CheckOutput;
use crate::{csv_text, emit, junit, load, render, Failure};
use mxsim_core::compare::{compare, precision_of, Comparison, PrecisionOutcome};
use mxsim_core::scenario::Scenario;
use mxsim_core::Report;
use rayon::prelude::*;
use std::path::Path;

/// What `mxsim compare` was asked.
pub struct CompareArgs<'a> {
    pub path: &'a Path,
    pub policies: &'a [String],
    pub seeds: u32,
    pub threads: Option<usize>,
}

/// The scenario with policy `name`: a named policy of the scenario (`[policies.<name>]`),
/// `scenario` for the scenario's own `[policy]`, or a preset's retry policy put into it.
fn with_policy(base: &Scenario, name: &str) -> Result<Scenario, Failure> {
    let mut s = base.clone();
    if name == "scenario" {
        return Ok(s);
    }
    if let Some((_, p)) = base.policies.iter().find(|(n, _)| n == name) {
        s.policy = p.clone();
        return Ok(s);
    }
    if let Some(p) = mxsim_core::policy::preset(name) {
        s.policy.retry = p.policy;
        return Ok(s);
    }
    let named: Vec<&str> = base.policies.iter().map(|(n, _)| n.as_str()).collect();
    let presets: Vec<&str> = mxsim_core::policy::presets()
        .iter()
        .map(|p| p.name)
        .collect();
    let all: Vec<&str> = std::iter::once("scenario")
        .chain(named.iter().copied())
        .chain(presets.iter().copied())
        .collect();
    let near = mxsim_core::diagnostic::suggest(name, all.iter().copied());
    Err(Failure::Input(format!(
        "error: --policy {name}: not a named policy of the scenario nor a preset\n  help: {}policies: {}",
        near.map_or(String::new(), |n| format!("did you mean `{n}`? ")),
        all.join(", ")
    )))
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

/// Runs every policy on every seed and compares them; with `precision`, keeps doubling the
/// seeds (in the same deterministic order: the scenario's seed and the ones after it) until
/// the target is met or the maximum is reached.
pub fn run_compare(
    args: &CompareArgs<'_>,
    precision: Option<Precision>,
) -> Result<(Comparison, Option<PrecisionOutcome>), Failure> {
    if args.policies.len() < 2 {
        return Err(Failure::Input(
            "error: compare needs at least two --policy\n  help: e.g. --policy postfix --policy exim (the first is the baseline)".into(),
        ));
    }
    let base = load(args.path, None)?;
    let scenarios = args
        .policies
        .iter()
        .map(|name| with_policy(&base, name))
        .collect::<Result<Vec<_>, _>>()?;
    let seed_at = |i: u64| base.seed.wrapping_add(i) & (i64::MAX as u64);
    let pool = match args.threads {
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Failure::Input(format!("error: --threads {n}: {e}")))?,
        ),
        None => None,
    };
    let mut rows: Vec<Vec<Report>> = vec![Vec::new(); scenarios.len()];
    let mut seeds: Vec<u64> = Vec::new();
    let mut want = u64::from(args.seeds);
    loop {
        let new: Vec<u64> = (seeds.len() as u64..want).map(seed_at).collect();
        let jobs: Vec<(usize, u64)> = (0..scenarios.len())
            .flat_map(|p| new.iter().map(move |&seed| (p, seed)))
            .collect();
        let work = || -> Vec<Report> {
            jobs.par_iter()
                .map(|&(p, seed)| {
                    let mut s = scenarios[p].clone();
                    s.seed = seed;
                    mxsim_core::run(s)
                })
                .collect()
        };
        let reports = match &pool {
            Some(pool) => pool.install(work),
            None => work(),
        };
        // `collect` keeps the jobs' order: policy by policy, seed by seed.
        for (&(p, _), r) in jobs.iter().zip(reports) {
            rows[p].push(r);
        }
        seeds.extend(new);
        let c = compare(args.policies.to_vec(), seeds.clone(), &rows);
        let Some(target) = precision else {
            return Ok((c, None));
        };
        let outcome = precision_of(&c, target.share);
        if outcome.reached || seeds.len() as u64 >= u64::from(target.max_seeds) {
            return Ok((c, Some(outcome)));
        }
        want = (want * 2).min(u64::from(target.max_seeds));
    }
}

/// One CSV row per metric and policy: its interval, and its paired difference against the
/// baseline.
pub fn csv_rows(c: &Comparison) -> Vec<Vec<String>> {
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
        "unpaired_half_width",
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
                opt(d.map(|d| d.unpaired.half_width)),
            ]);
        }
    }
    rows
}

/// `mxsim compare`: runs, prints the comparison and the gates; exit 1 when a gate fails.
pub fn command(
    args: &CompareArgs<'_>,
    output: CheckOutput,
    gate_texts: &[String],
    junit_path: Option<&Path>,
    precision: Option<Precision>,
) -> Result<(), Failure> {
    use mxsim_core::compare::{check_gate, Gate, GateOutcome};
    let gates = gate_texts
        .iter()
        .map(|g| {
            Gate::parse(g).map_err(|m| {
                Failure::Input(format!(
                    "error: --gate: {m}\n  help: e.g. --gate delay_p95:+10% --gate delivered_ratio:-0.1%"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (c, precision) = run_compare(args, precision)?;
    let verdicts: Vec<_> = gates.iter().flat_map(|g| check_gate(&c, g)).collect();
    match output {
        CheckOutput::Json => {
            let mut v = serde_json::to_value(&c).expect("comparisons serialise");
            v["gates"] = serde_json::to_value(&verdicts).expect("verdicts serialise");
            if let Some(p) = &precision {
                v["precision"] = serde_json::to_value(p).expect("outcomes serialise");
            }
            emit(&(serde_json::to_string_pretty(&v).expect("JSON prints") + "\n"));
        }
        CheckOutput::Csv => emit(&csv_text(&csv_rows(&c))),
        CheckOutput::Text => {
            emit(&render::comparison(&args.path.display().to_string(), &c));
            if let Some(p) = &precision {
                emit(&render::precision(p));
            }
            emit(&render::gates(&c, &verdicts));
        }
    }
    if let Some(file) = junit_path {
        std::fs::write(
            file,
            junit::gates_xml(&args.path.display().to_string(), &c, &verdicts),
        )
        .map_err(|e| Failure::Input(format!("error: cannot write {}: {e}", file.display())))?;
    }
    if verdicts.iter().any(|v| v.outcome == GateOutcome::Fail) {
        Err(Failure::Check)
    } else {
        Ok(())
    }
}
