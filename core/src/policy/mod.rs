//! The sender's retry policy: a backoff family, per-code overrides and the give-up rules.
//!
//! One function, [`RetryPolicy::decide`], turns a failure into "retry at t" or "give up at t";
//! the simulation and `mxsim schedule` both call it, so what the schedule prints is what runs.
//!
//! Give-up semantics differ between MTAs (`reference/mta-defaults.md` (a), "Modelling notes"),
//! so each is selectable ([`GiveUp`]):
//! - `deadline` (Stalwart): no attempt at or after `arrival + queue_lifetime`; the message
//!   expires exactly then;
//! - `after-attempt` (Postfix `qmgr_active.c`): retries are scheduled as usual; a failure at or
//!   after the lifetime bounces the message, so one attempt just past the lifetime happens;
//! - `overshoot` (KumoMTA): the message expires as soon as `age + next wait > lifetime`;
//! - `max_attempts` (Haraka, Postal): give up after N attempts, either at the N-th failure
//!   (Haraka) or when the next try comes due (Postal checks at dequeue).
//!
//! Per-code overrides by pattern (`"4.4.3"`, `"4.7.*"`, `"4.*.*"`, `"421"`, `"45x"`): the most
//! specific pattern wins, so the brief's R1 ("retry 4.4.3 after 1–4 h") is one line.

pub mod backoff;
pub mod count;
pub mod decision;
pub mod exim;
pub mod lifetime;
pub mod pattern;
pub mod presets;
pub mod scan;
pub mod timeline;

pub use backoff::{Backoff, Jitter, RetryState, Step};
pub use count::{BackoffCounts, RuleKey, Streak};
pub use decision::{Counted, Decision, Failure, GiveUpReason, RuleUsed};
pub use exim::EximRules;
pub use lifetime::GiveUp;
pub use pattern::CodePattern;
pub use presets::{preset, presets, unknown_preset_help, Preset};
pub use scan::QueueScan;

use crate::smtp::Reply;
use crate::time::{SimDuration, SimTime};

/// When a maximum attempt count is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxAttemptsCheck {
    /// At the failure of the last allowed attempt (Haraka).
    AtFailure,
    /// When the next try comes due, without trying (Postal checks at dequeue).
    AtNextDue,
}

/// A backoff that applies to failures matching a code pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeRule {
    /// Which replies it covers.
    pub pattern: CodePattern,
    /// The backoff used after such a failure.
    pub backoff: Backoff,
}

/// The sender's complete retry policy.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Backoff when no rule matches.
    pub default: Backoff,
    /// Overrides by status code; the most specific match wins (ties: first written).
    pub on_code: Vec<CodeRule>,
    /// Which failures the retry number of `exponential` and `list` counts ([`count`]).
    pub backoff_counts: BackoffCounts,
    /// Give-up age.
    pub queue_lifetime: SimDuration,
    /// How the lifetime ends retries.
    pub give_up: GiveUp,
    /// Most attempts per message, and when that is enforced.
    pub max_attempts: Option<(u32, MaxAttemptsCheck)>,
    /// Deferred-queue scans: retries happen at the first scan at or after their due time
    /// (Postfix `queue_run_delay`, Exim's queue runner); `None` retries exactly when due.
    pub queue_scan: Option<QueueScan>,
    /// Ages at which a "delayed" DSN is sent to a still-undelivered message's sender.
    pub delay_warnings: Vec<SimDuration>,
    /// Use a 4xx reply's "try again in N seconds/minutes" hint as the wait, plus 10 s
    /// (Postal `single_message_processor.rb`); opt-in.
    pub honor_hints: bool,
}

impl RetryPolicy {
    /// A policy with `default` backoff and every other knob at mxsim's defaults (5-day
    /// deadline, no attempt cap, no scan rounding, no warnings).
    pub fn simple(default: Backoff) -> Self {
        RetryPolicy {
            default,
            on_code: Vec::new(),
            backoff_counts: BackoffCounts::All,
            queue_lifetime: SimDuration::from_days(5),
            give_up: GiveUp::Deadline,
            max_attempts: None,
            queue_scan: None,
            delay_warnings: Vec::new(),
            honor_hints: false,
        }
    }
}

