//! Exim retry rules, parsed from Exim's own text (`F,2h,15m; G,16h,1h,1.5; F,4d,6h`).
//!
//! Semantics (`reference/mta-defaults.md` §b, Exim `src/retry.c` `retry_update`): on each
//! failure, `failing_interval = now − first_failure`; the first rule whose cutoff ≥
//! failing_interval applies; if none does, the address has timed out (give up). Rules:
//! - `F,cutoff,p1`: wait p1;
//! - `G,cutoff,p1,m`: wait `lastgap < p1 ? p1 : lastgap·m`;
//! - `H,cutoff,p1,m`: wait p1, plus, when `lastgap·m > p1`, `(lastgap·m − p1)/2 + U(0, (lastgap·m − p1)/2)`;
//!
//! then `min(wait, retry_interval_max)` (24 h, Exim's hard cap). `lastgap` is the previous wait:
//! Exim takes `min(prev_next_try − prev_last_try, now − prev_last_try)`, and since a retry never
//! happens before its due time the first term is the smaller.
//!
//! As a message's own backoff, the failing interval counts from the message's arrival (its first
//! failure). With `[policy] shared = { host_retry = true }` the same rules also run per host,
//! from the host's first failure, and every message skips a host in its retry time — Exim's
//! host retry records.
//! FIXME: Exim keys host records per host+IP and address records per recipient; mxsim has one
//! address per host and no per-recipient records.

use super::backoff::{RetryState, Step};
use crate::time::SimDuration;
use std::fmt;

/// One rule's algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Fixed interval.
    F,
    /// Geometric growth.
    G,
    /// Randomised geometric growth.
    H,
}

/// One retry rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EximRule {
    /// Algorithm.
    pub kind: Kind,
    /// The rule applies while the failing interval is at most this.
    pub cutoff: SimDuration,
    /// First parameter: the interval (F) or the minimum interval (G, H).
    pub p1: SimDuration,
    /// Multiplier (G, H); 1 for F.
    pub multiplier: f64,
}

/// A rule list plus Exim's `retry_interval_max`.
#[derive(Clone, Debug, PartialEq)]
pub struct EximRules {
    /// Rules in order.
    pub rules: Vec<EximRule>,
    /// Cap on any wait (Exim: 24 h, and it cannot be set higher).
    pub interval_max: SimDuration,
}

/// Exim's `retry_interval_max` default and ceiling.
pub const RETRY_INTERVAL_MAX: SimDuration = SimDuration::from_hours(24);

/// Exim's default rule from its stock `configure`.
pub const DEFAULT_RULES: &str = "F,2h,15m; G,16h,1h,1.5; F,4d,6h";

