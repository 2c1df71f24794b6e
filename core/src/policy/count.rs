//! Which failures a count-based backoff counts when `on_code` rules govern some of them.
//!
//! `exponential` and `list` waits depend on the retry number k. A message whose failures
//! change kind (36 five-minute `on_code "4.4.3"` retries, then one 4.4.1 that the default
//! exponential governs) either counts every attempt (k = 37: the 4.4.1 waits the cap, as
//! KumoMTA's `num_attempts` does) or only the run of failures its own rule governed (k = 1:
//! the exponential starts over from its initial wait). `policy.backoff_counts` chooses
//! ([`BackoffCounts`]); traces show the k a backoff saw whenever the two differ.
//!
//! Families that do not count (fixed, age_clamp, queue_run, exim: Exim measures time since
//! the first failure) are unaffected.

/// Which failures the retry number k of a count-based backoff counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackoffCounts {
    /// Every failed attempt of the message in this MTA, whatever rule governed it (KumoMTA's
    /// `num_attempts`; mxsim's default).
    #[default]
    All,
    /// Only the failures in a row that the same rule governed: when another rule takes over,
    /// its backoff starts again from its first wait (and decorrelated jitter from no previous
    /// wait).
    Streak,
}

impl BackoffCounts {
    /// Names as written in scenario files (`policy.backoff_counts`).
    pub const NAMES: [&'static str; 2] = ["all", "streak"];

    /// Parses a scenario name.
    pub fn from_name(name: &str) -> Option<BackoffCounts> {
        match name {
            "all" => Some(BackoffCounts::All),
            "streak" => Some(BackoffCounts::Streak),
            _ => None,
        }
    }

    /// The scenario name.
    pub fn name(self) -> &'static str {
        BackoffCounts::NAMES[self as usize]
    }
}

/// Which rule governs a failure, compactly: 0 is the default backoff, i + 1 is
/// `policy.on_code[i]` (the loader bounds the rule count, [`RULES_MAX`]).
pub type RuleKey = u16;

/// Most `on_code` rules a policy may have, so a [`RuleKey`] fits in 16 bits (keeps the
/// per-message state at 88 bytes).
pub const RULES_MAX: usize = 1_000;

/// The run of consecutive failures one rule governed, kept per message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Streak {
    /// The rule of the run's failures.
    pub rule: RuleKey,
    /// Failures in the run (0: no failure yet).
    pub len: u32,
}

impl Streak {
    /// Before the first failure.
    pub const NONE: Streak = Streak { rule: 0, len: 0 };

    /// The run after one more failure that `rule` governs: one longer if the same rule
    /// governed the previous failure, else a new run of one.
    pub fn then(self, rule: RuleKey) -> Streak {
        if self.len > 0 && self.rule == rule {
            Streak {
                rule,
                len: self.len.saturating_add(1),
            }
        } else {
            Streak { rule, len: 1 }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streak_grows_under_one_rule_and_restarts_when_another_takes_over() {
        let s = Streak::NONE.then(1).then(1).then(1);
        assert_eq!(s, Streak { rule: 1, len: 3 });
        assert_eq!(s.then(0), Streak { rule: 0, len: 1 });
        assert_eq!(s.then(0).then(1), Streak { rule: 1, len: 1 });
        // The default rule's key is 0, as is NONE's: the first failure still starts at 1.
        assert_eq!(Streak::NONE.then(0), Streak { rule: 0, len: 1 });
    }

    use crate::policy::{Backoff, CodePattern, CodeRule, Decision, Failure, Jitter, RetryPolicy};
    use crate::smtp::{codes, Reply};
    use crate::time::{SimDuration, SimTime};

    /// The case: 36 five-minute `on_code "4.4.3"` retries, then one 4.4.1 under the
    /// default exponential 5m ×2 capped at 4h.
    fn after_36_routing_failures(counts: BackoffCounts) -> (RetryPolicy, Decision) {
        let mut policy = RetryPolicy::simple(Backoff::Exponential {
            initial: SimDuration::from_mins(5),
            factor: 2.0,
            max: Some(SimDuration::from_hours(4)),
            jitter: Jitter::None,
        });
        policy.on_code.push(CodeRule {
            pattern: CodePattern::parse("4.4.3").unwrap(),
            backoff: Backoff::Fixed {
                interval: SimDuration::from_mins(5),
            },
        });
        policy.backoff_counts = counts;
        let mut streak = Streak::NONE;
        for _ in 0..36 {
            streak = policy.streak_after(streak, codes::ROUTING_SERVER_FAILURE);
        }
        assert_eq!(streak, Streak { rule: 1, len: 36 });
        let reply: Reply = codes::NO_ANSWER;
        let failure = Failure {
            reply,
            arrival: SimTime::ZERO,
            now: SimTime(37 * 5 * 60_000),
            attempts: 37,
            previous: Some(SimDuration::from_mins(5)),
            streak: policy.streak_after(streak, reply),
            u: 0.0,
            hint: None,
        };
        let decision = policy.decide(&failure);
        (policy, decision)
    }

    fn wait(d: Decision) -> SimDuration {
        match d {
            Decision::Retry { wait, .. } => wait,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn counting_all_failures_sends_a_first_4_4_1_to_the_cap() {
        let (policy, d) = after_36_routing_failures(BackoffCounts::All);
        assert_eq!(wait(d), SimDuration::from_hours(4));
        assert_eq!(
            policy.rule_text(&d),
            "exponential, retry 37 (counts failures under other rules too)"
        );
    }

    #[test]
    fn counting_the_streak_restarts_the_exponential_from_its_first_wait() {
        let (policy, d) = after_36_routing_failures(BackoffCounts::Streak);
        assert_eq!(wait(d), SimDuration::from_mins(5));
        assert_eq!(
            policy.rule_text(&d),
            "exponential, retry 1 of its streak (36 earlier failures not counted)"
        );
    }

    #[test]
    fn names_round_trip() {
        for name in BackoffCounts::NAMES {
            assert_eq!(BackoffCounts::from_name(name).unwrap().name(), name);
        }
        assert_eq!(BackoffCounts::from_name("own"), None);
    }
}
