//! `mxsim check --junit FILE`: verdicts as JUnit XML, one test case per bound, so CI systems
//! (GitHub Actions, GitLab, Jenkins) show each bound as a test with its value and margin.
//!
//! The format is the common subset those systems read: `<testsuites>` of one `<testsuite>`
//! per scenario, `<testcase name classname time>`, a `<failure message>` for a failed bound,
//! and `<properties>` with the seed and digest to reproduce the run.

use mxsim_core::Verdict;
use std::fmt::Write;

/// One scenario's verdicts.
pub struct Suite {
    pub name: String,
    pub seed: u64,
    pub digest: String,
    pub seconds: f64,
    pub verdicts: Vec<Verdict>,
    /// Why the verdicts are not given ("inconclusive: run cut by events_max at 5h27m"):
    /// every case is an error instead of a pass or failure.
    pub inconclusive: Option<String>,
}

impl Suite {
    /// A scenario that could not be loaded: one `scenario` case with an error (the other
    /// scenarios of the check still get their cases).
    pub fn invalid(name: String, message: String) -> Suite {
        Suite {
            name,
            seed: 0,
            digest: String::new(),
            seconds: 0.0,
            verdicts: Vec::new(),
            inconclusive: Some(message),
        }
    }

    /// Test cases: one per bound, or the one error case of an invalid scenario.
    fn cases(&self) -> usize {
        self.verdicts
            .len()
            .max(usize::from(self.inconclusive.is_some()))
    }
}

/// A duration in ms as a reader wants it: "9m38s (578230 ms)".
fn duration(ms: f64) -> String {
    let d = mxsim_core::time::SimDuration::from_ms(ms.max(0.0).round() as u64);
    format!("{} ({} ms)", mxsim_core::time::human(d), ms.round())
}

/// The `<error>` element of a case that could not be judged.
fn error_element(message: &str) -> String {
    format!(
        "\n      <error message=\"{}\" type=\"inconclusive\"/>\n    </testcase>",
        escape(message)
    )
}

/// Escapes text for an XML attribute or element (`& < > " '`, and control characters other
/// than tab and newline, which XML 1.0 cannot carry, as U+FFFD).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn describe(v: &Verdict) -> String {
    let num = |x: f64| {
        if v.is_duration {
            duration(x)
        } else {
            format!("{x}")
        }
    };
    if let Some(expected) = &v.expected {
        // Over several seeds the value is the share of seeds naming the host first.
        if let (Some(n), Some(share)) = (v.seeds, v.value) {
            return format!(
                "expected {expected}; the analysis names it first in {:.0}% of {n} seeds",
                share * 100.0
            );
        }
        return format!(
            "expected {expected}; the analysis names {} first",
            v.found.as_deref().unwrap_or("no host")
        );
    }
    let value = match (&v.found, v.value) {
        (Some(f), _) => format!("analysis named {f}"),
        (None, Some(x)) => format!("value {}", num(x)),
        (None, None) => "value undefined".into(),
    };
    let bounds = match (v.min, v.max) {
        (Some(a), Some(b)) => format!("bounds [{}, {}]", num(a), num(b)),
        (Some(a), None) => format!("min {}", num(a)),
        (None, Some(b)) => format!("max {}", num(b)),
        (None, None) => String::new(),
    };
    format!("{value}; {bounds}")
}

