//! `[[links]]`: directed links between declared hosts.
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

pub(super) fn read_links(r: &mut Reader, top: &Fields<'_>, hosts: &[HostSpec]) -> Vec<LinkSpec> {
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
            resolve_host(r, name, n.span.clone(), &f.path_of(key), hosts, Want::Any)
        };
        let from = end("from");
        let to = end("to");
        let latency = f.get("latency").map_or(Some(SimDuration::ZERO), |n| {
            r.duration(n, &f.path_of("latency"))
        });
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        // A link whose latency is invalid (already reported) is kept, so that routes over
        // it raise no follow-on "no link" errors.
        let latency = latency.unwrap_or(SimDuration::ZERO);
        if from == to {
            r.error(
                &path,
                item.span.clone(),
                "a link cannot connect a host to itself".into(),
                None,
            );
        } else if !r.link_set.insert((from.index(), to.index())) {
            r.error(
                &path,
                item.span.clone(),
                format!(
                    "duplicate link from \"{}\" to \"{}\"",
                    hosts[from.index()].id,
                    hosts[to.index()].id
                ),
                Some("declare each directed link once".into()),
            );
        } else {
            links.push(LinkSpec { from, to, latency });
        }
    }
    links
}
