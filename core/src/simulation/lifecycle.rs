//! The message lifecycle as event handlers: what the simulation does when a message arrives,
//! comes due, gets or waits for a queue slot, starts an attempt, hears its outcome, is handed
//! to a relay, deferred, bounced, expired or warned. Each handler moves the message through
//! [`Messages`](crate::message::Messages) (which asserts every transition), schedules what
//! follows, and reports one happening to the recorder.

use super::{Event, Simulation};
use crate::attempt::{self, Start, World};
use crate::engine::EventQueue;
use crate::happening::{AttemptHappening, Happening};
use crate::ids::{DestinationId, MessageId, MtaId};
use crate::message::{MessageState, Pending};
use crate::policy::Decision;
use crate::random::mix;
use crate::smtp::{codes, Reply};
use crate::time::SimTime;

impl Simulation {
    fn record(&mut self, t: SimTime, id: MessageId, h: Happening<'_>) {
        self.recorder.record(&self.scenario, t, id, h);
    }

    pub(super) fn on_arrival(&mut self, t: SimTime) {
        let new = self.arrivals.arrive(&self.scenario.workload);
        let key = self.message_keys.next_u64();
        let id = self
            .messages
            .arrive(key, t, new.domain, new.unknown_recipient);
        self.record(
            t,
            id,
            Happening::Arrival {
                domain: new.domain,
                unknown_recipient: new.unknown_recipient,
            },
        );
        if let Some(next) = self.arrivals.next_time(&self.scenario.workload) {
            self.queue.schedule_at(next, Event::Arrival);
        }
        self.schedule_warning(id, t);
        self.offer(id, t);
    }

    /// The destination of message `id` for concurrency and shared state: its MTA's first
    /// relay, or its domain.
    fn destination(&self, id: MessageId) -> DestinationId {
        let m = self.messages.get(id);
        self.mtas[m.mta.index()].destination(m.domain, self.scenario.hosts.len())
    }

    /// Message `id` is due at `t`: attempted now, or waiting for a queue slot.
    pub(super) fn offer(&mut self, id: MessageId, t: SimTime) {
        let mta = self.messages.get(id).mta;
        if self.mtas[mta.index()].qmgr.is_none() {
            self.start(id, t);
            return;
        }
        let dest = self.destination(id);
        let qm = self.mtas[mta.index()].qmgr.as_mut().expect("checked above");
        if qm.offer(id, dest) {
            self.start(id, t);
        } else {
            self.messages.wait(id);
            let entered = self.messages.get(id).entered;
            // The lifetime rule says whether, and when, a waiting message expires without
            // its attempt (`after-attempt` waits for the attempt it promises).
            if let Some(at) = self.mtas[mta.index()]
                .policy
                .retry
                .waiting_expires_at(entered, t)
            {
                self.queue.schedule_at(at, Event::WaitLimit(id));
            }
            self.record(t, id, Happening::Waiting);
        }
        self.pump(mta, t);
    }

    /// Starts every waiting attempt of MTA `mta` that may start now.
    fn pump(&mut self, mta: MtaId, t: SimTime) {
        while let Some((id, dest)) = self.mtas[mta.index()]
            .qmgr
            .as_mut()
            .and_then(|q| q.next_to_start())
        {
            let m = self.messages.get(id);
            assert_eq!(
                m.state,
                MessageState::Waiting,
                "a slot goes to a waiting message"
            );
            if self.mtas[mta.index()]
                .policy
                .retry
                .attempt_allowed(m.entered, t)
            {
                self.start(id, t);
            } else {
                // Its queue lifetime ran out while it waited for a slot.
                if let Some(qm) = &mut self.mtas[mta.index()].qmgr {
                    qm.done(dest, None);
                }
                self.expire(id, t);
            }
        }
    }

