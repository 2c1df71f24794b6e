//! Backoff families: how long a message waits after its k-th failure.
//!
//! Formulas (`reference/retry-and-visualizers.md` §d, `reference/mta-defaults.md` §b); k is the
//! 1-based retry number (= failures so far), v the un-jittered delay:
//! - `fixed`: every retry waits `interval`;
//! - `exponential`: `v = min(max, initial·factor^(k−1))` (no cap when `max` is unset), then
//!   jitter: none `v`; full `U(0, v)`; equal `v/2 + U(0, v/2)`; decorrelated
//!   `min(max, U(initial, 3·previous))` (AWS architecture blog); spread `v + U(0, J) − J/2` with
//!   `J = min(initial/20, 60 s)` (KumoMTA `queue/config.rs`);
//! - `list`: `delays[min(k−1, len−1)]` when the last entry repeats (Stalwart), else the message
//!   gives up after the list (Haraka's `temp_fail_intervals`, syntax `1m, 5m*2, 1h*3`);
//! - `age_clamp`: `clamp(age, min, max)` (Postfix `qmgr_active.c`: the retry delay is the
//!   message's age, bounded by `minimal_backoff_time` and `maximal_backoff_time`);
//! - `queue_run`: the next periodic queue run (sendmail `-q` interval);
//! - `exim`: Exim retry rules ([`super::exim`]).

use super::exim::EximRules;
use crate::time::{parse_duration, SimDuration, SimTime};
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
    /// `v ± J/2` with `J = min(initial/20, 60 s)` (KumoMTA).
    Spread,
}

