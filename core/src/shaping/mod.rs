//! Per-destination traffic shaping, as KumoMTA scopes it (`reference/operator-realism.md`
//! §1.1): limits belong to a *site*, the set of MX hosts a domain's mail goes to, so every
//! domain sharing an MX set shares one set of counters ("MX rollup": 1 000 Google-hosted
//! domains under a 10/min limit get 10/min together, not 10 000/min).
//!
//! Scoping, later wins: `default` → provider blocks (a site matches when every MX host name
//! of one of its domains ends with a provider's MX suffix, or the domain name with one of its
//! domain suffixes) → domain blocks with `mx_rollup = true` (the default; they apply to the
//! domain's whole site) → domain blocks with `mx_rollup = false` (that domain alone, on a site
//! of its own). A provider block's values still apply per site; only its
//! `provider_max_message_rate` is one counter shared by every matching site. Two rollup blocks on one site are refused by the loader
//! ([`ShapingSpec::aliased`]), as KumoMTA's `aliased_site` check does. A message routed through
//! a relay goes to the relay's site (the smarthost is the destination it connects to).
//!
//! What is shaped so far: `max_message_rate` (GCRA, [`rate`]). A message over the rate waits
//! for the throttle without an attempt counted (KumoMTA re-queues it by exactly `retry_after`,
//! no jitter); traces say "held by max_message_rate". Connection limits and rates, provider
//! blocks, sources and automation are not modelled yet.
//!
//! Invariant: shaping depends only on when attempts are asked for, never on randomness, so
//! policies compared meet the same environment.

pub mod rate;
pub mod resolve;

pub use rate::{Rate, Throttle};
pub use resolve::{explain, Explanation, Setting};

use crate::dns::{DomainSpec, MxAnswer};
use crate::ids::{DomainId, HostId, MessageId};
use crate::time::SimTime;
use std::collections::HashMap;

/// The shaping values of one scope; unset values fall through to the scope below.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// KumoMTA `max_message_rate`: deliveries to the site, GCRA.
    pub max_message_rate: Option<Rate>,
}

impl Shape {
    /// `self` with every value `over` sets replacing its own.
    fn then(self, over: Shape) -> Shape {
        Shape {
            max_message_rate: over.max_message_rate.or(self.max_message_rate),
        }
    }
}

/// A `[policy.shaping.domains."<name>"]` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainShape {
    /// The domain.
    pub domain: DomainId,
    /// Applies to the domain's whole site (true, KumoMTA's default) or to it alone.
    pub mx_rollup: bool,
    /// Its values.
    pub shape: Shape,
}

/// A `[policy.shaping.providers.<name>]` block: what it matches is resolved by the loader
/// ([`Provider::matches`]) into the domains it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// Its name, for reports.
    pub name: String,
    /// The domains it matches.
    pub members: Vec<DomainId>,
    /// Values for each matching site (per site, as KumoMTA applies them).
    pub shape: Shape,
    /// One message rate shared by every matching site.
    pub provider_max_message_rate: Option<Rate>,
}

impl Provider {
    /// Whether a domain named `domain` whose MX hosts are named `mx` matches a provider with
    /// these suffixes: every MX host ends with one of `mx_suffixes`, or the domain with one of
    /// `domain_suffixes` (plain suffix comparison, ASCII case-insensitive, as KumoMTA's
    /// `MXSuffix` and `DomainSuffix`).
    pub fn matches(
        domain: &str,
        mx: &[&str],
        mx_suffixes: &[String],
        domain_suffixes: &[String],
    ) -> bool {
        let ends = |name: &str, suffix: &str| {
            name.len() >= suffix.len()
                && name.is_char_boundary(name.len() - suffix.len())
                && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        };
        let by_mx = !mx.is_empty()
            && !mx_suffixes.is_empty()
            && mx.iter().all(|h| mx_suffixes.iter().any(|s| ends(h, s)));
        by_mx || domain_suffixes.iter().any(|s| ends(domain, s))
    }
}

/// A queue's shaping (`[policy.shaping]`); off when it sets nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShapingSpec {
    /// For every site.
    pub default: Shape,
    /// Provider blocks, in file order.
    pub providers: Vec<Provider>,
    /// Per domain (and, with `mx_rollup`, its site).
    pub domains: Vec<DomainShape>,
}

/// Which site a domain's mail goes to: what its counters are keyed by.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum SiteKey {
    /// The route's first relay.
    Relay(HostId),
    /// The domain's MX hosts, sorted.
    MxSet(Vec<HostId>),
    /// The domain alone (`mx_rollup = false`, or no MX host to share).
    Domain(DomainId),
}

