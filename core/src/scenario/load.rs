//! Reads and validates a scenario tree into a [`Scenario`], collecting every problem.
//!
//! The order matters only for cross-references: limits, then hosts (names), links and domains
//! (which name hosts), workload (names domains), policy (names hosts), expectations.

use super::load_network::{
    read_capacity, read_connect, read_connections, read_dns, read_down_as, read_greylist,
    read_next_mx, read_queue, read_stage,
};
use super::reader::{join, Fields, Reader};
use super::tree::{self, Format, Kind, Node};
use super::*;
use crate::diagnostic::{suggest, Diagnostics};
use crate::expect::{Expectation, Metric};
use crate::failure::merge_windows;
use crate::policy::backoff::parse_list;
use crate::policy::{
    preset, presets, Backoff, CodePattern, CodeRule, EximRules, GiveUp, Jitter, MaxAttemptsCheck,
    RetryPolicy,
};
use crate::shared::{BreakerSpec, BudgetSpec, DeadDestinationSpec, SharedSpec};
use crate::smtp::{lookup, EnhancedCode, Reply};
use crate::time::parse_duration;

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
];

/// Parses and validates scenario `text`; `file` names it in diagnostics and picks the format
/// (`.json` → JSON, otherwise TOML; see [`Format::detect`]).
pub fn load(text: &str, file: &str) -> Result<Scenario, Diagnostics> {
    let format = Format::detect(file, text);
    let root = match tree::parse(text, format) {
        Ok(n) => n,
        Err(d) => return Err(Diagnostics::locate(file, text, vec![*d])),
    };
    let mut r = Reader::default();
    let scenario = read_scenario(&mut r, &root);
    match scenario {
        Some(s) if r.diagnostics.is_empty() => Ok(s),
        _ => Err(Diagnostics::locate(file, text, r.diagnostics)),
    }
}

/// Like [`load`], then replaces the seed (the CLI's `--seed`).
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
    let hosts = read_hosts(r, &top, &limits);
    let names: Vec<&str> = hosts.iter().map(|h| h.id.as_str()).collect();
    let links = read_links(r, &top, &names);
    let domains = read_domains(r, &top, &hosts);
    let workload = read_workload(r, &top, &domains, &limits);
    let policy = read_policy(r, top.get("policy"), &hosts, &links, None);
    let expect = read_expect(r, &top, &names);
    let mut hosts = hosts;
    read_relay_policies(r, &top, &mut hosts, &links);
    let series_every = top
        .get("series_every")
        .and_then(|n| r.positive_duration(n, "series_every"))
        .unwrap_or(SimDuration::from_mins(10));
    Some(Scenario {
        series_every,
        name,
        seed,
        duration,
        limits,
        hosts,
        links,
        domains,
        workload: workload?,
        policy: policy?,
        expect,
    })
}

/// A stand-in for a store-and-forward relay's policy until [`read_relay_policies`] reads it.
fn placeholder_policy() -> Policy {
    Policy {
        sender: HostId(0),
        retry: RetryPolicy::simple(Backoff::Fixed {
            interval: SimDuration::from_mins(5),
        }),
        route: Route::Direct,
        mx_address_limit: Policy::MX_ADDRESS_LIMIT_DEFAULT,
        shared: SharedSpec::default(),
        next_mx: NextMx::POSTFIX,
        fallback_relay: None,
        connect: ConnectSpec::default(),
        hop_limit: Policy::HOP_LIMIT_DEFAULT,
        dns: None,
        connections: None,
        queue: None,
    }
}

/// Reads the `policy` of every store-and-forward relay with the sender's reader, so a relay's
/// queue has exactly the sender's features; problems are reported under `hosts[i].policy`.
fn read_relay_policies(
    r: &mut Reader,
    top: &Fields<'_>,
    hosts: &mut [HostSpec],
    links: &[LinkSpec],
) {
    let Some(Kind::Array(items)) = top.get("hosts").map(|n| &n.kind) else {
        return;
    };
    let mut read = Vec::new();
    for (i, host) in hosts.iter().enumerate() {
        if host.queue_policy.is_none() {
            continue;
        }
        // Hosts are kept in file order except ones dropped for a missing id; find the item.
        let Some((index, item)) = items.iter().enumerate().find(|(_, item)| {
            matches!(&item.kind, Kind::Table(e) if e.iter().any(|e| e.key == "id" && matches!(&e.value.kind, Kind::Str(s) if *s == host.id)))
        }) else {
            continue;
        };
        let node = match &item.kind {
            Kind::Table(entries) => entries.iter().find(|e| e.key == "policy").map(|e| &e.value),
            _ => None,
        };
        let before = r.diagnostics.len();
        let policy = read_policy(r, node, hosts, links, Some(HostId(i as u32)));
        for d in &mut r.diagnostics[before..] {
            d.path = format!("hosts[{index}].{}", d.path);
        }
        if let Some(p) = policy {
            read.push((i, p));
        }
    }
    for (i, p) in read {
        hosts[i].queue_policy = Some(Box::new(p));
    }
}

fn read_limits(r: &mut Reader, top: &Fields<'_>) -> Limits {
    let mut limits = Limits::DEFAULT;
    let Some(node) = top.get("limits") else {
        return limits;
    };
    let Some(f) = r.table(node, "limits", &["messages_max", "events_max", "hosts_max"]) else {
        return limits;
    };
    // Message ids and per-message attempt counts are u32 (attempts are bounded by the event
    // count), so those limits stop at `ids::ID_MAX`; host ids take 20 bits of the attempt
    // draws' slot counter, so hosts stop at `random::HOSTS_MAX`.
    let mut read = |key: &str, slot: &mut u64, max: u64| {
        if let Some(n) = f.get(key) {
            if let Some(v) = r.unsigned(n, &f.path_of(key), max) {
                if v == 0 {
                    r.error(
                        &f.path_of(key),
                        n.span.clone(),
                        "must be at least 1, got 0".into(),
                        Some("a limit of 0 would refuse every scenario; leave it out for the default".into()),
                    );
                } else {
                    *slot = v;
                }
            }
        }
    };
    read("messages_max", &mut limits.messages_max, crate::ids::ID_MAX);
    read("events_max", &mut limits.events_max, crate::ids::ID_MAX);
    read("hosts_max", &mut limits.hosts_max, crate::random::HOSTS_MAX);
    limits
}

pub(super) fn unknown_name_help<'a>(
    wrong: &str,
    names: impl IntoIterator<Item = &'a str> + Clone,
    what: &str,
) -> String {
    match suggest(wrong, names.clone()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let all: Vec<&str> = names.into_iter().take(8).collect();
            if all.is_empty() {
                format!("no {what} is declared")
            } else {
                format!("declared {what}s: {}", all.join(", "))
            }
        }
    }
}

/// Largest domain weight: weights are relative, and a bound keeps their sum finite (the
/// sampler needs a finite total) and the error message readable.
const WEIGHT_MAX: f64 = 1e9;

