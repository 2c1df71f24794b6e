//! Host capacity: a fixed number of SMTP sessions served at once, a listen backlog, and the
//! service time each session costs — where load, retry storms and metastable failure appear.
//!
//! Model (a multi-server FIFO queue, DESIGN §3 `capacity`):
//! - the host runs `sessions` servers; a new connection takes the server that frees first;
//! - if every server is busy it waits in the backlog (up to `backlog` waiting connections) and
//!   gets its greeting when a server frees; a full backlog refuses it at once with the
//!   configured over-capacity reply (421 4.3.2 by default, as Exim's `smtp_accept_max` does;
//!   `smtp-facts.md` §1.5);
//! - a client waits for the greeting at most its greeting timeout (RFC 5321 §4.5.3.2: 5 min);
//!   a connection that waited longer is abandoned by the client (4.4.2), but the server still
//!   spends `abandoned_cost` × service time on it when its turn comes: it cannot know the
//!   client left. That wasted work is the sustaining effect of a metastable failure (Bronson
//!   et al., HotOS 2021; `retry-and-visualizers.md`): retries keep the backlog full of
//!   connections whose clients have gone, so goodput stays near zero after the trigger ends.
//!
//! Invariant: a server serves one session at a time, so concurrent sessions never exceed
//! `sessions` (each server's busy intervals are disjoint by construction).
//!
//! Approximation: sessions are admitted in the order attempts start, which within one attempt
//! can be a few round trips ahead of other attempts' contacts; the backlog count uses the
//! sessions admitted so far.

use crate::smtp::Reply;
use crate::time::{SimDuration, SimTime};

/// A host's capacity, from the scenario.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CapacitySpec {
    /// Sessions served at once.
    pub sessions: u32,
    /// Server time per accepted message (content checks, disk), added to the session.
    pub service_time: SimDuration,
    /// Connections that may wait for a free server (0: refuse at once when full).
    pub backlog: u32,
    /// The reply to a connection refused for load: 421 4.3.2 or 451 4.4.5.
    pub reply: Reply,
    /// Share of the service time spent on a connection its client abandoned.
    pub abandoned_cost: f64,
}

/// What the host does with a new connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Served by server `slot` from `start` (≥ the connect time when it waited).
    Served {
        /// Server index, to release it with [`HostLoad::occupy`].
        slot: u32,
        /// When the greeting is sent.
        start: SimTime,
    },
    /// Every server busy and the backlog full: refused with the over-capacity reply.
    Refused,
    /// The greeting would come after the client's timeout: the client gives up at
    /// connect + timeout.
    TimedOut,
}

/// The live load of one host.
#[derive(Clone, Debug)]
pub struct HostLoad {
    spec: CapacitySpec,
    /// When each server is next free.
    free_at: Vec<SimTime>,
    /// Greeting times of connections admitted to wait in the backlog.
    waiting: Vec<SimTime>,
    /// Counters for the report.
    pub refused: u64,
    /// Connections abandoned by their clients while waiting.
    pub abandoned: u64,
    /// Most connections seen waiting at once.
    pub peak_backlog: u64,
}

impl HostLoad {
    /// An idle host with `spec`.
    pub fn new(spec: CapacitySpec) -> Self {
        HostLoad {
            spec,
            free_at: vec![SimTime::ZERO; spec.sessions.max(1) as usize],
            waiting: Vec::new(),
            refused: 0,
            abandoned: 0,
            peak_backlog: 0,
        }
    }

    /// The host's capacity.
    pub fn spec(&self) -> &CapacitySpec {
        &self.spec
    }

