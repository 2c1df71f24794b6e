//! The recorder: the one consumer of the happening stream inside a run.
//!
//! Every [`Happening`] goes through [`Recorder::record`], which feeds it to the digest (always;
//! the tag table below is the digest's definition), to the metrics (always), and to the trace
//! records and in-flight table (only when recording is on). Because all three read the same
//! stream, the trace and the digest cover the same happenings and the report counts what the
//! trace shows.
//!
//! NOTE(perf): with recording off, a happening costs a few multiply-xor steps and counter
//! updates; names are looked up and records built only when recording.

use crate::happening::{AttemptHappening, Happening, Hop};
use crate::ids::{MessageId, MtaId};
use crate::metrics::Metrics;
use crate::observe::blame::Blame;
use crate::observe::select::Selector;
use crate::observe::Observer;
use crate::scenario::Scenario;
use crate::time::SimTime;
use crate::trace::{Digest, HopRecord, TraceKind, TraceRecord};
use std::collections::BTreeMap;

/// Digest tags, one per happening kind. Stable: changing one changes every golden digest.
mod tag {
    pub const ARRIVAL: u64 = 1;
    pub const ATTEMPT: u64 = 2;
    pub const DELIVERED: u64 = 3;
    pub const BOUNCED: u64 = 4;
    pub const DEFERRED: u64 = 5;
    pub const EXPIRED: u64 = 6;
    pub const GATED: u64 = 7;
    /// Inside an attempt: its DNS lookup follows.
    pub const ATTEMPT_DNS: u64 = 8;
    pub const WAITING: u64 = 9;
    /// A hand-off; also, inside an attempt, the relay MTA that made it.
    pub const RELAYED: u64 = 10;
    pub const DELAY_WARNING: u64 = 11;
}

/// An attempt under way, kept while recording (for snapshots).
#[derive(Clone, Debug)]
pub struct InFlight {
    /// 1-based attempt number.
    pub n: u32,
    /// When it started.
    pub started: SimTime,
    /// When its outcome reaches the MTA.
    pub ends: SimTime,
    /// Hosts it contacts.
    pub hops: Vec<Hop>,
}

/// Digest, metrics and (optionally) trace and detailed observation of one run.
#[derive(Clone, Debug)]
pub struct Recorder {
    digest: Digest,
    metrics: Metrics,
    trace: Option<Vec<TraceRecord>>,
    /// Records moved out by `take_trace`, released or dropped so far: the run-wide index of
    /// the first record still kept.
    taken: usize,
    /// Most records kept at once, when bounded (`record_trace_bounded`): the oldest half is
    /// dropped when it is reached.
    kept_max: Option<usize>,
    /// Records dropped unread because of `kept_max`.
    dropped: usize,
    /// When set, only these messages' records are kept (ascending ids).
    only: Option<Vec<MessageId>>,
    in_flight: BTreeMap<MessageId, InFlight>,
    observer: Option<Box<Observer>>,
    selector: Option<Box<Selector>>,
    blame: Blame,
}

impl Recorder {
    /// A recorder for a scenario with `hosts` hosts; recording off.
    pub fn new(hosts: usize) -> Self {
        Recorder {
            digest: Digest::default(),
            metrics: Metrics::new(hosts),
            trace: None,
            taken: 0,
            kept_max: None,
            dropped: 0,
            only: None,
            in_flight: BTreeMap::new(),
            observer: None,
            selector: None,
            blame: Blame::default(),
        }
    }

    /// Keeps trace records of the messages `ids` only (for `mxsim trace`: a second, identical
    /// run that records just the selected messages, so memory does not grow with the run).
    pub fn record_trace_of(&mut self, mut ids: Vec<MessageId>) {
        ids.sort_unstable();
        ids.dedup();
        self.only = Some(ids);
        self.record_trace();
    }

    /// Observes the run in detail from now on (routing metrics, series, analysis), bucketing
    /// at `every` ms.
    pub fn observe(&mut self, hosts: usize, every: u64) {
        self.observer
            .get_or_insert_with(|| Box::new(Observer::new(hosts, every)));
    }

    /// Remembers per message what `selector` needs to choose messages to trace.
    pub fn select(&mut self, selector: Selector) {
        self.selector = Some(Box::new(selector));
    }

