//! The report schema: what a run produced, as plain serde data (`mxsim run --json`, the wasm
//! API, `[expect]` bounds).
//!
//! One type shared by the CLI and wasm, so the two cannot drift. Field names are a stable
//! interface: add fields, never rename them. Nothing here knows how the numbers were counted
//! (`metrics` builds a report from the run's counters), so the schema can be
//! read by `expect`, the statistics and the browser without depending on the simulation.

mod observed;

pub use observed::*;

use crate::network::connections::ConnectionCounters;
use crate::network::dns_cache::DnsCounters;
use crate::qmgr::QueueCounters;
use serde::Serialize;
use std::collections::BTreeMap;

/// Nearest-rank percentile: the smallest value with at least p% of values at or below it.
pub fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1);
    Some(sorted[(rank - 1) as usize])
}

/// Censored nearest-rank percentile over `n` messages of which those in `sorted` (ascending)
/// were delivered and the rest not yet: undelivered messages count as later than any
/// delivery, so the result is `None` ("not reached") when fewer than p% were delivered.
/// Equals [`percentile`] when every message was delivered.
pub fn censored_percentile(sorted: &[u64], n: u64, p: u64) -> Option<u64> {
    if n == 0 {
        return None;
    }
    let rank = (p * n).div_ceil(100).max(1);
    sorted.get((rank - 1) as usize).copied()
}

/// The complete result of a run (`mxsim run --json`).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Seed used.
    pub seed: u64,
    /// Trace digest: equal digests mean identical runs.
    pub digest: String,
    /// `queue_empty`, `duration` or `events_max`.
    pub stopped_by: &'static str,
    /// The limit that cut the run short, if one did (`null`: the run is the whole scenario).
    /// A bound or gate on a cut run is inconclusive unless the user accepts cut runs.
    pub cut: Option<Cut>,
    /// Simulated time at the end, ms.
    pub end_ms: u64,
    /// Events processed.
    pub events: u64,
    /// Message outcomes; they add up to `generated`.
    pub outcomes: Outcomes,
    /// Bounces by enhanced code.
    pub bounced_by_code: BTreeMap<String, u64>,
    /// Expiries by the last failure seen.
    pub expired_by_last_code: BTreeMap<String, u64>,
    /// Delivery delay of delivered messages, ms (null when none was delivered). Only the
    /// delivered count here: see `delay_censored_ms` for percentiles over every message.
    pub delay_ms: Delays,
    /// Delay percentiles over every generated message, undelivered ones counted as "not yet"
    /// (censored); null means "not reached": fewer than that share was delivered.
    pub delay_censored_ms: CensoredDelays,
    /// SLO figures: the share of generated messages delivered within each chosen time
    /// (scenario `delivered_within`).
    pub delivered_within: Vec<DeliveredWithin>,
    /// Attempt counts.
    pub attempts: Attempts,
    /// The registry's default metrics for this scenario (`mxsim metrics`), as compare reads
    /// them: the one list the browser's tables show.
    pub metrics: Vec<Reading>,
    /// Most messages queued at once.
    pub queued_peak: u64,
    /// "Delayed" DSNs sent (policy `delay_warnings` ages passed while undelivered).
    pub delay_warnings: u64,
    /// Attempts not made because shared retry state refused them, by reason.
    pub gated: BTreeMap<String, u64>,
    /// Per-host counters, in scenario order.
    pub hosts: Vec<HostReport>,
    /// What the network mechanisms did (capacity, greylisting, DNS, connections, queues).
    pub network: NetworkReport,
    /// Queue lengths over time, and what the queue manager did.
    pub queue: QueueReport,
    /// Routing metrics per host, link and route (when the run was observed in detail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
    /// The run over time in buckets (when observed in detail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
    /// The failure analysis (when observed in detail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// The delay distribution over every message, censored like `delay_censored_ms`: the
    /// delay by which 1%, 2%, … 100% of messages were delivered (when observed in detail; a
    /// share never reached is left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_cdf: Option<Vec<CdfPoint>>,
}

/// What a metric's numbers are, for formatting and for reading an allowance. The metric
/// registry (the `metric` module, which reads reports) gives each metric one; it is defined here, with [`Reading`],
/// because a report carries its readings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A share of the generated messages (or of sessions, lookups, contacts), 0 … 1.
    Share,
    /// A count of messages, attempts, connections, lookups.
    Count,
    /// A duration in milliseconds.
    Duration,
    /// Per generated message (attempts per message).
    PerMessage,
    /// 1 when the analysis names the expected host first, else 0.
    Flag,
}

