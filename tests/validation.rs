//! Validation behaviour: limits, cross-references and the shape of diagnostics.

mod common;

use mxsim_core::scenario;
use mxsim_core::Simulation;

const BASE: &str = r#"
name = "base"
seed = 1
[workload]
arrivals = { poisson_per_hour = 60, for = "1h" }
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx1"
role = "mx"
[[links]]
from = "out"
to = "mx1"
[[domains]]
name = "example.net"
mx = [{ preference = 10, host = "mx1" }]
"#;

/// Messages of every diagnostic for `text`, or an empty list if it loads.
fn problems(text: &str) -> Vec<String> {
    match scenario::load(text, "t.toml") {
        Ok(_) => Vec::new(),
        Err(d) => d
            .items
            .iter()
            .map(|i| format!("{}: {}", i.path, i.message))
            .collect(),
    }
}

#[test]
fn base_scenario_is_valid() {
    assert_eq!(problems(BASE), Vec::<String>::new());
}

#[test]
fn oversize_workload_is_refused_up_front() {
    let text = BASE.replace(
        "poisson_per_hour = 60, for = \"1h\"",
        "poisson_per_hour = 1000000, for = \"10d\"",
    );
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("workload.arrivals: the workload would generate about 240000000 messages"),
        "{p:?}"
    );
    // Raising the limit in the file accepts it.
    let raised = format!("{text}\n[limits]\nmessages_max = 300000000\n");
    assert_eq!(problems(&raised), Vec::<String>::new());
}

#[test]
fn events_max_stops_a_run_cleanly() {
    let text = format!("{BASE}\n[limits]\nevents_max = 10\n");
    let mut sim = Simulation::new(scenario::load(&text, "t.toml").unwrap());
    sim.run();
    let r = sim.report();
    assert_eq!(r.stopped_by, "events_max");
    assert_eq!(r.events, 10);
    let o = &r.outcomes;
    assert_eq!(o.generated, o.delivered + o.bounced + o.expired + o.queued);
}

#[test]
fn duration_stops_the_clock_and_leaves_messages_queued() {
    let text = BASE
        .replace(
            "role = \"mx\"",
            "role = \"mx\"\nfailure = { schedule = [{ from = \"0s\", to = \"10d\" }] }",
        )
        .replace("seed = 1", "seed = 1\nduration = \"2h\"");
    let r = mxsim_core::run(scenario::load(&text, "t.toml").unwrap());
    assert_eq!(r.stopped_by, "duration");
    assert!(r.end_ms <= 2 * 3_600_000);
    assert_eq!(r.outcomes.delivered, 0);
    assert_eq!(r.outcomes.queued, r.outcomes.generated);
}

#[test]
fn every_problem_is_reported_in_one_pass() {
    let text = BASE
        .replace("role = \"mx\"", "role = \"mxx\"")
        .replace("host = \"mx1\"", "host = \"mx2\"")
        .replace("[[domains]]", "[policy]\nretry = { fixed = \"0s\" }\non_code = { \"4.4\" = { fixed = \"1h\" }, \"4.7.*\" = { exponential = { max = \"5m\" } } }\nroute = { via = [\"out\"] }\n\n[expect]\ndelay_p95 = { max = 5 }\ndelivered_ratio = { min = 0.9, max = 0.5 }\n\n[[domains]]");
    let p = problems(&text);
    let want = [
        "hosts[1].role: unknown role \"mxx\"",
        "domains[0].mx[0].host: unknown host \"mx2\"",
        "policy.retry.fixed: must be longer than zero",
        "policy.on_code.\"4.4\": invalid code pattern \"4.4\"",
        "policy.on_code.\"4.7.*\".exponential.initial: missing field `initial`",
        "policy.route.via[0]: host \"out\" is not a relay",
        "expect.delay_p95.max: expected a duration such as \"6h\", found an integer",
        "expect.delivered_ratio: min (0.9) is above max (0.5)",
    ];
    for w in want {
        assert!(
            p.iter().any(|x| x.starts_with(w)),
            "missing {w:?} in {p:#?}"
        );
    }
    assert!(
        !p.iter().any(|x| x.contains("unknown host \"mx1\"")),
        "a bad role must not cascade: {p:#?}"
    );
}

