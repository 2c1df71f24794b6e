//! The sender's connection cache per next-hop host (brief R6, R16; `mta-defaults.md` (a),
//! "Connection reuse").
//!
//! After a session, the sender keeps the connection open for the next message to the same host
//! if fewer than `size` are already idle there. A later attempt reuses an idle connection when
//! it has been idle at most `idle_limit`, was opened at most `reuse_limit` ago and has carried
//! fewer than `max_deliveries` messages. A reused connection skips the TCP connect, greeting,
//! EHLO and TLS round trips. Presets: Postfix (`smtp_connection_cache_time_limit` 2 s,
//! `smtp_connection_reuse_time_limit` 300 s, no count limit), Exim (`connection_max_messages`
//! 500; Exim only passes messages already waiting for the host down a connection, modelled as
//! a zero idle limit: back-to-back reuse only), KumoMTA (`idle_timeout` 60 s,
//! `max_deliveries_per_connection` 1024, `connection_limit` 32).
//!
//! Invariant: idle connections per host never exceed `size` (checked in `put`).

use crate::ids::HostId;
use crate::time::{SimDuration, SimTime};
use serde::Serialize;

/// Connection cache settings (`[policy] connections`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConnectionSpec {
    /// Most idle connections kept per host (0: no cache).
    pub size: u32,
    /// Longest idle time before a cached connection is closed.
    pub idle_limit: SimDuration,
    /// Longest time since opening during which a connection may be reused.
    pub reuse_limit: SimDuration,
    /// Most messages per connection (0: unlimited).
    pub max_deliveries: u32,
    /// STARTTLS on every new connection: three more round trips (STARTTLS, a TLS 1.3
    /// handshake, EHLO again).
    pub tls: bool,
}

impl ConnectionSpec {
    /// No caching, no TLS: every session opens its own connection (Haraka, Stalwart).
    pub const NONE: ConnectionSpec = ConnectionSpec {
        size: 0,
        idle_limit: SimDuration::ZERO,
        reuse_limit: SimDuration::ZERO,
        max_deliveries: 0,
        tls: false,
    };

    /// Postfix: on-demand caching, 2 s idle, 300 s reuse window, no count limit; at most the
    /// default destination concurrency (20) connections.
    pub const POSTFIX: ConnectionSpec = ConnectionSpec {
        size: 20,
        idle_limit: SimDuration::from_secs(2),
        reuse_limit: SimDuration::from_secs(300),
        max_deliveries: 0,
        tls: false,
    };

    /// Exim: `connection_max_messages` = 500, back-to-back only.
    pub const EXIM: ConnectionSpec = ConnectionSpec {
        size: 5,
        idle_limit: SimDuration::ZERO,
        reuse_limit: SimDuration::from_days(1),
        max_deliveries: 500,
        tls: false,
    };

    /// KumoMTA: `idle_timeout` 60 s, 1024 deliveries per connection, 32 connections.
    pub const KUMOMTA: ConnectionSpec = ConnectionSpec {
        size: 32,
        idle_limit: SimDuration::from_secs(60),
        reuse_limit: SimDuration::from_days(1),
        max_deliveries: 1024,
        tls: false,
    };

    /// The preset named `name`.
    pub fn preset(name: &str) -> Option<ConnectionSpec> {
        Some(match name {
            "none" => Self::NONE,
            "postfix" => Self::POSTFIX,
            "exim" => Self::EXIM,
            "kumomta" => Self::KUMOMTA,
            _ => return None,
        })
    }

    /// Preset names.
    pub const PRESETS: [&'static str; 4] = ["none", "postfix", "exim", "kumomta"];
}

/// An open connection waiting in the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Idle {
    /// When it was opened.
    pub opened: SimTime,
    /// When its last session ended.
    pub idle_since: SimTime,
    /// Messages it has carried.
    pub deliveries: u32,
}

/// Counters for the report.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct ConnectionCounters {
    /// Connections opened (TCP connect attempts that got a session).
    pub opened: u64,
    /// Sessions that reused a cached connection.
    pub reused: u64,
    /// Idle connections closed for their idle or reuse limit, or their delivery count.
    pub retired: u64,
    /// Most idle connections held at once, over all hosts.
    pub peak_idle: u64,
}

/// The sender's cache.
#[derive(Clone, Debug)]
pub struct ConnectionCache {
    spec: ConnectionSpec,
    idle: Vec<Vec<Idle>>,
    idle_total: u64,
    /// What happened so far.
    pub counters: ConnectionCounters,
}