    /// A waiting message's lifetime may have ended: if it still waits, it leaves the queue
    /// and expires.
    pub(super) fn on_wait_limit(&mut self, id: MessageId, t: SimTime) {
        let m = *self.messages.get(id);
        let mta = m.mta.index();
        if m.state != MessageState::Waiting
            || self.mtas[mta].policy.retry.attempt_allowed(m.entered, t)
        {
            return;
        }
        let dest = self.destination(id);
        let withdrawn = self.mtas[mta]
            .qmgr
            .as_mut()
            .is_some_and(|q| q.withdraw(id, dest));
        assert!(withdrawn, "a waiting message is in its queue");
        self.expire(id, t);
    }

    /// Releases the queue-manager slot of message `id`'s attempt (`outcome`: its success).
    fn release_slot(&mut self, id: MessageId, outcome: Option<bool>) {
        let mta = self.messages.get(id).mta;
        // NOTE(perf): the destination is only worked out when a queue manager needs it.
        if self.mtas[mta.index()].qmgr.is_some() {
            let dest = self.destination(id);
            if let Some(qm) = &mut self.mtas[mta.index()].qmgr {
                qm.done(dest, outcome);
            }
        }
    }

    /// Starts message `id`'s next attempt at `t` (or learns that shared state holds it back).
    fn start(&mut self, id: MessageId, t: SimTime) {
        let m = *self.messages.get(id);
        let mta_id = m.mta;
        let mta = &mut self.mtas[mta_id.index()];
        assert!(
            mta.policy.retry.attempt_allowed(m.entered, t),
            "message {}: attempt after its deadline",
            id.0
        );
        let destination = mta.destination(m.domain, self.scenario.hosts.len());
        // Shaping first: a message over its site's rate waits for the cell booked for it.
        if let Some(shaping) = &mut mta.shaping {
            let retry = &mta.policy.retry;
            let allowed = |at| retry.attempt_allowed(m.entered, at);
            if let Err(until) = shaping.admit(id, m.domain, t, allowed) {
                self.hold(id, t, crate::shared::Gate::MessageRate, until);
                return;
            }
        }
        let mut world = World {
            hosts: &self.scenario.hosts,
            domains: &self.scenario.domains,
            mx_tables: &self.mx_tables,
            topology: &self.topology,
            health: &mut self.health,
            net: &mut self.net,
        };
        match attempt::attempt(&mut world, mta, &mut self.scratch, &m, destination, t) {
            Start::Gated(gate, until) => self.hold(id, t, gate, until),
            Start::Made(made) => {
                let accepted_by = made.accepted_by.map(|h| {
                    self.mta_of_host[h.index()]
                        .expect("only store-and-forward hosts accept without delivering")
                });
                self.messages.begin_attempt(
                    id,
                    Pending {
                        reply: made.reply,
                        hint: made.hint,
                        accepted_by,
                    },
                );
                let happening = AttemptHappening {
                    n: m.attempts + 1,
                    mta: mta_id,
                    from: self.mtas[mta_id.index()].host,
                    hops: &self.scratch.walk.hops,
                    reply: made.reply,
                    end: made.end,
                    dns: made.dns,
                    accepted_by,
                };
                self.recorder
                    .record(&self.scenario, t, id, Happening::Attempt(happening));
                self.queue.schedule_at(made.end, Event::AttemptEnd(id));
            }
        }
    }

    /// `gate` held message `id`'s attempt back at `t` until `until`: no attempt is counted;
    /// it retries then, unless its lifetime rule ends it first.
    fn hold(&mut self, id: MessageId, t: SimTime, gate: crate::shared::Gate, until: SimTime) {
        let m = *self.messages.get(id);
        self.release_slot(id, None);
        self.messages.gate(id);
        let retry = &self.mtas[m.mta.index()].policy.retry;
        let decision = match gate {
            // Exim bounces an address whose hosts are all past the final cutoff.
            crate::shared::Gate::HostTimedOut => crate::policy::Decision::Expire {
                at: t,
                reason: crate::policy::GiveUpReason::Exhausted,
            },
            _ => retry.decide_gated(m.entered, t, until),
        };
        schedule_decision(&mut self.queue, id, decision);
        let reply = self.messages.get(id).pending.reply;
        self.record(
            t,
            id,
            Happening::Gated {
                gate,
                reply,
                decision,
            },
        );
    }

