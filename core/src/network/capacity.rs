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
use std::cmp::Reverse;
use std::collections::BinaryHeap;

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

impl Default for CapacitySpec {
    /// A host that declares `capacity` without every field: 100 sessions, 1 s of service per
    /// message, no backlog, refusing with 421 4.3.2 (docs/scenario.md, `[[hosts]]`).
    fn default() -> Self {
        CapacitySpec {
            sessions: 100,
            service_time: SimDuration::from_secs(1),
            backlog: 0,
            reply: crate::smtp::codes::TOO_MANY_CONNECTIONS,
            abandoned_cost: 1.0,
        }
    }
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
///
/// NOTE(perf): servers sit in a min-heap by the time they free up (ties by index, so the
/// choice is deterministic); a server serving a session is out of the heap until
/// [`occupy`](HostLoad::occupy) puts it back. Waiting greetings sit in a min-heap too, so an
/// admission costs O(log n) whatever the number of servers or the backlog.
#[derive(Clone, Debug)]
pub struct HostLoad {
    spec: CapacitySpec,
    /// Idle or soon-free servers: (free from, index).
    free: BinaryHeap<Reverse<(SimTime, u32)>>,
    /// Greeting times of connections admitted to wait in the backlog.
    waiting: BinaryHeap<Reverse<SimTime>>,
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
        assert!(
            spec.sessions > 0,
            "the loader refuses a capacity of 0 sessions"
        );
        HostLoad {
            spec,
            free: (0..spec.sessions)
                .map(|i| Reverse((SimTime::ZERO, i)))
                .collect(),
            waiting: BinaryHeap::new(),
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
    /// `greeting_timeout` for the greeting. A served connection holds its server until
    /// [`occupy`](Self::occupy) says when its session ends.
    pub fn admit(&mut self, at: SimTime, greeting_timeout: SimDuration) -> Admission {
        // Every server is serving a session whose end is not known yet: the host is full.
        let Some(&Reverse((free, slot))) = self.free.peek() else {
            self.refused += 1;
            return Admission::Refused;
        };
        if free <= at {
            self.free.pop();
            return Admission::Served { slot, start: at };
        }
        while self.waiting.peek().is_some_and(|&Reverse(s)| s <= at) {
            self.waiting.pop();
        }
        if self.waiting.len() as u64 >= u64::from(self.spec.backlog) {
            self.refused += 1;
            return Admission::Refused;
        }
        self.free.pop();
        self.waiting.push(Reverse(free));
        assert!(
            self.waiting.len() as u64 <= u64::from(self.spec.backlog),
            "the backlog never exceeds its size"
        );
        self.peak_backlog = self.peak_backlog.max(self.waiting.len() as u64);
        if free.since(at) > greeting_timeout {
            self.abandoned += 1;
            let wasted = (self.spec.service_time.as_ms() as f64 * self.spec.abandoned_cost) as u64;
            self.free.push(Reverse((
                free.after(SimDuration::from_ms(wasted.max(1))),
                slot,
            )));
            return Admission::TimedOut;
        }
        Admission::Served { slot, start: free }
    }

    /// A server free at `at` for a session on an already open connection (no backlog: a
    /// cached connection whose server is busy counts as closed). Touches nothing otherwise.
    pub fn admit_now(&mut self, at: SimTime) -> Option<u32> {
        match self.free.peek() {
            Some(&Reverse((free, slot))) if free <= at => {
                self.free.pop();
                Some(slot)
            }
            _ => None,
        }
    }

    /// Sessions under way at `t` and connections waiting in the backlog for their greeting,
    /// for drawing the host's load (nothing changes).
    ///
    /// NOTE(perf): O(sessions + backlog): called once per drawn frame, not per event.
    pub fn load_at(&self, t: SimTime) -> (u32, u32) {
        let idle = self
            .free
            .iter()
            .filter(|&&Reverse((free, _))| free <= t)
            .count() as u32;
        let waiting = self
            .waiting
            .iter()
            .filter(|&&Reverse(start)| start > t)
            .count() as u32;
        (self.spec.sessions - idle, waiting)
    }

    /// Puts server `slot` back, busy until `until` (the end of the session it admitted).
    pub fn occupy(&mut self, slot: u32, until: SimTime) {
        assert!(slot < self.spec.sessions, "a server of this host");
        self.free.push(Reverse((until, slot)));
        // Invariant: sessions under way ≤ capacity, i.e. no server is put back twice.
        assert!(
            self.free.len() as u64 <= u64::from(self.spec.sessions),
            "server {slot} put back twice"
        );
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
    fn load_counts_sessions_under_way_and_greetings_still_waiting() {
        let mut h = load(2, 5);
        assert_eq!(h.load_at(SimTime(0)), (0, 0));
        // Two sessions: one until 10 s, one until 20 s (admitted, then told its end).
        let Admission::Served { slot: a, .. } = h.admit(SimTime(0), FIVE_MIN) else {
            panic!()
        };
        assert_eq!(
            h.load_at(SimTime(0)),
            (1, 0),
            "a session whose end is not known yet"
        );
        h.occupy(a, SimTime(10_000));
        let Admission::Served { slot: b, .. } = h.admit(SimTime(0), FIVE_MIN) else {
            panic!()
        };
        h.occupy(b, SimTime(20_000));
        // A third waits for the first server, greeted at 10 s.
        assert!(matches!(
            h.admit(SimTime(1_000), FIVE_MIN),
            Admission::Served {
                start: SimTime(10_000),
                ..
            }
        ));
        assert_eq!(h.load_at(SimTime(5_000)), (2, 1));
        // At 15 s the waiting one is greeted and the second session still runs.
        assert_eq!(h.load_at(SimTime(15_000)), (2, 0));
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
