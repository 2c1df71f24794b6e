//! Failure models of hosts: when a host is down, and when it rejects a message permanently.
//!
//! Models (DESIGN §3):
//! - `none`: always up;
//! - `bernoulli { p }`: each attempt finds the host down with probability p, independently; the
//!   coin for (host, message, attempt number) is drawn by random access, so it is the same under
//!   any policy;
//! - `markov { mean_up, mean_down }`: alternating exponential up and down periods (a two-state
//!   continuous-time Markov chain, `reference/smtp-facts.md` §7.3). The initial state is drawn
//!   from the stationary distribution (up with probability A = mean_up/(mean_up+mean_down)) and
//!   the first period is a full exponential (memoryless), so the process is stationary from t = 0
//!   and PASTA holds for every arrival;
//! - `schedule`: explicit down windows `[from, to)`.
//!
//! Invariant (common random numbers): a host's timeline is a function of (seed, host) only. It
//! is generated lazily from the host's own stream, in order, so how often or when it is queried
//! never changes it.

use crate::ids::HostId;
use crate::random::{AttemptRandom, Purpose, SeqStream, Slot, Streams};
use crate::smtp::Reply;
use crate::time::SimTime;

/// When a host is unavailable.
#[derive(Clone, Debug, PartialEq)]
pub enum Availability {
    /// Never down.
    AlwaysUp,
    /// Down for an attempt with probability `p`, independently per (message, attempt).
    Bernoulli {
        /// Probability that an attempt finds the host down.
        p: f64,
    },
    /// Exponential up and down periods.
    Markov {
        /// Mean length of an up period, ms.
        mean_up_ms: f64,
        /// Mean length of a down period, ms.
        mean_down_ms: f64,
    },
    /// Explicit down windows, sorted and merged, each `[from, to)`.
    Schedule {
        /// Down windows.
        down: Vec<(SimTime, SimTime)>,
    },
}

/// A share of attempts that the host refuses permanently, with which reply.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RejectSpec {
    /// Probability per attempt.
    pub share: f64,
    /// The (5yz) reply given.
    pub reply: Reply,
}

/// A host's state as a snapshot shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Answering.
    Up,
    /// In an outage: connections are refused.
    Down,
    /// Fails each attempt independently (Bernoulli): no state between attempts.
    Flaky,
}

/// The live state of one host's failure model during a run.
#[derive(Debug)]
pub struct HostHealth {
    host: u32,
    state: HealthState,
    reject: Option<RejectSpec>,
}

#[derive(Debug)]
enum HealthState {
    AlwaysUp,
    Bernoulli { p: f64 },
    Markov(Box<MarkovTimeline>),
    Schedule(Vec<(SimTime, SimTime)>),
}

/// The lazily generated timeline of a Markov host, in blocks of [`BLOCK_CYCLES`] mean cycles.
///
/// Block 0 is the chain started from the stationary distribution at t = 0; every later block
/// restarts it from the stationary distribution, drawn from its own stream keyed by (host,
/// block). So a query at any time generates at most one block (about 2 × `BLOCK_CYCLES` flips)
/// and keeps only that block in memory, however late the time or short the periods (a host
/// with 1 ms periods queried at 10 days used to generate and store every flip since t = 0).
/// The process stays stationary (availability exactly A); the only difference from one
/// unbroken chain is that about one period in `BLOCK_CYCLES` is cut at a block boundary. Runs
/// shorter than one block (every shipped scenario) are unchanged.
#[derive(Debug)]
pub struct MarkovTimeline {
    streams: Streams,
    host: u64,
    mean_up_ms: f64,
    mean_down_ms: f64,
    /// Length of a block, ms.
    block_ms: u64,
    /// The block whose flips are held.
    block: u64,
    /// This block's stream, positioned after its last flip.
    rng: SeqStream,
    /// The state at the block's start.
    initially_up: bool,
    /// Times in this block at which the state flips, increasing (the last may lie past the
    /// block's end).
    flips: Vec<SimTime>,
}

/// Mean up-and-down cycles per block of a Markov timeline.
pub const BLOCK_CYCLES: f64 = 1000.0;

