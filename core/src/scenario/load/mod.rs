//! Reads and validates a scenario tree into a [`Scenario`], collecting every problem.
//!
//! One file per section of `docs/scenario.md`: `limits`, `hosts` (with `failure` for a
//! host's failure model), `links`, `domains`, `workload`, `policy` (the fields of a
//! queue's policy, for the sender and each store-and-forward relay) with `route`, `retry`
//! and `mechanisms`, and `expect`. Shared reading helpers (typed fields, near-name help,
//! optional overrides, mechanism switches) live in `scenario::reader`.
//!
//! The order matters only for cross-references: limits, then hosts (names), links and domains
//! (which name hosts), workload (names domains), policy (names hosts), expectations.

mod domains;
mod expect;
mod failure;
mod hosts;
mod limits;
mod links;
mod mechanisms;
mod names;
mod policy;
mod retry;
mod route;
mod shaping;
mod workload;

use self::{
    domains::*, expect::*, failure::*, hosts::*, limits::*, links::*, mechanisms::*, names::*,
    policy::*, retry::*, route::*, shaping::*, workload::*,
};
use super::reader::{
    count, join, mechanism, override_field, positive, required, unknown_name_help, Fields, Reader,
};
use super::tree::{self, Entry, Format, Kind, Node};
use super::*;
use crate::diagnostic::Diagnostics;
use crate::expect::{Expectation, Metric};
use crate::failure::merge_windows;
use crate::network::{CapacitySpec, Choose, ConnectionSpec, DnsSpec, GreylistSpec, Stage};
use crate::policy::backoff::parse_list;
use crate::policy::count::RULES_MAX;
use crate::policy::{
    preset, presets, Backoff, BackoffCounts, CodePattern, CodeRule, EximRules, GiveUp, Jitter,
    MaxAttemptsCheck, RetryPolicy,
};
use crate::qmgr::{Concurrency, QueueSpec};
use crate::shared::{BreakerSpec, BudgetSpec, DeadDestinationSpec, SharedSpec};
use crate::smtp::{lookup, EnhancedCode, Reply};
use crate::time::parse_duration;
use crate::time::SimDuration;

const TOP: &[&str] = &[
    "name",
    "description",
    "seed",
    "duration",
    "limits",
    "hosts",
    "links",
    "domains",
    "workload",
    "policy",
    "expect",
    "series_every",
    "delivered_within",
    "policies",
];

/// Parses and validates scenario `text`; `file` names it in diagnostics and picks the format
/// (`.json` → JSON, otherwise TOML; see [`Format::detect`]).
pub fn load(text: &str, file: &str) -> Result<Scenario, Diagnostics> {
    let format = Format::detect(file, text);
    let root = match tree::parse(text, format) {
        Ok(n) => n,
        Err(d) => return Err(Diagnostics::locate(file, text, vec![*d])),
    };
    load_tree(&root, file, text)
}

/// Validates a parsed (possibly edited, see [`super::edit`]) tree of `text`.
pub(crate) fn load_tree(root: &Node, file: &str, text: &str) -> Result<Scenario, Diagnostics> {
    let mut r = Reader::default();
    let scenario = read_scenario(&mut r, root);
    match scenario {
        Some(s) if r.diagnostics.is_empty() => Ok(s),
        _ => Err(Diagnostics::locate(file, text, r.diagnostics)),
    }
}

/// Like [`load()`], then replaces the seed (the CLI's `--seed`).
pub fn load_with_seed(text: &str, file: &str, seed: Option<u64>) -> Result<Scenario, Diagnostics> {
    let mut s = load(text, file)?;
    if let Some(seed) = seed {
        s.seed = seed;
    }
    Ok(s)
}

fn read_scenario(r: &mut Reader, root: &Node) -> Option<Scenario> {
    let top = r.table(root, "", TOP)?;
    let name = top
        .get("name")
        .and_then(|n| r.name(n, "name"))
        .unwrap_or_else(|| "unnamed scenario".into());
    if let Some(n) = top.get("description") {
        r.string(n, "description");
    }
    let seed = match top.get("seed") {
        Some(n) => r.unsigned(n, "seed", i64::MAX as u64).unwrap_or(0),
        None => {
            r.missing(
                &top,
                "seed",
                "every run is reproducible from its seed: add e.g. `seed = 1`",
            );
            0
        }
    };
    let duration = top
        .get("duration")
        .and_then(|n| r.positive_duration(n, "duration"));
    let limits = read_limits(r, &top);
    let (hosts, relay_queues) = read_hosts(r, &top, &limits);
    let links = read_links(r, &top, &hosts);
    let domains = read_domains(r, &top, &hosts);
    let workload = read_workload(r, &top, &domains, &limits);
    let policy = read_policy(r, top.get("policy"), &hosts, &links, &domains, None);
    let policies = read_named_policies(r, &top, &hosts, &links, &domains);
    let expect = read_expect(r, &top, &hosts, policy.as_ref());
    let expect_seeds = read_expect_seeds(r, &top);
    let mut hosts = hosts;
    read_relay_policies(r, &relay_queues, &mut hosts, &links, &domains);
    let series_every = top
        .get("series_every")
        .and_then(|n| r.positive_duration(n, "series_every"))
        .unwrap_or(SimDuration::from_mins(10));
    let delivered_within = read_delivered_within(r, &top, &expect);
    Some(Scenario {
        series_every,
        delivered_within,
        name,
        seed,
        duration,
        limits,
        hosts,
        links,
        domains,
        workload: workload?,
        policy: policy?,
        policies,
        expect,
        expect_seeds,
    })
}

/// Most SLO times a scenario may ask for (each is one report line and one pass over delays).
pub const DELIVERED_WITHIN_MAX: usize = 32;

/// The SLO times: the top-level `delivered_within` list (or its default) and every time an
/// `[expect] delivered_within` bound names, ascending, without repeats.
fn read_delivered_within(
    r: &mut Reader,
    top: &Fields<'_>,
    expect: &[Expectation],
) -> Vec<SimDuration> {
    let mut times = match top.get("delivered_within") {
        None => Scenario::DELIVERED_WITHIN_DEFAULT
            .iter()
            .map(|&m| SimDuration::from_mins(m))
            .collect(),
        Some(n) => {
            let items = r.array(n, "delivered_within").unwrap_or(&[]);
            if items.len() > DELIVERED_WITHIN_MAX {
                r.error(
                    "delivered_within",
                    n.span.clone(),
                    format!(
                        "{} times listed; at most {DELIVERED_WITHIN_MAX}",
                        items.len()
                    ),
                    Some("keep the few times your SLO names, e.g. [\"1h\", \"4h\"]".into()),
                );
                return Vec::new();
            }
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    r.positive_duration(item, &format!("delivered_within[{i}]"))
                })
                .collect::<Vec<_>>()
        }
    };
    times.extend(expect.iter().filter_map(|e| match e.metric {
        Metric::DeliveredWithin(ms) => Some(SimDuration::from_ms(ms)),
        _ => None,
    }));
    times.sort_unstable();
    times.dedup();
    times
}
