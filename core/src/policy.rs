//! The sender's retry policy: backoff families, per-code overrides and the queue lifetime.
//!
//! Formulas (`reference/retry-and-visualizers.md` §d, `reference/smtp-facts.md` §2):
//! - fixed: every retry waits `interval`;
//! - exponential: retry k (k = 1 is the first retry) waits `v = min(max, initial·factor^(k−1))`,
//!   then jitter: none `v`; full `U(0, v)`; equal `v/2 + U(0, v/2)`; decorrelated
//!   `min(max, U(initial, 3·previous))` (AWS architecture blog);
//! - overrides by status-code pattern (`"4.4.3"`, `"4.7.*"`, `"4.*.*"`, `"421"`, `"45x"`), the
//!   most specific pattern wins, so the brief's R1 ("retry 4.4.3 after 1–4 h") is one line;
//! - the queue lifetime (RFC 5321 §4.5.4.1: give-up "generally ≥ 4–5 days"): a message whose
//!   next try would fall at or after `arrival + queue_lifetime` expires at that deadline without
//!   another attempt, with 4.4.7 (Stalwart's semantics, `reference/mta-defaults.md` (a)).
//!
//! Invariant: a delay depends only on the policy, the retry number, the previous delay and one
//! uniform draw supplied by the caller, so jitter uses its own random stream.

use crate::smtp::Reply;
use crate::time::SimDuration;
use std::fmt;

/// Randomisation of an exponential delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// The delay is exactly the capped exponential.
    None,
    /// Uniform in `[0, v]`.
    Full,
    /// Uniform in `[v/2, v]`.
    Equal,
    /// `min(max, U(initial, 3·previous))`.
    Decorrelated,
}

impl Jitter {
    /// Names as written in scenario files.
    pub const NAMES: [&'static str; 4] = ["none", "full", "equal", "decorrelated"];

    /// Parses a scenario name.
    pub fn from_name(name: &str) -> Option<Jitter> {
        match name {
            "none" => Some(Jitter::None),
            "full" => Some(Jitter::Full),
            "equal" => Some(Jitter::Equal),
            "decorrelated" => Some(Jitter::Decorrelated),
            _ => None,
        }
    }
}

/// A backoff family with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Backoff {
    /// The same interval before every retry.
    Fixed {
        /// Wait before each retry.
        interval: SimDuration,
    },
    /// Capped exponential growth with optional jitter.
    Exponential {
        /// Wait before the first retry (before jitter).
        initial: SimDuration,
        /// Growth per retry (≥ 1).
        factor: f64,
        /// Cap on any single wait.
        max: SimDuration,
        /// Randomisation.
        jitter: Jitter,
    },
}

impl Backoff {
    /// The wait before retry `retry` (1 = first retry). `previous` is the last wait actually
    /// used (for decorrelated jitter); `u` is a uniform draw in [0, 1) from the jitter stream.
    pub fn delay(&self, retry: u32, previous: Option<SimDuration>, u: f64) -> SimDuration {
        debug_assert!(retry >= 1 && (0.0..1.0).contains(&u));
        match *self {
            Backoff::Fixed { interval } => interval,
            Backoff::Exponential {
                initial,
                factor,
                max,
                jitter,
            } => {
                let cap = max.as_ms() as f64;
                let base = initial.as_ms() as f64;
                // libm::pow: bit-identical on native and wasm (DESIGN §2).
                let v = (base * libm::pow(factor, f64::from(retry - 1))).min(cap);
                let ms = match jitter {
                    Jitter::None => v,
                    Jitter::Full => u * v,
                    Jitter::Equal => v / 2.0 + u * (v / 2.0),
                    Jitter::Decorrelated => {
                        let prev = previous.map_or(base, |p| p.as_ms() as f64).max(base);
                        (base + u * (3.0 * prev - base)).min(cap)
                    }
                };
                SimDuration::from_ms(ms.floor() as u64)
            }
        }
    }

    /// The smallest and largest wait retry `retry` can get (equal for un-jittered families).
    pub fn bounds(&self, retry: u32) -> (SimDuration, SimDuration) {
        match *self {
            Backoff::Fixed { interval } => (interval, interval),
            Backoff::Exponential { jitter, max, .. } => {
                let v = self.delay_unjittered(retry);
                match jitter {
                    Jitter::None => (v, v),
                    Jitter::Full => (SimDuration::ZERO, v),
                    Jitter::Equal => (SimDuration::from_ms(v.as_ms() / 2), v),
                    Jitter::Decorrelated => (self.initial().min(max), max),
                }
            }
        }
    }

