//! The text of `mxsim run --analyze`: the failure analysis, then routing metrics per route.

use super::{human_ms, share};
use mxsim_core::report::{Analysis, FailureWindow, Routing};
use mxsim_core::shaping::SiteReport;
use std::fmt::Write;

/// A time since the start as a clock, `01:10:05`, with whole days in front (`2d 01:10:05`).
pub fn clock(ms: u64) -> String {
    let secs = ms / 1000;
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

fn window(w: &FailureWindow) -> String {
    format!(
        "{}–{} ({} failed of {} contacts)",
        clock(w.from_ms),
        clock(w.to_ms),
        w.failures,
        w.contacts
    )
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn count(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The "Failure analysis" and "Routes" sections.
pub fn analysis(a: &Analysis, routing: &Routing, sites: &[SiteReport]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nFailure analysis ({} failed attempts)",
        a.failed_attempts
    );
    match &a.culprit {
        None => {
            let _ = writeln!(s, "  no host failed");
        }
        Some(c) => {
            let _ = writeln!(s, "  culprit: {c}");
        }
    }
    // Delay the sender imposed on itself is not a host's fault: say so beside the culprit.
    for site in sites.iter().filter(|x| x.held > 0) {
        let _ = writeln!(
            s,
            "  your own shaping delayed mail, not a destination: site {} ({}) held {} attempts, {} of waiting in all",
            site.domains.join(", "),
            site.limits,
            site.held,
            human_ms(site.held_ms)
        );
    }
    if !a.suspects.is_empty() {
        let _ = writeln!(
            s,
            "  hosts to blame, most first (by the mail they made expire, then the delay they forced: failed attempts and their retry waits):"
        );
    }
    for (rank, h) in a.suspects.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {}. {}: {} failed contacts ended here ({} of its contacts); {} of failed attempts; delay forced {}{} (summed over messages)",
            rank + 1,
            h.host,
            h.failures_caused,
            pct(h.failure_rate),
            h.failed_attempts_share.map_or("-".into(), pct),
            human_ms((h.score * 3_600_000.0).round() as u64),
            if h.expiries_caused > 0.0 {
                format!("; {} expired", count(h.expiries_caused))
            } else {
                String::new()
            }
        );
        if !h.dominant_codes.is_empty() {
            let codes: Vec<String> = h
                .dominant_codes
                .iter()
                .take(4)
                .map(|c| format!("{} ×{} ({})", c.code, count(c.count), pct(c.share)))
                .collect();
            let _ = writeln!(s, "       it answered: {}", codes.join(", "));
        }
        if !h.caused_codes.is_empty() {
            let codes: Vec<String> = h
                .caused_codes
                .iter()
                .take(4)
                .map(|c| {
                    format!(
                        "{} of {} ({} attempts)",
                        pct(c.share),
                        c.code,
                        count(c.count)
                    )
                })
                .collect();
            let _ = writeln!(s, "       caused: {}", codes.join(", "));
        }
        if !h.windows.is_empty() {
            // The three largest, in time order.
            let mut largest: Vec<&FailureWindow> = h.windows.iter().collect();
            largest.sort_by(|a, b| b.failures.cmp(&a.failures).then(a.from_ms.cmp(&b.from_ms)));
            largest.truncate(3);
            largest.sort_by_key(|w| w.from_ms);
            let shown: Vec<String> = largest.into_iter().map(window).collect();
            let more = h.windows.len().saturating_sub(3);
            let _ = writeln!(
                s,
                "       failing in {} window{}: {}{}",
                h.windows.len(),
                if h.windows.len() == 1 { "" } else { "s" },
                shown.join(", "),
                if more > 0 {
                    format!(", … {more} more")
                } else {
                    String::new()
                }
            );
        }
    }
    let o = &a.origin_443;
    if o.total > 0 {
        let _ = writeln!(s, "  where 4.4.3 came from ({} failed attempts):", o.total);
        for r in &o.relay {
            let _ = writeln!(
                s,
                "    relay {} could not forward: {} beyond it failed ({} attempts)",
                r.relay,
                r.beyond,
                count(r.count)
            );
        }
        for (resolver, n) in &o.dns {
            let _ = writeln!(s, "    DNS: resolver {resolver} failed ({n} attempts)");
        }
    }
    if !a.routes.is_empty() {
        let _ = writeln!(s, "  routes with failed attempts, most delay added first:");
        for r in &a.routes {
            let _ = writeln!(
                s,
                "    {}: {} failed, success {}, delay added {}",
                r.route,
                r.failed,
                r.success_rate.map_or("-".into(), pct),
                human_ms(r.delay_added_ms.round() as u64)
            );
        }
    }
    let _ = writeln!(s, "\nRoutes (hosts contacted per attempt, in order)");
    for r in routing.routes.iter().take(15) {
        let _ = writeln!(
            s,
            "  {:>9} attempts  {:>8} success  {}",
            r.tally.attempts,
            share(r.tally.successes, r.tally.attempts),
            r.route
        );
    }
    let more = routing.routes.len().saturating_sub(15);
    if more > 0 || routing.routes_not_itemised > 0 {
        let _ = writeln!(
            s,
            "  … {more} more routes in --json/--csv{}",
            if routing.routes_not_itemised > 0 {
                format!(
                    "; {} attempts on routes beyond the route table's limit",
                    routing.routes_not_itemised
                )
            } else {
                String::new()
            }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::clock;

    #[test]
    fn clocks_read_as_time_since_the_start() {
        assert_eq!(clock(0), "00:00:00");
        assert_eq!(clock(4_205_000), "01:10:05");
        assert_eq!(clock(2 * 86_400_000 + 3_600_000), "2d 01:00:00");
    }
}
