//! `[policy] route`: the chain of relay stages and pools, with link checks.
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

pub(super) fn read_route(
    r: &mut Reader,
    node: &Node,
    hosts: &[HostSpec],
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
        match read_stage(r, item, &format!("policy.route.via[{i}]"), hosts) {
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
                let path = format!("policy.route.via[{i}]");
                check_link(r, links, hosts, p, hop, &path, items[i].span.clone(), "");
            }
        }
        prev = stage.members.clone();
    }
    Some(Route::Via(chain))
}

/// One item of `route.via`: a relay name, or `{ pool = [...], choose = "..." }`.
pub(super) fn read_stage(
    r: &mut Reader,
    item: &Node,
    path: &str,
    hosts: &[HostSpec],
) -> Option<Stage> {
    let relay = |r: &mut Reader, node: &Node, path: &str| -> Option<HostId> {
        let name = r.string(node, path)?;
        let want = Want::Role {
            role: Role::Relay,
            help: "routes list hosts with role = \"relay\"",
            suggest_role: true,
        };
        resolve_host(r, name, node.span.clone(), path, hosts, want)
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
                        r.unknown_keyword(
                            &p,
                            n.span.clone(),
                            name,
                            ("pool strategy", "strategy"),
                            Choose::NAMES,
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
                    format!("\"{}\" is listed twice", hosts[h.index()].id),
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
