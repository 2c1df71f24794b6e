//! The run's counters, fed by the happening stream, and the report built from them.
//!
//! [`Metrics`] is updated only by the recorder (`recorder.rs`), one happening
//! at a time; [`Metrics::report`] turns the counters (plus the network's own counters) into
//! the [`Report`] schema. Outcomes are counted here and, independently, by the message store;
//! building a report asserts that the two agree (conservation).

use crate::happening::AttemptHappening;
use crate::network::{ConnectionCache, DnsCache, Network};
use crate::qmgr::QueueManager;
use crate::report::*;
use crate::scenario::Scenario;
use crate::shared::Gate;
use crate::smtp::Reply;
use crate::time::SimDuration;
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
    relayed: u64,
}

#[derive(Clone, Debug, Default)]
struct HostCounters {
    contacts: u64,
    accepted: u64,
    /// Failure replies with counts, in first-seen order (a handful per host).
    failures: Vec<(Reply, u64)>,
}

impl HostCounters {
    fn answered(&mut self, reply: Reply) {
        self.contacts += 1;
        if reply.is_success() {
            self.accepted += 1;
        } else if let Some(entry) = self.failures.iter_mut().find(|(r, _)| *r == reply) {
            entry.1 += 1;
        } else {
            self.failures.push((reply, 1));
        }
    }
}

/// What the report needs besides the counters: the scenario, facts about the run, and the
/// counters the network mechanisms keep themselves.
pub struct ReportInputs<'a> {
    /// The scenario run.
    pub scenario: &'a Scenario,
    /// Digest, stop reason, end time, events.
    pub run: RunInfo,
    /// Non-terminal messages, counted by the message store (must equal the counters' own).
    pub queued_counted: u64,
    /// Host load and greylist state.
    pub net: &'a Network,
    /// The sender's DNS cache.
    pub dns: Option<&'a DnsCache>,
    /// The sender's connection cache.
    pub conns: Option<&'a ConnectionCache>,
    /// The sender's queue manager.
    pub qmgr: Option<&'a QueueManager>,
    /// The sender's shaped sites.
    pub sites: Vec<crate::shaping::SiteReport>,
    /// Queue-length samples, and their interval (coarsened past `QueueSeries::SAMPLES_MAX`).
    pub series: (&'a [QueueSample], SimDuration),
}

