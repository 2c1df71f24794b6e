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

//!
//! Homes: this file holds the scenario's choice ([`SharedSpec`]), the gates ([`Gate`]) and
//! [`SharedState`], the only interface the attempt uses (`before_attempt`, `after_attempt`);
//! each mechanism lives in its own module: `host_retry`, `dead_destination`, `breaker`,
//! `budget`.

mod breaker;
mod budget;
mod dead_destination;
mod host_retry;

pub use breaker::BreakerSpec;
pub use budget::BudgetSpec;
pub use dead_destination::DeadDestinationSpec;

use crate::ids::{DestinationId, HostId};
use crate::policy::Backoff;
use crate::smtp::{codes, Reply};
use crate::time::SimTime;
use breaker::Breaker;
use budget::RetryBudget;
use dead_destination::DeadDestination;
use host_retry::HostRetry;

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
    /// The site's `max_message_rate` (traffic shaping, `crate::shaping`) has no cell free
    /// yet: the message waits for the one booked for it.
    MessageRate,
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
            Gate::MessageRate => crate::shaping::HELD_BY_MESSAGE_RATE,
        }
    }
}

/// What one destination remembers.
#[derive(Clone, Debug)]
struct Destination {
    dead: DeadDestination,
    breaker: Breaker,
}

/// The live shared state of one run.
#[derive(Debug)]
pub struct SharedState {
    spec: SharedSpec,
    hosts: HostRetry,
    destinations: Vec<Destination>,
    budget: RetryBudget,
}

impl SharedState {
    /// State for `hosts` hosts and `destinations` destinations.
    pub fn new(spec: SharedSpec, hosts: usize, destinations: usize) -> Self {
        let destination = Destination {
            dead: DeadDestination::new(spec.dead_destination.unwrap_or_default()),
            breaker: Breaker::new(),
        };
        SharedState {
            spec,
            hosts: HostRetry::new(hosts),
            destinations: vec![destination; destinations],
            budget: RetryBudget::default(),
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
                    timed_out += usize::from(self.hosts.expired(h));
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
        match self.host_ready(host, t) {
            Err(_) if !self.spec.delay_after_cutoff && self.hosts.expired_before(host, entered) => {
                Ok(())
            }
            result => result,
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
        if self.spec.host_retry {
            for (host, answer) in first_hops {
                self.hosts
                    .outcome(host, answer == codes::NO_ANSWER, t, backoff);
            }
        }
        let d = &mut self.destinations[destination.index()];
        if let Some(spec) = self.spec.dead_destination {
            d.dead.outcome(spec, reply == codes::NO_ANSWER, t);
        }
        if let Some(spec) = self.spec.circuit_breaker {
            d.breaker.outcome(spec, reply.is_transient(), t);
        }
    }

    /// Whether a host may be contacted at `t`, and if not, when it may.
    pub fn host_ready(&self, host: HostId, t: SimTime) -> Result<(), SimTime> {
        match self.hosts.next_try(host, t) {
            Some(next) if self.spec.host_retry => Err(next),
            _ => Ok(()),
        }
    }

    /// Checks the destination and budget gates for an attempt (`retry`: not the first) at `t`,
    /// in Postfix's, the breaker's and the budget's order. On refusal returns the gate and the
    /// earliest time it may open.
    fn admit(
        &mut self,
        destination: DestinationId,
        retry: bool,
        t: SimTime,
    ) -> Result<(), (Gate, SimTime)> {
        let d = &mut self.destinations[destination.index()];
        d.dead
            .admit(self.spec.dead_destination.unwrap_or_default(), t)
            .map_err(|until| (Gate::DeadDestination, until))?;
        if let Some(spec) = self.spec.circuit_breaker {
            d.breaker
                .admit(spec, t)
                .map_err(|until| (Gate::CircuitOpen, until))?;
        }
        if let Some(b) = self.spec.retry_budget {
            self.budget
                .admit(b, retry, t)
                .map_err(|next| (Gate::RetryBudget, next))?;
        }
        // Every gate passed: only now take a half-open probe and record the attempt in the
        // budget, so a refusal never leaves state half-changed.
        self.destinations[destination.index()].breaker.take_probe();
        if self.spec.retry_budget.is_some() {
            self.budget.record(retry, t);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimDuration;

    /// An attempt at the destination whose reply is a refused connection (`failed`) or 250.
    fn feed_destination(s: &mut SharedState, failed: bool, t: SimTime) {
        let reply = if failed { codes::NO_ANSWER } else { codes::OK };
        let backoff = Backoff::Fixed {
            interval: SimDuration::from_mins(1),
        };
        s.after_attempt(std::iter::empty(), DestinationId(0), reply, t, &backoff);
    }

    /// An attempt whose first hop `host` refused the connection (`refused`) or answered.
    fn feed_host(s: &mut SharedState, host: HostId, refused: bool, t: SimTime, backoff: &Backoff) {
        let answer = if refused { codes::NO_ANSWER } else { codes::OK };
        s.after_attempt(
            std::iter::once((host, answer)),
            DestinationId(0),
            answer,
            t,
            backoff,
        );
    }

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
            feed_destination(&mut s, true, mins(i));
        }
        assert!(s.admit(DestinationId(0), true, mins(3)).is_ok());
        feed_destination(&mut s, true, mins(3));
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
            feed_destination(&mut s, failed, mins(i as u64));
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
        feed_destination(&mut s, false, mins(14));
        feed_destination(&mut s, false, mins(14));
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
        feed_host(&mut s, HostId(1), true, mins(0), &backoff);
        assert_eq!(s.host_ready(HostId(1), mins(5)), Err(mins(15)));
        assert_eq!(s.host_ready(HostId(0), mins(5)), Ok(()));
        feed_host(&mut s, HostId(1), false, mins(15), &backoff);
        assert_eq!(s.host_ready(HostId(1), mins(15)), Ok(()));
    }
}
