//! A retry budget over all messages (Finagle `RetryBudget`): over the last `ttl`, retries may
//! not exceed `percent` of first attempts plus `min_per_second` × ttl; a retry over budget
//! waits without being tried.
//!
//! Held retries are parked in order: each is told to come back when a place in the window
//! frees for *it* (the k-th held retry when the k-th oldest retry leaves the window, later
//! ones spread at the budget's rate), so a herd of held messages does not wake at one instant
//! and re-poll the budget again and again (`retry-storm.toml` with a budget used to spend
//! 99.7 M events doing that).

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
    /// Wake times handed to held retries that are not yet due, ascending.
    parked: VecDeque<SimTime>,
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
        // Held retries due by now compete like any other.
        while self.parked.front().is_some_and(|&x| x <= t) {
            self.parked.pop_front();
        }
        if retry {
            let allowed = b.percent * self.first_attempts.len() as f64
                + b.min_per_second * b.ttl.as_secs_f64();
            if self.retries.len() as f64 + 1.0 > allowed {
                let next = self.place_for_held(b, allowed, t);
                self.parked.push_back(next);
                return Err(next);
            }
        }
        Ok(())
    }

    /// When the next held retry may find room: the k-th held retry (k already parked) when
    /// the k-th oldest retry leaves the window; past those, one every ttl / allowed after the
    /// last one parked (the budget's steady rate). Never before the last parked one, and at
    /// least 1 ms from now.
    fn place_for_held(&self, b: BudgetSpec, allowed: f64, t: SimTime) -> SimTime {
        let k = self.parked.len();
        let after_last = self.parked.back().copied();
        let step =
            SimDuration::from_ms(((b.ttl.as_ms() as f64 / allowed.max(1.0)).ceil() as u64).max(1));
        let next = match self.retries.get(k) {
            Some(&x) => x.after(b.ttl),
            None => after_last.map_or(t.after(b.ttl), |l| l.after(step)),
        };
        next.max(after_last.unwrap_or(SimTime::ZERO))
            .max(t.after(SimDuration::from_ms(1)))
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