#[test]
fn json_diagnostics_carry_paths_and_lines() {
    let text = r#"{"name": "j", "seed": 1, "hosts": [{"id": "out", "role": "sender", "failure": {"bernoulli": {"p": 2}}}],
        "domains": [{"name": "x.example"}], "workload": {"arrivals": {"at": ["0s"]}}}"#;
    let err = scenario::load(text, "s.json").unwrap_err();
    let d = err
        .items
        .iter()
        .find(|d| d.path == "hosts[0].failure.bernoulli.p")
        .expect("p is reported");
    assert_eq!((d.line, d.column), (Some(1), Some(99)));
    assert!(d.message.contains("got 2"));
}

#[test]
fn json_duplicate_keys_are_refused_at_their_line() {
    let err =
        scenario::load("{\"name\": \"a\",\n \"seed\": 1,\n \"seed\": 2}", "d.json").unwrap_err();
    assert_eq!(err.items.len(), 1);
    assert_eq!((err.items[0].line, err.items[0].column), (Some(3), Some(2)));
    assert!(err.items[0].message.contains("duplicate key \"seed\""));
}

#[test]
fn syntax_errors_point_at_their_line() {
    let err = scenario::load("name = \"x\"\nseed = \n", "bad.toml").unwrap_err();
    assert_eq!(err.items.len(), 1);
    assert_eq!(err.items[0].line, Some(2));
    assert!(err.to_string().contains("bad.toml:2:"), "{err}");
}

#[test]
fn implicit_and_null_mx_and_nxdomain_are_accepted() {
    let text = format!(
        "{BASE}\n[[domains]]\nname = \"mx1\"\n\n[[domains]]\nname = \"null.example\"\nmx = \"null\"\n\n[[domains]]\nname = \"gone.example\"\nnxdomain = true\n"
    );
    let s = scenario::load(&text, "t.toml").unwrap();
    assert_eq!(s.domains.len(), 4);
    let r = mxsim_core::run(s);
    assert!(r.bounced_by_code.contains_key("5.1.10"));
    assert!(r.bounced_by_code.contains_key("5.1.2"));
    // The domain named like host mx1 resolves to it by implicit MX and is delivered.
    assert!(r.outcomes.delivered > 0);
}

#[test]
fn network_fields_are_checked_with_paths_and_hints() {
    let text = BASE
        .replace(
            "id = \"mx1\"\nrole = \"mx\"",
            "id = \"mx1\"\nrole = \"mx\"\ncapacity = { sessions = 0, reply = \"5.3.2\" }\ndown = \"quiet\"",
        )
        .replace(
            "id = \"out\"\nrole = \"sender\"",
            "id = \"out\"\nrole = \"sender\"\n[[hosts]]\nid = \"r1\"\nrole = \"relay\"\ngreylist = true",
        )
        + "[policy]\nnext_mx = \"any-sfot\"\nroute = { via = [{ pool = [\"r1\", \"mx1\"], choose = \"fastest\" }] }\nconnect = { retries = 2, factor = 0.5 }\nfallback_relay = \"nowhere\"\n";
    let p = problems(&text);
    let want = [
        "hosts[1].greylist: greylisting applies to mx hosts only",
        "hosts[2].down: unknown down behaviour \"quiet\"",
        "hosts[2].capacity.sessions: a host serves at least one session",
        "hosts[2].capacity.reply: \"5.3.2\" is not a transient (4yz 4.x.x) reply",
        "policy.next_mx: unknown next-MX rule \"any-sfot\"",
        "policy.route.via[0].choose: unknown pool strategy \"fastest\"",
        "policy.route.via[0].pool[1]: host \"mx1\" is not a relay",
        "policy.connect.factor",
        "policy.fallback_relay: unknown host \"nowhere\"",
    ];
    for w in want {
        assert!(
            p.iter().any(|m| m.starts_with(w)),
            "missing {w:?} in {p:#?}"
        );
    }
}

#[test]
fn greylist_window_shorter_than_delay_is_refused() {
    let text = BASE.replace(
        "id = \"mx1\"\nrole = \"mx\"",
        "id = \"mx1\"\nrole = \"mx\"\ngreylist = { delay = \"1h\", window = \"10m\" }",
    );
    let p = problems(&text);
    assert_eq!(
        p,
        vec!["hosts[1].greylist: the retry window ends before the delay"]
    );
}

