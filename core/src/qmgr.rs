//! Queue management (brief R15): an active queue of bounded size between the deferred queue and
//! delivery, per-destination concurrency, and fairness between destinations.
//!
//! Model, after Postfix's queue manager (`mta-defaults.md` (a), "Concurrency limits"):
//! - a message whose retry time has come (or that just arrived) enters the active queue if it
//!   has fewer than `active_limit` messages (Postfix `qmgr_message_active_limit` = 20 000);
//!   otherwise it waits, per destination, for room;
//! - an active message is attempted when its destination has fewer attempts under way than its
//!   concurrency window: a fixed number, or Postfix's feedback window (starts at
//!   `initial_destination_concurrency` = 5, +1/window per success, −1/window per failure,
//!   between 1 and `default_destination_concurrency_limit` = 20);
//! - with `fair`, room in the active queue is handed out round-robin between destinations, and
//!   no destination may hold more than `active_limit / (destinations with mail + 1)` of it (one
//!   share stays free for a newcomer), so one slow destination cannot fill the active queue
//!   and starve the others; without it, first come, first served.
//!
//! A destination is the route's first relay, or the recipient domain for direct delivery.
//! Invariants (tested): attempts under way per destination never exceed its window, and the
//! active queue never exceeds its limit.

use crate::ids::{DestinationId, MessageId};
use std::collections::VecDeque;

/// Per-destination concurrency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Concurrency {
    /// At most this many attempts at once.
    Fixed(u32),
    /// Postfix's feedback window.
    Feedback {
        /// Starting window.
        initial: u32,
        /// Largest window.
        limit: u32,
    },
}

impl Concurrency {
    /// Postfix's feedback window: `initial_destination_concurrency` 5, growing to
    /// `default_destination_concurrency_limit` 20 (`reference/mta-defaults.md` (a)).
    pub const POSTFIX: Concurrency = Concurrency::Feedback {
        initial: 5,
        limit: 20,
    };
}

/// Queue settings (`[policy] queue`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueueSpec {
    /// Most messages in the active queue.
    pub active_limit: u32,
    /// Attempts at once per destination.
    pub concurrency: Concurrency,
    /// Round-robin admission and an equal share of the active queue per destination.
    pub fair: bool,
}

