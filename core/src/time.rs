//! Simulated time: [`SimTime`] (an instant) and [`SimDuration`] (a span), both integer
//! milliseconds, plus parsing and printing of human durations ("250ms", "90s", "1h20m", "5d").
//!
//! Invariant: no wall clock here or anywhere in core. Time is an integer so that native and
//! wasm builds order events identically (DESIGN §2); floats never decide an ordering.

use core::fmt;

/// Milliseconds per unit, longest unit first, as used by parsing and printing.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// An instant of simulated time: milliseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time in milliseconds. Never negative: parsing refuses "-5m".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);

    /// Milliseconds since the start of the run.
    pub fn as_ms(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating so that "never" (`u64::MAX`) stays never.
    pub fn after(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// The span from `earlier` to `self`; zero if `earlier` is later (callers assert order).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A duration of `ms` milliseconds.
    pub const fn from_ms(ms: u64) -> Self {
        SimDuration(ms)
    }

    /// A duration of `s` seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * 1_000)
    }

    /// A duration of `m` minutes.
    pub const fn from_mins(m: u64) -> Self {
        SimDuration(m * 60_000)
    }

    /// A duration of `h` hours.
    pub const fn from_hours(h: u64) -> Self {
        SimDuration(h * 3_600_000)
    }

    /// A duration of `d` days.
    pub const fn from_days(d: u64) -> Self {
        SimDuration(d * 86_400_000)
    }

    /// Length in milliseconds.
    pub fn as_ms(self) -> u64 {
        self.0
    }

    /// `self` plus `s` seconds, saturating.
    pub fn after_secs(self, s: u64) -> SimDuration {
        SimDuration(self.0.saturating_add(s.saturating_mul(1_000)))
    }

    /// Length in (fractional) seconds, for reports and statistics only, never for ordering.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1_000.0
    }
}

/// Why a duration string was refused; the message names the bad text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationError {
    /// What was wrong, lowercase, quoting the input.
    pub message: String,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses a human duration: one or more `<integer><unit>` groups with units `d h m s ms`,
/// e.g. `"250ms"`, `"90s"`, `"15m"`, `"4h"`, `"5d"`, `"1h30m"`; a bare `"0"` is zero.
///
/// Refuses negative values, unknown units, fractions and overflow with a message that quotes
/// the input, because scenario validation shows it to the user as is.
pub fn parse_duration(text: &str) -> Result<SimDuration, DurationError> {
    let err = |why: &str| DurationError {
        message: format!("invalid duration \"{text}\": {why}"),
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(err("empty; write e.g. \"90s\", \"15m\", \"4h\" or \"5d\""));
    }
    if s.starts_with('-') {
        return Err(err("durations cannot be negative"));
    }
    if s == "0" {
        return Ok(SimDuration::ZERO);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: u64 = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(err("expected a number before each unit"));
        }
        let number: u64 = s[start..i].parse().map_err(|_| err("number too large"))?;
        if i < bytes.len() && bytes[i] == b'.' {
            return Err(err(
                "fractions are not supported; use a smaller unit (\"90m\" for 1.5h)",
            ));
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[unit_start..i];
        let Some(&(_, ms)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(err(if unit.is_empty() {
                "missing unit; use one of d, h, m, s, ms"
            } else {
                "unknown unit; use one of d, h, m, s, ms"
            }));
        };
        let part = number.checked_mul(ms).ok_or_else(|| err("too large"))?;
        total = total.checked_add(part).ok_or_else(|| err("too large"))?;
    }
    Ok(SimDuration(total))
}

impl fmt::Display for SimDuration {
    /// Prints the exact value in mixed units, largest first: `2h26m40s`, `250ms`, `5d`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (name, ms) in UNITS {
            if rest >= ms {
                write!(f, "{}{}", rest / ms, name)?;
                rest %= ms;
            }
        }
        Ok(())
    }
}

impl fmt::Display for SimTime {
    /// An instant prints as its offset from the start of the run.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SimDuration(self.0).fmt(f)
    }
}

