//! Memory stays bounded by batches, not by a run's length (issue 12): a run that records its
//! whole trace but takes the records out batch by batch (as `mxsim run --trace` does) peaks
//! far below what keeping them would cost. One test in its own binary, so the process's peak
//! resident size (`VmHWM`, Linux) is this test's alone.

mod common;

use common::{load, one_mx};
use mxsim_core::Simulation;

/// Peak resident memory of this process so far, in KiB (Linux `/proc/self/status`).
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_traced_run_taken_out_in_batches_keeps_memory_flat() {
    let Some(before) = peak_kib() else {
        eprintln!("no /proc/self/status here: skipped");
        return;
    };
    // A 1 ms fixed retry against a host down for an hour: 7.2 million events.
    let mut sim = Simulation::new(load(&one_mx(
        "",
        "{ at = [\"0s\"] }",
        "failure = { schedule = [{ from = \"0s\", to = \"1h\" }] }",
        "retry = { fixed = \"1ms\" }",
    )));
    sim.record_trace();
    let (mut records, mut bytes) = (0u64, 0u64);
    loop {
        let ran = sim.run_events(100_000);
        let batch = sim.take_trace();
        records += batch.len() as u64;
        bytes += batch
            .iter()
            .map(|r| std::mem::size_of_val(r) as u64 + 64)
            .sum::<u64>();
        if ran < 100_000 {
            break;
        }
    }
    assert_eq!(sim.report().outcomes.delivered, 1);
    assert!(records > 7_000_000, "{records} records");
    let grew_mib = peak_kib().unwrap().saturating_sub(before) / 1024;
    let kept_mib = bytes / (1024 * 1024);
    // Keeping every record would need at least `kept_mib` (well over a gigabyte).
    assert!(kept_mib > 1000, "{kept_mib} MiB");
    assert!(
        grew_mib < 100,
        "peak grew by {grew_mib} MiB while streaming {records} records ({kept_mib} MiB if kept)"
    );
}
