//! Rate throttles: KumoMTA's `N/period[,max_burst=B]` and its GCRA (`crates/throttle`,
//! `reference/operator-realism.md` §1.1).
//!
//! The generic cell rate algorithm with emission interval T = period / N and burst B (default
//! N, as KumoMTA's local limiter: "N cells at once, then one per T"): a request at t conforms
//! when t ≥ TAT − (B − 1)·T, and then moves the theoretical arrival time to max(TAT, t) + T.
//! A message that does not conform is not re-polled: [`Throttle::reserve`] books it the first
//! time it will conform, so N messages queued behind a throttle wake once each, in order.
//!
//! Times are integer milliseconds; to keep T = period / N exact, the state is kept in
//! milliseconds × N (the emission interval is then `period_ms` units).

use crate::time::{SimDuration, SimTime};
use std::fmt;

/// Period names of a throttle spec, with their length (KumoMTA `crates/throttle`).
const PERIODS: [(&[&str], u64); 4] = [
    (&["s", "sec", "second"], 1_000),
    (&["m", "min", "minute"], 60_000),
    (&["h", "hr", "hour"], 3_600_000),
    (&["d", "day"], 86_400_000),
];

/// Most cells per period (and most burst): keeps the scaled arithmetic far from overflow.
const COUNT_MAX: u64 = 1_000_000_000;

/// A rate limit: `count` per `period`, bursts of up to `burst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Cells (messages, connections) per period, ≥ 1.
    pub count: u64,
    /// The period.
    pub period: SimDuration,
    /// Most cells at once, 1 … `count` (default `count`).
    pub burst: u64,
}

impl Rate {
    /// Parses `N/period[,max_burst=B]` (`100/s`, `10/min`, `1_000/h,max_burst=50`; an optional
    /// `local:` prefix is accepted: one node's limits are always local here). Errors say what
    /// is wrong and show the form.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let form = "rates look like \"100/s\", \"10/min\", \"1_000/h\" or \"10/min,max_burst=2\"";
        let bad = |why: String| Err(format!("invalid rate \"{text}\": {why}; {form}"));
        let body = text.trim().strip_prefix("local:").unwrap_or(text.trim());
        let (rate, burst) = match body.split_once(",max_burst=") {
            Some((r, b)) => (r, Some(b)),
            None => (body, None),
        };
        let Some((n, period)) = rate.split_once('/') else {
            return bad("no `/` between the count and the period".into());
        };
        let number = |s: &str| -> Option<u64> {
            let digits: String = s.chars().filter(|&c| c != '_').collect();
            (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
                .then(|| digits.parse().ok())
                .flatten()
        };
        let Some(count) = number(n.trim()).filter(|&c| (1..=COUNT_MAX).contains(&c)) else {
            return bad(format!(
                "the count must be a whole number from 1 to {COUNT_MAX}"
            ));
        };
        let period = period.trim();
        let Some(&(_, ms)) = PERIODS.iter().find(|(names, _)| names.contains(&period)) else {
            let names: Vec<&str> = PERIODS
                .iter()
                .flat_map(|(n, _)| n.iter().copied())
                .collect();
            return bad(format!(
                "unknown period \"{period}\" (periods: {})",
                names.join(", ")
            ));
        };
        let burst = match burst {
            None => count,
            Some(b) => match number(b.trim()).filter(|&b| (1..=COUNT_MAX).contains(&b)) {
                Some(b) => b,
                None => {
                    return bad(format!(
                        "max_burst must be a whole number from 1 to {COUNT_MAX}"
                    ))
                }
            },
        };
        Ok(Rate {
            count,
            period: SimDuration::from_ms(ms),
            burst,
        })
    }
}

impl fmt::Display for Rate {
    /// `10/min`, with `,max_burst=B` when the burst is not the count: the form
    /// [`Rate::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.period.as_ms();
        let unit = match ms {
            1_000 => "s",
            60_000 => "min",
            3_600_000 => "h",
            _ => "d",
        };
        debug_assert!(PERIODS
            .iter()
            .any(|(n, len)| *len == ms && n.contains(&unit)));
        write!(f, "{}/{unit}", self.count)?;
        if self.burst != self.count {
            write!(f, ",max_burst={}", self.burst)?;
        }
        Ok(())
    }
}

