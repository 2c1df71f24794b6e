//! Human-readable rendering of reports, explanations and check verdicts. Text only; the JSON
//! forms come straight from core's serde types.

use mxsim_core::policy::timeline::Timeline;
use mxsim_core::policy::{Preset, RetryPolicy};
use mxsim_core::scenario::Scenario;
use mxsim_core::smtp::{Explanation, Usage};
use mxsim_core::time::{human, SimDuration};
use mxsim_core::Report;
use std::fmt::Write;

mod analysis;
mod check;
mod compare;
mod metrics;
mod sweep;
mod trace;
pub use analysis::analysis;
pub use check::{replay_flags, verdicts};
pub use compare::{comparison, gates, precision};
pub use metrics::metrics;
pub use sweep::sweep;
pub use trace::{ending, message_timeline};

fn ms(v: Option<u64>) -> String {
    v.map_or("-".into(), |x| human(SimDuration::from_ms(x)))
}

fn human_ms(v: u64) -> String {
    human(SimDuration::from_ms(v))
}

fn share(n: u64, of: u64) -> String {
    mxsim_core::figures::share_of(n, of)
}

fn counts(map: &std::collections::BTreeMap<String, u64>) -> String {
    let mut v: Vec<(&String, &u64)> = map.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The text of `mxsim explain-policy`: the domain's site, then each shaping value with the
/// block that set it.
pub fn shaping(e: &mxsim_core::shaping::Explanation) -> String {
    let mut s = String::new();
    let others: Vec<&str> = e
        .site
        .iter()
        .map(String::as_str)
        .filter(|d| *d != e.domain)
        .collect();
    let _ = writeln!(s, "{}: shaping of the sender's queue", e.domain);
    if others.is_empty() {
        let _ = writeln!(s, "  site: {} alone", e.domain);
    } else {
        let _ = writeln!(
            s,
            "  site: shared with {} (same MX hosts or relay: one set of counters)",
            others.join(", ")
        );
    }
    let width = e.settings.iter().map(|x| x.key.len()).max().unwrap_or(0);
    for x in &e.settings {
        let from = if x.from == "none" {
            "(no block sets it)".to_string()
        } else {
            format!("from policy.shaping.{}", x.from)
        };
        let _ = writeln!(s, "  {:<width$}  {:<12} {from}", x.key, x.value);
    }
    s
}

/// One line per shaped site: the domains on it, its limits, and the holds and waits shaping
/// imposed.
fn shaped_sites(s: &mut String, r: &Report) {
    for site in &r.queue.sites {
        let waits = match site.held {
            0 => String::new(),
            n => format!(
                ", waits {} in all (mean {})",
                human_ms(site.held_ms),
                human_ms(site.held_ms / n)
            ),
        };
        let _ = writeln!(
            s,
            "  site {}: {}; held {} attempts{waits}",
            site.domains.join(", "),
            site.limits,
            site.held
        );
    }
}

/// The report of `mxsim run`.
pub fn report(file: &str, scenario: &Scenario, r: &Report) -> String {
    let mut s = String::new();
    let o = &r.outcomes;
    let _ = writeln!(s, "{}", r.scenario);
    let _ = writeln!(s, "  file {file}   seed {}   digest {}", r.seed, r.digest);
    let _ = writeln!(
        s,
        "  stopped: {} at {} after {} events",
        r.stopped_by.replace('_', " "),
        human(SimDuration::from_ms(r.end_ms)),
        r.events
    );
    let _ = writeln!(s, "\nOutcomes");
    let rows = [
        ("generated", o.generated, String::new()),
        ("delivered", o.delivered, String::new()),
        ("bounced", o.bounced, counts(&r.bounced_by_code)),
        (
            "expired",
            o.expired,
            if r.expired_by_last_code.is_empty() {
                String::new()
            } else {
                format!("last failure: {}", counts(&r.expired_by_last_code))
            },
        ),
        ("still queued", o.queued, String::new()),
    ];
    for (name, n, detail) in rows {
        let _ = writeln!(
            s,
            "  {name:<13}{n:>10}  {:>8}  {detail}",
            share(n, o.generated)
        );
    }
    let d = &r.delay_ms;
    // Delay figures are read against the SLO times printed below them: rounding may not
    // cross one (mxsim_core::figures).
    let slo = r.slo_times();
    let ms = |v: Option<u64>| {
        v.map_or("-".into(), |x| {
            mxsim_core::figures::duration(SimDuration::from_ms(x), &slo)
        })
    };
    let _ = writeln!(s, "\nDelivery delay");
    let _ = writeln!(
        s,
        "  of delivered messages only:   p50 {}   p90 {}   p95 {}   p99 {}   max {}   mean {}",
        ms(d.p50),
        ms(d.p90),
        ms(d.p95),
        ms(d.p99),
        ms(d.max),
        ms(d.mean.map(|m| m.round() as u64))
    );
    let c = &r.delay_censored_ms;
    let reached = |v: Option<u64>| match v {
        None => "not reached".into(),
        v => ms(v),
    };
    let _ = writeln!(
        s,
        "  of all messages (censored):   p50 {}   p90 {}   p95 {}   p99 {}",
        reached(c.p50),
        reached(c.p90),
        reached(c.p95),
        reached(c.p99)
    );
    if o.delivered < o.generated {
        let _ = writeln!(
            s,
            "    (undelivered messages count as \"not yet\": \"not reached\" means fewer than that share was delivered)"
        );
    }
    if !r.delivered_within.is_empty() {
        let line = r
            .delivered_within
            .iter()
            .map(|w| {
                format!(
                    "{} {}",
                    SimDuration::from_ms(w.within_ms),
                    share(w.delivered, o.generated)
                )
            })
            .collect::<Vec<_>>()
            .join("   ");
        let _ = writeln!(s, "  delivered within (share of all messages):   {line}");
    }
    let a = &r.attempts;
    let f2 = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.3}"));
    let _ = writeln!(s, "\nAttempts");
    let _ = writeln!(
        s,
        "  total {}   per message {}   per delivered message {}   queue peak {}",
        a.total,
        f2(a.per_message),
        f2(a.per_delivered),
        r.queued_peak
    );
    queue_line(&mut s, r);
    if r.delay_warnings > 0 || !r.gated.is_empty() {
        let _ = writeln!(s, "\nQueue policy");
        if r.delay_warnings > 0 {
            let _ = writeln!(
                s,
                "  delay warnings (\"delayed\" DSNs) sent: {}",
                r.delay_warnings
            );
        }
        if !r.gated.is_empty() {
            let _ = writeln!(
                s,
                "  attempts held back by shared retry state or shaping (no attempt counted): {}",
                counts(&r.gated)
            );
        }
        shaped_sites(&mut s, r);
    }
    let width = scenario
        .hosts
        .iter()
        .map(|h| h.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(s, "\nHosts (what each host answered its client)");
    let _ = writeln!(
        s,
        "  {:<width$}  {:<8}  {:>9}  {:>7}  {:>9}  {:>8}  failures",
        "host", "role", "contacts", "share", "accepted", "success"
    );
    for h in &r.hosts {
        let _ = writeln!(
            s,
            "  {:<width$}  {:<8}  {:>9}  {:>7}  {:>9}  {:>8}  {}",
            h.id,
            h.role,
            h.contacts,
            h.share
                .filter(|_| h.contacts > 0)
                .map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0)),
            h.accepted,
            share(h.accepted, h.contacts),
            counts(&h.failures)
        );
    }
    network(&mut s, r);
    s
}