impl RetryPolicy {
    /// The backoff for a failure with `reply`, and which rule supplied it.
    pub fn backoff_for(&self, reply: Reply) -> (&Backoff, RuleUsed) {
        self.backoff_of(self.rule_key(reply))
    }

    /// Which rule governs a failure with `reply`: the most specific matching `on_code`
    /// pattern (ties: first written), else the default.
    pub fn rule_key(&self, reply: Reply) -> RuleKey {
        let mut best: Option<(u8, usize)> = None;
        for (i, rule) in self.on_code.iter().enumerate() {
            if rule.pattern.matches(reply) {
                let s = rule.pattern.specificity();
                if best.is_none_or(|(bs, _)| s > bs) {
                    best = Some((s, i));
                }
            }
        }
        // The loader bounds on_code to count::RULES_MAX rules, so the key fits.
        best.map_or(0, |(_, i)| (i + 1) as RuleKey)
    }

    /// The backoff of rule `key` ([`rule_key`](Self::rule_key)).
    fn backoff_of(&self, key: RuleKey) -> (&Backoff, RuleUsed) {
        match key {
            0 => (&self.default, RuleUsed::Default),
            k => {
                let i = usize::from(k) - 1;
                (&self.on_code[i].backoff, RuleUsed::OnCode(i))
            }
        }
    }

    /// The run of failures after `before` once a failure with `reply` is added.
    pub fn streak_after(&self, before: Streak, reply: Reply) -> Streak {
        before.then(self.rule_key(reply))
    }

    /// Whether any backoff the policy can use is random.
    pub fn is_jittered(&self) -> bool {
        self.default.is_jittered() || self.on_code.iter().any(|r| r.backoff.is_jittered())
    }

    /// The deadline of a message that arrived at `arrival`.
    pub fn deadline(&self, arrival: SimTime) -> SimTime {
        arrival.after(self.queue_lifetime)
    }

    /// Decides what follows a transient failure.
    pub fn decide(&self, f: &Failure) -> Decision {
        debug_assert!(f.now >= f.arrival && f.attempts >= 1);
        let now_expire = |reason| Decision::Expire { at: f.now, reason };
        if let Some((n, MaxAttemptsCheck::AtFailure)) = self.max_attempts {
            if f.attempts >= n {
                return now_expire(GiveUpReason::MaxAttempts);
            }
        }
        if self.give_up == GiveUp::AfterAttempt {
            if let Some(at) = self.lifetime_ends(f.arrival, f.now, f.now) {
                return Decision::Expire {
                    at,
                    reason: GiveUpReason::Lifetime,
                };
            }
        }
        debug_assert_eq!(f.streak.rule, self.rule_key(f.reply), "stale streak");
        let (backoff, rule) = self.backoff_of(f.streak.rule);
        let (retry, previous) = match self.backoff_counts {
            BackoffCounts::All => (f.attempts, f.previous),
            BackoffCounts::Streak => (f.streak.len, f.previous.filter(|_| f.streak.len > 1)),
        };
        let state = RetryState {
            retry,
            age: f.now.since(f.arrival),
            now: f.now,
            previous,
            u: f.u,
        };
        let counted = Counted {
            attempts: f.attempts,
            streak: f.streak.len,
        };
        let (wait, part, rule) = match (self.honor_hints, f.hint) {
            // Postal retries N seconds (+10) after a reply saying "try again in N seconds".
            (true, Some(h)) => (h.after_secs(10), 0, RuleUsed::Hint),
            _ => match backoff.next(&state) {
                Step::Wait(w, part) => (w, part, rule),
                Step::Exhausted => return now_expire(GiveUpReason::Exhausted),
            },
        };
        // Exim counts in whole seconds: the next try is the failure's second plus the wait.
        let base = if backoff.whole_seconds() {
            SimTime(f.now.as_ms() / 1000 * 1000)
        } else {
            f.now
        };
        let mut at = base.after(wait);
        // Exim: once the address has failed for longer than the final cutoff, the next queue
        // run attempts it even before its retry time, and a failure then times it out (spec
        // ch. 32.11, `retry_ultimate_address_timeout`; real-mta run A: 724.9 s, not 754.7 s).
        let mut rule = rule;
        if let Some(forced) = backoff.forced_attempt(f.arrival) {
            let forced = forced.max(f.now.after(SimDuration::from_ms(1)));
            if forced < at {
                at = forced;
                rule = RuleUsed::FinalCutoff;
            }
        }
        if let Some(scan) = self.queue_scan {
            at = scan.at_or_after(at);
        }
        // The lifetime is checked first: whichever give-up comes earlier wins.
        let capped =
            matches!(self.max_attempts, Some((n, MaxAttemptsCheck::AtNextDue)) if f.attempts >= n);
        match self.lifetime_ends(f.arrival, f.now, at) {
            Some(end) => Decision::Expire {
                at: end,
                reason: GiveUpReason::Lifetime,
            },
            None if capped => Decision::Expire {
                at,
                reason: GiveUpReason::MaxAttempts,
            },
            None => Decision::Retry {
                at,
                wait,
                rule,
                part,
                counted,
            },
        }
    }

