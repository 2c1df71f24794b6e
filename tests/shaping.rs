//! Traffic shaping (issue 23, first slice): a site's `max_message_rate` is KumoMTA's GCRA,
//! shared by every domain on the site's MX set, and a throttled message waits without an
//! attempt counted (`reference/operator-realism.md` §1.1, §7 row 2).

mod common;

use mxsim_core::trace::TraceKind;
use mxsim_core::Simulation;

/// `n` messages at t = 0, alternating between two domains that share one MX, under
/// `shaping` (a `[policy.shaping]` body); the MX always accepts.
fn burst(n: usize, shaping: &str) -> String {
    let at = vec!["\"0s\""; n].join(", ");
    format!(
        r#"
name = "burst"
seed = 3
[workload]
arrivals = {{ at = [{at}] }}
domains = [{{ name = "a.example", weight = 1.0 }}, {{ name = "b.example", weight = 1.0 }}]
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx"
role = "mx"
[[hosts]]
id = "mx2"
role = "mx"
[[links]]
from = "out"
to = "mx"
latency = "10ms"
[[links]]
from = "out"
to = "mx2"
latency = "10ms"
[[domains]]
name = "a.example"
mx = [{{ preference = 10, host = "mx" }}, {{ preference = 20, host = "mx2" }}]
[[domains]]
name = "b.example"
mx = [{{ preference = 5, host = "mx2" }}, {{ preference = 10, host = "mx" }}]
[policy]
retry = {{ fixed = "5m" }}
[policy.shaping]
{shaping}
"#
    )
}

/// Each message's attempt start times (ms) in a run of `text`.
fn attempts(text: &str) -> (mxsim_core::Report, Vec<Vec<u64>>) {
    let mut sim = Simulation::new(common::load(text));
    sim.record_trace();
    sim.run();
    let r = sim.report();
    let mut starts = vec![Vec::new(); r.outcomes.generated as usize];
    for t in sim.trace() {
        if let TraceKind::Attempt { .. } = t.kind {
            starts[t.message as usize].push(t.t_ms);
        }
    }
    (r, starts)
}

#[test]
fn n_messages_under_l_per_p_deliver_l_plus_t_l_over_p_by_time_t() {
    // Both domains roll up to one site ({mx, mx2}): 10/min is their rate together.
    let (n, l, p) = (300u64, 10u64, 60_000u64);
    let (r, starts) = attempts(&burst(
        n as usize,
        "domains = { \"a.example\" = { max_message_rate = \"10/min\" } }",
    ));
    assert_eq!(r.outcomes.delivered, n);
    // Every message was tried exactly once: waiting for the throttle is not an attempt.
    assert!(starts.iter().all(|s| s.len() == 1), "one attempt each");
    assert_eq!(r.attempts.total, n);
    let mut first: Vec<u64> = starts.iter().map(|s| s[0]).collect();
    first.sort_unstable();
    for t in [0, 1, p / l - 1, p / l, p, 7 * p + 13, 28 * p, 40 * p] {
        let by_t = first.iter().filter(|&&a| a <= t).count() as u64;
        assert_eq!(by_t, n.min(l + t * l / p), "started by {t} ms");
    }
    assert_eq!(r.gated.get("held by max_message_rate"), Some(&(n - l)));
    // The report's site: both domains, its rate, and the waits shaping imposed, which sum to
    // T·m(m+1)/2 for the m = N − L messages held (the k-th waits k·T).
    let sites = &r.queue.sites;
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].domains, ["a.example", "b.example"]);
    assert_eq!(sites[0].max_message_rate.as_deref(), Some("10/min"));
    let m = n - l;
    assert_eq!(sites[0].held, m);
    assert_eq!(sites[0].held_ms, (p / l) * m * (m + 1) / 2);
}

