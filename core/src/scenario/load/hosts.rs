//! `[[hosts]]`: ids, roles, relay modes, how a down host fails, capacity and greylisting.
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

/// A store-and-forward relay's own queue, to be read once links are known
/// ([`read_relay_policies`]): its host, its `[[hosts]]` item index and its `policy` table.
pub(super) struct RelayQueue<'a> {
    pub host: HostId,
    pub item: usize,
    pub policy: Option<&'a Node>,
}

/// Reads `[[hosts]]`; the store-and-forward relays' policies are returned unread, because a
/// policy names hosts and links that are not all known yet.
pub(super) fn read_hosts<'a>(
    r: &mut Reader,
    top: &Fields<'a>,
    limits: &Limits,
) -> (Vec<HostSpec>, Vec<RelayQueue<'a>>) {
    let mut queues = Vec::new();
    let problems_before = r.diagnostics.len();
    let Some(node) = top.get("hosts") else {
        r.missing(
            top,
            "hosts",
            "declare at least a sender and an mx with [[hosts]] tables",
        );
        return (Vec::new(), queues);
    };
    let Some(items) = r.array(node, "hosts") else {
        r.hosts_refused = true;
        return (Vec::new(), queues);
    };
    if items.len() as u64 > limits.hosts_max {
        // Refused before any host is read: reading is linear, but a file this size is a
        // mistake or an attack, and one error says so.
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
        r.hosts_refused = true;
        return (Vec::new(), queues);
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
        let id = required(
            r,
            &f,
            "id",
            "give the host a unique name, e.g. id = \"mx1.example.net\"",
            |r, n, p| r.name(n, p),
        );
        if let (None, Some(Kind::Str(raw))) = (&id, f.get("id").map(|n| &n.kind)) {
            r.refused_ids.insert(raw.clone());
        }
        if let (Some(id), Some(n)) = (&id, f.get("id")) {
            if r.host_index.contains_key(id) {
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
                    r.unknown_keyword(
                        &f.path_of("role"),
                        n.span.clone(),
                        other,
                        ("role", "role"),
                        ["sender", "relay", "mx", "resolver"],
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
                    r.unknown_keyword(
                        &path,
                        n.span.clone(),
                        other,
                        ("relay mode", "mode"),
                        ["cut-through", "store-and-forward"],
                    );
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
            if store_and_forward {
                queues.push(RelayQueue {
                    host: HostId::from_index(hosts.len()),
                    item: i,
                    policy: f.get("policy"),
                });
            }
            r.host_index.entry(id.clone()).or_insert(hosts.len());
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
                queue_policy: None,
            });
        }
    }
    // Only when every host read cleanly: a misspelt role (`"sendr"`) is reported at its own
    // line, not again as a missing sender.
    let clean = r.diagnostics.len() == problems_before;
    if clean && !hosts.is_empty() && !hosts.iter().any(|h| h.role == Role::Sender) {
        r.error(
            "hosts",
            node.span.clone(),
            "no host has role \"sender\"".into(),
            Some("the workload is sent by a sender host: add one with role = \"sender\"".into()),
        );
    }
    (hosts, queues)
}

/// `down = "refused" | "silent"`.
pub(super) fn read_down_as(r: &mut Reader, node: &Node, path: &str) -> Option<DownAs> {
    match r.string(node, path)? {
        "refused" => Some(DownAs::Refused),
        "silent" => Some(DownAs::Silent),
        other => {
            r.unknown_keyword(
                path,
                node.span.clone(),
                other,
                ("down behaviour", "behaviour"),
                ["refused", "silent"],
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
    let mut spec = CapacitySpec::default();
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
