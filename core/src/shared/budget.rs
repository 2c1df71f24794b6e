//! A retry budget over all messages (Finagle `RetryBudget`): over the last `ttl`, retries may
//! not exceed `percent` of first attempts plus `min_per_second` × ttl; a retry over budget
//! waits another backoff step without being tried.

use crate::time::{SimDuration, SimTime};
use std::collections::VecDeque;

/// Finagle retry-budget parameters (its defaults: 20%, 10 retries/s, TTL 10 s).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetSpec {
    /// Share of first attempts that may be retried.
    pub percent: f64,
    /// Retries always allowed per second, whatever the first attempts.
    pub min_per_second: f64,
    /// Window over which attempts count.
    pub ttl: SimDuration,
}

impl Default for BudgetSpec {
    fn default() -> Self {
        BudgetSpec {
            percent: 0.2,
            min_per_second: 10.0,
            ttl: SimDuration::from_secs(10),
        }
    }
}

/// First attempts and retries within the last `ttl`.
#[derive(Debug, Default)]
pub(super) struct RetryBudget {
    first_attempts: VecDeque<SimTime>,
    retries: VecDeque<SimTime>,
}

impl RetryBudget {
    /// `Err(when to look again)` when a retry (`retry`) at `t` would exceed the budget. First
    /// attempts always pass. Records nothing: see [`record`](Self::record).
    pub(super) fn admit(&mut self, b: BudgetSpec, retry: bool, t: SimTime) -> Result<(), SimTime> {
        // Entries older than the TTL expire: keep those with x > t − ttl.
        if let Some(horizon) = t.as_ms().checked_sub(b.ttl.as_ms()).map(SimTime) {
            while self.first_attempts.front().is_some_and(|&x| x <= horizon) {
                self.first_attempts.pop_front();
            }
            while self.retries.front().is_some_and(|&x| x <= horizon) {
                self.retries.pop_front();
            }
        }
        if retry {
            let allowed = b.percent * self.first_attempts.len() as f64
                + b.min_per_second * b.ttl.as_secs_f64();
            if self.retries.len() as f64 + 1.0 > allowed {
                // Room appears when the oldest retry leaves the window; with none in it,
                // only new first attempts can make room, so look again a window later.
                let next = self
                    .retries
                    .front()
                    .map_or(t.after(b.ttl), |&x| x.after(b.ttl))
                    .max(t.after(SimDuration::from_ms(1)));
                return Err(next);
            }
        }
        Ok(())
    }

    /// Counts an attempt every gate let through.
    pub(super) fn record(&mut self, retry: bool, t: SimTime) {
        if retry {
            self.retries.push_back(t);
        } else {
            self.first_attempts.push_back(t);
        }
    }
}