/// The JUnit XML document.
pub fn xml(suites: &[Suite]) -> String {
    let tests: usize = suites.iter().map(Suite::cases).sum();
    let judged = |s: &&Suite| s.inconclusive.is_none();
    let failures: usize = suites
        .iter()
        .filter(judged)
        .map(|s| s.verdicts.iter().filter(|v| !v.pass).count())
        .sum();
    let errors: usize = suites.iter().filter(|s| !judged(s)).map(Suite::cases).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"mxsim check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    for s in suites {
        let (fails, errs) = match s.inconclusive {
            None => (s.verdicts.iter().filter(|v| !v.pass).count(), 0),
            Some(_) => (0, s.cases()),
        };
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\" errors=\"{errs}\" time=\"{:.3}\">",
            escape(&s.name),
            s.cases(),
            s.seconds
        );
        if let (true, Some(why)) = (s.verdicts.is_empty(), &s.inconclusive) {
            let _ = writeln!(
                x,
                "    <testcase name=\"scenario\" classname=\"{}\" time=\"0\">\n      <error message=\"{}\" type=\"invalid\"/>\n    </testcase>\n  </testsuite>",
                escape(&s.name),
                escape(why.lines().next().unwrap_or_default())
            );
            continue;
        }
        let _ = writeln!(x, "    <properties>");
        let _ = writeln!(x, "      <property name=\"seed\" value=\"{}\"/>", s.seed);
        let _ = writeln!(
            x,
            "      <property name=\"digest\" value=\"{}\"/>",
            escape(&s.digest)
        );
        let _ = writeln!(x, "    </properties>");
        for v in &s.verdicts {
            let _ = write!(
                x,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
                escape(&v.name),
                escape(&s.name)
            );
            if let Some(why) = &s.inconclusive {
                let _ = writeln!(x, ">{}", error_element(why));
            } else if v.pass {
                let _ = writeln!(
                    x,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    escape(&describe(v))
                );
            } else {
                let _ = writeln!(
                    x,
                    ">\n      <failure message=\"{}\" type=\"bound\">{}</failure>\n    </testcase>",
                    escape(&format!("{} out of bounds", v.name)),
                    escape(&describe(v))
                );
            }
        }
        let _ = writeln!(x, "  </testsuite>");
    }
    x.push_str("</testsuites>\n");
    x
}

/// `mxsim compare --junit`: one test suite, one test case per gate and candidate.
pub fn gates_xml(
    scenario: &str,
    c: &mxsim_core::compare::Comparison,
    verdicts: &[mxsim_core::compare::GateVerdict],
    inconclusive: Option<&str>,
) -> String {
    use mxsim_core::compare::GateOutcome;
    let failures = verdicts
        .iter()
        .filter(|v| v.outcome == GateOutcome::Fail && inconclusive.is_none())
        .count();
    let errors = if inconclusive.is_some() {
        verdicts.len()
    } else {
        0
    };
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"mxsim compare\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        verdicts.len()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        escape(scenario),
        verdicts.len()
    );
    let _ = writeln!(
        x,
        "    <properties>\n      <property name=\"baseline\" value=\"{}\"/>\n      <property name=\"seeds\" value=\"{}\"/>\n    </properties>",
        escape(&c.policies[0]),
        c.seeds.len()
    );
    for v in verdicts {
        let is_duration = c
            .metrics
            .iter()
            .any(|m| m.metric == v.metric && m.is_duration);
        let num = |x: f64| {
            if is_duration && x.is_finite() {
                duration(x)
            } else if x.is_infinite() {
                "not reached (infinite)".into()
            } else {
                format!("{x:.6}")
            }
        };
        let what = format!(
            "difference {}; allowed {}",
            v.difference.map_or("undefined".into(), |d| format!(
                "{} [{}, {}]",
                num(d.mean),
                num(d.low),
                num(d.high)
            )),
            v.limit.map_or("-".into(), num)
        );
        let _ = write!(
            x,
            "    <testcase name=\"{} {}\" classname=\"{}\" time=\"0\">",
            escape(&v.gate),
            escape(&v.policy),
            escape(scenario)
        );
        if let Some(why) = inconclusive {
            let _ = writeln!(x, "{}", error_element(why));
        } else if v.outcome == GateOutcome::Fail {
            let _ = writeln!(
                x,
                "\n      <failure message=\"{} worse than allowed\" type=\"gate\">{}</failure>\n    </testcase>",
                escape(&v.policy),
                escape(&what)
            );
        } else {
            let _ = writeln!(
                x,
                "\n      <system-out>{}</system-out>\n    </testcase>",
                escape(&what)
            );
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(escape("bell\u{7}"), "bell\u{FFFD}");
    }
}
