//! One delivery attempt: the walk from the sender through the route's relays (or relay pools)
//! to the MX hosts, deciding what each host answers and what the sender finally sees.
//!
//! Rules (DESIGN §3 table; `reference/smtp-facts.md` §3 step 13; `mta-defaults.md` (a)):
//! - hosts are tried in order (MX candidates, or a pool's members from the chosen one); a host
//!   that is down refuses the connection (451 4.4.1, one round trip) or, if it is silent, costs
//!   the connect timeout; with connect retries the same host is tried again after a backoff;
//! - a host over capacity refuses with its over-capacity reply (421 4.3.2) or makes the client
//!   wait in its backlog; a greeting later than the greeting timeout is 4.4.2;
//! - these connection-level failures always move on to the next host; a 4xx inside a session
//!   (greylisting 451 4.7.1, a relay's 451 4.4.3) moves on only under the Postfix rule
//!   ([`NextMx::AnySoft`], at most `session_limit` sessions), not under
//!   [`NextMx::ConnectionOnly`] (Haraka, Stalwart, KumoMTA, Postal);
//! - the first 2yz or 5yz decides: unknown user 550 5.1.1, the host's reject share; no next MX
//!   after a 5yz; with no link to any candidate the destination is unroutable: 550 5.4.4;
//! - a cut-through relay (RFC 3463's "routing server") forwards inside the session; if
//!   everything beyond it fails transiently it answers **451 4.4.3**; permanent answers from
//!   beyond pass through. A relay listed as an MX forwards to the MX hosts preferred to itself
//!   (RFC 5321 §5.1 step 9); a walk deeper than the hop limit is a loop: 554 5.4.6;
//! - after the whole route fails softly, the fallback relay is tried (Postfix
//!   `smtp_fallback_relay`), unless the local host is an MX of the domain; a permanent answer
//!   from it is deferred as 451 4.3.5, as Postfix does.
//!
//! Timing: each exchange costs one round trip (2 × link latency). A full session:
//! [`SETUP_ROUND_TRIPS`] + 3 (MAIL/RCPT/DATA pipelined per RFC 2920, message + final dot,
//! QUIT), plus the host's service time; a reused cached connection skips the
//! [`SETUP_ROUND_TRIPS`] (and [`TLS_ROUND_TRIPS`]). A greylisting MX answers RCPT and the
//! client quits (setup + 2). A cut-through relay opens its downstream session after the
//! sender's RCPT (setup + 1) and answers the sender's DATA after it (+ 2).
//!
//! Invariant: host states are evaluated at the simulated time each host is contacted, and only
//! through [`HostHealth`], so the environment is the same under any policy.

use crate::dns::Candidate;
use crate::failure::HostHealth;
mod serve;

use self::serve::Session;
use crate::happening::Hop;
use crate::network::{Admission, ConnectionCache, Idle, Network, PoolState, Stage};
use crate::random::AttemptRandom;
use crate::scenario::{ConnectSpec, DownAs, HostId, HostSpec, NextMx, Role};
use crate::smtp::{codes, Reply};
use crate::time::{SimDuration, SimTime};
use crate::topology::Topology;

/// Round trips of a new connection before MAIL: connect + greeting, EHLO.
pub const SETUP_ROUND_TRIPS: u64 = 2;

/// Extra round trips of STARTTLS on a new connection: STARTTLS, a TLS 1.3 handshake, EHLO.
pub const TLS_ROUND_TRIPS: u64 = 3;

/// What a walk produces besides its reply: every host contacted, and the store-and-forward
/// host that took the message, if one did. Kept apart from the walk's inputs so the attempt
/// can read it after the walker (and its borrows) are gone.
#[derive(Clone, Debug, Default)]
pub struct WalkOutput {
    /// Hosts contacted, in contact order.
    pub hops: Vec<Hop>,
    /// The store-and-forward host that accepted the message, if one did.
    pub accepted_by: Option<HostId>,
}

impl WalkOutput {
    /// Empties it for the next attempt (keeping the allocation).
    pub fn clear(&mut self) {
        self.hops.clear();
        self.accepted_by = None;
    }
}

