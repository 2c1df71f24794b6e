//! The simulation: one scenario + seed, driven event by event. This module only orchestrates:
//! it pops events, moves messages through their lifecycle (`message`),
//! asks for attempts (`attempt`) and decisions ([`policy`](crate::policy)),
//! and reports every happening to the `Recorder`.
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

mod lifecycle;
pub mod traced;

use crate::arrivals::ArrivalSource;
use crate::attempt::Scratch;
use crate::dns::MxTable;
use crate::engine::EventQueue;
use crate::failure::HostHealth;
use crate::ids::{HostId, MessageId, MtaId};
use crate::message::Messages;
use crate::metrics::{QueueSeries, ReportInputs, RunInfo};
use crate::mta::Mta;
use crate::network::Network;
use crate::random::{Purpose, SeqStream, Streams};
use crate::recorder::Recorder;
use crate::report::Report;
use crate::scenario::Scenario;
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
            .map(|(i, h)| {
                HostHealth::new(streams, HostId::from_index(i), &h.availability, h.reject)
            })
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

    /// Keeps trace records of the messages `ids` only (ids are dense, in arrival order).
    /// With the same scenario and seed, a run recording a few messages is the same run as
    /// one recording none, so `mxsim trace` selects in one run and records in a second.
    pub fn record_trace_of(&mut self, ids: Vec<MessageId>) {
        self.recorder.record_trace_of(ids);
    }

    /// Remembers a few bytes per message so that [`chosen`](Self::chosen) can name the
    /// messages matching `criteria` (for `mxsim trace`). Call before running.
    pub fn select(&mut self, criteria: crate::observe::select::Criteria) {
        self.recorder
            .select(crate::observe::select::Selector::new(criteria));
    }

    /// The messages `pick` chooses among those matching the criteria given to
    /// [`select`](Self::select); an error names a message id that does not exist.
    pub fn chosen(&self, pick: &crate::observe::select::Pick) -> Result<Vec<MessageId>, String> {
        match self.recorder.selector() {
            Some(s) => s.chosen(pick, self.queue.now()),
            None => Err("no selection was asked for before the run".into()),
        }
    }

    /// Observes the run in detail (routing metrics per host, link and route; the series in
    /// buckets of `every`, default the scenario's `series_every`; the failure analysis), all
    /// added to the report. Off by default: the plain run keeps only the report's counters.
    /// Call before running.
    pub fn observe(&mut self, every: Option<crate::time::SimDuration>) {
        let every = every.unwrap_or(self.scenario.series_every).as_ms();
        self.recorder.observe(self.scenario.hosts.len(), every);
    }

    /// Trace records kept so far (empty unless [`record_trace`](Self::record_trace) was called).
    pub fn trace(&self) -> &[TraceRecord] {
        self.recorder.trace()
    }

    /// Trace records from index `cursor` on (for pages that animate new events each frame).
    /// Indices count every record of the run; records already taken out by
    /// [`take_trace`](Self::take_trace) are gone, so a cursor before them starts at the first
    /// record still kept.
    pub fn trace_since(&self, cursor: usize) -> &[TraceRecord] {
        let kept = cursor.saturating_sub(self.recorder.taken());
        self.trace().get(kept..).unwrap_or(&[])
    }

    /// Moves out the trace records kept so far; recording goes on. A long run's trace is
    /// written as it proceeds (`mxsim run --trace`), in memory bounded by one batch of events.
    pub fn take_trace(&mut self) -> Vec<TraceRecord> {
        self.recorder.take_trace()
    }

    /// How many trace records were taken out so far (the index of the first one kept).
    pub fn trace_taken(&self) -> usize {
        self.recorder.taken()
    }

    /// Keeps every trace record, but at most `max` at once: when full, the oldest half is
    /// dropped (counted by [`trace_dropped`](Self::trace_dropped)). For pages, which read
    /// records as the run goes and release them ([`release_trace_before`](Self::release_trace_before)).
    pub fn record_trace_bounded(&mut self, max: usize) {
        self.recorder.record_trace();
        self.recorder.bound_trace(max);
    }

    /// Releases the trace records before run-wide index `index` (already read).
    pub fn release_trace_before(&mut self, index: usize) {
        self.recorder.release_before(index);
    }

    /// Trace records dropped unread because the bound of
    /// [`record_trace_bounded`](Self::record_trace_bounded) was reached.
    pub fn trace_dropped(&self) -> usize {
        self.recorder.dropped()
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
            net: &self.net,
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

    /// The limit that cut the run short, if one did: `events_max` (the run stopped with
    /// events left), else `messages_max` (an arrival the limit refused, before the
    /// scenario's `duration`).
    pub fn cut(&self) -> Option<crate::report::Cut> {
        use crate::report::{Cut, Limit};
        if self.stopped == Some(Stop::EventsMax) {
            return Some(Cut {
                limit: Limit::EventsMax,
                at_ms: self.queue.now().as_ms(),
            });
        }
        let refused = self.arrivals.refused_at()?;
        let before_end = self
            .scenario
            .duration
            .is_none_or(|d| refused.as_ms() < d.as_ms());
        before_end.then_some(Cut {
            limit: Limit::MessagesMax,
            at_ms: refused.as_ms(),
        })
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
        if self.series.due(t) {
            self.series.sample_until(t, self.messages.counts());
        }
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
    /// The run stops (as [`Simulation::run`] would) once no event is left, or once `t` has
    /// passed the scenario's duration with no event left before it.
    pub fn run_until(&mut self, t: SimTime, budget: u64) -> Result<u64, InThePast> {
        let now = self.queue.now();
        if t < now {
            return Err(InThePast { asked: t, now });
        }
        let mut n = 0;
        while n < budget {
            // With no event left, or past the end, `step` records why the run stopped.
            let due = self.queue.peek_time().is_none_or(|next| next <= t);
            let past_end = self.end.is_some_and(|end| t > end);
            if !(due || past_end) || !self.step() {
                break;
            }
            n += 1;
        }
        Ok(n)
    }

    /// The trace digest so far (cheaper than building the whole report).
    pub fn digest(&self) -> String {
        self.recorder.digest()
    }

    /// The censored delay distribution so far (share of generated messages delivered by
    /// each delay), without observing the run: what `mxsim compare --plot` overlays.
    pub fn delay_cdf(&self) -> Vec<crate::report::CdfPoint> {
        self.recorder.metrics().delay_cdf()
    }

    /// The run's report so far (complete once [`Simulation::run`] has returned).
    pub fn report(&self) -> Report {
        let sender = &self.mtas[MtaId::SENDER.index()];
        let mut report = self.recorder.metrics().report(ReportInputs {
            scenario: &self.scenario,
            run: RunInfo {
                digest: self.recorder.digest(),
                stopped_by: self.stopped.map_or("running", Stop::name),
                cut: self.cut(),
                end_ms: self.queue.now().as_ms(),
                events: self.queue.popped(),
            },
            queued_counted: self.messages.queued().count() as u64,
            net: &self.net,
            dns: sender.dns.as_ref(),
            conns: sender.conns.as_ref(),
            qmgr: sender.qmgr.as_ref(),
            sites: sender.shaping.as_ref().map_or_else(Vec::new, |s| {
                s.report(&sender.policy.shaping, &self.scenario.domains)
            }),
            series: (self.series.samples(), self.series.every()),
        });
        let compared = crate::metric::Metric::compared(&self.scenario.measurable());
        let slo = report.slo_times();
        report.metrics = crate::compare::readings(&report, &compared)
            .into_iter()
            .map(|reading| crate::figures::with_text(reading, &slo))
            .collect();
        if let Some(obs) = self.recorder.observer() {
            let routing = obs.routing(&self.scenario);
            report.analysis = Some(crate::observe::analysis::analyse(
                &self.scenario,
                obs,
                &routing,
            ));
            report.series = Some(obs.series(&self.scenario, self.queue.now()));
            report.delay_cdf = Some(self.recorder.metrics().delay_cdf());
            report.routing = Some(routing);
        }
        report
    }
}