#[test]
fn relay_policies_are_checked_under_their_host_path() {
    let text = BASE.replace(
        "id = \"out\"\nrole = \"sender\"",
        "id = \"out\"\nrole = \"sender\"\n[[hosts]]\nid = \"hub\"\nrole = \"relay\"\nmode = \"store-and-forward\"\npolicy = { retry = { fixd = \"5m\" }, sender = \"out\", route = { via = [\"nope\"] } }\n[[hosts]]\nid = \"ct\"\nrole = \"relay\"\npolicy = { preset = \"postfix\" }",
    );
    let p = problems(&text);
    let want = [
        "hosts[1].policy.retry: unknown kind `fixd`",
        "hosts[1].policy.sender: a relay's queue sends from the relay itself",
        "hosts[1].policy.route.via[0]: unknown host \"nope\"",
        "hosts[2].policy: only a store-and-forward relay has a policy of its own",
    ];
    for w in want {
        assert!(
            p.iter().any(|m| m.starts_with(w)),
            "missing {w:?} in {p:#?}"
        );
    }
}

#[test]
fn issue_9_on_code_patterns_that_can_never_fire_are_refused() {
    for (pattern, why) in [
        ("5.1.1", "a permanent failure bounces"),
        ("55x", "a permanent failure bounces"),
        (
            "4.4.99",
            "no registered enhanced status code matches 4.4.99",
        ),
        ("4.9.*", "no registered enhanced status code matches 4.9.*"),
    ] {
        let text = format!(
            "{}\n[policy.on_code]\n\"{pattern}\" = {{ fixed = \"1h\" }}\n",
            MINIMAL_FOR_ON_CODE
        );
        let err = mxsim_core::scenario::load(&text, "p.toml")
            .expect_err(pattern)
            .to_string();
        assert!(
            err.contains(&format!("on_code pattern \"{pattern}\" can never fire")),
            "{err}"
        );
        assert!(err.contains(why), "{err}");
    }
    // Registered transient patterns still load.
    for pattern in ["4.4.3", "4.7.*", "4.*.*", "421", "45x"] {
        let text = format!(
            "{}\n[policy.on_code]\n\"{pattern}\" = {{ fixed = \"1h\" }}\n",
            MINIMAL_FOR_ON_CODE
        );
        assert!(
            mxsim_core::scenario::load(&text, "p.toml").is_ok(),
            "{pattern}"
        );
    }
}

#[test]
fn issue_9_weights_are_bounded_and_nan_is_refused() {
    let text = MINIMAL_FOR_ON_CODE.replace(
        "[workload]\narrivals = { at = [\"0s\"] }",
        "[workload]\narrivals = { at = [\"0s\"] }\ndomains = [{ name = \"example\", weight = 1e300 }]",
    );
    let err = mxsim_core::scenario::load(&text, "w.toml")
        .expect_err("huge")
        .to_string();
    assert!(
        err.contains("weight must be between 0 and 1000000000, got"),
        "{err}"
    );
    assert!(!err.contains("179769"), "{err}");
    let text = text.replace("1e300", "nan");
    assert!(mxsim_core::scenario::load(&text, "w.toml").is_err());
}

const MINIMAL_FOR_ON_CODE: &str = r#"
name = "x"
seed = 1
[workload]
arrivals = { at = ["0s"] }
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx"
role = "mx"
[[links]]
from = "out"
to = "mx"
[[domains]]
name = "example"
mx = [{ preference = 10, host = "mx" }]
"#;

#[test]
fn issue_9_zero_counts_are_refused_not_read_as_one() {
    for field in [
        "hop_limit = 0",
        "queue = { concurrency = 0 }",
        "queue = { active_limit = 0 }",
        "queue = { concurrency = { initial = 0 } }",
    ] {
        let text = format!("{MINIMAL_FOR_ON_CODE}\n[policy]\n{field}\n");
        let err = mxsim_core::scenario::load(&text, "z.toml")
            .expect_err(field)
            .to_string();
        assert!(err.contains("must be at least 1, got 0"), "{field}: {err}");
    }
}