    /// Admits a connection arriving at `at` from a client that waits at most
    /// `greeting_timeout` for the greeting.
    pub fn admit(&mut self, at: SimTime, greeting_timeout: SimDuration) -> Admission {
        let (slot, free) = self
            .free_at
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|&(i, f)| (f, i))
            .expect("at least one server");
        if free <= at {
            // Held provisionally until the caller knows the session's end (see `occupy`).
            self.free_at[slot] = at.after(SimDuration::from_ms(1));
            return Admission::Served {
                slot: slot as u32,
                start: at,
            };
        }
        self.waiting.retain(|&s| s > at);
        if self.waiting.len() as u64 >= u64::from(self.spec.backlog) {
            self.refused += 1;
            return Admission::Refused;
        }
        self.waiting.push(free);
        self.peak_backlog = self.peak_backlog.max(self.waiting.len() as u64);
        if free.since(at) > greeting_timeout {
            self.abandoned += 1;
            let wasted = (self.spec.service_time.as_ms() as f64 * self.spec.abandoned_cost) as u64;
            self.free_at[slot] = free.after(SimDuration::from_ms(wasted.max(1)));
            return Admission::TimedOut;
        }
        self.free_at[slot] = free.after(SimDuration::from_ms(1));
        Admission::Served {
            slot: slot as u32,
            start: free,
        }
    }

    /// Marks server `slot` busy until `until` (the end of the session it admitted).
    pub fn occupy(&mut self, slot: u32, until: SimTime) {
        let f = &mut self.free_at[slot as usize];
        *f = (*f).max(until);
    }

    /// Sessions under way at `t` (for least-loaded choices and snapshots).
    pub fn busy_at(&self, t: SimTime) -> u32 {
        self.free_at.iter().filter(|&&f| f > t).count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::codes;

    fn load(sessions: u32, backlog: u32) -> HostLoad {
        HostLoad::new(CapacitySpec {
            sessions,
            service_time: SimDuration::from_secs(10),
            backlog,
            reply: codes::TOO_MANY_CONNECTIONS,
            abandoned_cost: 1.0,
        })
    }

    const FIVE_MIN: SimDuration = SimDuration::from_ms(300_000);

    #[test]
    fn full_host_without_backlog_refuses() {
        let mut h = load(2, 0);
        for _ in 0..2 {
            let Admission::Served { slot, start } = h.admit(SimTime(0), FIVE_MIN) else {
                panic!("free server refused");
            };
            h.occupy(slot, start.after(SimDuration::from_secs(10)));
        }
        assert_eq!(h.admit(SimTime(5_000), FIVE_MIN), Admission::Refused);
        assert_eq!(h.busy_at(SimTime(5_000)), 2);
        // Once a server frees, connections are served again.
        assert!(matches!(
            h.admit(SimTime(10_000), FIVE_MIN),
            Admission::Served {
                start: SimTime(10_000),
                ..
            }
        ));
    }

    #[test]
    fn backlog_delays_the_greeting_until_a_server_frees() {
        let mut h = load(1, 5);
        let Admission::Served { slot, .. } = h.admit(SimTime(0), FIVE_MIN) else {
            panic!()
        };
        h.occupy(slot, SimTime(60_000));
        assert_eq!(
            h.admit(SimTime(1_000), FIVE_MIN),
            Admission::Served {
                slot: 0,
                start: SimTime(60_000)
            }
        );
    }

    #[test]
    fn abandoned_connections_still_cost_the_server() {
        // Goal: a connection that would wait past the client's timeout is abandoned, yet the
        // server later spends the service time on it (the metastable sustaining effect).
        let mut h = load(1, 5);
        let Admission::Served { slot, .. } = h.admit(SimTime(0), FIVE_MIN) else {
            panic!()
        };
        h.occupy(slot, SimTime(400_000));
        assert_eq!(h.admit(SimTime(1_000), FIVE_MIN), Admission::TimedOut);
        assert_eq!(h.abandoned, 1);
        // The next connection waits behind the abandoned one's wasted 10 s.
        assert_eq!(
            h.admit(SimTime(200_000), FIVE_MIN),
            Admission::Served {
                slot: 0,
                start: SimTime(410_000)
            }
        );
    }
}