impl Jitter {
    /// Names as written in scenario files.
    pub const NAMES: [&'static str; 5] = ["none", "full", "equal", "decorrelated", "spread"];

    /// Parses a scenario name.
    pub fn from_name(name: &str) -> Option<Jitter> {
        match name {
            "none" => Some(Jitter::None),
            "full" => Some(Jitter::Full),
            "equal" => Some(Jitter::Equal),
            "decorrelated" => Some(Jitter::Decorrelated),
            "spread" => Some(Jitter::Spread),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        Jitter::NAMES[self as usize]
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
    /// Exponential growth with optional cap and jitter.
    Exponential {
        /// Wait before the first retry (before jitter).
        initial: SimDuration,
        /// Growth per retry (≥ 1).
        factor: f64,
        /// Cap on any single wait; `None` for no cap (KumoMTA's default).
        max: Option<SimDuration>,
        /// Randomisation.
        jitter: Jitter,
    },
    /// An explicit list of waits.
    List {
        /// Waits for retries 1, 2, ...
        delays: Vec<SimDuration>,
        /// Whether the last wait repeats (Stalwart) or the list ends the retries (Haraka).
        repeat_last: bool,
    },
    /// Postfix: wait `clamp(age, min, max)`.
    AgeClamp {
        /// `minimal_backoff_time`.
        min: SimDuration,
        /// `maximal_backoff_time`.
        max: SimDuration,
    },
    /// Retry at the next periodic queue run (every `interval` from the start of the run).
    QueueRun {
        /// Queue run period.
        interval: SimDuration,
    },
    /// Exim retry rules.
    Exim(EximRules),
}

/// What a backoff knows about the message when it fails.
#[derive(Clone, Copy, Debug)]
pub struct RetryState {
    /// 1-based retry number: the number of failed attempts so far.
    pub retry: u32,
    /// Time since arrival (Postfix) or since the first failure (Exim), at this failure.
    pub age: SimDuration,
    /// The failure's absolute time (queue runs are periodic in absolute time).
    pub now: SimTime,
    /// The previous wait actually used (decorrelated jitter, Exim G/H rules).
    pub previous: Option<SimDuration>,
    /// A uniform draw in [0, 1) from the message's jitter slot for this attempt.
    pub u: f64,
}

/// The outcome of asking a backoff for the next wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Wait this long; `part` names the sub-rule used (Exim rule index), 0 otherwise.
    Wait(SimDuration, usize),
    /// The family itself gives up (Exim rules timed out, a non-repeating list ran out).
    Exhausted,
}

/// Largest wait the families compute, ~31 years, so float growth cannot overflow.
const WAIT_MAX_MS: f64 = 1e12;

impl Backoff {
    /// The next wait for a message in `state`.
    pub fn next(&self, s: &RetryState) -> Step {
        debug_assert!(s.retry >= 1 && (0.0..1.0).contains(&s.u));
        match self {
            Backoff::Fixed { interval } => Step::Wait(*interval, 0),
            Backoff::Exponential {
                initial,
                factor,
                max,
                jitter,
            } => {
                let cap = max.map_or(WAIT_MAX_MS, |m| m.as_ms() as f64);
                let base = initial.as_ms() as f64;
                // libm::pow: bit-identical on native and wasm (DESIGN §2).
                let v = (base * libm::pow(*factor, f64::from(s.retry - 1)))
                    .min(cap)
                    .min(WAIT_MAX_MS);
                let ms = match jitter {
                    Jitter::None => v,
                    Jitter::Full => s.u * v,
                    Jitter::Equal => v / 2.0 + s.u * (v / 2.0),
                    Jitter::Decorrelated => {
                        let prev = s.previous.map_or(base, |p| p.as_ms() as f64).max(base);
                        (base + s.u * (3.0 * prev - base)).min(cap)
                    }
                    Jitter::Spread => {
                        let j = (base / 20.0).min(60_000.0);
                        (v + s.u * j - j / 2.0).max(0.0)
                    }
                };
                Step::Wait(SimDuration::from_ms(ms.floor() as u64), 0)
            }
            Backoff::List {
                delays,
                repeat_last,
            } => {
                let i = (s.retry - 1) as usize;
                match delays.get(i) {
                    Some(d) => Step::Wait(*d, 0),
                    None if *repeat_last => {
                        Step::Wait(*delays.last().expect("validated non-empty"), 0)
                    }
                    None => Step::Exhausted,
                }
            }
            Backoff::AgeClamp { min, max } => Step::Wait(s.age.clamp(*min, *max), 0),
            Backoff::QueueRun { interval } => {
                let p = interval.as_ms();
                Step::Wait(SimDuration::from_ms(p - s.now.as_ms() % p), 0)
            }
            Backoff::Exim(rules) => rules.next(s),
        }
    }

    /// True when waits are random (the caller then draws from the jitter slot).
    pub fn is_jittered(&self) -> bool {
        match self {
            Backoff::Exponential { jitter, .. } => *jitter != Jitter::None,
            Backoff::Exim(rules) => rules.is_randomized(),
            _ => false,
        }
    }

    /// True when the wait depends on the retry number (`exponential` without decorrelated
    /// jitter, `list`): which failures that number counts is `policy.backoff_counts`.
    pub fn counts_retries(&self) -> bool {
        match self {
            Backoff::Exponential { jitter, .. } => *jitter != Jitter::Decorrelated,
            Backoff::List { .. } => true,
            _ => false,
        }
    }

    /// True when the family counts in whole seconds, as Exim does (its times are `time_t`):
    /// the next try is the failure's whole second plus the wait.
    pub fn whole_seconds(&self) -> bool {
        matches!(self, Backoff::Exim(_))
    }

    /// When a message that arrived at `arrival` is tried regardless of its retry time: Exim's
    /// forced attempt once it has failed for longer than the final cutoff (the first whole
    /// second past it). `None` for other families.
    pub fn forced_attempt(&self, arrival: SimTime) -> Option<SimTime> {
        match self {
            Backoff::Exim(rules) => rules.final_cutoff().map(|c| {
                SimTime(arrival.as_ms() / 1000 * 1000)
                    .after(c)
                    .after(SimDuration::from_secs(1))
            }),
            _ => None,
        }
    }

    /// Short name of the family, for reports.
    pub fn family(&self) -> &'static str {
        match self {
            Backoff::Fixed { .. } => "fixed",
            Backoff::Exponential { .. } => "exponential",
            Backoff::List { .. } => "list",
            Backoff::AgeClamp { .. } => "age_clamp",
            Backoff::QueueRun { .. } => "queue_run",
            Backoff::Exim(_) => "exim",
        }
    }
}

impl fmt::Display for Backoff {
    /// One line: `fixed 30m`, `exponential 5m ×2 cap 1h6m40s, full jitter`, `list 2m, 5m (last
    /// repeats)`, `age clamp 5m..1h6m40s`, `queue run every 30m`, `exim F,2h,15m; ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backoff::Fixed { interval } => write!(f, "fixed {interval}"),
            Backoff::Exponential {
                initial,
                factor,
                max,
                jitter,
            } => {
                write!(f, "exponential {initial} ×{factor}")?;
                match max {
                    Some(m) => write!(f, " cap {m}")?,
                    None => f.write_str(" no cap")?,
                }
                if *jitter != Jitter::None {
                    write!(f, ", {} jitter", jitter.name())?;
                }
                Ok(())
            }
            Backoff::List {
                delays,
                repeat_last,
            } => {
                write!(f, "list {}", format_list(delays))?;
                f.write_str(if *repeat_last {
                    " (last repeats)"
                } else {
                    " (then give up)"
                })
            }
            Backoff::AgeClamp { min, max } => write!(f, "age clamp {min}..{max}"),
            Backoff::QueueRun { interval } => write!(f, "queue run every {interval}"),
            Backoff::Exim(rules) => write!(f, "exim {rules}"),
        }
    }
}