#[test]
fn a_domain_shaped_alone_has_its_own_counter() {
    // b.example alone at 1/min (burst 1); a.example, on the same MX set, keeps the default
    // 100/s, so its messages (fewer than 100) all start at once.
    let mut sim = Simulation::new(common::load(&burst(
        20,
        "default = { max_message_rate = \"100/s\" }\ndomains = { \"b.example\" = { max_message_rate = \"1/min\", mx_rollup = false } }",
    )));
    sim.record_trace();
    sim.run();
    assert_eq!(sim.report().outcomes.delivered, 20);
    let mut to_b = std::collections::BTreeSet::new();
    let mut starts: Vec<(bool, u64)> = Vec::new();
    for t in sim.trace() {
        match &t.kind {
            TraceKind::Arrival { domain, .. } if domain == "b.example" => {
                to_b.insert(t.message);
            }
            TraceKind::Attempt { .. } => starts.push((to_b.contains(&t.message), t.t_ms)),
            _ => {}
        }
    }
    let mut b: Vec<u64> = starts.iter().filter(|s| s.0).map(|s| s.1).collect();
    b.sort_unstable();
    assert!(
        b.len() >= 2 && b.len() < 20,
        "{} messages to b.example",
        b.len()
    );
    // b.example's k-th message starts at exactly k minutes; every a.example message at 0.
    let minutes: Vec<u64> = (0..b.len() as u64).map(|k| k * 60_000).collect();
    assert_eq!(b, minutes);
    assert!(starts.iter().filter(|s| !s.0).all(|s| s.1 == 0));
}

#[test]
fn shaping_off_changes_nothing_and_runs_are_deterministic() {
    let plain = mxsim_core::run(common::load(&burst(50, "")));
    let loose = mxsim_core::run(common::load(&burst(
        50,
        "default = { max_message_rate = \"1000/s\" }",
    )));
    assert_eq!(
        plain.digest, loose.digest,
        "a rate never reached changes nothing"
    );
    let tight = burst(50, "default = { max_message_rate = \"5/min\" }");
    let a = mxsim_core::run(common::load(&tight));
    let b = mxsim_core::run(common::load(&tight));
    assert_eq!(a.digest, b.digest);
    assert_ne!(a.digest, plain.digest);
}

#[test]
fn invalid_shaping_is_reported_with_line_and_column_all_at_once() {
    let text = burst(
        2,
        "default = { max_message_rate = \"10/fortnight\" }\ndomains = { \"a.example\" = { max_message_rate = \"1/s\" }, \"b.example\" = { max_message_rate = \"2/s\" }, \"c.example\" = { max_message_rate = \"1/s\" } }",
    );
    let d = mxsim_core::scenario::load(&text, "s.toml").unwrap_err();
    let shown = d.to_string();
    assert!(shown.contains("unknown period \"fortnight\""), "{shown}");
    assert!(shown.contains("unknown domain \"c.example\""), "{shown}");
    assert!(
        shown.contains("\"a.example\" and \"b.example\" both apply to one site"),
        "{shown}"
    );
    assert!(d.items.iter().all(|i| i.line.is_some()), "{shown}");
}

#[test]
fn the_trace_says_a_throttled_message_was_held_not_failed() {
    let o = common::binary::mxsim(&["trace", "scenarios/shaping-gcra.toml", "--message", "1500"]);
    let t = common::binary::stdout(&o);
    assert!(
        t.contains("held in out's queue before its first attempt: next at 00:10:14.404, wait 9m31s [gated: held by max_message_rate]"),
        "{t}"
    );
    assert!(t.contains("attempt 1 from out's queue → 250 2.0.0"), "{t}");
    assert!(!t.contains("4.4.1"), "a held message has no failure: {t}");
}

/// `burst` with a third domain on its own MX host, `mx3`.
fn burst_with_other_site(n: usize, shaping: &str) -> String {
    burst(n, shaping)
        .replace(
            "[[links]]\nfrom = \"out\"\nto = \"mx\"",
            "[[hosts]]\nid = \"mx3.elsewhere.example\"\nrole = \"mx\"\n[[links]]\nfrom = \"out\"\nto = \"mx3.elsewhere.example\"\nlatency = \"10ms\"\n[[links]]\nfrom = \"out\"\nto = \"mx\"",
        )
        .replace(
            "{ name = \"b.example\", weight = 1.0 }]",
            "{ name = \"b.example\", weight = 1.0 }, { name = \"c.example\", weight = 1.0 }]",
        )
        .replace(
            "[policy]",
            "[[domains]]\nname = \"c.example\"\nmx = [{ preference = 10, host = \"mx3.elsewhere.example\" }]\n[policy]",
        )
}

