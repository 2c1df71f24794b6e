//! Verdicts a CI gate can rely on (issue 22): each test is named after the item it pins, and
//! each failed on the code before the fix.

mod common;

use common::binary::{json, mxsim, root, stderr, stdout};
use std::process::{Command, Stdio};

const FLAKY: &str = "scenarios/flaky-relay-443.toml";

/// The issue's example of a policy that drops mail: the flaky relay's own policy against the
/// same with a 30-minute queue lifetime, on 10 seeds.
const DROPPING_MAIL: [&str; 8] = [
    "compare",
    FLAKY,
    "--policy",
    "scenario",
    "--policy",
    "policy.queue_lifetime=30m",
    "--seeds",
    "10",
];

/// `mxsim compare` on [`DROPPING_MAIL`] with `extra` arguments.
fn dropping_mail(extra: &[&str]) -> std::process::Output {
    mxsim(&[&DROPPING_MAIL[..], extra].concat())
}

/// Runs `mxsim args…` with stdout sent to `out`.
fn mxsim_to(args: &[&str], out: Stdio) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mxsim"))
        .args(args)
        .current_dir(root())
        .stdout(out)
        .stderr(Stdio::piped())
        .output()
        .expect("the mxsim binary runs")
}

fn full_disk() -> Stdio {
    Stdio::from(std::fs::File::create("/dev/full").expect("Linux has /dev/full"))
}

#[test]
fn item_1_the_exit_status_is_the_verdict_whatever_happens_to_stdout() {
    // A failed bound exits 1 even when stdout cannot be written (it used to exit 0).
    let failing = ["check", FLAKY, "--set", "policy.queue_lifetime=30m"];
    let o = mxsim_to(&failing, full_disk());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write to standard output"),
        "{}",
        stderr(&o)
    );
    // A passing check whose report is lost is an error, not a pass.
    let o = mxsim_to(&["check", FLAKY], full_disk());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Same for compare with a failing gate.
    let o = mxsim_to(
        &[&DROPPING_MAIL[..], &["--gate", "delivered_ratio:-1%"]].concat(),
        full_disk(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // A closed pipe after a failed verdict still exits 1 (`mxsim check F | true`).
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxsim"))
        .args(failing)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(1));
    // A closed pipe after a pass is quiet and 0 (`mxsim check F | head -c0`).
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxsim"))
        .args(["check", FLAKY])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
}