fn read_hosts(r: &mut Reader, top: &Fields<'_>, limits: &Limits) -> Vec<HostSpec> {
    let Some(node) = top.get("hosts") else {
        r.missing(
            top,
            "hosts",
            "declare at least a sender and an mx with [[hosts]] tables",
        );
        return Vec::new();
    };
    let Some(items) = r.array(node, "hosts") else {
        return Vec::new();
    };
    if items.len() as u64 > limits.hosts_max {
        r.error(
            "hosts",
            node.span.clone(),
            format!(
                "{} hosts exceed limits.hosts_max = {}",
                items.len(),
                limits.hosts_max
            ),
            Some("raise limits.hosts_max if this is intended".into()),
        );
    }
    let mut hosts: Vec<HostSpec> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("hosts[{i}]");
        let Some(f) = r.table(
            item,
            &path,
            &[
                "id",
                "role",
                "mode",
                "failure",
                "down",
                "reject",
                "retry_hint",
                "capacity",
                "greylist",
                "policy",
            ],
        ) else {
            continue;
        };
        let id = match f.get("id") {
            Some(n) => r.name(n, &f.path_of("id")),
            None => {
                r.missing(
                    &f,
                    "id",
                    "give the host a unique name, e.g. id = \"mx1.example.net\"",
                );
                None
            }
        };
        if let (Some(id), Some(n)) = (&id, f.get("id")) {
            if hosts.iter().any(|h| &h.id == id) {
                r.error(
                    &f.path_of("id"),
                    n.span.clone(),
                    format!("duplicate host id \"{id}\""),
                    Some("host ids must be unique".into()),
                );
            }
        }
        let role = match f.get("role") {
            Some(n) => match r.string(n, &f.path_of("role")) {
                Some("sender") => Some(Role::Sender),
                Some("relay") => Some(Role::Relay),
                Some("mx") => Some(Role::Mx),
                Some("resolver") => Some(Role::Resolver),
                Some(other) => {
                    let help =
                        unknown_name_help(other, ["sender", "relay", "mx", "resolver"], "role");
                    r.error(
                        &f.path_of("role"),
                        n.span.clone(),
                        format!("unknown role \"{other}\""),
                        Some(help),
                    );
                    None
                }
                None => None,
            },
            None => {
                r.missing(
                    &f,
                    "role",
                    "one of \"sender\", \"relay\", \"mx\", \"resolver\"",
                );
                None
            }
        };
        let mut store_and_forward = false;
        if let Some(n) = f.get("mode") {
            let path = f.path_of("mode");
            match r.string(n, &path) {
                Some("cut-through" | "store-and-forward") if role != Some(Role::Relay) => r.error(
                    &path,
                    n.span.clone(),
                    "`mode` applies to relays only".into(),
                    Some("remove it, or set role = \"relay\"".into()),
                ),
                Some("cut-through") => {}
                Some("store-and-forward") => store_and_forward = true,
                Some(other) => {
                    let help =
                        unknown_name_help(other, ["cut-through", "store-and-forward"], "mode");
                    r.error(
                        &path,
                        n.span.clone(),
                        format!("unknown relay mode \"{other}\""),
                        Some(help),
                    )
                }
                None => {}
            }
        }
        let availability = f
            .get("failure")
            .and_then(|n| read_failure(r, n, &f.path_of("failure")))
            .unwrap_or(Availability::AlwaysUp);
        let reject = f
            .get("reject")
            .and_then(|n| read_reject(r, n, &f.path_of("reject")));
        let retry_hint = f
            .get("retry_hint")
            .and_then(|n| r.positive_duration(n, &f.path_of("retry_hint")));
        let down_as = f
            .get("down")
            .and_then(|n| read_down_as(r, n, &f.path_of("down")))
            .unwrap_or(DownAs::Refused);
        let capacity = f
            .get("capacity")
            .and_then(|n| read_capacity(r, n, &f.path_of("capacity")));
        let greylist = f
            .get("greylist")
            .and_then(|n| read_greylist(r, n, &f.path_of("greylist"), role))
            .flatten();
        if let (Some(n), false) = (f.get("policy"), store_and_forward) {
            r.error(
                &f.path_of("policy"),
                n.span.clone(),
                "only a store-and-forward relay has a policy of its own".into(),
                Some("add mode = \"store-and-forward\" to this relay, or remove `policy`".into()),
            );
        }
        if let Some(id) = id {
            // A host with a bad role is kept (as an mx; the role is already reported) so that
            // references to it do not cascade into "unknown host" errors.
            let role = role.unwrap_or(Role::Mx);
            hosts.push(HostSpec {
                id,
                role,
                availability,
                reject,
                retry_hint,
                down_as,
                capacity,
                greylist,
                // Filled in by `read_relay_policies` once links are known.
                queue_policy: store_and_forward.then(|| Box::new(placeholder_policy())),
            });
        }
    }
    if !hosts.is_empty() && !hosts.iter().any(|h| h.role == Role::Sender) {
        r.error(
            "hosts",
            node.span.clone(),
            "no host has role \"sender\"".into(),
            Some("the workload is sent by a sender host: add one with role = \"sender\"".into()),
        );
    }
    hosts
}

fn read_failure(r: &mut Reader, node: &Node, path: &str) -> Option<Availability> {
    let (kind, payload) = r.variant(node, path, &["none"], &["bernoulli", "markov", "schedule"])?;
    let path = join(path, kind);
    match (kind, payload) {
        ("none", _) => Some(Availability::AlwaysUp),
        ("bernoulli", Some(p)) => {
            let f = r.table(p, &path, &["p"])?;
            match f.get("p") {
                Some(n) => r
                    .probability(n, &f.path_of("p"))
                    .map(|p| Availability::Bernoulli { p }),
                None => {
                    r.missing(
                        &f,
                        "p",
                        "the probability that an attempt finds the host down, e.g. p = 0.2",
                    );
                    None
                }
            }
        }
        ("markov", Some(p)) => {
            let f = r.table(p, &path, &["mean_up", "mean_down"])?;
            let mut get = |key: &str, help: &str| match f.get(key) {
                Some(n) => r.positive_duration(n, &f.path_of(key)),
                None => {
                    r.missing(&f, key, help);
                    None
                }
            };
            let up = get(
                "mean_up",
                "mean length of an up period, e.g. mean_up = \"3h\"",
            );
            let down = get(
                "mean_down",
                "mean length of an outage, e.g. mean_down = \"40m\"",
            );
            Some(Availability::Markov {
                mean_up_ms: up?.as_ms() as f64,
                mean_down_ms: down?.as_ms() as f64,
            })
        }
        ("schedule", Some(p)) => {
            let items = r.array(p, &path)?;
            let mut windows = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let wpath = format!("{path}[{i}]");
                let Some(f) = r.table(item, &wpath, &["from", "to"]) else {
                    continue;
                };
                let from = f
                    .get("from")
                    .and_then(|n| r.duration(n, &f.path_of("from")));
                let to = f.get("to").and_then(|n| r.duration(n, &f.path_of("to")));
                if f.get("from").is_none() {
                    r.missing(
                        &f,
                        "from",
                        "start of the outage as an offset from the run start, e.g. from = \"2h\"",
                    );
                }
                if f.get("to").is_none() {
                    r.missing(&f, "to", "end of the outage, e.g. to = \"3h\"");
                }
                if let (Some(from), Some(to)) = (from, to) {
                    if to <= from {
                        r.error(
                            &wpath,
                            item.span.clone(),
                            format!("outage window ends ({to}) before it starts ({from})"),
                            Some("`to` must be later than `from`".into()),
                        );
                    } else {
                        windows.push((SimTime(from.as_ms()), SimTime(to.as_ms())));
                    }
                }
            }
            Some(Availability::Schedule {
                down: merge_windows(windows),
            })
        }
        _ => None,
    }
}

