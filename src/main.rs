//! `mxsim`: the command-line front end. Glue only: parse arguments, read files, call
//! `mxsim-core`, render tables or JSON. No model logic lives here. This file holds dispatch
//! and the small commands; the argument definitions are in `args`; the larger commands have a
//! module each (`run`, `check`, `compare`, `sweep`, `trace`), with `experiment` (parallel runs
//! with progress) and `shard` (`--shard K/N` files and `merge`); `exit` the exit status and
//! stdout (a write error never changes a verdict); outputs too (`render`,
//! `export`, `junit`, `plot`).
//!
//! Exit codes: 0 success; 1 an `[expect]` bound failed (`check`) or a gate failed
//! (`compare`, `merge`), whatever happened to stdout; 2 no verdict could be given: invalid
//! input or usage, a run cut by a limit (`events_max`, `messages_max`) without
//! `--allow-cut`, or output that could not be written (the message goes to stderr); 3 an
//! internal error (a bug: a panic, reported with a request to send the scenario and seed).
//! A closed stdout pipe (`mxsim check … | head`) is not an error after a passing verdict.

mod args;
mod check;
mod compare;
mod exit;
mod experiment;
mod export;
mod junit;
mod plot;
mod render;
mod run;
mod shard;
mod sweep;
mod trace;

