//! mxsim-core: a deterministic discrete-event simulator of SMTP delivery over MX topologies.
//!
//! Scenario text + seed → [`Simulation`] → trace, metrics and [`Report`]. The crate is pure: no
//! I/O, no clock, no threads, no global state, so it runs the same natively and in wasm32.
//! Entry points: [`scenario::load()`] (text → validated [`Scenario`] or every problem at once),
//! [`Simulation::new`] / [`Simulation::run`] / [`Simulation::report`], [`smtp::explain`], and
//! [`check`] for `[expect]` bounds.

// The public API: what the CLI, wasm, tests and benches use (ARCHITECTURE.md, "Entry points").
pub mod compare;
pub mod diagnostic;
pub mod experiment;
pub mod figures;
pub mod ids;
pub mod metric;
pub mod network;
pub mod policy;
pub mod report;
pub mod scenario;
pub mod shaping;
pub mod simulation;
pub mod smtp;
pub mod snapshot;
pub mod stats;
pub mod sweep;
pub mod time;
pub mod trace;

// Internal modules, in layer order (ARCHITECTURE.md, "Layers"; checked by tests/layers.rs).
pub(crate) mod arrivals;
pub(crate) mod attempt;
pub(crate) mod dns;
pub(crate) mod engine;
pub(crate) mod expect;
pub(crate) mod failure;
pub(crate) mod happening;
pub(crate) mod message;
pub(crate) mod metrics;
pub(crate) mod mta;
pub(crate) mod observe;
pub(crate) mod qmgr;
pub(crate) mod random;
pub(crate) mod recorder;
pub(crate) mod session;
pub(crate) mod shared;
pub(crate) mod topology;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use expect::Verdict;
pub use observe::select::{Criteria, Outcome, Pick};
pub use report::Report;
pub use scenario::Scenario;
pub use simulation::Simulation;

/// Runs `scenario` to the end and returns its report.
pub fn run(scenario: Scenario) -> Report {
    let mut sim = Simulation::new(scenario);
    sim.run();
    sim.report()
}

/// Checks every `[expect]` bound of `scenario` against the mean over `reports`, the runs of
/// `[expect] seeds` seeds (each verdict carries its 95% interval).
pub fn check_over_seeds(scenario: &Scenario, reports: &[Report]) -> Vec<Verdict> {
    scenario
        .expect
        .iter()
        .map(|e| e.check_mean(reports))
        .collect()
}

/// Checks every `[expect]` bound of `scenario` against `report`.
pub fn check(scenario: &Scenario, report: &Report) -> Vec<Verdict> {
    scenario.expect.iter().map(|e| e.check(report)).collect()
}