    fn initial(&self) -> SimDuration {
        match *self {
            Backoff::Fixed { interval } => interval,
            Backoff::Exponential { initial, .. } => initial,
        }
    }

    fn delay_unjittered(&self, retry: u32) -> SimDuration {
        match *self {
            Backoff::Fixed { interval } => interval,
            Backoff::Exponential {
                initial,
                factor,
                max,
                ..
            } => Backoff::Exponential {
                initial,
                factor,
                max,
                jitter: Jitter::None,
            }
            .delay(retry, None, 0.0),
        }
    }

    /// True when delays are random (the caller then draws from the jitter stream).
    pub fn is_jittered(&self) -> bool {
        matches!(self, Backoff::Exponential { jitter, .. } if *jitter != Jitter::None)
    }
}

impl fmt::Display for Backoff {
    /// A one-line description: `fixed 30m`, `exponential 5m ×2 cap 1h6m40s, full jitter`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Backoff::Fixed { interval } => write!(f, "fixed {interval}"),
            Backoff::Exponential {
                initial,
                factor,
                max,
                jitter,
            } => {
                write!(f, "exponential {initial} ×{factor} cap {max}")?;
                match jitter {
                    Jitter::None => Ok(()),
                    Jitter::Full => f.write_str(", full jitter"),
                    Jitter::Equal => f.write_str(", equal jitter"),
                    Jitter::Decorrelated => f.write_str(", decorrelated jitter"),
                }
            }
        }
    }
}

/// A named, documented retry policy that a scenario can use as `retry = "<name>"`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Preset {
    /// Name used in scenario files.
    pub name: &'static str,
    /// What it is, in a sentence.
    pub summary: &'static str,
    /// The reference it follows.
    pub source: &'static str,
    /// Its backoff.
    #[serde(serialize_with = "display")]
    pub backoff: Backoff,
    /// The give-up age it goes with.
    #[serde(serialize_with = "display")]
    pub queue_lifetime: SimDuration,
}

fn display<T: fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// The built-in presets expressible with the current backoff families. MTA presets that need
/// age-based, rule-based or attempt-capped schedules (Postfix, Exim, KumoMTA, ...) come with
/// those families.
pub fn presets() -> Vec<Preset> {
    let base = SimDuration::from_mins(5);
    let cap = SimDuration::from_secs(4000);
    vec![
        // RFC 5321 §4.5.4.1: "the retry interval SHOULD be at least 30 minutes"; "give-up time
        // generally needs to be at least 4-5 days" (reference/smtp-facts.md §2.1).
        Preset {
            name: "rfc5321",
            summary: "the RFC minimum: retry every 30 minutes, give up after 5 days",
            source: "RFC 5321 §4.5.4.1",
            backoff: Backoff::Fixed { interval: SimDuration::from_mins(30) },
            queue_lifetime: SimDuration::from_days(5),
        },
        // AWS Architecture Blog, "Exponential Backoff and Jitter": sleep = U(0, min(cap,
        // base·2^k)); mail-scale base 300 s and cap 4000 s as in smtp-facts.md §7.4.
        Preset {
            name: "full-jitter",
            summary: "exponential backoff with full jitter, 5 min doubling to a 4000 s cap",
            source: "AWS Architecture Blog, Exponential Backoff and Jitter; smtp-facts.md §7.4",
            backoff: Backoff::Exponential { initial: base, factor: 2.0, max: cap, jitter: Jitter::Full },
            queue_lifetime: SimDuration::from_days(5),
        },
        // Same blog: sleep = min(cap, U(base, 3·previous sleep)).
        Preset {
            name: "decorrelated-jitter",
            summary: "decorrelated jitter: each wait uniform between 5 min and 3x the previous, capped at 4000 s",
            source: "AWS Architecture Blog, Exponential Backoff and Jitter",
            backoff: Backoff::Exponential { initial: base, factor: 2.0, max: cap, jitter: Jitter::Decorrelated },
            queue_lifetime: SimDuration::from_days(5),
        },
    ]
}

/// The preset named `name`.
pub fn preset(name: &str) -> Option<Preset> {
    presets().into_iter().find(|p| p.name == name)
}

