//! Server retry hints (Postal-style, opt-in): a 4xx reply saying "try again in N seconds" sets
//! the wait to N + 10 s when the policy honours hints.

mod common;

use common::{load, run_traced};
use mxsim_core::trace::TraceKind;

fn scenario(honor: bool) -> String {
    format!(
        r#"
name = "hints"
seed = 9
[workload]
arrivals = {{ at = ["0s"] }}
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "relay"
role = "relay"
retry_hint = "2m"
[[hosts]]
id = "mx"
role = "mx"
failure = {{ schedule = [{{ from = "0s", to = "30m" }}] }}
[[links]]
from = "out"
to = "relay"
[[links]]
from = "relay"
to = "mx"
[[domains]]
name = "example.net"
mx = [{{ preference = 10, host = "mx" }}]
[policy]
retry = {{ fixed = "1h" }}
honor_hints = {honor}
route = {{ via = ["relay"] }}
"#
    )
}

fn deferrals(honor: bool) -> Vec<(u64, u64, String)> {
    run_traced(load(&scenario(honor)))
        .trace()
        .iter()
        .filter_map(|r| match &r.kind {
            TraceKind::Deferred {
                retry_at_ms, rule, ..
            } => Some((r.t_ms, *retry_at_ms, rule.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn honoured_hints_replace_the_backoff() {
    let d = deferrals(true);
    assert!(!d.is_empty());
    for (t, at, rule) in &d {
        assert_eq!(rule, "server hint");
        assert_eq!(at - t, 130_000, "2 minutes + 10 s");
    }
    // 30 minutes of outage / 130 s per try: the 15th try lands after the outage.
    assert_eq!(d.len(), 14);
}

#[test]
fn hints_are_ignored_unless_the_policy_opts_in() {
    let d = deferrals(false);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].1 - d[0].0, 3_600_000);
    // The rule names the backoff family, as `mxsim schedule` does (one rule text).
    assert_eq!(d[0].2, "fixed");
}
