//! Reading the network parts of a scenario: host capacity, greylisting, how a down host fails,
//! relay pools in routes, the next-MX rule and connect settings. Same conventions as
//! [`load`](super::load): every problem reported with its path and a hint, nothing panics.

use super::load::{mechanism, override_field, unknown_name_help};
use super::reader::{Fields, Reader};
use super::tree::{Kind, Node};
use super::LinkSpec;
use super::{ConnectSpec, DownAs, HostId, HostSpec, NextMx, Role};
use crate::network::{CapacitySpec, Choose, ConnectionSpec, DnsSpec, GreylistSpec, Stage};
use crate::qmgr::{Concurrency, QueueSpec};
use crate::smtp::{codes, lookup, EnhancedCode, Reply};
use crate::time::SimDuration;

/// `down = "refused" | "silent"`.
pub(super) fn read_down_as(r: &mut Reader, node: &Node, path: &str) -> Option<DownAs> {
    match r.string(node, path)? {
        "refused" => Some(DownAs::Refused),
        "silent" => Some(DownAs::Silent),
        other => {
            let help = unknown_name_help(other, ["refused", "silent"], "behaviour");
            r.error(
                path,
                node.span.clone(),
                format!("unknown down behaviour \"{other}\""),
                Some(help),
            );
            None
        }
    }
}

/// A transient reply written "4.3.2" or "421 4.3.2"; the basic code defaults to the 4yz IANA
/// pairs with the enhanced code.
pub(super) fn read_transient_reply(r: &mut Reader, node: &Node, path: &str) -> Option<Reply> {
    let text = r.string(node, path)?;
    let (basic, enhanced) = match text.split_once(' ') {
        Some((b, e)) => (b.parse::<u16>().ok(), e.trim()),
        None => (None, text),
    };
    let hint = "e.g. \"421 4.3.2\" or \"4.7.1\"";
    let code = match EnhancedCode::parse(enhanced) {
        Ok(c) => c,
        Err(e) => {
            r.error(path, node.span.clone(), e, Some(hint.into()));
            return None;
        }
    };
    let basic = basic.unwrap_or_else(|| {
        lookup(code)
            .and_then(|i| i.basic.iter().copied().find(|b| b / 100 == 4))
            .unwrap_or(451)
    });
    if code.class != 4 || basic / 100 != 4 {
        r.error(
            path,
            node.span.clone(),
            format!("\"{text}\" is not a transient (4yz 4.x.x) reply"),
            Some(hint.into()),
        );
        return None;
    }
    Some(Reply::new(basic, code))
}

fn default_capacity() -> CapacitySpec {
    CapacitySpec {
        sessions: 100,
        service_time: SimDuration::from_secs(1),
        backlog: 0,
        reply: codes::TOO_MANY_CONNECTIONS,
        abandoned_cost: 1.0,
    }
}

/// `capacity = { sessions, service_time, backlog, reply, abandoned_cost }`.
pub(super) fn read_capacity(r: &mut Reader, node: &Node, path: &str) -> Option<CapacitySpec> {
    let f = r.table(
        node,
        path,
        &[
            "sessions",
            "service_time",
            "backlog",
            "reply",
            "abandoned_cost",
        ],
    )?;
    let mut spec = default_capacity();
    let mut ok = true;
    match f.get("sessions") {
        Some(n) => match r.unsigned(n, &f.path_of("sessions"), 1_000_000) {
            Some(0) => {
                r.error(
                    &f.path_of("sessions"),
                    n.span.clone(),
                    "a host serves at least one session".into(),
                    Some("model a host that answers nothing with `failure` instead".into()),
                );
                ok = false;
            }
            Some(v) => spec.sessions = v as u32,
            None => ok = false,
        },
        None => {
            r.missing(
                &f,
                "sessions",
                "sessions served at once, e.g. sessions = 50",
            );
            ok = false;
        }
    }
    override_field(
        r,
        &f,
        "service_time",
        &mut spec.service_time,
        &mut ok,
        |r, n, p| r.duration(n, p),
    );
    override_field(r, &f, "backlog", &mut spec.backlog, &mut ok, |r, n, p| {
        r.unsigned(n, p, 10_000_000).map(|v| v as u32)
    });
    override_field(
        r,
        &f,
        "reply",
        &mut spec.reply,
        &mut ok,
        read_transient_reply,
    );
    override_field(
        r,
        &f,
        "abandoned_cost",
        &mut spec.abandoned_cost,
        &mut ok,
        |r, n, p| r.probability(n, p),
    );
    ok.then_some(spec)
}

