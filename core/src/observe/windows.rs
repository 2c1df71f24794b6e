//! A host's failure windows: when its failures cluster in time.
//!
//! A window opens at a failed contact and grows with each later failed contact. Failures with
//! no success between them are one window however far apart they are (an outage under sparse
//! traffic is one window, not one per quiet stretch). After a success, a failure within
//! [`Windows::FLAP_GAP`] of the window's last failure joins it (a flapping host is one long
//! window with its success share); a later one opens a new window. Successes are counted in a
//! window only when a later failure of the window follows them, so `contacts` are the
//! contacts between its first and last failure. None of this depends on the series' bucket
//! size. Memory is bounded: past [`Windows::MAX`] windows the gap doubles and neighbours are
//! merged.

use crate::report::FailureWindow;

/// The failure windows of one host.
#[derive(Clone, Debug)]
pub struct Windows {
    gap: u64,
    windows: Vec<FailureWindow>,
    /// Successes since the last window's last failure (they join it if a failure follows
    /// within the gap).
    successes_after: u64,
}

impl Default for Windows {
    fn default() -> Self {
        Windows::new()
    }
}

impl Windows {
    /// Most windows kept per host.
    pub const MAX: usize = 256;

    /// How long after a window's last failure, with successes in between, a failure still
    /// joins it: 10 minutes, the scale of a flapping host's up periods and of the shortest
    /// retry intervals in the presets (Postfix `minimal_backoff_time` is 5 min).
    pub const FLAP_GAP: u64 = 600_000;

    /// No windows yet.
    pub fn new() -> Self {
        Windows::with_gap(Self::FLAP_GAP)
    }

    /// Windows joined across successes for at most `gap` ms.
    fn with_gap(gap: u64) -> Self {
        Windows {
            gap: gap.max(1),
            windows: Vec::new(),
            successes_after: 0,
        }
    }

    /// A contact at `t` ms that failed or not. Contacts come in nearly time order (an
    /// attempt's hops are known when it starts), so times are merged with max/min.
    pub fn contact(&mut self, t: u64, failed: bool) {
        let Some(w) = self.windows.last_mut() else {
            if failed {
                self.open(t);
            }
            return;
        };
        if !failed {
            if t >= w.from_ms && t <= w.to_ms {
                // Inside the window (contacts arrive nearly in order).
                w.contacts += 1;
            } else {
                self.successes_after += 1;
            }
            return;
        }
        // No success since its last failure: the outage goes on, however long the silence.
        let joins = self.successes_after == 0 || t <= w.to_ms.saturating_add(self.gap);
        if joins {
            w.failures += 1;
            w.contacts += 1 + self.successes_after;
            w.from_ms = w.from_ms.min(t);
            w.to_ms = w.to_ms.max(t);
            self.successes_after = 0;
        } else {
            self.open(t);
        }
    }

    fn open(&mut self, t: u64) {
        self.successes_after = 0;
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
    fn a_sparse_outage_is_one_window_and_contacts_stay_inside_it() {
        // One outage from 1 h to 6 h, contacted once an hour (sparse traffic): one window,
        // whatever the bucket size (there is none to choose any more).
        let mut w = Windows::new();
        for h in 1..=6 {
            w.contact(h * 3_600_000, true);
        }
        // Successes after it ended are not its contacts.
        for m in 0..30 {
            w.contact(6 * 3_600_000 + 60_000 * (m + 1), false);
        }
        let ws = w.windows();
        assert_eq!(ws.len(), 1, "{ws:?}");
        assert_eq!((ws[0].failures, ws[0].contacts), (6, 6));
        // A failure after those successes, far from the window, is a new window; the
        // successes were never inside either.
        w.contact(8 * 3_600_000, true);
        assert_eq!(w.windows().len(), 2);
        assert_eq!(w.windows()[0].contacts, 6);
        assert_eq!(w.windows()[1].contacts, 1);
    }

    #[test]
    fn separate_outages_are_separate_windows_and_flaps_merge() {
        let mut w = Windows::new();
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
        // The success at 2h1m came after the outage: not one of its contacts.
        assert_eq!(ws[0].contacts, 61);
        assert_eq!(
            (ws[1].from_ms, ws[1].to_ms, ws[1].failures),
            (18_000_000, 18_060_000, 2)
        );
        assert_eq!(w.failing_ms(), 3_600_000 + 60_000);
        // Successes far from any failure open nothing.
        w.contact(900 * 60_000, false);
        assert_eq!(w.windows().len(), 2);
        // A flap: a success, then a failure within 10 minutes joins the window, and the
        // success between is inside it.
        w.contact(905 * 60_000, true);
        w.contact(906 * 60_000, false);
        w.contact(910 * 60_000, true);
        let last = w.windows().last().unwrap();
        assert_eq!((last.failures, last.contacts), (2, 3));
    }

    #[test]
    fn memory_is_bounded_by_merging() {
        let mut w = Windows::with_gap(1);
        // Successes between the failures, so that each failure could open a window.
        for i in 0..10_000u64 {
            w.contact(i * 10, true);
            w.contact(i * 10 + 5, false);
        }
        assert!(w.windows().len() <= Windows::MAX);
        assert_eq!(w.windows().iter().map(|x| x.failures).sum::<u64>(), 10_000);
        assert!(w.gap() > 1);
        // Failures alone, however many, are one outage.
        let mut w = Windows::with_gap(1);
        for i in 0..10_000u64 {
            w.contact(i * 10, true);
        }
        assert_eq!(w.windows().len(), 1);
    }
}