impl ConnectionCache {
    /// An empty cache for `hosts` hosts.
    pub fn new(spec: ConnectionSpec, hosts: usize) -> Self {
        ConnectionCache {
            spec,
            idle: vec![Vec::new(); hosts],
            idle_total: 0,
            counters: ConnectionCounters::default(),
        }
    }

    /// The settings.
    pub fn spec(&self) -> &ConnectionSpec {
        &self.spec
    }

    fn usable(&self, c: &Idle, t: SimTime) -> bool {
        c.idle_since <= t
            && t.since(c.idle_since) <= self.spec.idle_limit
            && t.since(c.opened) <= self.spec.reuse_limit
            && (self.spec.max_deliveries == 0 || c.deliveries < self.spec.max_deliveries)
    }

    /// Takes a reusable idle connection to `host` at `t`, retiring those past their limits.
    /// Connections whose session has not ended by `t` stay cached.
    pub fn take(&mut self, host: HostId, t: SimTime) -> Option<Idle> {
        let mut list = std::mem::take(&mut self.idle[host.index()]);
        let before = list.len();
        list.retain(|c| c.idle_since > t || self.usable(c, t));
        let retired = (before - list.len()) as u64;
        // The most recently used first: it is the least likely to have been closed.
        let pick = list
            .iter()
            .enumerate()
            .filter(|(_, c)| c.idle_since <= t)
            .max_by_key(|(i, c)| (c.idle_since, *i))
            .map(|(i, _)| i);
        let taken = pick.map(|i| list.remove(i));
        self.idle_total -= retired + u64::from(taken.is_some());
        self.counters.retired += retired;
        self.idle[host.index()] = list;
        taken
    }

    /// Notes a session on a connection from the cache (one taken may turn out closed).
    pub fn reused(&mut self) {
        self.counters.reused += 1;
    }

    /// Notes a newly opened connection.
    pub fn opened(&mut self) {
        self.counters.opened += 1;
    }

    /// Returns connection `c` to the cache after a session that ended at `end`, unless the
    /// host already has `size` idle connections or `c` reached its delivery limit.
    pub fn put(&mut self, host: HostId, c: Idle, end: SimTime) {
        let list = &mut self.idle[host.index()];
        let c = Idle {
            idle_since: end,
            deliveries: c.deliveries + 1,
            ..c
        };
        let spent = self.spec.max_deliveries != 0 && c.deliveries >= self.spec.max_deliveries;
        if spent || list.len() as u64 >= u64::from(self.spec.size) {
            self.counters.retired += 1;
            return;
        }
        list.push(c);
        assert!(
            list.len() as u64 <= u64::from(self.spec.size),
            "idle connections to a host never exceed the cache size"
        );
        self.idle_total += 1;
        self.counters.peak_idle = self.counters.peak_idle.max(self.idle_total);
    }

    /// Idle connections cached for `host` now.
    #[cfg(test)]
    fn idle_count(&self, host: u32) -> usize {
        self.idle[host as usize].len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(t: u64) -> Idle {
        Idle {
            opened: SimTime(t),
            idle_since: SimTime(t),
            deliveries: 0,
        }
    }

    #[test]
    fn postfix_reuses_within_two_idle_seconds_and_300_s_of_life() {
        let mut c = ConnectionCache::new(ConnectionSpec::POSTFIX, 1);
        c.put(HostId(0), fresh(0), SimTime(1_000));
        // Not before its session ended; then within the 2 s idle limit.
        assert!(c.take(HostId(0), SimTime(500)).is_none());
        let conn = c.take(HostId(0), SimTime(2_900)).unwrap();
        c.reused();
        assert_eq!(conn.deliveries, 1);
        c.put(HostId(0), conn, SimTime(3_000));
        // Idle for more than 2 s: retired.
        assert!(c.take(HostId(0), SimTime(5_001)).is_none());
        assert_eq!(c.counters.retired, 1);
        // Past the reuse time limit, even if recently used.
        c.put(HostId(0), fresh(0), SimTime(299_500));
        assert!(c.take(HostId(0), SimTime(300_001)).is_none());
    }

    #[test]
    fn size_and_delivery_limits_hold() {
        let spec = ConnectionSpec {
            size: 2,
            max_deliveries: 2,
            ..ConnectionSpec::KUMOMTA
        };
        let mut c = ConnectionCache::new(spec, 1);
        for _ in 0..5 {
            c.put(HostId(0), fresh(0), SimTime(10));
        }
        assert_eq!(c.idle_count(0), 2);
        let conn = c.take(HostId(0), SimTime(20)).unwrap();
        // Its second delivery reaches the limit: not cached again.
        c.put(HostId(0), conn, SimTime(30));
        assert_eq!(c.idle_count(0), 1);
    }
}
