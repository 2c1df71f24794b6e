//! The run over time in fixed buckets: what happened in each (arrivals, attempts, outcomes,
//! deferrals by code, per-host contacts) and the queue at each bucket's start.
//!
//! The gauges (queued, in flight) are counted from the happening stream itself (arrivals
//! minus outcomes; attempts started minus attempts ended), not read from the simulation, so
//! they agree with the report's queue series by construction of the stream, and a test checks
//! that they do. Memory is bounded: past [`Series::BUCKETS_MAX`] buckets the width doubles
//! and neighbouring buckets merge.

use crate::ids::HostId;
use crate::report::{HostPoint, HostSeries, Series, SeriesBucket};
use crate::smtp::Reply;
use std::collections::BTreeMap;

/// Counts of one bucket while the run goes.
#[derive(Clone, Debug, Default)]
struct Bucket {
    arrivals: u64,
    attempts: u64,
    delivered: u64,
    bounced: u64,
    expired: u64,
    deferred: u64,
    deferred_by_code: Vec<(Reply, u64)>,
    queued: u64,
    in_flight: u64,
}

/// What a bucket counts, one happening at a time.
#[derive(Clone, Copy, Debug)]
pub enum Count {
    /// A message arrived.
    Arrival,
    /// An attempt started.
    Attempt,
    /// An attempt ended.
    AttemptEnded,
    /// A message was delivered.
    Delivered,
    /// A message bounced.
    Bounced,
    /// A message expired.
    Expired,
    /// A deferral with this failure.
    Deferred(Reply),
}

/// The bucketed series of a run.
#[derive(Clone, Debug)]
pub struct Buckets {
    every: u64,
    coarsened: u32,
    buckets: Vec<Bucket>,
    /// Per host: (bucket, contacts, successes), buckets ascending.
    hosts: Vec<Vec<(usize, u64, u64)>>,
    queued: u64,
    in_flight: u64,
}

impl Buckets {
    /// Buckets of `every` ms for `hosts` hosts.
    pub fn new(every: u64, hosts: usize) -> Self {
        Buckets {
            every: every.max(1),
            coarsened: 0,
            buckets: Vec::new(),
            hosts: vec![Vec::new(); hosts],
            queued: 0,
            in_flight: 0,
        }
    }

    /// The bucket of time `t` ms, created (with the gauges as they are now) if new.
    fn bucket(&mut self, t: u64) -> usize {
        while t / self.every >= Series::BUCKETS_MAX as u64 {
            self.coarsen();
        }
        let b = (t / self.every) as usize;
        while self.buckets.len() <= b {
            self.buckets.push(Bucket {
                queued: self.queued,
                in_flight: self.in_flight,
                ..Bucket::default()
            });
        }
        b
    }

    /// Counts `what` at `t` ms (times never go backwards: the recorder's order).
    pub fn count(&mut self, t: u64, what: Count) {
        let b = self.bucket(t);
        let bucket = &mut self.buckets[b];
        match what {
            Count::Arrival => {
                bucket.arrivals += 1;
                self.queued += 1;
            }
            Count::Attempt => {
                bucket.attempts += 1;
                self.in_flight += 1;
            }
            Count::AttemptEnded => self.in_flight -= 1,
            Count::Delivered => {
                bucket.delivered += 1;
                self.queued -= 1;
            }
            Count::Bounced => {
                bucket.bounced += 1;
                self.queued -= 1;
            }
            Count::Expired => {
                bucket.expired += 1;
                self.queued -= 1;
            }
            Count::Deferred(reply) => {
                bucket.deferred += 1;
                match bucket
                    .deferred_by_code
                    .iter_mut()
                    .find(|(r, _)| *r == reply)
                {
                    Some(e) => e.1 += 1,
                    None => bucket.deferred_by_code.push((reply, 1)),
                }
            }
        }
    }

    /// Host `host` was contacted at `t` ms (contact times run slightly ahead of the stream:
    /// an attempt's hops are known when it starts).
    pub fn contact(&mut self, host: HostId, t: u64, success: bool) {
        while t / self.every >= Series::BUCKETS_MAX as u64 {
            self.coarsen();
        }
        let b = (t / self.every) as usize;
        let points = &mut self.hosts[host.index()];
        // NOTE(perf): contacts come in nearly time order, so the last point is the usual one.
        match points.last_mut() {
            Some(p) if p.0 == b => {
                p.1 += 1;
                p.2 += u64::from(success);
                return;
            }
            Some(p) if p.0 > b => {}
            _ => {
                points.push((b, 1, u64::from(success)));
                return;
            }
        }
        let at = points.partition_point(|p| p.0 < b);
        match points.get_mut(at) {
            Some(p) if p.0 == b => {
                p.1 += 1;
                p.2 += u64::from(success);
            }
            _ => points.insert(at, (b, 1, u64::from(success))),
        }
    }

