//! Scenario files: the validated, typed description of one simulation.
//!
//! A scenario is text (TOML, or JSON with the same schema) → a format-neutral tree with spans
//! ([`tree`]) → this typed model, checked field by field ([`load()`]). Every problem is reported
//! at once as a [`Diagnostic`](crate::diagnostic::Diagnostic); nothing here panics on user input.
//! Host, domain and link references are resolved to dense ids here, so the simulation never
//! looks names up.
//!
//! The schema, with defaults, is documented in `docs/scenario.md` and mirrored by the `load` module.

pub mod edit;
pub mod json;
pub mod load;
pub mod reader;
pub mod tree;

use crate::expect::Expectation;
use crate::failure::{Availability, RejectSpec};
use crate::policy::RetryPolicy;
use crate::time::{SimDuration, SimTime};

pub use edit::{load_edited, Edit, EditError};
pub use load::{load, load_with_seed};

pub use crate::dns::{DomainSpec, MxAnswer, MxRecord};
pub use crate::ids::{DomainId, HostId};
pub use crate::topology::LinkSpec;

/// A complete, validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Title shown in reports.
    pub name: String,
    /// Master seed (overridable with `--seed`).
    pub seed: u64,
    /// Simulated time limit; `None` runs until no event is left.
    pub duration: Option<SimDuration>,
    /// Resource limits.
    pub limits: Limits,
    /// Hosts, indexed by [`HostId`].
    pub hosts: Vec<HostSpec>,
    /// Directed links "from can connect to to".
    pub links: Vec<LinkSpec>,
    /// Recipient domains, indexed by [`DomainId`].
    pub domains: Vec<DomainSpec>,
    /// Message arrivals.
    pub workload: Workload,
    /// The sender's policy under test.
    pub policy: Policy,
    /// Named variants of `policy` (`[policies.<name>]`), for `mxsim compare`.
    pub policies: Vec<(String, Policy)>,
    /// `[expect]` bounds.
    pub expect: Vec<Expectation>,
    /// `[expect] seeds`: the bounds apply to the mean over this many seeds (the scenario's
    /// and the ones after it); `None`: to the scenario's one seed.
    pub expect_seeds: Option<u32>,
    /// Interval of the queue-length series in the report.
    pub series_every: SimDuration,
    /// SLO times: the report gives the share of messages delivered within each, ascending.
    pub delivered_within: Vec<SimDuration>,
}

impl Scenario {
    /// Whether an `[expect]` bound reads the failure analysis (`culprit`), so a check must
    /// observe the run in detail ([`crate::Simulation::observe`]).
    pub fn expects_analysis(&self) -> bool {
        self.expect
            .iter()
            .any(|e| matches!(e.metric, crate::expect::Metric::Culprit(_)))
    }

    /// The sender's shaping for mail to the domain named `domain` and the block that set
    /// each value (`mxsim explain-policy`); an unknown name lists the scenario's domains.
    pub fn explain_shaping(&self, domain: &str) -> Result<crate::shaping::Explanation, String> {
        let Some(i) = self.domains.iter().position(|d| d.name == domain) else {
            let names: Vec<&str> = self.domains.iter().map(|d| d.name.as_str()).collect();
            return Err(format!(
                "no domain \"{domain}\" in this scenario\n  help: its domains: {}",
                names.join(", ")
            ));
        };
        Ok(crate::shaping::explain(
            &self.policy.shaping,
            &self.domains,
            self.policy.route.first_relay(),
            crate::ids::DomainId::from_index(i),
        ))
    }

    /// What this scenario can measure: the registry's test for a bound or gate on a metric
    /// (`crate::metric::Metric::measurable`).
    pub fn measurable(&self) -> crate::metric::Measurable {
        measurable_of(&self.hosts, Some(&self.policy), &self.delivered_within)
    }

    /// `delivered_within` when a scenario does not say (minutes): 1 h, 4 h and 1 d, the
    /// times operators commonly promise and the first delay-warning ages of Postfix (4 h)
    /// and Exim (24 h) around them.
    pub const DELIVERED_WITHIN_DEFAULT: [u64; 3] = [60, 240, 1440];
}

