//! `[[links]]`: directed links between declared hosts.
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

pub(super) fn read_links(r: &mut Reader, top: &Fields<'_>, names: &[&str]) -> Vec<LinkSpec> {
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
