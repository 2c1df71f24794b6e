//! `mxsim trace`: one message's life, hop by hop.
//!
//! Reads the selectors (`--message`, `--worst`, `--code`, `--host`, `--outcome`) and prints
//! what core's `trace_messages` returns (two runs of the same seed: memory never holds the
//! whole trace).

use crate::{csv_text, emit, load_with_preset, render, Failure};
use mxsim_core::ids::MessageId;
use mxsim_core::scenario::Scenario;
use mxsim_core::simulation::traced::{trace_messages, TracedMessage};
use mxsim_core::smtp::EnhancedCode;
use mxsim_core::{Criteria, Outcome, Pick};
use std::path::Path;

/// What `mxsim trace` was asked.
pub struct TraceArgs<'a> {
    pub path: &'a Path,
    pub seed: Option<u64>,
    pub preset: Option<&'a str>,
    pub sets: &'a [String],
    pub messages: &'a [u64],
    pub worst: Option<usize>,
    pub limit: usize,
    pub code: Option<&'a str>,
    pub host: Option<&'a str>,
    pub outcome: Option<&'a str>,
}

fn criteria(args: &TraceArgs<'_>, scenario: &Scenario) -> Result<Criteria, Failure> {
    let code = args
        .code
        .map(|c| {
            EnhancedCode::parse(c).map_err(|m| {
                Failure::Input(format!(
                    "error: --code: {m}\n  help: enhanced status codes look like 4.4.3"
                ))
            })
        })
        .transpose()?;
    let host = match args.host {
        None => None,
        Some(name) => match scenario.hosts.iter().position(|h| h.id == name) {
            Some(i) => Some(mxsim_core::ids::HostId::from_index(i)),
            None => {
                let near = mxsim_core::diagnostic::suggest(
                    name,
                    scenario.hosts.iter().map(|h| h.id.as_str()),
                );
                let names: Vec<&str> = scenario.hosts.iter().map(|h| h.id.as_str()).collect();
                return Err(Failure::Input(format!(
                    "error: --host: no host \"{name}\" in the scenario\n  help: {}hosts: {}",
                    near.map_or(String::new(), |n| format!("did you mean `{n}`? ")),
                    names.join(", ")
                )));
            }
        },
    };
    let outcome = args
        .outcome
        .map(|o| {
            Outcome::from_name(o).ok_or_else(|| {
                Failure::Input(format!(
                    "error: --outcome: unknown outcome \"{o}\"\n  help: one of {}",
                    Outcome::NAMES.join(", ")
                ))
            })
        })
        .transpose()?;
    Ok(Criteria {
        code,
        host,
        outcome,
    })
}

/// Selects and traces the messages asked for.
pub fn trace(args: &TraceArgs<'_>) -> Result<(Scenario, Vec<TracedMessage>), Failure> {
    let scenario = load_with_preset(args.path, args.seed, args.preset, args.sets)?;
    let criteria = criteria(args, &scenario)?;
    let pick = if !args.messages.is_empty() {
        let ids = args
            .messages
            .iter()
            .map(|&m| {
                u32::try_from(m).map(MessageId).map_err(|_| {
                    Failure::Input(format!(
                        "error: --message {m}: message ids are below 4294967296"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Pick::Ids(ids)
    } else if let Some(k) = args.worst {
        Pick::Worst(k)
    } else {
        Pick::First(args.limit)
    };
    let traced = trace_messages(&scenario, criteria, &pick)
        .map_err(|m| Failure::Input(format!("error: --message: {m}")))?;
    Ok((scenario, traced))
}

/// One CSV row per attempt: message, queue, start, end, route, reply, blamed hops, and the
/// wait that followed with its rule.
pub fn attempt_rows(scenario: &Scenario, traced: &[TracedMessage]) -> Vec<Vec<String>> {
    use mxsim_core::trace::TraceKind;
    let sender = scenario
        .hosts
        .iter()
        .find(|h| h.role.name() == "sender")
        .map_or("sender".to_string(), |h| h.id.clone());
    let mut rows = vec![[
        "message",
        "attempt",
        "queue",
        "start_ms",
        "end_ms",
        "route",
        "reply",
        "blamed",
        "retry_at_ms",
        "rule",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<String>>()];
    for t in traced {
        for r in &t.records {
            match &r.kind {
                TraceKind::Attempt {
                    n,
                    hops,
                    reply,
                    end_ms,
                    from,
                    blamed,
                    ..
                } => {
                    let route: Vec<&str> = hops.iter().map(|h| h.host.as_str()).collect();
                    let blamed: Vec<String> = blamed
                        .iter()
                        .map(|&i| format!("{} {}", hops[i].host, hops[i].reply))
                        .collect();
                    rows.push(vec![
                        t.message.to_string(),
                        n.to_string(),
                        from.clone().unwrap_or_else(|| sender.clone()),
                        r.t_ms.to_string(),
                        end_ms.to_string(),
                        route.join(" > "),
                        reply.to_string(),
                        blamed.join("; "),
                        String::new(),
                        String::new(),
                    ]);
                }
                TraceKind::Deferred {
                    retry_at_ms, rule, ..
                } => {
                    if let Some(last) = rows
                        .last_mut()
                        .filter(|row| row[0] == t.message.to_string())
                    {
                        last[8] = retry_at_ms.to_string();
                        last[9] = rule.clone();
                    }
                }
                _ => {}
            }
        }
    }
    rows
}

/// `mxsim trace`: selects, traces and prints the messages asked for.
pub fn command(args: &TraceArgs<'_>, json: bool, csv: bool) -> Result<(), Failure> {
    let (scenario, traced) = trace(args)?;
    if json {
        let all: Vec<serde_json::Value> = traced
            .iter()
            .map(|t| {
                serde_json::json!({
                    "message": t.message,
                    "ending": render::ending(&t.records),
                    "records": t.records,
                })
            })
            .collect();
        emit(&(serde_json::to_string_pretty(&all).expect("records serialise") + "\n"));
    } else if csv {
        emit(&csv_text(&attempt_rows(&scenario, &traced)));
    } else if traced.is_empty() {
        emit("no message matches\n");
    } else {
        let texts: Vec<String> = traced
            .iter()
            .map(|t| render::message_timeline(&scenario, t.message, &t.records))
            .collect();
        emit(&texts.join("\n"));
    }
    Ok(())
}
