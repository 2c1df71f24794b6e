//! The sender's DNS: a resolver host with its own failures and latency, and a cache in the
//! sender honouring TTLs, negative caching and optionally serve-stale (brief R8, R13;
//! `smtp-facts.md` §4).
//!
//! Rules:
//! - a fresh cache entry answers at once (a hit); TTL 0 is never cached (RFC 1035 §3.2.1);
//! - otherwise the resolver is queried: an MX and an address lookup, two round trips. An answer
//!   is cached for the domain's TTL; an NXDOMAIN for the negative TTL, min(domain TTL,
//!   `max_negative_ttl`) (RFC 2308 §5; BIND's `max-ncache-ttl` 3 h);
//! - a resolver that is down fails the lookup: SERVFAIL after one round trip if it refuses, a
//!   timeout after `timeout` if it is silent. The attempt then ends with the failure reply,
//!   451 4.4.3 by default (Postfix), selectable as KumoMTA's 451 4.4.4 or Haraka's 450 4.1.0;
//!   it is never a permanent failure (RFC 1034 §5.2.3);
//! - with serve-stale (RFC 8767), an expired entry younger than `serve_stale` past its expiry
//!   answers instead of the failure, after the client response timer (1.8 s) when the resolver
//!   is silent, and the resolver is not asked again for the 30 s failure recheck time.
//!
//! Invariant (checked by a property test over the trace): a cached answer is used only before
//! `fetched + ttl`, or, when serve-stale is on, before `fetched + ttl + serve_stale`.

use crate::dns::{DomainSpec, MxAnswer};
use crate::ids::{DomainId, HostId};
use crate::smtp::{codes, Reply};
use crate::time::{SimDuration, SimTime};
use serde::Serialize;

/// RFC 8767 §5: answer stale data after this long without a reply.
pub const CLIENT_RESPONSE_TIMER: SimDuration = SimDuration::from_ms(1_800);
/// RFC 8767 §5: after a failed refresh, serve stale data this long before asking again.
pub const FAILURE_RECHECK: SimDuration = SimDuration::from_secs(30);

/// The sender's DNS settings (`[policy] dns`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DnsSpec {
    /// The resolver host.
    pub resolver: HostId,
    /// Whether answers are cached in the sender.
    pub cache: bool,
    /// Cap on negative caching (RFC 2308 §5; BIND `max-ncache-ttl` = 3 h).
    pub max_negative_ttl: SimDuration,
    /// How long past expiry a stale answer may be served (RFC 8767: 1–3 days suggested);
    /// `None`: off.
    pub serve_stale: Option<SimDuration>,
    /// How long a silent resolver is waited for.
    pub timeout: SimDuration,
    /// The reply of an attempt whose lookup failed.
    pub failure: Reply,
}

impl DnsSpec {
    /// Defaults for `resolver`: caching on, no serve-stale, 5 s timeout, 451 4.4.3.
    pub fn new(resolver: HostId) -> Self {
        DnsSpec {
            resolver,
            cache: true,
            max_negative_ttl: SimDuration::from_hours(3),
            serve_stale: None,
            timeout: SimDuration::from_secs(5),
            failure: codes::ROUTING_SERVER_FAILURE,
        }
    }
}

/// Where an attempt's MX answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A fresh cache entry.
    Cache,
    /// The resolver, now.
    Resolver,
    /// An expired entry served because the resolver failed (RFC 8767).
    Stale,
    /// No answer: the lookup failed.
    Failed,
}

/// The DNS part of an attempt, as the trace shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Lookup {
    /// Where the answer came from.
    pub source: Source,
    /// When the answer used was fetched from the resolver, ms (absent on failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched_ms: Option<u64>,
    /// The TTL it was cached with, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// When the lookup finished, ms.
    pub done_ms: u64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    fetched: SimTime,
    ttl: SimDuration,
    /// Serve stale without asking until then (after a failed refresh).
    recheck_after: SimTime,
}

/// Counters for the report.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct DnsCounters {
    /// Lookups made by attempts.
    pub lookups: u64,
    /// Answered from a fresh cache entry.
    pub cache_hits: u64,
    /// Queries sent to the resolver.
    pub queries: u64,
    /// Answered with stale data.
    pub stale_answers: u64,
    /// Failed lookups (the attempt deferred with the failure reply).
    pub failures: u64,
}

/// The sender's resolver client and cache.
#[derive(Clone, Debug)]
pub struct DnsCache {
    spec: DnsSpec,
    entries: Vec<Option<Entry>>,
    /// What happened so far.
    pub counters: DnsCounters,
}

impl DnsCache {
    /// An empty cache for `domains` domains.
    pub fn new(spec: DnsSpec, domains: usize) -> Self {
        DnsCache {
            spec,
            entries: vec![None; domains],
            counters: DnsCounters::default(),
        }
    }

    /// The settings.
    pub fn spec(&self) -> &DnsSpec {
        &self.spec
    }