/// The queue length over time as a one-line chart (each character the peak of its stretch),
/// and the queue manager's counters.
fn queue_line(s: &mut String, r: &Report) {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    const WIDTH: usize = 60;
    let series = &r.queue.series;
    let peak = series.iter().map(|q| q.queued).max().unwrap_or(0);
    if series.len() < 2 || peak == 0 {
        return;
    }
    let per = series.len().div_ceil(WIDTH);
    let line: String = series
        .chunks(per)
        .map(|c| {
            let v = c.iter().map(|q| q.queued).max().unwrap_or(0);
            BARS[((v * 7).div_ceil(peak)) as usize]
        })
        .collect();
    let span = r.queue.series_every_ms * (series.len() as u64 - 1);
    let _ = writeln!(
        s,
        "  queue over time (0 … {}, peak {}): {}",
        ms(Some(span)),
        peak,
        line
    );
    if let Some(m) = &r.queue.manager {
        let _ = writeln!(
            s,
            "  active queue peak {}, waiting peak {}, {} waits for a slot",
            m.active_peak, m.waiting_peak, m.waits
        );
    }
}

/// The "Network" section: one line per mechanism that did something.
fn network(s: &mut String, r: &Report) {
    let n = &r.network;
    let mut lines = Vec::new();
    if n.greylist_deferrals > 0 {
        lines.push(format!(
            "greylisting: {} deferrals, {} triplets passed after waiting",
            n.greylist_deferrals, n.greylist_passes
        ));
    }
    if n.over_capacity > 0 || n.abandoned_sessions > 0 {
        lines.push(format!(
            "capacity: {} connections refused for load, {} abandoned waiting for a greeting",
            n.over_capacity, n.abandoned_sessions
        ));
        for h in &r.hosts {
            if let Some(l) = h.load.as_ref().filter(|l| l.refused + l.abandoned > 0) {
                lines.push(format!(
                    "  {}: {} refused, {} abandoned, backlog peak {}",
                    h.id, l.refused, l.abandoned, l.peak_backlog
                ));
            }
        }
    }
    if n.relayed > 0 {
        lines.push(format!(
            "store-and-forward: {} hand-offs to relays that queued the mail themselves",
            n.relayed
        ));
    }
    if let Some(d) = &n.dns {
        let c = &d.counters;
        lines.push(format!(
            "dns: {} lookups, {} cache hits ({}), {} queries, {} stale answers, {} failures",
            c.lookups,
            c.cache_hits,
            d.hit_ratio
                .map_or("-".into(), |v| format!("{:.1}%", v * 100.0)),
            c.queries,
            c.stale_answers,
            c.failures
        ));
    }
    if let Some(c) = &n.connections {
        let k = &c.counters;
        lines.push(format!(
            "connections: {} opened, {} sessions reused one ({}), {} retired, peak {} idle",
            k.opened,
            k.reused,
            c.reuse_ratio
                .map_or("-".into(), |v| format!("{:.1}%", v * 100.0)),
            k.retired,
            k.peak_idle
        ));
    }
    if !lines.is_empty() {
        let _ = writeln!(s, "\nNetwork");
        for l in lines {
            let _ = writeln!(s, "  {l}");
        }
    }
}

