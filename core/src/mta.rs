//! An MTA: a queue with its policy and everything its policy keeps between attempts (pool
//! choices, shared retry state, DNS cache, connection cache, queue manager).
//!
//! The sender is one; every store-and-forward relay is another, built from its own `policy`
//! table by the same code (DESIGN §3: "an MTA like the sender, built from the same code"), so a
//! relay retries, caches, limits concurrency and gives up exactly as a sender with that policy
//! would. Its mechanisms are built from the policy's values alone; only [`Mta::all`] reads
//! the scenario, to find the MTAs.

use crate::dns::DomainSpec;
use crate::ids::{DestinationId, DomainId, HostId};
use crate::network::{ConnectionCache, DnsCache, PoolState, Stage};
use crate::qmgr::QueueManager;
use crate::scenario::{Policy, Route, Scenario};
use crate::session::WalkRules;
use crate::shaping::ShapingState;
use crate::shared::SharedState;

/// One MTA's policy and live state.
pub struct Mta {
    /// The host it runs on (its connections come from here).
    pub host: HostId,
    /// Its policy.
    pub policy: Policy,
    /// Its route: relay stages before the MX hosts (empty: direct).
    pub stages: Vec<Stage>,
    /// Its routing rules, for the walk.
    pub rules: WalkRules,
    /// Its pool choices.
    pub pools: PoolState,
    /// Retry state shared across its messages; `None` when the policy uses none of it.
    pub shared: Option<SharedState>,
    /// Its resolver client and cache.
    pub dns: Option<DnsCache>,
    /// Its connection cache.
    pub conns: Option<ConnectionCache>,
    /// Its active queue and concurrency limits.
    pub qmgr: Option<QueueManager>,
    /// Its per-site traffic shaping; `None` when the policy shapes nothing.
    pub shaping: Option<ShapingState>,
}

impl Mta {
    /// The MTA on `host` with `policy`, idle, in a scenario of `hosts` hosts and `domains`
    /// domains (its destinations: the first relay of its route, or a domain).
    pub fn new(host: HostId, policy: Policy, hosts: usize, domains: &[DomainSpec]) -> Self {
        let (shaping_domains, domains) = (domains, domains.len());
        let stages = match &policy.route {
            Route::Direct => Vec::new(),
            Route::Via(chain) => chain.clone(),
        };
        let destinations = hosts + domains;
        Mta {
            host,
            rules: WalkRules {
                next_mx: policy.next_mx,
                connect: policy.connect,
                fallback_relay: policy.fallback_relay,
                hop_limit: policy.hop_limit,
            },
            pools: PoolState::new(&stages),
            shared: (!policy.shared.is_off())
                .then(|| SharedState::new(policy.shared.clone(), hosts, destinations)),
            dns: policy.dns.map(|spec| DnsCache::new(spec, domains)),
            conns: policy
                .connections
                .map(|spec| ConnectionCache::new(spec, hosts)),
            qmgr: policy
                .queue
                .map(|spec| QueueManager::new(spec, destinations)),
            shaping: (!policy.shaping.is_off()).then(|| {
                ShapingState::new(&policy.shaping, shaping_domains, policy.route.first_relay())
            }),
            stages,
            policy,
        }
    }

    /// Every MTA of `scenario`: the sender first ([`MtaId::SENDER`](crate::ids::MtaId::SENDER)), then each
    /// store-and-forward relay in host order.
    pub fn all(scenario: &Scenario) -> Vec<Mta> {
        let (hosts, domains) = (scenario.hosts.len(), &scenario.domains);
        let relays = scenario
            .hosts
            .iter()
            .enumerate()
            .filter_map(|(i, h)| Some((HostId::from_index(i), h.queue_policy.as_deref()?)));
        std::iter::once((scenario.policy.sender, &scenario.policy))
            .chain(relays)
            .map(|(host, policy)| Mta::new(host, policy.clone(), hosts, domains))
            .collect()
    }

    /// The destination of a message to `domain`, for concurrency and shared state: the
    /// route's first relay, or the domain (ids after the hosts).
    pub fn destination(&self, domain: DomainId, hosts: usize) -> DestinationId {
        DestinationId::from_index(match self.stages.first() {
            Some(stage) => stage.members[0].index(),
            None => hosts + domain.index(),
        })
    }
}
