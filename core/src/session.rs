//! One delivery attempt: the walk from the sender through the route's relays to the MX hosts,
//! deciding what each host answers and what the sender finally sees.
//!
//! Rules (DESIGN §3 table; `reference/smtp-facts.md` §3 step 13):
//! - direct delivery tries the candidates in order; a host that is down refuses the connection
//!   (451 4.4.1) and the next candidate is tried in the same attempt; the first host that
//!   answers decides: 250 accepted, or a permanent 5yz (unknown user 550 5.1.1, or the host's
//!   reject share), which ends the attempt (no next MX after a 5yz);
//! - with no link to any candidate the destination is unroutable: 550 5.4.4;
//! - through a cut-through relay (RFC 3463's "routing server"): a relay that is down is a
//!   refused first hop (451 4.4.1); a relay that is up forwards inside the same session, and
//!   if everything beyond it fails transiently it answers **451 4.4.3**; permanent answers from
//!   beyond are passed through; a relay with no route answers 550 5.4.4.
//!
//! Timing: each exchange costs one round trip (2 × link latency). Refused connect: 1 round trip.
//! A full session: [`SESSION_ROUND_TRIPS`]. A cut-through relay opens its downstream session
//! after the sender's RCPT (3 round trips) and answers the sender's DATA after it.
//!
//! Invariant: host states are evaluated at the simulated time each host is contacted, and only
//! through [`HostHealth`], so the environment is the same under any policy.

use crate::failure::HostHealth;
use crate::random::AttemptRandom;
use crate::scenario::HostId;
use crate::smtp::{codes, Reply};
use crate::time::{SimDuration, SimTime};
use crate::topology::Topology;
use serde::Serialize;

/// Round trips of a complete SMTP session: connect + greeting, EHLO, MAIL/RCPT/DATA
/// (pipelined, RFC 2920), message + final dot, QUIT.
pub const SESSION_ROUND_TRIPS: u64 = 5;

/// Round trips before a cut-through relay starts its downstream session (after RCPT).
pub const ROUND_TRIPS_BEFORE_FORWARD: u64 = 3;

/// One host contacted during an attempt, and what it answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// The host contacted.
    pub host: u32,
    /// When the connection was opened (ms since start).
    pub at_ms: u64,
    /// What the host answered to its client.
    #[serde(serialize_with = "crate::trace::reply_text")]
    pub reply: Reply,
}

/// Everything an attempt needs to decide its outcome.
pub struct Walker<'a> {
    /// Links and latencies.
    pub topology: &'a Topology,
    /// Per-host failure state, indexed by host id.
    pub health: &'a mut [HostHealth],
    /// The attempt's random draws (host coins), keyed by (message, attempt).
    pub draws: AttemptRandom,
    /// The recipient mailbox does not exist.
    pub unknown_recipient: bool,
    /// Hosts contacted, in contact order (output).
    pub hops: &'a mut Vec<Hop>,
}

fn round_trips(latency: SimDuration, n: u64) -> SimDuration {
    SimDuration::from_ms(latency.as_ms().saturating_mul(2 * n))
}

impl Walker<'_> {
    /// Walks from `from` through `relays`, then to the `candidates`, starting at `t`.
    /// Returns what `from` is finally told and when.
    pub fn walk(
        &mut self,
        from: HostId,
        relays: &[HostId],
        candidates: &[HostId],
        t: SimTime,
    ) -> (Reply, SimTime) {
        match relays.split_first() {
            Some((&relay, rest)) => self.through_relay(from, relay, rest, candidates, t),
            None => self.deliver_to_mx(from, candidates, t),
        }
    }

    fn contact(&mut self, host: HostId, t: SimTime) -> Option<Reply> {
        let h = &mut self.health[host.0 as usize];
        if !h.is_up(t, &self.draws) {
            return Some(codes::NO_ANSWER);
        }
        h.rejects(&self.draws)
    }

    fn through_relay(
        &mut self,
        from: HostId,
        relay: HostId,
        rest: &[HostId],
        candidates: &[HostId],
        t: SimTime,
    ) -> (Reply, SimTime) {
        let Some(latency) = self.topology.latency(from, relay) else {
            return (codes::UNABLE_TO_ROUTE, t);
        };
        let index = self.hops.len();
        self.hops.push(Hop {
            host: relay.0,
            at_ms: t.as_ms(),
            reply: codes::OK,
        });
        if let Some(reply) = self.contact(relay, t) {
            self.hops[index].reply = reply;
            let rtts = if reply.is_transient() {
                1
            } else {
                SESSION_ROUND_TRIPS
            };
            return (reply, t.after(round_trips(latency, rtts)));
        }
        let forward_at = t.after(round_trips(latency, ROUND_TRIPS_BEFORE_FORWARD));
        let (downstream, done) = self.walk(relay, rest, candidates, forward_at);
        let reply = if downstream.is_success() {
            codes::OK
        } else if downstream.is_transient() {
            codes::ROUTING_SERVER_FAILURE
        } else {
            downstream
        };
        self.hops[index].reply = reply;
        let remaining = SESSION_ROUND_TRIPS - ROUND_TRIPS_BEFORE_FORWARD;
        (reply, done.after(round_trips(latency, remaining)))
    }

    fn deliver_to_mx(
        &mut self,
        from: HostId,
        candidates: &[HostId],
        t: SimTime,
    ) -> (Reply, SimTime) {
        let mut now = t;
        let mut last_failure = None;
        for &mx in candidates {
            let Some(latency) = self.topology.latency(from, mx) else {
                continue;
            };
            let index = self.hops.len();
            self.hops.push(Hop {
                host: mx.0,
                at_ms: now.as_ms(),
                reply: codes::OK,
            });
            match self.contact(mx, now) {
                Some(reply) if reply.is_transient() => {
                    self.hops[index].reply = reply;
                    last_failure = Some(reply);
                    now = now.after(round_trips(latency, 1));
                }
                Some(reply) => {
                    self.hops[index].reply = reply;
                    return (reply, now.after(round_trips(latency, SESSION_ROUND_TRIPS)));
                }
                None if self.unknown_recipient => {
                    self.hops[index].reply = codes::UNKNOWN_USER;
                    return (
                        codes::UNKNOWN_USER,
                        now.after(round_trips(latency, SESSION_ROUND_TRIPS)),
                    );
                }
                None => {
                    return (
                        codes::OK,
                        now.after(round_trips(latency, SESSION_ROUND_TRIPS)),
                    )
                }
            }
        }
        (last_failure.unwrap_or(codes::UNABLE_TO_ROUTE), now)
    }
}
