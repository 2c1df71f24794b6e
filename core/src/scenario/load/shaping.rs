//! `[policy.shaping]`: per-site traffic shaping (`default`, `domains."<name>"` blocks with
//! `mx_rollup`). Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;
use crate::shaping::{DomainShape, Rate, Shape, ShapingSpec};

/// The route's first relay: the site every domain's mail goes to through it.
pub(super) fn first_relay(route: Option<&Route>) -> Option<HostId> {
    match route {
        Some(Route::Via(chain)) => chain.first().map(|stage| stage.members[0]),
        _ => None,
    }
}

/// `shaping = { default = { … }, domains = { "example.net" = { …, mx_rollup = true } } }`.
pub(super) fn read_shaping(
    r: &mut Reader,
    node: &Node,
    domains: &[DomainSpec],
    relay: Option<HostId>,
) -> Option<ShapingSpec> {
    let path = "policy.shaping";
    let f = r.table(node, path, &["default", "domains"])?;
    let mut ok = true;
    let mut spec = ShapingSpec::default();
    if let Some(n) = f.get("default") {
        match read_shape(r, n, &f.path_of("default"), false) {
            Some((shape, _)) => spec.default = shape,
            None => ok = false,
        }
    }
    let mut spans = Vec::new();
    if let Some(n) = f.get("domains") {
        let blocks = f.path_of("domains");
        let Kind::Table(entries) = &n.kind else {
            r.type_error(
                n,
                &blocks,
                "a table of domain = { max_message_rate, mx_rollup }",
            );
            return None;
        };
        for e in entries {
            let p = format!("{blocks}.\"{}\"", e.key);
            let Some(i) = domains.iter().position(|d| d.name == e.key) else {
                r.unknown_keyword(
                    &p,
                    e.key_span.clone().or(n.span.clone()),
                    &e.key,
                    ("domain", "domain"),
                    domains.iter().map(|d| d.name.as_str()),
                );
                ok = false;
                continue;
            };
            match read_shape(r, &e.value, &p, true) {
                Some((shape, mx_rollup)) => {
                    spec.domains.push(DomainShape {
                        domain: DomainId::from_index(i),
                        mx_rollup,
                        shape,
                    });
                    spans.push((p, e.key_span.clone().or(n.span.clone())));
                }
                None => ok = false,
            }
        }
    }
    if let Some((a, b)) = spec.aliased(domains, relay) {
        let name = |k: usize| domains[spec.domains[k].domain.index()].name.as_str();
        let via = if relay.is_some() {
            "the route's relay"
        } else {
            "the same MX hosts"
        };
        r.error(
            &spans[b].0,
            spans[b].1.clone(),
            format!(
                "\"{}\" and \"{}\" both apply to one site ({via}): which values does it get?",
                name(a),
                name(b)
            ),
            Some("keep one block for the site, or set mx_rollup = false on a block to shape that domain alone".into()),
        );
        ok = false;
    }
    ok.then_some(spec)
}

/// One scope's values; with `block`, also its `mx_rollup` (default true).
fn read_shape(r: &mut Reader, node: &Node, path: &str, block: bool) -> Option<(Shape, bool)> {
    let keys: &[&str] = if block {
        &["max_message_rate", "mx_rollup"]
    } else {
        &["max_message_rate"]
    };
    let f = r.table(node, path, keys)?;
    let mut shape = Shape::default();
    let mut ok = true;
    if let Some(n) = f.get("max_message_rate") {
        let p = f.path_of("max_message_rate");
        match r.string(n, &p).map(Rate::parse) {
            Some(Ok(rate)) => shape.max_message_rate = Some(rate),
            Some(Err(msg)) => {
                r.error(
                    &p,
                    n.span.clone(),
                    msg,
                    Some("KumoMTA's throttle syntax: N per s, m, h or d".into()),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    let mut mx_rollup = true;
    override_field(r, &f, "mx_rollup", &mut mx_rollup, &mut ok, |r, n, p| {
        r.boolean(n, p)
    });
    ok.then_some((shape, mx_rollup))
}
