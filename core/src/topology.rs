//! The network graph: hosts as nodes and directed links ("from can open an SMTP connection to
//! to") as edges weighted by one-way latency, on `petgraph`.
//!
//! Invariants: node index = [`HostId`] (the graph is built once, in host order, and never has
//! nodes removed, so indices stay stable, as petgraph's docs advise); at most one link per
//! ordered pair (validation refuses duplicates).

use crate::ids::HostId;
use crate::time::SimDuration;
use petgraph::graph::{DiGraph, NodeIndex};

/// A directed link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkSpec {
    /// Connecting host.
    pub from: HostId,
    /// Host connected to.
    pub to: HostId,
    /// One-way latency.
    pub latency: SimDuration,
}

/// Hosts and links of one scenario.
#[derive(Clone, Debug)]
pub struct Topology {
    graph: DiGraph<HostId, SimDuration, u32>,
}

impl Topology {
    /// Builds the graph for `host_count` hosts and the given links.
    pub fn new(host_count: usize, links: &[LinkSpec]) -> Self {
        let mut graph = DiGraph::with_capacity(host_count, links.len());
        for i in 0..host_count {
            let idx = graph.add_node(HostId::from_index(i));
            debug_assert_eq!(idx.index(), i);
        }
        for l in links {
            graph.add_edge(
                NodeIndex::new(l.from.0 as usize),
                NodeIndex::new(l.to.0 as usize),
                l.latency,
            );
        }
        Topology { graph }
    }

    /// One-way latency of the link `from → to`, or `None` if there is no such link.
    /// O(out-degree of `from`).
    pub fn latency(&self, from: HostId, to: HostId) -> Option<SimDuration> {
        let e = self.graph.find_edge(
            NodeIndex::new(from.0 as usize),
            NodeIndex::new(to.0 as usize),
        )?;
        Some(self.graph[e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_directed() {
        let links = [
            LinkSpec {
                from: HostId(0),
                to: HostId(1),
                latency: SimDuration(20),
            },
            LinkSpec {
                from: HostId(1),
                to: HostId(2),
                latency: SimDuration(40),
            },
        ];
        let t = Topology::new(3, &links);
        assert_eq!(t.latency(HostId(0), HostId(1)), Some(SimDuration(20)));
        assert_eq!(t.latency(HostId(1), HostId(0)), None);
    }
}
