//! One delivery attempt, start to finish: gate → resolve → walk → feed back → outcome.
//!
//! The attempt is decided entirely when it starts (ARCHITECTURE.md, "Attempts are walked when
//! they start"): the MX answer is ordered, shared retry state may hold the attempt back, the
//! DNS lookup and the walk through relays and MX hosts ([`session`](crate::session)) decide
//! every hop's answer and time, and the outcome is fed back to the shared state. The
//! simulation only schedules what this returns.
//!
//! Shared retry state is reached through exactly two calls, `before_attempt` (the gate) and
//! `after_attempt` (the feedback); nothing else here knows what the gates are.

use crate::dns::{Candidate, MxTable};
use crate::failure::HostHealth;
use crate::happening::{DnsUse, Hop};
use crate::ids::{DestinationId, HostId};
use crate::message::Message;
use crate::mta::Mta;
use crate::network::{Network, Source};
use crate::random::AttemptRandom;
use crate::scenario::{DomainSpec, DownAs, HostSpec};
use crate::session::{WalkOutput, Walker};
use crate::shared::Gate;
use crate::smtp::{codes, Reply};
use crate::time::{SimDuration, SimTime};
use crate::topology::Topology;

/// The environment every MTA's attempts share: hosts, links, host health and network state.
pub struct World<'a> {
    /// Host descriptions.
    pub hosts: &'a [HostSpec],
    /// Recipient domains.
    pub domains: &'a [DomainSpec],
    /// Each domain's pre-sorted MX answer.
    pub mx_tables: &'a [MxTable],
    /// Links and latencies.
    pub topology: &'a Topology,
    /// Host availability, evaluated at each contact's time.
    pub health: &'a mut [HostHealth],
    /// Capacity, greylisting and pool load.
    pub net: &'a mut Network,
}

/// Buffers reused from attempt to attempt (NOTE(perf): no allocation per attempt).
#[derive(Debug, Default)]
pub struct Scratch {
    candidates: Vec<Candidate>,
    first_hops: Vec<HostId>,
    /// The last attempt's hops and the relay that accepted it.
    pub walk: WalkOutput,
}

/// An attempt that was made: what the MTA is told, when, and what it learnt on the way.
#[derive(Clone, Copy, Debug)]
pub struct Made {
    /// The final reply.
    pub reply: Reply,
    /// When it reaches the MTA.
    pub end: SimTime,
    /// The MX lookup, when the MTA uses a resolver.
    pub dns: Option<DnsUse>,
    /// The store-and-forward host that accepted the message (a 250 that is not final).
    pub accepted_by: Option<HostId>,
    /// The first hop's retry hint, whole seconds (zero: none).
    pub hint: SimDuration,
}

/// What asking for an attempt produced.
#[derive(Clone, Copy, Debug)]
pub enum Start {
    /// Shared retry state held it back until the given time; nothing was contacted.
    Gated(Gate, SimTime),
    /// It was made; its hops are in [`Scratch::walk`].
    Made(Made),
}

