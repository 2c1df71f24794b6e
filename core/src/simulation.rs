//! The simulation: one scenario + seed, driven event by event.
//!
//! Events form a closed enum ([`Event`]) so every trigger is visible and traced. A message's
//! life: `Arrival` → attempt (computed when it starts, see [`session`](crate::session)) →
//! `AttemptEnd` → delivered | bounced | deferred (→ `AttemptStart` later) | `Expire`.
//!
//! Invariants, checked: each message reaches at most one terminal state; outcomes add up
//! (counted two ways at report time); no attempt starts at or after the queue-lifetime deadline;
//! the clock never goes backwards (engine). Same scenario + seed ⇒ same trace and digest.

use crate::dns::{Candidate, MxTable};
use crate::engine::EventQueue;
use crate::failure::HostHealth;
use crate::metrics::QueueSample;
use crate::metrics::{Metrics, Report, RunInfo};
use crate::mta::Mta;
use crate::network::{Lookup, Network};
use crate::policy::{Decision, Failure, GiveUp, RuleUsed};
use crate::qmgr::QueueManager;
use crate::random::{AttemptRandom, Purpose, SeqStream, Slot, Streams};
use crate::scenario::DownAs;
use crate::scenario::{Arrivals, DomainId, HostId, Scenario};
use crate::session::{Hop, Walker};
use crate::shared::Gate;
use crate::smtp::{codes, Reply};
use crate::snapshot::{HostView, InFlightView, QueueView, Snapshot};
use crate::time::{SimDuration, SimTime};
use crate::topology::Topology;
use crate::trace::{digest_hops, Digest, HopRecord, TraceKind, TraceRecord};
use std::collections::BTreeMap;

/// A scheduled happening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The next message arrives (arrivals are generated one at a time).
    Arrival,
    /// A retry of a queued message starts.
    AttemptStart(u32),
    /// An attempt's outcome reaches the sender.
    AttemptEnd(u32),
    /// The message's queue lifetime is over.
    Expire(u32),
    /// The queue lifetime of a message waiting for a queue slot is over (ignored if it is no
    /// longer waiting by then).
    WaitLimit(u32),
}

/// Where a message is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageState {
    /// Waiting in the queue for a retry.
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
    /// Delivered, bounced or expired.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            MessageState::Delivered | MessageState::Bounced | MessageState::Expired
        )
    }
}

/// Per-message state. NOTE(perf): kept small (56 bytes) because it exists per message.
#[derive(Clone, Copy, Debug)]
struct Message {
    key: u64,
    arrival: SimTime,
    last_delay_ms: u64,
    pending: Reply,
    domain: DomainId,
    attempts: u32,
    /// Retry hint of the last reply, seconds (0: none).
    hint_s: u32,
    state: MessageState,
    unknown_recipient: bool,
    /// The MTA holding it (0: the sender; then store-and-forward relays).
    mta: u8,
    /// The MTA that accepted it in the attempt under way, if not a final MX ([`NO_MTA`]).
    next_mta: u8,
    /// Relays it has passed (the hop count checked against `hop_limit`).
    relays: u8,
    /// When it entered its current MTA, ms after its arrival (0 at the sender).
    entered_ms: u32,
}

/// `Message::next_mta` when no store-and-forward relay accepted the message.
const NO_MTA: u8 = u8::MAX;