use args::{Cli, Command};
use clap::Parser;
use exit::{emit, exit_status};
use mxsim_core::scenario::{self, Scenario};
use mxsim_core::{smtp, Simulation};
use std::io;
use std::panic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How a command failed.
enum Failure {
    /// Bad input: exit 2.
    Input(String),
    /// A check failed: exit 1 (already printed).
    Check,
    /// No verdict: a bound or gate would judge a run cut by a limit. Exit 2, with this
    /// message ("inconclusive: run cut by events_max at 5h27m …").
    Inconclusive(String),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    panic::set_hook(Box::new(|info| {
        eprintln!("mxsim: internal error: {info}");
        eprintln!("this is a bug in mxsim; please report it with the scenario and seed");
    }));
    ExitCode::from(exit_status(|| dispatch(cli)))
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Run {
            scenario,
            seed,
            json,
            preset,
            sets,
            trace,
            trace_limit,
            analyze,
            every,
            csv,
            plot,
        } => run::run(
            &scenario,
            seed,
            preset.as_deref(),
            &sets,
            &run::RunOutputs {
                json,
                trace: trace.as_deref(),
                trace_limit: &trace_limit,
                analyze,
                every: every.as_deref(),
                csv: csv.as_deref(),
                plot: plot.as_deref(),
            },
        ),
        Command::Validate { scenarios } => validate(&scenarios),
        Command::Explain { code, json } => explain(&code, json),
        Command::Check {
            scenarios,
            seed,
            preset,
            sets,
            json,
            csv,
            junit,
            allow_cut,
        } => check::check(
            &scenarios,
            seed,
            preset.as_deref(),
            &sets,
            check::CheckOutput::of(json, csv),
            junit.as_deref(),
            allow_cut,
        ),
        Command::Compare {
            scenario,
            policies,
            sets,
            seeds,
            threads,
            json,
            csv,
            metrics,
            gates,
            junit,
            precision,
            max_seeds,
            plot,
            shard,
            allow_cut,
        } => compare::command(
            &compare::CompareArgs {
                path: &scenario,
                policies: &policies,
                sets: &sets,
                metrics: &metrics,
                seeds,
                threads: threads.map(usize::from),
                shard: parse_shard(shard.as_deref())?,
            },
            &compare::CompareOutputs {
                output: check::CheckOutput::of(json, csv),
                allow_cut,
                junit: junit.as_deref(),
                plot: plot.as_deref(),
            },
            &gates,
            precision
                .map(|p| {
                    if seeds > max_seeds {
                        return Err(Failure::Input(format!(
                            "error: --seeds {seeds} is above --max-seeds {max_seeds}\n  help: --precision starts from --seeds and doubles up to --max-seeds; raise --max-seeds or lower --seeds"
                        )));
                    }
                    compare::parse_precision(&p).map(|share| compare::Precision { share, max_seeds })
                })
                .transpose()?,
        ),
        Command::Sweep {
            scenario,
            params,
            sets,
            seeds,
            threads,
            metrics,
            pareto,
            json,
            csv,
            plot,
            shard,
            allow_cut,
        } => sweep::command(
            &sweep::SweepArgs {
                path: &scenario,
                params: &params,
                sets: &sets,
                metrics: &metrics,
                seeds,
                threads: threads.map(usize::from),
                shard: parse_shard(shard.as_deref())?,
                pareto: pareto.as_deref(),
            },
            &sweep::SweepOutputs {
                output: check::CheckOutput::of(json, csv),
                plot: plot.as_deref(),
                allow_cut,
            },
        ),
        Command::Merge {
            files,
            json,
            csv,
            plot,
            junit,
            allow_cut,
        } => merge(
            &files,
            check::CheckOutput::of(json, csv),
            plot.as_deref(),
            junit.as_deref(),
            allow_cut,
        ),
        Command::Trace {
            scenario,
            seed,
            preset,
            sets,
            messages,
            worst,
            code,
            host,
            outcome,
            limit,
            json,
            csv,
        } => trace::command(
            &trace::TraceArgs {
                path: &scenario,
                seed,
                preset: preset.as_deref(),
                sets: &sets,
                messages: &messages,
                worst: worst.map(|k| k as usize),
                limit: limit as usize,
                code: code.as_deref(),
                host: host.as_deref(),
                outcome: outcome.as_deref(),
            },
            json,
            csv,
        ),
        Command::Bench {
            scenario,
            runs,
            observe,
            json,
        } => bench(&scenario, runs.max(1), observe, json),
        Command::Schedule {
            policy,
            code,
            seed,
            json,
        } => schedule(&policy, &code, seed, json),
        Command::ExplainPolicy {
            scenario,
            domain,
            sets,
            json,
        } => {
            let s = load_with_preset(&scenario, None, None, &sets)?;
            let e = s.explain_shaping(&domain).map_err(|m| Failure::Input(format!("error: {m}")))?;
            if json {
                emit(&(serde_json::to_string_pretty(&e).expect("explanations serialise") + "\n"));
            } else {
                emit(&render::shaping(&e));
            }
            Ok(())
        }
        Command::Metrics { json } => {
            let all = mxsim_core::metric::FAMILIES;
            if json {
                emit(&(serde_json::to_string_pretty(all).expect("the registry serialises") + "\n"));
            } else {
                emit(&render::metrics(all));
            }
            Ok(())
        }
        Command::Presets { json } => {
            let all = mxsim_core::policy::presets();
            if json {
                emit(&(serde_json::to_string_pretty(&all).expect("presets serialise") + "\n"));
            } else {
                emit(&render::presets(&all));
            }
            Ok(())
        }
    }
}

fn load(path: &Path, seed: Option<u64>) -> Result<Scenario, Failure> {
    let name = path.display().to_string();
    let text = read_scenario_text(path)?;
    scenario::load_with_seed(&text, &name, seed).map_err(|d| Failure::Input(d.to_string()))
}

/// Loads a scenario with a preset's retry policy (if asked) and `--set` edits, validated by
/// the normal loader after the edits.
fn load_with_preset(
    path: &Path,
    seed: Option<u64>,
    preset: Option<&str>,
    sets: &[String],
) -> Result<Scenario, Failure> {
    if let Some(name) = preset {
        if mxsim_core::policy::preset(name).is_none() {
            return Err(Failure::Input(format!(
                "error: unknown preset \"{name}\"\n  help: {}",
                mxsim_core::policy::unknown_preset_help(name)
            )));
        }
    }
    let edits = compare::parse_sets(sets)?;
    let text = read_scenario_text(path)?;
    let file = path.display().to_string();
    let mut scenario =
        scenario::load_edited(&text, &file, preset, &edits).map_err(|e| match e {
            scenario::EditError::Invalid(d) if edits.is_empty() => Failure::Input(d.to_string()),
            e => compare::edit_failure("--set", e),
        })?;
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    Ok(scenario)
}

