//! What a host does with a session once its connection is open: a final MX answers (greylist,
//! reject, unknown user, accept), a store-and-forward host queues the message, a cut-through
//! relay forwards downstream inside the session, and a relay listed as an MX forwards only to
//! better MX hosts. Timing and reply rules are in the parent module's documentation.

use super::{round_trips, Open, Walker};
use crate::dns::Candidate;
use crate::ids::HostId;
use crate::network::{Stage, Verdict};
use crate::smtp::{codes, Reply};
use crate::time::{SimDuration, SimTime};

/// What a host does with a session once it is open, dispatched in [`Walker::serve`].
#[derive(Clone, Copy, Debug)]
pub(super) enum Session<'c> {
    /// A final MX host answering `client`.
    Mx { client: HostId },
    /// A store-and-forward host takes the message into its own queue.
    Store,
    /// A cut-through relay forwards through `stages[next..]`, then to `candidates`.
    Relay {
        stages: &'c [Stage],
        next: usize,
        candidates: &'c [Candidate],
        depth: u32,
    },
    /// A relay listed as an MX of preference `preference`: it forwards only to the candidates
    /// preferred to itself (RFC 5321 §5.1 step 9).
    RelayAsMx {
        candidates: &'c [Candidate],
        preference: u16,
        depth: u32,
    },
}

impl Walker<'_> {
    /// Runs the session `session` on `host`, reached over a link of `latency`.
    pub(super) fn serve(
        &mut self,
        host: HostId,
        latency: SimDuration,
        open: Open,
        session: Session<'_>,
    ) -> (Reply, SimTime) {
        match session {
            Session::Mx { client } => self.mx_session(client, host, latency, open),
            Session::Store => self.store_session(host, latency, open),
            Session::Relay {
                stages,
                next,
                candidates,
                depth,
            } => self.relay_session(host, latency, open, stages, next, candidates, depth),
            Session::RelayAsMx {
                candidates,
                preference,
                depth,
            } => {
                // Candidates are sorted by preference, so the better ones are a prefix.
                let better = candidates
                    .iter()
                    .take_while(|o| o.preference < preference)
                    .count();
                debug_assert!(candidates[better..]
                    .iter()
                    .all(|o| o.preference >= preference));
                if better == 0 {
                    // Nothing is preferred to the relay itself: the mail would loop.
                    let rtts = round_trips(latency, open.setup + 3);
                    return (codes::ROUTING_LOOP, open.start.after(rtts));
                }
                self.relay_session(
                    host,
                    latency,
                    open,
                    &[],
                    0,
                    &candidates[..better],
                    depth + 1,
                )
            }
        }
    }

    /// The session at a final MX host.
    fn mx_session(
        &mut self,
        client: HostId,
        mx: HostId,
        latency: SimDuration,
        open: Open,
    ) -> (Reply, SimTime) {
        let h = mx.index();
        let full = |w: &Self| {
            let service = w.hosts[h]
                .capacity
                .map_or(SimDuration::ZERO, |c| c.service_time);
            open.start
                .after(round_trips(latency, open.setup + 3))
                .after(service)
        };
        if let Some(grey) = &mut self.net.greylists[h] {
            let at_rcpt = open.start.after(round_trips(latency, open.setup));
            if grey.check((client.0, 0, self.recipient), at_rcpt) == Verdict::Defer {
                let reply = grey.reply();
                return (
                    reply,
                    open.start.after(round_trips(latency, open.setup + 2)),
                );
            }
        }
        if let Some(reject) = self.health[h].rejects(&self.draws) {
            return (reject, full(self));
        }
        if self.unknown_recipient {
            return (codes::UNKNOWN_USER, full(self));
        }
        (codes::OK, full(self))
    }

    /// The session at a store-and-forward relay: it takes responsibility with 250 and queues
    /// the message (RFC 5321 §6.1); what happens next is its own queue's business.
    fn store_session(
        &mut self,
        relay: HostId,
        latency: SimDuration,
        open: Open,
    ) -> (Reply, SimTime) {
        let h = relay.index();
        let end = open.start.after(round_trips(latency, open.setup + 3));
        if let Some(reject) = self.health[h].rejects(&self.draws) {
            return (reject, end);
        }
        let service = self.hosts[h]
            .capacity
            .map_or(SimDuration::ZERO, |c| c.service_time);
        self.out.accepted_by = Some(relay);
        (codes::OK, end.after(service))
    }

    /// The session at a cut-through relay: forwards downstream inside the session.
    #[allow(clippy::too_many_arguments)]
    fn relay_session(
        &mut self,
        relay: HostId,
        latency: SimDuration,
        open: Open,
        stages: &[Stage],
        next: usize,
        candidates: &[Candidate],
        depth: u32,
    ) -> (Reply, SimTime) {
        let h = relay.index();
        if self.hosts[h].queue_policy.is_some() {
            return self.store_session(relay, latency, open);
        }
        if let Some(reject) = self.health[h].rejects(&self.draws) {
            return (
                reject,
                open.start.after(round_trips(latency, open.setup + 3)),
            );
        }
        let forward_at = open.start.after(round_trips(latency, open.setup + 1));
        let (downstream, done) = self.route(relay, stages, next, candidates, forward_at, depth);
        let reply = if downstream.is_success() {
            codes::OK
        } else if downstream.is_transient() {
            codes::ROUTING_SERVER_FAILURE
        } else {
            downstream
        };
        let service = self.hosts[h]
            .capacity
            .map_or(SimDuration::ZERO, |c| c.service_time);
        // DATA and QUIT after the downstream answer.
        (reply, done.after(round_trips(latency, 2)).after(service))
    }
}
