//! `[policy]` and each store-and-forward relay's `policy`: the fields of a queue's policy, the next-MX rule and connect settings.
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

/// `[policy]` of the sender, or (with `relay`) the `policy` table of a store-and-forward relay,
/// whose queue sends from the relay itself.
pub(super) fn read_policy(
    r: &mut Reader,
    node: Option<&Node>,
    hosts: &[HostSpec],
    links: &[LinkSpec],
    domains: &[DomainSpec],
    relay: Option<HostId>,
) -> Option<Policy> {
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
            "backoff_counts",
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
            "shaping",
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
            let want = Want::Role {
                role: Role::Sender,
                help: "name a host with role = \"sender\"",
                suggest_role: false,
            };
            resolve_host(r, name, n.span.clone(), "policy.sender", hosts, want)
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
        Some(n) => read_route(r, n, hosts, links, sender),
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
        Some(n) => read_stage(r, n, "policy.fallback_relay", hosts).and_then(|stage| {
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
        let span = f.get("fallback_relay").and_then(|n| n.span.clone());
        check_link(r, links, hosts, s, relay, "policy.fallback_relay", span, "");
    }
    let dns = match f.get("dns") {
        None => Some(None),
        Some(n) => read_dns(r, n, hosts, links, sender).map(Some),
    };
    let connections = match f.get("connections") {
        None => Some(None),
        Some(n) => read_connections(r, n).map(Some),
    };
    let queue = match f.get("queue") {
        None => Some(None),
        Some(n) => read_queue(r, n),
    };
    let shaping = match f.get("shaping") {
        None => Some(crate::shaping::ShapingSpec::default()),
        Some(n) => read_shaping(
            r,
            n,
            hosts,
            domains,
            route.as_ref().and_then(Route::first_relay),
        ),
    };
    Some(Policy {
        shaping: shaping?,
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

/// Reads the `policy` of every store-and-forward relay, in one pass over the relays
/// [`read_hosts`] found, with the sender's reader, so a relay's queue has exactly the sender's
/// features; problems are reported under `hosts[i].policy` (a path scope, nothing rewritten).
pub(super) fn read_relay_policies(
    r: &mut Reader,
    queues: &[RelayQueue<'_>],
    hosts: &mut [HostSpec],
    links: &[LinkSpec],
    domains: &[DomainSpec],
) {
    let mut read = Vec::with_capacity(queues.len());
    for q in queues {
        let policy = r.scoped(&format!("hosts[{}].", q.item), |r| {
            read_policy(r, q.policy, hosts, links, domains, Some(q.host))
        });
        if let Some(p) = policy {
            read.push((q.host, p));
        }
    }
    for (host, p) in read {
        hosts[host.index()].queue_policy = Some(Box::new(p));
    }
}

/// `next_mx = "any-soft" | "connection-only"` with `mx_session_limit`.
pub(super) fn read_next_mx(r: &mut Reader, f: &Fields<'_>) -> Option<NextMx> {
    let session_limit = match f.get("mx_session_limit") {
        None => Some(NextMx::SESSION_LIMIT_DEFAULT),
        Some(n) => match r.unsigned(n, "policy.mx_session_limit", 1_000) {
            Some(0) => {
                r.error(
                    "policy.mx_session_limit",
                    n.span.clone(),
                    "must be at least 1".into(),
                    Some("Postfix's smtp_mx_session_limit is 2".into()),
                );
                None
            }
            v => v.map(|v| v as u32),
        },
    };
    match f.get("next_mx") {
        None => Some(NextMx::AnySoft {
            session_limit: session_limit?,
        }),
        Some(n) => match r.string(n, "policy.next_mx")? {
            "any-soft" => Some(NextMx::AnySoft {
                session_limit: session_limit?,
            }),
            "connection-only" => {
                if let Some(s) = f.get("mx_session_limit") {
                    r.error(
                        "policy.mx_session_limit",
                        s.span.clone(),
                        "applies to next_mx = \"any-soft\" only".into(),
                        Some(
                            "with connection-only, a session's 4xx already ends the attempt".into(),
                        ),
                    );
                    return None;
                }
                Some(NextMx::ConnectionOnly)
            }
            other => {
                r.unknown_keyword(
                    "policy.next_mx",
                    n.span.clone(),
                    other,
                    ("next-MX rule", "rule"),
                    ["any-soft", "connection-only"],
                );
                None
            }
        },
    }
}

/// `connect = { retries, backoff, factor, timeout, greeting_timeout }`.
pub(super) fn read_connect(r: &mut Reader, node: &Node) -> Option<ConnectSpec> {
    let path = "policy.connect";
    let f = r.table(
        node,
        path,
        &[
            "retries",
            "backoff",
            "factor",
            "timeout",
            "greeting_timeout",
        ],
    )?;
    let mut c = ConnectSpec::default();
    let mut ok = true;
    override_field(r, &f, "retries", &mut c.retries, &mut ok, |r, n, p| {
        r.unsigned(n, p, 100).map(|v| v as u32)
    });
    override_field(r, &f, "backoff", &mut c.backoff, &mut ok, |r, n, p| {
        r.duration(n, p)
    });
    override_field(r, &f, "factor", &mut c.factor, &mut ok, |r, n, p| {
        r.number_in(n, p, 1.0, 100.0, "factor")
    });
    override_field(r, &f, "timeout", &mut c.timeout, &mut ok, |r, n, p| {
        r.positive_duration(n, p)
    });
    override_field(
        r,
        &f,
        "greeting_timeout",
        &mut c.greeting_timeout,
        &mut ok,
        |r, n, p| r.positive_duration(n, p),
    );
    ok.then_some(c)
}

/// Most named policies a scenario may hold (each is a full policy, read and kept).
pub const NAMED_POLICIES_MAX: usize = 64;

/// `[policies.<name>]`: named variants of the sender's `[policy]` for `mxsim compare`. Each
/// holds `[policy]` fields that replace the scenario's (a field not named is the scenario's);
/// the merged table is read by the same reader as `[policy]`. Problems in the named table's
/// own fields are reported under `policies.<name>.…`; problems in inherited fields are
/// `[policy]`'s own and reported there once.
pub(super) fn read_named_policies(
    r: &mut Reader,
    top: &Fields<'_>,
    hosts: &[HostSpec],
    links: &[LinkSpec],
    domains: &[DomainSpec],
) -> Vec<(String, Policy)> {
    let Some(node) = top.get("policies") else {
        return Vec::new();
    };
    let Kind::Table(named) = &node.kind else {
        r.type_error(
            node,
            "policies",
            "a table of named policies, e.g. [policies.patient]",
        );
        return Vec::new();
    };
    if named.len() > NAMED_POLICIES_MAX {
        r.error(
            "policies",
            node.span.clone(),
            format!(
                "{} named policies; at most {NAMED_POLICIES_MAX}",
                named.len()
            ),
            Some("compare a few policies at a time".into()),
        );
        return Vec::new();
    }
    let base: &[Entry] = match top.get("policy").map(|n| &n.kind) {
        Some(Kind::Table(entries)) => entries,
        _ => &[],
    };
    let mut out = Vec::new();
    for e in named {
        let path = format!("policies.{}", e.key);
        if e.key == "scenario" || crate::policy::preset(&e.key).is_some() || e.key.is_empty() {
            r.error(
                &path,
                e.key_span.clone(),
                format!("\"{}\" names a preset or the scenario's own policy", e.key),
                Some(
                    "choose another name: `mxsim compare --policy <name>` must be unambiguous"
                        .into(),
                ),
            );
            continue;
        }
        let Kind::Table(own) = &e.value.kind else {
            r.type_error(&e.value, &path, "a table of [policy] fields");
            continue;
        };
        let mut merged: Vec<Entry> = base
            .iter()
            .filter(|b| !own.iter().any(|o| o.key == b.key))
            .cloned()
            .collect();
        merged.extend(own.iter().cloned());
        let merged = Node {
            kind: Kind::Table(merged),
            span: e.value.span.clone(),
        };
        let mut sub = Reader::default();
        sub.swap_names(r);
        let policy = read_policy(&mut sub, Some(&merged), hosts, links, domains, None);
        sub.swap_names(r);
        // Keep what concerns the named table's own fields, under its own path.
        let own_spans: Vec<std::ops::Range<usize>> = own
            .iter()
            .flat_map(|o| [o.key_span.clone(), o.value.span.clone()])
            .flatten()
            .collect();
        let inside = |s: &Option<std::ops::Range<usize>>| {
            s.as_ref().is_some_and(|s| {
                own_spans
                    .iter()
                    .any(|o| o.start <= s.start && s.end <= o.end)
            })
        };
        let before = r.diagnostics.len();
        let mut first_inherited = None;
        for mut d in sub.diagnostics {
            if inside(&d.span) {
                d.path = match d.path.strip_prefix("policy") {
                    Some(rest) => format!("{path}{rest}"),
                    None => d.path,
                };
                r.diagnostics.push(d);
            } else if first_inherited.is_none() {
                first_inherited = Some(d);
            }
        }
        match policy {
            Some(p) if r.diagnostics.len() == before && first_inherited.is_none() => {
                out.push((e.key.clone(), p))
            }
            _ if r.diagnostics.len() == before => {
                // Nothing of its own was wrong, yet the merge was: say so here too.
                let why = first_inherited.map_or("the merged policy is invalid".into(), |d| {
                    format!("{}: {}", d.path, d.message)
                });
                r.error(
                    &path,
                    e.key_span.clone(),
                    format!("this policy is invalid once merged with [policy] ({why})"),
                    Some("fix [policy], or override the field in this table".into()),
                );
            }
            _ => {}
        }
    }
    out
}
