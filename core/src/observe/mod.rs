//! Detailed observation of a run: routing metrics per host, link and route, the bucketed time
//! series, failure windows and the failure analysis (DESIGN §8, brief R2, R5, R11, R14).
//!
//! Opt-in ([`crate::Simulation::observe`]): the plain run keeps only the counters the report
//! always has, so its speed is unchanged. The [`Observer`] reads the same happening stream as
//! the digest and the metrics (fed by the recorder), so its numbers add up to the report's:
//! per-route attempts sum to the attempts, per-host contacts to the report's contacts.
//!
//! Blame follows one rule ([`blame`]): the hosts to blame for a failed attempt are the hops
//! that failed and contacted nobody beyond them, or the resolver when DNS failed.

pub mod analysis;
pub mod blame;
pub mod select;
pub mod series;
pub mod windows;

use self::blame::{Blame, Origin};
use self::series::{Buckets, Count};
use self::windows::Windows;
use crate::happening::{AttemptHappening, Happening};
use crate::ids::{HostId, MessageId};
use crate::report::{
    HostRouting, LinkRouting, Origin443, RelayOrigin, RouteRouting, Routing, Series, Tally,
};
use crate::scenario::Scenario;
use crate::smtp::Reply;
use crate::time::SimTime;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Replies counted, in first-seen order (a handful per host, link or route).
#[derive(Clone, Debug, Default)]
struct Counts {
    attempts: u64,
    successes: u64,
    failures: Vec<(Reply, u64)>,
}

impl Counts {
    fn add(&mut self, reply: Reply) {
        self.attempts += 1;
        if reply.is_success() {
            self.successes += 1;
        } else if let Some(e) = self.failures.iter_mut().find(|(r, _)| *r == reply) {
            e.1 += 1;
        } else {
            self.failures.push((reply, 1));
        }
    }

    fn tally(&self) -> Tally {
        Tally {
            attempts: self.attempts,
            successes: self.successes,
            success_rate: (self.attempts > 0).then(|| self.successes as f64 / self.attempts as f64),
            failures: self
                .failures
                .iter()
                .map(|(r, n)| (r.to_string(), *n))
                .collect(),
        }
    }
}

/// What is observed of one host.
#[derive(Clone, Debug)]
struct HostObs {
    counts: Counts,
    failures_caused: u64,
    failed_attempts_caused: f64,
    delay_added_ms: f64,
    delay_forced_ms: f64,
    expiries_caused: f64,
    /// Final codes of failed attempts blamed on it (attributed).
    caused: Vec<(Reply, f64)>,
    windows: Windows,
}

/// What is observed of one route.
#[derive(Clone, Debug)]
struct RouteObs {
    hosts: Vec<HostId>,
    counts: Counts,
    delay_added_ms: f64,
}

/// An attempt under way (or the last one, until the message ends): when it ended, and whom
/// to charge for its wait, or for the expiry, if it failed.
#[derive(Clone, Debug)]
struct Pending {
    end: SimTime,
    culprits: Vec<HostId>,
    route: Option<usize>,
}

/// Most distinct routes itemised; attempts on further routes are counted in one number.
pub const ROUTES_MAX: usize = 10_000;

/// The detailed observer of one run.
#[derive(Clone, Debug)]
pub struct Observer {
    hosts: Vec<HostObs>,
    /// Links in first-use order, found through `link_ids` (sorted for the report).
    links: Vec<((HostId, HostId), Counts)>,
    link_ids: FxHashMap<(HostId, HostId), usize>,
    route_ids: FxHashMap<Vec<HostId>, usize>,
    routes: Vec<RouteObs>,
    routes_not_itemised: u64,
    series: Buckets,
    pending: FxHashMap<MessageId, Pending>,
    /// Per message, the hosts blamed for its last failed attempt (charged if it expires).
    last_failed: FxHashMap<MessageId, Vec<HostId>>,
    /// Failed attempts that ended in 4.4.3 (their origins are in `relay_443` and `dns_443`).
    failed_443: u64,
    relay_443: BTreeMap<(HostId, HostId), f64>,
    dns_443: BTreeMap<HostId, u64>,
    failed_attempts: u64,
    blame: Blame,
    route_key: Vec<HostId>,
    culprits: Vec<HostId>,
}

