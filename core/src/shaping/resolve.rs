//! Which values apply to a site, and which block set each: the one home of the scoping order
//! (`default` → providers → rollup domain blocks → domain-alone blocks), read by the live state
//! ([`super::ShapingState`]) and by `mxsim explain-policy` ([`explain`]).

use super::{Shape, ShapingSpec};
use crate::dns::DomainSpec;
use crate::ids::{DomainId, HostId};
use serde::Serialize;

/// Each domain's site index, and the number of sites, for a queue whose route starts at
/// `relay`.
pub(super) fn sites(
    spec: &ShapingSpec,
    domains: &[DomainSpec],
    relay: Option<HostId>,
) -> (Vec<usize>, usize) {
    let keys = spec.site_keys(domains, relay);
    let mut sites: Vec<_> = keys.iter().collect();
    sites.sort();
    sites.dedup();
    let site_of = keys
        .iter()
        .map(|k| sites.binary_search(&k).expect("every key is a site"))
        .collect();
    (site_of, sites.len())
}

/// One block that applies to a site, in scoping order.
pub(super) struct Scope {
    /// The block's path under `policy.shaping` (`default`, `providers.google`,
    /// `domains."a.example"`).
    pub label: String,
    /// Its values.
    pub shape: Shape,
    /// For a provider: its index (its `provider_max_message_rate` is a counter of its own).
    pub provider: Option<usize>,
}

/// The blocks that apply to `site`, earliest first: a later block's value replaces an
/// earlier one's.
pub(super) fn scopes(
    spec: &ShapingSpec,
    domains: &[DomainSpec],
    site_of: &[usize],
    site: usize,
) -> Vec<Scope> {
    let mut out = vec![Scope {
        label: "default".into(),
        shape: spec.default,
        provider: None,
    }];
    for (k, p) in spec.providers.iter().enumerate() {
        if p.members.iter().any(|d| site_of[d.index()] == site) {
            out.push(Scope {
                label: format!("providers.{}", p.name),
                shape: p.shape,
                provider: Some(k),
            });
        }
    }
    for rollup in [true, false] {
        for d in spec.domains.iter().filter(|d| d.mx_rollup == rollup) {
            if site_of[d.domain.index()] == site {
                out.push(Scope {
                    label: format!("domains.\"{}\"", domains[d.domain.index()].name),
                    shape: d.shape,
                    provider: None,
                });
            }
        }
    }
    out
}

/// One resolved value and the block that set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The key (`max_message_rate`, `provider_max_message_rate`).
    pub key: String,
    /// Its value (`100/1m`), or `unset`.
    pub value: String,
    /// The block under `policy.shaping` that set it (`domains."a.example"`), or `none`.
    pub from: String,
}

/// What shaping applies to mail for one domain (`mxsim explain-policy`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The domain asked about.
    pub domain: String,
    /// The domains sharing its site (itself included), in scenario order.
    pub site: Vec<String>,
    /// Each value, with the block that set it.
    pub settings: Vec<Setting>,
}

/// The shaping values for mail to `domain` and where each comes from.
pub fn explain(
    spec: &ShapingSpec,
    domains: &[DomainSpec],
    relay: Option<HostId>,
    domain: DomainId,
) -> Explanation {
    let (site_of, _) = sites(spec, domains, relay);
    let site = site_of[domain.index()];
    let scopes = scopes(spec, domains, &site_of, site);
    let last = |pick: &dyn Fn(&Scope) -> Option<String>| {
        scopes
            .iter()
            .rev()
            .find_map(|s| pick(s).map(|v| (v, s.label.clone())))
    };
    let setting = |key: &str, found: Option<(String, String)>| {
        let (value, from) = found.unwrap_or_else(|| ("unset".into(), "none".into()));
        Setting {
            key: key.into(),
            value,
            from,
        }
    };
    let mut settings = vec![setting(
        "max_message_rate",
        last(&|s| s.shape.max_message_rate.map(|r| r.to_string())),
    )];
    // Every provider counter applies (they are not replaced by one another).
    for s in &scopes {
        let rate = s
            .provider
            .and_then(|k| spec.providers[k].provider_max_message_rate);
        if let Some(rate) = rate {
            settings.push(setting(
                "provider_max_message_rate",
                Some((rate.to_string(), s.label.clone())),
            ));
        }
    }
    Explanation {
        domain: domains[domain.index()].name.clone(),
        site: (0..domains.len())
            .filter(|&i| site_of[i] == site)
            .map(|i| domains[i].name.clone())
            .collect(),
        settings,
    }
}
