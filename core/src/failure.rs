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

/// The lazily generated timeline of a Markov host.
#[derive(Debug)]
pub struct MarkovTimeline {
    rng: SeqStream,
    mean_up_ms: f64,
    mean_down_ms: f64,
    initially_up: bool,
    /// Times at which the state flips, increasing.
    flips: Vec<SimTime>,
}

impl MarkovTimeline {
    /// The timeline of host `host` under seed `streams`.
    pub fn new(streams: Streams, host: u64, mean_up_ms: f64, mean_down_ms: f64) -> Self {
        let mut rng = streams.sequential(Purpose::Outage, host);
        let availability = mean_up_ms / (mean_up_ms + mean_down_ms);
        let initially_up = rng.unit() < availability;
        MarkovTimeline {
            rng,
            mean_up_ms,
            mean_down_ms,
            initially_up,
            flips: Vec::new(),
        }
    }

    fn extend_past(&mut self, t: SimTime) {
        while self.flips.last().is_none_or(|&last| last <= t) {
            let up_now = self.initially_up == self.flips.len().is_multiple_of(2);
            let mean = if up_now {
                self.mean_up_ms
            } else {
                self.mean_down_ms
            };
            let start = self.flips.last().copied().unwrap_or(SimTime::ZERO);
            // Round up so every period lasts at least 1 ms and flips strictly increase.
            let length = libm::ceil(self.rng.exponential(mean)).max(1.0) as u64;
            self.flips.push(SimTime(start.0.saturating_add(length)));
        }
    }

    /// Whether the host is up at `t`.
    pub fn is_up(&mut self, t: SimTime) -> bool {
        self.extend_past(t);
        let flipped = self.flips.partition_point(|&f| f <= t);
        self.initially_up == flipped.is_multiple_of(2)
    }

    /// Down windows `[from, to)` that start before `until`, for reports and tests.
    pub fn down_windows(&mut self, until: SimTime) -> Vec<(SimTime, SimTime)> {
        self.extend_past(until);
        let mut out = Vec::new();
        let mut start = SimTime::ZERO;
        let mut up = self.initially_up;
        for &flip in &self.flips {
            if !up && start < until {
                out.push((start, flip));
            }
            start = flip;
            up = !up;
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