/// The routing rules of the attempt's sender.
#[derive(Clone, Debug)]
pub struct WalkRules {
    /// Which soft failures move on to the next host.
    pub next_mx: NextMx,
    /// Connect retries and timeouts.
    pub connect: ConnectSpec,
    /// Relay tried after the route fails softly.
    pub fallback_relay: Option<HostId>,
    /// Deepest relay nesting before 554 5.4.6.
    pub hop_limit: u32,
}

/// How a host contact ended, for the next-host rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    /// No session: refused, unanswered, busy or greeting timeout.
    Connection,
    /// A session took place and its reply is final for this host.
    Session,
}

/// Everything an attempt needs to decide its outcome.
pub struct Walker<'a> {
    /// Host descriptions (role, down behaviour).
    pub hosts: &'a [HostSpec],
    /// Links and latencies.
    pub topology: &'a Topology,
    /// Per-host failure state, indexed by host id.
    pub health: &'a mut [HostHealth],
    /// Capacity and greylist state.
    pub net: &'a mut Network,
    /// The sender's routing rules.
    pub rules: &'a WalkRules,
    /// The sender's pool choice state.
    pub pools: &'a mut PoolState,
    /// The attempt's random draws (host coins), keyed by (message, attempt).
    pub draws: AttemptRandom,
    /// The recipient mailbox does not exist.
    pub unknown_recipient: bool,
    /// Recipient key of the greylisting triplet.
    pub recipient: u64,
    /// The sending host is one of the domain's MX hosts (no fallback relay then).
    pub local_is_mx: bool,
    /// The sender's connection cache, if it keeps one.
    pub conns: Option<&'a mut ConnectionCache>,
    /// What the walk produces (hops, the accepting store-and-forward host).
    pub out: &'a mut WalkOutput,
}

fn round_trips(latency: SimDuration, n: u64) -> SimDuration {
    SimDuration::from_ms(latency.as_ms().saturating_mul(2 * n))
}

/// An open connection: greeting received at `start` (for a reused one: when it was taken),
/// holding server `slot` if the host has a capacity; `setup` round trips pass before MAIL.
struct Open {
    start: SimTime,
    slot: Option<u32>,
    setup: u64,
}

/// Tries hosts in order under the next-host rule, keeping the last soft failure.
struct Alternatives {
    last: Option<Reply>,
    sessions: u32,
    now: SimTime,
}

impl Alternatives {
    fn starting_at(now: SimTime) -> Self {
        Alternatives {
            last: None,
            sessions: 0,
            now,
        }
    }

    /// Records one host's answer; `Some` when it ends the attempt: a 2yz or 5yz, or a soft
    /// failure after which `rule` does not try the next host.
    fn settle(
        &mut self,
        reply: Reply,
        end: SimTime,
        level: Level,
        rule: NextMx,
    ) -> Option<(Reply, SimTime)> {
        self.now = end;
        if !reply.is_transient() {
            return Some((reply, end));
        }
        self.last = Some(reply);
        let moves_on = match (level, rule) {
            (Level::Connection, _) => true,
            (Level::Session, NextMx::ConnectionOnly) => false,
            (Level::Session, NextMx::AnySoft { session_limit }) => {
                self.sessions += 1;
                self.sessions < session_limit
            }
        };
        (!moves_on).then_some((reply, end))
    }

    /// Every host tried (or none reachable): the last soft failure, or 5.4.4 when no host
    /// had a link.
    fn exhausted(&self) -> (Reply, SimTime) {
        (self.last.unwrap_or(codes::UNABLE_TO_ROUTE), self.now)
    }
}

