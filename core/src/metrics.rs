//! Run metrics and the report: outcome counts (which always add up), delay percentiles,
//! attempts, and per-host counters.
//!
//! [`Report`] is the JSON shape of `mxsim run --json` and of the wasm API (one serde type, so
//! the two cannot drift). Field names are a stable interface: add fields, never rename them.

use crate::network::connections::{ConnectionCache, ConnectionCounters};
use crate::network::dns_cache::{DnsCache, DnsCounters};
use crate::network::Network;
use crate::qmgr::{QueueCounters, QueueManager};
use crate::scenario::Scenario;
use crate::session::Hop;
use crate::smtp::Reply;
use crate::time::SimDuration;
use serde::Serialize;
use std::collections::BTreeMap;

/// Counters updated as the run goes.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    generated: u64,
    delivered: u64,
    bounced: u64,
    expired: u64,
    bounced_by_code: BTreeMap<String, u64>,
    expired_by_last_code: BTreeMap<String, u64>,
    delays_ms: Vec<u64>,
    attempts_total: u64,
    attempts_of_delivered: u64,
    hosts: Vec<HostCounters>,
    queued_peak: u64,
    delay_warnings: u64,
    gated: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default)]
struct HostCounters {
    contacts: u64,
    accepted: u64,
    /// Failure replies with counts, in first-seen order (a handful per host).
    failures: Vec<(Reply, u64)>,
}

impl Metrics {
    /// Counters for `hosts` hosts.
    pub fn new(hosts: usize) -> Self {
        Metrics {
            hosts: vec![HostCounters::default(); hosts],
            ..Metrics::default()
        }
    }

    /// Messages not yet in a terminal state.
    pub fn queued(&self) -> u64 {
        self.generated - self.delivered - self.bounced - self.expired
    }

    /// Times host `host` has been contacted.
    pub fn host_contacts(&self, host: usize) -> u64 {
        self.hosts[host].contacts
    }

    /// A message arrived.
    pub fn arrival(&mut self) {
        self.generated += 1;
        self.queued_peak = self.queued_peak.max(self.queued());
    }

    /// An attempt ran and contacted `hops`.
    pub fn attempt(&mut self, hops: &[Hop]) {
        self.attempts_total += 1;
        for hop in hops {
            self.attempt_hop(hop);
        }
    }

    /// Host `host` was contacted outside an attempt's hops (a DNS query) and answered `reply`.
    pub fn contact(&mut self, host: u32, reply: Reply) {
        self.attempt_hop(&Hop {
            host,
            at_ms: 0,
            reply,
            session: None,
            reused: false,
        });
    }

    fn attempt_hop(&mut self, hop: &Hop) {
        let c = &mut self.hosts[hop.host as usize];
        c.contacts += 1;
        if hop.reply.is_success() {
            c.accepted += 1;
        } else if let Some(entry) = c.failures.iter_mut().find(|(r, _)| *r == hop.reply) {
            entry.1 += 1;
        } else {
            c.failures.push((hop.reply, 1));
        }
    }

    /// A message was delivered after `delay_ms` and `attempts` attempts.
    pub fn delivered(&mut self, delay_ms: u64, attempts: u32) {
        self.delivered += 1;
        self.delays_ms.push(delay_ms);
        self.attempts_of_delivered += u64::from(attempts);
    }

    /// A finished message had `n` delay warnings ("delayed" DSNs) sent while it waited.
    pub fn warned(&mut self, n: u64) {
        self.delay_warnings += n;
    }

    /// An attempt was not made because a shared-state gate refused it.
    pub fn gated(&mut self, gate: crate::shared::Gate) {
        *self.gated.entry(gate.text().to_string()).or_insert(0) += 1;
    }

    /// A message bounced with `reply`.
    pub fn bounced(&mut self, reply: Reply) {
        self.bounced += 1;
        *self
            .bounced_by_code
            .entry(reply.code.to_string())
            .or_insert(0) += 1;
    }

    /// A message expired; `last` was its last failure.
    pub fn expired(&mut self, last: Reply) {
        self.expired += 1;
        *self
            .expired_by_last_code
            .entry(last.code.to_string())
            .or_insert(0) += 1;
    }

