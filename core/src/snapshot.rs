//! A picture of the simulation at the current instant, for drawing (the browser visualizer):
//! each host's state, the queue, and the messages in flight with the hop they are at.
//!
//! Built on demand from the simulation's state; nothing here changes the run, so taking
//! snapshots never changes a digest.

use crate::failure::HostState;
use serde::Serialize;

/// The state of a run at one instant.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// Simulated time, ms.
    pub t_ms: u64,
    /// Events processed so far.
    pub events: u64,
    /// Whether the run has stopped, and why (`null` while running).
    pub stopped_by: Option<&'static str>,
    /// Every host, in scenario order.
    pub hosts: Vec<HostView>,
    /// Queue counts.
    pub queue: QueueView,
    /// Attempts under way (only tracked when the trace is recorded).
    pub in_flight: Vec<InFlightView>,
}

/// One host as drawn.
#[derive(Clone, Debug, Serialize)]
pub struct HostView {
    /// Host id.
    pub id: String,
    /// `sender`, `relay` or `mx`.
    pub role: &'static str,
    /// `up`, `down` or `flaky`.
    pub state: HostState,
    /// Times contacted so far.
    pub contacts: u64,
}

/// Queue counts at the instant.
#[derive(Clone, Debug, Serialize)]
pub struct QueueView {
    /// Waiting for a retry.
    pub deferred: u64,
    /// An attempt is under way.
    pub in_flight: u64,
    /// Due, but waiting for room in the active queue or a concurrency slot.
    pub waiting: u64,
    /// Delivered so far.
    pub delivered: u64,
    /// Bounced so far.
    pub bounced: u64,
    /// Expired so far.
    pub expired: u64,
}

/// A message whose attempt is under way.
#[derive(Clone, Debug, Serialize)]
pub struct InFlightView {
    /// Message id.
    pub message: u64,
    /// 1-based attempt number.
    pub attempt: u32,
    /// When the attempt started, ms.
    pub started_ms: u64,
    /// When its outcome reaches the sender, ms.
    pub ends_ms: u64,
    /// The host being talked to now (the last hop contacted at or before now), or the sender
    /// when no hop has been reached yet.
    pub hop: String,
    /// The route walked so far, host ids in order.
    pub path: Vec<String>,
}
