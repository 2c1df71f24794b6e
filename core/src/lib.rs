//! mxsim-core: a deterministic discrete-event simulator of SMTP delivery over MX topologies.
//!
//! Scenario text + seed → [`Simulation`] → trace, metrics and [`Report`]. The crate is pure: no
//! I/O, no clock, no threads, no global state, so it runs the same natively and in wasm32.
//! Entry points: [`scenario::load`] (text → validated [`Scenario`] or every problem at once),
//! [`Simulation::new`] / [`Simulation::run`] / [`Simulation::report`], [`smtp::explain`], and
//! [`check`] for `[expect]` bounds.

pub mod diagnostic;
pub mod dns;
pub mod engine;
pub mod expect;
pub mod failure;
pub mod metrics;
pub mod mta;
pub mod network;
pub mod policy;
pub mod qmgr;
pub mod random;
pub mod scenario;
pub mod session;
pub mod shared;
pub mod simulation;
pub mod smtp;
pub mod snapshot;
pub mod time;
pub mod topology;
pub mod trace;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use expect::Verdict;
pub use metrics::Report;
pub use scenario::Scenario;
pub use simulation::Simulation;

/// Runs `scenario` to the end and returns its report.
pub fn run(scenario: Scenario) -> Report {
    let mut sim = Simulation::new(scenario);
    sim.run();
    sim.report()
}

/// Checks every `[expect]` bound of `scenario` against `report`.
pub fn check(scenario: &Scenario, report: &Report) -> Vec<Verdict> {
    scenario.expect.iter().map(|e| e.check(report)).collect()
}
