//! `mxsim run`: one run and its report, with the optional outputs (JSON, trace, analysis,
//! CSV tables, plots).

use crate::{emit, export, load_with_preset, plot, render, Failure};
use mxsim_core::time::SimDuration;
use mxsim_core::Simulation;
use std::io::Write;
use std::path::Path;

/// What `mxsim run` writes besides the report.
pub struct RunOutputs<'a> {
    pub json: bool,
    pub trace: Option<&'a Path>,
    /// `--trace-limit`: most bytes the trace file may take.
    pub trace_limit: &'a str,
    pub analyze: bool,
    pub every: Option<&'a str>,
    pub csv: Option<&'a Path>,
    pub plot: Option<&'a Path>,
}

/// Parses a duration option (`--every 10m`); a bad or zero value is invalid input.
pub fn duration_option(flag: &str, text: &str) -> Result<SimDuration, Failure> {
    match mxsim_core::time::parse_duration(text) {
        Ok(d) if d.as_ms() > 0 => Ok(d),
        Ok(_) => Err(Failure::Input(format!(
            "error: {flag} must be positive, not \"{text}\"\n  help: e.g. {flag} 10m"
        ))),
        Err(e) => Err(Failure::Input(format!(
            "error: {flag}: {e}\n  help: durations look like 30s, 10m, 1h30m or 2d"
        ))),
    }
}

pub fn run(
    path: &Path,
    seed: Option<u64>,
    preset: Option<&str>,
    sets: &[String],
    out: &RunOutputs<'_>,
) -> Result<(), Failure> {
    let RunOutputs {
        json,
        trace,
        trace_limit,
        analyze,
        every,
        csv,
        plot,
    } = *out;
    let every = every.map(|e| duration_option("--every", e)).transpose()?;
    let trace_limit = parse_size("--trace-limit", trace_limit)?;
    for dir in [csv, plot].into_iter().flatten() {
        export::prepare_dir(dir)?;
    }
    let scenario = load_with_preset(path, seed, preset, sets)?;
    let mut sim = Simulation::new(scenario);
    let mut trace_out = match trace {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| {
                Failure::Input(format!("error: cannot write {}: {e}", path.display()))
            })?;
            sim.record_trace();
            Some((
                path,
                std::io::BufWriter::new(Counted {
                    inner: file,
                    written: 0,
                }),
            ))
        }
        None => None,
    };
    if json || analyze || csv.is_some() || plot.is_some() || every.is_some() {
        sim.observe(every);
    }
    // The trace is written as the run proceeds, one batch of events at a time, so its memory
    // does not grow with its length.
    loop {
        let ran = sim.run_events(TRACE_BATCH);
        if let Some((path, out)) = &mut trace_out {
            write_records(out, &sim.take_trace()).map_err(|e| {
                Failure::Input(format!("error: cannot write {}: {e}", path.display()))
            })?;
            if out.get_ref().written > trace_limit {
                return Err(Failure::Input(format!(
                    "error: the trace reached --trace-limit ({trace_limit} bytes) at {} of simulated time, after {} events; {} is incomplete\n  help: raise it (e.g. --trace-limit 8GiB), or follow a few messages with mxsim trace --message N / --worst K",
                    mxsim_core::time::human(mxsim_core::time::SimDuration::from_ms(sim.now().as_ms())),
                    sim.events(),
                    path.display()
                )));
            }
        }
        if ran < TRACE_BATCH {
            break;
        }
    }
    if let Some((path, mut out)) = trace_out {
        out.flush()
            .map_err(|e| Failure::Input(format!("error: cannot write {}: {e}", path.display())))?;
    }
    let report = sim.report();
    if let Some(dir) = csv {
        export::write_run(dir, &report)?;
    }
    if let Some(dir) = plot {
        let written = plot::write_plots(dir, &report)?;
        if !json {
            let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
            eprintln!("wrote {}", names.join(", "));
        }
    }
    if json {
        emit(&(serde_json::to_string_pretty(&report).expect("reports serialise") + "\n"));
    } else {
        emit(&render::report(
            &path.display().to_string(),
            sim.scenario(),
            &report,
        ));
        if let (true, Some(a), Some(routing)) = (analyze, &report.analysis, &report.routing) {
            emit(&render::analysis(a, routing, &report.queue.sites));
        }
    }
    Ok(())
}

/// A file that counts the bytes written to it (`--trace-limit`).
struct Counted {
    inner: std::fs::File,
    written: u64,
}

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Parses a size: bytes, or with a unit (`kB`, `MB`, `GB`: powers of 1000; `KiB`, `MiB`,
/// `GiB`: powers of 1024).
pub fn parse_size(flag: &str, text: &str) -> Result<u64, Failure> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => 0,
    };
    match number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
    {
        Some(n) if n > 0 => Ok(n),
        _ => Err(Failure::Input(format!(
            "error: {flag} {text}: not a size\n  help: e.g. 500MB or 8GiB"
        ))),
    }
}

/// Events run between two writes of `--trace` records: about 20 MB of records at most.
const TRACE_BATCH: u64 = 100_000;

/// Appends `records` as JSON Lines.
fn write_records(
    out: &mut impl std::io::Write,
    records: &[mxsim_core::trace::TraceRecord],
) -> std::io::Result<()> {
    for r in records {
        serde_json::to_writer(&mut *out, r).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