impl Report {
    /// The run's SLO times (`delivered_within`), which its duration figures are read against
    /// ([`crate::figures::duration`]).
    pub fn slo_times(&self) -> Vec<crate::time::SimDuration> {
        self.delivered_within
            .iter()
            .map(|w| crate::time::SimDuration::from_ms(w.within_ms))
            .collect()
    }
}

impl Unit {
    /// For readings of shard files written before units were recorded.
    fn unknown() -> Unit {
        Unit::Count
    }
}

/// One metric read from a report by the registry's rule: its canonical name, its unit and its
/// value (`None` when the run does not define it; for a censored metric, "not reached").
/// Serialisable, so that shards of an experiment can be merged later (`mxsim merge`).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Reading {
    /// Metric name, as `mxsim metrics` lists it (`delivered_within_4h` for a family).
    pub name: String,
    /// Value and bounds are milliseconds.
    pub is_duration: bool,
    /// What the value is.
    #[serde(default = "Unit::unknown")]
    pub unit: Unit,
    /// Undelivered messages count as infinitely late: `null` means "not reached".
    #[serde(default)]
    pub censored: bool,
    /// The value in this run.
    pub value: Option<f64>,
    /// The value as reports print it ([`crate::figures::reading`]: rounded, but never across
    /// one of the run's SLO times); set on a report's own `metrics`, which the page shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A declared limit that ended a run before its scenario did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// `limits.events_max`: the run stopped after that many events, mail still moving.
    EventsMax,
    /// `limits.messages_max`: the workload would have generated more messages.
    MessagesMax,
}

impl Limit {
    /// The limit's name in the scenario (`events_max`).
    pub fn name(self) -> &'static str {
        match self {
            Limit::EventsMax => "events_max",
            Limit::MessagesMax => "messages_max",
        }
    }
}

/// How a run was cut short: by which limit, and when (the stop for `events_max`, the first
/// refused arrival for `messages_max`). Metrics of a cut run describe part of the scenario,
/// so verdicts on them are inconclusive by default (DESIGN §8: a limit reached is a reported
/// outcome).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Cut {
    /// The limit reached.
    pub limit: Limit,
    /// Simulated time it took effect, ms.
    pub at_ms: u64,
}

impl Cut {
    /// "run cut by events_max at 5h27m", the wording every report and verdict uses.
    pub fn describe(&self) -> String {
        format!(
            "run cut by {} at {}",
            self.limit.name(),
            crate::time::human(crate::time::SimDuration::from_ms(self.at_ms))
        )
    }
}

/// One point of the delay distribution.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct CdfPoint {
    /// Share of all generated messages, 0.01 … 1.
    pub share: f64,
    /// The delay by which that share was delivered, ms.
    pub delay_ms: u64,
}

/// Censored delay percentiles, ms: over every generated message, undelivered ones counted as
/// later than any delivery. `None`: not reached (fewer than p% delivered).
#[derive(Clone, Debug, Serialize)]
pub struct CensoredDelays {
    /// Median.
    pub p50: Option<u64>,
    /// 90th percentile.
    pub p90: Option<u64>,
    /// 95th percentile.
    pub p95: Option<u64>,
    /// 99th percentile.
    pub p99: Option<u64>,
}

/// Messages delivered within a time of their arrival.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveredWithin {
    /// The time, ms.
    pub within_ms: u64,
    /// Messages delivered at most that long after arrival.
    pub delivered: u64,
    /// delivered / generated (null when nothing was generated).
    pub share: Option<f64>,
}

/// One point of the queue-length series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QueueSample {
    /// Time, ms.
    pub t_ms: u64,
    /// Messages in the queue (not yet delivered, bounced or expired).
    pub queued: u64,
    /// Attempts under way.
    pub in_flight: u64,
    /// Due messages waiting for room in the active queue or a concurrency slot.
    pub waiting: u64,
}

/// Queue lengths over time (R15).
#[derive(Clone, Debug, Default, Serialize)]
pub struct QueueReport {
    /// Sampling interval, ms: the scenario's `series_every`, doubled as often as needed to
    /// keep at most 4096 samples (`QueueSeries::SAMPLES_MAX`).
    pub series_every_ms: u64,
    /// Samples from t = 0, every `series_every_ms`, up to the last event.
    pub series: Vec<QueueSample>,
    /// Active-queue counters, when the policy limits the queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<QueueCounters>,
    /// The sender's shaped sites (`[policy.shaping]`): who shares each, its limits, and the
    /// holds and waits shaping imposed; empty without shaping.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<crate::shaping::SiteReport>,
}