impl Observer {
    /// An observer for `hosts` hosts, bucketing the series (and merging failure windows)
    /// at `every` ms.
    pub fn new(hosts: usize, every: u64) -> Self {
        Observer {
            hosts: (0..hosts)
                .map(|_| HostObs {
                    counts: Counts::default(),
                    failures_caused: 0,
                    failed_attempts_caused: 0.0,
                    delay_added_ms: 0.0,
                    delay_forced_ms: 0.0,
                    expiries_caused: 0.0,
                    caused: Vec::new(),
                    windows: Windows::new(),
                })
                .collect(),
            links: Vec::new(),
            link_ids: FxHashMap::default(),
            route_ids: FxHashMap::default(),
            routes: Vec::new(),
            routes_not_itemised: 0,
            series: Buckets::new(every, hosts),
            pending: FxHashMap::default(),
            last_failed: FxHashMap::default(),
            failed_443: 0,
            relay_443: BTreeMap::new(),
            dns_443: BTreeMap::new(),
            failed_attempts: 0,
            blame: Blame::default(),
            route_key: Vec::new(),
            culprits: Vec::new(),
        }
    }

    /// Observes one happening to message `id` at `t`.
    pub fn observe(&mut self, t: SimTime, id: MessageId, h: &Happening<'_>) {
        let ms = t.as_ms();
        match *h {
            Happening::Arrival { .. } => self.series.count(ms, Count::Arrival),
            Happening::Attempt(ref a) => self.attempt(t, id, a),
            Happening::Waiting | Happening::DelayWarning { .. } | Happening::Relayed { .. } => {}
            Happening::Gated { reply, .. } => self.series.count(ms, Count::Deferred(reply)),
            Happening::Deferred {
                reply, decision, ..
            } => {
                self.series.count(ms, Count::Deferred(reply));
                if let Some(p) = self.pending.get(&id) {
                    let cost = decision.at().as_ms().saturating_sub(p.end.as_ms()) as f64;
                    let k = p.culprits.len().max(1) as f64;
                    for c in &p.culprits {
                        let host = &mut self.hosts[c.index()];
                        host.delay_added_ms += cost / k;
                        host.delay_forced_ms += cost / k;
                    }
                    if let Some(r) = p.route {
                        self.routes[r].delay_added_ms += cost;
                    }
                }
            }
            Happening::Delivered { .. } => self.series.count(ms, Count::Delivered),
            Happening::Bounced { .. } => self.series.count(ms, Count::Bounced),
            Happening::Expired { .. } => {
                self.series.count(ms, Count::Expired);
                if let Some(p) = self.last_failed.remove(&id) {
                    let k = p.len().max(1) as f64;
                    for c in p {
                        self.hosts[c.index()].expiries_caused += 1.0 / k;
                    }
                }
            }
        }
        if h.ends_attempt() {
            if let Some(p) = self.pending.remove(&id) {
                self.series.count(ms, Count::AttemptEnded);
                // A failed attempt (deferred) is the one an expiry is blamed on; a delivery,
                // bounce or hand-off ends the message's account in this queue.
                if matches!(h, Happening::Deferred { .. }) && !p.culprits.is_empty() {
                    self.last_failed.insert(id, p.culprits);
                } else {
                    self.last_failed.remove(&id);
                }
            }
        }
    }