impl Default for GreylistSpec {
    /// postgrey's delay (300 s) and retry window (2 days), the 36-day pass record of Harris's
    /// relaydelay, and its 451 4.7.1 reply (`smtp-facts.md` §6).
    fn default() -> Self {
        GreylistSpec {
            delay: SimDuration::from_mins(5),
            window: SimDuration::from_days(2),
            lifetime: SimDuration::from_days(36),
            reply: codes::GREYLISTED,
        }
    }
}

/// `greylist = true | { delay, window, lifetime, reply }`.
pub(super) fn read_greylist(
    r: &mut Reader,
    node: &Node,
    path: &str,
    role: Option<Role>,
) -> Option<Option<GreylistSpec>> {
    if role.is_some_and(|role| role != Role::Mx) {
        r.error(
            path,
            node.span.clone(),
            "greylisting applies to mx hosts only".into(),
            Some("move `greylist` to the domain's mx host".into()),
        );
        return None;
    }
    let spec = mechanism(r, node, path, |r, n, g: &mut GreylistSpec| {
        let Some(t) = r.table(n, path, &["delay", "window", "lifetime", "reply"]) else {
            return false;
        };
        let mut ok = true;
        override_field(r, &t, "delay", &mut g.delay, &mut ok, |r, n, p| {
            r.duration(n, p)
        });
        override_field(r, &t, "window", &mut g.window, &mut ok, |r, n, p| {
            r.positive_duration(n, p)
        });
        override_field(r, &t, "lifetime", &mut g.lifetime, &mut ok, |r, n, p| {
            r.positive_duration(n, p)
        });
        override_field(r, &t, "reply", &mut g.reply, &mut ok, read_transient_reply);
        if ok && g.window < g.delay {
            r.error(
                path,
                n.span.clone(),
                "the retry window ends before the delay".into(),
                Some("a retry passes between delay and window after the first try: make window ≥ delay".into()),
            );
            ok = false;
        }
        ok
    })?;
    Some(spec)
}