    /// Whether an attempt at `t` respects the lifetime (an invariant the simulation asserts);
    /// the rule is [`GiveUp::attempt_allowed`].
    pub fn attempt_allowed(&self, arrival: SimTime, t: SimTime) -> bool {
        self.give_up.attempt_allowed(self.deadline(arrival), t)
    }

    /// When a message that entered its queue at `entered` and waits since `now` for a queue
    /// slot expires without its attempt (`None`: it keeps waiting for the attempt the rule
    /// promises); the rule is [`GiveUp::waiting_expires_at`].
    pub fn waiting_expires_at(&self, entered: SimTime, now: SimTime) -> Option<SimTime> {
        self.give_up.waiting_expires_at(self.deadline(entered), now)
    }

    /// What follows an attempt that shared retry state held back at `now` until `until`
    /// (a host's retry time, a dead destination, an open breaker, an exhausted budget): retry
    /// at `until` (at least 1 ms later), unless the lifetime rule of [`GiveUp`] ends the
    /// message first. No attempt was made, so backoff, attempt caps and hints do not apply;
    /// the lifetime rule is the same `lifetime_ends` that
    /// [`decide`](Self::decide) applies.
    pub fn decide_gated(&self, entered: SimTime, now: SimTime, until: SimTime) -> Decision {
        let at = until.max(now.after(SimDuration::from_ms(1)));
        match self.lifetime_ends(entered, now, at) {
            Some(end) => Decision::Expire {
                at: end,
                reason: GiveUpReason::Lifetime,
            },
            None => Decision::Retry {
                at,
                wait: at.since(now),
                rule: RuleUsed::Gate,
                part: 0,
                counted: Counted::default(),
            },
        }
    }

    /// The give-up rule of the queue lifetime ([`GiveUp::ends`]) for a message that entered
    /// its queue at `entered`, failed (or was held back) at `now` and would next be tried at
    /// `next`: the time it expires instead, if it does.
    fn lifetime_ends(&self, entered: SimTime, now: SimTime, next: SimTime) -> Option<SimTime> {
        self.give_up.ends(self.deadline(entered), now, next)
    }