    fn attempt(&mut self, t: SimTime, id: MessageId, a: &AttemptHappening<'_>) {
        self.series.count(t.as_ms(), Count::Attempt);
        if let Some(dns) = &a.dns {
            if let Some(reply) = dns.asked {
                // A resolver contacts nobody beyond: its failures are its own.
                self.contact(a.from, dns.resolver, t.as_ms(), reply, true);
                if !reply.is_success() {
                    self.hosts[dns.resolver.index()].failures_caused += 1;
                }
            }
        }
        self.blame.of(a.from, a.hops, a.dns.as_ref(), a.reply);
        for (j, hop) in a.hops.iter().enumerate() {
            let own = hop.reply.is_success() || self.blame.leaves.contains(&j);
            self.contact(hop.client, hop.host, hop.at_ms, hop.reply, own);
        }
        // Each failed hop costs the time until the next contact (or the attempt's end): the
        // timeout or refusal the MTA or relay sat through before moving on.
        let mut hop_cost = 0.0;
        for &leaf in &self.blame.leaves {
            let next = a.hops.get(leaf + 1).map_or(a.end.as_ms(), |h| h.at_ms);
            let cost = next.saturating_sub(a.hops[leaf].at_ms) as f64;
            let host = &mut self.hosts[a.hops[leaf].host.index()];
            host.failures_caused += 1;
            host.delay_added_ms += cost;
            if !a.reply.is_success() {
                // The attempt failed: this time was lost, not absorbed by failover.
                host.delay_forced_ms += cost;
            }
            hop_cost += cost;
        }
        // The route: the MTA's host, then each host contacted (repeats of one host, its
        // connect retries, collapsed).
        self.route_key.clear();
        self.route_key.push(a.from);
        for hop in a.hops {
            if self.route_key.last() != Some(&hop.host) {
                self.route_key.push(hop.host);
            }
        }
        let route = match self.route_ids.get(self.route_key.as_slice()) {
            Some(&r) => Some(r),
            None if self.routes.len() < ROUTES_MAX => {
                self.routes.push(RouteObs {
                    hosts: self.route_key.clone(),
                    counts: Counts::default(),
                    delay_added_ms: 0.0,
                });
                self.route_ids
                    .insert(self.route_key.clone(), self.routes.len() - 1);
                Some(self.routes.len() - 1)
            }
            None => {
                self.routes_not_itemised += 1;
                None
            }
        };
        if let Some(r) = route {
            self.routes[r].counts.add(a.reply);
            self.routes[r].delay_added_ms += hop_cost;
        }
        // Whom a failed attempt is blamed on.
        self.culprits.clear();
        match self.blame.origin {
            Origin::None | Origin::NoRoute => {}
            Origin::Dns(resolver) => self.culprits.push(resolver),
            Origin::Hosts => {
                for &leaf in &self.blame.leaves {
                    let host = a.hops[leaf].host;
                    if !self.culprits.contains(&host) {
                        self.culprits.push(host);
                    }
                }
            }
        }
        if !a.reply.is_success() {
            self.failed_attempts += 1;
            let k = self.culprits.len().max(1) as f64;
            for c in &self.culprits {
                let host = &mut self.hosts[c.index()];
                host.failed_attempts_caused += 1.0 / k;
                match host.caused.iter_mut().find(|(r, _)| r.code == a.reply.code) {
                    Some(e) => e.1 += 1.0 / k,
                    None => host.caused.push((a.reply, 1.0 / k)),
                }
            }
            if a.reply.code == crate::smtp::codes::ROUTING_SERVER_FAILURE.code {
                self.failed_443 += 1;
                match self.blame.origin {
                    Origin::Dns(resolver) => *self.dns_443.entry(resolver).or_insert(0) += 1,
                    Origin::Hosts => {
                        // Only a failure beyond a relay that answered 4.4.3 is where the
                        // 4.4.3 came from: a pool member that refused the connection itself
                        // (4.4.1) is a leaf of the same attempt, but not this code's origin.
                        let routing = crate::smtp::codes::ROUTING_SERVER_FAILURE.code;
                        let origins = || {
                            self.blame.leaves.iter().filter_map(|&leaf| {
                                let root = self.blame.root_of(leaf);
                                (root != leaf && a.hops[root].reply.code == routing)
                                    .then_some((a.hops[root].host, a.hops[leaf].host))
                            })
                        };
                        let n = origins().count().max(1) as f64;
                        let keys: Vec<(HostId, HostId)> = origins().collect();
                        for key in keys {
                            *self.relay_443.entry(key).or_insert(0.0) += 1.0 / n;
                        }
                    }
                    Origin::None | Origin::NoRoute => {}
                }
            }
        }
        self.pending.insert(
            id,
            Pending {
                end: a.end,
                culprits: self.culprits.clone(),
                route,
            },
        );
    }

