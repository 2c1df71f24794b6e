//! Choosing messages to trace (`mxsim trace`) without keeping the trace.
//!
//! A [`Selector`] reads the happening stream of a first run and keeps a few bytes per message
//! (its outcome, its age, whether it met the asked code or host); [`Selector::chosen`] then
//! names the messages. A second run of the same scenario and seed records only those
//! messages' trace records: the two runs are the same run (the digest proves it), so memory
//! stays proportional to the messages, never to the trace.

use crate::happening::Happening;
use crate::ids::{HostId, MessageId};
use crate::smtp::{EnhancedCode, Reply};
use crate::time::SimTime;
use serde::Serialize;

/// How a message's life ended (or had not, when the run stopped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still in a queue when the run stopped.
    Queued,
    /// Gave up at the queue lifetime.
    Expired,
    /// Failed permanently.
    Bounced,
    /// Accepted by a final MX.
    Delivered,
}

impl Outcome {
    /// The names `--outcome` accepts.
    pub const NAMES: [&'static str; 4] = ["delivered", "bounced", "expired", "queued"];

    /// The outcome named `name`.
    pub fn from_name(name: &str) -> Option<Outcome> {
        Some(match name {
            "delivered" => Outcome::Delivered,
            "bounced" => Outcome::Bounced,
            "expired" => Outcome::Expired,
            "queued" => Outcome::Queued,
            _ => return None,
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Bounced => "bounced",
            Outcome::Expired => "expired",
            Outcome::Queued => "queued",
        }
    }
}

/// Which messages to pick.
#[derive(Clone, Debug, Default)]
pub struct Criteria {
    /// Only messages that met this enhanced code (any hop's answer, any failure).
    pub code: Option<EnhancedCode>,
    /// Only messages whose attempts contacted this host (or asked it as their resolver).
    pub host: Option<HostId>,
    /// Only messages that ended so.
    pub outcome: Option<Outcome>,
}

/// In what order, and how many.
#[derive(Clone, Debug)]
pub enum Pick {
    /// These messages.
    Ids(Vec<MessageId>),
    /// The first `n` matching messages, by arrival.
    First(usize),
    /// The `n` worst matching messages: undelivered first (oldest first), then delivered by
    /// delay, longest first.
    Worst(usize),
}

/// A few bytes per message (NOTE(perf): 24 bytes; the trace itself is never kept).
#[derive(Clone, Copy, Debug)]
struct Summary {
    arrived: SimTime,
    ended: SimTime,
    outcome: Outcome,
    met_code: bool,
    met_host: bool,
}

/// Reads a run's happenings and remembers what selection needs.
#[derive(Clone, Debug)]
pub struct Selector {
    criteria: Criteria,
    messages: Vec<Summary>,
}

impl Selector {
    /// A selector for `criteria`.
    pub fn new(criteria: Criteria) -> Self {
        Selector {
            criteria,
            messages: Vec::new(),
        }
    }

    fn met(&mut self, id: MessageId, reply: Reply) {
        if self.criteria.code == Some(reply.code) {
            self.messages[id.index()].met_code = true;
        }
    }

    /// Observes one happening to message `id` at `t`.
    pub fn observe(&mut self, t: SimTime, id: MessageId, h: &Happening<'_>) {
        if let Happening::Arrival { .. } = h {
            debug_assert_eq!(
                id.index(),
                self.messages.len(),
                "ids are dense, in arrival order"
            );
            self.messages.push(Summary {
                arrived: t,
                ended: t,
                outcome: Outcome::Queued,
                met_code: false,
                met_host: false,
            });
            return;
        }
        match *h {
            Happening::Attempt(ref a) => {
                self.met(id, a.reply);
                for hop in a.hops {
                    self.met(id, hop.reply);
                    if self.criteria.host == Some(hop.host) {
                        self.messages[id.index()].met_host = true;
                    }
                }
                if let Some(d) = &a.dns {
                    if self.criteria.host == Some(d.resolver) {
                        self.messages[id.index()].met_host = true;
                    }
                    if let Some(r) = d.asked {
                        self.met(id, r);
                    }
                }
            }
            Happening::Gated { reply, .. } | Happening::Deferred { reply, .. } => {
                self.met(id, reply)
            }
            Happening::Delivered { .. } => self.end(id, t, Outcome::Delivered),
            Happening::Bounced { reply } => {
                self.met(id, reply);
                self.end(id, t, Outcome::Bounced);
            }
            Happening::Expired { last } => {
                if let Some(last) = last {
                    self.met(id, last);
                }
                self.met(id, crate::smtp::codes::EXPIRED);
                self.end(id, t, Outcome::Expired);
            }
            _ => {}
        }
    }

    fn end(&mut self, id: MessageId, t: SimTime, outcome: Outcome) {
        let m = &mut self.messages[id.index()];
        m.ended = t;
        m.outcome = outcome;
    }

    /// The messages chosen by `pick` among those matching the criteria, for a run that ended
    /// at `end` (the age of a message still queued). An id past the last message is an error
    /// naming how many there were.
    pub fn chosen(&self, pick: &Pick, end: SimTime) -> Result<Vec<MessageId>, String> {
        let c = &self.criteria;
        let matches = |s: &Summary| {
            (c.code.is_none() || s.met_code)
                && (c.host.is_none() || s.met_host)
                && c.outcome.is_none_or(|o| o == s.outcome)
        };
        match pick {
            Pick::Ids(ids) => {
                for id in ids {
                    if id.index() >= self.messages.len() {
                        return Err(format!(
                            "message {} does not exist: the run had {} messages (ids 0 to {})",
                            id.0,
                            self.messages.len(),
                            self.messages.len().saturating_sub(1)
                        ));
                    }
                }
                Ok(ids.clone())
            }
            Pick::First(n) => Ok(self
                .messages
                .iter()
                .enumerate()
                .filter(|(_, s)| matches(s))
                .take(*n)
                .map(|(i, _)| MessageId::from_index(i))
                .collect()),
            Pick::Worst(n) => {
                // Undelivered before delivered; then the longest time in the system.
                let key = |s: &Summary| {
                    let until = if s.outcome == Outcome::Queued {
                        end
                    } else {
                        s.ended
                    };
                    (
                        s.outcome == Outcome::Delivered,
                        std::cmp::Reverse(until.as_ms() - s.arrived.as_ms()),
                    )
                };
                let mut all: Vec<(usize, &Summary)> = self
                    .messages
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| matches(s))
                    .collect();
                all.sort_by_key(|(i, s)| (key(s), *i));
                Ok(all
                    .into_iter()
                    .take(*n)
                    .map(|(i, _)| MessageId::from_index(i))
                    .collect())
            }
        }
    }
}