fn read_reject(r: &mut Reader, node: &Node, path: &str) -> Option<RejectSpec> {
    let f = r.table(node, path, &["share", "code"])?;
    let share = match f.get("share") {
        Some(n) => r.probability(n, &f.path_of("share")),
        None => {
            r.missing(
                &f,
                "share",
                "the share of attempts refused permanently, e.g. share = 0.01",
            );
            None
        }
    };
    let reply = match f.get("code") {
        None => Some(crate::smtp::codes::UNKNOWN_USER),
        Some(n) => {
            let cpath = f.path_of("code");
            let text = r.string(n, &cpath)?;
            match EnhancedCode::parse(text) {
                Ok(code) if code.class == 5 => Some(permanent_reply(code)),
                Ok(_) => {
                    r.error(
                        &cpath,
                        n.span.clone(),
                        format!("reject code \"{text}\" is not permanent"),
                        Some("a reject is a 5.x.x code, e.g. \"5.1.1\" or \"5.7.1\"".into()),
                    );
                    None
                }
                Err(e) => {
                    r.error(
                        &cpath,
                        n.span.clone(),
                        e,
                        Some("e.g. \"5.1.1\" (unknown user) or \"5.7.1\" (policy)".into()),
                    );
                    None
                }
            }
        }
    };
    Some(RejectSpec {
        share: share?,
        reply: reply?,
    })
}

/// The 5yz basic code IANA pairs with `code`, or 550.
fn permanent_reply(code: EnhancedCode) -> Reply {
    let basic = lookup(code)
        .and_then(|i| i.basic.iter().copied().find(|b| b / 100 == 5))
        .unwrap_or(550);
    Reply::new(basic, code)
}

fn read_links(r: &mut Reader, top: &Fields<'_>, names: &[&str]) -> Vec<LinkSpec> {
    let Some(node) = top.get("links") else {
        return Vec::new();
    };
    let Some(items) = r.array(node, "links") else {
        return Vec::new();
    };
    let mut links: Vec<LinkSpec> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("links[{i}]");
        let Some(f) = r.table(item, &path, &["from", "to", "latency"]) else {
            continue;
        };
        let mut end = |key: &str| -> Option<HostId> {
            let Some(n) = f.get(key) else {
                r.missing(&f, key, "name a host declared in [[hosts]]");
                return None;
            };
            let name = r.string(n, &f.path_of(key))?;
            match names.iter().position(|h| *h == name) {
                Some(i) => Some(HostId(i as u32)),
                None => {
                    let help = unknown_name_help(name, names.iter().copied(), "host");
                    r.error(
                        &f.path_of(key),
                        n.span.clone(),
                        format!("unknown host \"{name}\""),
                        Some(help),
                    );
                    None
                }
            }
        };
        let from = end("from");
        let to = end("to");
        let latency = f.get("latency").map_or(Some(SimDuration::ZERO), |n| {
            r.duration(n, &f.path_of("latency"))
        });
        let (Some(from), Some(to), Some(latency)) = (from, to, latency) else {
            continue;
        };
        if from == to {
            r.error(
                &path,
                item.span.clone(),
                "a link cannot connect a host to itself".into(),
                None,
            );
        } else if links.iter().any(|l| l.from == from && l.to == to) {
            r.error(
                &path,
                item.span.clone(),
                format!(
                    "duplicate link from \"{}\" to \"{}\"",
                    names[from.0 as usize], names[to.0 as usize]
                ),
                Some("declare each directed link once".into()),
            );
        } else {
            links.push(LinkSpec { from, to, latency });
        }
    }
    links
}

fn read_domains(r: &mut Reader, top: &Fields<'_>, hosts: &[HostSpec]) -> Vec<DomainSpec> {
    let Some(node) = top.get("domains") else {
        r.missing(
            top,
            "domains",
            "declare recipient domains with [[domains]] tables",
        );
        return Vec::new();
    };
    let Some(items) = r.array(node, "domains") else {
        return Vec::new();
    };
    let names: Vec<&str> = hosts.iter().map(|h| h.id.as_str()).collect();
    let mut domains: Vec<DomainSpec> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("domains[{i}]");
        let Some(f) = r.table(item, &path, &["name", "mx", "ttl", "nxdomain"]) else {
            continue;
        };
        let name = match f.get("name") {
            Some(n) => r.name(n, &f.path_of("name")),
            None => {
                r.missing(&f, "name", "the domain name, e.g. name = \"example.net\"");
                None
            }
        };
        if let (Some(name), Some(n)) = (&name, f.get("name")) {
            if domains.iter().any(|d| &d.name == name) {
                r.error(
                    &f.path_of("name"),
                    n.span.clone(),
                    format!("duplicate domain \"{name}\""),
                    None,
                );
            }
        }
        let ttl = f.get("ttl").map_or(Some(SimDuration::from_hours(1)), |n| {
            r.duration(n, &f.path_of("ttl"))
        });
        let nxdomain = f
            .get("nxdomain")
            .and_then(|n| r.boolean(n, &f.path_of("nxdomain")))
            .unwrap_or(false);
        let mx = match (f.get("mx"), nxdomain) {
            (Some(n), true) => {
                r.error(
                    &f.path_of("mx"),
                    n.span.clone(),
                    "a domain with nxdomain = true cannot have MX records".into(),
                    Some("remove `mx` or `nxdomain`".into()),
                );
                None
            }
            (None, true) => Some(MxAnswer::NxDomain),
            (None, false) => Some(MxAnswer::Implicit(
                name.as_deref()
                    .and_then(|d| names.iter().position(|h| *h == d))
                    .map(|i| HostId(i as u32)),
            )),
            (Some(n), false) => read_mx(r, n, &f.path_of("mx"), hosts, &names),
        };
        if let (Some(name), Some(mx), Some(ttl)) = (name, mx, ttl) {
            domains.push(DomainSpec { name, mx, ttl });
        }
    }
    domains
}

