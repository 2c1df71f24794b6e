//! Retry state shared across messages: the second axis of `reference/mta-defaults.md`
//! ("Modelling notes"), next to each message's own backoff. Each mechanism is off unless the
//! scenario turns it on (`[policy.shared]`):
//!
//! - **host retry records** (Exim `retry.c`): a first-hop host that refused a connection gets a
//!   record with its first failure and next try time, computed by the policy's backoff from the
//!   host's own failure history; until then, every message skips that host;
//! - **dead-destination throttling** (Postfix `qmgr_queue.c`): per destination a concurrency
//!   window (initial 5, limit 20); each connection-level failure adds 1/window to the failed
//!   cohorts and shrinks the window, each success resets the cohorts and grows it; when the failed
//!   cohorts reach the limit (1) the destination is suspended for 300 s and every message for it
//!   is deferred without a try ("delivery temporarily suspended");
//! - **circuit breaker** (resilience4j): a count-based window of recent outcomes per destination;
//!   at a failure rate at or above the threshold (with at least `min_calls`) it opens for
//!   `open_for`, then lets `half_open_probes` attempts through and closes or re-opens on their
//!   failure rate;
//! - **retry budget** (Finagle `RetryBudget`): over the last `ttl`, retries may not exceed
//!   `percent` of first attempts plus `min_per_second` × ttl; a retry over budget waits another
//!   backoff step without being tried.
//!
//! A destination is the route's first relay, or the recipient domain for direct delivery.
//! Outcomes update the state when the attempt starts (its outcome is computed then); the
//! difference from updating at its end is the attempt's few round trips.
//!
//! Invariant: this state depends only on attempts' outcomes, never on randomness of its own, so
//! the environment stays common to the policies compared.

use crate::ids::{DestinationId, HostId};
use crate::policy::{Backoff, RetryState, Step};
use crate::smtp::{codes, Reply};
use crate::time::{SimDuration, SimTime};
use std::collections::VecDeque;

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

/// Which shared mechanisms a scenario turns on.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedSpec {
    /// Exim-style per-host retry records.
    pub host_retry: bool,
    /// Exim's smtp `delay_after_cutoff` (default true): when every host of a message has
    /// failed past the final cutoff and none has reached its retry time, the message is
    /// bounced without an attempt; false tries the hosts not tried since the message arrived
    /// (and bounces when there are none).
    pub delay_after_cutoff: bool,
    /// Postfix-style dead-destination throttling.
    pub dead_destination: Option<DeadDestinationSpec>,
    /// Circuit breaker per destination.
    pub circuit_breaker: Option<BreakerSpec>,
    /// Retry budget over all messages.
    pub retry_budget: Option<BudgetSpec>,
}

impl Default for SharedSpec {
    fn default() -> Self {
        SharedSpec {
            host_retry: false,
            delay_after_cutoff: true,
            dead_destination: None,
            circuit_breaker: None,
            retry_budget: None,
        }
    }
}

impl SharedSpec {
    /// True when no mechanism is on (the simulation then skips this module entirely).
    pub fn is_off(&self) -> bool {
        !self.host_retry
            && self.dead_destination.is_none()
            && self.circuit_breaker.is_none()
            && self.retry_budget.is_none()
    }
}

/// Why an attempt was not made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Every first-hop host is in its retry time (Exim).
    HostRetry,
    /// Every first-hop host has failed past the final cutoff and none may be tried: the
    /// message is bounced without an attempt (Exim `delay_after_cutoff`).
    HostTimedOut,
    /// The destination is suspended as dead (Postfix).
    DeadDestination,
    /// The destination's circuit breaker is open.
    CircuitOpen,
    /// The retry budget is spent.
    RetryBudget,
}

