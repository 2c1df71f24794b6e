//! `mxsim sweep`, `--set`, `--shard K/N` and `mxsim merge` end to end: the grid, thread- and
//! shard-independence of the output, edits equal to written fields, and bad input.

mod common;

use common::binary::{json, mxsim, root, stderr, stdout};
use std::path::PathBuf;

const SHOOTOUT: &str = "scenarios/policy-shootout-443.toml";
const CODE_PARAM: &str =
    "policy.on_code.\"4.4.3\"={ fixed = \"5m\" },{ fixed = \"15m\" },{ fixed = \"1h\" }";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mxsim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sweep_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "sweep",
        SHOOTOUT,
        "--param",
        CODE_PARAM,
        "--param",
        "policy.queue_scan=1m,5m",
        "--seeds",
        "4",
        "--pareto",
        "delay_p95,attempts_per_message",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn the_grid_runs_every_combination_and_marks_the_front() {
    let s = json(&sweep_args(&["--json"]));
    let cells = s["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 6);
    assert_eq!(s["seeds"].as_array().unwrap().len(), 4);
    // The first parameter varies slowest.
    assert_eq!(
        cells[0]["values"],
        serde_json::json!(["{ fixed = \"5m\" }", "1m"])
    );
    assert_eq!(
        cells[1]["values"],
        serde_json::json!(["{ fixed = \"5m\" }", "5m"])
    );
    let mean = |c: &serde_json::Value, m: &str| {
        c["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["metric"] == m)
            .unwrap()["mean"]
            .as_f64()
            .unwrap()
    };
    // The front is exactly the cells no other cell beats on both (both lower-is-better).
    for (i, c) in cells.iter().enumerate() {
        let (d, a) = (mean(c, "delay_p95"), mean(c, "attempts_per_message"));
        let beaten = cells.iter().enumerate().any(|(j, o)| {
            let (od, oa) = (mean(o, "delay_p95"), mean(o, "attempts_per_message"));
            j != i && od <= d && oa <= a && (od < d || oa < a)
        });
        assert_eq!(c["pareto"], serde_json::json!(!beaten), "cell {i}");
    }
    // Retrying 4.4.3 more often costs attempts: 5m needs more attempts per message than 1h.
    assert!(mean(&cells[0], "attempts_per_message") > mean(&cells[4], "attempts_per_message"));
    // Each cell equals a compare of the same edits (same seeds, same runs).
    let c = json(&[
        "compare",
        SHOOTOUT,
        "--policy",
        "policy.on_code.\"4.4.3\"={ fixed = \"5m\" },policy.queue_scan=1m",
        "--policy",
        "policy.on_code.\"4.4.3\"={ fixed = \"1h\" },policy.queue_scan=1m",
        "--seeds",
        "4",
        "--json",
    ]);
    let m = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "attempts_per_message")
        .unwrap();
    assert_eq!(
        m["policies"][0]["mean"].as_f64().unwrap(),
        mean(&cells[0], "attempts_per_message")
    );
    assert_eq!(
        m["policies"][1]["mean"].as_f64().unwrap(),
        mean(&cells[4], "attempts_per_message")
    );
}

#[test]
fn sweep_output_is_the_same_on_1_and_2_threads_and_across_3_shards_merged() {
    let one = mxsim(&sweep_args(&["--json", "--threads", "1"]));
    let two = mxsim(&sweep_args(&["--json", "--threads", "2"]));
    assert!(one.status.success(), "{}", stderr(&one));
    assert_eq!(stdout(&one), stdout(&two));
    let dir = temp_dir("shards");
    let mut files = Vec::new();
    // Shards in reverse order, on different thread counts: the merge must not care.
    for k in [3, 1, 2] {
        let shard = format!("{k}/3");
        let threads = if k == 2 { "1" } else { "2" };
        let o = mxsim(&sweep_args(&["--shard", &shard, "--threads", threads]));
        assert!(o.status.success(), "{}", stderr(&o));
        let f = dir.join(format!("s{k}.json"));
        std::fs::write(&f, &o.stdout).unwrap();
        files.push(f.display().to_string());
    }
    let mut merge: Vec<&str> = vec!["merge"];
    merge.extend(files.iter().map(String::as_str));
    let merged = mxsim(&[merge.as_slice(), &["--json"]].concat());
    assert!(merged.status.success(), "{}", stderr(&merged));
    assert_eq!(stdout(&merged), stdout(&one));
    // The text and CSV forms too.
    let text = mxsim(&sweep_args(&[]));
    assert_eq!(stdout(&mxsim(&merge)), stdout(&text));
    assert!(stdout(&text).contains("* the Pareto front of delay_p95 and attempts_per_message"));
    let csv = mxsim(&sweep_args(&["--csv"]));
    assert_eq!(
        stdout(&mxsim(&[merge.as_slice(), &["--csv"]].concat())),
        stdout(&csv)
    );

    // A missing shard, a shard twice, and a shard of another experiment are refused.
    let o = mxsim(&["merge", &files[0], &files[1]]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing shards 2/3"), "{}", stderr(&o));
    let o = mxsim(&["merge", &files[0], &files[0], &files[1], &files[2]]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("given twice"), "{}", stderr(&o));
    let other = mxsim(&[
        "sweep",
        SHOOTOUT,
        "--param",
        "policy.queue_scan=1m,5m",
        "--seeds",
        "4",
        "--shard",
        "2/3",
    ]);
    let f = dir.join("other.json");
    std::fs::write(&f, &other.stdout).unwrap();
    let o = mxsim(&["merge", &files[0], &files[1], &f.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("another experiment"), "{}", stderr(&o));
    let o = mxsim(&["merge", "Cargo.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a shard file"), "{}", stderr(&o));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn compare_shards_merge_into_the_unsharded_comparison_with_its_gates() {
    let base = [
        "compare",
        SHOOTOUT,
        "--policy",
        "scenario",
        "--policy",
        "patient-443",
        "--seeds",
        "5",
        "--gate",
        "delay_p95:+10%",
    ];
    let whole = mxsim(&[base.as_slice(), &["--json"]].concat());
    // patient-443 is worse on p95 delay by far more than 10%: the gate fails (exit 1).
    assert_eq!(whole.status.code(), Some(1), "{}", stderr(&whole));
    let dir = temp_dir("compare-shards");
    let mut merge = vec!["merge".to_string()];
    for k in 1..=2 {
        let o = mxsim(&[base.as_slice(), &["--shard", &format!("{k}/2")]].concat());
        assert!(o.status.success(), "a shard checks no gate: {}", stderr(&o));
        let f = dir.join(format!("c{k}.json"));
        std::fs::write(&f, &o.stdout).unwrap();
        merge.push(f.display().to_string());
    }
    merge.push("--json".into());
    let args: Vec<&str> = merge.iter().map(String::as_str).collect();
    let merged = mxsim(&args);
    assert_eq!(merged.status.code(), Some(1));
    assert_eq!(stdout(&merged), stdout(&whole));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_edit_runs_exactly_like_the_written_field() {
    let dir = temp_dir("set");
    let text = std::fs::read_to_string(root().join(SHOOTOUT)).unwrap();
    let edited = text.replace(
        "route = { via = [\"smarthost\"] }",
        "route = { via = [\"smarthost\"] }\nqueue_lifetime = \"30m\"",
    );
    assert_ne!(text, edited);
    let file = dir.join("edited.toml");
    std::fs::write(&file, edited).unwrap();
    let by_file = json(&["run", &file.display().to_string(), "--json"]);
    let by_set = json(&[
        "run",
        SHOOTOUT,
        "--set",
        "policy.queue_lifetime=30m",
        "--json",
    ]);
    assert_eq!(by_file["digest"], by_set["digest"]);
    let plain = json(&["run", SHOOTOUT, "--json"]);
    assert_ne!(plain["digest"], by_set["digest"]);
    // A host picked by its id; the failure model replaced whole.
    let host = json(&[
        "run",
        SHOOTOUT,
        "--set",
        "hosts[mx.example.com].failure={ bernoulli = { p = 0.5 } }",
        "--json",
    ]);
    assert!(host["outcomes"]["delivered"].as_u64().unwrap() > 0);
    assert_ne!(host["digest"], plain["digest"]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn compare_plots_draw_overlaid_cdfs_and_differences() {
    let dir = temp_dir("compare-plot");
    let o = mxsim(&[
        "compare",
        SHOOTOUT,
        "--policy",
        "scenario",
        "--policy",
        "patient-443",
        "--seeds",
        "3",
        "--plot",
        &dir.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cdf = std::fs::read_to_string(dir.join("compare-delay-cdf.svg")).unwrap();
    assert!(
        cdf.contains("patient-443") && cdf.contains("<polyline"),
        "{cdf}"
    );
    let diff = std::fs::read_to_string(dir.join("compare-differences.svg")).unwrap();
    assert!(diff.contains("delay_censored_p95") && diff.contains("<circle"));
    let o = mxsim(&[
        "sweep",
        SHOOTOUT,
        "--param",
        "policy.queue_scan=1m,5m",
        "--seeds",
        "2",
        "--pareto",
        "delay_p95,attempts_per_message",
        "--plot",
        &dir.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let front = std::fs::read_to_string(dir.join("sweep-pareto.svg")).unwrap();
    assert!(front.contains("Pareto front"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_params_sets_and_shards_exit_2_naming_the_problem() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["sweep", SHOOTOUT, "--param", "policy.retry"],
            "no `=` between the path and its values",
        ),
        (
            &["sweep", SHOOTOUT, "--param", "policy..retry=1m"],
            "bad path `policy..retry`",
        ),
        (
            &["sweep", SHOOTOUT, "--param", "policy.retyr.fixed=1m,5m"],
            "retyr",
        ),
        (
            &[
                "sweep",
                SHOOTOUT,
                "--param",
                "hosts[mx.example.org].failure={ bernoulli = { p = 0.5 } }",
            ],
            "did you mean `mx.example.com`?",
        ),
        (
            &["sweep", SHOOTOUT, "--param", "policy.queue_scan=1m,soon,0s"],
            "cell policy.queue_scan=soon",
        ),
        (
            &["sweep", SHOOTOUT, "--param", "policy.queue_scan=1m,,5m"],
            "an empty value",
        ),
        (
            &[
                "sweep",
                SHOOTOUT,
                "--param",
                "policy.queue_scan=1m",
                "--pareto",
                "delay_p95",
            ],
            "two different metrics",
        ),
        (
            &[
                "sweep",
                SHOOTOUT,
                "--param",
                "policy.queue_scan=1m",
                "--shard",
                "0/3",
            ],
            "--shard 0/3",
        ),
        (
            &[
                "sweep",
                SHOOTOUT,
                "--param",
                "policy.queue_scan=1m",
                "--shard",
                "4/3",
            ],
            "indices count from 1",
        ),
        (
            &[
                "compare", SHOOTOUT, "--policy", "scenario", "--policy", "exim", "--shard", "x",
            ],
            "--shard x",
        ),
        (
            &[
                "compare",
                SHOOTOUT,
                "--policy",
                "scenario",
                "--policy",
                "exim",
                "--shard",
                "1/2",
                "--precision",
                "5%",
            ],
            "--precision",
        ),
        (
            &[
                "compare",
                SHOOTOUT,
                "--policy",
                "scenario",
                "--policy",
                "patent-443:policy.queue_scan=1m",
            ],
            "did you mean `patient-443`?",
        ),
        (
            &[
                "sweep",
                SHOOTOUT,
                "--param",
                "policy.queue_scan=1m",
                "--shard",
                "1/2",
                "--json",
            ],
            "cannot be used with",
        ),
        (&["run", SHOOTOUT, "--set", "seed"], "not PATH=VALUE"),
        (&["run", SHOOTOUT, "--set", "hosts.role=mx"], "is an array"),
        (
            &["run", SHOOTOUT, "--set", "policy.queue_lifetime=-1"],
            "policy.queue_lifetime",
        ),
    ];
    for (args, want) in cases {
        let o = mxsim(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    // Every invalid cell is listed with its values, and nothing runs.
    let o = mxsim(&[
        "sweep",
        SHOOTOUT,
        "--param",
        "policy.queue_scan=soon,1m,later",
    ]);
    let e = stderr(&o);
    assert!(
        e.contains("cell policy.queue_scan=soon") && e.contains("cell policy.queue_scan=later"),
        "{e}"
    );
    assert!(
        e.contains("2 of 3 cells are invalid; nothing was run"),
        "{e}"
    );
}

/// The lines of the README's first code block after `marker`.
fn readme_block(marker: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let after = readme
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("README has {marker:?}"));
    let block = after
        .split("```\n")
        .nth(1)
        .expect("a code block follows the marker");
    let lines: Vec<String> = block.lines().map(|l| l.trim_end().to_string()).collect();
    assert!(
        lines.len() >= 4,
        "README block after {marker:?} is too short: {lines:?}"
    );
    lines
}

fn assert_lines_in(block: &[String], out: &str) {
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    for want in block {
        assert!(
            lines.contains(&want.as_str()),
            "README line not in the output: {want:?}\n{out}"
        );
    }
}

#[test]
fn readme_4_4_3_comparison_and_sweep_excerpts_match_the_binary() {
    let block = readme_block(
        "mxsim compare scenarios/flaky-relay-443.toml --policy 'policy.on_code={}' --policy scenario --seeds 30\n```\n",
    );
    let out = mxsim(&[
        "compare",
        "scenarios/flaky-relay-443.toml",
        "--policy",
        "policy.on_code={}",
        "--policy",
        "scenario",
        "--seeds",
        "30",
    ]);
    assert_lines_in(&block, &stdout(&out));
    let block = readme_block(
        "--seeds 20 --pareto delay_censored_p95,attempts_per_message --plot out/\n```\n",
    );
    let out = mxsim(&[
        "sweep",
        "scenarios/flaky-relay-443.toml",
        "--param",
        "policy.on_code.\"4.4.3\".fixed=5m,15m,30m,1h,2h,4h",
        "--seeds",
        "20",
        "--pareto",
        "delay_censored_p95,attempts_per_message",
    ]);
    assert_lines_in(&block, &stdout(&out));
}