impl Default for QueueSpec {
    /// Postfix's defaults: 20 000 active messages, feedback window 5 … 20, fair.
    fn default() -> Self {
        QueueSpec {
            active_limit: 20_000,
            concurrency: Concurrency::POSTFIX,
            fair: true,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Destination {
    window: f64,
    in_flight: u32,
    active: u32,
    /// Active messages waiting for a concurrency slot.
    ready: VecDeque<MessageId>,
    /// Messages waiting for room in the active queue.
    waiting: VecDeque<MessageId>,
}

/// Counters for the report.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct QueueCounters {
    /// Most messages in the active queue at once.
    pub active_peak: u64,
    /// Most messages waiting for room in the active queue at once.
    pub waiting_peak: u64,
    /// Times a due message had to wait (for room or a concurrency slot).
    pub waits: u64,
}

/// The live queue manager.
#[derive(Clone, Debug)]
pub struct QueueManager {
    spec: QueueSpec,
    dests: Vec<Destination>,
    active: u32,
    waiting: u64,
    /// Arrival order of waiting messages across destinations (unfair mode): (dest, id).
    fifo: VecDeque<(DestinationId, MessageId)>,
    turn: usize,
    /// What happened so far.
    pub counters: QueueCounters,
}

impl QueueManager {
    /// An empty queue with `destinations` destinations.
    pub fn new(spec: QueueSpec, destinations: usize) -> Self {
        let window = match spec.concurrency {
            Concurrency::Fixed(n) => f64::from(n),
            Concurrency::Feedback { initial, .. } => f64::from(initial),
        };
        QueueManager {
            spec,
            dests: vec![
                Destination {
                    window,
                    ..Destination::default()
                };
                destinations
            ],
            active: 0,
            waiting: 0,
            fifo: VecDeque::new(),
            turn: 0,
            counters: QueueCounters::default(),
        }
    }

    /// Attempts under way to `dest`.
    #[cfg(test)]
    fn in_flight(&self, dest: DestinationId) -> u32 {
        self.dests[dest.index()].in_flight
    }

    /// The current concurrency window of `dest`, whole attempts.
    pub fn window(&self, dest: DestinationId) -> u32 {
        self.window_at(dest.index())
    }

    fn window_at(&self, i: usize) -> u32 {
        let w = self.dests[i].window;
        // The window moves in [1, limit] (a u32), so the conversion is exact up to the floor.
        debug_assert!(w >= 1.0 && w <= f64::from(u32::MAX));
        (w as u32).max(1)
    }

    fn share_cap(&self) -> u32 {
        if !self.spec.fair {
            return u32::MAX;
        }
        let demand = self
            .dests
            .iter()
            .filter(|d| d.active > 0 || !d.waiting.is_empty())
            .count() as u64;
        // One share is kept free for a destination that has no mail yet; the share is at
        // most `active_limit`, so it fits its u32.
        (u64::from(self.spec.active_limit) / (demand + 1)).max(1) as u32
    }

    /// Message `id` for `dest` is due. Returns true if its attempt may start now; otherwise
    /// it waits and will come out of [`next_to_start`](Self::next_to_start).
    pub fn offer(&mut self, id: MessageId, dest: DestinationId) -> bool {
        let cap = self.share_cap();
        let d = &self.dests[dest.index()];
        let room = self.active < self.spec.active_limit
            && d.active < cap
            && d.waiting.is_empty()
            && (self.spec.fair || self.fifo.is_empty());
        if !room {
            self.dests[dest.index()].waiting.push_back(id);
            if !self.spec.fair {
                self.fifo.push_back((dest, id));
            }
            self.waiting += 1;
            self.counters.waiting_peak = self.counters.waiting_peak.max(self.waiting);
            self.counters.waits += 1;
            return false;
        }
        self.active += 1;
        assert!(
            self.active <= self.spec.active_limit,
            "the active queue never exceeds its limit"
        );
        self.counters.active_peak = self.counters.active_peak.max(u64::from(self.active));
        let window = self.window(dest);
        let d = &mut self.dests[dest.index()];
        d.active += 1;
        if d.in_flight < window && d.ready.is_empty() {
            d.in_flight += 1;
            true
        } else {
            d.ready.push_back(id);
            self.counters.waits += 1;
            false
        }
    }

    /// The attempt (or the gated non-attempt) of an active message for `dest` is over; it
    /// leaves the active queue. `outcome` is `Some(success)` after an attempt, for feedback.
    pub fn done(&mut self, dest: DestinationId, outcome: Option<bool>) {
        let spec = self.spec;
        let d = &mut self.dests[dest.index()];
        d.in_flight -= 1;
        d.active -= 1;
        self.active -= 1;
        if let (Concurrency::Feedback { limit, .. }, Some(ok)) = (spec.concurrency, outcome) {
            let step = 1.0 / d.window.max(1.0);
            d.window = if ok {
                (d.window + step).min(f64::from(limit))
            } else {
                (d.window - step).max(1.0)
            };
        }
    }

    /// Takes waiting message `id` of `dest` out of the queue (its lifetime ended while it
    /// waited). Returns whether it was there.
    pub fn withdraw(&mut self, id: MessageId, dest: DestinationId) -> bool {
        let d = &mut self.dests[dest.index()];
        if let Some(i) = d.ready.iter().position(|&x| x == id) {
            d.ready.remove(i);
            d.active -= 1;
            self.active -= 1;
            return true;
        }
        if let Some(i) = d.waiting.iter().position(|&x| x == id) {
            d.waiting.remove(i);
            self.waiting -= 1;
            if let Some(j) = self.fifo.iter().position(|&(_, x)| x == id) {
                self.fifo.remove(j);
            }
            return true;
        }
        false
    }

    /// The next message whose attempt may start now, with its destination, if any: first a
    /// ready message of a destination under its window, then a waiting one admitted to the
    /// active queue (round-robin between destinations when fair, else first come).
    pub fn next_to_start(&mut self) -> Option<(MessageId, DestinationId)> {
        let n = self.dests.len();
        for k in 0..n {
            let i = (self.turn + k) % n;
            let window = self.window_at(i);
            let d = &mut self.dests[i];
            if d.in_flight < window {
                if let Some(id) = d.ready.pop_front() {
                    d.in_flight += 1;
                    self.turn = (i + 1) % n;
                    return Some((id, DestinationId::from_index(i)));
                }
            }
        }
        while self.active < self.spec.active_limit && self.waiting > 0 {
            let cap = self.share_cap();
            let pick = if self.spec.fair {
                (0..n)
                    .map(|k| (self.turn + k) % n)
                    .find(|&i| !self.dests[i].waiting.is_empty() && self.dests[i].active < cap)
            } else {
                self.fifo.front().map(|&(dest, _)| dest.index())
            }?;
            self.turn = (pick + 1) % n;
            if !self.spec.fair {
                self.fifo.pop_front();
            }
            let id = self.dests[pick]
                .waiting
                .pop_front()
                .expect("picked a waiting dest");
            self.waiting -= 1;
            self.active += 1;
            self.counters.active_peak = self.counters.active_peak.max(u64::from(self.active));
            let window = self.window_at(pick);
            let d = &mut self.dests[pick];
            d.active += 1;
            if d.in_flight < window {
                d.in_flight += 1;
                return Some((id, DestinationId::from_index(pick)));
            }
            d.ready.push_back(id);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(active_limit: u32, n: u32, fair: bool) -> QueueManager {
        QueueManager::new(
            QueueSpec {
                active_limit,
                concurrency: Concurrency::Fixed(n),
                fair,
            },
            2,
        )
    }

    #[test]
    fn concurrency_window_holds_attempts_back_until_one_ends() {
        let mut q = fixed(100, 2, true);
        assert!(q.offer(MessageId(0), DestinationId(0)));
        assert!(q.offer(MessageId(1), DestinationId(0)));
        assert!(!q.offer(MessageId(2), DestinationId(0)));
        assert_eq!(q.next_to_start(), None);
        q.done(DestinationId(0), Some(true));
        assert_eq!(q.next_to_start(), Some((MessageId(2), DestinationId(0))));
        assert_eq!(q.in_flight(DestinationId(0)), 2);
    }

    #[test]
    fn fair_admission_keeps_a_slow_destination_from_filling_the_active_queue() {
        // Active limit 4, window 1. Destination 0 floods first; destination 1 comes later.
        let mut fair = fixed(4, 1, true);
        let mut fifo = fixed(4, 1, false);
        let mut late = Vec::new();
        for q in [&mut fair, &mut fifo] {
            for id in 0..10 {
                q.offer(MessageId(id), DestinationId(0));
            }
            late.push(q.offer(MessageId(100), DestinationId(1)));
        }
        // Fair: destination 0 holds at most half the active queue, so 100 starts at once.
        assert_eq!(fair.dests[0].active, 2);
        assert_eq!(late, vec![true, false]);
        // First come, first served: destination 0 holds all 4 places, and when one frees the
        // next of its own messages takes it; 100 waits behind 6 others.
        assert_eq!(fifo.dests[0].active, 4);
        fifo.done(DestinationId(0), Some(true));
        let mut started = Vec::new();
        while let Some((MessageId(id), _)) = fifo.next_to_start() {
            started.push(id);
        }
        assert!(!started.contains(&100), "{started:?}");
    }

    #[test]
    fn postfix_feedback_grows_on_success_and_shrinks_on_failure() {
        let mut q = QueueManager::new(QueueSpec::default(), 1);
        assert_eq!(q.window(DestinationId(0)), 5);
        // +1/w per success: six successes take 5 to 6.099; twelve failures to 3.700.
        for round in 0..6 {
            assert!(q.offer(MessageId(round), DestinationId(0)));
            q.done(DestinationId(0), Some(true));
        }
        assert_eq!(q.window(DestinationId(0)), 6);
        for round in 0..12 {
            assert!(q.offer(MessageId(round), DestinationId(0)));
            q.done(DestinationId(0), Some(false));
        }
        assert_eq!(q.window(DestinationId(0)), 3);
    }
}