/// Parses an Exim time: one or more `<integer><unit>` with units s, m, h, d, w (`1h30m`).
fn exim_time(text: &str) -> Result<SimDuration, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "invalid time \"{t}\": use an integer with a unit s, m, h, d or w (e.g. 15m, 2h, 4d)"
        )
    };
    if t.is_empty() || t.starts_with('-') {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().map_err(|_| bad())?;
        let unit = match c {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(SimDuration::from_ms(total))
}

fn exim_time_text(d: SimDuration) -> String {
    // Exim has no milliseconds; durations from parsing are whole seconds.
    let mut s = d.to_string();
    if s.ends_with("ms") {
        s = format!("{}s", d.as_ms() / 1000);
    }
    s
}

impl EximRules {
    /// Parses `F,2h,15m; G,16h,1h,1.5; F,4d,6h` (rules separated by `;`, fields by `,`).
    /// Cutoffs must increase (a later rule with a smaller cutoff could never apply).
    pub fn parse(text: &str) -> Result<EximRules, String> {
        let mut rules = Vec::new();
        for (i, part) in text.split(';').enumerate() {
            let part = part.trim();
            let where_ = format!("rule {} (\"{part}\")", i + 1);
            if part.is_empty() {
                return Err(format!("{where_}: empty rule"));
            }
            let fields: Vec<&str> = part.split(',').map(str::trim).collect();
            let kind = match fields[0] {
                "F" => Kind::F,
                "G" => Kind::G,
                "H" => Kind::H,
                other => return Err(format!("{where_}: unknown algorithm \"{other}\"; use F (fixed), G (geometric) or H (randomised geometric)")),
            };
            let want = if kind == Kind::F { 3 } else { 4 };
            if fields.len() != want {
                return Err(format!(
                    "{where_}: {} takes {} fields ({}), found {}",
                    fields[0],
                    want,
                    if kind == Kind::F {
                        "F,cutoff,interval"
                    } else {
                        "G,cutoff,interval,multiplier"
                    },
                    fields.len()
                ));
            }
            let cutoff = exim_time(fields[1]).map_err(|e| format!("{where_}: cutoff: {e}"))?;
            let p1 = exim_time(fields[2]).map_err(|e| format!("{where_}: interval: {e}"))?;
            if p1.as_ms() == 0 {
                return Err(format!("{where_}: the interval must be longer than zero"));
            }
            let multiplier = if kind == Kind::F {
                1.0
            } else {
                let m: f64 = fields[3]
                    .parse()
                    .map_err(|_| format!("{where_}: invalid multiplier \"{}\"", fields[3]))?;
                if !(m.is_finite() && (1.0..=100.0).contains(&m)) {
                    return Err(format!(
                        "{where_}: the multiplier must be between 1 and 100, got {}",
                        fields[3]
                    ));
                }
                m
            };
            if let Some(prev) = rules.last().map(|r: &EximRule| r.cutoff) {
                if cutoff <= prev {
                    return Err(format!("{where_}: cutoff {} is not after the previous rule's {}; cutoffs must increase", fields[1], exim_time_text(prev)));
                }
            }
            rules.push(EximRule {
                kind,
                cutoff,
                p1,
                multiplier,
            });
        }
        Ok(EximRules {
            rules,
            interval_max: RETRY_INTERVAL_MAX,
        })
    }

    /// The last rule's cutoff: past it the address times out.
    pub fn final_cutoff(&self) -> Option<SimDuration> {
        self.rules.last().map(|r| r.cutoff)
    }

    /// The next wait; `Exhausted` once the failing interval is past every cutoff. Everything
    /// is in whole seconds, as in Exim (`time_t`): the failing interval is the difference of
    /// the failure's and the arrival's whole seconds, and a G rule grows the previous gap as
    /// `lastgap * (int)(m*1000) / 1000` in integers (45 s → 67 s → 100 s, not 67.5 → 101.25;
    /// real-mta run A).
    pub fn next(&self, s: &RetryState) -> Step {
        let now_s = s.now.as_ms() / 1000;
        let arrival_s = s.now.as_ms().saturating_sub(s.age.as_ms()) / 1000;
        let age_s = now_s - arrival_s;
        let Some((index, rule)) = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.cutoff.as_ms() / 1000 >= age_s)
        else {
            return Step::Exhausted;
        };
        let p1 = rule.p1.as_ms() / 1000;
        let lastgap = s.previous.map_or(0, |p| p.as_ms() / 1000);
        let m1000 = (rule.multiplier * 1000.0).round() as u64;
        let wait_s = match rule.kind {
            Kind::F => p1,
            Kind::G => {
                if lastgap < p1 {
                    p1
                } else {
                    lastgap.saturating_mul(m1000) / 1000
                }
            }
            Kind::H => {
                let grown = lastgap.saturating_mul(m1000) / 1000;
                if grown > p1 {
                    let half = (grown - p1) / 2;
                    p1 + half + (s.u * half as f64) as u64
                } else {
                    p1
                }
            }
        };
        let capped = wait_s.min(self.interval_max.as_ms() / 1000);
        Step::Wait(SimDuration::from_secs(capped), index)
    }

    /// True if any rule is randomised (H).
    pub fn is_randomized(&self) -> bool {
        self.rules.iter().any(|r| r.kind == Kind::H)
    }

    /// The text of rule `index`, e.g. `G,16h,1h,1.5`.
    pub fn rule_text(&self, index: usize) -> String {
        let r = &self.rules[index];
        let kind = match r.kind {
            Kind::F => "F",
            Kind::G => "G",
            Kind::H => "H",
        };
        let mut s = format!(
            "{kind},{},{}",
            exim_time_text(r.cutoff),
            exim_time_text(r.p1)
        );
        if r.kind != Kind::F {
            s.push_str(&format!(",{}", r.multiplier));
        }
        s
    }
}

