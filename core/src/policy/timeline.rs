//! The retry timeline a message would follow if every attempt failed (`mxsim schedule`): for
//! teaching, and for checking a configuration before deploying it.
//!
//! It calls [`RetryPolicy::decide`], the same function the simulation uses, with attempts that
//! fail instantly at their due time (offsets are from arrival; the first attempt is at 0).
//! Jittered policies give one seeded sample, and the bounds of each offset from the extreme
//! draws (u → 0 and u → 1).

use super::{Decision, GiveUpReason, RetryPolicy, Streak};
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
    /// With a queue scan: how the timeline moves with where the message arrives between two
    /// scans (the listing above is the best case, arrival exactly at a scan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phases: Option<PhaseSpread>,
}

/// Most arrival phases sampled for [`PhaseSpread`] (evenly over one scan interval).
pub const PHASES_MAX: u64 = 3_600;

/// The timeline over arrival phases: a message arriving at each of `samples` evenly spaced
/// offsets after a scan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhaseSpread {
    /// Phases sampled.
    pub samples: u64,
    /// Per attempt number (index 0 is attempt 1): the earliest and latest offset from arrival
    /// over the phases where that attempt happens, ms.
    pub offsets_ms: Vec<(u64, u64)>,
    /// Fewest and most attempts over the phases.
    pub attempts: (usize, usize),
    /// Earliest and latest give-up, ms from arrival (`None` if some listing was cut).
    pub gives_up_ms: Option<(u64, u64)>,
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
    walk_from(policy, reply, draw, SimTime::ZERO)
}

/// The walk of a message arriving at `arrival` (offsets stay relative to the arrival).
fn walk_from(policy: &RetryPolicy, reply: Reply, draw: Draw, arrival: SimTime) -> Walk {
    let mut attempts = vec![(0u64, "arrival".to_string())];
    let mut now = arrival;
    let mut previous: Option<SimDuration> = None;
    let mut streak = Streak::NONE;
    while attempts.len() < ATTEMPTS_MAX {
        let n = attempts.len() as u32;
        let u = match draw {
            Draw::Fixed(u) => u,
            Draw::Seeded(key) => AttemptRandom::new(key, n - 1).unit(Slot::Jitter),
        };
        streak = policy.streak_after(streak, reply);
        let f = super::Failure {
            reply,
            arrival,
            now,
            attempts: n,
            previous,
            streak,
            u,
            hint: None,
        };
        let decision = policy.decide(&f);
        match decision {
            Decision::Retry { at, wait, .. } => {
                attempts.push((at.since(arrival).as_ms(), policy.rule_text(&decision)));
                previous = Some(wait);
                now = at;
            }
            Decision::Expire { at, reason } => {
                return (attempts, Some((at.since(arrival).as_ms(), reason)))
            }
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
        phases: phase_spread(policy, reply, Draw::Seeded(key)),
    }
}

/// The timeline over arrival phases, for a policy with a queue scan: a message arriving `φ`
/// after a scan, for `φ` evenly spaced over one interval (at most [`PHASES_MAX`] of them).
fn phase_spread(policy: &RetryPolicy, reply: Reply, draw: Draw) -> Option<PhaseSpread> {
    let scan = policy.queue_scan?;
    let every = scan.every.as_ms().max(1);
    let samples = every.min(PHASES_MAX);
    let mut offsets: Vec<(u64, u64)> = Vec::new();
    let (mut fewest, mut most) = (usize::MAX, 0);
    let mut gives_up: Option<(u64, u64)> = Some((u64::MAX, 0));
    for k in 0..samples {
        // Arrival φ after a scan: the scan's phase plus φ (mod nothing: times only grow).
        let arrival = SimTime(scan.phase.as_ms() + k * every / samples);
        let (attempts, end) = walk_from(policy, reply, draw, arrival);
        for (i, (offset, _)) in attempts.iter().enumerate() {
            match offsets.get_mut(i) {
                Some(o) => *o = (o.0.min(*offset), o.1.max(*offset)),
                None => offsets.push((*offset, *offset)),
            }
        }
        fewest = fewest.min(attempts.len());
        most = most.max(attempts.len());
        gives_up = match (gives_up, end) {
            (Some((lo, hi)), Some((at, _))) => Some((lo.min(at), hi.max(at))),
            _ => None,
        };
    }
    Some(PhaseSpread {
        samples,
        offsets_ms: offsets,
        attempts: (fewest, most),
        gives_up_ms: gives_up,
    })
}