/// The text of `mxsim explain`.
pub fn explanation(e: &Explanation) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}  {}", e.code, e.name);
    let _ = writeln!(s, "  meaning   {}", e.meaning);
    let _ = writeln!(s, "  class     {}: {}", e.code.class, e.class_meaning);
    let _ = writeln!(s, "  subject   {}: {}", e.code.subject, e.subject_meaning);
    let basic = if e.basic.is_empty() {
        "none listed".to_string()
    } else {
        e.basic
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(s, "  basic     usual reply codes (IANA): {basic}");
    let usage = match e.usage {
        Usage::Permanent => "RFC 3463: useful only as a permanent failure (5.x.x)",
        Usage::Transient => "RFC 3463: useful only as a persistent transient failure (4.x.x)",
        Usage::Both => "RFC 3463: meaningful as transient or permanent",
        Usage::Unstated => "RFC 3463 says nothing about its class",
    };
    let _ = writeln!(s, "  usage     {usage}");
    let _ = writeln!(s, "  defined   {}", e.defined_in);
    let _ = writeln!(s, "  sender    {}", e.sender);
    if !e.neighbours.is_empty() {
        let _ = writeln!(s, "\nHow it differs from its neighbours");
        for n in &e.neighbours {
            let _ = writeln!(
                s,
                "  {:<6} {}: {}",
                n.code.to_string(),
                n.name,
                n.difference
            );
        }
    }
    let _ = writeln!(s, "\nWhat to do\n  {}", e.advice);
    if !e.notes.is_empty() {
        let _ = writeln!(s, "\nNotes");
        for n in e.notes {
            let _ = writeln!(s, "  - {n}");
        }
    }
    s
}

/// The text of `mxsim presets`.
pub fn presets(all: &[Preset]) -> String {
    let mut s = String::new();
    let width = all.iter().map(|p| p.name.len()).max().unwrap_or(8);
    for p in all {
        let _ = writeln!(s, "{:<width$}  {}", p.name, p.summary);
        let _ = writeln!(
            s,
            "{:<width$}  retry {}; lifetime {} ({}); source: {}",
            "",
            p.policy.default,
            p.policy.queue_lifetime,
            p.policy.give_up.name(),
            p.source
        );
    }
    s
}

