//! Periodic scans of the deferred queue (Postfix `queue_run_delay`, Exim's `-q` runner).

use crate::time::{SimDuration, SimTime};

/// Periodic scans of the deferred queue, at `phase + k·every` for k = 0, 1, … in simulated
/// time. Postfix's queue manager scans every `queue_run_delay`; Exim's daemon starts a queue
/// run every `-q` interval counted from the daemon's start, not from a message's arrival
/// (`reference/real-mta/README.md`), so where a message falls between two runs — the phase —
/// can move an attempt by a whole interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueScan {
    /// Time between scans (> 0).
    pub every: SimDuration,
    /// Time of the first scan, in [0, every).
    pub phase: SimDuration,
}

impl QueueScan {
    /// Scans every `every` from t = 0.
    pub fn every(every: SimDuration) -> Self {
        QueueScan {
            every,
            phase: SimDuration::ZERO,
        }
    }

    /// The first scan at or after `t`.
    pub fn at_or_after(self, t: SimTime) -> SimTime {
        let (every, phase) = (self.every.as_ms().max(1), self.phase.as_ms());
        if t.as_ms() <= phase {
            return SimTime(phase);
        }
        let k = (t.as_ms() - phase).div_ceil(every);
        SimTime(phase.saturating_add(k.saturating_mul(every)))
    }
}

impl std::fmt::Display for QueueScan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.phase.as_ms() == 0 {
            write!(f, "{}", self.every)
        } else {
            write!(f, "{} (phase {})", self.every, self.phase)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_scans_with_a_phase_tick_from_it() {
        let scan = QueueScan {
            every: SimDuration::from_secs(5),
            phase: SimDuration::from_ms(4_666),
        };
        let at = |ms| scan.at_or_after(SimTime(ms)).as_ms();
        assert_eq!(at(0), 4_666);
        assert_eq!(at(4_666), 4_666);
        assert_eq!(at(4_667), 9_666);
        assert_eq!(at(15_000), 19_666);
        assert_eq!(
            QueueScan::every(SimDuration::from_secs(5))
                .at_or_after(SimTime(1))
                .as_ms(),
            5_000
        );
    }
}
