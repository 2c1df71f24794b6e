//! The text of `mxsim check`: one PASS/FAIL (or INCONCLUSIVE) line per bound with its value
//! and margin, the cut runs, and a `reproduce:` line that retypes the command's edits.

use mxsim_core::figures;
use mxsim_core::scenario::Scenario;
use mxsim_core::time::SimDuration;
use mxsim_core::{Report, Verdict};
use std::fmt::Write;

/// A value or bound, rounded for reading unless that would put it on another side of one of
/// `beside` (the bounds it is judged against) than the exact value (`mxsim_core::figures`).
fn value(v: f64, duration: bool, beside: &[f64]) -> String {
    if duration {
        let ms = |x: f64| SimDuration::from_ms(x.max(0.0).round() as u64);
        let beside: Vec<SimDuration> = beside.iter().map(|&b| ms(b)).collect();
        if v.fract() != 0.0 && beside.iter().any(|b| ms(v) == *b && v != b.as_ms() as f64) {
            return format!("{v:.3}ms"); // a mean a fraction of a ms from its bound
        }
        figures::duration(ms(v), &beside)
    } else {
        figures::number_beside(v, beside)
    }
}

/// A margin with its sign: positive inside the bounds; never rounded to zero.
fn signed(v: f64, duration: bool) -> String {
    let sign = if v < 0.0 { "-" } else { "+" };
    format!("{sign}{}", value(v.abs(), duration, &[0.0]))
}

/// The lines of `mxsim check` for one scenario.
pub fn verdicts(
    file: &str,
    flags: &str,
    scenario: &Scenario,
    r: &Report,
    verdicts: &[Verdict],
    cut: &[String],
    judged: bool,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{file}: {} (seed {}, digest {})",
        scenario.name, r.seed, r.digest
    );
    for line in cut {
        let _ = writeln!(s, "  CUT {line}");
    }
    let word = |pass: bool| match (judged, pass) {
        (false, _) => "INCONCLUSIVE",
        (true, true) => "PASS",
        (true, false) => "FAIL",
    };
    if verdicts.is_empty() {
        let _ = writeln!(s, "  (no [expect] bounds)");
    }
    for v in verdicts {
        if let (Some(expected), Some(n), Some(share)) = (&v.expected, v.seeds, v.value) {
            let _ = writeln!(
                s,
                "  {} {} = \"{expected}\" (the analysis names it first in {:.0}% of {n} seeds)",
                word(v.pass),
                v.name,
                share * 100.0
            );
            continue;
        }
        if let Some(expected) = &v.expected {
            let found = v.found.as_deref().unwrap_or("no host (nothing failed)");
            let _ = writeln!(
                s,
                "  {} {} = \"{expected}\" (the analysis names {found} first)",
                word(v.pass),
                v.name,
            );
            continue;
        }
        let bounds: Vec<String> = [("min", v.min), ("max", v.max)]
            .iter()
            .filter_map(|(n, b)| b.map(|b| format!("{n} {}", value(b, v.is_duration, &[b]))))
            .collect();
        // A bound is printed exactly: `value` keeps it on its own side of itself.
        let limits: Vec<f64> = [v.min, v.max].into_iter().flatten().collect();
        let shown = match (v.value, v.interval, v.seeds) {
            (None, _, Some(n)) => format!("undefined in some of the {n} seeds"),
            (None, _, None) => "undefined".into(),
            (Some(x), Some(i), Some(n)) => format!(
                "{} ± {} (mean of {n} seeds)",
                value(x, v.is_duration, &limits),
                value(i.half_width, v.is_duration, &[])
            ),
            (Some(x), _, _) => value(x, v.is_duration, &limits),
        };
        let margin = v.margin.map_or(String::new(), |m| {
            format!("; margin {}", signed(m, v.is_duration))
        });
        let _ = writeln!(
            s,
            "  {} {} = {} ({}{})",
            word(v.pass),
            v.name,
            shown,
            bounds.join(", "),
            margin
        );
    }
    if verdicts.iter().any(|v| !v.pass) {
        // `flags`: the --preset and --set of the check, so the line reproduces it.
        let preset = flags;
        if let Some(n) = verdicts.iter().find_map(|v| v.seeds) {
            let _ = writeln!(
                s,
                "  reproduce: mxsim check {file} --seed {}{preset} (seeds {}…{}; one of them: mxsim run {file} --seed N{preset})",
                r.seed,
                r.seed,
                r.seed + n as u64 - 1
            );
        } else {
            let _ = writeln!(s, "  reproduce: mxsim run {file} --seed {}{preset}", r.seed);
        }
    }
    s
}

/// The `--preset` and `--set` flags of a command as a shell would need them typed again
/// (each `--set` single-quoted), for `reproduce:` lines.
pub fn replay_flags(preset: Option<&str>, sets: &[String]) -> String {
    let quote = |t: &str| {
        if !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/:=,".contains(c))
        {
            t.to_string()
        } else {
            format!("'{}'", t.replace('\'', "'\\''"))
        }
    };
    let mut out = preset.map_or(String::new(), |p| format!(" --preset {}", quote(p)));
    for set in sets {
        out.push_str(&format!(" --set {}", quote(set)));
    }
    out
}
