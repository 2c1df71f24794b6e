//! The command line's shape: every subcommand, its arguments and their help text, as clap
//! derives them. `main.rs` dispatches on [`Command`]; nothing here runs anything.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Deterministic simulator of SMTP delivery, retries and routing over MX topologies.
#[derive(Parser)]
#[command(name = "mxsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands, each with its arguments and their help text (what `mxsim help` prints).
#[derive(Subcommand)]
pub enum Command {
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
        /// Override a scenario field before validation: PATH=VALUE, e.g.
        /// policy.retry.fixed=1h or 'hosts[relay-a].failure.markov.mean_down=30m'. Repeatable.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Also write every trace record to this file as JSON Lines.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Most bytes --trace writes (e.g. 500MB, 8GiB): past it the run stops with an error
        /// naming the limit, instead of filling the disk.
        #[arg(long, value_name = "SIZE", default_value = "1GiB", requires = "trace")]
        trace_limit: String,
        /// Print the failure analysis and per-route metrics (which host or route is the
        /// problem, with which codes, and when).
        #[arg(long)]
        analyze: bool,
        /// Bucket width of the time series and merge gap of failure windows (default: the
        /// scenario's series_every), e.g. 10m.
        #[arg(long, value_name = "DURATION")]
        every: Option<String>,
        /// Write one CSV file per table (outcomes, hosts, links, routes, series,
        /// host_series) into this directory.
        #[arg(long, value_name = "DIR")]
        csv: Option<PathBuf>,
        /// Draw SVG pictures (delay distribution, outcomes, queue, per-host success rate over
        /// time) into this directory.
        #[arg(long, value_name = "DIR")]
        plot: Option<PathBuf>,
    },
    /// Follow messages hop by hop: arrival, each attempt's route and replies, which hop failed
    /// with which code, each wait and the rule that chose it, the end.
    Trace {
        /// Scenario file.
        scenario: PathBuf,
        /// Seed to use instead of the scenario's `seed`.
        #[arg(long)]
        seed: Option<u64>,
        /// Replace the scenario's retry policy with a built-in preset.
        #[arg(long)]
        preset: Option<String>,
        /// Override a scenario field before validation: PATH=VALUE, e.g.
        /// policy.retry.fixed=1h or 'hosts[relay-a].failure.markov.mean_down=30m'. Repeatable.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Trace this message (ids count from 0 in arrival order); repeatable.
        #[arg(long = "message", value_name = "N", conflicts_with = "worst")]
        messages: Vec<u64>,
        /// Trace the K worst messages: undelivered first (oldest first), then the longest
        /// delays.
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=10_000))]
        worst: Option<u64>,
        /// Only messages that met this enhanced code (e.g. 4.4.3).
        #[arg(long)]
        code: Option<String>,
        /// Only messages whose attempts contacted this host.
        #[arg(long)]
        host: Option<String>,
        /// Only messages that ended so: delivered, bounced, expired or queued.
        #[arg(long)]
        outcome: Option<String>,
        /// Without --message or --worst: how many matching messages (first by arrival).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        limit: u64,
        /// Print the records as JSON (one object per message).
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print one CSV row per attempt (message, queue, times, route, reply, blamed hop).
        #[arg(long)]
        csv: bool,
    },
    /// Compare retry/routing policies on the same seeds: each metric's mean with its 95%
    /// interval, and each policy's paired difference against the first.
    Compare {
        /// Scenario file.
        scenario: PathBuf,
        /// A policy: a preset (postfix, exim, …), a named policy of the scenario
        /// ([policies.<name>]) or `scenario` (its own [policy]), optionally with overrides:
        /// NAME:PATH=VALUE[,PATH=VALUE], or PATH=VALUE[,…] for the scenario's own policy.
        /// Repeat; the first is the baseline.
        #[arg(long = "policy", value_name = "SPEC", required = true)]
        policies: Vec<String>,
        /// Override a scenario field before validation: PATH=VALUE, e.g.
        /// policy.retry.fixed=1h or 'hosts[relay-a].failure.markov.mean_down=30m'. Repeatable.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,

        /// Seeds per policy: the scenario's seed and the ones after it.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(2..=100_000))]
        seeds: u32,
        /// Worker threads (default: one per core); the output does not depend on it.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
        threads: Option<u16>,
        /// Print as JSON.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print one CSV row per metric and policy.
        #[arg(long)]
        csv: bool,
        /// Also compare this metric (repeatable), e.g. delay_mean or delay_p95 (delivered mail
        /// only), beyond the default table; `mxsim metrics` lists them all.
        #[arg(long = "metric", value_name = "METRIC")]
        metrics: Vec<String>,
        /// A CI gate: METRIC:±AMOUNT[%], e.g. delay_censored_p95:+10% or delivered_ratio:-0.1%
        /// (the sign is the metric's worse direction; `mxsim metrics` lists the gateable
        /// metrics). Exits 1 when a candidate is worse than the baseline by more than allowed
        /// with 97.5% confidence. Repeatable.
        #[arg(long = "gate", value_name = "GATE")]
        gates: Vec<String>,
        /// Judge runs cut short by `limits.events_max` or `limits.messages_max` as they are
        /// (without it, a verdict on a cut run is inconclusive: exit 2).
        #[arg(long)]
        allow_cut: bool,
        /// Also write the gates as JUnit XML (one test case per gate and candidate).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Keep doubling the seeds (from --seeds) until every paired interval's half-width is
        /// below this share of the baseline's mean, e.g. 5%, or --max-seeds is reached.
        #[arg(long, value_name = "SHARE")]
        precision: Option<String>,
        /// Most seeds per policy with --precision.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(2..=100_000), requires = "precision")]
        max_seeds: u32,
        /// Draw the policies' delay distributions overlaid and the paired differences with
        /// their intervals as SVG into this directory.
        #[arg(long, value_name = "DIR")]
        plot: Option<PathBuf>,
        /// Run only shard K of N (K = 1 … N) and print it as JSON for `mxsim merge` (which
        /// chooses the output form); any batch system's task index maps to K.
        #[arg(long, value_name = "K/N", conflicts_with_all = ["json", "csv", "plot", "junit"])]
        shard: Option<String>,
    },
    /// Run a scenario over a grid of parameter values × seeds: each cell's metrics with 95%
    /// intervals, optionally the Pareto front of two metrics.
    Sweep {
        /// Scenario file.
        scenario: PathBuf,
        /// A parameter and its values: PATH=V1,V2,… (e.g.
        /// policy.retry.exponential.initial=1m,5m,15m). Repeat for a grid.
        #[arg(long = "param", value_name = "PATH=VALUES", required = true)]
        params: Vec<String>,
        /// Override a scenario field before validation: PATH=VALUE, e.g.
        /// policy.retry.fixed=1h or 'hosts[relay-a].failure.markov.mean_down=30m'. Repeatable.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Seeds per cell: the scenario's seed and the ones after it.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        seeds: u32,
        /// Worker threads (default: one per core); the output does not depend on it.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
        threads: Option<u16>,
        /// Also summarise this metric (repeatable), e.g. delay_mean or delay_p95 (delivered mail
        /// only), beyond the default table; `mxsim metrics` lists them all.
        #[arg(long = "metric", value_name = "METRIC")]
        metrics: Vec<String>,
        /// Mark the cells no other cell beats on both metrics, e.g.
        /// delay_censored_p95,attempts_per_message (`mxsim metrics` lists the gateable ones).
        #[arg(long, value_name = "METRIC,METRIC")]
        pareto: Option<String>,
        /// Print as JSON.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print one CSV row per cell and metric.
        #[arg(long)]
        csv: bool,
        /// Judge runs cut short by `limits.events_max` or `limits.messages_max` as they are
        /// (without it, a verdict on a cut run is inconclusive: exit 2).
        #[arg(long)]
        allow_cut: bool,
        /// Draw the Pareto front (with --pareto) as SVG into this directory.
        #[arg(long, value_name = "DIR")]
        plot: Option<PathBuf>,
        /// Run only shard K of N (K = 1 … N) and print it as JSON for `mxsim merge` (which
        /// chooses the output form); any batch system's task index maps to K.
        #[arg(long, value_name = "K/N", conflicts_with_all = ["json", "csv", "plot"])]
        shard: Option<String>,
    },
    /// Combine the shard files of one compare or sweep (`--shard K/N`) into exactly the output
    /// of the unsharded command.
    Merge {
        /// Shard files, one per K (any order).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print as JSON.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print as CSV.
        #[arg(long)]
        csv: bool,
        /// Draw the experiment's pictures into this directory.
        #[arg(long, value_name = "DIR")]
        plot: Option<PathBuf>,
        /// Judge runs cut short by `limits.events_max` or `limits.messages_max` as they are
        /// (without it, a verdict on a cut run is inconclusive: exit 2).
        #[arg(long)]
        allow_cut: bool,
        /// For a compare with gates: also write them as JUnit XML.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
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
    /// List every metric: name, unit, better direction, censored or not, whether it can be
    /// gated, what a scenario needs to measure it (the registry [expect], --gate, compare,
    /// sweep and the browser read).
    Metrics {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the traffic shaping that applies to mail for one domain: its site (the domains
    /// sharing its MX hosts), each value, and the [policy.shaping] block that set it.
    ExplainPolicy {
        /// Scenario file.
        scenario: PathBuf,
        /// Recipient domain, as in the scenario's [[domains]].
        domain: String,
        /// Change a field of the scenario first (PATH=VALUE), as for run.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
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
        /// Observe each run in detail (routing metrics, series, analysis), as `run --json`
        /// and `run --analyze` do, to measure what that bookkeeping costs.
        #[arg(long)]
        observe: bool,
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
        /// Override a scenario field before validation: PATH=VALUE, e.g.
        /// policy.retry.fixed=1h or 'hosts[relay-a].failure.markov.mean_down=30m'. Repeatable.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Print verdicts as JSON.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print verdicts as CSV (one row per bound).
        #[arg(long)]
        csv: bool,
        /// Judge runs cut short by `limits.events_max` or `limits.messages_max` as they are
        /// (without it, a verdict on a cut run is inconclusive: exit 2).
        #[arg(long)]
        allow_cut: bool,
        /// Also write the verdicts as JUnit XML (one test case per bound) to this file.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
}