/// Most windows [`MarkovTimeline::down_windows`] returns (the earliest ones): its output must
/// stay bounded too; ask again with an earlier `until` for fewer.
pub const DOWN_WINDOWS_MAX: usize = 1_000_000;

impl MarkovTimeline {
    /// The timeline of host `host` under seed `streams`.
    pub fn new(streams: Streams, host: u64, mean_up_ms: f64, mean_down_ms: f64) -> Self {
        let cycle = BLOCK_CYCLES * (mean_up_ms + mean_down_ms);
        let block_ms = if cycle.is_finite() {
            (cycle as u64).clamp(1, u64::MAX / 4)
        } else {
            u64::MAX / 4
        };
        let mut m = MarkovTimeline {
            streams,
            host,
            mean_up_ms,
            mean_down_ms,
            block_ms,
            block: 0,
            rng: streams.sequential(Purpose::Outage, host),
            initially_up: true,
            flips: Vec::new(),
        };
        m.load_block(0);
        m
    }

    /// Starts block `b` afresh: its stream, its initial state from the stationary
    /// distribution, no flips yet.
    fn load_block(&mut self, b: u64) {
        self.rng = if b == 0 {
            self.streams.sequential(Purpose::Outage, self.host)
        } else {
            self.streams
                .sequential(Purpose::OutageBlock, crate::random::mix(self.host, b))
        };
        let availability = self.mean_up_ms / (self.mean_up_ms + self.mean_down_ms);
        self.initially_up = self.rng.unit() < availability;
        self.block = b;
        self.flips.clear();
    }

    fn block_start(&self, b: u64) -> SimTime {
        SimTime(b.saturating_mul(self.block_ms))
    }

    /// Generates this block's flips past `t` (or past the block's end, whichever is first).
    fn extend_past(&mut self, t: SimTime) {
        let end = self.block_start(self.block.saturating_add(1));
        while self
            .flips
            .last()
            .is_none_or(|&last| last <= t && last < end)
        {
            let up_now = self.initially_up == self.flips.len().is_multiple_of(2);
            let mean = if up_now {
                self.mean_up_ms
            } else {
                self.mean_down_ms
            };
            let start = self
                .flips
                .last()
                .copied()
                .unwrap_or(self.block_start(self.block));
            // Round up so every period lasts at least 1 ms and flips strictly increase.
            let length = libm::ceil(self.rng.exponential(mean)).max(1.0) as u64;
            self.flips.push(SimTime(start.0.saturating_add(length)));
        }
    }

    /// Holds the block containing `t`.
    fn seek(&mut self, t: SimTime) {
        let b = t.0 / self.block_ms;
        if b != self.block {
            self.load_block(b);
        }
    }

    /// Whether the host is up at `t`.
    pub fn is_up(&mut self, t: SimTime) -> bool {
        self.seek(t);
        self.extend_past(t);
        let flipped = self.flips.partition_point(|&f| f <= t);
        self.initially_up == flipped.is_multiple_of(2)
    }

    /// Down windows `[from, to)` that start before `until`, for reports and tests (at most
    /// [`DOWN_WINDOWS_MAX`], the earliest). Windows that meet at a block boundary are joined.
    pub fn down_windows(&mut self, until: SimTime) -> Vec<(SimTime, SimTime)> {
        let mut out: Vec<(SimTime, SimTime)> = Vec::new();
        if until.0 == 0 {
            return out;
        }
        let last_block = (until.0 - 1) / self.block_ms;
        for b in 0..=last_block {
            if self.block != b {
                self.load_block(b);
            }
            let end = self.block_start(b.saturating_add(1));
            self.extend_past(end.min(until));
            let mut start = self.block_start(b);
            let mut up = self.initially_up;
            for &flip in &self.flips {
                let flip = flip.min(end);
                if !up && start < until {
                    match out.last_mut() {
                        Some(last) if last.1 == start => last.1 = flip,
                        _ => out.push((start, flip)),
                    }
                }
                if flip >= end {
                    break;
                }
                start = flip;
                up = !up;
            }
            if out.len() >= DOWN_WINDOWS_MAX {
                out.truncate(DOWN_WINDOWS_MAX);
                break;
            }
        }
        out
    }
}

