//! Which hop made an attempt fail: the one rule the route trace, the routing metrics and the
//! failure analysis share, so they always name the same host.
//!
//! An attempt's hops form a tree in contact order: the MTA contacts hosts in turn (MX
//! candidates, pool members, the fallback relay), and a cut-through relay contacts the hosts
//! beyond it inside its own session (`Hop::client` is the edge). A relay that cannot forward
//! answers **451 4.4.3** (RFC 3463 X.4.3, "routing server failure"); that answer is not the
//! relay's own fault but that of the hosts beyond it. So the hops to blame are the *leaf
//! failures*: hops that failed and contacted nobody further. An attempt that failed without
//! contacting anyone failed in DNS (the resolver is to blame: RFC 3463 calls 4.4.3 "directory
//! server failure") or had no route.

use crate::happening::{DnsUse, Hop};
use crate::ids::HostId;
use crate::smtp::Reply;

/// Where an attempt's failure came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    /// The attempt succeeded (a failed hop on the way may still have added delay).
    #[default]
    None,
    /// Hosts failed: the leaf failures (indices into the hops) say which.
    Hosts,
    /// The MX lookup failed: the resolver answered this (or was silent).
    Dns(HostId),
    /// Nothing was contacted and DNS was not at fault (no route, no MX).
    NoRoute,
}

/// Reusable buffers for [`Blame::of`] (NOTE(perf): no allocation per attempt).
#[derive(Clone, Debug, Default)]
pub struct Blame {
    /// Hops that failed and contacted nobody beyond them, in contact order.
    pub leaves: Vec<usize>,
    /// Per hop, the index of the relay hop that contacted it (`None`: the MTA did).
    pub parent: Vec<Option<usize>>,
    /// What the attempt's failure is blamed on.
    pub origin: Origin,
    /// Sessions open while the hops are walked (a stack of hop indices).
    open: Vec<usize>,
    /// Per hop, how many hops it contacted.
    children: Vec<u32>,
}

impl Blame {
    /// Works out the blame for an attempt by the MTA on `from` that made `hops`, used `dns`
    /// and was finally told `reply`.
    pub fn of(&mut self, from: HostId, hops: &[Hop], dns: Option<&DnsUse>, reply: Reply) {
        self.leaves.clear();
        self.parent.clear();
        self.open.clear();
        for (j, hop) in hops.iter().enumerate() {
            // Sessions on the stack whose host is not this hop's client are over: the hop
            // belongs to the innermost open session of its client (none when the MTA itself
            // made the contact).
            while let Some(&top) = self.open.last() {
                if hops[top].host == hop.client {
                    break;
                }
                self.open.pop();
            }
            let parent = self.open.last().copied();
            debug_assert!(parent.is_some() || hop.client == from, "a hop has a client");
            self.parent.push(parent);
            if hop.session.is_some() {
                self.open.push(j);
            }
        }
        // A failed hop is a leaf when no later hop names it as parent.
        self.children.clear();
        self.children.resize(hops.len(), 0);
        for p in self.parent.iter().flatten() {
            self.children[*p] += 1;
        }
        for (j, hop) in hops.iter().enumerate() {
            if !hop.reply.is_success() && self.children[j] == 0 {
                self.leaves.push(j);
            }
        }
        self.origin = match (reply.is_success(), hops.is_empty(), dns) {
            (true, _, _) => Origin::None,
            (false, false, _) => Origin::Hosts,
            // Nothing contacted and a lookup was made: DNS failed, unless the answer was a
            // permanent "no such domain / no MX" (a routing fact, not a failing server).
            (false, true, Some(d)) if reply.is_transient() => Origin::Dns(d.resolver),
            (false, true, _) => Origin::NoRoute,
        };
    }

    /// The relay hop at the root of the chain that leads to hop `j` (itself when the MTA
    /// contacted it directly).
    pub fn root_of(&self, mut j: usize) -> usize {
        while let Some(p) = self.parent[j] {
            j = p;
        }
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Lookup, Source};
    use crate::smtp::codes;

    fn hop(client: u32, host: u32, reply: Reply, session: bool) -> Hop {
        Hop {
            client: HostId(client),
            host: HostId(host),
            at_ms: 0,
            reply,
            session: session.then_some([0, 1]),
            reused: false,
        }
    }

    #[test]
    fn a_relay_reporting_4_4_3_passes_the_blame_beyond_it() {
        // out(0) → r1(1) → r2(2) down: r1 answers 4.4.3 for r2.
        let hops = [
            hop(0, 1, codes::ROUTING_SERVER_FAILURE, true),
            hop(1, 2, codes::NO_ANSWER, false),
        ];
        let mut b = Blame::default();
        b.of(HostId(0), &hops, None, codes::ROUTING_SERVER_FAILURE);
        assert_eq!(b.leaves, [1]);
        assert_eq!(b.parent, [None, Some(0)]);
        assert_eq!(b.root_of(1), 0);
        assert_eq!(b.origin, Origin::Hosts);
    }

    #[test]
    fn siblings_are_not_children_and_every_failed_leaf_is_blamed() {
        // Pool: r1(1) cannot forward to mx(3); the sender moves on to r2(2), which also cannot.
        let hops = [
            hop(0, 1, codes::ROUTING_SERVER_FAILURE, true),
            hop(1, 3, codes::NO_ANSWER, false),
            hop(0, 2, codes::ROUTING_SERVER_FAILURE, true),
            hop(2, 3, codes::NO_ANSWER, false),
        ];
        let mut b = Blame::default();
        b.of(HostId(0), &hops, None, codes::ROUTING_SERVER_FAILURE);
        assert_eq!(b.parent, [None, Some(0), None, Some(2)]);
        assert_eq!(b.leaves, [1, 3]);
    }

    #[test]
    fn a_failover_that_succeeds_blames_nobody_for_the_attempt_but_keeps_the_failed_hop() {
        let hops = [
            hop(0, 1, codes::NO_ANSWER, false),
            hop(0, 2, codes::OK, true),
        ];
        let mut b = Blame::default();
        b.of(HostId(0), &hops, None, codes::OK);
        assert_eq!(b.leaves, [0]);
        assert_eq!(b.origin, Origin::None);
    }

    #[test]
    fn a_failed_lookup_blames_the_resolver_and_no_route_blames_nobody() {
        let dns = DnsUse {
            resolver: HostId(9),
            lookup: Lookup {
                source: Source::Failed,
                fetched_ms: None,
                ttl_ms: None,
                done_ms: 5,
            },
            asked: Some(codes::ROUTING_SERVER_FAILURE),
        };
        let mut b = Blame::default();
        b.of(HostId(0), &[], Some(&dns), codes::ROUTING_SERVER_FAILURE);
        assert_eq!(b.origin, Origin::Dns(HostId(9)));
        b.of(HostId(0), &[], None, codes::UNABLE_TO_ROUTE);
        assert_eq!(b.origin, Origin::NoRoute);
        assert!(b.leaves.is_empty());
    }
}
