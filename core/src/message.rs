//! A message's life: its state, and the only functions that change it.
//!
//! ```text
//!            arrive ─▶ Due ─┬─ begin_attempt ─▶ InFlight ─┬─ deliver ─▶ Delivered
//!                       ▲   └─ wait ─▶ Waiting ─┐         ├─ bounce ──▶ Bounced
//!                       │   (slot) begin_attempt┘         ├─ defer ───▶ Deferred ─ due ─▶ Due
//!                       └──────────── hand_off ───────────┘
//!   Due | Waiting ─ gate ─▶ Deferred        Due | Waiting | Deferred ─ expire ─▶ Expired
//! ```
//!
//! Every transition asserts the state it starts from, so a simulation bug that would attempt a
//! finished message, or finish one twice, stops the run instead of producing a wrong report.
//! [`Messages`] also keeps the number of messages in each state, so queue gauges (series,
//! snapshots) are O(1) and conservation can be checked against the metrics at any time.

use crate::ids::{DomainId, MessageId, MtaId};
use crate::policy::{Failure, RetryPolicy, Streak};
use crate::random::{AttemptRandom, Slot};
use crate::smtp::{codes, Reply};
use crate::time::{SimDuration, SimTime};

/// Where a message is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageState {
    /// Arrived or handed on, about to be offered to its MTA's queue manager.
    Due,
    /// Waiting in the deferred queue for a retry.
    Deferred,
    /// Due, but waiting for room in the active queue or a concurrency slot.
    Waiting,
    /// An attempt is under way.
    InFlight,
    /// Accepted by a final MX.
    Delivered,
    /// Permanently failed.
    Bounced,
    /// Expired at the queue lifetime.
    Expired,
}

impl MessageState {
    /// Every state, in the order of [`StateCounts`].
    pub const ALL: [MessageState; 7] = [
        MessageState::Due,
        MessageState::Deferred,
        MessageState::Waiting,
        MessageState::InFlight,
        MessageState::Delivered,
        MessageState::Bounced,
        MessageState::Expired,
    ];

    /// Delivered, bounced or expired.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            MessageState::Delivered | MessageState::Bounced | MessageState::Expired
        )
    }
}

/// Number of messages in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateCounts([u64; 7]);

impl StateCounts {
    /// Messages in `state`.
    pub fn of(&self, state: MessageState) -> u64 {
        self.0[state as usize]
    }

    /// Messages not yet in a terminal state.
    pub fn queued(&self) -> u64 {
        MessageState::ALL
            .iter()
            .filter(|s| !s.is_terminal())
            .map(|&s| self.of(s))
            .sum()
    }
}

/// What the attempt under way will tell the message's MTA when it ends (decided when it
/// starts: attempts are walked synchronously, ARCHITECTURE.md "Attempts are walked when they
/// start").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The reply (before any attempt: 250 2.0.0; after a gate: its last failure or 4.4.1).
    pub reply: Reply,
    /// The first hop's retry hint ("try again in N seconds"), whole seconds; zero when none.
    pub hint: SimDuration,
    /// The store-and-forward MTA that accepted it, when the reply is a relay's 250.
    pub accepted_by: Option<MtaId>,
}

impl Pending {
    /// Before any attempt: nothing pending, no hint, no relay.
    pub const NONE: Pending = Pending {
        reply: codes::OK,
        hint: SimDuration::ZERO,
        accepted_by: None,
    };

    /// The result `reply`, with no hint and no relay.
    #[cfg(test)]
    pub fn reply(reply: Reply) -> Pending {
        Pending {
            reply,
            ..Pending::NONE
        }
    }
}

/// Per-message state. NOTE(perf): one exists per message, so it is kept flat (88 bytes).
#[derive(Clone, Copy, Debug)]
pub struct Message {
    /// Key of the message's per-attempt draws in its current MTA (`random::AttemptRandom`).
    pub key: u64,
    /// When it arrived at the sender.
    pub arrival: SimTime,
    /// When it entered its current MTA's queue: the start of that queue's lifetime.
    pub entered: SimTime,
    /// The wait chosen after its previous failure in this MTA (zero before the first).
    pub last_wait: SimDuration,
    /// The attempt under way, or the last one's result.
    pub pending: Pending,
    /// Recipient domain.
    pub domain: DomainId,
    /// Attempts made by its current MTA.
    pub attempts: u32,
    /// Attempts made by every MTA that held it (`limits.events_max` ≤ `ids::ID_MAX` bounds
    /// both counts: each attempt is an event).
    pub attempts_total: u32,
    /// The MTA holding it.
    pub mta: MtaId,
    /// Store-and-forward relays it has passed (checked against the next MTA's `hop_limit`).
    pub relays: u32,
    /// Delay warnings its current MTA has sent for it.
    pub warned: u32,
    /// The rule of its latest failures in this MTA (`policy::count`; kept as two fields, not
    /// a [`Streak`], so the message stays 88 bytes).
    pub streak_rule: u16,
    /// How many of its latest failures in a row that rule governed.
    pub streak_len: u32,
    /// Where it is in its life.
    pub state: MessageState,
    /// Addressed to a mailbox that does not exist (→ 550 5.1.1 at the final MX).
    pub unknown_recipient: bool,
}

