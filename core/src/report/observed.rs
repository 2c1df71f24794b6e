//! The report sections that detailed observation adds (`mxsim run --json`, `--analyze`,
//! `--csv`, `--plot`): routing metrics per host, link and route, the bucketed time series, and
//! the failure analysis. Plain serde data, like the rest of the report; `observe` fills it.

use serde::Serialize;
use std::collections::BTreeMap;

/// What an attempt, a host or a link was answered, counted.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tally {
    /// Times tried.
    pub attempts: u64,
    /// Times it succeeded (accepted or relayed).
    pub successes: u64,
    /// successes / attempts.
    pub success_rate: Option<f64>,
    /// Failures by reply (`"451 4.4.1"`).
    pub failures: BTreeMap<String, u64>,
}

/// Routing metrics of one host.
#[derive(Clone, Debug, Serialize)]
pub struct HostRouting {
    /// Host id.
    pub host: String,
    /// Its role.
    pub role: &'static str,
    /// Contacts made to it and what it answered (the resolver: queries).
    #[serde(flatten)]
    pub tally: Tally,
    /// Failed contacts that were the end of the line: it failed and contacted nobody beyond
    /// (a relay answering 4.4.3 for a host beyond it is not counted; that host is).
    pub failures_caused: u64,
    /// Failed attempts blamed on it (an attempt with k hosts to blame counts 1/k for each).
    pub failed_attempts_caused: f64,
    /// Time its failures cost messages, ms: each failed contact that ended at it costs the
    /// time until the next contact (or the attempt's end), and each failed attempt blamed on
    /// it the wait until the next try (split like the attempts).
    pub delay_added_ms: f64,
    /// The part of `delay_added_ms` its failures forced on messages: the time of failed
    /// attempts spent at it and their waits until the next try. A failure that failover
    /// absorbed within a successful attempt forces nothing.
    pub delay_forced_ms: f64,
    /// Messages that expired after a failed attempt blamed on it (split like the attempts).
    pub expiries_caused: f64,
    /// Time it was observed failing, ms: the total length of its failure windows.
    pub failing_ms: u64,
    /// Windows in which its failures cluster (see [`FailureWindow`]).
    pub windows: Vec<FailureWindow>,
}

/// A time window in which a host's contacts failed.
///
/// A window opens at a failed contact and grows with each further failed contact: failures
/// with no success between them are one window however far apart; after a success, a
/// failure within the merge gap (`windows_gap_ms` of the routing section, 10 min, never the
/// series' bucket) joins it, so flapping shows as one window and separate outages as several.
/// `contacts` are the contacts between its first and last failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FailureWindow {
    /// First failed contact, ms.
    pub from_ms: u64,
    /// Last failed contact, ms.
    pub to_ms: u64,
    /// Failed contacts inside.
    pub failures: u64,
    /// All contacts inside (failed and successful).
    pub contacts: u64,
}

/// Routing metrics of one link (a client host opening connections to a server host).
#[derive(Clone, Debug, Serialize)]
pub struct LinkRouting {
    /// The client.
    pub from: String,
    /// The server.
    pub to: String,
    /// Connections tried over it and what they were answered.
    #[serde(flatten)]
    pub tally: Tally,
}

/// Routing metrics of one route: the hosts an attempt contacted, in contact order.
#[derive(Clone, Debug, Serialize)]
pub struct RouteRouting {
    /// The MTA's host, then each host contacted (`out > relay-a > mx1`).
    pub route: String,
    /// Attempts that took it, and their final replies.
    #[serde(flatten)]
    pub tally: Tally,
    /// Time failures on it cost messages, ms (failed contacts plus waits after failed
    /// attempts, counted as for hosts).
    pub delay_added_ms: f64,
}

/// Routing metrics of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Routing {
    /// Per host, in scenario order.
    pub hosts: Vec<HostRouting>,
    /// Per link used, by (from, to) in scenario host order.
    pub links: Vec<LinkRouting>,
    /// Per route, most attempts first.
    pub routes: Vec<RouteRouting>,
    /// Attempts on routes beyond the route table's limit (counted, not itemised).
    pub routes_not_itemised: u64,
    /// The merge gap of failure windows, ms.
    pub windows_gap_ms: u64,
}

/// One bucket of the time series: counts of what happened in [t, t + every), and the queue
/// as it was at t.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SeriesBucket {
    /// Bucket start, ms.
    pub t_ms: u64,
    /// Messages that arrived.
    pub arrivals: u64,
    /// Attempts started (by every MTA).
    pub attempts: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages bounced.
    pub bounced: u64,
    /// Messages expired.
    pub expired: u64,
    /// Deferrals (transient failures and gated attempts).
    pub deferred: u64,
    /// Deferrals by enhanced code.
    pub deferred_by_code: BTreeMap<String, u64>,
    /// Messages in a queue at t (not yet delivered, bounced or expired).
    pub queued: u64,
    /// Attempts under way at t.
    pub in_flight: u64,
}

