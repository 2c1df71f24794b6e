//! The simulation: one scenario + seed, driven event by event. This module only orchestrates:
//! it pops events, moves messages through their lifecycle ([`message`](crate::message)),
//! asks for attempts ([`attempt`](crate::attempt)) and decisions ([`policy`](crate::policy)),
//! and reports every happening to the [`Recorder`].
//!
//! Events form a closed enum ([`Event`]) so every trigger is visible. A message's life:
//! `Arrival` → offered to its MTA's queue (attempted now, or waiting for a slot) → attempt
//! (decided when it starts) → `AttemptEnd` → delivered | bounced | relayed into a
//! store-and-forward relay's queue | deferred (→ `AttemptStart` later, or `Expire`).
//!
//! Invariants, asserted: every transition starts from the state it expects (message module);
//! no attempt at or after the queue-lifetime deadline of the MTA holding it; outcomes add up
//! (counted by the message store and by the metrics, compared when the report is built); the
//! clock never goes backwards (engine). Same scenario + seed ⇒ same happenings and digest.

use crate::arrivals::ArrivalSource;
use crate::attempt::{self, Scratch, Start, World};
use crate::dns::MxTable;
use crate::engine::EventQueue;
use crate::failure::HostHealth;
use crate::happening::{AttemptHappening, Happening};
use crate::ids::{HostId, MessageId, MtaId};
use crate::message::{MessageState, Messages, Pending};
use crate::metrics::{QueueSeries, ReportInputs, RunInfo};
use crate::mta::Mta;
use crate::network::Network;
use crate::policy::{Decision, Failure};
use crate::random::{mix, AttemptRandom, Purpose, SeqStream, Slot, Streams};
use crate::recorder::Recorder;
use crate::report::Report;
use crate::scenario::Scenario;
use crate::smtp::{codes, Reply};
use crate::snapshot::{Snapshot, SnapshotSource};
use crate::time::SimTime;
use crate::topology::Topology;
use crate::trace::TraceRecord;

/// A scheduled happening. NOTE(perf): 8 bytes, one per pending event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The next message arrives (arrivals are generated one at a time).
    Arrival,
    /// A deferred message's retry is due.
    AttemptStart(MessageId),
    /// An attempt's outcome reaches the MTA that made it.
    AttemptEnd(MessageId),
    /// The message's queue lifetime is over.
    Expire(MessageId),
    /// The queue lifetime of a message waiting for a queue slot is over (ignored if it is no
    /// longer waiting by then).
    WaitLimit(MessageId),
    /// The message's next delay warning may be due (ignored if it was sent already).
    DelayWarning(MessageId),
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// No event left: every message is terminal and arrivals are over.
    QueueEmpty,
    /// The scenario's `duration` was reached.
    Duration,
    /// `limits.events_max` was reached.
    EventsMax,
}

impl Stop {
    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Stop::QueueEmpty => "queue_empty",
            Stop::Duration => "duration",
            Stop::EventsMax => "events_max",
        }
    }
}

/// `run_until` was asked for a time before the simulation's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InThePast {
    /// The time asked for.
    pub asked: SimTime,
    /// The clock.
    pub now: SimTime,
}

impl std::fmt::Display for InThePast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot run until {} ms: the simulation is already at {} ms",
            self.asked.as_ms(),
            self.now.as_ms()
        )
    }
}

/// A running simulation.
pub struct Simulation {
    scenario: Scenario,
    topology: Topology,
    health: Vec<HostHealth>,
    mx_tables: Vec<MxTable>,
    net: Network,
    /// The sender ([`MtaId::SENDER`]) and every store-and-forward relay.
    mtas: Vec<Mta>,
    /// The MTA of each host that is one.
    mta_of_host: Vec<Option<MtaId>>,
    queue: EventQueue<Event>,
    messages: Messages,
    arrivals: ArrivalSource,
    message_keys: SeqStream,
    recorder: Recorder,
    scratch: Scratch,
    series: QueueSeries,
    end: Option<SimTime>,
    stopped: Option<Stop>,
}