/// Rounds a duration to at most two significant units for reports ("1h20m", "4d3h", "12.5s").
/// Exact values are printed by `Display`; this is for tables read by people. Where a rounded
/// figure stands beside a threshold it could contradict (an SLO time, a bound), print it with
/// [`crate::figures::duration`] instead.
pub fn human(d: SimDuration) -> String {
    let (ms, small) = rounded(d);
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    if small == 100 {
        let tenths = ms / 100;
        return if tenths.is_multiple_of(10) {
            format!("{}s", tenths / 10)
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        };
    }
    // Two largest non-zero units: the big unit is the largest one the rounded value reaches.
    let (big_name, big) = UNITS
        .iter()
        .copied()
        .find(|(_, u)| ms >= *u)
        .unwrap_or(("s", 1_000));
    let (small_name, small) = match big_name {
        "d" => ("h", 3_600_000),
        "h" => ("m", 60_000),
        _ => ("s", 1_000),
    };
    let (whole, rem) = (ms / big, (ms % big) / small);
    if rem == 0 {
        format!("{whole}{big_name}")
    } else {
        format!("{whole}{big_name}{rem}{small_name}")
    }
}

/// The value [`human`] prints, in ms, and the step it was rounded to (1 ms below a second,
/// tenths of a second below a minute, then the second of the two largest units). A value that
/// rounds up into the next unit (59.95 s, 59m59.9s) is printed in it ("1m", "1h").
pub fn rounded(d: SimDuration) -> (u64, u64) {
    let ms = d.0;
    let near = |step: u64| ms.saturating_add(step / 2) / step * step;
    if ms < 1_000 {
        return (ms, 1);
    }
    if ms < 60_000 {
        let v = near(100);
        if v < 60_000 {
            return (v, 100);
        }
    }
    let step = |v: u64| match v {
        v if v >= 86_400_000 => 3_600_000,
        v if v >= 3_600_000 => 60_000,
        _ => 1_000,
    };
    let v = near(step(ms));
    // Rounding up may reach the next unit (59m59.9s → 1h): round again at its step.
    let again = near(step(v));
    if step(v) != step(ms) {
        return (again.max(v), step(v));
    }
    (v, step(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_compounds() {
        assert_eq!(parse_duration("250ms").unwrap(), SimDuration(250));
        assert_eq!(parse_duration("90s").unwrap(), SimDuration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), SimDuration::from_mins(15));
        assert_eq!(parse_duration("4h").unwrap(), SimDuration::from_hours(4));
        assert_eq!(parse_duration("5d").unwrap(), SimDuration::from_days(5));
        assert_eq!(parse_duration("1h30m").unwrap(), SimDuration::from_mins(90));
        assert_eq!(parse_duration("0").unwrap(), SimDuration::ZERO);
    }

    #[test]
    fn refuses_bad_durations_with_the_input_quoted() {
        for bad in ["-5m", "", "5", "5x", "1.5h", "m", "99999999999999999999d"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.message.contains(&format!("\"{bad}\"")), "{e}");
        }
    }

    #[test]
    fn display_round_trips_through_parse() {
        for ms in [1, 999, 1_000, 61_001, 8_800_000, 432_000_000, 4_000_000] {
            let d = SimDuration(ms);
            assert_eq!(parse_duration(&d.to_string()).unwrap(), d);
        }
        assert_eq!(SimDuration(8_800_000).to_string(), "2h26m40s");
    }

    #[test]
    fn human_rounds_to_two_units() {
        assert_eq!(human(SimDuration(250)), "250ms");
        assert_eq!(human(SimDuration(12_460)), "12.5s");
        assert_eq!(human(SimDuration::from_mins(80)), "1h20m");
        assert_eq!(human(SimDuration(8_800_000)), "2h27m");
        assert_eq!(human(SimDuration::from_days(5)), "5d");
    }

    #[test]
    fn human_carries_into_the_next_unit() {
        assert_eq!(human(SimDuration(59_949)), "59.9s");
        assert_eq!(human(SimDuration(59_950)), "1m");
        assert_eq!(human(SimDuration(3_599_999)), "1h");
        assert_eq!(human(SimDuration(86_399_999)), "1d");
        assert_eq!(human(SimDuration(3_600_880)), "1h");
        assert_eq!(rounded(SimDuration(3_599_999)), (3_600_000, 60_000));
    }
}