    /// The rule behind a decision, as traces and `mxsim schedule` print it: the backoff family
    /// (`exponential`, `exim F,2h,15m`), `on_code "4.4.3"`, `server hint`, `gated`, or
    /// `give up: <reason>`.
    ///
    /// When earlier failures fell under other rules, a count-based backoff's text says which
    /// retry number it used: `exponential, retry 37 (counts all 37 failures)` or `on_code
    /// "4.4.1", retry 1 of its streak (36 earlier failures not counted)` ([`count`]).
    pub fn rule_text(&self, decision: &Decision) -> String {
        match *decision {
            Decision::Retry {
                rule,
                part,
                counted,
                ..
            } => {
                let text = match rule {
                    RuleUsed::Default => match &self.default {
                        Backoff::Exim(rules) => format!("exim {}", rules.rule_text(part)),
                        b => b.family().to_string(),
                    },
                    RuleUsed::OnCode(i) => format!("on_code \"{}\"", self.on_code[i].pattern),
                    RuleUsed::Hint => "server hint".to_string(),
                    RuleUsed::Gate => "gated".to_string(),
                    RuleUsed::FinalCutoff => "past the final cutoff: next queue run".to_string(),
                };
                match self.count_note(rule, counted) {
                    Some(note) => format!("{text}, {note}"),
                    None => text,
                }
            }
            Decision::Expire { reason, .. } => format!("give up: {}", reason.text()),
        }
    }

    /// Which retry number a count-based backoff used, when other rules governed some of the
    /// message's earlier failures (otherwise the number is plain: every failure counted).
    fn count_note(&self, rule: RuleUsed, c: Counted) -> Option<String> {
        let backoff = match rule {
            RuleUsed::Default => &self.default,
            RuleUsed::OnCode(i) => &self.on_code[i].backoff,
            _ => return None,
        };
        if !backoff.counts_retries() || c.streak >= c.attempts {
            return None;
        }
        Some(match self.backoff_counts {
            BackoffCounts::All => {
                format!(
                    "retry {} (counts failures under other rules too)",
                    c.attempts
                )
            }
            BackoffCounts::Streak => format!(
                "retry {} of its streak ({} earlier failures not counted)",
                c.streak,
                c.attempts - c.streak
            ),
        })
    }