impl HostHealth {
    /// The failure state of host `host` for one run.
    pub fn new(
        streams: Streams,
        host: HostId,
        availability: &Availability,
        reject: Option<RejectSpec>,
    ) -> Self {
        let state = match availability {
            Availability::AlwaysUp => HealthState::AlwaysUp,
            Availability::Bernoulli { p } => HealthState::Bernoulli { p: *p },
            Availability::Markov {
                mean_up_ms,
                mean_down_ms,
            } => HealthState::Markov(Box::new(MarkovTimeline::new(
                streams,
                u64::from(host.0),
                *mean_up_ms,
                *mean_down_ms,
            ))),
            Availability::Schedule { down } => HealthState::Schedule(down.clone()),
        };
        HostHealth {
            host: host.0,
            state,
            reject,
        }
    }

    /// Whether the host answers the current attempt (whose draws `draws` holds) at time `t`.
    pub fn is_up(&mut self, t: SimTime, draws: &AttemptRandom) -> bool {
        self.is_up_at(t, draws, 0)
    }

    /// Like [`is_up`](Self::is_up) for connect try `retry` of the attempt (0 = the first): a
    /// Bernoulli host draws a fresh coin per try, a time-based one is looked up at `t`.
    pub fn is_up_at(&mut self, t: SimTime, draws: &AttemptRandom, retry: u32) -> bool {
        match &mut self.state {
            HealthState::AlwaysUp => true,
            HealthState::Bernoulli { p } => {
                let slot = if retry == 0 {
                    Slot::HostDown(self.host)
                } else {
                    Slot::HostDownRetry(self.host, retry)
                };
                draws.unit(slot) >= *p
            }
            HealthState::Markov(m) => m.is_up(t),
            HealthState::Schedule(down) => {
                let i = down.partition_point(|&(from, _)| from <= t);
                i == 0 || down[i - 1].1 <= t
            }
        }
    }

    /// Whether an already established connection to the host still works at `t`: only a
    /// time-based outage (Markov, schedule) breaks it; a Bernoulli host fails new connections
    /// (an attempt's connect), not open ones.
    pub fn keeps_connections(&mut self, t: SimTime) -> bool {
        self.state_at(t) != HostState::Down
    }

    /// What the host looks like at `t`, for drawing: Bernoulli hosts are neither up nor down
    /// between attempts, so they show as flaky.
    pub fn state_at(&mut self, t: SimTime) -> HostState {
        let up = match &mut self.state {
            HealthState::AlwaysUp => true,
            HealthState::Bernoulli { .. } => return HostState::Flaky,
            HealthState::Markov(m) => m.is_up(t),
            HealthState::Schedule(down) => {
                let i = down.partition_point(|&(from, _)| from <= t);
                i == 0 || down[i - 1].1 <= t
            }
        };
        if up {
            HostState::Up
        } else {
            HostState::Down
        }
    }

    /// The permanent reject this attempt gets, if any (the host is up and refuses the message).
    pub fn rejects(&self, draws: &AttemptRandom) -> Option<Reply> {
        let spec = self.reject?;
        (draws.unit(Slot::HostReject(self.host)) < spec.share).then_some(spec.reply)
    }