impl Gate {
    /// Text for traces and reports.
    pub fn text(self) -> &'static str {
        match self {
            Gate::HostRetry => "host retry time not reached",
            Gate::HostTimedOut => "all hosts past their final cutoff",
            Gate::DeadDestination => "delivery temporarily suspended",
            Gate::CircuitOpen => "circuit open",
            Gate::RetryBudget => "retry budget exhausted",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct HostRecord {
    first_failed: SimTime,
    failures: u32,
    last_wait: Option<SimDuration>,
    next_try: SimTime,
    /// The last failure was past the final cutoff (Exim's `expired` flag).
    expired: bool,
    /// The last failure's time.
    last_try: SimTime,
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

#[derive(Clone, Debug)]
struct Destination {
    window: f64,
    fail_cohorts: f64,
    suspended_until: Option<SimTime>,
    breaker: BreakerState,
    outcomes: VecDeque<bool>,
}

/// The live shared state of one run.
#[derive(Debug)]
pub struct SharedState {
    spec: SharedSpec,
    hosts: Vec<Option<HostRecord>>,
    destinations: Vec<Destination>,
    first_attempts: VecDeque<SimTime>,
    retries: VecDeque<SimTime>,
}

impl SharedState {
    /// State for `hosts` hosts and `destinations` destinations.
    pub fn new(spec: SharedSpec, hosts: usize, destinations: usize) -> Self {
        let initial = f64::from(spec.dead_destination.unwrap_or_default().initial);
        SharedState {
            spec,
            hosts: vec![None; hosts],
            destinations: vec![
                Destination {
                    window: initial,
                    fail_cohorts: 0.0,
                    suspended_until: None,
                    breaker: BreakerState::Closed,
                    outcomes: VecDeque::new()
                };
                destinations
            ],
            first_attempts: VecDeque::new(),
            retries: VecDeque::new(),
        }
    }

    /// The gate before an attempt at `t` (`retry`: not the message's first) whose first hops
    /// would be `first_hops`: refused while every one of them is in its retry time (when
    /// none is listed, or for a `forced` attempt past Exim's final cutoff, the host gate is
    /// open), or when a destination or budget gate is shut.
    /// On refusal, the gate and the earliest time it may open. This and
    /// [`after_attempt`](Self::after_attempt) are the whole interface the attempt uses.
    pub fn before_attempt(
        &mut self,
        first_hops: &[HostId],
        destination: DestinationId,
        retry: bool,
        forced: bool,
        entered: SimTime,
        t: SimTime,
    ) -> Result<(), (Gate, SimTime)> {
        let mut earliest: Option<SimTime> = None;
        let mut ready = first_hops.is_empty() || forced;
        let mut timed_out = 0;
        for &h in first_hops {
            match self.host_ready_for(h, entered, t) {
                Ok(()) => ready = true,
                Err(at) => {
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                    timed_out += usize::from(self.hosts[h.index()].is_some_and(|r| r.expired));
                }
            }
        }
        if !ready {
            if timed_out == first_hops.len() {
                return Err((Gate::HostTimedOut, t));
            }
            return Err((Gate::HostRetry, earliest.unwrap_or(t)));
        }
        self.admit(destination, retry, t)
    }

    /// Whether a host may be contacted at `t` for a message that entered the queue at
    /// `entered`: as [`host_ready`](Self::host_ready), except that with `delay_after_cutoff`
    /// off a host past its final cutoff that was not tried since the message arrived may be.
    pub fn host_ready_for(
        &self,
        host: HostId,
        entered: SimTime,
        t: SimTime,
    ) -> Result<(), SimTime> {
        match (self.host_ready(host, t), self.hosts[host.index()]) {
            (Err(_), Some(r))
                if r.expired && !self.spec.delay_after_cutoff && r.last_try < entered =>
            {
                Ok(())
            }
            (result, _) => result,
        }
    }

    /// Feeds an attempt's outcome back: each first-hop host's answer (`first_hops`, the hosts
    /// the sender itself contacted, with what each answered), then the destination's
    /// (`reply`, what the sender was told). `backoff` computes a refused host's next try.
    pub fn after_attempt(
        &mut self,
        first_hops: impl Iterator<Item = (HostId, Reply)>,
        destination: DestinationId,
        reply: Reply,
        t: SimTime,
        backoff: &Backoff,
    ) {
        for (host, answer) in first_hops {
            self.host_outcome(host, answer == codes::NO_ANSWER, t, backoff);
        }
        self.destination_outcome(
            destination,
            reply == codes::NO_ANSWER,
            reply.is_transient(),
            t,
        );
    }

    /// Whether a host may be contacted at `t`, and if not, when it may.
    pub fn host_ready(&self, host: HostId, t: SimTime) -> Result<(), SimTime> {
        match self.hosts[host.index()] {
            Some(r) if self.spec.host_retry && r.next_try > t => Err(r.next_try),
            _ => Ok(()),
        }
    }

    /// Checks the destination and budget gates for an attempt (`retry`: not the first) at `t`.
    /// On refusal returns the gate and the earliest time it may open.
    fn admit(
        &mut self,
        destination: DestinationId,
        retry: bool,
        t: SimTime,
    ) -> Result<(), (Gate, SimTime)> {
        let d = &mut self.destinations[destination.index()];
        if let Some(until) = d.suspended_until {
            if t < until {
                return Err((Gate::DeadDestination, until));
            }
            // Postfix re-enables a dead destination with its initial concurrency.
            d.suspended_until = None;
            d.fail_cohorts = 0.0;
            d.window = self
                .spec
                .dead_destination
                .unwrap_or_default()
                .initial
                .into();
        }
        if let Some(spec) = self.spec.circuit_breaker {
            match d.breaker {
                BreakerState::Open { until } if t < until => {
                    return Err((Gate::CircuitOpen, until))
                }
                BreakerState::Open { .. } => {
                    d.breaker = BreakerState::HalfOpen {
                        permitted: spec.half_open_probes,
                        failures: 0,
                        done: 0,
                    };
                }
                _ => {}
            }
            if let BreakerState::HalfOpen { permitted: 0, .. } = d.breaker {
                // Probes are out; ask again shortly.
                return Err((Gate::CircuitOpen, t.after(SimDuration::from_secs(1))));
            }
        }
        if let Some(b) = self.spec.retry_budget {
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
                    return Err((Gate::RetryBudget, next));
                }
            }
        }
        // Every gate passed: only now take a half-open probe and record the attempt in the
        // budget, so a refusal never leaves state half-changed.
        if let BreakerState::HalfOpen { permitted, .. } =
            &mut self.destinations[destination.index()].breaker
        {
            *permitted -= 1;
        }
        if self.spec.retry_budget.is_some() {
            if retry {
                self.retries.push_back(t);
            } else {
                self.first_attempts.push_back(t);
            }
        }
        Ok(())
    }

    /// Records a first-hop host's answer: `refused` (4.4.1, a host error in Exim's terms)
    /// or any answer (the host is reachable). `backoff` computes the host's next try.
    fn host_outcome(&mut self, host: HostId, refused: bool, t: SimTime, backoff: &Backoff) {
        if !self.spec.host_retry {
            return;
        }
        let slot = &mut self.hosts[host.index()];
        if !refused {
            *slot = None;
            return;
        }
        let mut r = slot.unwrap_or(HostRecord {
            first_failed: t,
            failures: 0,
            last_wait: None,
            next_try: t,
            expired: false,
            last_try: t,
        });
        r.last_try = t;
        r.failures += 1;
        let state = RetryState {
            retry: r.failures,
            age: t.since(r.first_failed),
            now: t,
            previous: r.last_wait,
            u: 0.5,
        };
        let wait = match backoff.next(&state) {
            Step::Wait(w, _) => {
                r.expired = false;
                w
            }
            // Past the last cutoff Exim keeps retrying the host at the last interval.
            Step::Exhausted => {
                r.expired = true;
                r.last_wait.unwrap_or(SimDuration::from_mins(15))
            }
        };
        r.last_wait = Some(wait);
        let base = if backoff.whole_seconds() {
            SimTime(t.as_ms() / 1000 * 1000)
        } else {
            t
        };
        r.next_try = base.after(wait);
        *slot = Some(r);
    }

    /// Records an attempt's outcome at a destination: `connection_failure` (nothing answered:
    /// Postfix's negative feedback), `failed` (any transient failure: the breaker's failure).
    fn destination_outcome(
        &mut self,
        destination: DestinationId,
        connection_failure: bool,
        failed: bool,
        t: SimTime,
    ) {
        let d = &mut self.destinations[destination.index()];
        if let Some(spec) = self.spec.dead_destination {
            if connection_failure {
                d.fail_cohorts += 1.0 / d.window;
                d.window = (d.window - 1.0).max(1.0);
                if d.fail_cohorts >= spec.failed_cohort_limit {
                    d.suspended_until = Some(t.after(spec.suspend));
                }
            } else {
                d.fail_cohorts = 0.0;
                d.window = (d.window + 1.0).min(f64::from(spec.limit));
            }
        }
        if let Some(spec) = self.spec.circuit_breaker {
            match &mut d.breaker {
                BreakerState::HalfOpen { failures, done, .. } => {
                    *done += 1;
                    *failures += u32::from(failed);
                    if *done >= spec.half_open_probes {
                        let rate = f64::from(*failures) / f64::from(*done);
                        d.outcomes.clear();
                        d.breaker = if rate >= spec.failure_rate {
                            BreakerState::Open {
                                until: t.after(spec.open_for),
                            }
                        } else {
                            BreakerState::Closed
                        };
                    }
                }
                BreakerState::Closed => {
                    d.outcomes.push_back(failed);
                    if d.outcomes.len() > spec.window as usize {
                        d.outcomes.pop_front();
                    }
                    let n = d.outcomes.len();
                    let failures = d.outcomes.iter().filter(|&&f| f).count();
                    if n >= spec.min_calls as usize
                        && failures as f64 / n as f64 >= spec.failure_rate
                    {
                        d.breaker = BreakerState::Open {
                            until: t.after(spec.open_for),
                        };
                        d.outcomes.clear();
                    }
                }
                BreakerState::Open { .. } => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mins(m: u64) -> SimTime {
        SimTime(m * 60_000)
    }

    #[test]
    fn hosts_past_the_final_cutoff_bounce_or_get_one_try_per_message() {
        // Exim F,2m,1m: a host refused from t = 0 every minute is past its cutoff at 3 min.
        let rules = Backoff::Exim(crate::policy::EximRules::parse("F,2m,1m").unwrap());
        let host = HostId(0);
        let refused = crate::smtp::codes::NO_ANSWER;
        let feed = |s: &mut SharedState, t: SimTime| {
            s.after_attempt(
                std::iter::once((host, refused)),
                DestinationId(0),
                refused,
                t,
                &rules,
            )
        };
        for delay_after_cutoff in [true, false] {
            let spec = SharedSpec {
                host_retry: true,
                delay_after_cutoff,
                ..Default::default()
            };
            let mut s = SharedState::new(spec, 1, 1);
            for m in 0..=3 {
                feed(&mut s, mins(m));
            }
            // In its retry time and past the cutoff.
            let t = mins(3).after(SimDuration::from_secs(10));
            let old_message = s.before_attempt(&[host], DestinationId(0), true, false, mins(1), t);
            let new_message = s.before_attempt(&[host], DestinationId(0), false, false, t, t);
            if delay_after_cutoff {
                assert_eq!(old_message, Err((Gate::HostTimedOut, t)));
                assert_eq!(new_message, Err((Gate::HostTimedOut, t)));
            } else {
                // Tried since the old message arrived: bounced; never for the new one: tried.
                assert_eq!(old_message, Err((Gate::HostTimedOut, t)));
                assert_eq!(new_message, Ok(()));
            }
            // A forced attempt (the message itself past its cutoff) always goes through.
            assert_eq!(
                s.before_attempt(&[host], DestinationId(0), true, true, mins(1), t),
                Ok(())
            );
        }
    }

    #[test]
    fn postfix_suspends_a_destination_after_a_failed_cohort() {
        // Goal: with window 5, five connection failures make one failed cohort (1/5 + 1/4 + ...
        // reaches 1 after 3: 1/5 + 1/4 + 1/3 = 0.78, + 1/2 = 1.28), then 300 s of suspension.
        let spec = SharedSpec {
            dead_destination: Some(DeadDestinationSpec::default()),
            ..Default::default()
        };
        let mut s = SharedState::new(spec, 1, 1);
        for i in 0..3 {
            assert!(s.admit(DestinationId(0), true, mins(i)).is_ok());
            s.destination_outcome(DestinationId(0), true, true, mins(i));
        }
        assert!(s.admit(DestinationId(0), true, mins(3)).is_ok());
        s.destination_outcome(DestinationId(0), true, true, mins(3));
        assert_eq!(
            s.admit(DestinationId(0), true, mins(4)),
            Err((Gate::DeadDestination, mins(8)))
        );
        assert!(
            s.admit(DestinationId(0), true, mins(8)).is_ok(),
            "re-enabled after minimal_backoff_time"
        );
    }

    #[test]
    fn breaker_opens_probes_and_closes() {
        let spec = SharedSpec {
            circuit_breaker: Some(BreakerSpec {
                window: 4,
                min_calls: 4,
                failure_rate: 0.5,
                open_for: SimDuration::from_mins(10),
                half_open_probes: 2,
            }),
            ..Default::default()
        };
        let mut s = SharedState::new(spec, 1, 1);
        for (i, failed) in [false, true, false, true].into_iter().enumerate() {
            assert!(s.admit(DestinationId(0), false, mins(i as u64)).is_ok());
            s.destination_outcome(DestinationId(0), failed, failed, mins(i as u64));
        }
        assert_eq!(
            s.admit(DestinationId(0), false, mins(5)),
            Err((Gate::CircuitOpen, mins(13)))
        );
        assert!(
            s.admit(DestinationId(0), false, mins(13)).is_ok(),
            "first probe"
        );
        assert!(
            s.admit(DestinationId(0), false, mins(13)).is_ok(),
            "second probe"
        );
        assert!(
            matches!(
                s.admit(DestinationId(0), false, mins(13)),
                Err((Gate::CircuitOpen, _))
            ),
            "no third probe"
        );
        s.destination_outcome(DestinationId(0), false, false, mins(14));
        s.destination_outcome(DestinationId(0), false, false, mins(14));
        assert!(
            s.admit(DestinationId(0), false, mins(15)).is_ok(),
            "closed after good probes"
        );
    }

    #[test]
    fn retry_budget_caps_retries_at_a_share_of_first_attempts() {
        let spec = SharedSpec {
            retry_budget: Some(BudgetSpec {
                percent: 0.2,
                min_per_second: 0.0,
                ttl: SimDuration::from_mins(10),
            }),
            ..Default::default()
        };
        let mut s = SharedState::new(spec, 1, 1);
        for i in 0..10 {
            assert!(s.admit(DestinationId(0), false, SimTime(i)).is_ok());
        }
        assert!(s.admit(DestinationId(0), true, SimTime(20)).is_ok());
        assert!(s.admit(DestinationId(0), true, SimTime(21)).is_ok());
        assert!(
            matches!(
                s.admit(DestinationId(0), true, SimTime(22)),
                Err((Gate::RetryBudget, _))
            ),
            "20% of 10 first attempts = 2 retries"
        );
        // After the window, the first attempts have expired too: no budget without traffic.
        assert!(matches!(
            s.admit(DestinationId(0), true, mins(11)),
            Err((Gate::RetryBudget, _))
        ));
    }

    #[test]
    fn host_records_follow_the_backoff_from_the_hosts_first_failure() {
        let spec = SharedSpec {
            host_retry: true,
            ..Default::default()
        };
        let mut s = SharedState::new(spec, 2, 1);
        let backoff = Backoff::Fixed {
            interval: SimDuration::from_mins(15),
        };
        s.host_outcome(HostId(1), true, mins(0), &backoff);
        assert_eq!(s.host_ready(HostId(1), mins(5)), Err(mins(15)));
        assert_eq!(s.host_ready(HostId(0), mins(5)), Ok(()));
        s.host_outcome(HostId(1), false, mins(15), &backoff);
        assert_eq!(s.host_ready(HostId(1), mins(15)), Ok(()));
    }
}