/// A host's contacts per bucket (only buckets in which it was contacted).
#[derive(Clone, Debug, Serialize)]
pub struct HostSeries {
    /// Host id.
    pub host: String,
    /// Its points.
    pub points: Vec<HostPoint>,
}

/// A host's contacts in one bucket.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct HostPoint {
    /// Bucket start, ms.
    pub t_ms: u64,
    /// Contacts.
    pub contacts: u64,
    /// Successful contacts.
    pub successes: u64,
    /// successes / contacts.
    pub success_rate: f64,
}

/// The run over time, in buckets of `every_ms`.
#[derive(Clone, Debug, Serialize)]
pub struct Series {
    /// Bucket width, ms: the interval asked for, doubled as often as needed to keep at most
    /// [`Series::BUCKETS_MAX`] buckets (said in `coarsened`).
    pub every_ms: u64,
    /// How many times the width was doubled.
    pub coarsened: u32,
    /// Buckets from t = 0 to the end of the run.
    pub buckets: Vec<SeriesBucket>,
    /// Per-host contacts and success rate, for hosts that were contacted.
    pub hosts: Vec<HostSeries>,
}

impl Series {
    /// Most buckets a series keeps: memory is bounded whatever the run's length.
    pub const BUCKETS_MAX: usize = 4096;
}

/// A host the analysis names as a problem.
#[derive(Clone, Debug, Serialize)]
pub struct Suspect {
    /// Host id.
    pub host: String,
    /// Ranking score: the hours of delay its failures forced on messages (`delay_forced_ms`:
    /// failed attempts and their retry waits), ranked after `expiries_caused`. Volume of
    /// failures alone does not rank: a pool member whose failures failover absorbed forced
    /// none (failures × failure rate only breaks ties).
    pub score: f64,
    /// Messages that expired after a failed attempt blamed on it (split like the attempts).
    pub expiries_caused: f64,
    /// Failed contacts that ended the line at it.
    pub failures_caused: u64,
    /// Its failed contacts / its contacts.
    pub failure_rate: f64,
    /// Failed attempts blamed on it, and their share of all failed attempts.
    pub failed_attempts_caused: f64,
    /// That share.
    pub failed_attempts_share: Option<f64>,
    /// Time its failures cost messages, ms.
    pub delay_added_ms: f64,
    /// Its own failure answers, most frequent first, with their share of its failures.
    pub dominant_codes: Vec<CodeShare>,
    /// Final codes the sender saw because of it, with its share of all such failures.
    pub caused_codes: Vec<CodeShare>,
    /// When its failures cluster, most failures first.
    pub windows: Vec<FailureWindow>,
}

/// A code's count and share.
#[derive(Clone, Debug, Serialize)]
pub struct CodeShare {
    /// Reply or enhanced code.
    pub code: String,
    /// Count (attributed, so possibly fractional).
    pub count: f64,
    /// Share (of the host's failures, or of all failures with that code).
    pub share: f64,
}

/// A route the analysis names as a problem.
#[derive(Clone, Debug, Serialize)]
pub struct SuspectRoute {
    /// The route (`out > relay-a > mx1`).
    pub route: String,
    /// Failed attempts on it.
    pub failed: u64,
    /// Its success rate.
    pub success_rate: Option<f64>,
    /// Time failed attempts on it cost, ms.
    pub delay_added_ms: f64,
}

/// Where the 4.4.3 failures the MTAs saw came from.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Origin443 {
    /// Failed attempts that ended in 4.4.3.
    pub total: u64,
    /// From the resolver (RFC 3463: "directory server failure"), by resolver.
    pub dns: BTreeMap<String, u64>,
    /// From a cut-through relay that could not forward: relay → host beyond it that failed.
    pub relay: Vec<RelayOrigin>,
}

/// 4.4.3 answered by `relay` because `beyond` failed.
#[derive(Clone, Debug, Serialize)]
pub struct RelayOrigin {
    /// The relay that answered 4.4.3.
    pub relay: String,
    /// The host beyond it whose failure it reported.
    pub beyond: String,
    /// Attempts (attributed: an attempt with k hosts beyond counts 1/k for each).
    pub count: f64,
}

/// The failure analysis (`mxsim run --analyze`).
#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    /// The top suspect's host id, when any host failed.
    pub culprit: Option<String>,
    /// Hosts with failures, most to blame first.
    pub suspects: Vec<Suspect>,
    /// Routes with failed attempts, most delay added first (at most 10).
    pub routes: Vec<SuspectRoute>,
    /// Where 4.4.3 came from.
    pub origin_443: Origin443,
    /// Failed attempts in all (transient or permanent, not counting gated ones).
    pub failed_attempts: u64,
}
