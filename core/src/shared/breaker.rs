//! A circuit breaker per destination (resilience4j): a count-based window of recent outcomes;
//! at a failure rate at or above the threshold (with at least `min_calls`) it opens for
//! `open_for`, then lets `half_open_probes` attempts through and closes or re-opens on their
//! failure rate.

use crate::time::{SimDuration, SimTime};
use std::collections::VecDeque;

/// resilience4j circuit-breaker parameters (its defaults: threshold 50%, window 100,
/// minimum calls 100, open 60 s, 10 calls half-open).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerSpec {
    /// Outcomes remembered (count-based sliding window).
    pub window: u32,
    /// Calls needed before the rate counts.
    pub min_calls: u32,
    /// Failure rate that opens the breaker.
    pub failure_rate: f64,
    /// How long it stays open.
    pub open_for: SimDuration,
    /// Attempts let through when half-open.
    pub half_open_probes: u32,
}

impl Default for BreakerSpec {
    fn default() -> Self {
        BreakerSpec {
            window: 100,
            min_calls: 100,
            failure_rate: 0.5,
            open_for: SimDuration::from_secs(60),
            half_open_probes: 10,
        }
    }
}

#[derive(Clone, Debug)]
enum BreakerState {
    Closed,
    Open {
        until: SimTime,
    },
    HalfOpen {
        permitted: u32,
        failures: u32,
        done: u32,
    },
}

/// One destination's breaker.
#[derive(Clone, Debug)]
pub(super) struct Breaker {
    state: BreakerState,
    outcomes: VecDeque<bool>,
}

impl Breaker {
    /// A closed breaker with no outcomes.
    pub(super) fn new() -> Self {
        Breaker {
            state: BreakerState::Closed,
            outcomes: VecDeque::new(),
        }
    }

    /// `Err(until)` while open at `t`, or while half-open with every probe out (then: ask
    /// again a second later). An open breaker whose time is up turns half-open here, whether
    /// or not a later gate refuses the attempt. Takes no probe: see [`take_probe`](Self::take_probe).
    pub(super) fn admit(&mut self, spec: BreakerSpec, t: SimTime) -> Result<(), SimTime> {
        match self.state {
            BreakerState::Open { until } if t < until => return Err(until),
            BreakerState::Open { .. } => {
                self.state = BreakerState::HalfOpen {
                    permitted: spec.half_open_probes,
                    failures: 0,
                    done: 0,
                };
            }
            _ => {}
        }
        if let BreakerState::HalfOpen { permitted: 0, .. } = self.state {
            // Probes are out; ask again shortly.
            return Err(t.after(SimDuration::from_secs(1)));
        }
        Ok(())
    }

    /// Takes a half-open probe for an attempt every gate let through.
    pub(super) fn take_probe(&mut self) {
        if let BreakerState::HalfOpen { permitted, .. } = &mut self.state {
            *permitted -= 1;
        }
    }

    /// Feeds an attempt's outcome (`failed`: any transient failure).
    pub(super) fn outcome(&mut self, spec: BreakerSpec, failed: bool, t: SimTime) {
        match &mut self.state {
            BreakerState::HalfOpen { failures, done, .. } => {
                *done += 1;
                *failures += u32::from(failed);
                if *done >= spec.half_open_probes {
                    let rate = f64::from(*failures) / f64::from(*done);
                    self.outcomes.clear();
                    self.state = if rate >= spec.failure_rate {
                        BreakerState::Open {
                            until: t.after(spec.open_for),
                        }
                    } else {
                        BreakerState::Closed
                    };
                }
            }
            BreakerState::Closed => {
                self.outcomes.push_back(failed);
                if self.outcomes.len() > spec.window as usize {
                    self.outcomes.pop_front();
                }
                let n = self.outcomes.len();
                let failures = self.outcomes.iter().filter(|&&f| f).count();
                if n >= spec.min_calls as usize && failures as f64 / n as f64 >= spec.failure_rate {
                    self.state = BreakerState::Open {
                        until: t.after(spec.open_for),
                    };
                    self.outcomes.clear();
                }
            }
            BreakerState::Open { .. } => {}
        }
    }
}
