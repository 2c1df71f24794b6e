//! The retry timeline a message would follow if every attempt failed (`mxsim schedule`): for
//! teaching, and for checking a configuration before deploying it.
//!
//! It calls [`RetryPolicy::decide`], the same function the simulation uses, with attempts that
//! fail instantly at their due time (offsets are from arrival; the first attempt is at 0).
//! Jittered policies give one seeded sample, and the bounds of each offset from the extreme
//! draws (u → 0 and u → 1).

use super::{Decision, GiveUpReason, RetryPolicy};
use crate::random::{AttemptRandom, Purpose, Slot, Streams};
use crate::smtp::Reply;
use crate::time::{SimDuration, SimTime};
use serde::Serialize;

/// Most attempts listed, so an endless schedule still ends.
pub const ATTEMPTS_MAX: usize = 2_000;

/// One attempt of the timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineAttempt {
    /// 1-based attempt number.
    pub n: u32,
    /// Offset from arrival, ms.
    pub offset_ms: u64,
    /// Gap since the previous attempt, ms (0 for the first).
    pub gap_ms: u64,
    /// Which rule chose this attempt's time (`arrival` for the first).
    pub rule: String,
    /// Smallest possible offset under jitter (equal to `offset_ms` without jitter).
    pub offset_min_ms: u64,
    /// Largest possible offset under jitter.
    pub offset_max_ms: u64,
}

/// The whole timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timeline {
    /// The failure every attempt gets.
    pub code: String,
    /// Attempts in order.
    pub attempts: Vec<TimelineAttempt>,
    /// When the message is given up, ms from arrival (`null` if the listing was cut at
    /// [`ATTEMPTS_MAX`]).
    pub gives_up_at_ms: Option<u64>,
    /// Why (`queue lifetime`, `maximum attempts`, `retry rules exhausted`).
    pub give_up_reason: Option<&'static str>,
    /// Whether offsets are random (then `offset_ms` is the seeded sample).
    pub jittered: bool,
}

/// Where a draw comes from: a fixed value (bounds) or a seeded message key.
/// A walk's attempts (offset ms, rule label) and how it ended (time ms, reason).
type Walk = (Vec<(u64, String)>, Option<(u64, GiveUpReason)>);

#[derive(Clone, Copy)]
enum Draw {
    Fixed(f64),
    Seeded(u64),
}

fn walk(policy: &RetryPolicy, reply: Reply, draw: Draw) -> Walk {
    let mut attempts = vec![(0u64, "arrival".to_string())];
    let mut now = SimTime::ZERO;
    let mut previous: Option<SimDuration> = None;
    while attempts.len() < ATTEMPTS_MAX {
        let n = attempts.len() as u32;
        let u = match draw {
            Draw::Fixed(u) => u,
            Draw::Seeded(key) => AttemptRandom::new(key, n - 1).unit(Slot::Jitter),
        };
        let f = super::Failure {
            reply,
            arrival: SimTime::ZERO,
            now,
            attempts: n,
            previous,
            u,
            hint: None,
        };
        let decision = policy.decide(&f);
        match decision {
            Decision::Retry { at, wait, .. } => {
                attempts.push((at.as_ms(), policy.rule_text(&decision)));
                previous = Some(wait);
                now = at;
            }
            Decision::Expire { at, reason } => return (attempts, Some((at.as_ms(), reason))),
        }
    }
    (attempts, None)
}

/// The timeline of `policy` when every attempt fails with `reply`. `seed` picks the jitter
/// sample (the draws message 0 of a run with that seed would get); without it, the sample is
/// seed 0's.
pub fn timeline(policy: &RetryPolicy, reply: Reply, seed: Option<u64>) -> Timeline {
    let key = Streams::new(seed.unwrap_or(0))
        .sequential(Purpose::MessageKeys, 0)
        .next_u64();
    let (sample, end) = walk(policy, reply, Draw::Seeded(key));
    let jittered = policy.is_jittered();
    let (low, high) = if jittered {
        (
            walk(policy, reply, Draw::Fixed(0.0)).0,
            walk(policy, reply, Draw::Fixed(1.0 - f64::EPSILON)).0,
        )
    } else {
        (sample.clone(), sample.clone())
    };
    let mut previous = 0;
    let attempts = sample
        .iter()
        .enumerate()
        .map(|(i, (offset, rule))| {
            let gap = offset - previous;
            previous = *offset;
            let bound = |v: &Vec<(u64, String)>| v.get(i).map(|x| x.0);
            let (a, b) = (
                bound(&low).unwrap_or(*offset),
                bound(&high).unwrap_or(*offset),
            );
            TimelineAttempt {
                n: i as u32 + 1,
                offset_ms: *offset,
                gap_ms: gap,
                rule: rule.clone(),
                offset_min_ms: a.min(b).min(*offset),
                offset_max_ms: a.max(b).max(*offset),
            }
        })
        .collect();
    Timeline {
        code: reply.to_string(),
        attempts,
        gives_up_at_ms: end.map(|e| e.0),
        give_up_reason: end.map(|e| e.1.text()),
        jittered,
    }
}