/// The text of `mxsim schedule`.
pub fn timeline(name: &str, policy: &RetryPolicy, t: &Timeline) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{name}: retry {}", policy.default);
    let cap = policy
        .max_attempts
        .map_or(String::new(), |(n, _)| format!(", at most {n} attempts"));
    let scan = policy
        .queue_scan
        .map_or(String::new(), |d| format!(", queue scan every {d}"));
    let _ = writeln!(
        s,
        "  lifetime {} ({}){cap}{scan}; every attempt fails with {}",
        policy.queue_lifetime,
        policy.give_up.name(),
        t.code
    );
    if t.jittered {
        let _ = writeln!(
            s,
            "  jittered: offsets are one seeded sample, with their possible range"
        );
    }
    let _ = writeln!(s, "\n  {:>4}  {:>14}  {:>14}  rule", "n", "offset", "gap");
    // Jittered offsets are shown to the second; `--json` keeps the milliseconds.
    let shown = |ms: u64| {
        let ms = if t.jittered {
            (ms + 500) / 1000 * 1000
        } else {
            ms
        };
        SimDuration::from_ms(ms).to_string()
    };
    for a in &t.attempts {
        let offset = shown(a.offset_ms);
        let range = if a.offset_min_ms != a.offset_max_ms {
            format!(
                "  [{} .. {}]",
                shown(a.offset_min_ms),
                shown(a.offset_max_ms)
            )
        } else {
            String::new()
        };
        let gap = if a.n == 1 {
            "-".to_string()
        } else {
            shown(a.gap_ms)
        };
        let phase = t
            .phases
            .as_ref()
            .and_then(|p| p.offsets_ms.get(a.n as usize - 1))
            .filter(|(lo, hi)| lo != hi)
            .map_or(String::new(), |(lo, hi)| {
                format!("  (by phase: {} .. {})", shown(*lo), shown(*hi))
            });
        let _ = writeln!(
            s,
            "  {:>4}  {:>14}  {:>14}  {}{range}{phase}",
            a.n, offset, gap, a.rule
        );
    }
    match (t.gives_up_at_ms, t.give_up_reason) {
        (Some(at), Some(why)) => {
            let _ = writeln!(
                s,
                "\n  gives up at {} ({}) after {} attempts: {why}",
                SimDuration::from_ms(at),
                human(SimDuration::from_ms(at)),
                t.attempts.len()
            );
        }
        _ => {
            let _ = writeln!(
                s,
                "\n  still retrying after {} attempts (listing stopped)",
                t.attempts.len()
            );
        }
    }
    if let (Some(p), Some(scan)) = (&t.phases, policy.queue_scan) {
        let give_up = p.gives_up_ms.map_or("-".to_string(), |(lo, hi)| {
            if lo == hi {
                SimDuration::from_ms(lo).to_string()
            } else {
                format!(
                    "{} .. {}",
                    SimDuration::from_ms(lo),
                    SimDuration::from_ms(hi)
                )
            }
        });
        let attempts = if p.attempts.0 == p.attempts.1 {
            p.attempts.0.to_string()
        } else {
            format!("{} .. {}", p.attempts.0, p.attempts.1)
        };
        let changes =
            p.attempts.0 != p.attempts.1 || p.gives_up_ms.is_some_and(|(lo, hi)| lo != hi);
        let _ = writeln!(
            s,
            "  queue scan every {}: the listing has the message arrive exactly at a scan; over {}\n  \
             arrival phases between two scans: {attempts} attempts, giving up at {give_up}{}",
            scan.every,
            p.samples,
            if changes {
                "\n  (the phase changes the attempt count or the give-up)"
            } else {
                ""
            }
        );
    }
    s
}

/// The runs a limit cut short, one line each, before an experiment's table ("" if none).
pub fn cut_runs(cut: &[String]) -> String {
    if cut.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "CUT: {} run{} stopped by a limit before the scenario ended; its metrics describe part of the scenario:\n",
        cut.len(),
        if cut.len() == 1 { "" } else { "s" }
    );
    for line in cut.iter().take(10) {
        s.push_str(&format!("  {line}\n"));
    }
    if cut.len() > 10 {
        s.push_str(&format!("  … and {} more\n", cut.len() - 10));
    }
    s.push('\n');
    s
}