#[test]
fn item_2_a_run_cut_by_a_limit_is_never_silently_judged() {
    let cut = ["check", FLAKY, "--set", "limits.events_max=50"];
    let o = mxsim(&cut);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("inconclusive: the bounds of scenarios/flaky-relay-443.toml are judged on 1 cut run: seed 7: run cut by events_max at "),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("INCONCLUSIVE delivered_ratio"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("PASS"), "{}", stdout(&o));
    // Every output form says why: JSON, CSV and JUnit.
    let o = mxsim(&[&cut[..], &["--json"]].concat());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["cut"]["limit"], "events_max");
    assert_eq!(v[0]["pass"], false);
    assert!(v[0]["inconclusive"]
        .as_str()
        .unwrap()
        .contains("events_max"));
    let o = mxsim(&[&cut[..], &["--csv"]].concat());
    assert!(stdout(&o)
        .lines()
        .nth(1)
        .unwrap()
        .contains("run cut by events_max"));
    let junit = std::env::temp_dir().join(format!("mxsim-cut-{}.xml", std::process::id()));
    let o = mxsim(&[&cut[..], &["--junit", junit.to_str().unwrap()]].concat());
    assert_eq!(o.status.code(), Some(2));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<error message=\"inconclusive: "), "{xml}");
    assert!(xml.contains("failures=\"0\" errors=\"5\""), "{xml}");
    std::fs::remove_file(&junit).unwrap();
    // Opting in judges the cut run as it is.
    let o = mxsim(&[&cut[..], &["--allow-cut"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("CUT seed 7: run cut by events_max"),
        "{}",
        stdout(&o)
    );
    // compare: runs cut at different simulated times are not paired silently.
    let compare = [
        "compare",
        FLAKY,
        "--policy",
        "scenario",
        "--policy",
        "postfix",
        "--seeds",
        "3",
        "--set",
        "limits.events_max=2000",
    ];
    let o = mxsim(&compare);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("CUT: 6 runs stopped by a limit"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("inconclusive: the comparison is judged on 6 cut runs"));
    let o = mxsim(&[&compare[..], &["--json", "--allow-cut"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["cut_runs"].as_array().unwrap().len(), 6);
}

#[test]
fn item_2_a_workload_cut_by_messages_max_is_a_cut() {
    use mxsim_core::report::Limit;
    // 100 messages an hour for an hour against a limit of 100: some seeds draw more.
    let text = common::one_mx(
        "[limits]\nmessages_max = 100",
        "{ poisson_per_hour = 100, for = \"1h\" }",
        "",
        "retry = { fixed = \"5m\" }",
    );
    let (mut cut, mut whole) = (0, 0);
    for seed in 0..20 {
        let mut s = common::load(&text);
        s.seed = seed;
        let r = mxsim_core::run(s);
        match r.cut {
            Some(c) => {
                assert_eq!(c.limit, Limit::MessagesMax);
                assert_eq!(r.outcomes.generated, 100, "the limit was reached");
                assert!(
                    c.at_ms < 3_600_000,
                    "the refused arrival is inside the window"
                );
                cut += 1;
            }
            None => {
                assert!(r.outcomes.generated <= 100);
                whole += 1;
            }
        }
    }
    assert!(cut > 0 && whole > 0, "{cut} cut, {whole} whole");
}

#[test]
fn item_3_delay_metrics_cannot_reward_dropping_mail() {
    // The delivered-only gate passes, but says why it should not be trusted.
    let o = dropping_mail(&["--gate", "delay_p95:+0%"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("note: delay_p95 counts delivered mail only, and policy.queue_lifetime=30m delivered 22.85 pp less"),
        "{}",
        stdout(&o)
    );
    // The censored gate fails: the candidate never delivers 95% of its mail.
    let o = dropping_mail(&["--gate", "delay_censored_p95:+0%"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(t.contains("FAIL delay_censored_p95:+0%"), "{t}");
    // The verdict, by default, counts undelivered mail as late, and no delivered-only delay
    // calls the candidate better.
    let verdict = t.split("Verdict against").nth(1).unwrap();
    assert!(
        verdict.contains("delay_censored_p95 not reached in 10 of 10 seeds"),
        "{verdict}"
    );
    let better = verdict.lines().find(|l| l.contains("better:"));
    assert!(better.is_none_or(|l| !l.contains("delay")), "{verdict}");
    // In JSON: a certain difference with an infinite (null) interval, verdict worse.
    let v = json(&[&DROPPING_MAIL[..], &["--json"]].concat());
    let m = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "delay_censored_p95")
        .unwrap();
    assert_eq!(m["censored"], true);
    assert_eq!(m["undefined"], serde_json::json!([0, 10]));
    assert_eq!(m["differences"][0]["verdict"], "worse");
    assert!(m["differences"][0]["paired"]["mean"].is_null());
    // A sweep shows censored delays too, "not reached" where mail expired.
    let o = mxsim(&[
        "sweep",
        FLAKY,
        "--param",
        "policy.queue_lifetime=30m,5d",
        "--seeds",
        "3",
    ]);
    assert!(stdout(&o).contains("not reached in 3/3"), "{}", stdout(&o));
    // A plot of an infinite difference is drawn without it (it used to hang).
    let dir = std::env::temp_dir().join(format!("mxsim-inf-plot-{}", std::process::id()));
    let o = dropping_mail(&["--plot", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(dir.join("compare-differences.svg")).unwrap();
    assert!(svg.contains("delay_censored_p95 (not reached: ∞)"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A scenario file with `extra` appended, in a temporary directory.
fn scenario_with(name: &str, base: &str, extra: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mxsim-verdicts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let text = std::fs::read_to_string(root().join(base)).unwrap();
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path
}

#[test]
fn item_4_one_metric_registry_for_expect_gates_and_help() {
    // [expect] delay_mean used to be refused; --gate delay_p90 used to be refused.
    let text = std::fs::read_to_string(root().join(FLAKY)).unwrap();
    let with_mean = text.replace(
        "[expect]\n",
        "[expect]\ndelay_mean = { max = \"1h\" }\ndelay_censored_p95 = { max = \"6h\" }\n",
    );
    assert_ne!(with_mean, text, "the scenario has an [expect] table");
    let path = scenario_with("mean.toml", FLAKY, "");
    std::fs::write(&path, with_mean).unwrap();
    let o = mxsim(&["check", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("PASS delay_mean = "), "{}", stdout(&o));
    let o = mxsim(&[
        "compare",
        FLAKY,
        "--policy",
        "scenario",
        "--policy",
        "postfix",
        "--seeds",
        "3",
        "--gate",
        "delay_p90:+1h",
    ]);
    assert!(o.status.code() != Some(2), "{}", stderr(&o));
    // A bound the scenario cannot measure is invalid input naming the line and what is missing.
    let no_capacity = text.replace("[expect]\n", "[expect]\nover_capacity = { max = 0 }\n");
    std::fs::write(&path, no_capacity).unwrap();
    let o = mxsim(&["check", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(
        e.contains("cannot bound over_capacity needs a host with a capacity"),
        "{e}"
    );
    assert!(e.contains("mean.toml:"), "{e}");
    // Unknown names list the valid ones, from the registry.
    let bad = text.replace("[expect]\n", "[expect]\ndelay_p59 = { max = \"1h\" }\n");
    std::fs::write(&path, bad).unwrap();
    let e = stderr(&mxsim(&["check", path.to_str().unwrap()]));
    assert!(
        e.contains("delay_p50") && e.contains("delay_censored_p95"),
        "{e}"
    );
    std::fs::remove_file(&path).unwrap();
    // `mxsim metrics` prints the registry; its JSON is what the browser reads.
    let v = json(&["metrics", "--json"]);
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for name in [
        "delay_mean",
        "delay_p90",
        "delay_censored_p95",
        "over_capacity",
    ] {
        assert!(names.contains(&name), "{name}");
        // Every name the registry has, a gate takes or refuses for a stated reason.
        let o = mxsim(&[
            "compare",
            FLAKY,
            "--policy",
            "scenario",
            "--policy",
            "postfix",
            "--seeds",
            "2",
            "--gate",
            &format!("{name}:+1%"),
        ]);
        if name == "over_capacity" {
            assert!(
                stderr(&o).contains("needs a host with a capacity"),
                "{}",
                stderr(&o)
            );
        } else {
            assert_ne!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        }
    }
}

#[test]
fn item_3_the_readme_excerpt_on_dropping_mail_matches_the_binary() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme
        .split("--seeds 10 --gate delay_censored_p95:+0%\n```\n\n```\n")
        .nth(1)
        .expect("README has the dropping-mail excerpt")
        .split("```")
        .next()
        .unwrap();
    let o = dropping_mail(&["--gate", "delay_censored_p95:+0%"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    for want in block.lines() {
        assert!(
            lines.contains(&want.trim_end()),
            "README line not in the output: {want:?}"
        );
    }
}

/// The issue's pool: relay-good and relay-flaky (bernoulli 0.5) in a failover pool in front of
/// an MX that is down from 3 h to 4 h; fixed 15-minute retries.
const POOL_WITH_MX_OUTAGE: &str = r#"name = "pool failover with an MX outage"
seed = 3
duration = "2d"
[workload]
arrivals = { poisson_per_hour = 120, for = "8h" }
domains = [{ name = "example.net" }]
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "relay-good"
role = "relay"
mode = "cut-through"
[[hosts]]
id = "relay-flaky"
role = "relay"
mode = "cut-through"
failure = { bernoulli = { p = 0.5 } }
[[hosts]]
id = "mx"
role = "mx"
failure = { schedule = [{ from = "3h", to = "4h" }] }
[[links]]
from = "out"
to = "relay-good"
[[links]]
from = "out"
to = "relay-flaky"
[[links]]
from = "relay-good"
to = "mx"
[[links]]
from = "relay-flaky"
to = "mx"
[[domains]]
name = "example.net"
mx = [{ preference = 10, host = "mx" }]
[policy]
retry = { fixed = "15m" }
route = { via = [{ pool = ["relay-good", "relay-flaky"] }] }
"#;

#[test]
fn item_6_the_analysis_points_at_the_host_that_delayed_the_mail() {
    let mut sim = mxsim_core::Simulation::new(common::load(POOL_WITH_MX_OUTAGE));
    sim.observe(None);
    sim.run();
    let r = sim.report();
    let a = r.analysis.as_ref().unwrap();
    // The MX's outage made mail wait; relay-flaky's failures were mostly absorbed by failover
    // (it used to be named first: more failures × a higher failure rate).
    assert_eq!(a.culprit.as_deref(), Some("mx"), "{:?}", a.suspects);
    let (mx, flaky) = (&a.suspects[0], &a.suspects[1]);
    assert_eq!(flaky.host, "relay-flaky");
    assert!(
        mx.score > 2.0 * flaky.score,
        "{} vs {}",
        mx.score,
        flaky.score
    );
    assert!(flaky.failures_caused < mx.failures_caused || flaky.failure_rate > mx.failure_rate);
    // Absorbed failures force nothing: the forced delay is at most the delay added.
    let routing = r.routing.as_ref().unwrap();
    for h in &routing.hosts {
        assert!(h.delay_forced_ms <= h.delay_added_ms + 1e-6, "{}", h.host);
    }
    // The 4.4.3 origin names the relay that answered 4.4.3 and the MX beyond it, never a relay
    // "beyond itself", and the origins add up to the 4.4.3 attempts.
    let o = &a.origin_443;
    assert!(o.relay.iter().all(|x| x.relay != x.beyond), "{:?}", o.relay);
    assert!(o.relay.iter().all(|x| x.beyond == "mx"), "{:?}", o.relay);
    let sum: f64 = o.relay.iter().map(|x| x.count).sum();
    assert!((sum - o.total as f64).abs() < 1e-6, "{sum} of {}", o.total);
}

#[test]
fn item_6_expiries_are_blamed_on_the_host_whose_failure_ended_the_message() {
    // A 30-minute lifetime during the MX's hour-long outage: the mail that expires, expires
    // because of the MX.
    let text = POOL_WITH_MX_OUTAGE.replace(
        "retry = { fixed = \"15m\" }",
        "retry = { fixed = \"15m\" }\nqueue_lifetime = \"30m\"",
    );
    let mut sim = mxsim_core::Simulation::new(common::load(&text));
    sim.observe(None);
    sim.run();
    let r = sim.report();
    assert!(r.outcomes.expired > 0);
    let a = r.analysis.as_ref().unwrap();
    let blamed: f64 = a.suspects.iter().map(|s| s.expiries_caused).sum();
    assert!(
        (blamed - r.outcomes.expired as f64).abs() < 1e-6,
        "{blamed} of {}",
        r.outcomes.expired
    );
    assert_eq!(a.culprit.as_deref(), Some("mx"));
}

#[test]
fn item_7_reproduce_lines_keep_the_set_edits_and_repeated_messages_are_traced_once() {
    let o = mxsim(&[
        "check",
        FLAKY,
        "--set",
        "policy.queue_lifetime=30m",
        "--set",
        "name=it's edited",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let t = stdout(&o);
    assert!(
        t.contains("reproduce: mxsim run scenarios/flaky-relay-443.toml --seed 7 --set policy.queue_lifetime=30m --set 'name=it'\\''s edited'"),
        "{t}"
    );
    // `--message 3 --message 1 --message 3` used to invent "still queued" for the repeat.
    let t = stdout(&mxsim(&[
        "trace",
        FLAKY,
        "--message",
        "3",
        "--message",
        "1",
        "--message",
        "3",
    ]));
    let heads: Vec<&str> = t.lines().filter(|l| l.starts_with("message ")).collect();
    assert_eq!(heads.len(), 2, "{t}");
    assert!(heads[0].starts_with("message 3 ") && heads[1].starts_with("message 1 "));
    assert!(!t.contains("still queued"), "{t}");
}

#[test]
fn item_7_duplicate_policies_and_seeds_above_max_seeds_are_invalid_input() {
    let o = mxsim(&[
        "compare", FLAKY, "--policy", "postfix", "--policy", "postfix", "--seeds", "2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--policy postfix is given twice"),
        "{}",
        stderr(&o)
    );
    let o = mxsim(&[
        "compare",
        FLAKY,
        "--policy",
        "postfix",
        "--policy",
        "exim",
        "--seeds",
        "50",
        "--precision",
        "5%",
        "--max-seeds",
        "20",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--seeds 50 is above --max-seeds 20"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn item_7_junit_names_the_culprit_over_seeds_and_keeps_invalid_scenarios() {
    let dir = std::env::temp_dir().join(format!("mxsim-junit7-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(root().join("scenarios/analyze-bad-relay.toml")).unwrap();
    let seeded = dir.join("seeded.toml");
    std::fs::write(&seeded, text.replace("[expect]\n", "[expect]\nseeds = 3\n")).unwrap();
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "name = \"broken\"\nseed = 1\n").unwrap();
    let junit = dir.join("out.xml");
    let o = mxsim(&[
        "check",
        seeded.to_str().unwrap(),
        broken.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    // The invalid scenario is invalid input, and the JUnit file is still written, with an
    // error case for it and the other scenario's cases.
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("PASS culprit = \"relay-c\""),
        "{}",
        stdout(&o)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<error message=\"error: "), "{xml}");
    assert!(xml.contains("type=\"invalid\""), "{xml}");
    // The culprit case says what the text says: named first in every seed.
    assert!(
        xml.contains("expected relay-c; the analysis names it first in 100% of 3 seeds"),
        "{xml}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn item_7_compare_csv_has_a_row_per_gate() {
    let o = dropping_mail(&["--gate", "delivered_ratio:-1%", "--csv"]);
    assert_eq!(o.status.code(), Some(1));
    let t = stdout(&o);
    assert!(
        t.lines().next().unwrap().ends_with(",cut_runs,gate_limit"),
        "{t}"
    );
    let row = t
        .lines()
        .find(|l| l.starts_with("gate:delivered_ratio:-1%,policy.queue_lifetime=30m,"))
        .unwrap_or_else(|| panic!("no gate row: {t}"));
    assert!(row.contains(",fail,"), "{row}");
}

#[test]
fn item_7_a_refused_field_has_no_follow_on_errors() {
    let text = std::fs::read_to_string(root().join(FLAKY)).unwrap();
    for (from, to, want) in [
        (
            "role = \"sender\"",
            "role = \"sendr\"",
            "unknown role \"sendr\"",
        ),
        (
            "weight = 1.0 }]",
            "weight = -1 }]",
            "weight must be between 0",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        let path = scenario_with("follow-on.toml", FLAKY, "");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let o = mxsim(&["validate", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        let e = stderr(&o);
        assert!(e.contains(want), "{e}");
        // The one problem, not "no host has role sender" / "no positive weight" besides.
        assert!(e.contains("1 problem found"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn item_7_the_trace_file_is_bounded_by_a_declared_limit() {
    let dir = std::env::temp_dir().join(format!("mxsim-trace-limit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("trace.jsonl");
    let o = mxsim(&[
        "run",
        FLAKY,
        "--trace",
        file.to_str().unwrap(),
        "--trace-limit",
        "100kB",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("the trace reached --trace-limit (100000 bytes)"),
        "{e}"
    );
    assert!(e.contains("raise it (e.g. --trace-limit 8GiB)"), "{e}");
    // One batch of records at most past the limit (a batch is 100 000 events).
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 100_000 && size < 40_000_000, "{size}");
    // The default limit (1 GiB) lets the whole run through.
    let o = mxsim(&["run", FLAKY, "--trace", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for bad in ["0", "ten", "5XB"] {
        let o = mxsim(&[
            "run",
            FLAKY,
            "--trace",
            file.to_str().unwrap(),
            "--trace-limit",
            bad,
        ]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("not a size"), "{bad}: {}", stderr(&o));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn item_7_a_retry_budget_parks_held_messages_instead_of_re_polling_them() {
    // retry-storm.toml with Finagle's default budget used to re-poll its held messages until
    // events_max (99.8 M "retry budget exhausted" in 100 M events).
    let r = json(&[
        "run",
        "scenarios/retry-storm.toml",
        "--set",
        "policy.shared={ retry_budget = true }",
        "--json",
    ]);
    assert_eq!(r["stopped_by"], "duration", "{}", r["events"]);
    assert!(r["cut"].is_null());
    let generated = r["outcomes"]["generated"].as_u64().unwrap();
    let held = r["gated"]["retry budget exhausted"].as_u64().unwrap();
    assert!(held > 0, "the budget holds retries back");
    assert!(
        held < 20 * generated,
        "{held} holds for {generated} messages"
    );
    assert!(r["events"].as_u64().unwrap() < 5_000_000, "{}", r["events"]);
}

#[test]
fn item_7_the_user_chooses_which_failures_an_exponential_backoff_counts() {
    let fixture = "tests/fixtures/backoff-counts.toml";
    // Counting every attempt (the default): the first 4.4.1 after 36 on_code retries waits
    // the 4 h cap, and the trace says why.
    let all = stdout(&mxsim(&["trace", fixture, "--message", "0"]));
    assert!(
        all.contains("wait 4h [exponential, retry 37 (counts failures under other rules too)]"),
        "{all}"
    );
    assert!(all.contains("delivered, 11h after arrival"), "{all}");
    // Counting the rule's own streak: the exponential starts again from 5 min.
    let own = ["--set", "policy.backoff_counts=streak"];
    let streak = stdout(&mxsim(
        &[&["trace", fixture, "--message", "0"][..], &own].concat(),
    ));
    assert!(
        streak.contains(
            "wait 5m [exponential, retry 1 of its streak (36 earlier failures not counted)]"
        ),
        "{streak}"
    );
    assert!(
        streak.contains("delivered, 8h15m after arrival"),
        "{streak}"
    );
    // An unknown choice is invalid input naming the valid ones.
    let o = mxsim(&["check", fixture, "--set", "policy.backoff_counts=own"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("policy.backoff_counts") && e.contains("streak"),
        "{e}"
    );
}

/// The backoff-counts fixture edited so that its one message is delivered at 1h0m0.88s.
const ONE_HOUR_AND_A_BIT: [&str; 10] = [
    "--set",
    "policy.retry={fixed=\"1h\"}",
    "--set",
    "policy.on_code={}",
    "--set",
    "hosts[mx1.example.net].failure={schedule=[{from=\"0s\",to=\"1h\"}]}",
    "--set",
    "hosts[relay-a].failure=\"none\"",
    "--set",
    "delivered_within=[\"1h\"]",
];

#[test]
fn item_7_no_rounded_figure_contradicts_an_exact_one() {
    let fixture = "tests/fixtures/backoff-counts.toml";
    let run = |extra: &[&str]| {
        stdout(&mxsim(
            &[&["run", fixture][..], &ONE_HOUR_AND_A_BIT, extra].concat(),
        ))
    };
    // Beside "delivered within 1h 0.00%", the max may not read "1h".
    let t = run(&[]);
    assert!(t.contains("max 1h880ms"), "{t}");
    assert!(
        t.contains("delivered within (share of all messages):   1h 0.00%"),
        "{t}"
    );
    // Without an SLO time to contradict, the figure is rounded as before.
    let t = run(&["--set", "delivered_within=[]"]);
    assert!(t.contains("max 1h "), "{t}");
    // check: a failed bound never shows the value equal to it.
    let o = mxsim(
        &[
            &["check", fixture][..],
            &ONE_HOUR_AND_A_BIT,
            &[
                "--set",
                "expect.delay_max={max=\"1h\"}",
                "--set",
                "expect.delivered_ratio={min=0.99999}",
            ],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(1));
    let t = stdout(&o);
    assert!(
        t.contains("FAIL delay_max = 1h880ms (max 1h; margin -880ms)"),
        "{t}"
    );
    assert!(
        t.contains("PASS delivered_ratio = 1 (min 0.99999; margin +0.00001)"),
        "{t}"
    );
    // The report's metric readings carry the same text for the page.
    let j = json(&[&["run", fixture, "--json"][..], &ONE_HOUR_AND_A_BIT].concat());
    let max = j["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "delay_censored_p99")
        .expect("a censored p99 reading");
    assert_eq!(max["text"], "1h880ms", "{max}");
}

#[test]
fn item_7_a_sweep_over_the_world_groups_cells_by_environment() {
    let o = mxsim(&[
        "sweep",
        FLAKY,
        "--param",
        "policy.on_code.\"4.4.3\".fixed=15m,4h",
        "--param",
        "hosts[mx1.example.net].failure.markov.mean_down=10m,2h",
        "--seeds",
        "2",
        "--pareto",
        "delay_censored_p95,attempts_per_message",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(!t.contains("every cell meets the same failures"), "{t}");
    assert!(
        t.contains("hosts[mx1.example.net].failure.markov.mean_down changes the world"),
        "{t}"
    );
    assert!(t.contains("one front for each of the 2 values"), "{t}");
    // Rows are grouped: both 10m cells, a blank line, both 2h cells.
    let rows: Vec<&str> = t
        .lines()
        .skip_while(|l| !l.contains("delivered_ratio"))
        .skip(1)
        .take(5)
        .collect();
    assert!(
        rows[0].contains(" 10m ") && rows[1].contains(" 10m "),
        "{t}"
    );
    assert!(
        rows[2].is_empty() && rows[3].contains(" 2h ") && rows[4].contains(" 2h "),
        "{t}"
    );
    // Each environment has a front: at least one 2h cell is on it, although the 10m cells
    // beat every 2h cell on delay.
    assert!(rows[3].starts_with('*') || rows[4].starts_with('*'), "{t}");
    // A policy-only sweep still says every cell meets the same failures.
    let t = stdout(&mxsim(&[
        "sweep",
        FLAKY,
        "--param",
        "policy.on_code.\"4.4.3\".fixed=15m,4h",
        "--seeds",
        "2",
    ]));
    assert!(t.contains("every cell meets the same failures"), "{t}");
}