fn read_mx(
    r: &mut Reader,
    node: &Node,
    path: &str,
    hosts: &[HostSpec],
    names: &[&str],
) -> Option<MxAnswer> {
    if let Kind::Str(s) = &node.kind {
        if s == "null" {
            return Some(MxAnswer::NullMx);
        }
        r.error(
            path,
            node.span.clone(),
            format!("unknown MX form \"{s}\""),
            Some(
                "write a list of { preference, host } records, or \"null\" for an RFC 7505 null MX"
                    .into(),
            ),
        );
        return None;
    }
    let items = r.array(node, path)?;
    if items.is_empty() {
        r.error(path, node.span.clone(), "empty MX list".into(), Some("omit `mx` for an implicit MX (the domain's own host), or write mx = \"null\" for a domain that takes no mail".into()));
        return None;
    }
    let mut records = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let rpath = format!("{path}[{i}]");
        let Some(f) = r.table(item, &rpath, &["preference", "host"]) else {
            continue;
        };
        let preference = match f.get("preference") {
            Some(n) => r.unsigned(n, &f.path_of("preference"), 65_535),
            None => {
                r.missing(&f, "preference", "lower is preferred, e.g. preference = 10");
                None
            }
        };
        let host = match f.get("host") {
            Some(n) => {
                let hpath = f.path_of("host");
                r.string(n, &hpath)
                    .and_then(|h| match names.iter().position(|x| *x == h) {
                        Some(i) if hosts[i].role == Role::Sender => {
                            r.error(
                                &hpath,
                                n.span.clone(),
                                format!("MX host \"{h}\" is a sender"),
                                Some("an MX record names an mx (or relay) host".into()),
                            );
                            None
                        }
                        Some(i) => Some(HostId(i as u32)),
                        None => {
                            let help = unknown_name_help(h, names.iter().copied(), "host");
                            r.error(
                                &hpath,
                                n.span.clone(),
                                format!("unknown host \"{h}\""),
                                Some(help),
                            );
                            None
                        }
                    })
            }
            None => {
                r.missing(&f, "host", "the exchange host's id");
                None
            }
        };
        if let (Some(p), Some(h)) = (preference, host) {
            records.push(MxRecord {
                preference: p as u16,
                host: h,
            });
        }
    }
    Some(MxAnswer::Records(records))
}

fn read_workload(
    r: &mut Reader,
    top: &Fields<'_>,
    domains: &[DomainSpec],
    limits: &Limits,
) -> Option<Workload> {
    let Some(node) = top.get("workload") else {
        r.missing(
            top,
            "workload",
            "add [workload] with arrivals = { poisson_per_hour = 600, for = \"1h\" }",
        );
        return None;
    };
    let f = r.table(
        node,
        "workload",
        &["arrivals", "domains", "unknown_recipient_share"],
    )?;
    let arrivals = match f.get("arrivals") {
        Some(n) => read_arrivals(r, n, "workload.arrivals"),
        None => {
            r.missing(
                &f,
                "arrivals",
                "e.g. arrivals = { poisson_per_hour = 600, for = \"1h\" }",
            );
            None
        }
    };
    let unknown_recipient_share = f
        .get("unknown_recipient_share")
        .and_then(|n| r.probability(n, "workload.unknown_recipient_share"))
        .unwrap_or(0.0);
    let names: Vec<&str> = domains.iter().map(|d| d.name.as_str()).collect();
    let mut chosen = Vec::new();
    let mut weights = Vec::new();
    match f.get("domains") {
        None => {
            for i in 0..domains.len() {
                chosen.push(DomainId(i as u32));
                weights.push(1.0);
            }
        }
        Some(n) => {
            for (i, item) in r
                .array(n, "workload.domains")
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let path = format!("workload.domains[{i}]");
                let Some(df) = r.table(item, &path, &["name", "weight"]) else {
                    continue;
                };
                let weight = df.get("weight").map_or(Some(1.0), |w| {
                    r.number_in(w, &df.path_of("weight"), 0.0, WEIGHT_MAX, "weight")
                });
                let id = match df.get("name") {
                    Some(nn) => r.string(nn, &df.path_of("name")).and_then(|name| {
                        match names.iter().position(|d| *d == name) {
                            Some(i) => Some(DomainId(i as u32)),
                            None => {
                                let help = unknown_name_help(name, names.iter().copied(), "domain");
                                r.error(
                                    &df.path_of("name"),
                                    nn.span.clone(),
                                    format!("unknown domain \"{name}\""),
                                    Some(help),
                                );
                                None
                            }
                        }
                    }),
                    None => {
                        r.missing(&df, "name", "a domain declared in [[domains]]");
                        None
                    }
                };
                if let (Some(id), Some(w)) = (id, weight) {
                    chosen.push(id);
                    weights.push(w);
                }
            }
        }
    }
    let total: f64 = weights.iter().sum();
    if !domains.is_empty() && (chosen.is_empty() || total <= 0.0) {
        r.error(
            "workload.domains",
            f.span.clone(),
            "no recipient domain with a positive weight".into(),
            Some("give at least one domain a weight above 0".into()),
        );
    }
    let cumulative_weights = weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect();
    let workload = Workload {
        arrivals: arrivals?,
        domains: chosen,
        cumulative_weights,
        unknown_recipient_share,
    };
    let expected = workload.expected_messages();
    if expected > limits.messages_max as f64 {
        r.error(
            "workload.arrivals",
            f.get("arrivals").and_then(|n| n.span.clone()),
            format!("the workload would generate about {expected:.0} messages, above limits.messages_max = {}", limits.messages_max),
            Some("lower the rate or window, or raise limits.messages_max under [limits] if the machine has the memory".into()),
        );
    }
    Some(workload)
}

fn read_arrivals(r: &mut Reader, node: &Node, path: &str) -> Option<Arrivals> {
    let f = r.table(node, path, &["poisson_per_hour", "for", "start", "at"])?;
    match (f.get("poisson_per_hour"), f.get("at")) {
        (Some(rate), None) => {
            let per_hour = r.number_in(rate, &f.path_of("poisson_per_hour"), 0.0, 1e9, "rate");
            let window = match f.get("for") {
                Some(n) => r.duration(n, &f.path_of("for")),
                None => {
                    r.missing(
                        &f,
                        "for",
                        "how long messages keep arriving, e.g. for = \"1h\"",
                    );
                    None
                }
            };
            let start = f.get("start").map_or(Some(SimDuration::ZERO), |n| {
                r.duration(n, &f.path_of("start"))
            });
            Some(Arrivals::Poisson {
                per_hour: per_hour?,
                start: SimTime(start?.as_ms()),
                window: window?,
            })
        }
        (None, Some(at)) => {
            if let Some(n) = f.get("for").or(f.get("start")) {
                r.error(
                    path,
                    n.span.clone(),
                    "`for` and `start` apply to Poisson arrivals only".into(),
                    None,
                );
            }
            let items = r.array(at, &f.path_of("at"))?;
            let mut times: Vec<SimTime> = items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| r.duration(n, &format!("{}[{i}]", f.path_of("at"))))
                .map(|d| SimTime(d.as_ms()))
                .collect();
            times.sort();
            Some(Arrivals::At(times))
        }
        (Some(n), Some(_)) => {
            r.error(
                path,
                n.span.clone(),
                "both `poisson_per_hour` and `at` given".into(),
                Some("use one arrival process".into()),
            );
            None
        }
        (None, None) => {
            r.error(
                path,
                node.span.clone(),
                "no arrival process".into(),
                Some(
                    "write { poisson_per_hour = 600, for = \"1h\" } or { at = [\"0s\", \"5m\"] }"
                        .into(),
                ),
            );
            None
        }
    }
}