impl Walker<'_> {
    /// Walks from `from` through `stages`, then to the `candidates`, starting at `t`.
    /// Returns what `from` is finally told and when.
    pub fn walk(
        &mut self,
        from: HostId,
        stages: &[Stage],
        candidates: &[Candidate],
        t: SimTime,
    ) -> (Reply, SimTime) {
        let (reply, end) = self.route(from, stages, 0, candidates, t, 0);
        match self.rules.fallback_relay {
            Some(fallback) if reply.is_transient() && !self.local_is_mx => {
                let Some(latency) = self.topology.latency(from, fallback) else {
                    return (reply, end);
                };
                let relay = Session::Relay {
                    stages: &[],
                    next: 0,
                    candidates,
                    depth: 1,
                };
                let (r, e, _) = self.contact(from, fallback, latency, end, 0, relay);
                let r = if r.is_permanent() {
                    codes::CONFIGURATION_ERROR
                } else if r.is_transient() {
                    reply
                } else {
                    r
                };
                (r, e)
            }
            _ => (reply, end),
        }
    }

    fn route(
        &mut self,
        from: HostId,
        stages: &[Stage],
        index: usize,
        candidates: &[Candidate],
        t: SimTime,
        depth: u32,
    ) -> (Reply, SimTime) {
        if depth > self.rules.hop_limit {
            return (codes::ROUTING_LOOP, t);
        }
        match stages.get(index) {
            Some(stage) => self.through_stage(from, stages, index, stage, candidates, t, depth),
            None => self.deliver_to_mx(from, candidates, t, depth),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn through_stage(
        &mut self,
        from: HostId,
        stages: &[Stage],
        index: usize,
        stage: &Stage,
        candidates: &[Candidate],
        t: SimTime,
        depth: u32,
    ) -> (Reply, SimTime) {
        let n = stage.members.len();
        let first = {
            let net = &mut *self.net;
            self.pools
                .choose(index, stage, &self.draws, |h| net.sessions_under_way(h, t))
        };
        let mut alt = Alternatives::starting_at(t);
        for k in 0..n {
            let member_index = (first + k) % n;
            let relay = stage.members[member_index];
            let Some(latency) = self.topology.latency(from, relay) else {
                continue;
            };
            let session = Session::Relay {
                stages,
                next: index + 1,
                candidates,
                depth: depth + 1,
            };
            let (reply, end, level) = self.contact(from, relay, latency, alt.now, depth, session);
            if n > 1 {
                self.pools
                    .outcome(index, member_index, !reply.is_transient());
            }
            if let Some(done) = alt.settle(reply, end, level, self.rules.next_mx) {
                return done;
            }
        }
        alt.exhausted()
    }

    fn deliver_to_mx(
        &mut self,
        from: HostId,
        candidates: &[Candidate],
        t: SimTime,
        depth: u32,
    ) -> (Reply, SimTime) {
        let mut alt = Alternatives::starting_at(t);
        for c in candidates {
            let mx = c.host;
            let Some(latency) = self.topology.latency(from, mx) else {
                continue;
            };
            let session = if self.hosts[mx.index()].queue_policy.is_some() {
                // A store-and-forward backup MX queues the mail for the better MX hosts.
                Session::Store
            } else if self.hosts[mx.index()].role == Role::Relay {
                Session::RelayAsMx {
                    candidates,
                    preference: c.preference,
                    depth,
                }
            } else {
                Session::Mx { client: from }
            };
            let (reply, end, level) = self.contact(from, mx, latency, alt.now, depth, session);
            if let Some(done) = alt.settle(reply, end, level, self.rules.next_mx) {
                return done;
            }
        }
        alt.exhausted()
    }

    /// `client` connects to `host` (with connect retries) and, once a session is open, runs `session`.
    /// Records one hop per connection tried. The sender's own connections (`depth` 0) may come
    /// from and return to its connection cache. Returns the reply, its time, and its level.
    fn contact(
        &mut self,
        client: HostId,
        host: HostId,
        latency: SimDuration,
        t: SimTime,
        depth: u32,
        session: Session<'_>,
    ) -> (Reply, SimTime, Level) {
        let connect = self.rules.connect;
        let h = host.index();
        let cached = match (&mut self.conns, depth) {
            (Some(cache), 0) => cache.take(host, t),
            _ => None,
        };
        // A cached connection is usable if the host is still up and a server takes the
        // session at once; otherwise it turns out closed and a new one is opened.
        if let Some(conn) = cached {
            if self.health[h].keeps_connections(t) {
                let slot = match &mut self.net.loads[h] {
                    None => Some(None),
                    Some(load) => load.admit_now(t).map(Some),
                };
                if let Some(slot) = slot {
                    if let Some(cache) = &mut self.conns {
                        cache.reused();
                    }
                    let open = Open {
                        start: t,
                        slot,
                        setup: 0,
                    };
                    let (reply, end) =
                        self.run_session(client, host, latency, t, open, Some(conn), session);
                    return (reply, end, Level::Session);
                }
            }
        }
        let tls = self.conns.as_ref().is_some_and(|c| c.spec().tls);
        let setup = SETUP_ROUND_TRIPS + if tls { TLS_ROUND_TRIPS } else { 0 };
        let mut at = t;
        let mut wait = connect.backoff.as_ms() as f64;
        for retry in 0..=connect.retries {
            if self.health[h].is_up_at(at, &self.draws, retry) {
                let open = match &mut self.net.loads[h] {
                    None => Open {
                        start: at,
                        slot: None,
                        setup,
                    },
                    Some(load) => match load.admit(at, connect.greeting_timeout) {
                        Admission::Served { slot, start } => Open {
                            start,
                            slot: Some(slot),
                            setup,
                        },
                        Admission::Refused => {
                            let reply = load.spec().reply;
                            self.push_hop(client, host, at, reply);
                            return (reply, at.after(round_trips(latency, 1)), Level::Connection);
                        }
                        Admission::TimedOut => {
                            self.push_hop(client, host, at, codes::CONNECTION_TIMED_OUT);
                            return (
                                codes::CONNECTION_TIMED_OUT,
                                at.after(connect.greeting_timeout),
                                Level::Connection,
                            );
                        }
                    },
                };
                let fresh = Idle {
                    opened: at,
                    idle_since: at,
                    deliveries: 0,
                };
                let conn = match (&mut self.conns, depth) {
                    (Some(cache), 0) => {
                        cache.opened();
                        Some(fresh)
                    }
                    _ => None,
                };
                let (reply, end) = self.run_session(client, host, latency, at, open, conn, session);
                return (reply, end, Level::Session);
            }
            self.push_hop(client, host, at, codes::NO_ANSWER);
            let failed_at = match self.hosts[h].down_as {
                DownAs::Refused => at.after(round_trips(latency, 1)),
                DownAs::Silent => at.after(connect.timeout),
            };
            if retry == connect.retries {
                return (codes::NO_ANSWER, failed_at, Level::Connection);
            }
            at = failed_at.after(SimDuration::from_ms(wait as u64));
            wait *= connect.factor;
        }
        unreachable!("the loop returns on its last try")
    }

    fn push_hop(&mut self, client: HostId, host: HostId, at: SimTime, reply: Reply) -> usize {
        self.out.hops.push(Hop {
            client,
            host,
            at_ms: at.as_ms(),
            reply,
            session: None,
            reused: false,
        });
        self.out.hops.len() - 1
    }

    /// Runs `session` on a connection opened at `connected`, records its hop, releases the
    /// server and returns the connection to the cache.
    #[allow(clippy::too_many_arguments)]
    fn run_session(
        &mut self,
        client: HostId,
        host: HostId,
        latency: SimDuration,
        connected: SimTime,
        open: Open,
        conn: Option<Idle>,
        session: Session<'_>,
    ) -> (Reply, SimTime) {
        let index = self.push_hop(client, host, connected, codes::OK);
        let (slot, start, reused) = (open.slot, open.start, open.setup == 0);
        let (reply, end) = self.serve(host, latency, open, session);
        let hop = &mut self.out.hops[index];
        hop.reply = reply;
        hop.session = Some([start.as_ms(), end.as_ms()]);
        hop.reused = reused;
        if let Some(slot) = slot {
            if let Some(load) = &mut self.net.loads[host.index()] {
                load.occupy(slot, end);
            }
        }
        if let (Some(cache), Some(conn)) = (&mut self.conns, conn) {
            cache.put(host, conn, end);
        }
        self.net.session_opened(host, end);
        (reply, end)
    }
}