impl ShapingSpec {
    /// True when no scope sets a limit (the simulation then skips shaping entirely).
    pub fn is_off(&self) -> bool {
        self.default == Shape::default()
            && self.domains.iter().all(|d| d.shape == Shape::default())
            && self
                .providers
                .iter()
                .all(|p| p.shape == Shape::default() && p.provider_max_message_rate.is_none())
    }

    /// The site of each of `domains` for a queue whose route starts at `relay`.
    fn site_keys(&self, domains: &[DomainSpec], relay: Option<HostId>) -> Vec<SiteKey> {
        (0..domains.len())
            .map(|i| {
                let id = DomainId::from_index(i);
                let alone = self.domains.iter().any(|d| d.domain == id && !d.mx_rollup);
                match (relay, &domains[i].mx) {
                    (Some(r), _) => SiteKey::Relay(r),
                    (None, _) if alone => SiteKey::Domain(id),
                    (None, MxAnswer::Records(records)) if !records.is_empty() => {
                        let mut hosts: Vec<HostId> = records.iter().map(|r| r.host).collect();
                        hosts.sort();
                        hosts.dedup();
                        SiteKey::MxSet(hosts)
                    }
                    (None, MxAnswer::Implicit(Some(h))) => SiteKey::MxSet(vec![*h]),
                    (None, _) => SiteKey::Domain(id),
                }
            })
            .collect()
    }

    /// Two rollup blocks (indices into `self.domains`) that apply to one site, if any: a
    /// scenario must say which values that site gets.
    pub fn aliased(&self, domains: &[DomainSpec], relay: Option<HostId>) -> Option<(usize, usize)> {
        let keys = self.site_keys(domains, relay);
        let rollups: Vec<(usize, &SiteKey)> = self
            .domains
            .iter()
            .enumerate()
            .filter(|(_, d)| d.mx_rollup)
            .map(|(i, d)| (i, &keys[d.domain.index()]))
            .collect();
        rollups.iter().enumerate().find_map(|(k, &(i, key))| {
            rollups[..k]
                .iter()
                .find(|(_, other)| *other == key)
                .map(|&(j, _)| (j, i))
        })
    }
}

/// Why shaping held a message back, for traces and reports.
pub const HELD_BY_MESSAGE_RATE: &str = "held by max_message_rate";

/// The live shaping state of one queue.
#[derive(Debug)]
pub struct ShapingState {
    /// Site index of each domain.
    site_of: Vec<usize>,
    /// Each site's resolved values.
    shapes: Vec<Shape>,
    /// Each site's message-rate counter.
    throttles: Vec<Throttle>,
    /// Each site's shared provider counters (indices into `provider_rates`).
    site_providers: Vec<Vec<usize>>,
    /// Every provider's `provider_max_message_rate` (`None`: not set) and its counter.
    provider_rates: Vec<(Option<Rate>, Throttle)>,
    /// Messages holding a booked cell: the time it is theirs. NOTE(determinism): only looked
    /// up, never iterated.
    booked: HashMap<MessageId, SimTime>,
    /// Per site: times a message was held, and the waits booked for them (ms).
    held: Vec<(u64, u64)>,
}

/// One shaped site in a run's report: who shares it, its limit, and what shaping cost.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SiteReport {
    /// The domains whose mail goes to it.
    pub domains: Vec<String>,
    /// Its `max_message_rate` (`null`: none).
    pub max_message_rate: Option<String>,
    /// Its providers' shared rates (`name: rate`).
    pub provider_rates: Vec<String>,
    /// Its limits as reports print them (`max_message_rate 100/min, provider rate p: 2/min`):
    /// the CLI's run text, its analysis and the page all show this.
    pub limits: String,
    /// Times an attempt was held back by a rate (no attempt counted).
    pub held: u64,
    /// The waits booked for those holds, summed (ms): the delay shaping itself imposed.
    pub held_ms: u64,
}

impl ShapingState {
    /// The state of a queue with `spec` sending to `domains`, its route starting at `relay`.
    pub fn new(spec: &ShapingSpec, domains: &[DomainSpec], relay: Option<HostId>) -> Self {
        let (site_of, count) = resolve::sites(spec, domains, relay);
        let mut shapes = Vec::with_capacity(count);
        let mut site_providers = Vec::with_capacity(count);
        for site in 0..count {
            let scopes = resolve::scopes(spec, domains, &site_of, site);
            shapes.push(scopes.iter().fold(Shape::default(), |s, b| s.then(b.shape)));
            site_providers.push(
                scopes
                    .iter()
                    .filter_map(|b| b.provider)
                    .filter(|&k| spec.providers[k].provider_max_message_rate.is_some())
                    .collect(),
            );
        }
        ShapingState {
            throttles: vec![Throttle::default(); count],
            site_providers,
            provider_rates: spec
                .providers
                .iter()
                .map(|p| (p.provider_max_message_rate, Throttle::default()))
                .collect(),
            site_of,
            shapes,
            booked: HashMap::new(),
            held: vec![(0, 0); count],
        }
    }

