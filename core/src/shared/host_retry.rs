//! Exim's host retry records (`retry.c`; `reference/mta-defaults.md`): a first-hop host that
//! refused a connection gets a record with its first failure and next try time, computed by the
//! policy's backoff from the host's own failure history; until then, every message skips it.
//! Past the final cutoff Exim keeps the record, flagged `expired`, and retries the host at the
//! last interval.

use crate::ids::HostId;
use crate::policy::{Backoff, RetryState, Step};
use crate::time::{SimDuration, SimTime};

#[derive(Clone, Copy, Debug)]
struct HostRecord {
    first_failed: SimTime,
    failures: u32,
    last_wait: Option<SimDuration>,
    next_try: SimTime,
    /// The last failure was past the final cutoff (Exim's `expired` flag).
    expired: bool,
    /// The last failure's time.
    last_try: SimTime,
}

/// The retry records of every host (none until a host refuses).
#[derive(Debug)]
pub(super) struct HostRetry {
    records: Vec<Option<HostRecord>>,
}

impl HostRetry {
    /// No records, for `hosts` hosts.
    pub(super) fn new(hosts: usize) -> Self {
        HostRetry {
            records: vec![None; hosts],
        }
    }

    /// When `host` may be contacted next, if its record says it may not be at `t`.
    pub(super) fn next_try(&self, host: HostId, t: SimTime) -> Option<SimTime> {
        self.records[host.index()]
            .filter(|r| r.next_try > t)
            .map(|r| r.next_try)
    }

    /// Whether `host`'s last failure was past the final cutoff.
    pub(super) fn expired(&self, host: HostId) -> bool {
        self.records[host.index()].is_some_and(|r| r.expired)
    }

    /// Whether `host` has a record flagged past the final cutoff whose last try came before
    /// `entered` (Exim's smtp transport tries such a host once for a newer message when
    /// `delay_after_cutoff` is off).
    pub(super) fn expired_before(&self, host: HostId, entered: SimTime) -> bool {
        self.records[host.index()].is_some_and(|r| r.expired && r.last_try < entered)
    }

    /// Records a first-hop host's answer: `refused` (4.4.1, a host error in Exim's terms)
    /// or any answer (the host is reachable, its record goes). `backoff` computes the host's
    /// next try from its own failure history.
    pub(super) fn outcome(&mut self, host: HostId, refused: bool, t: SimTime, backoff: &Backoff) {
        let slot = &mut self.records[host.index()];
        if !refused {
            *slot = None;
            return;
        }
        let mut r = slot.unwrap_or(HostRecord {
            first_failed: t,
            failures: 0,
            last_wait: None,
            next_try: t,
            expired: false,
            last_try: t,
        });
        r.last_try = t;
        r.failures += 1;
        let state = RetryState {
            retry: r.failures,
            age: t.since(r.first_failed),
            now: t,
            previous: r.last_wait,
            u: 0.5,
        };
        let wait = match backoff.next(&state) {
            Step::Wait(w, _) => {
                r.expired = false;
                w
            }
            // Past the last cutoff Exim keeps retrying the host at the last interval.
            Step::Exhausted => {
                r.expired = true;
                r.last_wait.unwrap_or(SimDuration::from_mins(15))
            }
        };
        r.last_wait = Some(wait);
        let base = if backoff.whole_seconds() {
            SimTime(t.as_ms() / 1000 * 1000)
        } else {
            t
        };
        r.next_try = base.after(wait);
        *slot = Some(r);
    }
}