/// What a scenario with these hosts, sender policy and SLO times can measure.
pub(crate) fn measurable_of(
    hosts: &[HostSpec],
    policy: Option<&Policy>,
    slo_times: &[SimDuration],
) -> crate::metric::Measurable {
    crate::metric::Measurable {
        slo_times_ms: slo_times.iter().map(|d| d.as_ms()).collect(),
        capacity: hosts.iter().any(|h| h.capacity.is_some()),
        greylist: hosts.iter().any(|h| h.greylist.is_some()),
        resolver: policy.is_some_and(|p| p.dns.is_some()),
        connection_cache: policy.is_some_and(|p| p.connections.is_some()),
    }
}

/// Limits that refuse oversize scenarios up front and stop runaway runs (DESIGN §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most messages a scenario may generate (expected count checked before the run).
    pub messages_max: u64,
    /// Most events a run may process; reaching it stops the run with `stopped_by = "events_max"`.
    pub events_max: u64,
    /// Most hosts a scenario may declare.
    pub hosts_max: u64,
}

impl Limits {
    /// Defaults: 1 M messages (about 100 MB of per-message state and delay samples), 100 M
    /// events (about a minute of CPU at the measured rate), 10 000 hosts.
    pub const DEFAULT: Limits = Limits {
        messages_max: 1_000_000,
        events_max: 100_000_000,
        hosts_max: 10_000,
    };
}

/// What a host does in the topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An MTA whose queue and policy are under test.
    Sender,
    /// An intermediate routing server (smarthost).
    Relay,
    /// A recipient domain's mail exchanger.
    Mx,
    /// A DNS resolver the sender queries (DESIGN §3).
    Resolver,
}

impl Role {
    /// Name as written in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Role::Sender => "sender",
            Role::Relay => "relay",
            Role::Mx => "mx",
            Role::Resolver => "resolver",
        }
    }
}

/// One host.
#[derive(Clone, Debug, PartialEq)]
pub struct HostSpec {
    /// Unique name (also its DNS name).
    pub id: String,
    /// Its role.
    pub role: Role,
    /// When it is down.
    pub availability: Availability,
    /// Share of attempts it refuses permanently.
    pub reject: Option<RejectSpec>,
    /// Text hint in its 4xx replies, "try again in N seconds" (Postal parses such hints).
    pub retry_hint: Option<SimDuration>,
    /// How the host fails to answer while it is down.
    pub down_as: DownAs,
    /// Sessions it serves at once, and what a session costs it (`None`: unlimited, free).
    pub capacity: Option<crate::network::CapacitySpec>,
    /// Greylisting (MX hosts only).
    pub greylist: Option<crate::network::GreylistSpec>,
    /// For a store-and-forward relay: the policy of its own queue (it is an MTA like the
    /// sender, run by the same code). `None` for cut-through relays and other roles.
    pub queue_policy: Option<Box<Policy>>,
}

/// What a client sees when it connects to a host that is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DownAs {
    /// The connection is refused at once (one round trip).
    Refused,
    /// Nothing answers: the client waits its whole connect timeout (RFC 5321 §4.5.3.2 is why a
    /// silent host costs a sender real time).
    Silent,
}

/// When messages arrive.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrivals {
    /// A Poisson process of `per_hour` messages per hour from `start` for `window`.
    Poisson {
        /// Rate.
        per_hour: f64,
        /// First possible arrival.
        start: SimTime,
        /// Length of the arrival window.
        window: SimDuration,
    },
    /// Explicit arrival times, sorted.
    At(Vec<SimTime>),
}

/// Message generation.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Arrival process.
    pub arrivals: Arrivals,
    /// Recipient domains with cumulative weights (for sampling).
    pub domains: Vec<DomainId>,
    /// Cumulative weights aligned with `domains`.
    pub cumulative_weights: Vec<f64>,
    /// Share of messages addressed to a mailbox that does not exist (→ 550 5.1.1).
    pub unknown_recipient_share: f64,
}

impl Workload {
    /// Expected number of messages (exact for explicit lists).
    pub fn expected_messages(&self) -> f64 {
        match &self.arrivals {
            Arrivals::Poisson {
                per_hour, window, ..
            } => per_hour * window.as_ms() as f64 / 3_600_000.0,
            Arrivals::At(v) => v.len() as f64,
        }
    }
}