/// One item of `route.via`: a relay name, or `{ pool = [...], choose = "..." }`.
pub(super) fn read_stage(
    r: &mut Reader,
    item: &Node,
    path: &str,
    hosts: &[HostSpec],
    names: &[&str],
) -> Option<Stage> {
    let relay = |r: &mut Reader, node: &Node, path: &str| -> Option<HostId> {
        let name = r.string(node, path)?;
        match names.iter().position(|h| *h == name) {
            Some(h) if hosts[h].role == Role::Relay => Some(HostId(h as u32)),
            Some(_) => {
                r.error(
                    path,
                    node.span.clone(),
                    format!("host \"{name}\" is not a relay"),
                    Some("routes list hosts with role = \"relay\"".into()),
                );
                None
            }
            None => {
                let relays = hosts
                    .iter()
                    .filter(|h| h.role == Role::Relay)
                    .map(|h| h.id.as_str());
                let help = unknown_name_help(name, relays, "relay");
                r.error(
                    path,
                    node.span.clone(),
                    format!("unknown host \"{name}\""),
                    Some(help),
                );
                None
            }
        }
    };
    if let Kind::Str(_) = item.kind {
        return relay(r, item, path).map(|h| Stage {
            members: vec![h],
            choose: Choose::RoundRobin,
        });
    }
    let f: Fields<'_> = r.table(item, path, &["pool", "choose"])?;
    let choose = match f.get("choose") {
        None => Some(Choose::RoundRobin),
        Some(n) => {
            let p = f.path_of("choose");
            r.string(n, &p)
                .and_then(|name| match Choose::from_name(name) {
                    Some(c) => Some(c),
                    None => {
                        let help = unknown_name_help(name, Choose::NAMES, "strategy");
                        r.error(
                            &p,
                            n.span.clone(),
                            format!("unknown pool strategy \"{name}\""),
                            Some(help),
                        );
                        None
                    }
                })
        }
    };
    let Some(pool) = f.get("pool") else {
        r.missing(
            &f,
            "pool",
            "the relays of the pool, e.g. pool = [\"relay-1\", \"relay-2\"]",
        );
        return None;
    };
    let items = r.array(pool, &f.path_of("pool"))?;
    if items.is_empty() {
        r.error(
            &f.path_of("pool"),
            pool.span.clone(),
            "empty relay pool".into(),
            Some("name at least one relay".into()),
        );
        return None;
    }
    let mut members = Vec::new();
    let mut ok = true;
    for (i, n) in items.iter().enumerate() {
        let p = format!("{}[{i}]", f.path_of("pool"));
        match relay(r, n, &p) {
            Some(h) if members.contains(&h) => {
                r.error(
                    &p,
                    n.span.clone(),
                    format!("\"{}\" is listed twice", names[h.0 as usize]),
                    None,
                );
                ok = false;
            }
            Some(h) => members.push(h),
            None => ok = false,
        }
    }
    (ok && choose.is_some()).then(|| Stage {
        members,
        choose: choose.unwrap_or(Choose::RoundRobin),
    })
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
                let help = unknown_name_help(other, ["any-soft", "connection-only"], "rule");
                r.error(
                    "policy.next_mx",
                    n.span.clone(),
                    format!("unknown next-MX rule \"{other}\""),
                    Some(help),
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

/// `dns = { resolver, cache, max_negative_ttl, serve_stale, timeout, failure }`.
pub(super) fn read_dns(
    r: &mut Reader,
    node: &Node,
    hosts: &[HostSpec],
    names: &[&str],
    links: &[LinkSpec],
    sender: Option<HostId>,
) -> Option<DnsSpec> {
    let path = "policy.dns";
    let f = r.table(
        node,
        path,
        &[
            "resolver",
            "cache",
            "max_negative_ttl",
            "serve_stale",
            "timeout",
            "failure",
        ],
    )?;
    let Some(rnode) = f.get("resolver") else {
        r.missing(&f, "resolver", "the id of a host with role = \"resolver\"");
        return None;
    };
    let rpath = f.path_of("resolver");
    let name = r.string(rnode, &rpath)?;
    let resolver = match names.iter().position(|h| *h == name) {
        Some(i) if hosts[i].role == Role::Resolver => HostId(i as u32),
        Some(_) => {
            r.error(
                &rpath,
                rnode.span.clone(),
                format!("host \"{name}\" is not a resolver"),
                Some("name a host with role = \"resolver\"".into()),
            );
            return None;
        }
        None => {
            let all = hosts
                .iter()
                .filter(|h| h.role == Role::Resolver)
                .map(|h| h.id.as_str());
            let help = unknown_name_help(name, all, "resolver");
            r.error(
                &rpath,
                rnode.span.clone(),
                format!("unknown host \"{name}\""),
                Some(help),
            );
            return None;
        }
    };
    if let Some(s) = sender {
        if !links.iter().any(|l| l.from == s && l.to == resolver) {
            r.error(
                &rpath,
                rnode.span.clone(),
                format!("no link from \"{}\" to \"{name}\"", names[s.0 as usize]),
                Some(format!(
                    "add [[links]] from = \"{}\" to = \"{name}\" (its latency is the query's)",
                    names[s.0 as usize]
                )),
            );
        }
    }
    let mut spec = DnsSpec::new(resolver);
    let mut ok = true;
    override_field(r, &f, "cache", &mut spec.cache, &mut ok, |r, n, p| {
        r.boolean(n, p)
    });
    override_field(
        r,
        &f,
        "max_negative_ttl",
        &mut spec.max_negative_ttl,
        &mut ok,
        |r, n, p| r.duration(n, p),
    );
    override_field(r, &f, "timeout", &mut spec.timeout, &mut ok, |r, n, p| {
        r.positive_duration(n, p)
    });
    override_field(
        r,
        &f,
        "failure",
        &mut spec.failure,
        &mut ok,
        read_transient_reply,
    );
    if let Some(n) = f.get("serve_stale") {
        let p = f.path_of("serve_stale");
        match &n.kind {
            Kind::Bool(false) => spec.serve_stale = None,
            // RFC 8767 §5 suggests 1 to 3 days; one day covers most outages.
            Kind::Bool(true) => spec.serve_stale = Some(SimDuration::from_days(1)),
            _ => match r.positive_duration(n, &p) {
                Some(d) => spec.serve_stale = Some(d),
                None => ok = false,
            },
        }
    }
    if spec.serve_stale.is_some() && !spec.cache {
        r.error(
            &f.path_of("serve_stale"),
            f.get("serve_stale").and_then(|n| n.span.clone()),
            "serve-stale needs the cache".into(),
            Some("set cache = true, or drop serve_stale".into()),
        );
        ok = false;
    }
    ok.then_some(spec)
}

/// `connections = "postfix" | { preset, size, idle_limit, reuse_limit, max_deliveries, tls }`.
pub(super) fn read_connections(r: &mut Reader, node: &Node) -> Option<ConnectionSpec> {
    let path = "policy.connections";
    let preset = |r: &mut Reader, n: &Node, p: &str| -> Option<ConnectionSpec> {
        let name = r.string(n, p)?;
        ConnectionSpec::preset(name).or_else(|| {
            let help = unknown_name_help(name, ConnectionSpec::PRESETS, "preset");
            r.error(
                p,
                n.span.clone(),
                format!("unknown connection preset \"{name}\""),
                Some(help),
            );
            None
        })
    };
    if let Kind::Str(_) = node.kind {
        return preset(r, node, path);
    }
    let f = r.table(
        node,
        path,
        &[
            "preset",
            "size",
            "idle_limit",
            "reuse_limit",
            "max_deliveries",
            "tls",
        ],
    )?;
    let mut c = ConnectionSpec::POSTFIX;
    let mut ok = true;
    override_field(r, &f, "preset", &mut c, &mut ok, preset);
    override_field(r, &f, "size", &mut c.size, &mut ok, |r, n, p| {
        r.unsigned(n, p, 1_000_000).map(|v| v as u32)
    });
    override_field(
        r,
        &f,
        "idle_limit",
        &mut c.idle_limit,
        &mut ok,
        |r, n, p| r.duration(n, p),
    );
    override_field(
        r,
        &f,
        "reuse_limit",
        &mut c.reuse_limit,
        &mut ok,
        |r, n, p| r.duration(n, p),
    );
    override_field(
        r,
        &f,
        "max_deliveries",
        &mut c.max_deliveries,
        &mut ok,
        |r, n, p| r.unsigned(n, p, u64::from(u32::MAX)).map(|v| v as u32),
    );
    override_field(r, &f, "tls", &mut c.tls, &mut ok, |r, n, p| r.boolean(n, p));
    ok.then_some(c)
}

/// `queue = true | false | { active_limit, concurrency, fair }`; `concurrency` is a number
/// (fixed), `"postfix"` or `{ initial, limit }` (feedback).
pub(super) fn read_queue(r: &mut Reader, node: &Node) -> Option<Option<QueueSpec>> {
    let path = "policy.queue";
    mechanism(r, node, path, |r, n, q: &mut QueueSpec| {
        let Some(f) = r.table(n, path, &["active_limit", "concurrency", "fair"]) else {
            return false;
        };
        let mut ok = true;
        override_field(
            r,
            &f,
            "active_limit",
            &mut q.active_limit,
            &mut ok,
            |r, n, p| r.unsigned(n, p, 100_000_000).map(|v| v.max(1) as u32),
        );
        override_field(r, &f, "fair", &mut q.fair, &mut ok, |r, n, p| {
            r.boolean(n, p)
        });
        if let Some(c) = f.get("concurrency") {
            let p = f.path_of("concurrency");
            let read = match &c.kind {
                Kind::Int(_) => r
                    .unsigned(c, &p, 1_000_000)
                    .map(|v| Concurrency::Fixed(v.max(1) as u32)),
                Kind::Str(s) if s == "postfix" => Some(Concurrency::POSTFIX),
                Kind::Table(_) => r.table(c, &p, &["initial", "limit"]).and_then(|t| {
                    let get = |r: &mut Reader, key: &str, default: u64| match t.get(key) {
                        None => Some(default),
                        Some(n) => r.unsigned(n, &t.path_of(key), 1_000_000).map(|v| v.max(1)),
                    };
                    let Concurrency::Feedback {
                        initial: initial_default,
                        limit: limit_default,
                    } = Concurrency::POSTFIX
                    else {
                        unreachable!("Postfix's window is a feedback window")
                    };
                    let initial = get(r, "initial", u64::from(initial_default))?;
                    let limit = get(r, "limit", u64::from(limit_default))?;
                    if initial > limit {
                        r.error(
                            &p,
                            c.span.clone(),
                            "initial window above the limit".into(),
                            Some("Postfix starts at 5 and grows to 20".into()),
                        );
                        return None;
                    }
                    Some(Concurrency::Feedback {
                        initial: initial as u32,
                        limit: limit as u32,
                    })
                }),
                _ => {
                    r.type_error(c, &p, "a number, \"postfix\" or { initial, limit }");
                    None
                }
            };
            match read {
                Some(v) => q.concurrency = v,
                None => ok = false,
            }
        }
        ok
    })
}
