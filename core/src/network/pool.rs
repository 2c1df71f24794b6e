//! Relay pools: several routing servers for one next hop (the brief's R3, R6), and how the
//! sender picks the first one to try in an attempt.
//!
//! The chosen member is tried first; if it fails in a way that moves on (the route's next-hop
//! rule, as for MX hosts), the other members follow in pool order from there, so a pool is
//! also a set of alternatives inside one attempt, like Postfix's list-valued `relayhost`.
//!
//! Strategies: round-robin (a counter per stage), random (the attempt's own draw, so the same
//! under any policy), least-loaded (fewest of this sender's sessions under way to the member,
//! as Envoy's least-request balancer sees it), success-rate (weighted by an exponentially
//! weighted success rate, floored so a failed member is still probed and can recover).

use crate::ids::HostId;
use crate::random::{AttemptRandom, Slot};

/// How a pool member is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choose {
    /// In turn.
    RoundRobin,
    /// Uniformly at random.
    Random,
    /// The member with the fewest sessions under way from this sender.
    LeastLoaded,
    /// Weighted by each member's measured success rate.
    SuccessRate,
}

impl Choose {
    /// Names as written in scenario files.
    pub const NAMES: [&'static str; 4] = ["round-robin", "random", "least-loaded", "success-rate"];

    /// The strategy named `name`.
    pub fn from_name(name: &str) -> Option<Choose> {
        Some(match name {
            "round-robin" => Choose::RoundRobin,
            "random" => Choose::Random,
            "least-loaded" => Choose::LeastLoaded,
            "success-rate" => Choose::SuccessRate,
            _ => return None,
        })
    }
}

/// One hop of a route: a single relay, or a pool of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    /// Members in pool order (one for a plain relay).
    pub members: Vec<HostId>,
    /// How the first member of an attempt is chosen.
    pub choose: Choose,
}

/// Weight of the newest outcome in the success-rate average.
const EWMA_ALPHA: f64 = 0.1;
/// Lowest weight a member keeps, so that it is still probed after failures.
const SUCCESS_FLOOR: f64 = 0.02;

/// The sender's choice state for every stage of its route.
#[derive(Clone, Debug, Default)]
pub struct PoolState {
    turns: Vec<u64>,
    /// Success-rate averages, per stage, per member.
    success: Vec<Vec<f64>>,
}

impl PoolState {
    /// Fresh state for `stages`.
    pub fn new(stages: &[Stage]) -> Self {
        PoolState {
            turns: vec![0; stages.len()],
            success: stages.iter().map(|s| vec![1.0; s.members.len()]).collect(),
        }
    }

    /// Index of the member of stage `index` to try first. `sessions(host)` is this sender's
    /// sessions under way to a host.
    pub fn choose(
        &mut self,
        index: usize,
        stage: &Stage,
        draws: &AttemptRandom,
        mut sessions: impl FnMut(HostId) -> usize,
    ) -> usize {
        let n = stage.members.len();
        if n <= 1 {
            return 0;
        }
        match stage.choose {
            Choose::RoundRobin => {
                let turn = self.turns[index];
                self.turns[index] += 1;
                (turn % n as u64) as usize
            }
            Choose::Random => {
                ((draws.unit(Slot::Pool(stage_slot(index))) * n as f64) as usize).min(n - 1)
            }
            Choose::LeastLoaded => {
                // Ties go round-robin, so an idle pool still spreads its load.
                let start = (self.turns[index] % n as u64) as usize;
                self.turns[index] += 1;
                (0..n)
                    .map(|k| (start + k) % n)
                    .min_by_key(|&i| sessions(stage.members[i]))
                    .unwrap_or(0)
            }
            Choose::SuccessRate => {
                let weights = &self.success[index];
                let total: f64 = weights.iter().map(|w| w.max(SUCCESS_FLOOR)).sum();
                let mut u = draws.unit(Slot::Pool(stage_slot(index))) * total;
                for (i, w) in weights.iter().enumerate() {
                    u -= w.max(SUCCESS_FLOOR);
                    if u < 0.0 {
                        return i;
                    }
                }
                n - 1
            }
        }
    }

    /// Records whether member `member` of stage `index` handled an attempt successfully.
    pub fn outcome(&mut self, index: usize, member: usize, ok: bool) {
        if let Some(w) = self.success.get_mut(index).and_then(|s| s.get_mut(member)) {
            *w += EWMA_ALPHA * (f64::from(u8::from(ok)) - *w);
        }
    }
}

/// The draw slot of stage `index`; an index past `u32` saturates and is then refused by the
/// slot's own range assertion (routes are far shorter: each stage is a declared host).
fn stage_slot(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(choose: Choose) -> Stage {
        Stage {
            members: vec![HostId(1), HostId(2), HostId(3)],
            choose,
        }
    }

    #[test]
    fn round_robin_takes_turns_and_least_loaded_avoids_busy_members() {
        let s = stage(Choose::RoundRobin);
        let mut p = PoolState::new(std::slice::from_ref(&s));
        let d = AttemptRandom::new(1, 0);
        let picks: Vec<usize> = (0..6).map(|_| p.choose(0, &s, &d, |_| 0)).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
        let s = stage(Choose::LeastLoaded);
        let mut p = PoolState::new(std::slice::from_ref(&s));
        for _ in 0..5 {
            assert_eq!(
                p.choose(0, &s, &d, |h| if h == HostId(3) { 0 } else { 4 }),
                2
            );
        }
    }

    #[test]
    fn success_rate_shifts_traffic_away_from_a_failing_member_but_keeps_probing_it() {
        let s = stage(Choose::SuccessRate);
        let mut p = PoolState::new(std::slice::from_ref(&s));
        for _ in 0..100 {
            p.outcome(0, 0, false);
        }
        let mut counts = [0u32; 3];
        for k in 0..6000 {
            counts[p.choose(0, &s, &AttemptRandom::new(k, 0), |_| 0)] += 1;
        }
        // Weights ≈ 0.02 : 1 : 1, so member 0 gets about 1% of 6000 (≈ 59).
        assert!(counts[0] > 20 && counts[0] < 120, "{counts:?}");
        assert!(counts[1] > 2700 && counts[2] > 2700, "{counts:?}");
    }
}
