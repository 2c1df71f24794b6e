//! `--shard K/N` and `mxsim merge`: a compare or a sweep split over the tasks of any batch
//! system (a GitHub Actions matrix, a Slurm job array, a Kubernetes Indexed Job), then put
//! back together into exactly the output of the unsharded command.
//!
//! A shard writes one JSON document: what the experiment is (command, scenario, policies or
//! parameters, seeds, gates, Pareto metrics, the scenario text's hash), which shard it is, and
//! the reduced results of its jobs. `merge` accepts shards only when they describe the same
//! experiment and together hold every job exactly once.

use crate::Failure;
use mxsim_core::experiment::{RunResult, Shard};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The format tag of shard files; `merge` refuses any other.
pub const FORMAT: &str = "mxsim-shard/2";

/// What an experiment is: shards merge only when this is equal in all of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Experiment {
    /// `mxsim compare`.
    Compare {
        /// The scenario file as given.
        scenario: String,
        /// The `--policy` specs, the baseline first.
        policies: Vec<String>,
        /// `--set` edits applied to every policy.
        sets: Vec<String>,
        /// The seeds every policy runs on.
        seeds: Vec<u64>,
        /// `--gate` specs.
        gates: Vec<String>,
        /// `--metric` names.
        #[serde(default)]
        metrics: Vec<String>,
    },
    /// `mxsim sweep`.
    Sweep {
        /// The scenario file as given.
        scenario: String,
        /// The `--param` specs.
        params: Vec<String>,
        /// `--set` edits applied to every cell.
        sets: Vec<String>,
        /// The seeds every cell runs on.
        seeds: Vec<u64>,
        /// `--pareto` metrics.
        pareto: Option<String>,
        /// `--metric` names.
        #[serde(default)]
        metrics: Vec<String>,
    },
}

impl Experiment {
    /// Seeds per variant.
    pub fn seeds(&self) -> &[u64] {
        match self {
            Experiment::Compare { seeds, .. } | Experiment::Sweep { seeds, .. } => seeds,
        }
    }
}

/// One job's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobResult {
    /// Job number: variant × seeds + seed index.
    pub job: usize,
    /// The reduced run.
    pub run: RunResult,
}

/// A shard's output file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// The experiment.
    pub experiment: Experiment,
    /// FNV-1a hash of the scenario text: shards of different files never merge.
    pub scenario_hash: String,
    /// The labels of the variants (policies, or sweep cells' values).
    pub variants: Vec<Vec<String>>,
    /// Which shard this is.
    pub shard: Shard,
    /// Jobs in the whole experiment.
    pub jobs: usize,
    /// This shard's results, by ascending job.
    pub results: Vec<JobResult>,
}

/// FNV-1a (64 bit) of `text`, as hex: stable across platforms and Rust versions.
pub fn text_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The jobs of `shard` as (variant, seed) pairs, with their job numbers.
pub fn shard_jobs(shard: Shard, variants: usize, seeds: &[u64]) -> Vec<(usize, (usize, u64))> {
    shard
        .jobs(variants * seeds.len())
        .map(|j| (j, (j / seeds.len(), seeds[j % seeds.len()])))
        .collect()
}

/// Prints a shard's file to stdout.
pub fn emit_shard(file: &ShardFile) {
    crate::emit(&(serde_json::to_string(file).expect("shard files serialise") + "\n"));
}

/// Merged shards: the experiment and every job's result in job order.
pub struct Merged {
    /// The experiment.
    pub experiment: Experiment,
    /// Variant labels.
    pub variants: Vec<Vec<String>>,
    /// `table[v][i]`: variant v on seed i.
    pub table: Vec<Vec<RunResult>>,
}

/// Reads and checks shard files: same experiment, every shard present once, every job once.
pub fn merge(paths: &[PathBuf]) -> Result<Merged, Failure> {
    let bad = |path: &Path, why: String| {
        Failure::Input(format!(
            "error: {}: {why}\n  help: merge the files that `--shard K/N` of one compare or sweep printed",
            path.display()
        ))
    };
    let mut files: Vec<(PathBuf, ShardFile)> = Vec::new();
    for path in paths {
        let text =
            std::fs::read_to_string(path).map_err(|e| bad(path, format!("cannot read: {e}")))?;
        let file: ShardFile = serde_json::from_str(&text)
            .map_err(|e| bad(path, format!("not a shard file ({e})")))?;
        if file.format != FORMAT {
            return Err(bad(
                path,
                format!("format \"{}\", expected \"{FORMAT}\"", file.format),
            ));
        }
        files.push((path.clone(), file));
    }
    let Some((first_path, first)) = files.first() else {
        return Err(Failure::Input("error: merge needs shard files".into()));
    };
    let count = first.shard.count;
    let mut seen = vec![None::<&Path>; count as usize];
    for (path, f) in &files {
        if f.experiment != first.experiment
            || f.scenario_hash != first.scenario_hash
            || f.variants != first.variants
            || f.jobs != first.jobs
        {
            return Err(bad(
                path,
                format!(
                    "a shard of another experiment than {} (command, scenario, policies or parameters, seeds and gates must be the same)",
                    first_path.display()
                ),
            ));
        }
        if f.shard.count != count || f.shard.index == 0 || f.shard.index > count {
            return Err(bad(
                path,
                format!(
                    "shard {}/{}, but {} is one of {count}",
                    f.shard.index,
                    f.shard.count,
                    first_path.display()
                ),
            ));
        }
        let slot = &mut seen[(f.shard.index - 1) as usize];
        if let Some(other) = slot {
            return Err(bad(
                path,
                format!(
                    "shard {}/{count} given twice (also {})",
                    f.shard.index,
                    other.display()
                ),
            ));
        }
        *slot = Some(path);
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_none())
        .map(|(k, _)| format!("{}/{count}", k + 1))
        .collect();
    if !missing.is_empty() {
        return Err(Failure::Input(format!(
            "error: merge: missing shards {}\n  help: every shard K/N for K = 1 … {count} must be given once",
            missing.join(", ")
        )));
    }
    let seeds = first.experiment.seeds().len();
    let variants = first.variants.len();
    if seeds == 0 || variants * seeds != first.jobs {
        return Err(bad(first_path, "inconsistent job count".into()));
    }
    let mut slots: Vec<Option<RunResult>> = vec![None; first.jobs];
    for (path, f) in &files {
        for r in &f.results {
            let owned = f.shard.owns(r.job) && r.job < first.jobs;
            if !owned || slots[r.job].is_some() {
                return Err(bad(
                    path,
                    format!("job {} does not belong to this shard", r.job),
                ));
            }
            slots[r.job] = Some(r.run.clone());
        }
    }
    if let Some(j) = slots.iter().position(Option::is_none) {
        return Err(Failure::Input(format!(
            "error: merge: job {j} is in no shard file (a shard file was cut short?)"
        )));
    }
    let mut runs = slots.into_iter().flatten();
    let table = (0..variants)
        .map(|_| runs.by_ref().take(seeds).collect())
        .collect();
    let (_, first) = files.swap_remove(0);
    Ok(Merged {
        experiment: first.experiment,
        variants: first.variants,
        table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv1a() {
        // Known FNV-1a 64 values.
        assert_eq!(text_hash(""), "cbf29ce484222325");
        assert_eq!(text_hash("a"), "af63dc4c8601ec8c");
    }

    #[test]
    fn shard_jobs_number_variants_then_seeds() {
        let jobs = shard_jobs(Shard { index: 2, count: 3 }, 2, &[10, 11, 12]);
        assert_eq!(jobs, vec![(1, (0, 11)), (4, (1, 11))]);
    }
}
