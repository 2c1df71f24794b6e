//! The queue-lifetime give-up rule, in one place: when a message stops being retried because
//! it has been queued too long. The engine (after a failure, when shared state holds an
//! attempt back, and while a message waits for a queue slot), `mxsim schedule` and `mxsim
//! trace` all ask these three functions, so they cannot disagree.
//!
//! The semantics differ between MTAs (`reference/mta-defaults.md` (a), "Modelling notes"):
//! - `deadline` (Stalwart): no attempt at or after `entered + queue_lifetime`; the message
//!   expires exactly then, also while it waits for a queue slot;
//! - `after-attempt` (Postfix `qmgr_active.c`: a message is bounced when a delivery attempt
//!   fails and it is older than `maximal_queue_lifetime`): the schedule goes on as usual, a
//!   failure at or after the lifetime ends the message, so one attempt past the lifetime
//!   always happens, even for a message that was waiting for a slot;
//! - `overshoot` (KumoMTA): expire as soon as the next try would be after the lifetime; a try
//!   due exactly at the deadline is still made.

use crate::time::{SimDuration, SimTime};

/// How the queue lifetime ends a message's retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUp {
    /// Expire exactly at the deadline, with no attempt at or after it (Stalwart).
    Deadline,
    /// Keep the schedule; bounce on the first failure at or after the lifetime (Postfix).
    AfterAttempt,
    /// Expire as soon as the next wait would end past the lifetime (KumoMTA).
    Overshoot,
}

impl GiveUp {
    /// Names as written in scenario files.
    pub const NAMES: [&'static str; 3] = ["deadline", "after-attempt", "overshoot"];

    /// Every mode, for tests and docs.
    pub const ALL: [GiveUp; 3] = [GiveUp::Deadline, GiveUp::AfterAttempt, GiveUp::Overshoot];

    /// Parses a scenario name.
    pub fn from_name(name: &str) -> Option<GiveUp> {
        match name {
            "deadline" => Some(GiveUp::Deadline),
            "after-attempt" => Some(GiveUp::AfterAttempt),
            "overshoot" => Some(GiveUp::Overshoot),
            _ => None,
        }
    }

    /// The scenario name.
    pub fn name(self) -> &'static str {
        GiveUp::NAMES[self as usize]
    }

    /// Whether an attempt may start at `t` for a message whose lifetime ends at `deadline`.
    /// `after-attempt` allows attempts past the lifetime by design (the failure after it ends
    /// the message).
    pub fn attempt_allowed(self, deadline: SimTime, t: SimTime) -> bool {
        match self {
            GiveUp::Deadline => t < deadline,
            GiveUp::Overshoot => t <= deadline,
            GiveUp::AfterAttempt => true,
        }
    }

    /// After a failure (or an attempt held back) at `now` whose next try would be at `next`:
    /// the time the message expires instead, if it does.
    pub fn ends(self, deadline: SimTime, now: SimTime, next: SimTime) -> Option<SimTime> {
        match self {
            GiveUp::Deadline => (next >= deadline).then_some(deadline.max(now)),
            GiveUp::Overshoot => (next > deadline).then_some(now),
            GiveUp::AfterAttempt => (now >= deadline).then_some(now),
        }
    }

    /// A message due since `now` waits for a queue slot: the first time from `now` at which
    /// its attempt would no longer be allowed, when it expires without it (`None` for
    /// `after-attempt`, which promises the attempt: the message waits for its slot).
    pub fn waiting_expires_at(self, deadline: SimTime, now: SimTime) -> Option<SimTime> {
        match self {
            GiveUp::Deadline => Some(deadline.max(now)),
            GiveUp::Overshoot => Some(deadline.after(SimDuration::from_ms(1)).max(now)),
            GiveUp::AfterAttempt => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_message_expires_exactly_when_its_attempt_stops_being_allowed() {
        let deadline = SimTime(1_000);
        for mode in GiveUp::ALL {
            for now in [0, 999, 1_000, 1_001, 5_000] {
                let now = SimTime(now);
                // The first time t ≥ now at which an attempt is not allowed, by brute force.
                let first_refused = (now.as_ms()..10_000)
                    .map(SimTime)
                    .find(|&t| !mode.attempt_allowed(deadline, t));
                assert_eq!(
                    mode.waiting_expires_at(deadline, now),
                    first_refused,
                    "{mode:?} at {now:?}"
                );
            }
        }
    }

    #[test]
    fn each_mode_ends_a_failed_message_as_its_mta_does() {
        let d = SimTime(1_000);
        // Stalwart: a next try at or after the deadline expires at the deadline.
        assert_eq!(
            GiveUp::Deadline.ends(d, SimTime(900), SimTime(1_000)),
            Some(d)
        );
        assert_eq!(GiveUp::Deadline.ends(d, SimTime(900), SimTime(999)), None);
        // KumoMTA: a next try past the deadline expires now; one exactly at it is made.
        assert_eq!(
            GiveUp::Overshoot.ends(d, SimTime(900), SimTime(1_000)),
            None
        );
        assert_eq!(
            GiveUp::Overshoot.ends(d, SimTime(900), SimTime(1_001)),
            Some(SimTime(900))
        );
        // Postfix: only a failure at or after the lifetime ends the message.
        assert_eq!(
            GiveUp::AfterAttempt.ends(d, SimTime(900), SimTime(5_000)),
            None
        );
        assert_eq!(
            GiveUp::AfterAttempt.ends(d, SimTime(1_200), SimTime(5_000)),
            Some(SimTime(1_200))
        );
    }
}
