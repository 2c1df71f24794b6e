//! `[policy]` mechanisms, each off until switched on: shared retry state, DNS, connection cache, queue manager.
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

/// `[policy.shared]`: retry state shared across messages (see `shared`).
pub(super) fn read_shared(r: &mut Reader, node: &Node) -> Option<SharedSpec> {
    let f = r.table(
        node,
        "policy.shared",
        &[
            "host_retry",
            "delay_after_cutoff",
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
    override_field(
        r,
        &f,
        "delay_after_cutoff",
        &mut spec.delay_after_cutoff,
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

/// `dns = { resolver, cache, max_negative_ttl, serve_stale, timeout, failure }`.
pub(super) fn read_dns(
    r: &mut Reader,
    node: &Node,
    hosts: &[HostSpec],
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
    let want = Want::Role {
        role: Role::Resolver,
        help: "name a host with role = \"resolver\"",
        suggest_role: true,
    };
    let resolver = resolve_host(r, name, rnode.span.clone(), &rpath, hosts, want)?;
    if let Some(s) = sender {
        let why = " (its latency is the query's)";
        check_link(
            r,
            links,
            hosts,
            s,
            resolver,
            &rpath,
            rnode.span.clone(),
            why,
        );
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
            r.unknown_keyword(
                p,
                n.span.clone(),
                name,
                ("connection preset", "preset"),
                ConnectionSpec::PRESETS,
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
            |r, n, p| positive(r, n, p, 100_000_000),
        );
        override_field(r, &f, "fair", &mut q.fair, &mut ok, |r, n, p| {
            r.boolean(n, p)
        });
        if let Some(c) = f.get("concurrency") {
            let p = f.path_of("concurrency");
            let read = match &c.kind {
                Kind::Int(_) => count(r, c, &p).map(Concurrency::Fixed),
                Kind::Str(s) if s == "postfix" => Some(Concurrency::POSTFIX),
                Kind::Table(_) => r.table(c, &p, &["initial", "limit"]).and_then(|t| {
                    let get = |r: &mut Reader, key: &str, default: u64| match t.get(key) {
                        None => Some(default),
                        Some(n) => count(r, n, &t.path_of(key)).map(u64::from),
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