/// A pattern over status codes, as written in `on_code` keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodePattern {
    /// `class.subject.detail` with `*` allowed for subject and/or detail.
    Enhanced {
        /// 4 or 5 (2 never triggers a retry).
        class: u8,
        /// `None` for `*`.
        subject: Option<u16>,
        /// `None` for `*`.
        detail: Option<u16>,
    },
    /// A basic reply code, digits or `x` for the last two (`421`, `45x`, `4xx`).
    Basic {
        /// First digit.
        first: u8,
        /// Second digit, `None` for `x`.
        second: Option<u8>,
        /// Third digit, `None` for `x`.
        third: Option<u8>,
    },
}

impl CodePattern {
    /// Parses `"4.4.3"`, `"4.7.*"`, `"4.*.*"`, `"421"`, `"45x"` or `"4xx"`.
    pub fn parse(text: &str) -> Result<CodePattern, String> {
        let bad = |why: &str| format!("invalid code pattern \"{text}\": {why}");
        if text.contains('.') {
            let parts: Vec<&str> = text.split('.').collect();
            if parts.len() != 3 {
                return Err(bad(
                    "expected class.subject.detail, e.g. \"4.4.3\" or \"4.7.*\"",
                ));
            }
            let class = match parts[0] {
                "4" => 4,
                "5" => 5,
                _ => {
                    return Err(bad(
                        "the class must be 4 or 5 (only failures are retried or bounced)",
                    ))
                }
            };
            let field = |p: &str| -> Result<Option<u16>, String> {
                if p == "*" {
                    return Ok(None);
                }
                let ok = !p.is_empty()
                    && p.len() <= 3
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && !(p.len() > 1 && p.starts_with('0'));
                if ok {
                    Ok(Some(p.parse().map_err(|_| bad("number too large"))?))
                } else {
                    Err(bad(
                        "subject and detail are 1-3 digits without leading zeros, or *",
                    ))
                }
            };
            let subject = field(parts[1])?;
            let detail = field(parts[2])?;
            if subject.is_none() && detail.is_some() {
                return Err(bad(
                    "a wildcard subject needs a wildcard detail (\"4.*.*\")",
                ));
            }
            Ok(CodePattern::Enhanced {
                class,
                subject,
                detail,
            })
        } else {
            let b = text.as_bytes();
            if b.len() != 3 || !matches!(b[0], b'4' | b'5') {
                return Err(bad("expected a basic code such as \"421\" or \"45x\", or an enhanced code such as \"4.4.3\""));
            }
            let digit = |c: u8| -> Result<Option<u8>, String> {
                match c {
                    b'x' | b'X' => Ok(None),
                    b'0'..=b'9' => Ok(Some(c - b'0')),
                    _ => Err(bad("digits or x only")),
                }
            };
            let second = digit(b[1])?;
            let third = digit(b[2])?;
            if second.is_none() && third.is_some() {
                return Err(bad("write \"4xx\" rather than \"4x1\""));
            }
            Ok(CodePattern::Basic {
                first: b[0] - b'0',
                second,
                third,
            })
        }
    }

    /// Whether `reply` matches.
    pub fn matches(&self, reply: Reply) -> bool {
        match *self {
            CodePattern::Enhanced {
                class,
                subject,
                detail,
            } => {
                reply.code.class == class
                    && subject.is_none_or(|s| s == reply.code.subject)
                    && detail.is_none_or(|d| d == reply.code.detail)
            }
            CodePattern::Basic {
                first,
                second,
                third,
            } => {
                let b = reply.basic;
                u16::from(first) == b / 100
                    && second.is_none_or(|s| u16::from(s) == (b / 10) % 10)
                    && third.is_none_or(|t| u16::from(t) == b % 10)
            }
        }
    }

    /// Rank for "most specific wins": full enhanced (5) > enhanced with `*` detail (4) >
    /// exact basic code (3) > class-only enhanced `4.*.*` (2) > basic with `x` (1).
    /// Enhanced codes rank above basic ones because they say more about the cause.
    pub fn specificity(&self) -> u8 {
        match *self {
            CodePattern::Enhanced {
                subject: Some(_),
                detail: Some(_),
                ..
            } => 5,
            CodePattern::Enhanced {
                subject: Some(_),
                detail: None,
                ..
            } => 4,
            CodePattern::Basic { third: Some(_), .. } => 3,
            CodePattern::Enhanced { .. } => 2,
            CodePattern::Basic { .. } => 1,
        }
    }
}