/// One GCRA counter (a site's message rate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Throttle {
    /// Theoretical arrival time, in ms × `count`.
    tat: u128,
}

impl Throttle {
    /// The first time at or after `t` a cell conforms to `rate`.
    pub fn conforms_at(&self, rate: Rate, t: SimTime) -> SimTime {
        let n = u128::from(rate.count);
        let tolerance = u128::from(rate.burst - 1) * u128::from(rate.period.as_ms());
        let earliest = self.tat.saturating_sub(tolerance).div_ceil(n);
        SimTime(t.as_ms().max(earliest.min(u128::from(u64::MAX)) as u64))
    }

    /// Books the cell at `at` (a time [`conforms_at`](Self::conforms_at) gave, or later).
    pub fn take(&mut self, rate: Rate, at: SimTime) {
        let now = u128::from(at.as_ms()) * u128::from(rate.count);
        self.tat = self.tat.max(now) + u128::from(rate.period.as_ms());
    }

    /// Books the first conforming cell at or after `t` and returns its time.
    pub fn reserve(&mut self, rate: Rate, t: SimTime) -> SimTime {
        let at = self.conforms_at(rate, t);
        self.take(rate, at);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kumomta_rate_specs() {
        let r = Rate::parse("100/s").unwrap();
        assert_eq!((r.count, r.period.as_ms(), r.burst), (100, 1_000, 100));
        let r = Rate::parse("1_000/hour,max_burst=50").unwrap();
        assert_eq!((r.count, r.period.as_ms(), r.burst), (1_000, 3_600_000, 50));
        assert_eq!(Rate::parse("local:10/min").unwrap().count, 10);
        assert_eq!(
            Rate::parse("10/m,max_burst=2").unwrap().to_string(),
            "10/min,max_burst=2"
        );
        for text in ["100/sec", "3/hr", "1/day", "7/min,max_burst=3"] {
            let r = Rate::parse(text).unwrap();
            assert_eq!(Rate::parse(&r.to_string()).unwrap(), r, "{text}");
        }
        for (bad, why) in [
            ("10/fortnight", "unknown period \"fortnight\""),
            ("10", "no `/`"),
            ("0/s", "the count"),
            ("-1/s", "the count"),
            ("1.5/s", "the count"),
            ("10/s,max_burst=0", "max_burst"),
        ] {
            let e = Rate::parse(bad).unwrap_err();
            assert!(
                e.contains(why) && e.contains(&format!("\"{bad}\"")),
                "{bad}: {e}"
            );
        }
    }

    /// N ≫ L messages at t = 0 under L/P: delivered by t = min(N, L + ⌊t·L/P⌋)
    /// (operator-realism.md §7 row 2).
    #[test]
    fn a_burst_then_one_cell_per_emission_interval() {
        for (spec, l, p) in [
            ("10/min", 10u64, 60_000u64),
            ("7/min", 7, 60_000),
            ("3/s", 3, 1_000),
        ] {
            let rate = Rate::parse(spec).unwrap();
            let mut th = Throttle::default();
            let times: Vec<u64> = (0..200)
                .map(|_| th.reserve(rate, SimTime::ZERO).as_ms())
                .collect();
            for t in [0, 1, p / l, p / l + 1, p, 7 * p + 13, 19 * p] {
                let by_t = times.iter().filter(|&&a| a <= t).count() as u64;
                assert_eq!(by_t, 200.min(l + t * l / p), "{spec} at {t} ms");
            }
            assert!(times.windows(2).all(|w| w[0] <= w[1]), "{spec}: in order");
        }
    }

    #[test]
    fn an_idle_throttle_refills_and_a_small_burst_spaces_cells() {
        let rate = Rate::parse("10/min,max_burst=1").unwrap();
        let mut th = Throttle::default();
        assert_eq!(th.reserve(rate, SimTime::ZERO), SimTime::ZERO);
        assert_eq!(th.reserve(rate, SimTime::ZERO), SimTime(6_000));
        // Long after, the throttle is idle again: a cell conforms at once.
        assert_eq!(th.reserve(rate, SimTime(600_000)), SimTime(600_000));
        assert_eq!(th.conforms_at(rate, SimTime(600_001)), SimTime(606_000));
    }
}
