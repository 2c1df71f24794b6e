//! `mxsim check`: runs scenarios and evaluates their `[expect]` bounds (on one seed, or on
//! the mean over `[expect] seeds`), as text, JSON, CSV or JUnit XML.

use crate::{csv_text, emit, junit, load_with_preset, render, Failure};
use mxsim_core::scenario::Scenario;
use mxsim_core::Simulation;
use std::path::{Path, PathBuf};

/// How `check` prints its verdicts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CheckOutput {
    Text,
    Json,
    Csv,
}

impl CheckOutput {
    pub fn of(json: bool, csv: bool) -> Self {
        match (json, csv) {
            (true, _) => CheckOutput::Json,
            (_, true) => CheckOutput::Csv,
            _ => CheckOutput::Text,
        }
    }
}

pub fn check(
    paths: &[PathBuf],
    seed: Option<u64>,
    preset: Option<&str>,
    sets: &[String],
    output: CheckOutput,
    junit_path: Option<&Path>,
    allow_cut: bool,
) -> Result<(), Failure> {
    let mut all_pass = true;
    let mut not_judged = Vec::new();
    let mut json_out = Vec::new();
    let mut suites = Vec::new();
    let mut csv_rows = vec![vec![
        "scenario".to_string(),
        "seed".into(),
        "bound".into(),
        "value".into(),
        "min".into(),
        "max".into(),
        "margin".into(),
        "pass".into(),
        "inconclusive".into(),
    ]];
    let mut invalid = Vec::new();
    for path in paths {
        // An invalid scenario does not stop the others: its problems are reported at the end
        // (exit 2), and JUnit gets an error case for it.
        let scenario = match load_with_preset(path, seed, preset, sets) {
            Ok(s) => s,
            Err(Failure::Input(message)) => {
                suites.push(junit::Suite::invalid(
                    path.display().to_string(),
                    message.clone(),
                ));
                invalid.push(message);
                continue;
            }
            Err(other) => return Err(other),
        };
        let started = std::time::Instant::now();
        let (report, verdicts, cut) = match scenario.expect_seeds {
            None => {
                let report = checked_run(scenario.clone());
                let verdicts = mxsim_core::check(&scenario, &report);
                let cut = cut_lines(std::slice::from_ref(&report));
                (report, verdicts, cut)
            }
            Some(n) => {
                // The bounds apply to the mean over n seeds: the scenario's and the ones after.
                use rayon::prelude::*;
                let reports: Vec<mxsim_core::Report> = (0..u64::from(n))
                    .into_par_iter()
                    .map(|i| {
                        let mut s = scenario.clone();
                        s.seed = scenario.seed.wrapping_add(i) & (i64::MAX as u64);
                        checked_run(s)
                    })
                    .collect();
                let verdicts = mxsim_core::check_over_seeds(&scenario, &reports);
                let cut = cut_lines(&reports);
                let first = reports.into_iter().next().expect("at least two seeds");
                (first, verdicts, cut)
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let name = path.display().to_string();
        let blocked =
            crate::experiment::inconclusive(&format!("the bounds of {name} are"), &cut, allow_cut);
        let pass = verdicts.iter().all(|v| v.pass);
        if let Some(why) = &blocked {
            not_judged.push(why.clone());
        } else {
            all_pass &= pass;
        }
        suites.push(junit::Suite {
            name: name.clone(),
            seed: scenario.seed,
            digest: report.digest.clone(),
            seconds,
            verdicts: verdicts.clone(),
            inconclusive: blocked.clone(),
        });
        match output {
            CheckOutput::Json => json_out.push(serde_json::json!({
                "scenario": name,
                "seed": scenario.seed,
                "digest": report.digest,
                "pass": pass && blocked.is_none(),
                "cut": report.cut,
                "cut_runs": cut,
                "inconclusive": blocked,
                "verdicts": verdicts,
            })),
            CheckOutput::Csv => {
                let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
                for v in &verdicts {
                    csv_rows.push(vec![
                        name.clone(),
                        scenario.seed.to_string(),
                        v.name.clone(),
                        opt(v.value),
                        opt(v.min),
                        opt(v.max),
                        opt(v.margin),
                        (v.pass && blocked.is_none()).to_string(),
                        blocked.clone().unwrap_or_default(),
                    ]);
                }
            }
            CheckOutput::Text => emit(&render::verdicts(
                &name,
                &render::replay_flags(preset, sets),
                &scenario,
                &report,
                &verdicts,
                &cut,
                blocked.is_none(),
            )),
        }
    }
    match output {
        CheckOutput::Json => {
            emit(&(serde_json::to_string_pretty(&json_out).expect("verdicts serialise") + "\n"))
        }
        CheckOutput::Csv => emit(&csv_text(&csv_rows)),
        CheckOutput::Text => {}
    }
    if let Some(file) = junit_path {
        std::fs::write(file, junit::xml(&suites))
            .map_err(|e| Failure::Input(format!("error: cannot write {}: {e}", file.display())))?;
    }
    if !invalid.is_empty() {
        Err(Failure::Input(invalid.join("\n\n")))
    } else if !not_judged.is_empty() {
        Err(Failure::Inconclusive(not_judged.join("\n")))
    } else if all_pass {
        Ok(())
    } else {
        Err(Failure::Check)
    }
}

/// The cut runs among `reports` (seeds in order), as "seed N: run cut by …".
fn cut_lines(reports: &[mxsim_core::Report]) -> Vec<String> {
    reports
        .iter()
        .filter_map(|r| r.cut.map(|c| format!("seed {}: {}", r.seed, c.describe())))
        .collect()
}

/// Runs `scenario` for `check`, observing it in detail when a bound reads the analysis.
fn checked_run(scenario: Scenario) -> mxsim_core::Report {
    let analysis = scenario.expects_analysis();
    let mut sim = Simulation::new(scenario);
    if analysis {
        // A `culprit` bound reads the failure analysis.
        sim.observe(None);
    }
    sim.run();
    sim.report()
}
