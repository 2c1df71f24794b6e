//! The text of `mxsim trace`: a message's life as a timeline, hop by hop.

use super::analysis::clock;
use super::human_ms;
use mxsim_core::scenario::Scenario;
use mxsim_core::trace::{TraceKind, TraceRecord};
use std::fmt::Write;

/// A time since the start with milliseconds, `01:10:05.120`.
fn at(ms: u64) -> String {
    format!("{}.{:03}", clock(ms), ms % 1000)
}

/// How the message's life ended, from its last records.
pub fn ending(records: &[TraceRecord]) -> String {
    let arrived = records.first().map_or(0, |r| r.t_ms);
    for r in records.iter().rev() {
        match &r.kind {
            TraceKind::Delivered { delay_ms } => {
                return format!("delivered after {}", human_ms(*delay_ms))
            }
            TraceKind::Bounced { reply } => {
                return format!("bounced with {reply} after {}", human_ms(r.t_ms - arrived))
            }
            TraceKind::Expired { last } => {
                return format!(
                    "expired (4.4.7) after {}, {}",
                    human_ms(r.t_ms - arrived),
                    last_failure(last)
                )
            }
            _ => {}
        }
    }
    "still queued when the run stopped".into()
}

/// One message's timeline.
pub fn message_timeline(scenario: &Scenario, id: u64, records: &[TraceRecord]) -> String {
    let sender = scenario
        .hosts
        .iter()
        .find(|h| h.role.name() == "sender")
        .map_or("sender", |h| h.id.as_str());
    let mut s = String::new();
    let domain = records.iter().find_map(|r| match &r.kind {
        TraceKind::Arrival { domain, .. } => Some(domain.as_str()),
        _ => None,
    });
    let _ = writeln!(
        s,
        "message {id} to {}: {}",
        domain.unwrap_or("?"),
        ending(records)
    );
    let mut queue = sender.to_string();
    // Whether the current queue has tried the message: a hold before any attempt has no
    // failure to show.
    let mut tried = false;
    for r in records {
        let t = at(r.t_ms);
        match &r.kind {
            TraceKind::Attempt { .. } => tried = true,
            TraceKind::Relayed { .. } => tried = false,
            _ => {}
        }
        match &r.kind {
            TraceKind::Arrival {
                unknown_recipient, ..
            } => {
                let _ = writeln!(
                    s,
                    "  {t}  arrived in the sender's queue ({sender}){}",
                    if *unknown_recipient {
                        ", addressed to a mailbox that does not exist"
                    } else {
                        ""
                    }
                );
            }
            TraceKind::Attempt {
                n,
                hops,
                reply,
                end_ms,
                dns,
                resolver,
                from,
                blamed,
            } => {
                let by = from.as_deref().unwrap_or(sender);
                let _ = writeln!(
                    s,
                    "  {t}  attempt {n} from {by}'s queue → {reply} at {} (took {})",
                    at(*end_ms),
                    human_ms(end_ms - r.t_ms)
                );
                if let (Some(d), Some(res)) = (dns, resolver) {
                    let source = serde_json::to_value(d.source)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let what = match source.as_str() {
                        "cache" => "answered from the cache".to_string(),
                        "resolver" => format!("asked resolver {res}"),
                        "stale" => format!("resolver {res} failed; a stale answer was served"),
                        _ => format!("resolver {res} failed: no MX answer"),
                    };
                    let mark = if source == "failed" {
                        "   ← failed here"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        s,
                        "                  DNS: {what}, done at {}{mark}",
                        at(d.done_ms)
                    );
                }
                // Depth from the `via` chain: a hop is one deeper than the relay that
                // contacted it.
                let mut depth_of: Vec<(&str, usize)> = Vec::new();
                for (i, h) in hops.iter().enumerate() {
                    let depth = h
                        .via
                        .as_deref()
                        .and_then(|v| depth_of.iter().rev().find(|(n, _)| *n == v))
                        .map_or(0, |(_, d)| d + 1);
                    depth_of.push((h.host.as_str(), depth));
                    let conn = match (h.session_ms, h.reused) {
                        (None, _) => "no session".to_string(),
                        (Some(_), true) => "reused connection".to_string(),
                        (Some([a, b]), false) => {
                            format!("new connection, session {}", human_ms(b - a))
                        }
                    };
                    let via = h
                        .via
                        .as_deref()
                        .map_or(String::new(), |v| format!(" (via {v})"));
                    let mark = if blamed.contains(&i) {
                        "   ← failed here"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        s,
                        "                  {} {}{}{via}: {} [{conn}]{mark}",
                        at(h.at_ms),
                        "  ".repeat(depth),
                        h.host,
                        h.reply
                    );
                }
            }
            TraceKind::Waiting => {
                let _ = writeln!(
                    s,
                    "  {t}  due, waiting for a slot in {queue}'s active queue"
                );
            }
            TraceKind::Deferred {
                reply,
                retry_at_ms,
                rule,
            } => {
                let what = if tried {
                    format!("deferred in {queue}'s queue ({reply})")
                } else {
                    format!("held in {queue}'s queue before its first attempt")
                };
                let _ = writeln!(
                    s,
                    "  {t}  {what}: next at {}, wait {} [{rule}]",
                    at(*retry_at_ms),
                    human_ms(retry_at_ms - r.t_ms)
                );
            }
            TraceKind::Relayed { to } => {
                let _ = writeln!(
                    s,
                    "  {t}  accepted by store-and-forward relay {to}: now in {to}'s queue"
                );
                queue = to.clone();
            }
            TraceKind::DelayWarning { n, age_ms } => {
                let _ = writeln!(
                    s,
                    "  {t}  delay warning {n} (a \"delayed\" DSN) from {queue}: queued {}",
                    human_ms(*age_ms)
                );
            }
            TraceKind::Delivered { delay_ms } => {
                let _ = writeln!(s, "  {t}  delivered, {} after arrival", human_ms(*delay_ms));
            }
            TraceKind::Bounced { reply } => {
                let _ = writeln!(s, "  {t}  bounced: {reply} (returned to its sender)");
            }
            TraceKind::Expired { last } => {
                let _ = writeln!(
                    s,
                    "  {t}  expired in {queue}'s queue: gave up (4.4.7), {}",
                    last_failure(last)
                );
            }
        }
    }
    s
}

/// "last failure 451 4.4.3 …", or why there was none.
fn last_failure(last: &Option<mxsim_core::smtp::Reply>) -> String {
    match last {
        Some(r) => format!("last failure {r}"),
        None => "before any attempt (it waited for a queue slot)".into(),
    }
}