impl Message {
    /// The run of its latest failures in this MTA that one rule governed.
    pub fn streak(&self) -> Streak {
        Streak {
            rule: self.streak_rule,
            len: self.streak_len,
        }
    }

    /// What its MTA's policy needs to decide after its attempt failed with `reply` at `now`:
    /// the failure, its age in the queue, the previous wait and hint, and, for a jittered
    /// policy, the attempt's jitter draw.
    pub fn failure(&self, reply: Reply, now: SimTime, policy: &RetryPolicy) -> Failure {
        let u = if policy.is_jittered() {
            AttemptRandom::new(self.key, self.attempts - 1).unit(Slot::Jitter)
        } else {
            0.0
        };
        Failure {
            reply,
            arrival: self.entered,
            now,
            attempts: self.attempts,
            previous: (self.last_wait.as_ms() > 0).then_some(self.last_wait),
            streak: policy.streak_after(self.streak(), reply),
            u,
            hint: (self.pending.hint.as_ms() > 0).then_some(self.pending.hint),
        }
    }
}

/// Every message of a run, indexed by [`MessageId`], and the count in each state.
#[derive(Clone, Debug, Default)]
pub struct Messages {
    all: Vec<Message>,
    counts: StateCounts,
}

/// NOTE(perf): the store reserves at most this many messages up front (80 MB); a larger run
/// grows the vector as messages arrive instead of reserving what the rate promises.
const RESERVE_MAX: usize = 1 << 20;

impl Messages {
    /// An empty store expecting about `expected` messages.
    pub fn with_expected(expected: f64) -> Self {
        let reserve = (expected * 1.1).clamp(16.0, RESERVE_MAX as f64) as usize;
        Messages {
            all: Vec::with_capacity(reserve),
            counts: StateCounts::default(),
        }
    }

    /// Message `id`.
    #[inline]
    pub fn get(&self, id: MessageId) -> &Message {
        &self.all[id.index()]
    }

    /// Messages in each state.
    pub fn counts(&self) -> StateCounts {
        self.counts
    }

    /// A new message arrives at the sender at `t`, due for its first attempt.
    pub fn arrive(
        &mut self,
        key: u64,
        t: SimTime,
        domain: DomainId,
        unknown_recipient: bool,
    ) -> MessageId {
        let id = MessageId::from_index(self.all.len());
        self.all.push(Message {
            key,
            arrival: t,
            entered: t,
            last_wait: SimDuration::ZERO,
            pending: Pending::NONE,
            domain,
            attempts: 0,
            attempts_total: 0,
            mta: MtaId::SENDER,
            relays: 0,
            warned: 0,
            streak_rule: 0,
            streak_len: 0,
            state: MessageState::Due,
            unknown_recipient,
        });
        self.counts.0[MessageState::Due as usize] += 1;
        id
    }

    #[inline]
    fn set(&mut self, id: MessageId, from: &[MessageState], to: MessageState) -> &mut Message {
        let m = &mut self.all[id.index()];
        assert!(
            from.contains(&m.state),
            "message {}: {:?} → {to:?} is not a transition (expected from {from:?})",
            id.0,
            m.state
        );
        self.counts.0[m.state as usize] -= 1;
        self.counts.0[to as usize] += 1;
        m.state = to;
        m
    }

    /// A deferred message's retry time has come.
    #[inline]
    pub fn due(&mut self, id: MessageId) {
        self.set(id, &[MessageState::Deferred], MessageState::Due);
    }

    /// A due message waits for a queue slot.
    #[inline]
    pub fn wait(&mut self, id: MessageId) {
        self.set(id, &[MessageState::Due], MessageState::Waiting);
    }

    /// An attempt starts; its result is already known (`pending`).
    #[inline]
    pub fn begin_attempt(&mut self, id: MessageId, pending: Pending) {
        let m = self.set(
            id,
            &[MessageState::Due, MessageState::Waiting],
            MessageState::InFlight,
        );
        m.attempts += 1;
        m.attempts_total += 1;
        m.pending = pending;
    }

    /// A shared-state gate refused the attempt before it started: the message waits without
    /// an attempt counted, keeping its last real failure (or 4.4.1 if it never had one) as the
    /// failure it would expire with.
    #[inline]
    pub fn gate(&mut self, id: MessageId) {
        let m = self.set(
            id,
            &[MessageState::Due, MessageState::Waiting],
            MessageState::Deferred,
        );
        if m.pending.reply.is_success() {
            m.pending.reply = codes::NO_ANSWER;
        }
    }

    /// The attempt failed transiently (`failure`, as [`Message::failure`] described it); the
    /// next one waits `wait` (`None` when it will expire).
    #[inline]
    pub fn defer(&mut self, id: MessageId, failure: &Failure, wait: Option<SimDuration>) {
        let m = self.set(id, &[MessageState::InFlight], MessageState::Deferred);
        (m.streak_rule, m.streak_len) = (failure.streak.rule, failure.streak.len);
        if let Some(w) = wait {
            m.last_wait = w;
        }
    }