/// Largest scenario file read, checked before the file is read into memory (core's limit).
const SCENARIO_BYTES_MAX: u64 = mxsim_core::scenario::tree::TEXT_BYTES_MAX as u64;

/// Reads a scenario file's text: at most [`SCENARIO_BYTES_MAX`] bytes of UTF-8 (invalid
/// UTF-8 is reported as a diagnostic at its line and column), without a leading byte-order
/// mark.
fn read_scenario_text(path: &Path) -> Result<String, Failure> {
    let name = mxsim_core::diagnostic::printable(&path.display().to_string());
    let cannot = |e: io::Error| Failure::Input(format!("error: cannot read {name}: {e}"));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    io::Read::read_to_end(
        &mut io::Read::take(file, SCENARIO_BYTES_MAX + 1),
        &mut bytes,
    )
    .map_err(cannot)?;
    if bytes.len() as u64 > SCENARIO_BYTES_MAX {
        return Err(Failure::Input(format!(
            "error: {name} is larger than {} MiB\n  help: a scenario describes hosts and policies, not data; generate large workloads with arrival processes",
            SCENARIO_BYTES_MAX >> 20
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let (line, column) = mxsim_core::diagnostic::line_column(valid, at);
        Failure::Input(format!(
            "error: not UTF-8 text: byte 0x{:02x} at offset {at}\n  --> {name}:{line}:{column}\n  help: save the scenario as UTF-8",
            bytes[at]
        ))
    })?;
    // A byte-order mark (Windows editors write one) is not part of the scenario.
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Parses `--shard K/N`.
fn parse_shard(text: Option<&str>) -> Result<Option<mxsim_core::experiment::Shard>, Failure> {
    text.map(|t| {
        mxsim_core::experiment::Shard::parse(t).map_err(|m| {
            Failure::Input(format!(
                "error: --shard {t}: {m}\n  help: map your batch system's task index to K, e.g. --shard $((SLURM_ARRAY_TASK_ID+1))/$SLURM_ARRAY_TASK_COUNT"
            ))
        })
    })
    .transpose()
}

/// `mxsim merge`: shard files back into the output of the unsharded compare or sweep.
fn merge(
    files: &[PathBuf],
    output: check::CheckOutput,
    plot: Option<&Path>,
    junit: Option<&Path>,
    allow_cut: bool,
) -> Result<(), Failure> {
    let m = shard::merge(files)?;
    match &m.experiment {
        shard::Experiment::Compare {
            scenario,
            policies,
            seeds,
            gates,
            ..
        } => compare::finish(
            scenario,
            policies,
            seeds,
            &m.table,
            gates,
            None,
            &compare::CompareOutputs {
                output,
                allow_cut,
                junit,
                plot,
            },
        ),
        shard::Experiment::Sweep { .. } => {
            if junit.is_some() {
                return Err(Failure::Input(
                    "error: --junit: a sweep has no gates; JUnit output is for compare gates"
                        .into(),
                ));
            }
            sweep::finish(
                &m.experiment,
                m.variants,
                &m.table,
                &sweep::SweepOutputs {
                    output,
                    plot,
                    allow_cut,
                },
            )
        }
    }
}

fn schedule(policy: &str, code: &str, seed: Option<u64>, json: bool) -> Result<(), Failure> {
    use mxsim_core::smtp::{lookup, EnhancedCode, Reply};
    let (name, retry) = match mxsim_core::policy::preset(policy) {
        Some(p) => (p.name.to_string(), p.policy),
        None if Path::new(policy).exists() => (
            policy.to_string(),
            load(Path::new(policy), None)?.policy.retry,
        ),
        None => {
            return Err(Failure::Input(format!(
                "error: \"{policy}\" is neither a preset nor a scenario file\n  help: {}",
                mxsim_core::policy::unknown_preset_help(policy)
            )));
        }
    };
    let enhanced = EnhancedCode::parse(code).map_err(|m| Failure::Input(format!("error: {m}")))?;
    if !enhanced.is_transient() {
        return Err(Failure::Input(format!(
            "error: {code} is not a transient failure; only 4.x.x codes are retried\n  help: try --code 4.4.3"
        )));
    }
    let basic = lookup(enhanced)
        .and_then(|i| i.basic.iter().copied().find(|b| b / 100 == 4))
        .unwrap_or(451);
    let t = mxsim_core::policy::timeline::timeline(&retry, Reply::new(basic, enhanced), seed);
    if json {
        let mut v = serde_json::to_value(&t).expect("timelines serialise");
        v["policy"] = serde_json::Value::String(name);
        emit(&(serde_json::to_string_pretty(&v).expect("timelines serialise") + "\n"));
    } else {
        emit(&render::timeline(&name, &retry, &t));
    }
    Ok(())
}

fn bench(path: &Path, runs: u32, observe: bool, json: bool) -> Result<(), Failure> {
    let scenario = load(path, None)?;
    let once = || {
        let started = std::time::Instant::now();
        let mut sim = Simulation::new(scenario.clone());
        if observe {
            sim.observe(None);
        }
        sim.run();
        (
            started.elapsed().as_secs_f64(),
            sim.events(),
            sim.report().outcomes.generated,
        )
    };
    let (_, events, messages) = once();
    let mut times: Vec<f64> = (0..runs).map(|_| once().0).collect();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let result = serde_json::json!({
        "scenario": path.display().to_string(),
        "runs": runs,
        "observed": observe,
        "events": events,
        "messages": messages,
        "median_seconds": median,
        "events_per_second": events as f64 / median,
        "microseconds_per_message": median * 1e6 / messages.max(1) as f64,
    });
    if json {
        emit(&(serde_json::to_string_pretty(&result).expect("numbers serialise") + "\n"));
    } else {
        emit(&format!(
            "{}{}: {events} events, {messages} messages; median of {runs} runs {:.1} ms = {:.2} M events/s, {:.2} µs per message\n",
            path.display(),
            if observe { " (observed)" } else { "" },
            median * 1e3,
            events as f64 / median / 1e6,
            median * 1e6 / messages.max(1) as f64
        ));
    }
    Ok(())
}

fn validate(paths: &[PathBuf]) -> Result<(), Failure> {
    let mut problems = Vec::new();
    for path in paths {
        match load(path, None) {
            Ok(s) => emit(&format!(
                "ok: {} ({} hosts, {} links, {} domains, {} expectations)\n",
                path.display(),
                s.hosts.len(),
                s.links.len(),
                s.domains.len(),
                s.expect.len()
            )),
            Err(Failure::Input(m)) => problems.push(m),
            Err(Failure::Check | Failure::Inconclusive(_)) => unreachable!("loading never judges"),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Input(problems.join("\n\n")))
    }
}

fn explain(code: &str, json: bool) -> Result<(), Failure> {
    let e = smtp::explain(code).map_err(|m| Failure::Input(format!("error: {m}\n  help: enhanced status codes look like 4.4.3 (class.subject.detail, class 2, 4 or 5)")))?;
    if json {
        emit(&(serde_json::to_string_pretty(&e).expect("explanations serialise") + "\n"));
    } else {
        emit(&render::explanation(&e));
    }
    Ok(())
}

/// Rows as CSV text (quoted where needed).
fn csv_text(rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(row)
            .expect("writing CSV to memory cannot fail");
    }
    String::from_utf8(w.into_inner().expect("flushing to memory cannot fail"))
        .expect("CSV of UTF-8 strings is UTF-8")
}
