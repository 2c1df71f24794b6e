//! The network between the sender and the mailbox (the brief's R3, R6, R8, R10–R16): host
//! capacity, greylisting and relay pools on the environment side, the DNS and connection
//! caches on the sender side. Each mechanism is its own module; [`Network`] holds the live
//! state of the hosts, which every MTA shares (the caches belong to each `Mta`).
//!
//! Determinism: all state lives in `Vec`s indexed by host id or in `BTreeMap`s, and changes
//! only in event order.

pub mod capacity;
pub mod connections;
pub mod dns_cache;
pub mod greylist;
pub mod pool;

pub use capacity::{Admission, CapacitySpec, HostLoad};
pub use connections::{ConnectionCache, ConnectionSpec, Idle};
pub use dns_cache::{DnsCache, DnsSpec, Lookup, Source};
pub use greylist::{Greylist, GreylistSpec, Verdict};
pub use pool::{Choose, PoolState, Stage};

use crate::ids::HostId;
use crate::time::SimTime;

/// Live state of the hosts' load-dependent behaviour.
#[derive(Clone, Debug)]
pub struct Network {
    /// Capacity state of hosts that declare one.
    pub loads: Vec<Option<HostLoad>>,
    /// Greylist databases of hosts that greylist.
    pub greylists: Vec<Option<Greylist>>,
    /// End times of the sender's sessions under way, for hosts in least-loaded pools.
    sessions: Vec<Option<Vec<SimTime>>>,
}

impl Network {
    /// The idle network of hosts with the given capacities and greylists (in host order),
    /// tracking the sessions under way to every member of a least-loaded pool among `stages`
    /// (the stages of every MTA's route).
    pub fn new<'a>(
        hosts: impl Iterator<Item = (Option<CapacitySpec>, Option<GreylistSpec>)>,
        stages: impl Iterator<Item = &'a Stage>,
    ) -> Self {
        let (loads, greylists): (Vec<_>, Vec<_>) = hosts
            .map(|(c, g)| (c.map(HostLoad::new), g.map(Greylist::new)))
            .unzip();
        let mut sessions: Vec<Option<Vec<SimTime>>> = vec![None; loads.len()];
        for stage in stages.filter(|s| s.choose == Choose::LeastLoaded) {
            for m in &stage.members {
                sessions[m.index()] = Some(Vec::new());
            }
        }
        Network {
            loads,
            greylists,
            sessions,
        }
    }

    /// The sender's sessions to `host` under way at `t` (tracked for least-loaded pools only).
    pub fn sessions_under_way(&mut self, host: HostId, t: SimTime) -> usize {
        match &mut self.sessions[host.index()] {
            Some(ends) => {
                ends.retain(|&e| e > t);
                ends.len()
            }
            None => 0,
        }
    }

    /// Notes a session of the sender to `host` lasting until `end` (least-loaded pools).
    pub fn session_opened(&mut self, host: HostId, end: SimTime) {
        if let Some(ends) = &mut self.sessions[host.index()] {
            ends.push(end);
        }
    }
}
