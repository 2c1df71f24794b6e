//! The event trace: what happened to every message, as records that can be written as JSON
//! Lines, and a digest over all of them that pins a run's behaviour.
//!
//! The digest is always computed (cheap: a few multiply-xor steps per record, no allocation);
//! the records themselves are kept only when recording is switched on, so tracing stays off
//! the hot path when disabled.
//!
//! Digest definition (stable; changing it changes every golden digest): FNV-1a-style folding of
//! 64-bit words — `h = (h ^ word) · 0x100000001b3` from `h = 0xcbf29ce484222325` — over each
//! happening's fields in the order the recorder feeds them (its tag table, in
//! `recorder.rs`: kind tag, time, message, then the kind's fields, hops as host, time, basic
//! code, class, subject, detail), finished with a SplitMix64 avalanche and printed as 16 hex
//! digits. Records are built from the same happenings (`recorder::Recorder`).

use crate::smtp::Reply;
use serde::Serialize;

/// Serialises a reply as its text, `"451 4.4.3"`.
pub fn reply_text<S: serde::Serializer>(r: &Reply, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(r)
}

/// Serialises an optional reply as its text, or `null`.
pub fn optional_reply_text<S: serde::Serializer>(
    r: &Option<Reply>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.collect_str(r),
        None => s.serialize_none(),
    }
}

/// A running digest of the trace.
#[derive(Clone, Copy, Debug)]
pub struct Digest {
    state: u64,
}

impl Default for Digest {
    fn default() -> Self {
        Digest {
            state: 0xcbf2_9ce4_8422_2325,
        }
    }
}

impl Digest {
    /// Folds one word in.
    #[inline]
    pub fn word(&mut self, w: u64) {
        self.state = (self.state ^ w).wrapping_mul(0x0000_0100_0000_01b3);
    }

    /// Folds a reply in.
    #[inline]
    pub fn reply(&mut self, r: Reply) {
        self.word(u64::from(r.basic));
        self.word(
            u64::from(r.code.class) << 32
                | u64::from(r.code.subject) << 16
                | u64::from(r.code.detail),
        );
    }

    /// The finished digest as 16 hex digits.
    pub fn hex(&self) -> String {
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        format!("{:016x}", z ^ (z >> 31))
    }
}

/// What happened, per record.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceKind {
    /// A message entered the sender's queue.
    Arrival {
        /// Recipient domain name.
        domain: String,
        /// Addressed to an unknown mailbox.
        unknown_recipient: bool,
    },
    /// A delivery attempt started; `hops` lists every host contacted and its answer.
    Attempt {
        /// 1-based attempt number.
        n: u32,
        /// Hosts contacted, in order.
        hops: Vec<HopRecord>,
        /// What the sender was told.
        #[serde(serialize_with = "reply_text")]
        reply: Reply,
        /// When the attempt ends.
        end_ms: u64,
        /// The MX lookup, when the sender uses a resolver.
        #[serde(skip_serializing_if = "Option::is_none")]
        dns: Option<crate::network::Lookup>,
        /// The resolver asked, when the sender uses one.
        #[serde(skip_serializing_if = "Option::is_none")]
        resolver: Option<String>,
        /// Indices into `hops` of the hops to blame: they failed and contacted nobody beyond
        /// (the one rule of `observe::blame`). Empty when no hop failed.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        blamed: Vec<usize>,
        /// The store-and-forward relay making the attempt (absent: the sender).
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// Due, but the queue manager had no slot: the message waits in the active queue.
    Waiting,
    /// A "delayed" DSN was sent to the message's sender.
    DelayWarning {
        /// 1-based number of the warning within the queue holding the message.
        n: u32,
        /// The message's age in that queue, ms.
        age_ms: u64,
    },
    /// A store-and-forward relay accepted the message into its own queue.
    Relayed {
        /// The relay now holding it.
        to: String,
    },
    /// Accepted by the final hop.
    Delivered {
        /// Arrival to delivery, ms.
        delay_ms: u64,
    },
    /// A transient failure; the message waits for its next try.
    Deferred {
        /// The failure.
        #[serde(serialize_with = "reply_text")]
        reply: Reply,
        /// When it will be retried.
        retry_at_ms: u64,
        /// Which rule chose the delay (`RetryPolicy::rule_text`, or `gated: <reason>`).
        rule: String,
    },
    /// A permanent failure: the message is returned to its sender.
    Bounced {
        /// The failure.
        #[serde(serialize_with = "reply_text")]
        reply: Reply,
    },
    /// The queue lifetime ran out (4.4.7); `last` is the last real failure.
    Expired {
        /// Last failure seen (`null`: it expired waiting for its first queue slot).
        #[serde(serialize_with = "optional_reply_text")]
        last: Option<Reply>,
    },
}

/// A hop as written in the trace, with the host's name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HopRecord {
    /// Host id (name).
    pub host: String,
    /// Contact time, ms.
    pub at_ms: u64,
    /// Its answer.
    #[serde(serialize_with = "reply_text")]
    pub reply: Reply,
    /// The session it served, greeting to end, ms (absent when no session opened).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_ms: Option<[u64; 2]>,
    /// The session reused a cached connection.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
    /// The cut-through relay that contacted this host inside its session (absent: the MTA
    /// making the attempt did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// One trace record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceRecord {
    /// Simulated time, ms.
    pub t_ms: u64,
    /// Message id (dense, in arrival order).
    pub message: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: TraceKind,
}