impl fmt::Display for CodePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |o: Option<u16>| o.map_or("*".to_string(), |v| v.to_string());
        let dig = |o: Option<u8>| o.map_or("x".to_string(), |v| v.to_string());
        match *self {
            CodePattern::Enhanced {
                class,
                subject,
                detail,
            } => write!(f, "{class}.{}.{}", opt(subject), opt(detail)),
            CodePattern::Basic {
                first,
                second,
                third,
            } => write!(f, "{first}{}{}", dig(second), dig(third)),
        }
    }
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
    /// Give-up age: no attempt at or after `arrival + queue_lifetime`.
    pub queue_lifetime: SimDuration,
}

/// Which backoff applied to a failure: the default or an `on_code` rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleUsed {
    /// `policy.retry`.
    Default,
    /// `policy.on_code[i]`.
    OnCode(usize),
}

impl RetryPolicy {
    /// The backoff for a failure with `reply`, and which rule supplied it.
    pub fn backoff_for(&self, reply: Reply) -> (&Backoff, RuleUsed) {
        let mut best: Option<(u8, usize)> = None;
        for (i, rule) in self.on_code.iter().enumerate() {
            if rule.pattern.matches(reply) {
                let s = rule.pattern.specificity();
                if best.is_none_or(|(bs, _)| s > bs) {
                    best = Some((s, i));
                }
            }
        }
        match best {
            Some((_, i)) => (&self.on_code[i].backoff, RuleUsed::OnCode(i)),
            None => (&self.default, RuleUsed::Default),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::{codes, EnhancedCode};

    fn exp(jitter: Jitter) -> Backoff {
        Backoff::Exponential {
            initial: SimDuration::from_secs(300),
            factor: 2.0,
            max: SimDuration::from_secs(4000),
            jitter,
        }
    }

    #[test]
    fn exponential_doubles_then_caps() {
        let b = exp(Jitter::None);
        let secs: Vec<u64> = (1..=6)
            .map(|k| b.delay(k, None, 0.0).as_ms() / 1000)
            .collect();
        assert_eq!(secs, vec![300, 600, 1200, 2400, 4000, 4000]);
    }

    #[test]
    fn jittered_delays_stay_within_bounds() {
        for j in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
            let b = exp(j);
            let mut prev = None;
            for k in 1..30 {
                for u in [0.0, 0.25, 0.5, 0.999_999] {
                    let d = b.delay(k, prev, u);
                    let (lo, hi) = b.bounds(k);
                    assert!(
                        lo <= d && d <= hi,
                        "{j:?} k={k} u={u}: {d:?} not in {lo:?}..{hi:?}"
                    );
                }
                prev = Some(b.delay(k, prev, 0.7));
            }
        }
    }

    #[test]
    fn presets_are_named_uniquely_and_found_by_name() {
        let all = presets();
        for (i, p) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|q| q.name != p.name), "{}", p.name);
            assert_eq!(preset(p.name).as_ref(), Some(p));
        }
        let rfc = preset("rfc5321").unwrap();
        assert_eq!(rfc.backoff.delay(7, None, 0.5), SimDuration::from_mins(30));
        assert_eq!(
            preset("full-jitter").unwrap().backoff.to_string(),
            "exponential 5m ×2 cap 1h6m40s, full jitter"
        );
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
        let fixed = |m| Backoff::Fixed {
            interval: SimDuration::from_mins(m),
        };
        let rule = |p: &str, m| CodeRule {
            pattern: CodePattern::parse(p).unwrap(),
            backoff: fixed(m),
        };
        let policy = RetryPolicy {
            default: fixed(1),
            on_code: vec![
                rule("4.*.*", 2),
                rule("451", 3),
                rule("4.4.3", 60),
                rule("4.4.*", 4),
            ],
            queue_lifetime: SimDuration::from_days(5),
        };
        assert_eq!(
            policy.backoff_for(codes::ROUTING_SERVER_FAILURE).1,
            RuleUsed::OnCode(2)
        );
        assert_eq!(policy.backoff_for(codes::NO_ANSWER).1, RuleUsed::OnCode(3));
        let greylist = Reply::new(450, EnhancedCode::new(4, 7, 1));
        assert_eq!(policy.backoff_for(greylist).1, RuleUsed::OnCode(0));
        assert_eq!(policy.backoff_for(codes::UNKNOWN_USER).1, RuleUsed::Default);
    }
}