impl Message {
    /// When it entered its current MTA's queue: the start of that queue's lifetime.
    fn entered(&self) -> SimTime {
        self.arrival
            .after(SimDuration::from_ms(u64::from(self.entered_ms)))
    }
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

struct ArrivalSource {
    rng: SeqStream,
    next_index: usize,
    clock_ms: f64,
}

/// A running simulation.
pub struct Simulation {
    scenario: Scenario,
    topology: Topology,
    health: Vec<HostHealth>,
    queue: EventQueue<Event>,
    messages: Vec<Message>,
    arrivals: ArrivalSource,
    metrics: Metrics,
    digest: Digest,
    recording: Option<Vec<TraceRecord>>,
    /// Attempts under way with their hops, kept only while recording (for snapshots).
    in_flight: BTreeMap<u32, (u32, SimTime, SimTime, Vec<Hop>)>,
    mx_tables: Vec<MxTable>,
    message_keys: SeqStream,
    candidates: Vec<Candidate>,
    hops: Vec<Hop>,
    /// The sender (index 0) and every store-and-forward relay.
    mtas: Vec<Mta>,
    /// MTA index of each host (`NO_MTA` for hosts that are not one).
    mta_of_host: Vec<u8>,
    net: Network,
    /// Attempts under way, and messages waiting for a queue slot (for the series).
    in_flight_count: u64,
    waiting_count: u64,
    series: Vec<QueueSample>,
    next_sample: SimTime,
    /// Hand-offs to store-and-forward relays.
    relayed: u64,
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
        let topology = Topology::new(scenario.hosts.len(), &scenario.links);
        let mtas = Mta::all(&scenario);
        let mut mta_of_host = vec![NO_MTA; scenario.hosts.len()];
        for (i, mta) in mtas.iter().enumerate().skip(1) {
            mta_of_host[mta.host.0 as usize] = i as u8;
        }
        let expected = scenario
            .workload
            .expected_messages()
            .min(scenario.limits.messages_max as f64);
        let mut sim = Simulation {
            topology,
            health,
            queue: EventQueue::new(),
            messages: Vec::with_capacity((expected * 1.1) as usize + 16),
            arrivals: ArrivalSource {
                rng: streams.sequential(Purpose::Arrivals, 0),
                next_index: 0,
                clock_ms: 0.0,
            },
            metrics: Metrics::new(scenario.hosts.len()),
            digest: Digest::default(),
            recording: None,
            in_flight: BTreeMap::new(),
            mx_tables: scenario.domains.iter().map(MxTable::new).collect(),
            message_keys: streams.sequential(Purpose::MessageKeys, 0),
            candidates: Vec::new(),
            hops: Vec::new(),
            net: Network::new(&scenario),
            mtas,
            mta_of_host,
            relayed: 0,
            in_flight_count: 0,
            waiting_count: 0,
            series: Vec::new(),
            next_sample: SimTime::ZERO,
            end: scenario.duration.map(|d| SimTime::ZERO.after(d)),
            stopped: None,
            scenario,
        };
        if let Some(first) = sim.next_arrival_time() {
            sim.queue.schedule_at(first, Event::Arrival);
        }
        sim
    }

    /// Keeps every trace record in memory (for `--trace` and the browser). Call before running.
    pub fn record_trace(&mut self) {
        self.recording.get_or_insert_with(Vec::new);
    }

    /// Trace records kept so far (empty unless [`record_trace`](Self::record_trace) was called).
    pub fn trace(&self) -> &[TraceRecord] {
        self.recording.as_deref().unwrap_or(&[])
    }

