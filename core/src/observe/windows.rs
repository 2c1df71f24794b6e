//! A host's failure windows: when its failures cluster in time.
//!
//! A window opens at a failed contact and grows with each later failed contact; a successful
//! contact inside a window is counted in it. A failure starting more than `gap` after the
//! window's last failure starts a new window. So an outage shows as one window from its first
//! to its last observed failure, a flapping host as one long window with its success share,
//! and separate outages as separate windows. Memory is bounded: past
//! [`Windows::MAX`] windows the gap doubles and neighbours are merged.

use crate::report::FailureWindow;

/// The failure windows of one host.
#[derive(Clone, Debug)]
pub struct Windows {
    gap: u64,
    windows: Vec<FailureWindow>,
}

impl Windows {
    /// Most windows kept per host.
    pub const MAX: usize = 256;

    /// Windows merged across gaps of at most `gap` ms.
    pub fn new(gap: u64) -> Self {
        Windows {
            gap: gap.max(1),
            windows: Vec::new(),
        }
    }

    /// A contact at `t` ms that failed or not. Contacts come in nearly time order (an
    /// attempt's hops are known when it starts), so times are merged with max/min.
    pub fn contact(&mut self, t: u64, failed: bool) {
        match self.windows.last_mut() {
            Some(w) if t <= w.to_ms.saturating_add(self.gap) => {
                // Within reach of the last window: a success is counted in it (the share
                // shows flapping), a failure extends it.
                w.contacts += 1;
                if failed {
                    w.failures += 1;
                    w.from_ms = w.from_ms.min(t);
                    w.to_ms = w.to_ms.max(t);
                }
            }
            _ if failed => {
                self.windows.push(FailureWindow {
                    from_ms: t,
                    to_ms: t,
                    failures: 1,
                    contacts: 1,
                });
                if self.windows.len() > Self::MAX {
                    self.coarsen();
                }
            }
            _ => {}
        }
    }

    /// Doubles the gap and merges windows it now joins.
    fn coarsen(&mut self) {
        self.gap = self.gap.saturating_mul(2);
        let mut merged: Vec<FailureWindow> = Vec::with_capacity(self.windows.len());
        for w in self.windows.drain(..) {
            match merged.last_mut() {
                Some(m) if w.from_ms <= m.to_ms.saturating_add(self.gap) => {
                    m.to_ms = m.to_ms.max(w.to_ms);
                    m.failures += w.failures;
                    m.contacts += w.contacts;
                }
                _ => merged.push(w),
            }
        }
        self.windows = merged;
        if self.windows.len() > Self::MAX {
            self.coarsen();
        }
    }

    /// The windows, in time order.
    pub fn windows(&self) -> &[FailureWindow] {
        &self.windows
    }

    /// The merge gap now in use, ms.
    pub fn gap(&self) -> u64 {
        self.gap
    }

    /// Total length of the windows, ms.
    pub fn failing_ms(&self) -> u64 {
        self.windows.iter().map(|w| w.to_ms - w.from_ms).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separate_outages_are_separate_windows_and_flaps_merge() {
        let mut w = Windows::new(600_000);
        // An outage 1h-2h, failures every minute.
        for m in 60..=120 {
            w.contact(m * 60_000, true);
        }
        w.contact(121 * 60_000, false);
        // A second outage at 5h.
        w.contact(300 * 60_000, true);
        w.contact(301 * 60_000, true);
        let ws = w.windows();
        assert_eq!(ws.len(), 2);
        assert_eq!(
            (ws[0].from_ms, ws[0].to_ms, ws[0].failures),
            (3_600_000, 7_200_000, 61)
        );
        assert_eq!(ws[0].contacts, 62);
        assert_eq!(
            (ws[1].from_ms, ws[1].to_ms, ws[1].failures),
            (18_000_000, 18_060_000, 2)
        );
        assert_eq!(w.failing_ms(), 3_600_000 + 60_000);
        // Successes far from any failure open nothing.
        w.contact(900 * 60_000, false);
        assert_eq!(w.windows().len(), 2);
    }

    #[test]
    fn memory_is_bounded_by_merging() {
        let mut w = Windows::new(1);
        for i in 0..10_000u64 {
            w.contact(i * 10, true);
        }
        assert!(w.windows().len() <= Windows::MAX);
        assert_eq!(w.windows().iter().map(|x| x.failures).sum::<u64>(), 10_000);
        assert!(w.gap() > 1);
    }
}
