//! A picture of the simulation at the current instant, for drawing (the browser visualizer):
//! each host's state, the queue, and the messages in flight with the hop they are at.
//!
//! Built on demand from the simulation's state; nothing here changes the run, so taking
//! snapshots never changes a digest.

use crate::failure::{HostHealth, HostState};
use crate::ids::MessageId;
use crate::message::{MessageState, StateCounts};
use crate::metrics::Metrics;
use crate::network::Network;
use crate::recorder::InFlight;
use crate::scenario::Scenario;
use crate::time::SimTime;
use serde::Serialize;
use std::collections::BTreeMap;

/// The state of a run at one instant.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// Simulated time, ms.
    pub t_ms: u64,
    /// Events processed so far.
    pub events: u64,
    /// Whether the run has stopped, and why (`null` while running).
    pub stopped_by: Option<&'static str>,
    /// Every host, in scenario order.
    pub hosts: Vec<HostView>,
    /// Queue counts.
    pub queue: QueueView,
    /// Attempts under way (only tracked when the trace is recorded).
    pub in_flight: Vec<InFlightView>,
}

/// One host as drawn.
#[derive(Clone, Debug, Serialize)]
pub struct HostView {
    /// Host id.
    pub id: String,
    /// `sender`, `relay` or `mx`.
    pub role: &'static str,
    /// What the host is doing to mail now, the most telling first.
    pub state: HostCondition,
    /// Times contacted so far.
    pub contacts: u64,
    /// Sessions and backlog now, for a host with a `capacity` (`null` otherwise).
    pub load: Option<LoadView>,
}

/// What a host is doing to mail at one instant, as drawn. One word per host, so the order
/// decides: an outage hides everything, a full host hides greylisting, and a Bernoulli-flaky
/// host that is neither full nor greylisting shows as flaky.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostCondition {
    /// Answering normally.
    Up,
    /// In an outage window: connections are refused.
    Down,
    /// Every server is busy: a new connection waits in the backlog or is refused with the
    /// over-capacity reply (`network::capacity`).
    Overloaded,
    /// Deferred a new triplet within the last greylist `delay`: mail is being held back
    /// (`network::greylist`).
    Greylisting,
    /// Fails each attempt independently with its probability.
    Flaky,
}

impl HostCondition {
    fn of(state: HostState, load: Option<LoadView>, greylisting: bool) -> Self {
        match state {
            HostState::Down => HostCondition::Down,
            _ if load.is_some_and(|l| l.busy >= l.sessions) => HostCondition::Overloaded,
            _ if greylisting => HostCondition::Greylisting,
            HostState::Flaky => HostCondition::Flaky,
            HostState::Up => HostCondition::Up,
        }
    }
}

/// A capacity host's load at the instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LoadView {
    /// Sessions under way.
    pub busy: u32,
    /// Sessions it can serve at once.
    pub sessions: u32,
    /// Connections waiting in the backlog for a greeting.
    pub waiting: u32,
}

/// Queue counts at the instant.
#[derive(Clone, Debug, Serialize)]
pub struct QueueView {
    /// Waiting for a retry.
    pub deferred: u64,
    /// An attempt is under way.
    pub in_flight: u64,
    /// Due, but waiting for room in the active queue or a concurrency slot.
    pub waiting: u64,
    /// Delivered so far.
    pub delivered: u64,
    /// Bounced so far.
    pub bounced: u64,
    /// Expired so far.
    pub expired: u64,
}

/// A message whose attempt is under way.
#[derive(Clone, Debug, Serialize)]
pub struct InFlightView {
    /// Message id.
    pub message: u64,
    /// 1-based attempt number.
    pub attempt: u32,
    /// When the attempt started, ms.
    pub started_ms: u64,
    /// When its outcome reaches the sender, ms.
    pub ends_ms: u64,
    /// The host being talked to now (the last hop contacted at or before now), or the sender
    /// when no hop has been reached yet.
    pub hop: String,
    /// The route walked so far, host ids in order.
    pub path: Vec<String>,
}

/// What a snapshot is drawn from: the parts of a running simulation it reads.
pub struct SnapshotSource<'a> {
    /// Now.
    pub now: SimTime,
    /// Events processed.
    pub events: u64,
    /// Why the run stopped, if it has.
    pub stopped_by: Option<&'static str>,
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Host availability (queried at `now`; lazily generated timelines do not change).
    pub health: &'a mut [HostHealth],
    /// Contact counters.
    pub metrics: &'a Metrics,
    /// Capacity and greylist state of the hosts.
    pub net: &'a Network,
    /// Messages per state.
    pub counts: StateCounts,
    /// Attempts under way (recorded runs only).
    pub in_flight: &'a BTreeMap<MessageId, InFlight>,
}