    /// The selector, when selecting.
    pub fn selector(&self) -> Option<&Selector> {
        self.selector.as_deref()
    }

    /// The detailed observer, when observing.
    pub fn observer(&self) -> Option<&Observer> {
        self.observer.as_deref()
    }

    /// Keeps trace records and in-flight attempts from now on.
    pub fn record_trace(&mut self) {
        self.trace.get_or_insert_with(Vec::new);
    }

    /// Trace records kept so far (empty unless recording), after the ones taken out.
    pub fn trace(&self) -> &[TraceRecord] {
        self.trace.as_deref().unwrap_or(&[])
    }

    /// Moves out the records kept so far; recording goes on.
    pub fn take_trace(&mut self) -> Vec<TraceRecord> {
        let out = self.trace.as_mut().map(std::mem::take).unwrap_or_default();
        self.taken += out.len();
        out
    }

    /// How many records were taken out (the index of the first record still kept).
    pub fn taken(&self) -> usize {
        self.taken
    }

    /// Keeps at most `max` records at once (≥ 2): when full, the oldest half is dropped and
    /// counted, so a page that stops reading cannot exhaust memory.
    pub fn bound_trace(&mut self, max: usize) {
        self.kept_max = Some(max.max(2));
    }

    /// Releases the records before run-wide index `index` (already read).
    pub fn release_before(&mut self, index: usize) {
        if let Some(records) = &mut self.trace {
            let n = index.saturating_sub(self.taken).min(records.len());
            records.drain(..n);
            self.taken += n;
        }
    }

    /// Records dropped unread because the bound was reached.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Attempts under way (empty unless recording).
    pub fn in_flight(&self) -> &BTreeMap<MessageId, InFlight> {
        &self.in_flight
    }

    /// The run's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The digest so far, as 16 hex digits.
    pub fn digest(&self) -> String {
        self.digest.hex()
    }

    /// Records that `happening` happened to message `id` at `t`.
    #[inline]
    pub fn record(&mut self, scenario: &Scenario, t: SimTime, id: MessageId, h: Happening<'_>) {
        self.fold(t, id, &h);
        self.count(&h);
        if let Some(o) = &mut self.observer {
            o.observe(t, id, &h);
        }
        if let Some(s) = &mut self.selector {
            s.observe(t, id, &h);
        }
        if self.trace.is_some()
            && self
                .only
                .as_ref()
                .is_none_or(|ids| ids.binary_search(&id).is_ok())
        {
            self.keep(scenario, t, id, &h);
        }
    }

    /// The digest's definition: per happening, its tag, the time, the message, then its fields.
    #[inline]
    fn fold(&mut self, t: SimTime, id: MessageId, h: &Happening<'_>) {
        let d = &mut self.digest;
        let head = |d: &mut Digest, tag: u64| {
            d.word(tag);
            d.word(t.as_ms());
            d.word(u64::from(id.0));
        };
        match *h {
            Happening::Arrival {
                domain,
                unknown_recipient,
            } => {
                head(d, tag::ARRIVAL);
                d.word(u64::from(domain.0) << 1 | u64::from(unknown_recipient));
            }
            Happening::Attempt(ref a) => {
                head(d, tag::ATTEMPT);
                d.word(u64::from(a.n - 1));
                d.word(a.hops.len() as u64);
                for hop in a.hops {
                    d.word(u64::from(hop.host.0));
                    d.word(hop.at_ms);
                    d.reply(hop.reply);
                }
                d.reply(a.reply);
                d.word(a.end.as_ms());
                if let Some(dns) = &a.dns {
                    d.word(tag::ATTEMPT_DNS);
                    d.word(dns.lookup.source as u64);
                    d.word(dns.lookup.done_ms);
                }
                if a.mta != MtaId::SENDER {
                    d.word(tag::RELAYED);
                    d.word(u64::from(a.mta.0));
                }
            }
            Happening::Waiting => head(d, tag::WAITING),
            Happening::Gated { gate, decision, .. } => {
                head(d, tag::GATED);
                d.word(gate as u64);
                d.word(decision.at().as_ms());
            }
            Happening::Deferred {
                reply, decision, ..
            } => {
                head(d, tag::DEFERRED);
                d.reply(reply);
                d.word(decision.at().as_ms());
            }
            Happening::Relayed { to, .. } => {
                head(d, tag::RELAYED);
                d.word(u64::from(to.0));
            }
            Happening::Delivered { .. } => head(d, tag::DELIVERED),
            Happening::Bounced { reply } => {
                head(d, tag::BOUNCED);
                d.reply(reply);
            }
            Happening::Expired { .. } => head(d, tag::EXPIRED),
            Happening::DelayWarning { n, .. } => {
                head(d, tag::DELAY_WARNING);
                d.word(u64::from(n));
            }
        }
    }

