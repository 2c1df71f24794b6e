//! What happens in a run, as one closed enum: the stream every observer reads.
//!
//! The simulation reports each happening once, to the recorder (`recorder.rs`),
//! which turns the stream into the digest, the trace records (when asked) and the metrics.
//! Nothing that observes a run re-derives what happened from internal state, so the digest,
//! the trace and the report cannot disagree (DESIGN §8). Route traces, failure analysis and the
//! browser read this stream too.
//!
//! A message's happenings, in order: `Arrival`; then per attempt either `Gated` (held back
//! before it started) or `Waiting` (for a queue slot) and/or `Attempt` (its hops and DNS,
//! decided when it starts) followed by one of `Deferred`, `Delivered`, `Bounced` or `Relayed`
//! (into a store-and-forward relay's queue, where the cycle repeats); finally `Expired` if the
//! lifetime ran out. `DelayWarning` can come at any time before the end.

use crate::ids::{HostId, MtaId};
use crate::network::Lookup;
use crate::policy::{Decision, RetryPolicy};
use crate::shared::Gate;
use crate::smtp::Reply;
use crate::time::{SimDuration, SimTime};

/// One host contacted during an attempt, and what it answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    /// The host that opened the connection (the MTA's own host, or the cut-through relay
    /// forwarding inside its session): hops form a tree in contact order, and this is the edge.
    pub client: HostId,
    /// The host contacted.
    pub host: HostId,
    /// When the connection was opened (ms since start).
    pub at_ms: u64,
    /// What the host answered to its client.
    pub reply: Reply,
    /// The session the host served, greeting to end (ms), when one opened.
    pub session: Option<[u64; 2]>,
    /// The session reused a cached connection.
    pub reused: bool,
}

/// The DNS part of an attempt made through a resolver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsUse {
    /// The resolver host.
    pub resolver: HostId,
    /// What the cache or resolver supplied.
    pub lookup: Lookup,
    /// When the resolver itself was asked: what it answered (a cache hit asks nobody).
    pub asked: Option<Reply>,
}

/// One delivery attempt, decided when it starts.
#[derive(Clone, Copy, Debug)]
pub struct AttemptHappening<'a> {
    /// 1-based attempt number within the MTA holding the message.
    pub n: u32,
    /// The MTA making it (the sender, or a store-and-forward relay).
    pub mta: MtaId,
    /// The host that MTA runs on.
    pub from: HostId,
    /// Hosts contacted, in contact order.
    pub hops: &'a [Hop],
    /// What the MTA is finally told.
    pub reply: Reply,
    /// When the reply reaches it.
    pub end: SimTime,
    /// The MX lookup, when the MTA uses a resolver.
    pub dns: Option<DnsUse>,
    /// The store-and-forward MTA that accepted the message, if one did.
    pub accepted_by: Option<MtaId>,
}

/// Something that happened to one message at one instant.
#[derive(Clone, Copy, Debug)]
pub enum Happening<'a> {
    /// The message entered the sender's queue.
    Arrival {
        /// Recipient domain.
        domain: crate::ids::DomainId,
        /// Addressed to a mailbox that does not exist.
        unknown_recipient: bool,
    },
    /// An attempt started (its whole walk is known at once).
    Attempt(AttemptHappening<'a>),
    /// Due, but the queue manager has no slot: the message waits in the active queue.
    Waiting,
    /// Shared retry state held the attempt back; nothing was contacted.
    Gated {
        /// Which gate.
        gate: Gate,
        /// The failure the message would expire with.
        reply: Reply,
        /// What follows (a retry at the gate's time, or the expiry).
        decision: Decision,
    },
    /// A transient failure; the policy chose what follows.
    Deferred {
        /// The failure.
        reply: Reply,
        /// The policy's decision (retry at, or give up at).
        decision: Decision,
        /// The policy that decided (its rule text is printed from it only when traced).
        policy: &'a RetryPolicy,
    },
    /// A store-and-forward relay accepted the message into its own queue.
    Relayed {
        /// Its MTA.
        to: MtaId,
        /// Its host.
        host: HostId,
    },
    /// Accepted by a final MX.
    Delivered {
        /// Arrival to delivery.
        delay: SimDuration,
        /// Attempts made by the MTA that delivered it.
        attempts: u32,
    },
    /// A permanent failure; the message returns to its sender.
    Bounced {
        /// The failure.
        reply: Reply,
    },
    /// The queue lifetime ran out (4.4.7).
    Expired {
        /// The last failure seen (`None`: it expired waiting for its first queue slot, with
        /// no attempt made).
        last: Option<Reply>,
    },
    /// A "delayed" DSN was sent (the policy's `delay_warnings`).
    DelayWarning {
        /// 1-based number of the warning within the MTA holding the message.
        n: u32,
        /// The message's age in that MTA's queue.
        age: SimDuration,
    },
}

impl Happening<'_> {
    /// Whether this ends the message's attempt under way (for in-flight tracking).
    pub fn ends_attempt(&self) -> bool {
        matches!(
            self,
            Happening::Deferred { .. }
                | Happening::Delivered { .. }
                | Happening::Bounced { .. }
                | Happening::Relayed { .. }
        )
    }
}