    /// The age of the `n`-th delay warning (0-based), if the policy sends that many.
    pub fn warning_age(&self, n: u32) -> Option<SimDuration> {
        self.delay_warnings.get(n as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::{codes, EnhancedCode};

    fn fixed(m: u64) -> Backoff {
        Backoff::Fixed {
            interval: SimDuration::from_mins(m),
        }
    }

    #[test]
    fn code_patterns_parse_match_and_rank() {
        let r443 = codes::ROUTING_SERVER_FAILURE;
        for (p, hit) in [
            ("4.4.3", true),
            ("4.4.*", true),
            ("4.*.*", true),
            ("451", true),
            ("45x", true),
            ("4xx", true),
            ("4.7.*", false),
            ("421", false),
            ("5.*.*", false),
        ] {
            assert_eq!(CodePattern::parse(p).unwrap().matches(r443), hit, "{p}");
            assert_eq!(CodePattern::parse(p).unwrap().to_string(), p);
        }
        for bad in ["4.4", "3.4.3", "4.*.3", "4x1", "42", "4.04.3", "abc"] {
            assert!(CodePattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn most_specific_rule_wins() {
        let rule = |p: &str, m| CodeRule {
            pattern: CodePattern::parse(p).unwrap(),
            backoff: fixed(m),
        };
        let mut policy = RetryPolicy::simple(fixed(1));
        policy.on_code = vec![
            rule("4.*.*", 2),
            rule("451", 3),
            rule("4.4.3", 60),
            rule("4.4.*", 4),
        ];
        assert_eq!(
            policy.backoff_for(codes::ROUTING_SERVER_FAILURE).1,
            RuleUsed::OnCode(2)
        );
        assert_eq!(policy.backoff_for(codes::NO_ANSWER).1, RuleUsed::OnCode(3));
        let greylist = Reply::new(450, EnhancedCode::new(4, 7, 1));
        assert_eq!(policy.backoff_for(greylist).1, RuleUsed::OnCode(0));
        assert_eq!(policy.backoff_for(codes::UNKNOWN_USER).1, RuleUsed::Default);
    }

    fn failure(now_min: u64, attempts: u32) -> Failure {
        Failure {
            reply: codes::NO_ANSWER,
            arrival: SimTime::ZERO,
            now: SimTime(now_min * 60_000),
            attempts,
            previous: None,
            streak: Streak {
                rule: 0,
                len: attempts,
            },
            u: 0.0,
            hint: None,
        }
    }

    #[test]
    fn give_up_semantics_differ_as_the_mtas_do() {
        let mut p = RetryPolicy::simple(fixed(30));
        p.queue_lifetime = SimDuration::from_mins(100);
        // deadline: next due 110 ≥ 100 → expire at 100, no attempt.
        assert_eq!(
            p.decide(&failure(80, 3)),
            Decision::Expire {
                at: SimTime(100 * 60_000),
                reason: GiveUpReason::Lifetime
            }
        );
        // after-attempt: retry at 110 anyway; the failure at 110 then bounces.
        p.give_up = GiveUp::AfterAttempt;
        assert!(matches!(p.decide(&failure(80, 3)), Decision::Retry { .. }));
        assert_eq!(
            p.decide(&failure(110, 4)),
            Decision::Expire {
                at: SimTime(110 * 60_000),
                reason: GiveUpReason::Lifetime
            }
        );
        // overshoot: expire now, as soon as the next wait ends past the lifetime.
        p.give_up = GiveUp::Overshoot;
        assert_eq!(
            p.decide(&failure(80, 3)),
            Decision::Expire {
                at: SimTime(80 * 60_000),
                reason: GiveUpReason::Lifetime
            }
        );
        assert!(
            matches!(p.decide(&failure(70, 3)), Decision::Retry { .. }),
            "due exactly at the deadline is allowed"
        );
    }

    #[test]
    fn max_attempts_at_failure_or_at_next_due() {
        let mut p = RetryPolicy::simple(fixed(10));
        p.max_attempts = Some((3, MaxAttemptsCheck::AtFailure));
        assert!(matches!(p.decide(&failure(20, 2)), Decision::Retry { .. }));
        assert_eq!(
            p.decide(&failure(20, 3)),
            Decision::Expire {
                at: SimTime(20 * 60_000),
                reason: GiveUpReason::MaxAttempts
            }
        );
        p.max_attempts = Some((3, MaxAttemptsCheck::AtNextDue));
        assert_eq!(
            p.decide(&failure(20, 3)),
            Decision::Expire {
                at: SimTime(30 * 60_000),
                reason: GiveUpReason::MaxAttempts
            }
        );
    }

    #[test]
    fn exim_forces_an_attempt_at_the_first_scan_past_the_final_cutoff() {
        // F,12m,2m with scans every 5 s: a failure at 630 s would wait until 750 s, but the
        // address has failed for longer than 12 min at 721 s: the next scan tries it.
        let mut p = RetryPolicy::simple(Backoff::Exim(EximRules::parse("F,12m,2m").unwrap()));
        p.queue_scan = Some(QueueScan::every(SimDuration::from_secs(5)));
        p.queue_lifetime = SimDuration::from_days(7);
        let f = |now_ms, attempts| Failure {
            reply: codes::NO_ANSWER,
            arrival: SimTime::ZERO,
            now: SimTime(now_ms),
            attempts,
            previous: Some(SimDuration::from_mins(2)),
            streak: Streak {
                rule: 0,
                len: attempts,
            },
            u: 0.0,
            hint: None,
        };
        match p.decide(&f(630_200, 16)) {
            Decision::Retry { at, rule, .. } => {
                assert_eq!(at, SimTime(725_000));
                assert_eq!(rule, RuleUsed::FinalCutoff);
            }
            other => panic!("{other:?}"),
        }
        // Its failure times the address out.
        assert!(matches!(
            p.decide(&f(725_000, 17)),
            Decision::Expire {
                reason: GiveUpReason::Exhausted,
                ..
            }
        ));
    }

    #[test]
    fn queue_scan_rounds_retries_up_to_the_next_scan() {
        let mut p = RetryPolicy::simple(fixed(7));
        p.queue_scan = Some(QueueScan::every(SimDuration::from_mins(5)));
        match p.decide(&failure(1, 1)) {
            Decision::Retry { at, wait, .. } => {
                assert_eq!(wait, SimDuration::from_mins(7));
                assert_eq!(at, SimTime(10 * 60_000));
            }
            other => panic!("{other:?}"),
        }
    }
}
