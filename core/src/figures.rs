//! How reports print measured figures, so that no rounded figure contradicts an exact one.
//!
//! Tables round durations to two units ([`time::human`]) and shares to two decimals. Rounding
//! alone can contradict what stands beside it: `max 1h` next to `delivered within 1h 0.00%`
//! (the max was 1h0m0.16s), `PASS delay_p95 = 1h (max 1h)` for 1h0m20s, `delivered 100.00%`
//! while one message expired. The rules here keep every printed figure on the same side of
//! each threshold it is read against as the exact value: the CLI's text, JUnit and the page
//! (through the `text` of a report's metric readings) all print through them.

use crate::report::{Reading, Unit};
use crate::time::{self, SimDuration};

/// A duration for a table, rounded as [`time::human`] unless the rounded value would stand
/// differently to one of `thresholds` (an SLO time, a bound, a gate's allowance) than the
/// exact value does — on its other side, or equal to it when the value is not: then the exact
/// value (`1h160ms`).
pub fn duration(d: SimDuration, thresholds: &[SimDuration]) -> String {
    let (shown, _) = time::rounded(d);
    let flips = thresholds
        .iter()
        .any(|t| d.as_ms().cmp(&t.as_ms()) != shown.cmp(&t.as_ms()));
    if flips {
        d.to_string()
    } else {
        time::human(d)
    }
}

/// A plain number, whole numbers without decimals and others with four, unless four decimals
/// would stand differently to one of `thresholds` than the exact value (`0.9990` for 0.99895
/// beside `min 0.9990`): then as many more decimals as it takes to tell them apart.
pub fn number_beside(v: f64, thresholds: &[f64]) -> String {
    let keeps_sides = |text: &str| {
        let shown: f64 = text.parse().unwrap_or(v);
        thresholds
            .iter()
            .all(|t| v.partial_cmp(t) == shown.partial_cmp(t))
    };
    let text = number(v);
    if keeps_sides(&text) {
        return text;
    }
    (5..=17)
        .map(|digits| format!("{v:.digits$}"))
        .find(|t| keeps_sides(t))
        .unwrap_or_else(|| format!("{v}"))
}

/// A share in 0 … 1 as a percentage with two decimals; never `100.00%` unless it is all, nor
/// `0.00%` unless it is none (`>99.99%`, `<0.01%`).
pub fn share(x: f64) -> String {
    let text = format!("{:.2}%", 100.0 * x);
    match text.as_str() {
        "100.00%" if x < 1.0 => ">99.99%".into(),
        "0.00%" if x > 0.0 => "<0.01%".into(),
        _ => text,
    }
}

/// `n` of `of` as a [`share`] (`-` when `of` is zero).
pub fn share_of(n: u64, of: u64) -> String {
    if of == 0 {
        "-".into()
    } else {
        share(n as f64 / of as f64)
    }
}

/// A plain number: whole numbers without decimals, others with four.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// A metric's value in its unit, as reports print it; `slo` are the run's SLO times, which
/// duration figures must not contradict. `None` is "not reached" for a censored metric, `-`
/// otherwise.
pub fn reading(value: Option<f64>, unit: Unit, censored: bool, slo: &[SimDuration]) -> String {
    let Some(v) = value else {
        return if censored { "not reached" } else { "-" }.into();
    };
    match unit {
        Unit::Duration => duration(SimDuration::from_ms(v.max(0.0).round() as u64), slo),
        Unit::Share => share(v),
        Unit::Count | Unit::PerMessage | Unit::Flag => number(v),
    }
}

/// `reading` with its [`text`](Reading::text) set, duration figures read against the SLO
/// times `slo`: the text the page prints for a report's own metrics.
pub fn with_text(mut reading: Reading, slo: &[SimDuration]) -> Reading {
    reading.text = Some(self::reading(
        reading.value,
        reading.unit,
        reading.censored,
        slo,
    ));
    reading
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rounded_duration_never_crosses_a_threshold_it_is_read_against() {
        let hour = SimDuration::from_hours(1);
        // The case: 1h0m0.16s is not within 1h, so it may not print as "1h".
        assert_eq!(duration(SimDuration(3_600_160), &[hour]), "1h160ms");
        assert_eq!(duration(SimDuration(3_600_160), &[]), "1h");
        // 59m59.9s is within 1h and "1h" says so: rounding may stay.
        assert_eq!(duration(SimDuration(3_599_900), &[]), "1h");
        // ... but not beside a bound of exactly 1h, which it is below.
        assert_eq!(duration(SimDuration(3_599_900), &[hour]), "59m59s900ms");
        assert_eq!(duration(SimDuration(3_580_000), &[hour]), "59m40s");
        let bound = SimDuration::from_secs(3_590);
        assert_eq!(duration(SimDuration(3_589_600), &[bound]), "59m49s600ms");
        assert_eq!(duration(SimDuration(3_589_000), &[bound]), "59m49s");
        assert_eq!(duration(SimDuration(3_590_400), &[bound]), "59m50s400ms");
    }

    #[test]
    fn a_rounded_number_keeps_its_side_of_a_bound() {
        assert_eq!(number_beside(0.99895, &[0.999]), "0.99895");
        assert_eq!(number_beside(0.99895, &[0.5]), "0.9990");
        assert_eq!(number_beside(0.00004, &[0.0]), "0.00004");
        assert_eq!(number_beside(1.0 - 0.99999, &[0.0]), "0.00001");
        assert_eq!(number_beside(1.0, &[0.999]), "1");
    }

    #[test]
    fn shares_say_all_and_none_only_when_exact() {
        assert_eq!(share(1.0), "100.00%");
        assert_eq!(share(0.99996), ">99.99%");
        assert_eq!(share(0.0), "0.00%");
        assert_eq!(share(0.00004), "<0.01%");
        assert_eq!(share(0.5), "50.00%");
        assert_eq!(share_of(1, 3), "33.33%");
        assert_eq!(share_of(0, 0), "-");
    }

    #[test]
    fn readings_print_in_their_unit() {
        let slo = [SimDuration::from_hours(1)];
        assert_eq!(
            reading(Some(3_600_160.0), Unit::Duration, false, &slo),
            "1h160ms"
        );
        assert_eq!(reading(None, Unit::Duration, true, &slo), "not reached");
        assert_eq!(reading(None, Unit::Count, false, &slo), "-");
        assert_eq!(reading(Some(12.0), Unit::Count, false, &slo), "12");
        assert_eq!(
            reading(Some(1.18491), Unit::PerMessage, false, &slo),
            "1.1849"
        );
    }
}