    pub(super) fn on_attempt_end(&mut self, id: MessageId, t: SimTime) {
        let m = *self.messages.get(id);
        assert_eq!(m.state, MessageState::InFlight, "an attempt ends in flight");
        let reply = m.pending.reply;
        self.release_slot(id, Some(!reply.is_transient()));
        match m.pending.accepted_by {
            Some(next) if reply.is_success() => self.hand_off(id, next, t),
            _ if reply.is_success() => {
                self.messages.deliver(id);
                let happening = Happening::Delivered {
                    delay: t.since(m.arrival),
                    attempts: m.attempts_total,
                };
                self.record(t, id, happening);
            }
            _ if reply.is_permanent() => self.bounce(id, t, reply),
            _ => self.defer(id, t, reply),
        }
        self.pump(m.mta, t);
    }

    /// A store-and-forward relay accepted message `id`: it leaves its MTA's queue and enters
    /// the relay's, which retries it under its own policy. Each hand-off is a relay passed;
    /// past the receiving MTA's hop limit the mail is looping: 554 5.4.6.
    fn hand_off(&mut self, id: MessageId, next: MtaId, t: SimTime) {
        let m = *self.messages.get(id);
        let relays = m.relays + 1;
        if relays > self.mtas[next.index()].policy.hop_limit {
            self.bounce(id, t, codes::ROUTING_LOOP);
            return;
        }
        // A new queue: fresh attempt count and backoff; its own draws (a new key, so the
        // relay's coins are independent of the sender's for the same attempt numbers).
        let key = mix(m.key, u64::from(relays));
        self.messages.hand_off(id, next, t, key);
        let host = self.mtas[next.index()].host;
        self.record(t, id, Happening::Relayed { to: next, host });
        self.schedule_warning(id, t);
        self.offer(id, t);
    }

    fn bounce(&mut self, id: MessageId, t: SimTime, reply: Reply) {
        self.messages.bounce(id);
        self.record(t, id, Happening::Bounced { reply });
    }

    fn defer(&mut self, id: MessageId, t: SimTime, reply: Reply) {
        let m = *self.messages.get(id);
        let policy = &self.mtas[m.mta.index()].policy.retry;
        let failure = m.failure(reply, t, policy);
        let decision = policy.decide(&failure);
        let wait = match decision {
            Decision::Retry { wait, .. } => Some(wait),
            Decision::Expire { .. } => None,
        };
        self.messages.defer(id, &failure, wait);
        schedule_decision(&mut self.queue, id, decision);
        let happening = Happening::Deferred {
            reply,
            decision,
            policy,
        };
        self.recorder.record(&self.scenario, t, id, happening);
    }

    pub(super) fn expire(&mut self, id: MessageId, t: SimTime) {
        // A message that expired waiting for its first slot met no failure at all.
        let last = Some(self.messages.get(id).pending.reply).filter(|r| !r.is_success());
        self.messages.expire(id);
        self.record(t, id, Happening::Expired { last });
    }

    /// Schedules message `id`'s next delay warning in its current MTA, if its policy sends one.
    fn schedule_warning(&mut self, id: MessageId, now: SimTime) {
        let policy = &self.mtas[self.messages.get(id).mta.index()].policy.retry;
        if let Some(at) = self.messages.next_warning(id, policy, now) {
            self.queue.schedule_at(at, Event::DelayWarning(id));
        }
    }

    pub(super) fn on_delay_warning(&mut self, id: MessageId, t: SimTime) {
        let policy = &self.mtas[self.messages.get(id).mta.index()].policy.retry;
        if let Some((n, age)) = self.messages.warn_if_due(id, policy, t) {
            self.record(t, id, Happening::DelayWarning { n, age });
            self.schedule_warning(id, t);
        }
    }
}

/// Schedules what a decision says: the next attempt, or the expiry.
fn schedule_decision(queue: &mut EventQueue<Event>, id: MessageId, decision: Decision) {
    let event = match decision {
        Decision::Retry { .. } => Event::AttemptStart(id),
        Decision::Expire { .. } => Event::Expire(id),
    };
    queue.schedule_at(decision.at(), event);
}