impl fmt::Display for EximRules {
    /// The rules in Exim's syntax; parsing the output gives the same rules back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = (0..self.rules.len()).map(|i| self.rule_text(i)).collect();
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;

    #[test]
    fn parses_the_default_rule() {
        let r = EximRules::parse(DEFAULT_RULES).unwrap();
        assert_eq!(r.rules.len(), 3);
        assert_eq!(
            r.rules[1],
            EximRule {
                kind: Kind::G,
                cutoff: SimDuration::from_hours(16),
                p1: SimDuration::from_hours(1),
                multiplier: 1.5
            }
        );
        assert_eq!(r.to_string(), DEFAULT_RULES);
    }

    #[test]
    fn refuses_malformed_rules_with_a_clear_message() {
        for (bad, want) in [
            ("X,2h,15m", "unknown algorithm \"X\""),
            ("F,2h", "F takes 3 fields"),
            ("G,2h,15m", "G takes 4 fields"),
            ("F,2x,15m", "invalid time \"2x\""),
            ("G,2h,15m,0.5", "multiplier must be between 1 and 100"),
            ("F,4h,1h; F,2h,1h", "cutoffs must increase"),
            ("F,2h,0s", "longer than zero"),
            ("", "empty rule"),
        ] {
            let e = EximRules::parse(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn g_rules_grow_in_whole_seconds_as_exim_does() {
        // Real-mta run A: 20 s → 30 s → 45 s → 67 s → 100 s (not 67.5 → 101.25).
        let r = EximRules::parse("G,7m,20s,1.5").unwrap();
        let mut previous = Some(SimDuration::from_secs(20));
        let mut waits = Vec::new();
        for _ in 0..4 {
            let s = RetryState {
                retry: 2,
                age: SimDuration::from_secs(150),
                now: SimTime(200_700),
                previous,
                u: 0.0,
            };
            let Step::Wait(w, _) = r.next(&s) else {
                panic!("within the cutoff")
            };
            waits.push(w.as_ms() / 1000);
            previous = Some(w);
        }
        assert_eq!(waits, vec![30, 45, 67, 100]);
        // The failing interval is counted in whole seconds of the clock: arrival at 0.9 s and
        // a failure at 420.5 s is 420 s of failing, still within a 7-minute cutoff.
        let s = RetryState {
            retry: 9,
            age: SimDuration::from_ms(419_600),
            now: SimTime(420_500),
            previous: None,
            u: 0.0,
        };
        assert!(matches!(r.next(&s), Step::Wait(..)));
        let s = RetryState {
            now: SimTime(421_000),
            age: SimDuration::from_ms(420_100),
            ..s
        };
        assert_eq!(r.next(&s), Step::Exhausted);
    }

    #[test]
    fn g_rule_grows_from_its_minimum() {
        let r = EximRules::parse("G,16h,1h,1.5").unwrap();
        let s = |prev: Option<u64>| RetryState {
            retry: 2,
            age: SimDuration::from_hours(3),
            now: SimTime::ZERO,
            previous: prev.map(SimDuration::from_mins),
            u: 0.0,
        };
        assert_eq!(
            r.next(&s(Some(15))),
            Step::Wait(SimDuration::from_hours(1), 0)
        );
        assert_eq!(
            r.next(&s(Some(60))),
            Step::Wait(SimDuration::from_mins(90), 0)
        );
        // retry_interval_max caps at 24h.
        assert_eq!(
            r.next(&s(Some(60 * 20))),
            Step::Wait(SimDuration::from_hours(24), 0)
        );
    }
}