/// Facts about the run itself, supplied by the simulation.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// Trace digest.
    pub digest: String,
    /// Why the run stopped.
    pub stopped_by: &'static str,
    /// The limit that cut it short, if any.
    pub cut: Option<crate::report::Cut>,
    /// Simulated time at the end, ms.
    pub end_ms: u64,
    /// Events processed.
    pub events: u64,
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

    /// An attempt ran: every hop's answer, the resolver's if it was asked, and a hand-off to
    /// a store-and-forward relay if one accepted.
    pub fn attempt(&mut self, a: &AttemptHappening<'_>) {
        self.attempts_total += 1;
        if let Some(dns) = &a.dns {
            if let Some(reply) = dns.asked {
                self.hosts[dns.resolver.index()].answered(reply);
            }
        }
        for hop in a.hops {
            self.hosts[hop.host.index()].answered(hop.reply);
        }
        if a.accepted_by.is_some() {
            self.relayed += 1;
        }
    }

    /// A message was delivered after `delay` and `attempts` attempts (by every MTA).
    pub fn delivered(&mut self, delay: SimDuration, attempts: u32) {
        self.delivered += 1;
        self.delays_ms.push(delay.as_ms());
        self.attempts_of_delivered += u64::from(attempts);
    }

    /// A "delayed" DSN was sent.
    pub fn warned(&mut self) {
        self.delay_warnings += 1;
    }

    /// An attempt was not made because a shared-state gate refused it.
    pub fn gated(&mut self, gate: Gate) {
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

    /// A message expired; `last` was its last failure (`None`: it never had one, counted
    /// under `"none"`).
    pub fn expired(&mut self, last: Option<Reply>) {
        self.expired += 1;
        *self
            .expired_by_last_code
            .entry(last.map_or_else(|| "none".to_string(), |r| r.code.to_string()))
            .or_insert(0) += 1;
    }

    /// Builds the report.
    pub fn report(&self, inputs: ReportInputs<'_>) -> Report {
        let ReportInputs {
            scenario,
            run,
            queued_counted,
            net,
            dns,
            conns,
            qmgr,
            sites,
            series,
        } = inputs;
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
        // Contacts per role, once (a host's share is of its role's contacts).
        let mut role_contacts: BTreeMap<&'static str, u64> = BTreeMap::new();
        for (h, c) in scenario.hosts.iter().zip(&self.hosts) {
            *role_contacts.entry(h.role.name()).or_insert(0) += c.contacts;
        }
        Report {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            digest: run.digest,
            stopped_by: run.stopped_by,
            cut: run.cut,
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
            delay_censored_ms: CensoredDelays {
                p50: censored_percentile(&sorted, self.generated, 50),
                p90: censored_percentile(&sorted, self.generated, 90),
                p95: censored_percentile(&sorted, self.generated, 95),
                p99: censored_percentile(&sorted, self.generated, 99),
            },
            delivered_within: scenario
                .delivered_within
                .iter()
                .map(|w| {
                    let delivered = sorted.partition_point(|&d| d <= w.as_ms()) as u64;
                    DeliveredWithin {
                        within_ms: w.as_ms(),
                        delivered,
                        share: ratio(delivered, self.generated),
                    }
                })
                .collect(),
            attempts: Attempts {
                total: self.attempts_total,
                per_message: ratio(self.attempts_total, self.generated),
                per_delivered: ratio(self.attempts_of_delivered, self.delivered),
            },
            queued_peak: self.queued_peak,
            delay_warnings: self.delay_warnings,
            gated: self.gated.clone(),
            hosts: scenario
                .hosts
                .iter()
                .zip(&self.hosts)
                .enumerate()
                .map(|(i, (h, c))| HostReport {
                    id: h.id.clone(),
                    role: h.role.name(),
                    contacts: c.contacts,
                    accepted: c.accepted,
                    failures: c
                        .failures
                        .iter()
                        .map(|(r, n)| (r.to_string(), *n))
                        .collect(),
                    share: ratio(c.contacts, role_contacts[h.role.name()]),
                    load: net.loads[i].as_ref().map(|l| LoadReport {
                        refused: l.refused,
                        abandoned: l.abandoned,
                        peak_backlog: l.peak_backlog,
                    }),
                    greylist: net.greylists[i].as_ref().map(|g| GreylistReport {
                        deferred: g.deferred,
                        passed: g.passed,
                    }),
                })
                .collect(),
            network: NetworkReport {
                over_capacity: net.loads.iter().flatten().map(|l| l.refused).sum(),
                abandoned_sessions: net.loads.iter().flatten().map(|l| l.abandoned).sum(),
                greylist_deferrals: net.greylists.iter().flatten().map(|g| g.deferred).sum(),
                greylist_passes: net.greylists.iter().flatten().map(|g| g.passed).sum(),
                relayed: self.relayed,
                dns: dns.map(|d| DnsReport {
                    counters: d.counters,
                    hit_ratio: ratio(d.counters.cache_hits, d.counters.lookups),
                }),
                connections: conns.map(|c| ConnectionReport {
                    counters: c.counters,
                    reuse_ratio: ratio(c.counters.reused, c.counters.opened + c.counters.reused),
                }),
            },
            queue: QueueReport {
                series_every_ms: series.1.as_ms(),
                series: series.0.to_vec(),
                manager: qmgr.map(|q| q.counters),
                sites,
            },
            metrics: Vec::new(),
            routing: None,
            series: None,
            analysis: None,
            delay_cdf: None,
        }
    }

    /// The censored delay distribution at each whole percent of generated messages (shares
    /// never reached left out).
    pub fn delay_cdf(&self) -> Vec<CdfPoint> {
        let mut sorted = self.delays_ms.clone();
        sorted.sort_unstable();
        (1..=100u64)
            .filter_map(|p| {
                censored_percentile(&sorted, self.generated, p).map(|d| CdfPoint {
                    share: p as f64 / 100.0,
                    delay_ms: d,
                })
            })
            .collect()
    }
}