impl Simulation {
    /// Prepares a run of `scenario` with its own seed. Nothing happens until it is stepped.
    pub fn new(scenario: Scenario) -> Self {
        let streams = Streams::new(scenario.seed);
        let health = scenario
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| HostHealth::new(streams, i as u32, &h.availability, h.reject))
            .collect();
        let mtas = Mta::all(&scenario);
        let mut mta_of_host = vec![None; scenario.hosts.len()];
        for (i, mta) in mtas.iter().enumerate().skip(1) {
            mta_of_host[mta.host.index()] = Some(MtaId::from_index(i));
        }
        let net = Network::new(
            scenario.hosts.iter().map(|h| (h.capacity, h.greylist)),
            mtas.iter().flat_map(|m| m.stages.iter()),
        );
        let expected = scenario.workload.expected_messages();
        let mut sim = Simulation {
            topology: Topology::new(scenario.hosts.len(), &scenario.links),
            health,
            mx_tables: scenario
                .domains
                .iter()
                .map(|d| MxTable::new(&d.mx))
                .collect(),
            net,
            mtas,
            mta_of_host,
            queue: EventQueue::new(),
            messages: Messages::with_expected(expected),
            arrivals: ArrivalSource::new(streams, scenario.limits.messages_max),
            message_keys: streams.sequential(Purpose::MessageKeys, 0),
            recorder: Recorder::new(scenario.hosts.len()),
            scratch: Scratch::default(),
            series: QueueSeries::new(scenario.series_every),
            end: scenario.duration.map(|d| SimTime::ZERO.after(d)),
            stopped: None,
            scenario,
        };
        if let Some(first) = sim.arrivals.next_time(&sim.scenario.workload) {
            sim.queue.schedule_at(first, Event::Arrival);
        }
        sim
    }

    /// Keeps every trace record in memory (for `--trace` and the browser). Call before running.
    pub fn record_trace(&mut self) {
        self.recorder.record_trace();
    }

    /// Trace records kept so far (empty unless [`record_trace`](Self::record_trace) was called).
    pub fn trace(&self) -> &[TraceRecord] {
        self.recorder.trace()
    }

    /// Trace records from index `cursor` on (for pages that animate new events each frame).
    pub fn trace_since(&self, cursor: usize) -> &[TraceRecord] {
        self.trace().get(cursor..).unwrap_or(&[])
    }

    /// A picture of the run now, for drawing. In-flight attempts are listed only when the
    /// trace is recorded.
    pub fn snapshot(&mut self) -> Snapshot {
        SnapshotSource {
            now: self.queue.now(),
            events: self.queue.popped(),
            stopped_by: self.stopped.map(Stop::name),
            scenario: &self.scenario,
            health: &mut self.health,
            metrics: self.recorder.metrics(),
            counts: self.messages.counts(),
            in_flight: self.recorder.in_flight(),
        }
        .take()
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Current simulated time.
    pub fn now(&self) -> SimTime {
        self.queue.now()
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.queue.popped()
    }

    /// Why the run stopped, once it has.
    pub fn stopped(&self) -> Option<Stop> {
        self.stopped
    }

    /// Down windows of host `host` up to `until`, from the same generator the run uses.
    pub fn down_windows(&mut self, host: HostId, until: SimTime) -> Vec<(SimTime, SimTime)> {
        self.health[host.index()].down_windows(until)
    }

    /// Processes one event. Returns `false` once the run has stopped.
    pub fn step(&mut self) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        if self.queue.popped() >= self.scenario.limits.events_max {
            self.stopped = Some(Stop::EventsMax);
            return false;
        }
        match (self.queue.peek_time(), self.end) {
            (None, _) => {
                self.stopped = Some(Stop::QueueEmpty);
                return false;
            }
            (Some(t), Some(end)) if t > end => {
                self.stopped = Some(Stop::Duration);
                return false;
            }
            _ => {}
        }
        let (t, event) = self.queue.pop().expect("peeked an event");
        self.series.sample_until(t, self.messages.counts());
        match event {
            Event::Arrival => self.on_arrival(t),
            Event::AttemptStart(id) => {
                self.messages.due(id);
                self.offer(id, t);
            }
            Event::AttemptEnd(id) => self.on_attempt_end(id, t),
            Event::Expire(id) => self.expire(id, t),
            Event::WaitLimit(id) => self.on_wait_limit(id, t),
            Event::DelayWarning(id) => self.on_delay_warning(id, t),
        }
        true
    }

    /// Runs until the run stops (queue empty, duration, or event limit).
    pub fn run(&mut self) {
        while self.step() {}
    }

    /// Runs at most `budget` events (for animation frames); returns how many ran.
    pub fn run_events(&mut self, budget: u64) -> u64 {
        let mut n = 0;
        while n < budget && self.step() {
            n += 1;
        }
        n
    }

    /// Runs events at or before `t`, at most `budget` of them (for animation frames); returns
    /// how many ran, or an error if `t` is before the clock (the caller's frame time is wrong).
    pub fn run_until(&mut self, t: SimTime, budget: u64) -> Result<u64, InThePast> {
        let now = self.queue.now();
        if t < now {
            return Err(InThePast { asked: t, now });
        }
        let mut n = 0;
        while n < budget && self.queue.peek_time().is_some_and(|next| next <= t) && self.step() {
            n += 1;
        }
        Ok(n)
    }

    /// The trace digest so far (cheaper than building the whole report).
    pub fn digest(&self) -> String {
        self.recorder.digest()
    }

    /// The report of the run so far.
    pub fn report(&self) -> Report {
        let sender = &self.mtas[MtaId::SENDER.index()];
        self.recorder.metrics().report(ReportInputs {
            scenario: &self.scenario,
            run: RunInfo {
                digest: self.recorder.digest(),
                stopped_by: self.stopped.map_or("running", Stop::name),
                end_ms: self.queue.now().as_ms(),
                events: self.queue.popped(),
            },
            queued_counted: self.messages.queued().count() as u64,
            net: &self.net,
            dns: sender.dns.as_ref(),
            conns: sender.conns.as_ref(),
            qmgr: sender.qmgr.as_ref(),
            series: self.series.samples(),
        })
    }

    fn record(&mut self, t: SimTime, id: MessageId, h: Happening<'_>) {
        self.recorder.record(&self.scenario, t, id, h);
    }

    fn on_arrival(&mut self, t: SimTime) {
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
    fn destination(&self, id: MessageId) -> usize {
        let m = self.messages.get(id);
        self.mtas[m.mta.index()].destination(m.domain, self.scenario.hosts.len())
    }

    /// Message `id` is due at `t`: attempted now, or waiting for a queue slot.
    fn offer(&mut self, id: MessageId, t: SimTime) {
        let mta = self.messages.get(id).mta;
        let dest = self.destination(id);
        let Some(qm) = self.mtas[mta.index()].qmgr.as_mut() else {
            self.start(id, t);
            return;
        };
        if qm.offer(id, dest) {
            self.start(id, t);
        } else {
            self.messages.wait(id);
            let entered = self.messages.get(id).entered;
            let deadline = self.mtas[mta.index()].policy.retry.deadline(entered);
            self.queue
                .schedule_at(deadline.max(t), Event::WaitLimit(id));
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
    fn on_wait_limit(&mut self, id: MessageId, t: SimTime) {
        let m = *self.messages.get(id);
        let mta = m.mta.index();
        if m.state != MessageState::Waiting || t < self.mtas[mta].policy.retry.deadline(m.entered) {
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
        let dest = self.destination(id);
        let mta = self.messages.get(id).mta;
        if let Some(qm) = &mut self.mtas[mta.index()].qmgr {
            qm.done(dest, outcome);
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
        let mut world = World {
            hosts: &self.scenario.hosts,
            domains: &self.scenario.domains,
            mx_tables: &self.mx_tables,
            topology: &self.topology,
            health: &mut self.health,
            net: &mut self.net,
        };
        match attempt::attempt(&mut world, mta, &mut self.scratch, &m, destination, t) {
            Start::Gated(gate, until) => {
                self.release_slot(id, None);
                self.messages.gate(id);
                let retry = &self.mtas[mta_id.index()].policy.retry;
                let decision = retry.decide_gated(m.entered, t, until);
                self.schedule_decision(id, decision);
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

    fn on_attempt_end(&mut self, id: MessageId, t: SimTime) {
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
        let retry = &self.mtas[m.mta.index()].policy.retry;
        let u = if retry.is_jittered() {
            AttemptRandom::new(m.key, m.attempts - 1).unit(Slot::Jitter)
        } else {
            0.0
        };
        let decision = retry.decide(&Failure {
            reply,
            arrival: m.entered,
            now: t,
            attempts: m.attempts,
            previous: (m.last_wait.as_ms() > 0).then_some(m.last_wait),
            u,
            hint: (m.pending.hint.as_ms() > 0).then_some(m.pending.hint),
        });
        self.messages.defer(
            id,
            match decision {
                Decision::Retry { wait, .. } => Some(wait),
                Decision::Expire { .. } => None,
            },
        );
        self.schedule_decision(id, decision);
        let happening = Happening::Deferred {
            reply,
            decision,
            policy: &self.mtas[m.mta.index()].policy.retry,
        };
        self.recorder.record(&self.scenario, t, id, happening);
    }

    /// Schedules what a decision says: the next attempt, or the expiry.
    fn schedule_decision(&mut self, id: MessageId, decision: Decision) {
        let event = match decision {
            Decision::Retry { .. } => Event::AttemptStart(id),
            Decision::Expire { .. } => Event::Expire(id),
        };
        self.queue.schedule_at(decision.at(), event);
    }

    fn expire(&mut self, id: MessageId, t: SimTime) {
        let last = self.messages.get(id).pending.reply;
        self.messages.expire(id);
        self.record(t, id, Happening::Expired { last });
    }

    /// Schedules message `id`'s next delay warning in its current MTA, if its policy sends one.
    fn schedule_warning(&mut self, id: MessageId, now: SimTime) {
        let m = self.messages.get(id);
        let retry = &self.mtas[m.mta.index()].policy.retry;
        if let Some(age) = retry.warning_age(m.warned) {
            let at = m.entered.after(age).max(now);
            self.queue.schedule_at(at, Event::DelayWarning(id));
        }
    }

    /// A delay warning may be due: sent if the message is still queued and its next warning's
    /// age has been reached in the queue holding it now (an event left over from an earlier
    /// queue, or one already served, finds nothing due).
    fn on_delay_warning(&mut self, id: MessageId, t: SimTime) {
        let m = *self.messages.get(id);
        if m.state.is_terminal() {
            return;
        }
        let retry = &self.mtas[m.mta.index()].policy.retry;
        let Some(age) = retry.warning_age(m.warned) else {
            return;
        };
        if m.entered.after(age) > t {
            return;
        }
        self.messages.warn(id);
        let n = m.warned + 1;
        self.record(t, id, Happening::DelayWarning { n, age });
        self.schedule_warning(id, t);
    }
}
