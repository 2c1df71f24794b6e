//! `mxsim compare` end to end: paired intervals against hand-computed per-seed differences,
//! independence from the thread count, named policies, and bad input.

mod common;

use common::binary::{json, mxsim, root, stderr, stdout};

const SHOOTOUT: &str = "scenarios/policy-shootout-443.toml";

fn metric<'a>(c: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

#[test]
fn paired_differences_are_the_mean_of_per_seed_differences() {
    let c = json(&[
        "compare", SHOOTOUT, "--policy", "scenario", "--policy", "every-5m", "--seeds", "4",
        "--json",
    ]);
    assert_eq!(c["seeds"], serde_json::json!([443, 444, 445, 446]));
    // The same numbers from separate runs: the baseline is the scenario's [policy]; every-5m
    // is the named variant, i.e. the scenario with retry = { fixed = "5m" }.
    let dir = std::env::temp_dir().join(format!("mxsim-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let variant = dir.join("every-5m.toml");
    let text = std::fs::read_to_string(root().join(SHOOTOUT))
        .unwrap()
        .replace(
            "preset = \"postfix\"\n",
            "preset = \"postfix\"\nretry = { fixed = \"5m\" }\n",
        );
    std::fs::write(&variant, text).unwrap();
    let mut diffs = Vec::new();
    for seed in ["443", "444", "445", "446"] {
        let a = json(&["run", SHOOTOUT, "--seed", seed, "--json"]);
        let b = json(&["run", variant.to_str().unwrap(), "--seed", seed, "--json"]);
        diffs.push(
            b["attempts"]["per_message"].as_f64().unwrap()
                - a["attempts"]["per_message"].as_f64().unwrap(),
        );
    }
    let m = metric(&c, "attempts_per_message");
    let d = &m["differences"][0]["paired"];
    let mean = diffs.iter().sum::<f64>() / 4.0;
    assert!(
        (d["mean"].as_f64().unwrap() - mean).abs() < 1e-12,
        "{d} vs {mean}"
    );
    // Student t with 3 degrees of freedom: 3.182 · s / √4.
    let s = (diffs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!((d["half_width"].as_f64().unwrap() - 3.182 * s / 2.0).abs() < 1e-9);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_output_does_not_depend_on_the_thread_count() {
    let args = |threads: &'static str| {
        vec![
            "compare",
            "scenarios/flaky-relay-443.toml",
            "--policy",
            "postfix",
            "--policy",
            "exim",
            "--seeds",
            "6",
            "--threads",
            threads,
            "--json",
        ]
    };
    assert_eq!(json(&args("1")), json(&args("2")));
    assert_eq!(json(&args("2")), json(&args("7")));
}

#[test]
fn pairing_narrows_the_interval_on_common_random_numbers() {
    let c = json(&[
        "compare",
        "scenarios/flaky-relay-443.toml",
        "--policy",
        "postfix",
        "--policy",
        "exim",
        "--seeds",
        "20",
        "--json",
    ]);
    // Every metric's paired interval is narrower than the unpaired one on these runs, and on
    // attempts per message by a factor of 3 (which makes the difference significant).
    for m in c["metrics"].as_array().unwrap() {
        let d = &m["differences"][0];
        let (p, u) = (
            d["paired"]["half_width"].as_f64(),
            d["unpaired"]["half_width"].as_f64(),
        );
        if let (Some(p), Some(u)) = (p, u) {
            assert!(p <= u, "{}: paired {p} vs unpaired {u}", m["metric"]);
        }
    }
    let d = &metric(&c, "attempts_per_message")["differences"][0];
    let paired = d["paired"]["half_width"].as_f64().unwrap();
    let unpaired = d["unpaired"]["half_width"].as_f64().unwrap();
    assert!(paired * 3.0 < unpaired, "{paired} vs {unpaired}");
    assert_eq!(d["significant"], true);
    // The text marks it and says what pairing bought.
    let t = stdout(&mxsim(&[
        "compare",
        "scenarios/flaky-relay-443.toml",
        "--policy",
        "postfix",
        "--policy",
        "exim",
        "--seeds",
        "20",
    ]));
    assert!(t.contains("baseline: postfix"), "{t}");
    assert!(t.contains(" *   (unpaired ± "), "{t}");
    assert!(t.contains("× narrower)"), "{t}");
    let csv = stdout(&mxsim(&[
        "compare",
        SHOOTOUT,
        "--policy",
        "scenario",
        "--policy",
        "patient-443",
        "--seeds",
        "3",
        "--csv",
    ]));
    assert!(
        csv.starts_with("metric,policy,mean,low,high,diff_mean"),
        "{csv}"
    );
    assert!(csv.contains("\ndelay_censored_p95,patient-443,"), "{csv}");
}

#[test]
fn bad_compare_input_exits_2_with_a_message() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "compare", SHOOTOUT, "--policy", "postfx", "--policy", "exim",
            ],
            "did you mean `postfix`?",
        ),
        (
            &["compare", SHOOTOUT, "--policy", "exim"],
            "at least two --policy",
        ),
        (
            &[
                "compare", SHOOTOUT, "--policy", "exim", "--policy", "postfix", "--seeds", "1",
            ],
            "--seeds",
        ),
        (
            &[
                "compare",
                SHOOTOUT,
                "--policy",
                "exim",
                "--policy",
                "postfix",
                "--threads",
                "0",
            ],
            "--threads",
        ),
        (
            &[
                "compare",
                "no-such.toml",
                "--policy",
                "exim",
                "--policy",
                "postfix",
            ],
            "cannot read no-such.toml",
        ),
    ];
    for (args, want) in cases {
        let o = mxsim(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn named_policies_are_validated_under_their_own_path() {
    let dir = std::env::temp_dir().join(format!("mxsim-named-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = std::fs::read_to_string(root().join(SHOOTOUT)).unwrap();
    let cases = [
        (
            base.replace("{ fixed = \"1h\" }", "{ fixed = \"-1h\" }"),
            "(policies.patient-443.on_code.\"4.4.3\".fixed)",
        ),
        (
            base.replace("[policies.every-5m]\nretry", "[policies.every-5m]\nretyr"),
            "unknown field `retyr`",
        ),
        (
            base.replace("[policies.every-5m]", "[policies.exim]"),
            "\"exim\" names a preset or the scenario's own policy",
        ),
        (
            base.replace(
                "route = { via = [\"smarthost\"] }",
                "route = { via = [\"smarthst\"] }",
            ),
            "(policies.every-5m)",
        ),
    ];
    for (text, want) in cases {
        let file = dir.join("named.toml");
        std::fs::write(&file, text).unwrap();
        let o = mxsim(&["validate", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains(want), "{want}: {}", stderr(&o));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn readme_compare_excerpt_matches_the_binary() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme
        .split("share, and the network counters the scenario has):\n\n```\n")
        .nth(1)
        .expect("README has the compare excerpt")
        .split("```")
        .next()
        .unwrap();
    let out = stdout(&mxsim(&[
        "compare",
        "scenarios/flaky-relay-443.toml",
        "--policy",
        "postfix",
        "--policy",
        "exim",
        "--seeds",
        "20",
    ]));
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    let verdict = readme
        .split("ends with the answer")
        .nth(1)
        .and_then(|rest| rest.split("```\n").nth(1))
        .expect("README has the verdict excerpt");
    for want in block.lines().chain(verdict.lines()) {
        assert!(
            lines.contains(&want.trim_end()),
            "README line not in the output: {want:?}"
        );
    }
}

#[test]
fn gates_exit_1_on_a_confident_regression_and_write_junit() {
    let dir = std::env::temp_dir().join(format!("mxsim-gates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("gates.xml");
    let base = [
        "compare",
        "scenarios/flaky-relay-443.toml",
        "--policy",
        "postfix",
        "--policy",
        "kumomta",
        "--seeds",
        "20",
    ];
    // kumomta delivers 1.3 points less within the hour, with an interval well beyond -0.5%.
    let mut args = base.to_vec();
    args.extend([
        "--gate",
        "delivered_within_1h:-0.5%",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let o = mxsim(&args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(
        t.contains(
            "FAIL delivered_within_1h:-0.5%: kumomta: -0.0134 [-0.0177, -0.0090], allowed -0.0044"
        ),
        "{t}"
    );
    assert!(t.contains("97.5% confidence"), "{t}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("tests=\"1\" failures=\"1\""), "{xml}");
    assert!(
        xml.contains("<failure message=\"kumomta worse than allowed\" type=\"gate\">"),
        "{xml}"
    );
    // A looser allowance passes, and so does an inconclusive one.
    let mut args = base.to_vec();
    args.extend([
        "--gate",
        "delivered_within_1h:-5%",
        "--gate",
        "delay_p95:+10%",
        "--json",
    ]);
    let v = json(&args);
    let outcomes: Vec<&str> = v["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["pass", "inconclusive"]);
    // Bad gates are bad input.
    for (gate, want) in [
        ("delay_p95:10%", "needs a sign"),
        ("delivered_ratio:+1%", "worse when lower"),
        ("latency:+1%", "unknown metric \"latency\""),
        ("delay_p59:+1%", "did you mean delay_p50"),
        ("generated:+1", "no better direction"),
        // Metrics this scenario cannot measure are invalid input, not a failed gate.
        ("over_capacity:+1", "needs a host with a capacity"),
        ("dns_hit_ratio:-1%", "needs a sender resolver"),
        (
            "delivered_within_2h:-1%",
            "not one of the scenario's SLO times",
        ),
    ] {
        let mut args = base.to_vec();
        args.extend(["--gate", gate]);
        let o = mxsim(&args);
        assert_eq!(o.status.code(), Some(2), "{gate}");
        assert!(stderr(&o).contains(want), "{gate}: {}", stderr(&o));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn precision_adds_seeds_until_every_paired_interval_is_narrow_enough() {
    let base = [
        "compare",
        "scenarios/flaky-relay-443.toml",
        "--policy",
        "postfix",
        "--policy",
        "exim",
        "--seeds",
        "10",
        "--json",
    ];
    let mut args = base.to_vec();
    args.extend(["--precision", "10%", "--max-seeds", "200"]);
    let v = json(&args);
    let p = &v["precision"];
    assert_eq!(p["reached"], true);
    // Seeds double from 10: 10, 20, 40, 80.
    assert_eq!(p["seeds"], 80);
    assert_eq!(v["seeds"].as_array().unwrap().len(), 80);
    assert!(p["widest"][1].as_f64().unwrap() < 0.10);
    // Every paired half-width is below 10% of its baseline mean.
    for m in v["metrics"].as_array().unwrap() {
        let base = m["policies"][0]["mean"].as_f64().unwrap().abs();
        let hw = m["differences"][0]["paired"]["half_width"]
            .as_f64()
            .unwrap();
        assert!(base == 0.0 || hw < 0.10 * base, "{}", m["metric"]);
    }
    // The first 10 seeds' runs are the same runs as a plain 10-seed comparison.
    let mut args = base.to_vec();
    args.extend(["--precision", "0.1%", "--max-seeds", "20"]);
    let v = json(&args);
    assert_eq!(v["precision"]["reached"], false);
    assert_eq!(v["precision"]["seeds"], 20);
    let t = stdout(&mxsim(&[
        "compare",
        "scenarios/flaky-relay-443.toml",
        "--policy",
        "postfix",
        "--policy",
        "exim",
        "--seeds",
        "4",
        "--precision",
        "0.1%",
        "--max-seeds",
        "8",
    ]));
    assert!(
        t.contains("precision 0.10%: NOT reached: --max-seeds stopped it with 8 seeds per policy"),
        "{t}"
    );
    for bad in ["0%", "150%", "abc", "-5%"] {
        let flag = format!("--precision={bad}");
        let o = mxsim(&[
            "compare", SHOOTOUT, "--policy", "exim", "--policy", "postfix", &flag,
        ]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("--precision"), "{bad}: {}", stderr(&o));
    }
}

#[test]
fn expect_seeds_bounds_the_mean_over_seeds_with_its_interval() {
    let dir = std::env::temp_dir().join(format!("mxsim-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("seeds.toml");
    let text = std::fs::read_to_string(root().join("scenarios/flaky-relay-443.toml")).unwrap();
    let expect = "[expect]\nseeds = 5\nattempts_per_message = { max = 1.6 }\n";
    let head = text.split("[expect]").next().unwrap();
    std::fs::write(&file, format!("{head}{expect}")).unwrap();
    let v = json(&["check", file.to_str().unwrap(), "--json"]);
    let verdict = &v[0]["verdicts"][0];
    assert_eq!(verdict["seeds"], 5);
    // The value is the mean of the five seeds' own runs.
    let per_seed: Vec<f64> = (7..12)
        .map(|seed| {
            json(&[
                "run",
                "scenarios/flaky-relay-443.toml",
                "--seed",
                &seed.to_string(),
                "--json",
            ])["attempts"]["per_message"]
                .as_f64()
                .unwrap()
        })
        .collect();
    let mean = per_seed.iter().sum::<f64>() / 5.0;
    assert!((verdict["value"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert!((verdict["interval"]["mean"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert!(verdict["interval"]["half_width"].as_f64().unwrap() > 0.0);
    let t = stdout(&mxsim(&["check", file.to_str().unwrap()]));
    assert!(t.contains("(mean of 5 seeds)"), "{t}");
    // A bound the mean breaks fails with exit 1.
    std::fs::write(
        &file,
        format!("{head}[expect]\nseeds = 5\nattempts_per_message = {{ max = 1.01 }}\n"),
    )
    .unwrap();
    assert_eq!(
        mxsim(&["check", file.to_str().unwrap()]).status.code(),
        Some(1)
    );
    for bad in [
        "seeds = 1",
        "seeds = 0",
        "seeds = 20000",
        "seeds = \"many\"",
    ] {
        std::fs::write(
            &file,
            format!("{head}[expect]\n{bad}\ndelivered_ratio = {{ min = 1 }}\n"),
        )
        .unwrap();
        let o = mxsim(&["validate", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("expect.seeds"), "{bad}: {}", stderr(&o));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