    /// A store-and-forward relay accepted the message at `t`: it enters MTA `to`'s queue with
    /// a fresh attempt count, backoff and lifetime, and new draws (`key`), due at once.
    pub fn hand_off(&mut self, id: MessageId, to: MtaId, t: SimTime, key: u64) {
        let m = self.set(id, &[MessageState::InFlight], MessageState::Due);
        m.mta = to;
        m.relays += 1;
        m.attempts = 0;
        m.warned = 0;
        (m.streak_rule, m.streak_len) = (0, 0);
        m.last_wait = SimDuration::ZERO;
        m.pending = Pending::NONE;
        m.key = key;
        m.entered = t;
    }

    /// The attempt was accepted by a final MX.
    #[inline]
    pub fn deliver(&mut self, id: MessageId) {
        self.set(id, &[MessageState::InFlight], MessageState::Delivered);
    }

    /// A permanent failure: at the end of an attempt, or at a hand-off past the hop limit.
    #[inline]
    pub fn bounce(&mut self, id: MessageId) {
        self.set(id, &[MessageState::InFlight], MessageState::Bounced);
    }

    /// The queue lifetime is over (waiting for a retry or for a queue slot).
    #[inline]
    pub fn expire(&mut self, id: MessageId) {
        self.set(
            id,
            &[MessageState::Deferred, MessageState::Waiting],
            MessageState::Expired,
        );
    }

    /// When message `id`'s next delay warning is due under its MTA's `policy` (at the
    /// earliest `now`), if the policy sends one more.
    pub fn next_warning(
        &self,
        id: MessageId,
        policy: &RetryPolicy,
        now: SimTime,
    ) -> Option<SimTime> {
        let m = self.get(id);
        let age = policy.warning_age(m.warned)?;
        Some(m.entered.after(age).max(now))
    }

    /// Sends message `id`'s next delay warning if it is due at `t` under `policy`: the
    /// message is still queued and its next warning's age is reached in the queue holding
    /// it. Returns the warning's number (1-based) and age. A warning event left over from an
    /// earlier queue, or one already served, finds nothing due.
    pub fn warn_if_due(
        &mut self,
        id: MessageId,
        policy: &RetryPolicy,
        t: SimTime,
    ) -> Option<(u32, SimDuration)> {
        let m = &mut self.all[id.index()];
        if m.state.is_terminal() {
            return None;
        }
        let age = policy.warning_age(m.warned)?;
        if m.entered.after(age) > t {
            return None;
        }
        m.warned += 1;
        Some((m.warned, age))
    }

    /// Messages not yet terminal, for report-time sums.
    pub fn queued(&self) -> impl Iterator<Item = &Message> + Clone {
        self.all.iter().filter(|m| !m.state.is_terminal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_message_memory_stays_small() {
        // README reports memory per queued message: this plus one pending event.
        assert_eq!(std::mem::size_of::<Message>(), 88);
    }

    #[test]
    fn counts_follow_transitions() {
        let mut ms = Messages::with_expected(1.0);
        let id = ms.arrive(1, SimTime(5), DomainId(0), false);
        ms.begin_attempt(id, Pending::reply(codes::NO_ANSWER));
        let policy = RetryPolicy::simple(crate::policy::Backoff::Fixed {
            interval: SimDuration::from_secs(60),
        });
        let failure = ms.get(id).failure(codes::NO_ANSWER, SimTime(9), &policy);
        ms.defer(id, &failure, Some(SimDuration::from_secs(60)));
        assert_eq!(ms.get(id).streak(), Streak { rule: 0, len: 1 });
        assert_eq!(ms.counts().of(MessageState::Deferred), 1);
        ms.expire(id);
        assert_eq!(ms.counts().of(MessageState::Expired), 1);
        assert_eq!(ms.counts().queued(), 0);
        assert_eq!(ms.get(id).last_wait, SimDuration::from_secs(60));
    }

    #[test]
    #[should_panic(expected = "is not a transition")]
    fn a_finished_message_cannot_finish_again() {
        let mut ms = Messages::with_expected(1.0);
        let id = ms.arrive(1, SimTime(0), DomainId(0), false);
        ms.begin_attempt(id, Pending::reply(codes::OK));
        ms.deliver(id);
        ms.bounce(id);
    }

    #[test]
    fn a_hand_off_starts_a_new_queue_life() {
        let mut ms = Messages::with_expected(1.0);
        let id = ms.arrive(1, SimTime(0), DomainId(0), false);
        ms.begin_attempt(
            id,
            Pending {
                accepted_by: Some(MtaId(3)),
                ..Pending::NONE
            },
        );
        ms.hand_off(id, MtaId(3), SimTime(60 * 86_400_000), 9);
        let m = ms.get(id);
        assert_eq!(
            (m.mta, m.relays, m.attempts, m.state),
            (MtaId(3), 1, 0, MessageState::Due)
        );
        // Ages past 49.7 days (u32 milliseconds) are kept exactly.
        assert_eq!(m.entered, SimTime(60 * 86_400_000));
    }
}