    /// Counts a contact. `own` is false for a relay's failure that reports a host beyond it
    /// (blame's rule): such an answer is counted, but does not open or extend the relay's
    /// failure windows.
    fn contact(&mut self, client: HostId, host: HostId, at_ms: u64, reply: Reply, own: bool) {
        let success = reply.is_success();
        let h = &mut self.hosts[host.index()];
        h.counts.add(reply);
        if own {
            h.windows.contact(at_ms, !success);
        }
        let next = self.links.len();
        let link = *self.link_ids.entry((client, host)).or_insert(next);
        if link == next {
            self.links.push(((client, host), Counts::default()));
        }
        self.links[link].1.add(reply);
        self.series.contact(host, at_ms, success);
    }

    /// The routing metrics so far, named from `scenario`.
    pub fn routing(&self, scenario: &Scenario) -> Routing {
        let name = |h: HostId| scenario.hosts[h.index()].id.clone();
        let mut routes: Vec<RouteRouting> = self
            .routes
            .iter()
            .map(|r| RouteRouting {
                route: r
                    .hosts
                    .iter()
                    .map(|&h| name(h))
                    .collect::<Vec<_>>()
                    .join(" > "),
                tally: r.counts.tally(),
                delay_added_ms: r.delay_added_ms,
            })
            .collect();
        routes.sort_by(|a, b| {
            b.tally
                .attempts
                .cmp(&a.tally.attempts)
                .then_with(|| a.route.cmp(&b.route))
        });
        Routing {
            hosts: scenario
                .hosts
                .iter()
                .zip(&self.hosts)
                .map(|(spec, h)| HostRouting {
                    host: spec.id.clone(),
                    role: spec.role.name(),
                    tally: h.counts.tally(),
                    failures_caused: h.failures_caused,
                    failed_attempts_caused: h.failed_attempts_caused,
                    delay_added_ms: h.delay_added_ms,
                    delay_forced_ms: h.delay_forced_ms,
                    expiries_caused: h.expiries_caused,
                    failing_ms: h.windows.failing_ms(),
                    windows: h.windows.windows().to_vec(),
                })
                .collect(),
            links: {
                let mut links: Vec<&((HostId, HostId), Counts)> = self.links.iter().collect();
                links.sort_by_key(|(key, _)| *key);
                links
                    .into_iter()
                    .map(|&((from, to), ref c)| LinkRouting {
                        from: name(from),
                        to: name(to),
                        tally: c.tally(),
                    })
                    .collect()
            },
            routes,
            routes_not_itemised: self.routes_not_itemised,
            windows_gap_ms: self
                .hosts
                .iter()
                .map(|h| h.windows.gap())
                .min()
                .unwrap_or(0),
        }
    }

    /// The series up to `end`.
    pub fn series(&self, scenario: &Scenario, end: SimTime) -> Series {
        let names: Vec<String> = scenario.hosts.iter().map(|h| h.id.clone()).collect();
        self.series.clone().series(end.as_ms(), &names)
    }

    /// Where 4.4.3 came from, named from `scenario`.
    pub fn origin_443(&self, scenario: &Scenario) -> Origin443 {
        let name = |h: HostId| scenario.hosts[h.index()].id.clone();
        let mut relay: Vec<RelayOrigin> = self
            .relay_443
            .iter()
            .map(|(&(r, b), &n)| RelayOrigin {
                relay: name(r),
                beyond: name(b),
                count: n,
            })
            .collect();
        relay.sort_by(|a, b| b.count.total_cmp(&a.count));
        Origin443 {
            total: self.failed_443,
            dns: self.dns_443.iter().map(|(&h, &n)| (name(h), n)).collect(),
            relay,
        }
    }

    /// Failed attempts (not counting gated ones), and each host's final codes caused.
    pub fn failed_attempts(&self) -> u64 {
        self.failed_attempts
    }

    /// Final codes of failed attempts blamed on host `h`, attributed.
    pub fn caused(&self, h: HostId) -> &[(Reply, f64)] {
        &self.hosts[h.index()].caused
    }
}