/// How the sender reaches a domain's MX hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Connect to the MX hosts itself.
    Direct,
    /// Through a chain of stages (a relay or a pool of relays); the last one walks the MX
    /// list.
    Via(Vec<crate::network::Stage>),
}

impl Route {
    /// The host a queue's mail is first handed to through this route (the first stage's
    /// first member), `None` for direct delivery: the destination of shared state and the
    /// site of shaping.
    pub fn first_relay(&self) -> Option<HostId> {
        match self {
            Route::Via(chain) => chain.first().map(|stage| stage.members[0]),
            Route::Direct => None,
        }
    }
}

/// Which soft failures move an attempt on to the next MX host (or pool member).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextMx {
    /// Any soft failure, connection-level or a 4xx in the session (Postfix), but at most
    /// `session_limit` sessions that got past the greeting (`smtp_mx_session_limit` = 2).
    AnySoft {
        /// Sessions per attempt.
        session_limit: u32,
    },
    /// Connection-level failures only (refused, timed out, busy greeting): a 4xx inside a
    /// session ends the attempt (Haraka, Stalwart, KumoMTA, Postal).
    ConnectionOnly,
}

impl NextMx {
    /// Postfix's `smtp_mx_session_limit`, the default `mx_session_limit`.
    pub const SESSION_LIMIT_DEFAULT: u32 = 2;
    /// Postfix's rule, mxsim's default: any soft failure, at most 2 sessions.
    pub const POSTFIX: NextMx = NextMx::AnySoft {
        session_limit: NextMx::SESSION_LIMIT_DEFAULT,
    };
}

/// How the sender opens connections inside one attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConnectSpec {
    /// Extra connect tries to the same host after a refused or unanswered connect (R16).
    pub retries: u32,
    /// Wait before the first extra try.
    pub backoff: SimDuration,
    /// Growth of the wait per further try.
    pub factor: f64,
    /// How long an unanswered connect is waited for (Postfix `smtp_connect_timeout` = 30 s).
    pub timeout: SimDuration,
    /// How long the greeting is waited for (RFC 5321 §4.5.3.2: 5 min).
    pub greeting_timeout: SimDuration,
}

impl Default for ConnectSpec {
    fn default() -> Self {
        ConnectSpec {
            retries: 0,
            backoff: SimDuration::from_secs(1),
            factor: 2.0,
            timeout: SimDuration::from_secs(30),
            greeting_timeout: SimDuration::from_mins(5),
        }
    }
}

impl Policy {
    /// Default `mx_address_limit`: Postfix `smtp_mx_address_limit` = 5.
    pub const MX_ADDRESS_LIMIT_DEFAULT: u32 = 5;
    /// Default `hop_limit`: Postfix `hopcount_limit` = 50.
    pub const HOP_LIMIT_DEFAULT: u32 = 50;
}

/// The policy under test.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// The sending host.
    pub sender: HostId,
    /// Retry schedule and give-up.
    pub retry: RetryPolicy,
    /// Routing.
    pub route: Route,
    /// Most MX addresses tried per attempt (Postfix `smtp_mx_address_limit` = 5; RFC 5321
    /// §5.1 says at least two should be tried).
    pub mx_address_limit: u32,
    /// Retry state shared across messages (all off by default).
    pub shared: crate::shared::SharedSpec,
    /// Which soft failures move on to the next MX inside an attempt.
    pub next_mx: NextMx,
    /// Relay tried after the route fails softly (Postfix `smtp_fallback_relay`).
    pub fallback_relay: Option<HostId>,
    /// Connect retries and timeouts.
    pub connect: ConnectSpec,
    /// Most relays a message may pass (Postfix `hopcount_limit` = 50): beyond it, 554 5.4.6.
    pub hop_limit: u32,
    /// The sender's resolver and cache (`None`: DNS answers instantly and never fails).
    pub dns: Option<crate::network::DnsSpec>,
    /// The sender's connection cache (`None`: one connection per session, no TLS).
    pub connections: Option<crate::network::ConnectionSpec>,
    /// Active queue and per-destination concurrency (`None`: every due message is attempted
    /// at once).
    pub queue: Option<crate::qmgr::QueueSpec>,
    /// Per-site traffic shaping (KumoMTA's scopes; off by default).
    pub shaping: crate::shaping::ShapingSpec,
}