    /// Looks `domain` (index `d`) up at `t`. `resolver_up` says whether the resolver answers a
    /// query sent at a given time; `rtt` is one round trip to it; `silent` whether a down
    /// resolver stays silent (timeout) rather than answering SERVFAIL.
    pub fn lookup(
        &mut self,
        d: DomainId,
        domain: &DomainSpec,
        t: SimTime,
        rtt: SimDuration,
        silent: bool,
        mut resolver_up: impl FnMut(SimTime) -> bool,
    ) -> Result<Lookup, (Reply, Lookup)> {
        self.counters.lookups += 1;
        let entry = self.entries[d.index()];
        let stale_ok = |e: &Entry, at: SimTime| {
            self.spec
                .serve_stale
                .is_some_and(|s| at < e.fetched.after(e.ttl).after(s))
        };
        let found = |source, e: &Entry, done: SimTime| Lookup {
            source,
            fetched_ms: Some(e.fetched.as_ms()),
            ttl_ms: Some(e.ttl.as_ms()),
            done_ms: done.as_ms(),
        };
        if let Some(e) = &entry {
            // Invariant: only cacheable answers (caching on, TTL > 0) are ever stored, so a
            // hit below is within its TTL and a stale answer within the serve-stale limit.
            assert!(
                self.spec.cache && e.ttl > SimDuration::ZERO,
                "only cacheable answers are cached"
            );
            if t < e.fetched.after(e.ttl) {
                self.counters.cache_hits += 1;
                return Ok(found(Source::Cache, e, t));
            }
            if t < e.recheck_after && stale_ok(e, t) {
                self.counters.stale_answers += 1;
                return Ok(found(Source::Stale, e, t));
            }
        }
        self.counters.queries += 1;
        if resolver_up(t) {
            let done = t.after(rtt).after(rtt);
            let ttl = match domain.mx {
                MxAnswer::NxDomain => domain.ttl.min(self.spec.max_negative_ttl),
                _ => domain.ttl,
            };
            let e = Entry {
                fetched: done,
                ttl,
                recheck_after: done,
            };
            if self.spec.cache && ttl > SimDuration::ZERO {
                self.entries[d.index()] = Some(e);
            }
            return Ok(found(Source::Resolver, &e, done));
        }
        let failed_at = if silent {
            t.after(self.spec.timeout)
        } else {
            t.after(rtt)
        };
        if let Some(e) = &mut self.entries[d.index()] {
            let stale_at = if silent {
                t.after(CLIENT_RESPONSE_TIMER)
            } else {
                failed_at
            };
            if self
                .spec
                .serve_stale
                .is_some_and(|s| stale_at < e.fetched.after(e.ttl).after(s))
            {
                e.recheck_after = stale_at.after(FAILURE_RECHECK);
                self.counters.stale_answers += 1;
                let e = *e;
                return Ok(found(Source::Stale, &e, stale_at));
            }
        }
        self.counters.failures += 1;
        Err((
            self.spec.failure,
            Lookup {
                source: Source::Failed,
                fetched_ms: None,
                ttl_ms: None,
                done_ms: failed_at.as_ms(),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::MxRecord;

    fn domain(ttl_s: u64) -> DomainSpec {
        DomainSpec {
            name: "example.net".into(),
            mx: MxAnswer::Records(vec![MxRecord {
                preference: 10,
                host: HostId(1),
            }]),
            ttl: SimDuration::from_secs(ttl_s),
        }
    }

    const RTT: SimDuration = SimDuration::from_ms(10);

    fn cache(stale: Option<u64>) -> DnsCache {
        let mut spec = DnsSpec::new(HostId(9));
        spec.serve_stale = stale.map(SimDuration::from_secs);
        DnsCache::new(spec, 1)
    }

    #[test]
    fn hits_within_ttl_and_queries_after_it() {
        let mut c = cache(None);
        let d = domain(300);
        let first = c
            .lookup(DomainId(0), &d, SimTime(0), RTT, false, |_| true)
            .unwrap();
        assert_eq!((first.source, first.done_ms), (Source::Resolver, 20));
        let hit = c
            .lookup(DomainId(0), &d, SimTime(300_019), RTT, false, |_| true)
            .unwrap();
        assert_eq!(hit.source, Source::Cache);
        let again = c
            .lookup(DomainId(0), &d, SimTime(300_020), RTT, false, |_| true)
            .unwrap();
        assert_eq!(again.source, Source::Resolver);
        assert_eq!((c.counters.queries, c.counters.cache_hits), (2, 1));
    }

    #[test]
    fn ttl_zero_is_never_cached() {
        let mut c = cache(None);
        let d = domain(0);
        for t in [0, 1, 2] {
            let l = c
                .lookup(DomainId(0), &d, SimTime(t), RTT, false, |_| true)
                .unwrap();
            assert_eq!(l.source, Source::Resolver);
        }
    }

    #[test]
    fn resolver_outage_fails_lookups_unless_stale_data_may_be_served() {
        let d = domain(60);
        let mut plain = cache(None);
        plain
            .lookup(DomainId(0), &d, SimTime(0), RTT, true, |_| true)
            .unwrap();
        let (reply, l) = plain
            .lookup(DomainId(0), &d, SimTime(120_000), RTT, true, |_| false)
            .unwrap_err();
        assert_eq!(reply, codes::ROUTING_SERVER_FAILURE);
        // A silent resolver costs the whole timeout.
        assert_eq!(l.done_ms, 125_000);
        let mut stale = cache(Some(86_400));
        stale
            .lookup(DomainId(0), &d, SimTime(0), RTT, true, |_| true)
            .unwrap();
        let l = stale
            .lookup(DomainId(0), &d, SimTime(120_000), RTT, true, |_| false)
            .unwrap();
        assert_eq!((l.source, l.done_ms), (Source::Stale, 121_800));
        // Within the 30 s recheck time, stale data is served without asking.
        let mut asked = false;
        let l = stale
            .lookup(DomainId(0), &d, SimTime(130_000), RTT, true, |_| {
                asked = true;
                false
            })
            .unwrap();
        assert_eq!(l.source, Source::Stale);
        assert!(!asked);
        // Past the stale limit, the failure shows.
        assert!(stale
            .lookup(DomainId(0), &d, SimTime(90_000_000), RTT, true, |_| false)
            .is_err());
    }
}