/// `[policy]` of the sender, or (with `relay`) the `policy` table of a store-and-forward relay,
/// whose queue sends from the relay itself.
fn read_policy(
    r: &mut Reader,
    node: Option<&Node>,
    hosts: &[HostSpec],
    links: &[LinkSpec],
    relay: Option<HostId>,
) -> Option<Policy> {
    let names: Vec<&str> = hosts.iter().map(|h| h.id.as_str()).collect();
    let empty = Node {
        kind: Kind::Table(Vec::new()),
        span: None,
    };
    let node = node.unwrap_or(&empty);
    let f = r.table(
        node,
        "policy",
        &[
            "sender",
            "preset",
            "retry",
            "on_code",
            "queue_lifetime",
            "give_up",
            "max_attempts",
            "max_attempts_check",
            "queue_scan",
            "delay_warnings",
            "honor_hints",
            "route",
            "mx_address_limit",
            "shared",
            "next_mx",
            "mx_session_limit",
            "fallback_relay",
            "connect",
            "hop_limit",
            "dns",
            "connections",
            "queue",
        ],
    )?;
    let sender = match (f.get("sender"), relay) {
        (Some(n), Some(_)) => {
            r.error(
                "policy.sender",
                n.span.clone(),
                "a relay's queue sends from the relay itself".into(),
                Some("remove `sender` from the relay's policy".into()),
            );
            None
        }
        (None, Some(relay)) => Some(relay),
        (Some(n), None) => r.string(n, "policy.sender").and_then(|name| {
            match names.iter().position(|h| *h == name) {
                Some(i) if hosts[i].role == Role::Sender => Some(HostId(i as u32)),
                Some(_) => {
                    r.error(
                        "policy.sender",
                        n.span.clone(),
                        format!("host \"{name}\" is not a sender"),
                        Some("name a host with role = \"sender\"".into()),
                    );
                    None
                }
                None => {
                    let help = unknown_name_help(name, names.iter().copied(), "host");
                    r.error(
                        "policy.sender",
                        n.span.clone(),
                        format!("unknown host \"{name}\""),
                        Some(help),
                    );
                    None
                }
            }
        }),
        (None, None) => {
            let senders: Vec<usize> = (0..hosts.len())
                .filter(|&i| hosts[i].role == Role::Sender)
                .collect();
            if senders.len() > 1 {
                r.error(
                    "policy.sender",
                    f.span.clone(),
                    "several sender hosts and no policy.sender".into(),
                    Some("name the host that sends the workload: sender = \"...\"".into()),
                );
            }
            senders.first().map(|&i| HostId(i as u32))
        }
    };
    let retry = read_retry_policy(r, &f);
    let mx_address_limit = f
        .get("mx_address_limit")
        .map_or(Some(u64::from(Policy::MX_ADDRESS_LIMIT_DEFAULT)), |n| {
            r.unsigned(n, "policy.mx_address_limit", 1_000)
        })
        .map(|v| v.max(1) as u32);
    if let Some(Kind::Int(0)) = f.get("mx_address_limit").map(|n| &n.kind) {
        r.error(
            "policy.mx_address_limit",
            f.get("mx_address_limit").and_then(|n| n.span.clone()),
            "must be at least 1".into(),
            Some("RFC 5321 §5.1 says a client should try at least two addresses".into()),
        );
    }
    let route = match f.get("route") {
        None => Some(Route::Direct),
        Some(n) => read_route(r, n, hosts, &names, links, sender),
    };
    let shared = match f.get("shared") {
        None => Some(SharedSpec::default()),
        Some(n) => read_shared(r, n),
    };
    let next_mx = read_next_mx(r, &f);
    let connect = match f.get("connect") {
        None => Some(ConnectSpec::default()),
        Some(n) => read_connect(r, n),
    };
    let hop_limit = f
        .get("hop_limit")
        .map_or(Some(Policy::HOP_LIMIT_DEFAULT), |n| {
            count(r, n, "policy.hop_limit")
        });
    let fallback_relay = match f.get("fallback_relay") {
        None => Some(None),
        Some(n) => read_stage(r, n, "policy.fallback_relay", hosts, &names).and_then(|stage| {
            if let [relay] = stage.members[..] {
                Some(Some(relay))
            } else {
                r.error(
                    "policy.fallback_relay",
                    n.span.clone(),
                    "the fallback relay is one relay".into(),
                    Some("name a single host with role = \"relay\"".into()),
                );
                None
            }
        }),
    };
    if let (Some(Some(relay)), Some(s)) = (fallback_relay, sender) {
        if !links.iter().any(|l| l.from == s && l.to == relay) {
            r.error(
                "policy.fallback_relay",
                f.get("fallback_relay").and_then(|n| n.span.clone()),
                format!(
                    "no link from \"{}\" to \"{}\"",
                    names[s.0 as usize], names[relay.0 as usize]
                ),
                Some(format!(
                    "add [[links]] from = \"{}\" to = \"{}\"",
                    names[s.0 as usize], names[relay.0 as usize]
                )),
            );
        }
    }
    let dns = match f.get("dns") {
        None => Some(None),
        Some(n) => read_dns(r, n, hosts, &names, links, sender).map(Some),
    };
    let connections = match f.get("connections") {
        None => Some(None),
        Some(n) => read_connections(r, n).map(Some),
    };
    let queue = match f.get("queue") {
        None => Some(None),
        Some(n) => read_queue(r, n),
    };
    Some(Policy {
        queue: queue?,
        connections: connections?,
        dns: dns?,
        sender: sender?,
        retry: retry?,
        route: route?,
        mx_address_limit: mx_address_limit?,
        shared: shared?,
        next_mx: next_mx?,
        fallback_relay: fallback_relay?,
        connect: connect?,
        hop_limit: hop_limit?,
    })
}