    /// A picture of the run now, for drawing. In-flight attempts are listed only when the
    /// trace is recorded.
    pub fn snapshot(&mut self) -> Snapshot {
        let now = self.queue.now();
        let hosts = self
            .scenario
            .hosts
            .iter()
            .enumerate()
            .zip(self.health.iter_mut())
            .map(|((i, h), health)| HostView {
                id: h.id.clone(),
                role: h.role.name(),
                state: health.state_at(now),
                contacts: self.metrics.host_contacts(i),
            })
            .collect();
        let count =
            |state: MessageState| self.messages.iter().filter(|m| m.state == state).count() as u64;
        let queue = QueueView {
            deferred: count(MessageState::Deferred),
            in_flight: count(MessageState::InFlight),
            waiting: count(MessageState::Waiting),
            delivered: count(MessageState::Delivered),
            bounced: count(MessageState::Bounced),
            expired: count(MessageState::Expired),
        };
        let name = |h: u32| self.scenario.hosts[h as usize].id.clone();
        let sender = name(self.scenario.policy.sender.0);
        let in_flight = self
            .in_flight
            .iter()
            .map(|(&message, (attempt, started, ends, hops))| {
                let reached: Vec<String> = hops
                    .iter()
                    .filter(|h| h.at_ms <= now.as_ms())
                    .map(|h| name(h.host))
                    .collect();
                InFlightView {
                    message: u64::from(message),
                    attempt: *attempt,
                    started_ms: started.as_ms(),
                    ends_ms: ends.as_ms(),
                    hop: reached.last().cloned().unwrap_or_else(|| sender.clone()),
                    path: reached,
                }
            })
            .collect();
        Snapshot {
            t_ms: now.as_ms(),
            events: self.queue.popped(),
            stopped_by: self.stopped.map(Stop::name),
            hosts,
            queue,
            in_flight,
        }
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
        self.health[host.0 as usize].down_windows(until)
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
        self.sample_until(t);
        match event {
            Event::Arrival => self.on_arrival(t),
            Event::AttemptStart(m) => self.due(m, t),
            Event::AttemptEnd(m) => self.on_attempt_end(m, t),
            Event::Expire(m) => self.on_expire(m, t),
            Event::WaitLimit(m) => self.on_wait_limit(m, t),
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
    /// how many ran. Stops early if the run stops.
    pub fn run_until(&mut self, t: SimTime, budget: u64) -> u64 {
        let mut n = 0;
        while n < budget && self.queue.peek_time().is_some_and(|next| next <= t) && self.step() {
            n += 1;
        }
        n
    }

    /// Trace records from index `cursor` on (for pages that animate new events each frame).
    pub fn trace_since(&self, cursor: usize) -> &[TraceRecord] {
        self.trace().get(cursor..).unwrap_or(&[])
    }

    /// The trace digest so far (cheaper than building the whole report).
    pub fn digest(&self) -> String {
        self.digest.hex()
    }

    /// The report of the run so far.
    pub fn report(&self) -> Report {
        let now = self.queue.now();
        let waiting = self.messages.iter().filter(|m| !m.state.is_terminal());
        let queued = waiting.clone().count() as u64;
        let pending_warnings: u64 = waiting
            .map(|m| {
                self.mtas[m.mta as usize]
                    .policy
                    .retry
                    .warnings_before(now.since(m.entered()))
            })
            .sum();
        let run = RunInfo {
            digest: self.digest.hex(),
            stopped_by: self.stopped.map_or("running", Stop::name),
            end_ms: self.queue.now().as_ms(),
            events: self.queue.popped(),
            pending_warnings,
        };
        self.metrics
            .report(
                &self.scenario,
                run,
                queued,
                &self.net,
                self.mtas[0].dns.as_ref(),
                self.mtas[0].conns.as_ref(),
            )
            .with_queue(
                &self.series,
                self.scenario.series_every,
                self.mtas[0].qmgr.as_ref(),
            )
            .with_relayed(self.relayed)
    }

    fn next_arrival_time(&mut self) -> Option<SimTime> {
        let a = &mut self.arrivals;
        let limit = self.scenario.limits.messages_max as usize;
        if a.next_index >= limit {
            return None;
        }
        match &self.scenario.workload.arrivals {
            Arrivals::At(times) => times.get(a.next_index).copied(),
            Arrivals::Poisson {
                per_hour,
                start,
                window,
            } => {
                if *per_hour <= 0.0 {
                    return None;
                }
                if a.next_index == 0 {
                    a.clock_ms = start.as_ms() as f64;
                }
                a.clock_ms += a.rng.exponential(3_600_000.0 / per_hour);
                let t = a.clock_ms.floor() as u64;
                (t < start.as_ms() + window.as_ms()).then_some(SimTime(t))
            }
        }
    }

    fn record(&mut self, t: SimTime, message: u32, kind: impl FnOnce(&Self) -> TraceKind) {
        if self.recording.is_some() {
            let record = TraceRecord {
                t_ms: t.as_ms(),
                message: u64::from(message),
                kind: kind(self),
            };
            if let Some(records) = &mut self.recording {
                records.push(record);
            }
        }
    }

    fn on_arrival(&mut self, t: SimTime) {
        let w = &self.scenario.workload;
        let pick = self.arrivals.rng.weighted_index(&w.cumulative_weights);
        let domain = w.domains[pick];
        let unknown_recipient = self.arrivals.rng.unit() < w.unknown_recipient_share;
        let id = self.messages.len() as u32;
        let key = self.message_keys.next_u64();
        self.messages.push(Message {
            key,
            arrival: t,
            last_delay_ms: 0,
            pending: codes::OK,
            domain,
            attempts: 0,
            hint_s: 0,
            state: MessageState::InFlight,
            unknown_recipient,
            mta: 0,
            next_mta: NO_MTA,
            relays: 0,
            entered_ms: 0,
        });
        self.metrics.arrival();
        self.arrivals.next_index += 1;
        self.digest.word(1);
        self.digest.word(t.as_ms());
        self.digest.word(u64::from(id));
        self.digest
            .word(u64::from(domain.0) << 1 | u64::from(unknown_recipient));
        self.record(t, id, |s| TraceKind::Arrival {
            domain: s.scenario.domains[domain.0 as usize].name.clone(),
            unknown_recipient,
        });
        if let Some(next) = self.next_arrival_time() {
            self.queue.schedule_at(next, Event::Arrival);
        }
        self.due(id, t);
    }

    /// Samples the queue lengths at every series time up to and including `t` (the state
    /// before the event at `t`, which is the state at those times).
    fn sample_until(&mut self, t: SimTime) {
        while self.next_sample <= t {
            let queued = self.metrics.queued();
            self.series.push(QueueSample {
                t_ms: self.next_sample.as_ms(),
                queued,
                in_flight: self.in_flight_count,
                waiting: self.waiting_count,
            });
            self.next_sample = self.next_sample.after(self.scenario.series_every);
        }
    }

    /// The destination of a message to `domain` for concurrency and shared state: the route's
    /// first relay, or the domain.
    fn destination(&self, id: u32) -> usize {
        let m = &self.messages[id as usize];
        self.mtas[m.mta as usize].destination(m.domain, self.scenario.hosts.len())
    }

    /// Message `id` is due for an attempt at `t`: attempted now, or queued for a slot.
    fn due(&mut self, id: u32, t: SimTime) {
        let mta = self.messages[id as usize].mta as usize;
        if self.mtas[mta].qmgr.is_none() {
            self.start_attempt(id, t);
            return;
        }
        let dest = self.destination(id);
        let qm = self.mtas[mta].qmgr.as_mut().expect("checked above");
        if qm.offer(id, dest) {
            self.start_attempt(id, t);
        } else {
            let m = &mut self.messages[id as usize];
            m.state = MessageState::Waiting;
            let deadline = self.mtas[mta].policy.retry.deadline(m.entered());
            self.waiting_count += 1;
            self.queue
                .schedule_at(deadline.max(t), Event::WaitLimit(id));
            self.digest.word(9);
            self.digest.word(t.as_ms());
            self.digest.word(u64::from(id));
        }
        self.pump(mta, t);
    }

    /// Starts every queued attempt of MTA `mta` that may start now.
    fn pump(&mut self, mta: usize, t: SimTime) {
        while let Some((id, dest)) = self.mtas[mta]
            .qmgr
            .as_mut()
            .and_then(QueueManager::next_to_start)
        {
            let m = self.messages[id as usize];
            if m.state == MessageState::Waiting {
                self.waiting_count -= 1;
            }
            if self.mtas[mta].policy.retry.attempt_allowed(m.entered(), t) {
                self.start_attempt(id, t);
            } else {
                // Its queue lifetime ran out while it waited for a slot.
                if let Some(qm) = &mut self.mtas[mta].qmgr {
                    qm.done(dest, None);
                }
                self.on_expire(id, t);
            }
        }
    }

    /// A waiting message's lifetime may have ended: if it still waits, it leaves the queue
    /// and expires.
    fn on_wait_limit(&mut self, id: u32, t: SimTime) {
        let m = self.messages[id as usize];
        let mta = m.mta as usize;
        if m.state != MessageState::Waiting || t < self.mtas[mta].policy.retry.deadline(m.entered())
        {
            return;
        }
        let dest = self.destination(id);
        let withdrawn = self.mtas[mta]
            .qmgr
            .as_mut()
            .is_some_and(|q| q.withdraw(id, dest));
        debug_assert!(withdrawn, "a waiting message is in its queue");
        self.waiting_count -= 1;
        self.on_expire(id, t);
    }

    /// Releases the queue-manager slot of message `id`'s attempt (`outcome`: its success).
    fn release_slot(&mut self, id: u32, outcome: Option<bool>) {
        let mta = self.messages[id as usize].mta as usize;
        if self.mtas[mta].qmgr.is_some() {
            let dest = self.destination(id);
            if let Some(qm) = &mut self.mtas[mta].qmgr {
                qm.done(dest, outcome);
            }
        }
    }

    fn start_attempt(&mut self, id: u32, t: SimTime) {
        let m = self.messages[id as usize];
        let mi = m.mta as usize;
        assert!(!m.state.is_terminal(), "attempt on a finished message {id}");
        assert!(
            self.mtas[mi].policy.retry.attempt_allowed(m.entered(), t),
            "attempt after the deadline"
        );
        let attempt = m.attempts;
        let (domain, unknown_recipient) = (m.domain, m.unknown_recipient);
        let draws = AttemptRandom::new(m.key, attempt);
        self.hops.clear();
        let destination = self.destination(id);
        let mta = &mut self.mtas[mi];
        let resolved = self.mx_tables[domain.0 as usize].candidates(
            mta.policy.mx_address_limit,
            mta.host,
            &draws,
            &mut self.candidates,
        );
        if let (Some(shared), Ok(_)) = (&mut mta.shared, &resolved) {
            // Hosts in their retry time are skipped; if none is left, no attempt is made.
            let first_hops: Vec<HostId> = match mta.stages.first() {
                Some(stage) => stage.members.clone(),
                None => self.candidates.iter().map(|c| c.host).collect(),
            };
            let mut earliest: Option<SimTime> = None;
            let mut ready = first_hops.is_empty();
            for h in &first_hops {
                match shared.host_ready(h.0, t) {
                    Ok(()) => ready = true,
                    Err(at) => earliest = Some(earliest.map_or(at, |e| e.min(at))),
                }
            }
            let gate = if ready {
                shared.admit(destination, attempt > 0, t).err()
            } else {
                Some((Gate::HostRetry, earliest.unwrap_or(t)))
            };
            if let Some((gate, until)) = gate {
                self.gated(id, t, gate, until);
                return;
            }
            if mta.stages.is_empty() {
                self.candidates
                    .retain(|c| shared.host_ready(c.host.0, t).is_ok());
            }
        }
        let msg = &mut self.messages[id as usize];
        msg.state = MessageState::InFlight;
        msg.attempts += 1;
        self.in_flight_count += 1;
        let key = msg.key;
        let mut start = t;
        let mut lookup: Option<Lookup> = None;
        let mut dns_failure = None;
        if let Some(dns) = &mut mta.dns {
            let resolver = dns.spec().resolver;
            let rtt = self
                .topology
                .latency(mta.host, resolver)
                .map_or(SimDuration::ZERO, |l| SimDuration::from_ms(2 * l.as_ms()));
            let silent = self.scenario.hosts[resolver.0 as usize].down_as == DownAs::Silent;
            let queries = dns.counters.queries;
            let health = &mut self.health[resolver.0 as usize];
            let result = dns.lookup(
                domain.0 as usize,
                &self.scenario.domains[domain.0 as usize],
                t,
                rtt,
                silent,
                |at| health.is_up(at, &draws),
            );
            let queried = dns.counters.queries > queries;
            let (answer, l) = match result {
                Ok(l) => (None, l),
                Err((reply, l)) => (Some(reply), l),
            };
            if queried {
                let seen = match (answer, l.source) {
                    (Some(r), _) => r,
                    (None, crate::network::Source::Stale) => codes::ROUTING_SERVER_FAILURE,
                    (None, _) => codes::OK,
                };
                self.metrics.contact(resolver.0, seen);
            }
            start = SimTime(l.done_ms);
            lookup = Some(l);
            dns_failure = answer.map(|r| (r, start));
        }
        let mut accepted_by = None;
        let (reply, end) = match (dns_failure, resolved) {
            (Some(failure), _) => failure,
            (None, Err(reply)) => (reply, start),
            (None, Ok(local_is_mx)) => {
                let mut walker = Walker {
                    hosts: &self.scenario.hosts,
                    topology: &self.topology,
                    health: &mut self.health,
                    net: &mut self.net,
                    rules: &mta.rules,
                    pools: &mut mta.pools,
                    draws,
                    unknown_recipient,
                    recipient: key,
                    local_is_mx,
                    hops: &mut self.hops,
                    conns: mta.conns.as_mut(),
                    accepted_by: None,
                };
                let outcome = walker.walk(mta.host, &mta.stages, &self.candidates, start);
                accepted_by = walker.accepted_by;
                outcome
            }
        };
        debug_assert!(end >= t);
        if let (Some(shared), Ok(_)) = (&mut mta.shared, &resolved) {
            let backoff = &mta.policy.retry.default;
            let first_hop_count = if mta.stages.is_empty() {
                self.hops.len()
            } else {
                self.hops.len().min(1)
            };
            for hop in &self.hops[..first_hop_count] {
                shared.host_outcome(hop.host, hop.reply == codes::NO_ANSWER, t, backoff);
            }
            shared.destination_outcome(
                destination,
                reply == codes::NO_ANSWER,
                reply.is_transient(),
                t,
            );
        }
        // The first hop's own 4xx answer may carry its retry hint ("try again in N seconds").
        let hint = match self.hops.first() {
            Some(h) if reply.is_transient() && reply != codes::NO_ANSWER && h.reply == reply => {
                self.scenario.hosts[h.host as usize]
                    .retry_hint
                    .map_or(0, |d| (d.as_ms() / 1000).min(u64::from(u32::MAX)) as u32)
            }
            _ => 0,
        };
        let next_mta = match accepted_by {
            Some(h) if reply.is_success() => self.mta_of_host[h.0 as usize],
            _ => NO_MTA,
        };
        let msg = &mut self.messages[id as usize];
        msg.pending = reply;
        msg.hint_s = hint;
        msg.next_mta = next_mta;
        self.metrics.attempt(&self.hops);
        self.digest.word(2);
        self.digest.word(t.as_ms());
        self.digest.word(u64::from(id));
        self.digest.word(u64::from(attempt));
        digest_hops(&mut self.digest, &self.hops);
        self.digest.reply(reply);
        self.digest.word(end.as_ms());
        if let Some(l) = &lookup {
            self.digest.word(8);
            self.digest.word(l.source as u64);
            self.digest.word(l.done_ms);
        }
        if mi > 0 {
            self.digest.word(10);
            self.digest.word(mi as u64);
        }
        self.record(t, id, |s| TraceKind::Attempt {
            n: attempt + 1,
            hops: s
                .hops
                .iter()
                .map(|h| HopRecord {
                    host: s.scenario.hosts[h.host as usize].id.clone(),
                    at_ms: h.at_ms,
                    reply: h.reply,
                    session_ms: h.session,
                    reused: h.reused,
                })
                .collect(),
            reply,
            end_ms: end.as_ms(),
            dns: lookup,
            from: (mi > 0).then(|| s.scenario.hosts[s.mtas[mi].host.0 as usize].id.clone()),
        });
        if self.recording.is_some() {
            self.in_flight
                .insert(id, (attempt + 1, t, end, self.hops.clone()));
        }
        self.queue.schedule_at(end, Event::AttemptEnd(id));
    }

    fn on_attempt_end(&mut self, id: u32, t: SimTime) {
        let m = self.messages[id as usize];
        debug_assert_eq!(m.state, MessageState::InFlight);
        let reply = m.pending;
        self.in_flight.remove(&id);
        self.in_flight_count -= 1;
        self.release_slot(id, Some(!reply.is_transient()));
        if reply.is_success() && m.next_mta != NO_MTA {
            self.hand_off(id, t);
        } else if reply.is_success() {
            let delay = t.since(m.arrival).as_ms();
            self.finish(id, t, MessageState::Delivered);
            self.metrics.delivered(delay, m.attempts);
            self.digest.word(3);
            self.digest.word(t.as_ms());
            self.digest.word(u64::from(id));
            self.record(t, id, |_| TraceKind::Delivered { delay_ms: delay });
        } else if reply.is_permanent() {
            self.bounce(id, t, reply);
        } else {
            self.defer(id, t, reply);
        }
        self.pump(m.mta as usize, t);
    }

    /// A store-and-forward relay accepted message `id`: it leaves its MTA's queue and enters
    /// the relay's, which retries it under its own policy. Each hand-off is a relay passed;
    /// past the receiving MTA's hop limit the mail is looping: 554 5.4.6.
    fn hand_off(&mut self, id: u32, t: SimTime) {
        let m = &mut self.messages[id as usize];
        let next = m.next_mta;
        m.relays = m.relays.saturating_add(1);
        let relays = m.relays;
        let hop_limit = self.mtas[next as usize].policy.hop_limit;
        self.relayed += 1;
        if u32::from(relays) > hop_limit.min(u32::from(u8::MAX - 1)) {
            self.bounce(id, t, codes::ROUTING_LOOP);
            return;
        }
        let m = &mut self.messages[id as usize];
        // A new queue: fresh attempt count and backoff; its own draws (a new key, so the
        // relay's coins are independent of the sender's for the same attempt numbers).
        m.mta = next;
        m.next_mta = NO_MTA;
        m.attempts = 0;
        m.last_delay_ms = 0;
        m.hint_s = 0;
        m.pending = codes::OK;
        m.key = crate::random::mix(m.key, u64::from(relays));
        m.entered_ms = t.since(m.arrival).as_ms().min(u64::from(u32::MAX)) as u32;
        m.state = MessageState::Deferred;
        self.digest.word(10);
        self.digest.word(t.as_ms());
        self.digest.word(u64::from(id));
        self.digest.word(u64::from(next));
        let host = self.mtas[next as usize].host;
        self.record(t, id, |s| TraceKind::Relayed {
            to: s.scenario.hosts[host.0 as usize].id.clone(),
        });
        self.due(id, t);
    }

    fn bounce(&mut self, id: u32, t: SimTime, reply: Reply) {
        self.finish(id, t, MessageState::Bounced);
        self.metrics.bounced(reply);
        self.digest.word(4);
        self.digest.word(t.as_ms());
        self.digest.word(u64::from(id));
        self.digest.reply(reply);
        self.record(t, id, |_| TraceKind::Bounced { reply });
    }

    fn defer(&mut self, id: u32, t: SimTime, reply: Reply) {
        let m = self.messages[id as usize];
        let retry = &self.mtas[m.mta as usize].policy.retry;
        let u = if retry.is_jittered() {
            AttemptRandom::new(m.key, m.attempts - 1).unit(Slot::Jitter)
        } else {
            0.0
        };
        let decision = retry.decide(&Failure {
            reply,
            arrival: m.entered(),
            now: t,
            attempts: m.attempts,
            previous: (m.last_delay_ms > 0).then_some(SimDuration::from_ms(m.last_delay_ms)),
            u,
            hint: (m.hint_s > 0).then(|| SimDuration::from_secs(u64::from(m.hint_s))),
        });
        let (event, at) = match decision {
            Decision::Retry { at, wait, .. } => {
                self.messages[id as usize].last_delay_ms = wait.as_ms();
                (Event::AttemptStart(id), at)
            }
            Decision::Expire { at, .. } => (Event::Expire(id), at),
        };
        self.messages[id as usize].state = MessageState::Deferred;
        self.queue.schedule_at(at, event);
        self.digest.word(5);
        self.digest.word(t.as_ms());
        self.digest.word(u64::from(id));
        self.digest.reply(reply);
        self.digest.word(at.as_ms());
        self.record(t, id, |s| {
            let retry = &s.mtas[m.mta as usize].policy.retry;
            TraceKind::Deferred {
                reply,
                retry_at_ms: at.as_ms(),
                rule: match decision {
                    Decision::Retry {
                        rule: RuleUsed::Default,
                        ..
                    } => "default".to_string(),
                    Decision::Retry {
                        rule: RuleUsed::OnCode(i),
                        ..
                    } => retry.on_code[i].pattern.to_string(),
                    Decision::Retry {
                        rule: RuleUsed::Hint,
                        ..
                    } => "server hint".to_string(),
                    Decision::Expire { reason, .. } => format!("give up: {}", reason.text()),
                },
            }
        });
    }

    /// A shared-state gate refused the attempt: the message waits until the gate may open
    /// (or expires first), without an attempt being counted.
    fn gated(&mut self, id: u32, t: SimTime, gate: Gate, until: SimTime) {
        self.release_slot(id, None);
        let m = self.messages[id as usize];
        let retry = &self.mtas[m.mta as usize].policy.retry;
        let deadline = retry.deadline(m.entered());
        let at = until.max(t.after(SimDuration::from_ms(1)));
        let expire = match retry.give_up {
            GiveUp::Deadline => at >= deadline,
            GiveUp::Overshoot => at > deadline,
            GiveUp::AfterAttempt => t >= deadline,
        };
        let (event, at) = if expire {
            (Event::Expire(id), deadline.max(t))
        } else {
            (Event::AttemptStart(id), at)
        };
        let msg = &mut self.messages[id as usize];
        msg.state = MessageState::Deferred;
        if msg.pending.is_success() {
            msg.pending = codes::NO_ANSWER;
        }
        let reply = msg.pending;
        self.metrics.gated(gate);
        self.queue.schedule_at(at, event);
        self.digest.word(7);
        self.digest.word(t.as_ms());
        self.digest.word(u64::from(id));
        self.digest.word(gate as u64);
        self.digest.word(at.as_ms());
        self.record(t, id, |_| TraceKind::Deferred {
            reply,
            retry_at_ms: at.as_ms(),
            rule: format!("gated: {}", gate.text()),
        });
    }

    fn on_expire(&mut self, id: u32, t: SimTime) {
        let last = self.messages[id as usize].pending;
        self.finish(id, t, MessageState::Expired);
        self.metrics.expired(last);
        self.digest.word(6);
        self.digest.word(t.as_ms());
        self.digest.word(u64::from(id));
        self.record(t, id, |_| TraceKind::Expired { last });
    }

    fn finish(&mut self, id: u32, t: SimTime, state: MessageState) {
        let m = &mut self.messages[id as usize];
        assert!(!m.state.is_terminal(), "message {id} finished twice");
        m.state = state;
        let warnings = self.mtas[m.mta as usize]
            .policy
            .retry
            .warnings_before(t.since(m.entered()));
        self.metrics.warned(warnings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_message_memory_stays_small() {
        // README reports memory per queued message: its state plus one pending event.
        assert_eq!(std::mem::size_of::<Message>(), 56);
        assert_eq!(std::mem::size_of::<Event>(), 8);
    }
}