impl SnapshotSource<'_> {
    /// The picture.
    pub fn take(self) -> Snapshot {
        let now = self.now;
        let scenario = self.scenario;
        let hosts = scenario
            .hosts
            .iter()
            .enumerate()
            .zip(self.health.iter_mut())
            .map(|((i, h), health)| {
                let load = self.net.loads[i].as_ref().map(|l| {
                    let (busy, waiting) = l.load_at(now);
                    LoadView {
                        busy,
                        sessions: l.spec().sessions,
                        waiting,
                    }
                });
                let greylisting = self.net.greylists[i]
                    .as_ref()
                    .is_some_and(|g| g.holding_at(now));
                HostView {
                    id: h.id.clone(),
                    role: h.role.name(),
                    state: HostCondition::of(health.state_at(now), load, greylisting),
                    contacts: self.metrics.host_contacts(i),
                    load,
                }
            })
            .collect();
        let count = |state| self.counts.of(state);
        let queue = QueueView {
            // A due message is between two steps of one event: it counts as deferred.
            deferred: count(MessageState::Deferred) + count(MessageState::Due),
            in_flight: count(MessageState::InFlight),
            waiting: count(MessageState::Waiting),
            delivered: count(MessageState::Delivered),
            bounced: count(MessageState::Bounced),
            expired: count(MessageState::Expired),
        };
        let name = |h: crate::ids::HostId| scenario.hosts[h.index()].id.clone();
        let sender = name(scenario.policy.sender);
        let in_flight = self
            .in_flight
            .iter()
            .map(|(&message, f)| {
                let reached: Vec<String> = f
                    .hops
                    .iter()
                    .filter(|h| h.at_ms <= now.as_ms())
                    .map(|h| name(h.host))
                    .collect();
                InFlightView {
                    message: u64::from(message.0),
                    attempt: f.n,
                    started_ms: f.started.as_ms(),
                    ends_ms: f.ends.as_ms(),
                    hop: reached.last().cloned().unwrap_or_else(|| sender.clone()),
                    path: reached,
                }
            })
            .collect();
        Snapshot {
            t_ms: now.as_ms(),
            events: self.events,
            stopped_by: self.stopped_by,
            hosts,
            queue,
            in_flight,
        }
    }
}

/// The scenario's shape, for laying out a picture once: hosts with their roles, the links
/// between them and each domain's MX records (the browser draws layers sender → resolver and
/// relays → MX hosts, grouped by domain). Changes nothing and is the same for every seed.
#[derive(Clone, Debug, Serialize)]
pub struct TopologyView {
    /// Every host in scenario order (the order of [`Snapshot::hosts`]).
    pub hosts: Vec<TopologyHost>,
    /// Directed links "from can connect to to", host ids.
    pub links: Vec<(String, String)>,
    /// Recipient domains in scenario order.
    pub domains: Vec<TopologyDomain>,
    /// The sender whose queue and policy are under test.
    pub sender: String,
    /// The scenario's `duration` (ms), `null` when it runs until no event is left: the
    /// browser's time scrubber spans it.
    pub duration_ms: Option<u64>,
    /// SLO times (ms) of `delivered_within`, ascending: marks on the delay chart.
    pub delivered_within_ms: Vec<u64>,
}

/// A host as laid out.
#[derive(Clone, Debug, Serialize)]
pub struct TopologyHost {
    /// Host id.
    pub id: String,
    /// `sender`, `relay`, `mx` or `resolver`.
    pub role: &'static str,
}

/// A recipient domain and what DNS answers for it.
#[derive(Clone, Debug, Serialize)]
pub struct TopologyDomain {
    /// Domain name.
    pub name: String,
    /// MX records `(preference, host id)`, lower preference first; for an implicit MX the
    /// domain's own host at preference 0; empty for a null MX or a domain that does not exist.
    pub mx: Vec<(u16, String)>,
    /// `records`, `implicit`, `null_mx` or `nxdomain`.
    pub answer: &'static str,
}

impl TopologyView {
    /// The shape of `scenario`.
    pub fn of(scenario: &Scenario) -> TopologyView {
        use crate::dns::MxAnswer;
        let name = |h: crate::ids::HostId| scenario.hosts[h.index()].id.clone();
        let domains = scenario
            .domains
            .iter()
            .map(|d| {
                let (mut mx, answer) = match &d.mx {
                    MxAnswer::Records(r) => (
                        r.iter().map(|m| (m.preference, name(m.host))).collect(),
                        "records",
                    ),
                    MxAnswer::Implicit(h) => {
                        (h.iter().map(|&h| (0, name(h))).collect(), "implicit")
                    }
                    MxAnswer::NullMx => (Vec::new(), "null_mx"),
                    MxAnswer::NxDomain => (Vec::new(), "nxdomain"),
                };
                mx.sort();
                TopologyDomain {
                    name: d.name.clone(),
                    mx,
                    answer,
                }
            })
            .collect();
        TopologyView {
            hosts: scenario
                .hosts
                .iter()
                .map(|h| TopologyHost {
                    id: h.id.clone(),
                    role: h.role.name(),
                })
                .collect(),
            links: scenario
                .links
                .iter()
                .map(|l| (name(l.from), name(l.to)))
                .collect(),
            domains,
            sender: name(scenario.policy.sender),
            duration_ms: scenario.duration.map(|d| d.as_ms()),
            delivered_within_ms: scenario
                .delivered_within
                .iter()
                .map(|d| d.as_ms())
                .collect(),
        }
    }
}
