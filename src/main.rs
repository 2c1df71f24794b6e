//! `mxsim`: the command-line front end. Glue only: parse arguments, read files, call
//! `mxsim-core`, render tables or JSON. No model logic lives here.
//!
//! Exit codes: 0 success; 1 an `[expect]` bound failed (`check`) or an internal error;
//! 2 invalid input or usage (the message goes to stderr).

mod render;

use clap::{Parser, Subcommand};
use mxsim_core::scenario::{self, Scenario};
use mxsim_core::{smtp, Simulation};
use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Deterministic simulator of SMTP delivery, retries and routing over MX topologies.
#[derive(Parser)]
#[command(name = "mxsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and print its report.
    Run {
        /// Scenario file (TOML, or JSON with a .json name).
        scenario: PathBuf,
        /// Seed to use instead of the scenario's `seed`.
        #[arg(long)]
        seed: Option<u64>,
        /// Print the report as JSON (stable fields, see docs/json.md).
        #[arg(long)]
        json: bool,
        /// Replace the scenario's retry policy with a built-in preset (see `mxsim presets`).
        #[arg(long)]
        preset: Option<String>,
        /// Also write every trace record to this file as JSON Lines.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
    },
    /// Validate scenarios without running them; lists every problem.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Explain an enhanced status code (e.g. 4.4.3): meaning, neighbours, what to do.
    Explain {
        /// The code, class.subject.detail.
        code: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the retry timeline a message would follow if every attempt failed.
    Schedule {
        /// A preset name (postfix, exim, kumomta, ...) or a scenario file (its policy).
        policy: String,
        /// The failure each attempt gets, to see `on_code` rules apply.
        #[arg(long, default_value = "4.4.1")]
        code: String,
        /// Show one jitter sample drawn with this seed (default: seed 0) besides the bounds.
        #[arg(long)]
        seed: Option<u64>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the built-in retry presets.
    Presets {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Time a scenario's run in this process: events per second, time per message.
    Bench {
        /// Scenario file.
        scenario: PathBuf,
        /// Timed runs after one warm-up run.
        #[arg(long, default_value_t = 10)]
        runs: u32,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run scenarios and check their [expect] bounds; exits 1 if any bound fails.
    Check {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Seed to use instead of each scenario's `seed`.
        #[arg(long)]
        seed: Option<u64>,
        /// Replace each scenario's retry policy with a built-in preset.
        #[arg(long)]
        preset: Option<String>,
        /// Print verdicts as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How a command failed.
enum Failure {
    /// Bad input: exit 2.
    Input(String),
    /// A check failed: exit 1 (already printed).
    Check,
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
    let result = panic::catch_unwind(AssertUnwindSafe(|| dispatch(cli)));
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(Failure::Input(message))) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
        Ok(Err(Failure::Check)) => ExitCode::from(1),
        Err(_) => ExitCode::from(1),
    }
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Run {
            scenario,
            seed,
            json,
            preset,
            trace,
        } => run(&scenario, seed, preset.as_deref(), json, trace.as_deref()),
        Command::Validate { scenarios } => validate(&scenarios),
        Command::Explain { code, json } => explain(&code, json),
        Command::Check {
            scenarios,
            seed,
            preset,
            json,
        } => check(&scenarios, seed, preset.as_deref(), json),
        Command::Bench {
            scenario,
            runs,
            json,
        } => bench(&scenario, runs.max(1), json),
        Command::Schedule {
            policy,
            code,
            seed,
            json,
        } => schedule(&policy, &code, seed, json),
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
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Input(format!("error: cannot read {name}: {e}")))?;
    scenario::load_with_seed(&text, &name, seed).map_err(|d| Failure::Input(d.to_string()))
}

/// Writes to stdout; a closed pipe (`mxsim run … | head`) ends quietly.
fn emit(text: &str) {
    let mut out = io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// Loads a scenario and, if asked, swaps in a preset's retry policy.
fn load_with_preset(
    path: &Path,
    seed: Option<u64>,
    preset: Option<&str>,
) -> Result<Scenario, Failure> {
    let mut scenario = load(path, seed)?;
    if let Some(name) = preset {
        let Some(p) = mxsim_core::policy::preset(name) else {
            return Err(Failure::Input(format!(
                "error: unknown preset \"{name}\"\n  help: {}",
                mxsim_core::policy::unknown_preset_help(name)
            )));
        };
        scenario.policy.retry = p.policy;
    }
    Ok(scenario)
}

fn run(
    path: &Path,
    seed: Option<u64>,
    preset: Option<&str>,
    json: bool,
    trace: Option<&Path>,
) -> Result<(), Failure> {
    let scenario = load_with_preset(path, seed, preset)?;
    let mut sim = Simulation::new(scenario);
    if trace.is_some() {
        sim.record_trace();
    }
    sim.run();
    let report = sim.report();
    if let Some(trace_path) = trace {
        let mut lines = String::new();
        for record in sim.trace() {
            lines.push_str(&serde_json::to_string(record).expect("trace records serialise"));
            lines.push('\n');
        }
        std::fs::write(trace_path, lines).map_err(|e| {
            Failure::Input(format!("error: cannot write {}: {e}", trace_path.display()))
        })?;
    }
    if json {
        emit(&(serde_json::to_string_pretty(&report).expect("reports serialise") + "\n"));
    } else {
        emit(&render::report(
            &path.display().to_string(),
            sim.scenario(),
            &report,
        ));
    }
    Ok(())
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

fn bench(path: &Path, runs: u32, json: bool) -> Result<(), Failure> {
    let scenario = load(path, None)?;
    let once = || {
        let started = std::time::Instant::now();
        let mut sim = Simulation::new(scenario.clone());
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
            "{}: {events} events, {messages} messages; median of {runs} runs {:.1} ms = {:.2} M events/s, {:.2} µs per message\n",
            path.display(),
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
            Err(Failure::Check) => unreachable!("loading never checks"),
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

fn check(
    paths: &[PathBuf],
    seed: Option<u64>,
    preset: Option<&str>,
    json: bool,
) -> Result<(), Failure> {
    let mut all_pass = true;
    let mut json_out = Vec::new();
    for path in paths {
        let scenario = load_with_preset(path, seed, preset)?;
        let report = mxsim_core::run(scenario.clone());
        let verdicts = mxsim_core::check(&scenario, &report);
        let pass = verdicts.iter().all(|v| v.pass);
        all_pass &= pass;
        if json {
            json_out.push(serde_json::json!({
                "scenario": path.display().to_string(),
                "seed": scenario.seed,
                "digest": report.digest,
                "pass": pass,
                "verdicts": verdicts,
            }));
        } else {
            emit(&render::verdicts(
                &path.display().to_string(),
                preset,
                &scenario,
                &report,
                &verdicts,
            ));
        }
    }
    if json {
        emit(&(serde_json::to_string_pretty(&json_out).expect("verdicts serialise") + "\n"));
    }
    if all_pass {
        Ok(())
    } else {
        Err(Failure::Check)
    }
}