/// Queue lengths sampled every `every` (R15): the state between events at each sample time.
#[derive(Clone, Debug)]
pub struct QueueSeries {
    every: SimDuration,
    next: crate::time::SimTime,
    samples: Vec<QueueSample>,
}

impl QueueSeries {
    /// Most samples kept: past it the interval doubles and every other sample is dropped, so
    /// a run's series costs at most this much memory and work whatever its length or interval
    /// (an arrival at 100 000 000 days, or `series_every = "1ms"`). As `Series::BUCKETS_MAX`.
    pub const SAMPLES_MAX: usize = 4096;

    /// A series sampled every `every` from t = 0.
    pub fn new(every: SimDuration) -> Self {
        assert!(
            every.as_ms() > 0,
            "the loader refuses a zero series interval"
        );
        QueueSeries {
            every,
            next: crate::time::SimTime::ZERO,
            samples: Vec::new(),
        }
    }

    /// Whether a sample time has come by `t` (NOTE(perf): checked before the counts are read).
    #[inline]
    pub fn due(&self, t: crate::time::SimTime) -> bool {
        self.next <= t
    }

    /// Samples every series time up to and including `t` (the state before the event at
    /// `t`, which is the state at those times), coarsening when the cap is reached.
    pub fn sample_until(&mut self, t: crate::time::SimTime, counts: crate::message::StateCounts) {
        use crate::message::MessageState;
        while self.next <= t {
            if self.samples.len() >= Self::SAMPLES_MAX {
                self.coarsen();
                continue;
            }
            self.samples.push(QueueSample {
                t_ms: self.next.as_ms(),
                queued: counts.queued(),
                in_flight: counts.of(MessageState::InFlight),
                waiting: counts.of(MessageState::Waiting),
            });
            self.next = self.next.after(self.every);
        }
    }

    /// Doubles the interval: keeps the samples at multiples of the new interval (every other
    /// one, as all were taken at multiples of the old) and moves the next sample time to the
    /// first multiple of the new interval not yet sampled.
    fn coarsen(&mut self) {
        let every = self.every.as_ms().saturating_mul(2);
        self.every = SimDuration::from_ms(every);
        self.samples.retain(|s| s.t_ms % every == 0);
        let next = self.next.as_ms().div_ceil(every).saturating_mul(every);
        self.next = crate::time::SimTime::ZERO.after(SimDuration::from_ms(next));
    }

    /// The interval between samples now (the scenario's, doubled at each coarsening).
    pub fn every(&self) -> SimDuration {
        self.every
    }

    /// The samples so far.
    pub fn samples(&self) -> &[QueueSample] {
        &self.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;

    #[test]
    fn the_queue_series_coarsens_instead_of_growing() {
        let mut q = QueueSeries::new(SimDuration::from_ms(1));
        // One sample call far in the future: bounded work and memory.
        q.sample_until(
            SimTime::ZERO.after(SimDuration::from_days(100_000_000)),
            Default::default(),
        );
        let s = q.samples();
        assert!(s.len() <= QueueSeries::SAMPLES_MAX && s.len() > QueueSeries::SAMPLES_MAX / 4);
        let every = q.every().as_ms();
        assert!(every.is_power_of_two());
        // Evenly spaced from 0 at the final interval.
        for (i, x) in s.iter().enumerate() {
            assert_eq!(x.t_ms, i as u64 * every);
        }
        // Below the cap nothing changes.
        let mut q = QueueSeries::new(SimDuration::from_mins(10));
        q.sample_until(
            SimTime::ZERO.after(SimDuration::from_mins(100)),
            Default::default(),
        );
        assert_eq!(q.samples().len(), 11);
        assert_eq!(q.every(), SimDuration::from_mins(10));
    }
}
