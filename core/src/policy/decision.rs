//! What [`RetryPolicy::decide`](super::RetryPolicy::decide) reads (a [`Failure`]) and
//! returns (a [`Decision`]), and the names of the rules behind it.

use super::Streak;
use crate::smtp::Reply;
use crate::time::{SimDuration, SimTime};

/// Which backoff applied to a failure: the default or an `on_code` rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleUsed {
    /// `policy.retry`.
    Default,
    /// `policy.on_code[i]`.
    OnCode(usize),
    /// The server's own retry hint (`honor_hints`).
    Hint,
    /// Shared retry state held the attempt back ([`RetryPolicy::decide_gated`]).
    Gate,
    /// Exim's forced attempt: the message has failed past the final cutoff, so the next
    /// queue run tries it before its retry time (and a failure then times it out).
    FinalCutoff,
}

/// Why a message was given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The queue lifetime ran out.
    Lifetime,
    /// The attempt cap was reached.
    MaxAttempts,
    /// The backoff family gave up (Exim rules timed out, a non-repeating list ended).
    Exhausted,
}

impl GiveUpReason {
    /// Text for reports and schedules.
    pub fn text(self) -> &'static str {
        match self {
            GiveUpReason::Lifetime => "queue lifetime",
            GiveUpReason::MaxAttempts => "maximum attempts",
            GiveUpReason::Exhausted => "retry rules exhausted",
        }
    }
}

/// What happens after a transient failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Try again at `at`; `wait` is the backoff's wait (before scan rounding).
    Retry {
        /// When.
        at: SimTime,
        /// The backoff's wait.
        wait: SimDuration,
        /// Which rule chose it.
        rule: RuleUsed,
        /// Sub-rule (Exim rule index).
        part: usize,
        /// What the message's failures were when it was decided (traces show the retry
        /// number a count-based backoff saw).
        counted: Counted,
    },
    /// Give up at `at` (now, or a later deadline / due time) with 4.4.7.
    Expire {
        /// When.
        at: SimTime,
        /// Why.
        reason: GiveUpReason,
    },
}

impl Decision {
    /// When it takes effect: the retry time, or the expiry time.
    pub fn at(&self) -> SimTime {
        match *self {
            Decision::Retry { at, .. } | Decision::Expire { at, .. } => at,
        }
    }
}

/// A message's failures when a retry was decided: all of them in its MTA, and the run of
/// them its current rule governed ([`count`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    /// Failed attempts so far, including this one.
    pub attempts: u32,
    /// Of those, the last ones in a row that the rule of this failure governed.
    pub streak: u32,
}

/// What a policy needs to know about a message that just failed.
#[derive(Clone, Copy, Debug)]
pub struct Failure {
    /// The failure.
    pub reply: Reply,
    /// When the message arrived.
    pub arrival: SimTime,
    /// When the failure reached the sender.
    pub now: SimTime,
    /// Attempts made so far, including this one.
    pub attempts: u32,
    /// The previous wait, if any.
    pub previous: Option<SimDuration>,
    /// The run of failures, ending with this one, that this failure's rule governed
    /// ([`RetryPolicy::streak_after`]).
    pub streak: Streak,
    /// Uniform draw in [0, 1) for jitter.
    pub u: f64,
    /// The reply's retry hint, if it carried one.
    pub hint: Option<SimDuration>,
}
