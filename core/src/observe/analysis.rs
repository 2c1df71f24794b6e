//! The failure analysis: which hosts and routes are the problem, with which codes, and when.
//!
//! Built from the routing metrics and the observer's attributions, so it names the same hosts
//! the route trace blames ([`super::blame`]). Suspects are ranked by what their failures did
//! to the mail: first the expiries they caused (a message's last failed attempt blamed on
//! them), then the delay they added (each failed contact's cost until the next contact, and
//! each failed attempt's wait until the next try, split between the hosts it blames). A
//! failure that failover absorbed within the attempt adds only the moment it cost (a refused
//! connection: a round trip), so a flaky pool member whose peers carry the mail ranks below
//! the MX whose outage made every message wait. Failures × failure rate breaks ties.

use super::Observer;
use crate::ids::HostId;
use crate::report::{Analysis, CodeShare, Routing, Suspect, SuspectRoute};
use crate::scenario::Scenario;
use std::collections::BTreeMap;

/// Most routes and windows listed per suspect.
const LISTED: usize = 10;

/// The analysis of a run observed by `obs`, whose routing metrics are `routing`.
pub fn analyse(scenario: &Scenario, obs: &Observer, routing: &Routing) -> Analysis {
    // All failed attempts blamed per final code, to give each host its share.
    let mut per_code: BTreeMap<String, f64> = BTreeMap::new();
    for i in 0..scenario.hosts.len() {
        for (r, n) in obs.caused(HostId::from_index(i)) {
            *per_code.entry(r.code.to_string()).or_insert(0.0) += n;
        }
    }
    let failed = obs.failed_attempts();
    let mut suspects: Vec<(usize, Suspect)> = routing
        .hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| h.failures_caused > 0 || h.failed_attempts_caused > 0.0)
        .map(|(i, h)| {
            let contacts = h.tally.attempts.max(1) as f64;
            let rate = h.failures_caused as f64 / contacts;
            let own: u64 = h.tally.failures.values().sum();
            let mut dominant: Vec<CodeShare> = h
                .tally
                .failures
                .iter()
                .map(|(code, &n)| CodeShare {
                    code: code.clone(),
                    count: n as f64,
                    share: n as f64 / own.max(1) as f64,
                })
                .collect();
            dominant.sort_by(|a, b| b.count.total_cmp(&a.count).then(a.code.cmp(&b.code)));
            let mut caused: Vec<CodeShare> = obs
                .caused(HostId::from_index(i))
                .iter()
                .map(|(r, n)| {
                    let code = r.code.to_string();
                    let all = per_code.get(&code).copied().unwrap_or(0.0);
                    CodeShare {
                        share: if all > 0.0 { n / all } else { 0.0 },
                        code,
                        count: *n,
                    }
                })
                .collect();
            caused.sort_by(|a, b| b.count.total_cmp(&a.count).then(a.code.cmp(&b.code)));
            let mut windows = h.windows.clone();
            windows.sort_by(|a, b| b.failures.cmp(&a.failures).then(a.from_ms.cmp(&b.from_ms)));
            windows.truncate(LISTED);
            windows.sort_by_key(|w| w.from_ms);
            (
                i,
                Suspect {
                    host: h.host.clone(),
                    score: h.delay_forced_ms / 3_600_000.0,
                    expiries_caused: h.expiries_caused,
                    failures_caused: h.failures_caused,
                    failure_rate: rate,
                    failed_attempts_caused: h.failed_attempts_caused,
                    failed_attempts_share: (failed > 0)
                        .then(|| h.failed_attempts_caused / failed as f64),
                    delay_added_ms: h.delay_added_ms,
                    dominant_codes: dominant,
                    caused_codes: caused,
                    windows,
                },
            )
        })
        .collect();
    // Mail lost first, then mail delayed; failures × failure rate only breaks ties (a run
    // where failover absorbed every failure).
    suspects.sort_by(|(i, a), (j, b)| {
        b.expiries_caused
            .total_cmp(&a.expiries_caused)
            .then(b.score.total_cmp(&a.score))
            .then(
                (b.failures_caused as f64 * b.failure_rate)
                    .total_cmp(&(a.failures_caused as f64 * a.failure_rate)),
            )
            .then(i.cmp(j))
    });
    let suspects: Vec<Suspect> = suspects.into_iter().map(|(_, s)| s).collect();
    let mut routes: Vec<SuspectRoute> = routing
        .routes
        .iter()
        .filter(|r| r.tally.successes < r.tally.attempts)
        .map(|r| SuspectRoute {
            route: r.route.clone(),
            failed: r.tally.attempts - r.tally.successes,
            success_rate: r.tally.success_rate,
            delay_added_ms: r.delay_added_ms,
        })
        .collect();
    routes.sort_by(|a, b| {
        b.delay_added_ms
            .total_cmp(&a.delay_added_ms)
            .then(b.failed.cmp(&a.failed))
            .then(a.route.cmp(&b.route))
    });
    routes.truncate(LISTED);
    Analysis {
        culprit: suspects.first().map(|s| s.host.clone()),
        suspects,
        routes,
        origin_443: obs.origin_443(scenario),
        failed_attempts: failed,
    }
}