/// Parses a delay list in Haraka's `temp_fail_intervals` syntax: comma-separated durations, each
/// optionally repeated with `*N` (`"1m, 5m*2, 1h*3"` = 1m, 5m, 5m, 1h, 1h, 1h).
pub fn parse_list(text: &str) -> Result<Vec<SimDuration>, String> {
    let mut out = Vec::new();
    for (i, item) in text.split(',').enumerate() {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("empty entry {} in delay list \"{text}\"", i + 1));
        }
        let (d, n) = match item.split_once('*') {
            Some((d, n)) => {
                let n: u32 = n
                    .trim()
                    .parse()
                    .map_err(|_| format!("invalid repeat count \"{}\" in \"{item}\"", n.trim()))?;
                if n == 0 || n > 10_000 {
                    return Err(format!(
                        "repeat count in \"{item}\" must be between 1 and 10000"
                    ));
                }
                (d.trim(), n)
            }
            None => (item, 1),
        };
        let d = parse_duration(d).map_err(|e| e.message)?;
        if d.as_ms() == 0 {
            return Err(format!("delay \"{item}\" must be longer than zero"));
        }
        if out.len() + n as usize > LIST_MAX {
            return Err(format!(
                "delay list \"{}…\" expands to more than {LIST_MAX} delays",
                text.chars().take(40).collect::<String>()
            ));
        }
        out.extend(std::iter::repeat_n(d, n as usize));
    }
    Ok(out)
}

/// Most delays a `list` may expand to: far beyond any real schedule (Haraka's default has 6),
/// and checked before expanding, so `"1m*10000, …"` repeated cannot exhaust memory.
pub const LIST_MAX: usize = 100_000;

/// Prints a list compactly, folding runs into `d*N`.
pub fn format_list(delays: &[SimDuration]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < delays.len() {
        let run = delays[i..].iter().take_while(|d| **d == delays[i]).count();
        parts.push(if run > 1 {
            format!("{}*{run}", delays[i])
        } else {
            delays[i].to_string()
        });
        i += run;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(retry: u32, u: f64) -> RetryState {
        RetryState {
            retry,
            age: SimDuration::ZERO,
            now: SimTime::ZERO,
            previous: None,
            u,
        }
    }

    fn exp(jitter: Jitter) -> Backoff {
        Backoff::Exponential {
            initial: SimDuration::from_secs(300),
            factor: 2.0,
            max: Some(SimDuration::from_secs(4000)),
            jitter,
        }
    }

    fn wait(s: Step) -> u64 {
        match s {
            Step::Wait(d, _) => d.as_ms(),
            Step::Exhausted => panic!("exhausted"),
        }
    }

    #[test]
    fn exponential_doubles_then_caps() {
        let b = exp(Jitter::None);
        let secs: Vec<u64> = (1..=6)
            .map(|k| wait(b.next(&state(k, 0.0))) / 1000)
            .collect();
        assert_eq!(secs, vec![300, 600, 1200, 2400, 4000, 4000]);
    }

    #[test]
    fn uncapped_exponential_does_not_overflow() {
        let b = Backoff::Exponential {
            initial: SimDuration::from_mins(20),
            factor: 2.0,
            max: None,
            jitter: Jitter::None,
        };
        assert_eq!(wait(b.next(&state(1000, 0.0))), WAIT_MAX_MS as u64);
    }

    #[test]
    fn haraka_list_syntax_expands_and_folds_back() {
        let l = parse_list("1m, 5m*2, 1h*3").unwrap();
        assert_eq!(l.len(), 6);
        assert_eq!(l[2], SimDuration::from_mins(5));
        assert_eq!(format_list(&l), "1m, 5m*2, 1h*3");
        for bad in ["", "1m,,2m", "5m*0", "5m*x", "-1m", "0"] {
            assert!(parse_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_repeat_or_end() {
        let delays = vec![SimDuration::from_mins(2), SimDuration::from_mins(5)];
        let repeat = Backoff::List {
            delays: delays.clone(),
            repeat_last: true,
        };
        let end = Backoff::List {
            delays,
            repeat_last: false,
        };
        assert_eq!(wait(repeat.next(&state(9, 0.0))), 300_000);
        assert_eq!(end.next(&state(3, 0.0)), Step::Exhausted);
    }

    #[test]
    fn queue_runs_are_periodic_in_absolute_time() {
        let b = Backoff::QueueRun {
            interval: SimDuration::from_mins(30),
        };
        let s = RetryState {
            now: SimTime(40 * 60_000),
            ..state(1, 0.0)
        };
        assert_eq!(wait(b.next(&s)), 20 * 60_000);
        let s = RetryState {
            now: SimTime(60 * 60_000),
            ..state(1, 0.0)
        };
        assert_eq!(wait(b.next(&s)), 30 * 60_000);
    }
}
