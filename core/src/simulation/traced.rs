//! Tracing a few messages of a run without keeping the whole trace: `mxsim trace` and the
//! browser's message inspector both call [`trace_messages`].
//!
//! Two runs of the same scenario and seed: the first keeps a few bytes per message and picks
//! the messages (`Selector`); the second records only their trace records. Both are the same
//! run; their digests are compared to prove it. Memory never holds the whole trace.

use super::Simulation;
use crate::observe::select::{Criteria, Pick};
use crate::scenario::Scenario;
use crate::trace::TraceRecord;

/// One traced message: its id and its trace records, in order.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TracedMessage {
    /// The message id (arrival order, from 0).
    pub message: u64,
    /// Every trace record of the message, in the order they happened.
    pub records: Vec<TraceRecord>,
}

/// Picks the messages `pick` names among those matching `criteria` and returns their trace
/// records. An error (a message id past the last message) names how many messages there were.
pub fn trace_messages(
    scenario: &Scenario,
    criteria: Criteria,
    pick: &Pick,
) -> Result<Vec<TracedMessage>, String> {
    let mut first = Simulation::new(scenario.clone());
    first.select(criteria);
    first.run();
    let mut ids = first.chosen(pick)?;
    // A message asked for twice (`--message 3 --message 1 --message 3`) is traced once, in
    // the order first asked: a repeat has no records of its own to show.
    let mut seen = std::collections::BTreeSet::new();
    ids.retain(|id| seen.insert(id.0));
    let mut second = Simulation::new(scenario.clone());
    second.record_trace_of(ids.clone());
    second.run();
    assert_eq!(
        first.digest(),
        second.digest(),
        "selecting and recording runs are the same run"
    );
    let mut traced: Vec<TracedMessage> = ids
        .iter()
        .map(|id| TracedMessage {
            message: u64::from(id.0),
            records: Vec::new(),
        })
        .collect();
    // Records come in time order; messages are few, so a linear find is fine.
    for r in second.trace() {
        if let Some(t) = traced.iter_mut().find(|t| t.message == r.message) {
            t.records.push(r.clone());
        }
    }
    Ok(traced)
}
