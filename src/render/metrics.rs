//! The text of `mxsim metrics`: the metric registry (`mxsim_core::metric`) as a table.

use std::fmt::Write;

/// The metric registry as a table (`mxsim metrics`).
pub fn metrics(all: &[mxsim_core::metric::Family]) -> String {
    use mxsim_core::metric::{Better, Needs, Unit};
    let mut s = String::from(
        "metric                    unit         better  censored gate compare needs          meaning\n",
    );
    for f in all {
        let unit = match f.unit {
            Unit::Share => "share",
            Unit::Count => "count",
            Unit::Duration => "duration",
            Unit::PerMessage => "per message",
            Unit::Flag => "host",
        };
        let better = match f.better {
            Better::Higher => "higher",
            Better::Lower => "lower",
            Better::Neither => "-",
        };
        let needs = match f.needs {
            Needs::Nothing => "-",
            Needs::Capacity => "capacity",
            Needs::Greylist => "greylist",
            Needs::Resolver => "[policy.dns]",
            Needs::ConnectionCache => "connections",
            Needs::SloTime => "an SLO time",
        };
        let yes = |b: bool| if b { "yes" } else { "-" };
        let _ = writeln!(
            s,
            "{:<25} {unit:<12} {better:<7} {:<8} {:<4} {:<7} {needs:<14} {}",
            f.name,
            yes(f.censored),
            yes(f.gateable),
            if f.compared { "default" } else { "-" },
            f.about
        );
    }
    s.push_str(
        "\ncensored: undelivered messages count as infinitely late (\"not reached\" when fewer than\nthat share was delivered), so dropping mail never improves them. gate: --gate and --pareto\ntake it. compare: in compare's and sweep's table by default (add others with --metric).\n",
    );
    s
}