    /// Doubles the width, merging pairs of buckets (gauges: the first's, its start's).
    fn coarsen(&mut self) {
        self.every = self.every.saturating_mul(2);
        self.coarsened += 1;
        let old = std::mem::take(&mut self.buckets);
        for (i, b) in old.into_iter().enumerate() {
            if i % 2 == 0 {
                self.buckets.push(b);
            } else {
                let m = self.buckets.last_mut().expect("an even bucket precedes");
                m.arrivals += b.arrivals;
                m.attempts += b.attempts;
                m.delivered += b.delivered;
                m.bounced += b.bounced;
                m.expired += b.expired;
                m.deferred += b.deferred;
                for (r, n) in b.deferred_by_code {
                    match m.deferred_by_code.iter_mut().find(|(x, _)| *x == r) {
                        Some(e) => e.1 += n,
                        None => m.deferred_by_code.push((r, n)),
                    }
                }
            }
        }
        for points in &mut self.hosts {
            let mut merged: Vec<(usize, u64, u64)> = Vec::with_capacity(points.len());
            for &(b, c, s) in points.iter() {
                match merged.last_mut() {
                    Some(m) if m.0 == b / 2 => {
                        m.1 += c;
                        m.2 += s;
                    }
                    _ => merged.push((b / 2, c, s)),
                }
            }
            *points = merged;
        }
    }

    /// Extends the buckets to cover `end` ms and returns the series.
    pub fn series(&mut self, end: u64, names: &[String]) -> Series {
        self.bucket(end);
        let every = self.every;
        Series {
            every_ms: every,
            coarsened: self.coarsened,
            buckets: self
                .buckets
                .iter()
                .enumerate()
                .map(|(i, b)| SeriesBucket {
                    t_ms: i as u64 * every,
                    arrivals: b.arrivals,
                    attempts: b.attempts,
                    delivered: b.delivered,
                    bounced: b.bounced,
                    expired: b.expired,
                    deferred: b.deferred,
                    deferred_by_code: b.deferred_by_code.iter().fold(
                        BTreeMap::new(),
                        |mut m, (r, n)| {
                            *m.entry(r.code.to_string()).or_insert(0) += n;
                            m
                        },
                    ),
                    queued: b.queued,
                    in_flight: b.in_flight,
                })
                .collect(),
            hosts: self
                .hosts
                .iter()
                .zip(names)
                .filter(|(p, _)| !p.is_empty())
                .map(|(points, name)| HostSeries {
                    host: name.clone(),
                    points: points
                        .iter()
                        .map(|&(b, c, s)| HostPoint {
                            t_ms: b as u64 * every,
                            contacts: c,
                            successes: s,
                            success_rate: s as f64 / c as f64,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_bucket_and_gauges_are_taken_at_bucket_starts() {
        let mut s = Buckets::new(1000, 1);
        s.count(10, Count::Arrival);
        s.count(10, Count::Attempt);
        s.count(1500, Count::AttemptEnded);
        s.count(1500, Count::Delivered);
        s.contact(HostId(0), 20, true);
        let out = s.series(2500, &["h".into()]);
        assert_eq!(out.buckets.len(), 3);
        assert_eq!((out.buckets[0].queued, out.buckets[0].arrivals), (0, 1));
        assert_eq!((out.buckets[1].queued, out.buckets[1].in_flight), (1, 1));
        assert_eq!(out.buckets[1].delivered, 1);
        assert_eq!((out.buckets[2].queued, out.buckets[2].in_flight), (0, 0));
        assert_eq!(out.hosts[0].points[0].success_rate, 1.0);
    }

    #[test]
    fn width_doubles_instead_of_growing_past_the_cap() {
        let mut s = Buckets::new(1, 1);
        for t in 0..20_000u64 {
            s.count(t, Count::Arrival);
            s.contact(HostId(0), t, t % 2 == 0);
        }
        let out = s.series(20_000, &["h".into()]);
        assert!(out.buckets.len() <= Series::BUCKETS_MAX);
        assert_eq!(out.buckets.iter().map(|b| b.arrivals).sum::<u64>(), 20_000);
        assert_eq!(
            out.hosts[0].points.iter().map(|p| p.contacts).sum::<u64>(),
            20_000
        );
        assert_eq!(out.every_ms, 1 << out.coarsened);
        assert!(out.buckets.windows(2).all(|w| w[0].queued < w[1].queued));
    }
}
