//! The workload's message source: when the next message arrives, where it goes, and whether
//! its mailbox exists.
//!
//! Arrivals are generated one at a time from their own sequential stream
//! ([`Purpose::Arrivals`]), so the environment's arrivals never depend on the policy under
//! test (common random numbers, DESIGN §2). At most `limits.messages_max` messages arrive.

use crate::ids::DomainId;
use crate::random::{Purpose, SeqStream, Streams};
use crate::scenario::{Arrivals, Workload};
use crate::time::SimTime;

/// The next message of the workload: its recipient domain and mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewMessage {
    /// Recipient domain.
    pub domain: DomainId,
    /// The mailbox does not exist.
    pub unknown_recipient: bool,
}

/// Generates the workload's arrivals in order.
#[derive(Clone, Debug)]
pub struct ArrivalSource {
    rng: SeqStream,
    /// Messages generated so far.
    generated: u64,
    /// Most messages to generate.
    limit: u64,
    /// Poisson clock, fractional ms (floored to schedule; never orders anything itself).
    clock_ms: f64,
    /// When the first message past `limit` would have arrived: the workload was cut short
    /// by `limits.messages_max` (a run judged on fewer messages than its scenario describes).
    refused_at: Option<Option<SimTime>>,
}

impl ArrivalSource {
    /// The source of a run with `streams`, generating at most `limit` messages.
    pub fn new(streams: Streams, limit: u64) -> Self {
        ArrivalSource {
            rng: streams.sequential(Purpose::Arrivals, 0),
            generated: 0,
            limit,
            clock_ms: 0.0,
            refused_at: None,
        }
    }

    /// When the next message arrives, if one does.
    pub fn next_time(&mut self, workload: &Workload) -> Option<SimTime> {
        if self.generated >= self.limit {
            if self.refused_at.is_none() {
                // The arrival the limit refuses. Its draw comes after every other draw of
                // this stream, so looking does not change the run.
                self.refused_at = Some(self.scheduled_time(workload));
            }
            return None;
        }
        self.scheduled_time(workload)
    }

    /// When the first message the limit refused would have arrived (`None`: the workload
    /// fitted within `limits.messages_max`).
    pub fn refused_at(&self) -> Option<SimTime> {
        self.refused_at.flatten()
    }

    /// The workload's next arrival time, ignoring the limit.
    fn scheduled_time(&mut self, workload: &Workload) -> Option<SimTime> {
        match &workload.arrivals {
            Arrivals::At(times) => usize::try_from(self.generated)
                .ok()
                .and_then(|i| times.get(i))
                .copied(),
            Arrivals::Poisson {
                per_hour,
                start,
                window,
            } => {
                if *per_hour <= 0.0 {
                    return None;
                }
                if self.generated == 0 {
                    self.clock_ms = start.as_ms() as f64;
                }
                self.clock_ms += self.rng.exponential(3_600_000.0 / per_hour);
                let t = self.clock_ms.floor() as u64;
                (t < start.as_ms() + window.as_ms()).then_some(SimTime(t))
            }
        }
    }

    /// The message arriving now: draws its domain and mailbox.
    pub fn arrive(&mut self, workload: &Workload) -> NewMessage {
        let pick = self.rng.weighted_index(&workload.cumulative_weights);
        let domain = workload.domains[pick];
        let unknown_recipient = self.rng.unit() < workload.unknown_recipient_share;
        self.generated += 1;
        NewMessage {
            domain,
            unknown_recipient,
        }
    }
}