    /// The report of every site that has a limit, in site order.
    pub fn report(&self, spec: &ShapingSpec, domains: &[DomainSpec]) -> Vec<SiteReport> {
        (0..self.shapes.len())
            .filter(|&s| {
                self.shapes[s].max_message_rate.is_some() || !self.site_providers[s].is_empty()
            })
            .map(|s| {
                let max_message_rate = self.shapes[s].max_message_rate.map(|r| r.to_string());
                let provider_rates: Vec<String> = self.site_providers[s]
                    .iter()
                    .filter_map(|&k| {
                        let p = &spec.providers[k];
                        p.provider_max_message_rate
                            .map(|r| format!("{}: {r}", p.name))
                    })
                    .collect();
                let limits = max_message_rate
                    .iter()
                    .map(|m| format!("max_message_rate {m}"))
                    .chain(provider_rates.iter().map(|p| format!("provider rate {p}")))
                    .collect::<Vec<_>>()
                    .join(", ");
                SiteReport {
                    domains: (0..domains.len())
                        .filter(|&d| self.site_of[d] == s)
                        .map(|d| domains[d].name.clone())
                        .collect(),
                    max_message_rate,
                    provider_rates,
                    limits,
                    held: self.held[s].0,
                    held_ms: self.held[s].1,
                }
            })
            .collect()
    }

    /// The resolved values for mail to `domain`.
    pub fn shape_of(&self, domain: DomainId) -> Shape {
        self.shapes[self.site_of[domain.index()]]
    }