#[test]
fn a_provider_rate_is_one_counter_for_every_site_it_matches() {
    // mx and mx2 form one site (a, b); mx3 another (c). A provider matching every domain by
    // its suffix holds all three to 6/min together; the sites' own rate (60/min each) binds
    // nothing.
    let shaping = "providers = { everyone = { match = [{ domain_suffix = \".example\" }], max_message_rate = \"60/min\", provider_max_message_rate = \"6/min\" } }";
    let (r, starts) = attempts(&burst_with_other_site(60, shaping));
    assert_eq!(r.outcomes.delivered, 60);
    let mut first: Vec<u64> = starts.iter().map(|s| s[0]).collect();
    first.sort_unstable();
    for t in [0, 9_999, 10_000, 60_000, 300_000, 540_000] {
        let by_t = first.iter().filter(|&&a| a <= t).count() as u64;
        assert_eq!(by_t, 60.min(6 + t * 6 / 60_000), "started by {t} ms");
    }
    // Matched by MX suffix instead, only c.example's site is in the provider: a and b keep
    // their (absent) limits and all start at once.
    let shaping = "providers = { elsewhere = { match = [{ mx_suffix = \".elsewhere.example\" }], provider_max_message_rate = \"1/min\" } }";
    let (r, starts) = attempts(&burst_with_other_site(60, shaping));
    let at_once = starts.iter().filter(|s| s[0] == 0).count() as u64;
    let held = *r.gated.get("held by max_message_rate").unwrap_or(&0);
    assert_eq!(at_once + held, 60);
    assert!(held > 5 && at_once > 30, "{at_once} at once, {held} held");
}

#[test]
fn explain_policy_names_the_site_and_the_block_behind_each_value() {
    // KumoMTA's resolution order on message rates: default 100/s, a provider for every
    // ".example" domain at 50/s (and 200/min shared), a.example's site at 100/min, b.example
    // alone at 1/min.
    let shaping = "default = { max_message_rate = \"100/s\" }\nproviders = { all = { match = [{ domain_suffix = \".example\" }], max_message_rate = \"50/s\", provider_max_message_rate = \"200/min\" } }\ndomains = { \"a.example\" = { max_message_rate = \"100/min\" }, \"b.example\" = { max_message_rate = \"1/min\", mx_rollup = false } }";
    let dir = std::env::temp_dir().join(format!("mxsim-shaping-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("explain.toml");
    std::fs::write(&file, burst_with_other_site(3, shaping)).unwrap();
    let file = file.display().to_string();
    let explain = |domain: &str| common::binary::json(&["explain-policy", &file, domain, "--json"]);
    let a = explain("a.example");
    assert_eq!(
        a["site"],
        serde_json::json!(["a.example"]),
        "b.example left the site"
    );
    assert_eq!(a["settings"][0]["value"], "100/min");
    assert_eq!(a["settings"][0]["from"], "domains.\"a.example\"");
    assert_eq!(a["settings"][1]["key"], "provider_max_message_rate");
    assert_eq!(a["settings"][1]["from"], "providers.all");
    let b = explain("b.example");
    assert_eq!(b["settings"][0]["value"], "1/min");
    assert_eq!(b["settings"][0]["from"], "domains.\"b.example\"");
    let c = explain("c.example");
    assert_eq!(c["settings"][0]["value"], "50/s");
    assert_eq!(c["settings"][0]["from"], "providers.all");
    let text = common::binary::stdout(&common::binary::mxsim(&[
        "explain-policy",
        &file,
        "c.example",
    ]));
    assert!(text.contains("max_message_rate           50/s"), "{text}");
    assert!(text.contains("from policy.shaping.providers.all"), "{text}");
    let o = common::binary::mxsim(&["explain-policy", &file, "d.example"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::binary::stderr(&o).contains("a.example, b.example, c.example"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_readme_explain_policy_excerpt_matches_the_binary() {
    let readme = std::fs::read_to_string(common::binary::root().join("README.md")).unwrap();
    let marker = "$ mxsim explain-policy scenarios/shaping-gcra.toml b.example\n";
    let shown = readme.split(marker).nth(1).expect("README has the excerpt");
    let shown = shown.split("```").next().unwrap();
    let o = common::binary::mxsim(&["explain-policy", "scenarios/shaping-gcra.toml", "b.example"]);
    assert_eq!(shown, common::binary::stdout(&o));
}

#[test]
fn the_analysis_says_the_senders_own_shaping_delayed_the_mail() {
    let o = common::binary::mxsim(&["run", "scenarios/shaping-gcra.toml", "--analyze"]);
    let t = common::binary::stdout(&o);
    assert!(t.contains("  no host failed\n  your own shaping delayed mail, not a destination: site a.example, b.example, c.example (max_message_rate 100/min) held 1449 attempts"), "{t}");
    // Without shaping there is nothing of the kind to say.
    let o = common::binary::mxsim(&["run", "scenarios/flaky-relay-443.toml", "--analyze"]);
    assert!(!common::binary::stdout(&o).contains("your own shaping"));
}
