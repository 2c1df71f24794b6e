//! Running the many runs of `compare` and `sweep`: jobs in parallel (rayon) with progress on
//! stderr, results back in job order so the output never depends on the thread count or on
//! scheduling. The numbering of jobs and shards is core's (`mxsim_core::experiment`).

use crate::Failure;
use mxsim_core::experiment::{run_reduced, RunResult};
use mxsim_core::metric::Metric;
use mxsim_core::scenario::Scenario;
use rayon::prelude::*;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A worker pool of `threads` threads, or rayon's default (one per core) for `None`.
pub fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Failure> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        b = b.num_threads(n);
    }
    b.build()
        .map_err(|e| Failure::Input(format!("error: cannot start worker threads: {e}")))
}

/// Progress on stderr: a bar on a terminal; otherwise a plain line at most every few
/// seconds, so the logs of batch jobs show that work goes on without filling up (a run that
/// ends quickly prints nothing).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    label: String,
    total: usize,
    done: AtomicUsize,
    started: Instant,
    last_line: Mutex<Instant>,
}

/// Time between plain progress lines.
const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    fn new(label: &str, total: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} runs, {per_sec}, eta {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(label.to_string());
            bar
        });
        let now = Instant::now();
        Progress {
            bar,
            label: label.to_string(),
            total,
            done: AtomicUsize::new(0),
            started: now,
            last_line: Mutex::new(now),
        }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            return;
        }
        let Ok(mut last) = self.last_line.lock() else {
            return;
        };
        if last.elapsed() >= LINE_EVERY && done < self.total {
            *last = Instant::now();
            let secs = self.started.elapsed().as_secs_f64();
            eprintln!(
                "{}: {done}/{} runs ({}%), {:.1} runs/s",
                self.label,
                self.total,
                done * 100 / self.total.max(1),
                done as f64 / secs.max(1e-9)
            );
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs variant `v` of `variants` on seed `s` for every `(v, s)` of `jobs`, in parallel on
/// `pool`, reading `metrics` from each run; the results come back in the order of `jobs`.
pub fn run_jobs(
    pool: &rayon::ThreadPool,
    label: &str,
    variants: &[Scenario],
    metrics: &[Metric],
    jobs: &[(usize, u64)],
) -> Vec<RunResult> {
    let progress = Progress::new(label, jobs.len());
    let results = pool.install(|| {
        jobs.par_iter()
            .map(|&(v, seed)| {
                let mut s = variants[v].clone();
                s.seed = seed;
                let r = run_reduced(s, metrics);
                progress.tick();
                r
            })
            .collect()
    });
    progress.finish();
    results
}

/// The experiment's metrics: core's default table for what every variant measures, plus
/// `extra` (gated or `--pareto` metrics), each of which every variant must be able to
/// measure (invalid input otherwise, naming the variant and what it lacks).
pub fn metrics_checked(
    flag: &str,
    labels: &[String],
    variants: &[Scenario],
    extra: &[Metric],
) -> Result<Vec<Metric>, Failure> {
    let named: Vec<(String, &Scenario)> = labels.iter().cloned().zip(variants).collect();
    for m in extra {
        mxsim_core::experiment::check_measurable(m, &named)
            .map_err(|why| Failure::Input(format!("error: {flag} {}: {why}", m.name())))?;
    }
    Ok(mxsim_core::experiment::metrics_for(variants, extra))
}

/// Why a verdict on runs with `cut` ones is not given ("inconclusive: …", exit 2 through
/// [`Failure::Inconclusive`]); `None` when no run was cut or the user accepts cut runs.
pub fn inconclusive(what: &str, cut: &[String], allow_cut: bool) -> Option<String> {
    if cut.is_empty() || allow_cut {
        return None;
    }
    let more = if cut.len() > 3 {
        format!(" (and {} more)", cut.len() - 3)
    } else {
        String::new()
    };
    Some(format!(
        "inconclusive: {what} judged on {} cut run{}: {}{more}\n  help: raise the limit (e.g. --set limits.events_max=…), or pass --allow-cut to judge the runs as they are",
        cut.len(),
        if cut.len() == 1 { "" } else { "s" },
        cut.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
    ))
}
