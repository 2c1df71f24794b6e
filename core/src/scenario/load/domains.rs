//! `[[domains]]`: MX answers (records, null MX, NXDOMAIN, implicit MX) and TTLs.
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

pub(super) fn read_domains(
    r: &mut Reader,
    top: &Fields<'_>,
    hosts: &[HostSpec],
) -> Vec<DomainSpec> {
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
    if items.is_empty() {
        // Found by the fuzzer: `domains = []` validated and then panicked in the sampler.
        r.error(
            "domains",
            node.span.clone(),
            "no recipient domain is declared".into(),
            Some("declare at least one domain with a [[domains]] table".into()),
        );
    }
    let mut domains: Vec<DomainSpec> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("domains[{i}]");
        let Some(f) = r.table(item, &path, &["name", "mx", "ttl", "nxdomain"]) else {
            continue;
        };
        let name = required(
            r,
            &f,
            "name",
            "the domain name, e.g. name = \"example.net\"",
            |r, n, p| r.name(n, p),
        );
        if let (Some(name), Some(n)) = (&name, f.get("name")) {
            if !seen.insert(name.clone()) {
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
                    .and_then(|d| r.host_index.get(d).copied())
                    .map(HostId::from_index),
            )),
            (Some(n), false) => read_mx(r, n, &f.path_of("mx"), hosts),
        };
        if let Some(name) = name {
            // A domain whose MX or TTL is invalid (already reported) is kept with placeholders,
            // so the workload's references to it raise no follow-on "unknown domain".
            domains.push(DomainSpec {
                name,
                mx: mx.unwrap_or(MxAnswer::NxDomain),
                ttl: ttl.unwrap_or(SimDuration::from_hours(1)),
            });
        }
    }
    domains
}

pub(super) fn read_mx(
    r: &mut Reader,
    node: &Node,
    path: &str,
    hosts: &[HostSpec],
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
        let preference = required(
            r,
            &f,
            "preference",
            "lower is preferred, e.g. preference = 10",
            |r, n, p| r.unsigned(n, p, 65_535),
        );
        let host = match f.get("host") {
            Some(n) => {
                let hpath = f.path_of("host");
                r.string(n, &hpath)
                    .and_then(|h| resolve_host(r, h, n.span.clone(), &hpath, hosts, Want::Exchange))
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
