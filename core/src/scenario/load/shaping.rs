//! `[policy.shaping]`: per-site traffic shaping (`default`, `domains."<name>"` blocks with
//! `mx_rollup`). Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;
use crate::dns::MxAnswer;
use crate::shaping::{DomainShape, Provider, Rate, Shape, ShapingSpec};

/// `shaping = { default = { … }, domains = { "example.net" = { …, mx_rollup = true } } }`.
pub(super) fn read_shaping(
    r: &mut Reader,
    node: &Node,
    hosts: &[HostSpec],
    domains: &[DomainSpec],
    relay: Option<HostId>,
) -> Option<ShapingSpec> {
    let path = "policy.shaping";
    let f = r.table(node, path, &["default", "providers", "domains"])?;
    let mut ok = true;
    let mut spec = ShapingSpec::default();
    if let Some(n) = f.get("default") {
        match read_shape(r, n, &f.path_of("default"), Scope::Default) {
            Some((shape, _)) => spec.default = shape.0,
            None => ok = false,
        }
    }
    if let Some(n) = f.get("providers") {
        match read_providers(r, n, &f.path_of("providers"), hosts, domains) {
            Some(p) => spec.providers = p,
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
            match read_shape(r, &e.value, &p, Scope::Domain) {
                Some(((shape, _), mx_rollup)) => {
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

/// Which block a shape is read from: each takes its own keys.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Default,
    Provider,
    Domain,
}

/// One block's values: its shape (and, for a provider, the shared message rate), and for a
/// domain block its `mx_rollup` (default true).
fn read_shape(
    r: &mut Reader,
    node: &Node,
    path: &str,
    scope: Scope,
) -> Option<((Shape, Option<Rate>), bool)> {
    let keys: &[&str] = match scope {
        Scope::Default => &["max_message_rate"],
        Scope::Provider => &["match", "max_message_rate", "provider_max_message_rate"],
        Scope::Domain => &["max_message_rate", "mx_rollup"],
    };
    let f = r.table(node, path, keys)?;
    let mut shape = Shape::default();
    let mut ok = true;
    let mut rate = |r: &mut Reader, key: &str| -> Option<Rate> {
        let n = f.get(key)?;
        let p = f.path_of(key);
        match r.string(n, &p).map(Rate::parse) {
            Some(Ok(rate)) => Some(rate),
            Some(Err(msg)) => {
                let hint = "KumoMTA's throttle syntax: N per s, m, h or d".to_string();
                r.error(&p, n.span.clone(), msg, Some(hint));
                ok = false;
                None
            }
            None => {
                ok = false;
                None
            }
        }
    };
    shape.max_message_rate = rate(r, "max_message_rate");
    let shared = rate(r, "provider_max_message_rate");
    let mut mx_rollup = true;
    override_field(r, &f, "mx_rollup", &mut mx_rollup, &mut ok, |r, n, p| {
        r.boolean(n, p)
    });
    ok.then_some(((shape, shared), mx_rollup))
}

/// `providers = { <name> = { match = [{ mx_suffix = ".." } | { domain_suffix = ".." }], … } }`:
/// each block with the scenario's domains it matches.
fn read_providers(
    r: &mut Reader,
    node: &Node,
    path: &str,
    hosts: &[HostSpec],
    domains: &[DomainSpec],
) -> Option<Vec<Provider>> {
    let Kind::Table(entries) = &node.kind else {
        r.type_error(node, path, "a table of name = { match = [...], ... }");
        return None;
    };
    let mut ok = true;
    let mut providers = Vec::new();
    for e in entries {
        let p = format!("{path}.{}", e.key);
        // Both halves are read, so every problem of the block is reported at once.
        let values = read_shape(r, &e.value, &p, Scope::Provider);
        let rules = read_match(r, &e.value, &format!("{p}.match"));
        let (Some(((shape, shared), _)), Some((mx, dom))) = (values, rules) else {
            ok = false;
            continue;
        };
        let members = domains
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                let names: Vec<&str> = match &d.mx {
                    MxAnswer::Records(records) => records
                        .iter()
                        .map(|m| hosts[m.host.index()].id.as_str())
                        .collect(),
                    MxAnswer::Implicit(Some(h)) => vec![hosts[h.index()].id.as_str()],
                    _ => Vec::new(),
                };
                Provider::matches(&d.name, &names, &mx, &dom)
            })
            .map(|(i, _)| DomainId::from_index(i))
            .collect();
        providers.push(Provider {
            name: e.key.clone(),
            members,
            shape,
            provider_max_message_rate: shared,
        });
    }
    ok.then_some(providers)
}

/// A provider's `match` list: its MX suffixes and its domain suffixes (at least one rule).
fn read_match(r: &mut Reader, block: &Node, path: &str) -> Option<(Vec<String>, Vec<String>)> {
    let Kind::Table(fields) = &block.kind else {
        return None;
    };
    let Some(node) = fields.iter().find(|e| e.key == "match").map(|e| &e.value) else {
        let help =
            "e.g. match = [{ mx_suffix = \".google.com\" }, { domain_suffix = \"gmail.com\" }]";
        r.error(
            path,
            block.span.clone(),
            "missing field `match`".into(),
            Some(help.into()),
        );
        return None;
    };
    let items = r.array(node, path)?;
    if items.is_empty() {
        let help = "add { mx_suffix = \"...\" } or { domain_suffix = \"...\" } rules";
        r.error(
            path,
            node.span.clone(),
            "a provider matches nothing without rules".into(),
            Some(help.into()),
        );
        return None;
    }
    let (mut mx, mut dom) = (Vec::new(), Vec::new());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match r.variant(item, &p, &[], &["mx_suffix", "domain_suffix"]) {
            Some((kind, Some(value))) => match r.string(value, &join(&p, kind)) {
                Some(text) if !text.is_empty() => match kind {
                    "mx_suffix" => mx.push(text.to_string()),
                    _ => dom.push(text.to_string()),
                },
                Some(_) => {
                    r.error(
                        &join(&p, kind),
                        value.span.clone(),
                        "an empty suffix matches everything".into(),
                        None,
                    );
                    ok = false;
                }
                None => ok = false,
            },
            _ => ok = false,
        }
    }
    ok.then_some((mx, dom))
}
