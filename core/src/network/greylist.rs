//! Greylisting at an MX (Harris 2003; `smtp-facts.md` §6, §7.5).
//!
//! The key is the triplet (client host, envelope sender, envelope recipient). A new triplet is
//! deferred (451 4.7.1 by default, Harris's relaydelay reply); a retry of the same triplet at
//! least `delay` after its first sighting and at most `window` after it passes, and the
//! triplet is then remembered as passed for `lifetime` after its last use. A retry after the
//! window starts the triplet over. Senders whose retries come from another client host (relay
//! pools, Gmail's changing source IPs) are new triplets and greylisted again.
//!
//! With a schedule t₀ < t₁ < …, a single client passes at the first tᵢ ≥ delay, provided it is
//! within the window (§7.5).

use crate::smtp::Reply;
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// Greylisting parameters of one MX.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GreylistSpec {
    /// How long a new triplet is refused (postgrey 5 min; relaydelay 1 h).
    pub delay: SimDuration,
    /// How long after its first sighting a triplet may still pass (spamd 4 h).
    pub window: SimDuration,
    /// How long a passed triplet is remembered after its last use (36 days).
    pub lifetime: SimDuration,
    /// The deferral reply (451 4.7.1).
    pub reply: Reply,
}

impl Default for GreylistSpec {
    /// postgrey's delay (300 s) and retry window (2 days), the 36-day pass record of Harris's
    /// relaydelay, and its 451 4.7.1 reply (`smtp-facts.md` §6).
    fn default() -> Self {
        GreylistSpec {
            delay: SimDuration::from_mins(5),
            window: SimDuration::from_days(2),
            lifetime: SimDuration::from_days(36),
            reply: crate::smtp::codes::GREYLISTED,
        }
    }
}

/// A triplet: client host, sender (one envelope sender per run), recipient.
pub type Triplet = (u32, u32, u64);

#[derive(Clone, Copy, Debug)]
enum Entry {
    /// Seen first at this time, not passed yet.
    Grey(SimTime),
    /// Passed; last used at this time.
    Passed(SimTime),
}

/// What the MX answers for a triplet now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Deferred: a new triplet, or a retry before `delay`.
    Defer,
    /// Accepted (the triplet passed now or earlier).
    Pass,
}

/// One MX's greylist database.
#[derive(Clone, Debug)]
pub struct Greylist {
    spec: GreylistSpec,
    entries: BTreeMap<Triplet, Entry>,
    /// Deferrals so far.
    pub deferred: u64,
    /// Triplets that passed after a deferral.
    pub passed: u64,
    /// The latest deferral, to say whether the host is holding mail back now.
    last_deferral: Option<SimTime>,
}

impl Greylist {
    /// An empty database.
    pub fn new(spec: GreylistSpec) -> Self {
        Greylist {
            spec,
            entries: BTreeMap::new(),
            deferred: 0,
            passed: 0,
            last_deferral: None,
        }
    }

    /// The deferral reply.
    pub fn reply(&self) -> Reply {
        self.spec.reply
    }

    /// Whether a triplet deferred at most `delay` before `t` is still being held back: the
    /// host is visibly greylisting now (for drawing; nothing changes).
    pub fn holding_at(&self, t: SimTime) -> bool {
        // A deferral a few round trips after `t` (an attempt's hops are timed when it starts)
        // counts as now.
        self.last_deferral
            .is_some_and(|d| t.since(d) < self.spec.delay)
    }

    /// Checks `triplet` at time `t`, updating the database.
    pub fn check(&mut self, triplet: Triplet, t: SimTime) -> Verdict {
        let s = self.spec;
        let entry = self.entries.entry(triplet).or_insert(Entry::Grey(t));
        let verdict = match *entry {
            Entry::Passed(last) if t.since(last) <= s.lifetime => Verdict::Pass,
            Entry::Passed(_) => {
                *entry = Entry::Grey(t);
                Verdict::Defer
            }
            Entry::Grey(first) => {
                let age = t.since(first);
                if age < s.delay {
                    Verdict::Defer
                } else if age <= s.window {
                    self.passed += 1;
                    Verdict::Pass
                } else {
                    *entry = Entry::Grey(t);
                    Verdict::Defer
                }
            }
        };
        match verdict {
            Verdict::Pass => *entry = Entry::Passed(t),
            Verdict::Defer => {
                self.deferred += 1;
                // None < Some: the latest deferral so far.
                self.last_deferral = self.last_deferral.max(Some(t));
            }
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::codes;

    fn grey(delay_s: u64, window_s: u64) -> Greylist {
        Greylist::new(GreylistSpec {
            delay: SimDuration::from_secs(delay_s),
            window: SimDuration::from_secs(window_s),
            lifetime: SimDuration::from_secs(36 * 86_400),
            reply: codes::GREYLISTED,
        })
    }

    /// The delay a single client sees with attempts at `schedule` (seconds).
    fn passes_at(g: &mut Greylist, schedule: &[u64]) -> Option<u64> {
        schedule
            .iter()
            .copied()
            .find(|&s| g.check((0, 0, 1), SimTime(s * 1000)) == Verdict::Pass)
    }

    const POSTFIX: [u64; 9] = [0, 300, 600, 1200, 2400, 4800, 8800, 12800, 16800];
    const DOUBLING: [u64; 8] = [0, 300, 900, 2100, 4500, 8500, 12500, 16500];

    #[test]
    fn matches_the_closed_form_delays_of_smtp_facts_7_5() {
        // d = 300: 300 / 300; d = 1500, W = 4h: 2400 / 2100; d = 3600, W = 4h: 4800 / 4500.
        for (d, postfix, doubling) in [(300, 300, 300), (1500, 2400, 2100), (3600, 4800, 4500)] {
            assert_eq!(
                passes_at(&mut grey(d, 14_400), &POSTFIX),
                Some(postfix),
                "d={d}"
            );
            assert_eq!(
                passes_at(&mut grey(d, 14_400), &DOUBLING),
                Some(doubling),
                "d={d}"
            );
        }
    }

    #[test]
    fn holds_mail_for_the_delay_after_its_latest_deferral() {
        let mut g = grey(300, 14_400);
        assert!(!g.holding_at(SimTime(0)), "nothing deferred yet");
        assert_eq!(g.check((0, 0, 1), SimTime(0)), Verdict::Defer);
        assert!(g.holding_at(SimTime(299_999)));
        assert!(!g.holding_at(SimTime(300_000)));
        // A pass is not a deferral: the hold ends on time.
        assert_eq!(g.check((0, 0, 1), SimTime(300_000)), Verdict::Pass);
        assert!(!g.holding_at(SimTime(300_001)));
    }

    #[test]
    fn a_retry_after_the_window_starts_over_and_a_new_client_is_greylisted_again() {
        let mut g = grey(300, 600);
        assert_eq!(g.check((0, 0, 1), SimTime(0)), Verdict::Defer);
        // 700 s > window: starts over from 700.
        assert_eq!(g.check((0, 0, 1), SimTime(700_000)), Verdict::Defer);
        assert_eq!(g.check((0, 0, 1), SimTime(1_000_000)), Verdict::Pass);
        // Remembered: passes at once later.
        assert_eq!(g.check((0, 0, 1), SimTime(90_000_000)), Verdict::Pass);
        // The same mail from another client host is a new triplet.
        assert_eq!(g.check((1, 0, 1), SimTime(90_000_000)), Verdict::Defer);
        assert_eq!((g.deferred, g.passed), (3, 1));
    }
}