    /// Builds the report. `queued_counted` is the number of non-terminal messages counted
    /// independently by the caller; it must equal generated − delivered − bounced − expired.
    pub fn report(
        &self,
        scenario: &Scenario,
        run: RunInfo,
        queued_counted: u64,
        net: &Network,
        dns: Option<&DnsCache>,
        conns: Option<&ConnectionCache>,
    ) -> Report {
        assert_eq!(
            queued_counted,
            self.queued(),
            "conservation: outcomes do not add up"
        );
        let mut sorted = self.delays_ms.clone();
        sorted.sort_unstable();
        let pct = |p: u64| percentile(&sorted, p);
        let mean = (!sorted.is_empty())
            .then(|| sorted.iter().map(|&d| d as f64).sum::<f64>() / sorted.len() as f64);
        let ratio = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
        Report {
            queue: QueueReport::default(),
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            digest: run.digest,
            stopped_by: run.stopped_by,
            end_ms: run.end_ms,
            events: run.events,
            outcomes: Outcomes {
                generated: self.generated,
                delivered: self.delivered,
                bounced: self.bounced,
                expired: self.expired,
                queued: self.queued(),
            },
            bounced_by_code: self.bounced_by_code.clone(),
            expired_by_last_code: self.expired_by_last_code.clone(),
            delay_ms: Delays {
                p50: pct(50),
                p90: pct(90),
                p95: pct(95),
                p99: pct(99),
                max: sorted.last().copied(),
                mean,
            },
            attempts: Attempts {
                total: self.attempts_total,
                per_message: ratio(self.attempts_total, self.generated),
                per_delivered: ratio(self.attempts_of_delivered, self.delivered),
            },
            queued_peak: self.queued_peak,
            delay_warnings: self.delay_warnings + run.pending_warnings,
            gated: self.gated.clone(),
            hosts: scenario
                .hosts
                .iter()
                .zip(&self.hosts)
                .enumerate()
                .map(|(i, (h, c))| {
                    let role_contacts: u64 = scenario
                        .hosts
                        .iter()
                        .zip(&self.hosts)
                        .filter(|(o, _)| o.role == h.role)
                        .map(|(_, c)| c.contacts)
                        .sum();
                    HostReport {
                        id: h.id.clone(),
                        role: h.role.name(),
                        contacts: c.contacts,
                        accepted: c.accepted,
                        failures: c
                            .failures
                            .iter()
                            .map(|(r, n)| (r.to_string(), *n))
                            .collect(),
                        share: ratio(c.contacts, role_contacts),
                        load: net.loads[i].as_ref().map(|l| LoadReport {
                            refused: l.refused,
                            abandoned: l.abandoned,
                            peak_backlog: l.peak_backlog,
                        }),
                        greylist: net.greylists[i].as_ref().map(|g| GreylistReport {
                            deferred: g.deferred,
                            passed: g.passed,
                        }),
                    }
                })
                .collect(),
            network: NetworkReport {
                over_capacity: net.loads.iter().flatten().map(|l| l.refused).sum(),
                abandoned_sessions: net.loads.iter().flatten().map(|l| l.abandoned).sum(),
                greylist_deferrals: net.greylists.iter().flatten().map(|g| g.deferred).sum(),
                greylist_passes: net.greylists.iter().flatten().map(|g| g.passed).sum(),
                relayed: 0,
                dns: dns.map(|d| DnsReport {
                    counters: d.counters,
                    hit_ratio: ratio(d.counters.cache_hits, d.counters.lookups),
                }),
                connections: conns.map(|c| ConnectionReport {
                    counters: c.counters,
                    reuse_ratio: ratio(c.counters.reused, c.counters.opened + c.counters.reused),
                }),
            },
        }
    }
}

impl Report {
    /// Adds the count of hand-offs to store-and-forward relays.
    pub fn with_relayed(mut self, relayed: u64) -> Self {
        self.network.relayed = relayed;
        self
    }

    /// Adds the queue series and queue-manager counters.
    pub fn with_queue(
        mut self,
        series: &[QueueSample],
        every: SimDuration,
        qmgr: Option<&QueueManager>,
    ) -> Self {
        self.queue = QueueReport {
            series_every_ms: every.as_ms(),
            series: series.to_vec(),
            manager: qmgr.map(|q| q.counters),
        };
        self
    }
}

/// Nearest-rank percentile: the smallest value with at least p% of values at or below it.
pub fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1);
    Some(sorted[(rank - 1) as usize])
}

/// Facts about the run itself, supplied by the simulation.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// Trace digest.
    pub digest: String,
    /// Why the run stopped.
    pub stopped_by: &'static str,
    /// Simulated time at the end, ms.
    pub end_ms: u64,
    /// Events processed.
    pub events: u64,
    /// Delay warnings already due for messages still queued.
    pub pending_warnings: u64,
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
    /// Delivery delay of delivered messages, ms (null when none was delivered).
    pub delay_ms: Delays,
    /// Attempt counts.
    pub attempts: Attempts,
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
    /// Sampling interval, ms.
    pub series_every_ms: u64,
    /// Samples from t = 0, every `series_every_ms`, up to the last event.
    pub series: Vec<QueueSample>,
    /// Active-queue counters, when the policy limits the queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<QueueCounters>,
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
}