    #[inline]
    fn count(&mut self, h: &Happening<'_>) {
        let m = &mut self.metrics;
        match *h {
            Happening::Arrival { .. } => m.arrival(),
            Happening::Attempt(ref a) => m.attempt(a),
            Happening::Waiting | Happening::Deferred { .. } | Happening::Relayed { .. } => {}
            Happening::Gated { gate, .. } => m.gated(gate),
            Happening::Delivered { delay, attempts } => m.delivered(delay, attempts),
            Happening::Bounced { reply } => m.bounced(reply),
            Happening::Expired { last } => m.expired(last),
            Happening::DelayWarning { .. } => m.warned(),
        }
    }

    fn keep(&mut self, scenario: &Scenario, t: SimTime, id: MessageId, h: &Happening<'_>) {
        let name = |host: crate::ids::HostId| scenario.hosts[host.index()].id.clone();
        let kind = match *h {
            Happening::Arrival {
                domain,
                unknown_recipient,
            } => TraceKind::Arrival {
                domain: scenario.domains[domain.index()].name.clone(),
                unknown_recipient,
            },
            Happening::Attempt(ref a) => {
                self.in_flight.insert(
                    id,
                    InFlight {
                        n: a.n,
                        started: t,
                        ends: a.end,
                        hops: a.hops.to_vec(),
                    },
                );
                self.blame.of(a.from, a.hops, a.dns.as_ref(), a.reply);
                attempt_record(scenario, a, &self.blame)
            }
            Happening::Waiting => TraceKind::Waiting,
            Happening::Gated {
                gate,
                reply,
                decision,
            } => TraceKind::Deferred {
                reply,
                retry_at_ms: decision.at().as_ms(),
                rule: format!("gated: {}", gate.text()),
            },
            Happening::Deferred {
                reply,
                decision,
                policy,
            } => TraceKind::Deferred {
                reply,
                retry_at_ms: decision.at().as_ms(),
                rule: policy.rule_text(&decision),
            },
            Happening::Relayed { host, .. } => TraceKind::Relayed { to: name(host) },
            Happening::Delivered { delay, .. } => TraceKind::Delivered {
                delay_ms: delay.as_ms(),
            },
            Happening::Bounced { reply } => TraceKind::Bounced { reply },
            Happening::Expired { last } => TraceKind::Expired { last },
            Happening::DelayWarning { n, age } => TraceKind::DelayWarning {
                n,
                age_ms: age.as_ms(),
            },
        };
        if h.ends_attempt() {
            self.in_flight.remove(&id);
        }
        if let Some(records) = &mut self.trace {
            if let Some(max) = self.kept_max {
                if records.len() >= max {
                    let n = max / 2;
                    records.drain(..n);
                    self.taken += n;
                    self.dropped += n;
                }
            }
            records.push(TraceRecord {
                t_ms: t.as_ms(),
                message: u64::from(id.0),
                kind,
            });
        }
    }
}

fn attempt_record(scenario: &Scenario, a: &AttemptHappening<'_>, blame: &Blame) -> TraceKind {
    let name = |host: crate::ids::HostId| scenario.hosts[host.index()].id.clone();
    TraceKind::Attempt {
        n: a.n,
        hops: a
            .hops
            .iter()
            .zip(&blame.parent)
            .map(|(h, parent)| HopRecord {
                host: name(h.host),
                at_ms: h.at_ms,
                reply: h.reply,
                session_ms: h.session,
                reused: h.reused,
                via: parent.map(|p| name(a.hops[p].host)),
            })
            .collect(),
        reply: a.reply,
        end_ms: a.end.as_ms(),
        dns: a.dns.map(|d| d.lookup),
        resolver: a.dns.map(|d| name(d.resolver)),
        from: (a.mta != MtaId::SENDER).then(|| name(a.from)),
        blamed: blame.leaves.clone(),
    }
}