    /// Whether message `id` to `domain` may be attempted at `t`. If the site's rate says not
    /// yet, the message is booked the first cell it may have (when `allowed` says an attempt
    /// then is still allowed: its lifetime) and told when: `Err(at)`. A booked message is
    /// let through when it comes back.
    pub fn admit(
        &mut self,
        id: MessageId,
        domain: DomainId,
        t: SimTime,
        allowed: impl FnOnce(SimTime) -> bool,
    ) -> Result<(), SimTime> {
        if let Some(at) = self.booked.remove(&id) {
            if at <= t {
                return Ok(());
            }
            self.booked.insert(id, at);
            return Err(at);
        }
        let site = self.site_of[domain.index()];
        // The first time every counter of the site (its own, its providers') has a cell.
        let own = self.shapes[site].max_message_rate;
        let mut at = own.map_or(t, |rate| self.throttles[site].conforms_at(rate, t));
        for &k in &self.site_providers[site] {
            if let (Some(rate), throttle) = &self.provider_rates[k] {
                at = at.max(throttle.conforms_at(*rate, t));
            }
        }
        let booked = at == t || allowed(at);
        if booked {
            if let Some(rate) = own {
                self.throttles[site].take(rate, at);
            }
            for &k in &self.site_providers[site] {
                if let (Some(rate), throttle) = &mut self.provider_rates[k] {
                    throttle.take(*rate, at);
                }
            }
        }
        if at == t {
            return Ok(());
        }
        self.held[site].0 += 1;
        if booked {
            self.held[site].1 += at.since(t).as_ms();
            self.booked.insert(id, at);
        }
        Err(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::MxRecord;
    use crate::time::SimDuration;

    fn domain(name: &str, mx: &[u32]) -> DomainSpec {
        DomainSpec {
            name: name.into(),
            mx: MxAnswer::Records(
                mx.iter()
                    .map(|&h| MxRecord {
                        preference: 10,
                        host: HostId(h),
                    })
                    .collect(),
            ),
            ttl: SimDuration::from_hours(1),
        }
    }

    fn limited(domain: u32, rate: &str, mx_rollup: bool) -> DomainShape {
        DomainShape {
            domain: DomainId(domain),
            mx_rollup,
            shape: Shape {
                max_message_rate: Some(Rate::parse(rate).unwrap()),
            },
        }
    }

    #[test]
    fn domains_sharing_an_mx_set_share_one_site_and_its_counter() {
        // a and b share MX hosts 1 and 2 (in another order); c has its own.
        let domains = [
            domain("a", &[1, 2]),
            domain("b", &[2, 1]),
            domain("c", &[3]),
        ];
        let spec = ShapingSpec {
            domains: vec![limited(0, "2/min", true)],
            ..ShapingSpec::default()
        };
        let mut s = ShapingState::new(&spec, &domains, None);
        assert_eq!(
            s.shape_of(DomainId(1)),
            s.shape_of(DomainId(0)),
            "b rolls up with a"
        );
        assert_eq!(s.shape_of(DomainId(2)), Shape::default());
        let yes = |_| true;
        assert!(s
            .admit(MessageId(0), DomainId(0), SimTime::ZERO, yes)
            .is_ok());
        assert!(s
            .admit(MessageId(1), DomainId(1), SimTime::ZERO, yes)
            .is_ok());
        // The third cell of the shared site waits 30 s, whichever domain asks.
        assert_eq!(
            s.admit(MessageId(2), DomainId(1), SimTime::ZERO, yes),
            Err(SimTime(30_000))
        );
        assert!(s
            .admit(MessageId(3), DomainId(2), SimTime::ZERO, yes)
            .is_ok());
        // The booked message passes when it comes back; the next one queues behind it.
        assert_eq!(
            s.admit(MessageId(4), DomainId(0), SimTime::ZERO, yes),
            Err(SimTime(60_000))
        );
        assert!(s
            .admit(MessageId(2), DomainId(1), SimTime(30_000), yes)
            .is_ok());
        // A message whose lifetime would end first is not booked: the cell stays free.
        assert_eq!(
            s.admit(MessageId(5), DomainId(0), SimTime::ZERO, |_| false),
            Err(SimTime(90_000))
        );
        assert_eq!(
            s.admit(MessageId(6), DomainId(0), SimTime::ZERO, yes),
            Err(SimTime(90_000))
        );
    }

    #[test]
    fn a_block_without_rollup_applies_to_its_domain_alone_and_wins() {
        let domains = [domain("a", &[1]), domain("b", &[1])];
        let spec = ShapingSpec {
            default: Shape {
                max_message_rate: Some(Rate::parse("100/s").unwrap()),
            },
            domains: vec![limited(0, "10/min", true), limited(1, "1/h", false)],
            ..ShapingSpec::default()
        };
        let s = ShapingState::new(&spec, &domains, None);
        assert_eq!(s.shape_of(DomainId(0)).max_message_rate.unwrap().count, 10);
        assert_eq!(s.shape_of(DomainId(1)).max_message_rate.unwrap().count, 1);
        assert_eq!(spec.aliased(&domains, None), None);
        // Both blocks rolling up to the one site is ambiguous.
        let both = ShapingSpec {
            domains: vec![limited(0, "10/min", true), limited(1, "1/h", true)],
            ..ShapingSpec::default()
        };
        assert_eq!(both.aliased(&domains, None), Some((0, 1)));
        // Through a relay, every domain goes to the relay's site.
        let apart = [domain("a", &[1]), domain("b", &[2])];
        assert_eq!(both.aliased(&apart, None), None);
        assert_eq!(both.aliased(&apart, Some(HostId(5))), Some((0, 1)));
    }

    #[test]
    fn a_provider_rate_is_shared_by_every_matching_site_and_its_values_apply_per_site() {
        let google = [".google.com".to_string()];
        assert!(Provider::matches(
            "a.example",
            &["mx1.Google.com", "alt.google.com"],
            &google,
            &[]
        ));
        assert!(!Provider::matches(
            "a.example",
            &["mx1.google.com", "mx.other.net"],
            &google,
            &[]
        ));
        assert!(Provider::matches(
            "gmail.com",
            &[],
            &[],
            &["gmail.com".into()]
        ));
        // Two sites (MX 1 and MX 2), both in one provider: 2/min shared, 10/min each.
        let domains = [domain("a", &[1]), domain("b", &[2])];
        let spec = ShapingSpec {
            providers: vec![Provider {
                name: "p".into(),
                members: vec![DomainId(0), DomainId(1)],
                shape: Shape {
                    max_message_rate: Some(Rate::parse("10/min").unwrap()),
                },
                provider_max_message_rate: Some(Rate::parse("2/min").unwrap()),
            }],
            ..ShapingSpec::default()
        };
        let mut s = ShapingState::new(&spec, &domains, None);
        assert_eq!(s.shape_of(DomainId(1)).max_message_rate.unwrap().count, 10);
        let yes = |_| true;
        assert!(s
            .admit(MessageId(0), DomainId(0), SimTime::ZERO, yes)
            .is_ok());
        assert!(s
            .admit(MessageId(1), DomainId(1), SimTime::ZERO, yes)
            .is_ok());
        // The provider's two cells are spent: the next waits for its counter, not the site's.
        assert_eq!(
            s.admit(MessageId(2), DomainId(0), SimTime::ZERO, yes),
            Err(SimTime(30_000))
        );
        assert_eq!(
            s.admit(MessageId(3), DomainId(1), SimTime::ZERO, yes),
            Err(SimTime(60_000))
        );
    }
}
