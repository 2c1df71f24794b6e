//! The text of `mxsim check`: one PASS/FAIL (or INCONCLUSIVE) line per bound with its value
//! and margin, the cut runs, and a `reproduce:` line that retypes the command's edits.

use mxsim_core::scenario::Scenario;
use mxsim_core::time::{human, SimDuration};
use mxsim_core::{Report, Verdict};
use std::fmt::Write;

fn value(v: f64, duration: bool) -> String {
    if duration {
        human(SimDuration::from_ms(v.max(0.0).round() as u64))
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

fn signed(v: f64, duration: bool) -> String {
    let sign = if v < 0.0 { "-" } else { "+" };
    format!("{sign}{}", value(v.abs(), duration))
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
            .filter_map(|(n, b)| b.map(|b| format!("{n} {}", value(b, v.is_duration))))
            .collect();
        let shown = match (v.value, v.interval, v.seeds) {
            (None, _, Some(n)) => format!("undefined in some of the {n} seeds"),
            (None, _, None) => "undefined".into(),
            (Some(x), Some(i), Some(n)) => format!(
                "{} ± {} (mean of {n} seeds)",
                value(x, v.is_duration),
                value(i.half_width, v.is_duration)
            ),
            (Some(x), _, _) => value(x, v.is_duration),
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
