//! Postfix's dead-destination throttling (`qmgr_queue.c`; `reference/mta-defaults.md`): per
//! destination a concurrency window (initial 5, limit 20); each connection-level failure adds
//! 1/window to the failed cohorts and shrinks the window, each success resets the cohorts and
//! grows it; when the failed cohorts reach the limit (1) the destination is suspended for
//! 300 s and every message for it is deferred without a try ("delivery temporarily
//! suspended").

use crate::time::{SimDuration, SimTime};

/// Postfix qmgr's dead-destination parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeadDestinationSpec {
    /// `initial_destination_concurrency` (5).
    pub initial: u32,
    /// `default_destination_concurrency_limit` (20).
    pub limit: u32,
    /// `default_destination_concurrency_failed_cohort_limit` (1).
    pub failed_cohort_limit: f64,
    /// Suspension: `minimal_backoff_time` (300 s).
    pub suspend: SimDuration,
}

impl Default for DeadDestinationSpec {
    fn default() -> Self {
        DeadDestinationSpec {
            initial: 5,
            limit: 20,
            failed_cohort_limit: 1.0,
            suspend: SimDuration::from_secs(300),
        }
    }
}

/// One destination's window and suspension.
#[derive(Clone, Debug)]
pub(super) struct DeadDestination {
    window: f64,
    fail_cohorts: f64,
    suspended_until: Option<SimTime>,
}

impl DeadDestination {
    /// A destination at the initial concurrency.
    pub(super) fn new(spec: DeadDestinationSpec) -> Self {
        DeadDestination {
            window: spec.initial.into(),
            fail_cohorts: 0.0,
            suspended_until: None,
        }
    }

    /// `Err(until)` while suspended at `t`. A suspension that has ended is lifted here:
    /// Postfix re-enables a dead destination with its initial concurrency.
    pub(super) fn admit(&mut self, spec: DeadDestinationSpec, t: SimTime) -> Result<(), SimTime> {
        if let Some(until) = self.suspended_until {
            if t < until {
                return Err(until);
            }
            *self = DeadDestination::new(spec);
        }
        Ok(())
    }

    /// Feeds an attempt's outcome: `connection_failure` (nothing answered: Postfix's negative
    /// feedback) or not (positive feedback).
    pub(super) fn outcome(
        &mut self,
        spec: DeadDestinationSpec,
        connection_failure: bool,
        t: SimTime,
    ) {
        if connection_failure {
            self.fail_cohorts += 1.0 / self.window;
            self.window = (self.window - 1.0).max(1.0);
            if self.fail_cohorts >= spec.failed_cohort_limit {
                self.suspended_until = Some(t.after(spec.suspend));
            }
        } else {
            self.fail_cohorts = 0.0;
            self.window = (self.window + 1.0).min(f64::from(spec.limit));
        }
    }
}