/// Makes message `m`'s next attempt by `mta` at `t` toward `destination` (the concurrency and
/// shared-state key of its first hop).
pub fn attempt(
    world: &mut World<'_>,
    mta: &mut Mta,
    scratch: &mut Scratch,
    m: &Message,
    destination: DestinationId,
    t: SimTime,
) -> Start {
    let draws = AttemptRandom::new(m.key, m.attempts);
    scratch.walk.clear();
    let resolved = world.mx_tables[m.domain.index()].candidates(
        mta.policy.mx_address_limit,
        mta.host,
        &draws,
        &mut scratch.candidates,
    );
    if let (Some(shared), Ok(_)) = (&mut mta.shared, &resolved) {
        scratch.first_hops.clear();
        match mta.stages.first() {
            Some(stage) => scratch.first_hops.extend_from_slice(&stage.members),
            None => scratch
                .first_hops
                .extend(scratch.candidates.iter().map(|c| c.host)),
        }
        // Exim: a message that has failed for longer than the final cutoff is tried at the
        // next queue run even if its hosts are in their retry time (spec ch. 32.11; real-mta
        // run B, a host record, times out at 725 s, not at the host's next try).
        let forced = mta
            .policy
            .retry
            .default
            .forced_attempt(m.entered)
            .is_some_and(|f| t >= f);
        if let Err((gate, until)) = shared.before_attempt(
            &scratch.first_hops,
            destination,
            m.attempts > 0,
            forced,
            m.entered,
            t,
        ) {
            return Start::Gated(gate, until);
        }
        if mta.stages.is_empty() && !forced {
            // Hosts in their retry time are skipped.
            scratch
                .candidates
                .retain(|c| shared.host_ready_for(c.host, m.entered, t).is_ok());
        }
    }
    let (start, dns, dns_failure) = resolve(world, mta, m, &draws, t);
    let (reply, end) = match (dns_failure, resolved) {
        (Some(failure), _) => (failure, start),
        (None, Err(reply)) => (reply, start),
        (None, Ok(local_is_mx)) => {
            let mut walker = Walker {
                hosts: world.hosts,
                topology: world.topology,
                health: world.health,
                net: world.net,
                rules: &mta.rules,
                pools: &mut mta.pools,
                draws,
                unknown_recipient: m.unknown_recipient,
                recipient: m.key,
                local_is_mx,
                conns: mta.conns.as_mut(),
                out: &mut scratch.walk,
            };
            walker.walk(mta.host, &mta.stages, &scratch.candidates, start)
        }
    };
    debug_assert!(end >= t, "an attempt ends after it starts");
    let hops = &scratch.walk.hops;
    if let (Some(shared), Ok(_)) = (&mut mta.shared, &resolved) {
        // Without relays every host contacted is a first hop; with relays, only the first.
        let first = if mta.stages.is_empty() {
            hops.len()
        } else {
            hops.len().min(1)
        };
        shared.after_attempt(
            hops[..first].iter().map(|h| (h.host, h.reply)),
            destination,
            reply,
            t,
            &mta.policy.retry.default,
        );
    }
    Start::Made(Made {
        reply,
        end,
        dns,
        accepted_by: scratch.walk.accepted_by.filter(|_| reply.is_success()),
        hint: hint(world.hosts, hops, reply),
    })
}

/// The MX lookup through the MTA's resolver and cache, if it uses one: when the answer is
/// there, what the trace shows of it, and the failure that ends the attempt, if any.
fn resolve(
    world: &mut World<'_>,
    mta: &mut Mta,
    m: &Message,
    draws: &AttemptRandom,
    t: SimTime,
) -> (SimTime, Option<DnsUse>, Option<Reply>) {
    let Some(cache) = &mut mta.dns else {
        return (t, None, None);
    };
    let resolver = cache.spec().resolver;
    let rtt = world
        .topology
        .latency(mta.host, resolver)
        .map_or(SimDuration::ZERO, |l| SimDuration::from_ms(2 * l.as_ms()));
    let silent = world.hosts[resolver.index()].down_as == DownAs::Silent;
    let queries = cache.counters.queries;
    let health = &mut world.health[resolver.index()];
    let result = cache.lookup(
        m.domain,
        &world.domains[m.domain.index()],
        t,
        rtt,
        silent,
        |at| health.is_up(at, draws),
    );
    let asked = cache.counters.queries > queries;
    let (failure, lookup) = match result {
        Ok(l) => (None, l),
        Err((reply, l)) => (Some(reply), l),
    };
    // What the resolver itself answered, when it was asked: a stale answer served means the
    // refresh failed (4.4.3, "directory server failure").
    let answer = match (failure, lookup.source) {
        (Some(r), _) => r,
        (None, Source::Stale) => codes::ROUTING_SERVER_FAILURE,
        (None, _) => codes::OK,
    };
    let answered = asked.then_some(answer);
    let done = SimTime(lookup.done_ms);
    let dns = DnsUse {
        resolver,
        lookup,
        asked: answered,
    };
    (done, Some(dns), failure)
}

/// The first hop's own 4xx answer may carry its retry hint ("try again in N seconds"), in
/// whole seconds as Postal parses it.
fn hint(hosts: &[HostSpec], hops: &[Hop], reply: Reply) -> SimDuration {
    match hops.first() {
        Some(h) if reply.is_transient() && reply != codes::NO_ANSWER && h.reply == reply => hosts
            [h.host.index()]
        .retry_hint
        .map_or(SimDuration::ZERO, |d| {
            SimDuration::from_ms(d.as_ms() / 1000 * 1000)
        }),
        _ => SimDuration::ZERO,
    }
}