/// The retry part of `[policy]`: a preset (or mxsim's defaults) with every field given
/// overriding it.
fn read_retry_policy(r: &mut Reader, f: &Fields<'_>) -> Option<RetryPolicy> {
    let preset_names: Vec<&str> = presets().iter().map(|p| p.name).collect();
    let mut policy = match f.get("preset") {
        None => RetryPolicy::simple(Backoff::Exponential {
            initial: SimDuration::from_mins(5),
            factor: 2.0,
            max: Some(SimDuration::from_secs(4000)),
            jitter: Jitter::None,
        }),
        Some(n) => {
            let name = r.string(n, "policy.preset")?;
            match preset(name) {
                Some(p) => p.policy,
                None => {
                    let help = unknown_name_help(name, preset_names.iter().copied(), "preset");
                    r.error(
                        "policy.preset",
                        n.span.clone(),
                        format!("unknown preset \"{name}\""),
                        Some(help),
                    );
                    return None;
                }
            }
        }
    };
    let mut ok = true;
    if let Some(n) = f.get("retry") {
        match read_backoff(r, n, "policy.retry") {
            Some(b) => policy.default = b,
            None => ok = false,
        }
    }
    if let Some(n) = f.get("on_code") {
        if let Kind::Table(entries) = &n.kind {
            for e in entries {
                let path = format!("policy.on_code.\"{}\"", e.key);
                let pattern = match CodePattern::parse(&e.key) {
                    Ok(p) => match p.can_fire() {
                        Ok(()) => Some(p),
                        Err(why) => {
                            r.error(
                                &path,
                                e.key_span.clone().or(n.span.clone()),
                                format!("on_code pattern \"{}\" can never fire: {why}", e.key),
                                Some("retry rules apply to transient failures: 4.x.x codes such as \"4.4.3\" or \"4.7.*\", or 4yz basic codes such as \"421\"".into()),
                            );
                            None
                        }
                    },
                    Err(msg) => {
                        r.error(&path, e.key_span.clone().or(n.span.clone()), msg, Some("patterns look like \"4.4.3\", \"4.7.*\", \"4.*.*\", \"421\" or \"45x\"".into()));
                        None
                    }
                };
                match (pattern, read_backoff(r, &e.value, &path)) {
                    (Some(pattern), Some(backoff)) => {
                        policy.on_code.push(CodeRule { pattern, backoff })
                    }
                    _ => ok = false,
                }
            }
        } else {
            r.type_error(
                n,
                "policy.on_code",
                "a table of code pattern = backoff, e.g. { \"4.4.3\" = { fixed = \"1h\" } }",
            );
            ok = false;
        }
    }
    override_field(
        r,
        f,
        "queue_lifetime",
        &mut policy.queue_lifetime,
        &mut ok,
        |r, n, p| r.positive_duration(n, p),
    );
    if let Some(n) = f.get("give_up") {
        match r
            .string(n, "policy.give_up")
            .map(|s| (s, GiveUp::from_name(s)))
        {
            Some((_, Some(g))) => policy.give_up = g,
            Some((s, None)) => {
                let help = unknown_name_help(s, GiveUp::NAMES, "give-up mode");
                r.error(
                    "policy.give_up",
                    n.span.clone(),
                    format!("unknown give-up mode \"{s}\""),
                    Some(help),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    let check = match f.get("max_attempts_check") {
        None => policy
            .max_attempts
            .map_or(MaxAttemptsCheck::AtFailure, |(_, c)| c),
        Some(n) => match r.string(n, "policy.max_attempts_check") {
            Some("failure") => MaxAttemptsCheck::AtFailure,
            Some("next-due") => MaxAttemptsCheck::AtNextDue,
            Some(other) => {
                let help = unknown_name_help(other, ["failure", "next-due"], "check");
                r.error(
                    "policy.max_attempts_check",
                    n.span.clone(),
                    format!("unknown check \"{other}\""),
                    Some(help),
                );
                ok = false;
                MaxAttemptsCheck::AtFailure
            }
            None => {
                ok = false;
                MaxAttemptsCheck::AtFailure
            }
        },
    };
    if let Some(n) = f.get("max_attempts") {
        match r.unsigned(n, "policy.max_attempts", 100_000) {
            Some(0) => {
                r.error(
                    "policy.max_attempts",
                    n.span.clone(),
                    "must be at least 1".into(),
                    None,
                );
                ok = false;
            }
            Some(v) => policy.max_attempts = Some((v as u32, check)),
            None => ok = false,
        }
    } else if let Some((n, _)) = policy.max_attempts {
        policy.max_attempts = Some((n, check));
    }
    override_field(
        r,
        f,
        "honor_hints",
        &mut policy.honor_hints,
        &mut ok,
        |r, n, p| r.boolean(n, p),
    );
    if let Some(n) = f.get("queue_scan") {
        match r.duration(n, "policy.queue_scan") {
            Some(d) if d.as_ms() == 0 => policy.queue_scan = None,
            Some(d) => policy.queue_scan = Some(d),
            None => ok = false,
        }
    }
    if let Some(n) = f.get("delay_warnings") {
        match r.array(n, "policy.delay_warnings") {
            Some(items) => {
                let mut v = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match r.positive_duration(item, &format!("policy.delay_warnings[{i}]")) {
                        Some(d) => v.push(d),
                        None => ok = false,
                    }
                }
                v.sort();
                policy.delay_warnings = v;
            }
            None => ok = false,
        }
    }
    ok.then_some(policy)
}

fn read_backoff(r: &mut Reader, node: &Node, path: &str) -> Option<Backoff> {
    let names: Vec<&str> = presets().iter().map(|p| p.name).collect();
    let (kind, payload) = r.variant(
        node,
        path,
        &names,
        &[
            "fixed",
            "exponential",
            "list",
            "age_clamp",
            "queue_run",
            "exim",
        ],
    )?;
    let Some(payload) = payload else {
        // A preset name in a backoff position means that preset's backoff.
        return preset(kind).map(|p| p.policy.default);
    };
    let path = join(path, kind);
    match kind {
        "fixed" => r
            .positive_duration(payload, &path)
            .map(|interval| Backoff::Fixed { interval }),
        "queue_run" => r
            .positive_duration(payload, &path)
            .map(|interval| Backoff::QueueRun { interval }),
        "exim" => read_exim(r, payload, &path),
        "list" => read_list(r, payload, &path),
        "age_clamp" => {
            let f = r.table(payload, &path, &["min", "max"])?;
            let mut get = |key: &str, help: &str| match f.get(key) {
                Some(n) => r.positive_duration(n, &f.path_of(key)),
                None => {
                    r.missing(&f, key, help);
                    None
                }
            };
            let min = get("min", "Postfix minimal_backoff_time, e.g. min = \"5m\"");
            let max = get("max", "Postfix maximal_backoff_time, e.g. max = \"4000s\"");
            let (min, max) = (min?, max?);
            if max < min {
                r.error(
                    &f.path_of("max"),
                    f.get("max").and_then(|n| n.span.clone()),
                    format!("max ({max}) is below min ({min})"),
                    None,
                );
                return None;
            }
            Some(Backoff::AgeClamp { min, max })
        }
        _ => {
            let f = r.table(payload, &path, &["initial", "factor", "max", "jitter"])?;
            let initial = match f.get("initial") {
                Some(n) => r.positive_duration(n, &f.path_of("initial")),
                None => {
                    r.missing(
                        &f,
                        "initial",
                        "the first retry's delay, e.g. initial = \"5m\"",
                    );
                    None
                }
            };
            let factor = f.get("factor").map_or(Some(2.0), |n| {
                r.number_in(n, &f.path_of("factor"), 1.0, 100.0, "factor")
            });
            let max = match f.get("max") {
                Some(n) => r.positive_duration(n, &f.path_of("max")).map(Some),
                None => Some(None),
            };
            let jitter = match f.get("jitter") {
                None => Some(Jitter::None),
                Some(n) => r.string(n, &f.path_of("jitter")).and_then(|s| {
                    Jitter::from_name(s).or_else(|| {
                        let help = unknown_name_help(s, Jitter::NAMES, "jitter");
                        r.error(
                            &f.path_of("jitter"),
                            n.span.clone(),
                            format!("unknown jitter \"{s}\""),
                            Some(help),
                        );
                        None
                    })
                }),
            };
            if let (Some(i), Some(Some(m))) = (initial, max) {
                if m < i {
                    r.error(
                        &f.path_of("max"),
                        f.get("max").and_then(|n| n.span.clone()),
                        format!("max ({m}) is below initial ({i})"),
                        Some("the cap must be at least the first delay".into()),
                    );
                }
            }
            Some(Backoff::Exponential {
                initial: initial?,
                factor: factor?,
                max: max?,
                jitter: jitter?,
            })
        }
    }
}

/// `{ exim = "F,2h,15m; ..." }` or `{ exim = { rules = "...", retry_interval_max = "12h" } }`.
fn read_exim(r: &mut Reader, payload: &Node, path: &str) -> Option<Backoff> {
    let (text, text_node, text_path, max) = match &payload.kind {
        Kind::Str(s) => (s.as_str(), payload, path.to_string(), None),
        _ => {
            let f = r.table(payload, path, &["rules", "retry_interval_max"])?;
            let Some(n) = f.get("rules") else {
                r.missing(
                    &f,
                    "rules",
                    "Exim retry rules, e.g. rules = \"F,2h,15m; G,16h,1h,1.5; F,4d,6h\"",
                );
                return None;
            };
            let max = match f.get("retry_interval_max") {
                Some(m) => Some(r.positive_duration(m, &f.path_of("retry_interval_max"))?),
                None => None,
            };
            (
                r.string(n, &f.path_of("rules"))?,
                n,
                f.path_of("rules"),
                max,
            )
        }
    };
    match EximRules::parse(text) {
        Ok(mut rules) => {
            if let Some(m) = max {
                if m > crate::policy::exim::RETRY_INTERVAL_MAX {
                    r.error(
                        path,
                        payload.span.clone(),
                        format!("retry_interval_max {m} is above Exim's ceiling of 24h"),
                        None,
                    );
                    return None;
                }
                rules.interval_max = m;
            }
            Some(Backoff::Exim(rules))
        }
        Err(e) => {
            r.error(
                &text_path,
                text_node.span.clone(),
                e,
                Some("Exim rules look like \"F,2h,15m; G,16h,1h,1.5; F,4d,6h\"".into()),
            );
            None
        }
    }
}

/// `{ list = "1m, 5m*2, 1h*3" }`, `{ list = ["2m", "5m"] }` or
/// `{ list = { delays = ..., repeat_last = false } }`.
fn read_list(r: &mut Reader, payload: &Node, path: &str) -> Option<Backoff> {
    let (delays_node, repeat_last) = match &payload.kind {
        Kind::Table(_) => {
            let f = r.table(payload, path, &["delays", "repeat_last"])?;
            let repeat = f
                .get("repeat_last")
                .map_or(Some(true), |n| r.boolean(n, &f.path_of("repeat_last")))?;
            let Some(n) = f.get("delays") else {
                r.missing(
                    &f,
                    "delays",
                    "e.g. delays = \"1m, 5m*2, 1h*3\" or [\"2m\", \"5m\"]",
                );
                return None;
            };
            (n, repeat)
        }
        _ => (payload, true),
    };
    let delays = match &delays_node.kind {
        Kind::Str(s) => {
            match parse_list(s) {
                Ok(v) => v,
                Err(e) => {
                    r.error(path, delays_node.span.clone(), e, Some("write delays as \"1m, 5m*2, 1h*3\" (Haraka syntax) or a list of durations".into()));
                    return None;
                }
            }
        }
        Kind::Array(items) => {
            let mut v = Vec::new();
            for (i, item) in items.iter().enumerate() {
                v.push(r.positive_duration(item, &format!("{path}[{i}]"))?);
            }
            v
        }
        _ => {
            r.type_error(
                delays_node,
                path,
                "a list of durations or a string such as \"1m, 5m*2\"",
            );
            return None;
        }
    };
    if delays.is_empty() {
        r.error(
            path,
            delays_node.span.clone(),
            "empty delay list".into(),
            None,
        );
        return None;
    }
    Some(Backoff::List {
        delays,
        repeat_last,
    })
}

fn read_route(
    r: &mut Reader,
    node: &Node,
    hosts: &[HostSpec],
    names: &[&str],
    links: &[LinkSpec],
    sender: Option<HostId>,
) -> Option<Route> {
    let (kind, payload) = r.variant(node, "policy.route", &["direct"], &["via"])?;
    if kind == "direct" {
        return Some(Route::Direct);
    }
    let payload = payload?;
    let items = r.array(payload, "policy.route.via")?;
    if items.is_empty() {
        r.error(
            "policy.route.via",
            payload.span.clone(),
            "empty relay chain".into(),
            Some("name at least one relay, or use route = \"direct\"".into()),
        );
        return None;
    }
    let mut chain = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match read_stage(r, item, &format!("policy.route.via[{i}]"), hosts, names) {
            Some(stage) => chain.push(stage),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    // Each hop of the route must have a link from every host of the hop before it; a missing
    // one is a configuration mistake.
    let mut prev: Vec<HostId> = sender.into_iter().collect();
    for (i, stage) in chain.iter().enumerate() {
        for &p in &prev {
            for &hop in &stage.members {
                if !links.iter().any(|l| l.from == p && l.to == hop) {
                    r.error(
                        &format!("policy.route.via[{i}]"),
                        items[i].span.clone(),
                        format!(
                            "no link from \"{}\" to \"{}\"",
                            names[p.0 as usize], names[hop.0 as usize]
                        ),
                        Some(format!(
                            "add [[links]] from = \"{}\" to = \"{}\"",
                            names[p.0 as usize], names[hop.0 as usize]
                        )),
                    );
                }
            }
        }
        prev = stage.members.clone();
    }
    Some(Route::Via(chain))
}

fn read_expect(r: &mut Reader, top: &Fields<'_>, hosts: &[&str]) -> Vec<Expectation> {
    let Some(node) = top.get("expect") else {
        return Vec::new();
    };
    let mut allowed: Vec<&str> = Metric::NAMES.to_vec();
    allowed.push("bounced_with");
    allowed.push("host_share");
    let Some(f) = r.table(node, "expect", &allowed) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in Metric::NAMES {
        if let Some(n) = f.get(name) {
            let metric = Metric::from_name(name).expect("NAMES are all known");
            if let Some((min, max)) = read_bound(r, n, &f.path_of(name), metric.is_duration()) {
                out.push(Expectation {
                    name: name.to_string(),
                    metric,
                    min,
                    max,
                });
            }
        }
    }
    if let Some(n) = f.get("bounced_with") {
        if let Kind::Table(entries) = &n.kind {
            for e in entries {
                let path = format!("expect.bounced_with.\"{}\"", e.key);
                match EnhancedCode::parse(&e.key) {
                    Ok(code) => {
                        if let Some((min, max)) = read_bound(r, &e.value, &path, false) {
                            out.push(Expectation {
                                name: format!("bounced_with.\"{code}\""),
                                metric: Metric::BouncedWith(code.to_string()),
                                min,
                                max,
                            });
                        }
                    }
                    Err(msg) => r.error(&path, e.key_span.clone(), msg, None),
                }
            }
        } else {
            r.type_error(n, "expect.bounced_with", "a table of code = { min, max }");
        }
    }
    if let Some(n) = f.get("host_share") {
        if let Kind::Table(entries) = &n.kind {
            for e in entries {
                let path = format!("expect.host_share.\"{}\"", e.key);
                if !hosts.contains(&e.key.as_str()) {
                    let help = unknown_name_help(&e.key, hosts.iter().copied(), "host");
                    r.error(
                        &path,
                        e.key_span.clone(),
                        format!("unknown host \"{}\"", e.key),
                        Some(help),
                    );
                } else if let Some((min, max)) = read_bound(r, &e.value, &path, false) {
                    out.push(Expectation {
                        name: format!("host_share.\"{}\"", e.key),
                        metric: Metric::HostShare(e.key.clone()),
                        min,
                        max,
                    });
                }
            }
        } else {
            r.type_error(n, "expect.host_share", "a table of host = { min, max }");
        }
    }
    out
}

fn read_bound(
    r: &mut Reader,
    node: &Node,
    path: &str,
    duration: bool,
) -> Option<(Option<f64>, Option<f64>)> {
    let f = r.table(node, path, &["min", "max"])?;
    let mut get = |key: &str| -> Option<Option<f64>> {
        let n = f.get(key)?;
        let p = f.path_of(key);
        Some(if duration {
            match &n.kind {
                Kind::Str(s) => match parse_duration(s) {
                    Ok(d) => Some(d.as_ms() as f64),
                    Err(e) => {
                        r.error(
                            &p,
                            n.span.clone(),
                            e.message,
                            Some("delay bounds are durations such as \"6h\"".into()),
                        );
                        None
                    }
                },
                _ => {
                    r.type_error(n, &p, "a duration such as \"6h\"");
                    None
                }
            }
        } else {
            r.number(n, &p)
        })
    };
    let min = get("min");
    let max = get("max");
    if min.is_none() && max.is_none() && f.get("min").is_none() && f.get("max").is_none() {
        r.error(
            path,
            node.span.clone(),
            "a bound needs `min`, `max` or both".into(),
            None,
        );
        return None;
    }
    let (min, max) = (min.flatten(), max.flatten());
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            r.error(
                path,
                node.span.clone(),
                format!("min ({lo}) is above max ({hi})"),
                None,
            );
            return None;
        }
    }
    Some((min, max))
}

/// Reads optional field `key` of `t` with `read` into `slot`; a bad value (already reported)
/// clears `ok` and leaves `slot` as it was.
pub(super) fn override_field<T>(
    r: &mut Reader,
    t: &Fields<'_>,
    key: &str,
    slot: &mut T,
    ok: &mut bool,
    read: impl FnOnce(&mut Reader, &Node, &str) -> Option<T>,
) {
    if let Some(v) = t.get(key) {
        match read(r, v, &t.path_of(key)) {
            Some(x) => *slot = x,
            None => *ok = false,
        }
    }
}

/// A mechanism switch: `true` (its defaults), `false` (off), or a table of parameters read by
/// `read` over the defaults. `None` when the value is wrong (reported).
pub(super) fn mechanism<T: Default>(
    r: &mut Reader,
    n: &Node,
    path: &str,
    read: impl FnOnce(&mut Reader, &Node, &mut T) -> bool,
) -> Option<Option<T>> {
    match &n.kind {
        Kind::Bool(on) => Some(on.then(T::default)),
        Kind::Table(_) => {
            let mut spec = T::default();
            read(r, n, &mut spec).then_some(Some(spec))
        }
        _ => {
            r.type_error(n, path, "true, false or a table of parameters");
            None
        }
    }
}

fn count(r: &mut Reader, n: &Node, path: &str) -> Option<u32> {
    r.unsigned(n, path, 1_000_000).map(|v| v.max(1) as u32)
}

/// `[policy.shared]`: retry state shared across messages (see `shared`).
fn read_shared(r: &mut Reader, node: &Node) -> Option<SharedSpec> {
    let f = r.table(
        node,
        "policy.shared",
        &[
            "host_retry",
            "dead_destination",
            "circuit_breaker",
            "retry_budget",
        ],
    )?;
    let mut spec = SharedSpec::default();
    let mut ok = true;
    override_field(
        r,
        &f,
        "host_retry",
        &mut spec.host_retry,
        &mut ok,
        |r, n, p| r.boolean(n, p),
    );
    if let Some(n) = f.get("dead_destination") {
        let path = f.path_of("dead_destination");
        match mechanism(r, n, &path, |r, n, d: &mut DeadDestinationSpec| {
            let Some(t) = r.table(
                n,
                &path,
                &["initial", "limit", "failed_cohort_limit", "suspend"],
            ) else {
                return false;
            };
            let mut ok = true;
            override_field(r, &t, "initial", &mut d.initial, &mut ok, count);
            override_field(r, &t, "limit", &mut d.limit, &mut ok, count);
            override_field(
                r,
                &t,
                "failed_cohort_limit",
                &mut d.failed_cohort_limit,
                &mut ok,
                |r, n, p| r.number_in(n, p, 0.01, 1000.0, "failed_cohort_limit"),
            );
            override_field(r, &t, "suspend", &mut d.suspend, &mut ok, |r, n, p| {
                r.positive_duration(n, p)
            });
            ok
        }) {
            Some(v) => spec.dead_destination = v,
            None => ok = false,
        }
    }
    if let Some(n) = f.get("circuit_breaker") {
        let path = f.path_of("circuit_breaker");
        match mechanism(r, n, &path, |r, n, b: &mut BreakerSpec| {
            let Some(t) = r.table(
                n,
                &path,
                &[
                    "window",
                    "min_calls",
                    "failure_rate",
                    "open_for",
                    "half_open_probes",
                ],
            ) else {
                return false;
            };
            let mut ok = true;
            override_field(r, &t, "window", &mut b.window, &mut ok, count);
            override_field(r, &t, "min_calls", &mut b.min_calls, &mut ok, count);
            override_field(
                r,
                &t,
                "half_open_probes",
                &mut b.half_open_probes,
                &mut ok,
                count,
            );
            override_field(
                r,
                &t,
                "failure_rate",
                &mut b.failure_rate,
                &mut ok,
                |r, n, p| r.probability(n, p),
            );
            override_field(r, &t, "open_for", &mut b.open_for, &mut ok, |r, n, p| {
                r.positive_duration(n, p)
            });
            ok
        }) {
            Some(v) => spec.circuit_breaker = v,
            None => ok = false,
        }
    }
    if let Some(n) = f.get("retry_budget") {
        let path = f.path_of("retry_budget");
        match mechanism(r, n, &path, |r, n, b: &mut BudgetSpec| {
            let Some(t) = r.table(n, &path, &["percent", "min_per_second", "ttl"]) else {
                return false;
            };
            let mut ok = true;
            override_field(r, &t, "percent", &mut b.percent, &mut ok, |r, n, p| {
                r.probability(n, p)
            });
            override_field(
                r,
                &t,
                "min_per_second",
                &mut b.min_per_second,
                &mut ok,
                |r, n, p| r.number_in(n, p, 0.0, 1e6, "min_per_second"),
            );
            override_field(r, &t, "ttl", &mut b.ttl, &mut ok, |r, n, p| {
                r.positive_duration(n, p)
            });
            ok
        }) {
            Some(v) => spec.retry_budget = v,
            None => ok = false,
        }
    }
    ok.then_some(spec)
}