    /// Down windows before `until` for time-based models (empty for Bernoulli and always-up).
    pub fn down_windows(&mut self, until: SimTime) -> Vec<(SimTime, SimTime)> {
        match &mut self.state {
            HealthState::Markov(m) => m.down_windows(until),
            HealthState::Schedule(down) => down
                .iter()
                .copied()
                .filter(|(from, _)| *from < until)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Sorts and merges overlapping windows, so queries can binary-search them.
pub fn merge_windows(mut windows: Vec<(SimTime, SimTime)>) -> Vec<(SimTime, SimTime)> {
    windows.sort();
    let mut out: Vec<(SimTime, SimTime)> = Vec::with_capacity(windows.len());
    for (from, to) in windows {
        match out.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => out.push((from, to)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markov_timeline_ignores_query_order() {
        let s = Streams::new(5);
        let mut a = MarkovTimeline::new(s, 2, 3_600_000.0, 600_000.0);
        let mut b = MarkovTimeline::new(s, 2, 3_600_000.0, 600_000.0);
        let times: Vec<SimTime> = (0..500).map(|i| SimTime(i * 97_000)).collect();
        let fwd: Vec<bool> = times.iter().map(|&t| a.is_up(t)).collect();
        let bwd: Vec<bool> = times
            .iter()
            .rev()
            .map(|&t| b.is_up(t))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        assert_eq!(fwd, bwd);
    }

    #[test]
    fn markov_work_and_memory_stay_bounded_for_tiny_periods_queried_late() {
        // 1 ms periods queried at 10 days: one block (2000 ms) is generated, not 10 days.
        let mut m = MarkovTimeline::new(Streams::new(3), 1, 1.0, 1.0);
        let ten_days = SimTime(10 * 86_400_000);
        let up = (0..1000)
            .filter(|&i| m.is_up(SimTime(ten_days.0 + i)))
            .count();
        assert!(
            m.flips.len() <= 2 * BLOCK_CYCLES as usize + 2,
            "{}",
            m.flips.len()
        );
        assert!((300..700).contains(&up), "{up}");
        // Still a function of (seed, host, t): a fresh timeline agrees.
        let mut fresh = MarkovTimeline::new(Streams::new(3), 1, 1.0, 1.0);
        assert_eq!(
            m.is_up(SimTime(ten_days.0 + 7)),
            fresh.is_up(SimTime(ten_days.0 + 7))
        );
        // Down windows stop at the cap.
        let w = m.down_windows(ten_days);
        assert_eq!(w.len(), DOWN_WINDOWS_MAX);
        assert!(w.windows(2).all(|p| p[0].1 < p[1].0));
    }

    #[test]
    fn blocks_keep_the_stationary_availability_and_windows_agree_with_queries() {
        // Periods of 900 and 100 ms (rounding to whole ms hardly biases them), blocks of
        // 1000 s; the sample spans 50 blocks.
        let mut m = MarkovTimeline::new(Streams::new(8), 4, 900.0, 100.0);
        let n = 500_000u64;
        let up = (0..n).filter(|&i| m.is_up(SimTime(i * 100))).count();
        let share = up as f64 / n as f64;
        assert!((share - 0.9).abs() < 0.01, "{share}");
        let until = SimTime(3 * m.block_ms + 500);
        let windows = m.down_windows(until);
        for t in (0..until.0).step_by(7) {
            let down = windows.iter().any(|&(from, to)| from.0 <= t && t < to.0);
            assert_eq!(!down, m.is_up(SimTime(t)), "t = {t}");
        }
    }

    #[test]
    fn markov_availability_matches_stationary_value() {
        // Goal: the long-run fraction of time up is A = up/(up+down) = 0.9.
        // Method: mean up 9h, down 1h; sample the state every 1000 s over 20k mean cycles. The
        // tolerance is loose (neighbouring samples are correlated): 0.01 absolute.
        let mut m = MarkovTimeline::new(Streams::new(11), 0, 9.0 * 3_600_000.0, 3_600_000.0);
        let n = 200_000;
        let up = (0..n).filter(|&i| m.is_up(SimTime(i * 1_000_000))).count();
        let share = up as f64 / n as f64;
        assert!((share - 0.9).abs() < 0.01, "{share}");
    }

    #[test]
    fn schedule_windows_are_half_open() {
        let down = merge_windows(vec![
            (SimTime(10), SimTime(20)),
            (SimTime(15), SimTime(30)),
            (SimTime(50), SimTime(60)),
        ]);
        assert_eq!(
            down,
            vec![(SimTime(10), SimTime(30)), (SimTime(50), SimTime(60))]
        );
        let mut h = HostHealth::new(
            Streams::new(1),
            HostId(0),
            &Availability::Schedule { down },
            None,
        );
        let draws = AttemptRandom::new(1, 0);
        let up: Vec<bool> = [0, 10, 29, 30, 49, 50, 60]
            .iter()
            .map(|&t| h.is_up(SimTime(t), &draws))
            .collect();
        assert_eq!(up, vec![true, false, false, true, true, false, true]);
    }
}