/// Network-wide counters: the numbers that show each mechanism at work.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NetworkReport {
    /// Connections refused for load (421 4.3.2 or the host's over-capacity reply).
    pub over_capacity: u64,
    /// Connections whose client gave up waiting for the greeting (4.4.2), yet served later.
    pub abandoned_sessions: u64,
    /// Greylisting deferrals (451 4.7.1).
    pub greylist_deferrals: u64,
    /// Triplets that passed the greylist after a deferral.
    pub greylist_passes: u64,
    /// Hand-offs to store-and-forward relays (each relay that accepted a message).
    pub relayed: u64,
    /// The sender's DNS, when it uses a resolver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsReport>,
    /// The sender's connection cache, when it keeps one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<ConnectionReport>,
}

/// What the sender's connection cache did.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionReport {
    /// Connections opened, sessions that reused one, connections retired, peak idle.
    #[serde(flatten)]
    pub counters: ConnectionCounters,
    /// reused / (opened + reused): the share of sessions that skipped connection setup.
    pub reuse_ratio: Option<f64>,
}

/// What the sender's DNS cache did.
#[derive(Clone, Debug, Serialize)]
pub struct DnsReport {
    /// Lookups, cache hits, queries, stale answers and failures.
    #[serde(flatten)]
    pub counters: DnsCounters,
    /// cache_hits / lookups.
    pub hit_ratio: Option<f64>,
}

/// Load counters of a host with a capacity.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// Connections refused for load.
    pub refused: u64,
    /// Connections abandoned by their clients while waiting in the backlog.
    pub abandoned: u64,
    /// Most connections waiting in the backlog at once.
    pub peak_backlog: u64,
}

/// Greylist counters of an MX.
#[derive(Clone, Debug, Serialize)]
pub struct GreylistReport {
    /// Deferrals.
    pub deferred: u64,
    /// Triplets passed after a deferral.
    pub passed: u64,
}

/// Outcome counts.
#[derive(Clone, Debug, Serialize)]
pub struct Outcomes {
    /// Messages that arrived.
    pub generated: u64,
    /// Accepted by a final MX.
    pub delivered: u64,
    /// Permanently failed.
    pub bounced: u64,
    /// Gave up at the queue lifetime.
    pub expired: u64,
    /// Still in the queue when the run stopped.
    pub queued: u64,
}

/// Delay statistics, ms.
#[derive(Clone, Debug, Serialize)]
pub struct Delays {
    /// Median.
    pub p50: Option<u64>,
    /// 90th percentile.
    pub p90: Option<u64>,
    /// 95th percentile.
    pub p95: Option<u64>,
    /// 99th percentile.
    pub p99: Option<u64>,
    /// Maximum.
    pub max: Option<u64>,
    /// Mean.
    pub mean: Option<f64>,
}

/// Attempt statistics.
#[derive(Clone, Debug, Serialize)]
pub struct Attempts {
    /// All attempts.
    pub total: u64,
    /// Attempts per generated message.
    pub per_message: Option<f64>,
    /// Attempts per delivered message (counting only delivered messages' attempts).
    pub per_delivered: Option<f64>,
}

/// Per-host counters.
#[derive(Clone, Debug, Serialize)]
pub struct HostReport {
    /// Host id.
    pub id: String,
    /// Role.
    pub role: &'static str,
    /// Times it was contacted.
    pub contacts: u64,
    /// Times it accepted (or relayed) the message.
    pub accepted: u64,
    /// Failures it answered, by reply.
    pub failures: BTreeMap<String, u64>,
    /// Its share of the contacts made to hosts of its role (e.g. a relay's share of a pool).
    pub share: Option<f64>,
    /// Load counters, for hosts with a capacity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadReport>,
    /// Greylist counters, for greylisting MX hosts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greylist: Option<GreylistReport>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 95), Some(95));
        assert_eq!(percentile(&v, 100), Some(100));
        assert_eq!(percentile(&[7], 99), Some(7));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
    }

    #[test]
    fn censored_percentiles_count_the_undelivered_as_not_yet() {
        let v: Vec<u64> = (1..=100).collect();
        for p in [50, 90, 95, 99, 100] {
            assert_eq!(censored_percentile(&v, 100, p), percentile(&v, p));
        }
        // 100 delivered of 200: the median is the last delivery, p90 is not reached.
        assert_eq!(censored_percentile(&v, 200, 50), Some(100));
        assert_eq!(censored_percentile(&v, 200, 51), None);
        assert_eq!(censored_percentile(&[], 5, 50), None);
        assert_eq!(censored_percentile(&[], 0, 50), None);
    }
}
