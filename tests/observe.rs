//! Observation end to end: route traces, routing metrics, SLO figures, the failure analysis,
//! CSV and JUnit exports, and every new flag's bad values.

mod common;

use common::binary::{json, mxsim, root, scenarios, stdout};

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is a count"))
}

const CHAIN: &str = "tests/fixtures/relay-chain.toml";

#[test]
fn trace_names_the_failing_middle_relay_of_a_three_relay_chain() {
    let v = json(&["trace", CHAIN, "--message", "0", "--json"]);
    let records = v[0]["records"].as_array().unwrap();
    let first = records
        .iter()
        .find(|r| r["kind"] == "attempt")
        .expect("an attempt");
    assert_eq!(first["reply"], "451 4.4.3", "relay-1 cannot forward");
    let hops = first["hops"].as_array().unwrap();
    assert_eq!(hops[0]["host"], "relay-1");
    assert_eq!(hops[0]["reply"], "451 4.4.3");
    assert_eq!(hops[1]["host"], "relay-2");
    assert_eq!(hops[1]["via"], "relay-1");
    assert_eq!(hops[1]["reply"], "451 4.4.1");
    assert_eq!(first["blamed"], serde_json::json!([1]), "the middle relay");
    assert_eq!(v[0]["ending"], "delivered after 1h");
    // The text says the same, hop by hop, with the rule of each wait.
    let t = stdout(&mxsim(&["trace", CHAIN, "--message", "0"]));
    assert!(
        t.contains("relay-2 (via relay-1): 451 4.4.1 [no session]   ← failed here"),
        "{t}"
    );
    assert!(
        t.contains("deferred in out's queue (451 4.4.3): next at 00:40:00.060, wait 30m [fixed]"),
        "{t}"
    );
    assert!(t.contains("mx.example.com (via relay-3): 250 2.0.0"), "{t}");
    // And the analysis blames relay-2, not relay-1 which only reported it.
    let r = json(&["run", CHAIN, "--json"]);
    assert_eq!(r["analysis"]["culprit"], "relay-2");
    let origin = &r["analysis"]["origin_443"]["relay"][0];
    assert_eq!(
        (&origin["relay"], &origin["beyond"]),
        (&"relay-1".into(), &"relay-2".into())
    );
}

#[test]
fn trace_selectors_pick_matching_messages() {
    // --worst: undelivered first, then the longest delay.
    let v = json(&["trace", CHAIN, "--worst", "2", "--json"]);
    assert_eq!(v[0]["message"], 0);
    assert_eq!(v[1]["message"], 1);
    // --code and --host: only message 0 met 4.4.1 at relay-2.
    let v = json(&["trace", CHAIN, "--code", "4.4.1", "--limit", "5", "--json"]);
    assert_eq!(v.as_array().unwrap().len(), 1);
    let v = json(&[
        "trace", CHAIN, "--host", "relay-3", "--limit", "5", "--json",
    ]);
    assert_eq!(
        v.as_array().unwrap().len(),
        2,
        "both messages reached relay-3 at last"
    );
    let v = json(&["trace", CHAIN, "--outcome", "expired", "--json"]);
    assert_eq!(v.as_array().unwrap().len(), 0);
    assert_eq!(
        stdout(&mxsim(&["trace", CHAIN, "--outcome", "bounced"])),
        "no message matches\n"
    );
    // The resolver outage scenario's 4.4.3 messages are DNS-blamed.
    let t = stdout(&mxsim(&[
        "trace",
        "scenarios/analyze-resolver-outage.toml",
        "--code",
        "4.4.3",
    ]));
    assert!(t.contains("DNS: resolver ns1 failed: no MX answer"), "{t}");
    assert!(t.contains("← failed here"), "{t}");
}

#[test]
fn store_and_forward_hops_say_which_queue_each_attempt_belongs_to() {
    let s = "tests/fixtures/store-and-forward.toml";
    let t = stdout(&mxsim(&["trace", s, "--message", "0"]));
    for want in [
        "attempt 1 from out's queue → 250 2.0.0",
        "accepted by store-and-forward relay hub: now in hub's queue",
        "attempt 1 from hub's queue → 451 4.4.1",
        "deferred in hub's queue (451 4.4.1): next at 00:55:00.090, wait 45m [fixed]",
        "attempt 4 from hub's queue → 250 2.0.0",
        "delivered, 2h15m after arrival",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
    let rows = stdout(&mxsim(&["trace", s, "--message", "0", "--csv"]));
    let queues: Vec<&str> = rows
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(queues, ["out", "hub", "hub", "hub", "hub"]);
}

#[test]
fn routing_metrics_add_up_to_the_report() {
    for s in scenarios() {
        let r = json(&["run", &s, "--json"]);
        let routing = &r["routing"];
        let attempts = u(&r["attempts"]["total"]);
        let on_routes: u64 = routing["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| u(&x["attempts"]))
            .sum::<u64>()
            + u(&routing["routes_not_itemised"]);
        assert_eq!(
            on_routes, attempts,
            "{s}: per-route attempts sum to the attempts"
        );
        for (h, rh) in r["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .zip(routing["hosts"].as_array().unwrap())
        {
            assert_eq!(h["id"], rh["host"], "{s}");
            assert_eq!(h["contacts"], rh["attempts"], "{s}: {}", h["id"]);
            let failed: u64 = rh["failures"].as_object().unwrap().values().map(u).sum();
            assert_eq!(u(&rh["attempts"]), u(&rh["successes"]) + failed, "{s}");
            assert!(u(&rh["failures_caused"]) <= failed, "{s}");
        }
        let link_contacts: u64 = routing["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| u(&l["attempts"]))
            .sum();
        let host_contacts: u64 = r["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| u(&h["contacts"]))
            .sum();
        assert_eq!(
            link_contacts, host_contacts,
            "{s}: every contact crosses one link"
        );
        // The series counts what the outcomes count.
        let buckets = r["series"]["buckets"].as_array().unwrap();
        let sum = |k: &str| buckets.iter().map(|b| u(&b[k])).sum::<u64>();
        let o = &r["outcomes"];
        assert_eq!(sum("arrivals"), u(&o["generated"]), "{s}");
        assert_eq!(sum("delivered"), u(&o["delivered"]), "{s}");
        assert_eq!(sum("bounced"), u(&o["bounced"]), "{s}");
        assert_eq!(sum("expired"), u(&o["expired"]), "{s}");
        assert_eq!(sum("attempts"), attempts, "{s}");
        // Its gauges, counted from the stream, equal the queue series sampled by the
        // simulation at the same times.
        let every = u(&r["series"]["every_ms"]);
        if every == u(&r["queue"]["series_every_ms"]) {
            for (b, q) in buckets.iter().zip(r["queue"]["series"].as_array().unwrap()) {
                assert_eq!(b["t_ms"], q["t_ms"], "{s}");
                assert_eq!(b["queued"], q["queued"], "{s} at {}", b["t_ms"]);
                assert_eq!(b["in_flight"], q["in_flight"], "{s} at {}", b["t_ms"]);
            }
        }
        // Failed attempts are blamed at most once in all.
        let blamed: f64 = routing["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["failed_attempts_caused"].as_f64().unwrap())
            .sum();
        assert!(
            blamed <= u(&r["analysis"]["failed_attempts"]) as f64 + 1e-6,
            "{s}"
        );
    }
}

#[test]
fn censored_percentiles_equal_the_ordinary_ones_when_everything_is_delivered() {
    let mut checked = 0;
    for s in scenarios() {
        let r = json(&["run", &s, "--json"]);
        let o = &r["outcomes"];
        if u(&o["delivered"]) == u(&o["generated"]) {
            for p in ["p50", "p90", "p95", "p99"] {
                assert_eq!(r["delay_censored_ms"][p], r["delay_ms"][p], "{s} {p}");
            }
            checked += 1;
        } else {
            // Fewer delivered than asked: some censored percentile is not reached, and every
            // reached one is at least the delivered-only one.
            for p in ["p50", "p90", "p95", "p99"] {
                if let Some(c) = r["delay_censored_ms"][p].as_u64() {
                    assert!(c >= u(&r["delay_ms"][p]), "{s} {p}");
                }
            }
        }
        // Shares delivered within a time grow with the time and stay under the delivered share.
        let within = r["delivered_within"].as_array().unwrap();
        let delivered = u(&o["delivered"]);
        for w in within.windows(2) {
            assert!(u(&w[0]["delivered"]) <= u(&w[1]["delivered"]), "{s}");
        }
        assert!(
            within.iter().all(|w| u(&w["delivered"]) <= delivered),
            "{s}"
        );
    }
    assert!(checked >= 5);
    // retry-storm: 86% still queued, so the censored p95 is not reached while the
    // delivered-only p95 is 22 minutes.
    let r = json(&["run", "scenarios/retry-storm.toml", "--json"]);
    assert!(r["delay_censored_ms"]["p95"].is_null());
    assert!(r["delay_ms"]["p95"].as_u64().unwrap() < 3_600_000);
    let t = stdout(&mxsim(&["run", "scenarios/retry-storm.toml"]));
    assert!(
        t.contains("of all messages (censored):   p50 not reached"),
        "{t}"
    );
}

#[test]
fn the_analysis_finds_each_shipped_culprit() {
    for (s, culprit) in [
        ("scenarios/analyze-bad-relay.toml", "relay-c"),
        (
            "scenarios/analyze-bad-backup-mx.toml",
            "old-mx2.example.org",
        ),
        ("scenarios/analyze-resolver-outage.toml", "ns1"),
        ("scenarios/relay-pool.toml", "relay-1"),
        ("scenarios/dns-outage.toml", "ns1"),
        (CHAIN, "relay-2"),
    ] {
        let r = json(&["run", s, "--json"]);
        assert_eq!(r["analysis"]["culprit"], culprit, "{s}");
    }
    // The resolver outage: 4.4.3 from DNS, failures in one window 03:00-04:30.
    let r = json(&["run", "scenarios/analyze-resolver-outage.toml", "--json"]);
    let a = &r["analysis"];
    assert!(u(&a["origin_443"]["dns"]["ns1"]) > 100);
    assert!(a["origin_443"]["relay"].as_array().unwrap().is_empty());
    let w = a["suspects"][0]["windows"].as_array().unwrap();
    assert_eq!(w.len(), 1);
    assert!(u(&w[0]["from_ms"]) >= 3 * 3_600_000 && u(&w[0]["to_ms"]) < 4 * 3_600_000 + 1_800_000);
    // The check passes on each shipped culprit bound, and says whom it found.
    let o = mxsim(&["check", "scenarios/analyze-bad-relay.toml"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("PASS culprit = \"relay-c\" (the analysis names relay-c first)"));
    // --analyze prints it.
    let t = stdout(&mxsim(&[
        "run",
        "scenarios/analyze-resolver-outage.toml",
        "--analyze",
    ]));
    assert!(t.contains("culprit: ns1"), "{t}");
    assert!(t.contains("DNS: resolver ns1 failed"), "{t}");
    assert!(t.contains("failing in 1 window: 03:00"), "{t}");
}

#[test]
fn a_wrong_culprit_fails_the_check_and_names_the_one_found() {
    let dir = std::env::temp_dir().join(format!("mxsim-culprit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wrong.toml");
    let text_in = std::fs::read_to_string(root().join("scenarios/analyze-bad-relay.toml"))
        .unwrap()
        .replace("culprit = \"relay-c\"", "culprit = \"relay-a\"");
    std::fs::write(&file, text_in).unwrap();
    let o = mxsim(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("FAIL culprit = \"relay-a\" (the analysis names relay-c first)"),
        "{}",
        stdout(&o)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_tables_round_trip_to_the_json_numbers() {
    let dir = std::env::temp_dir().join(format!("mxsim-csv-{}", std::process::id()));
    let s = "scenarios/analyze-bad-backup-mx.toml";
    let r = json(&["run", s, "--json", "--csv", dir.to_str().unwrap()]);
    let read = |name: &str| -> Vec<csv::StringRecord> {
        let mut rd = csv::Reader::from_path(dir.join(name)).unwrap();
        rd.records().map(|x| x.unwrap()).collect()
    };
    let outcomes = read("outcomes.csv");
    let get = |k: &str| {
        outcomes
            .iter()
            .find(|row| &row[0] == k)
            .unwrap_or_else(|| panic!("{k}"))[1]
            .to_string()
    };
    assert_eq!(get("digest"), r["digest"].as_str().unwrap());
    assert_eq!(get("delivered"), r["outcomes"]["delivered"].to_string());
    assert_eq!(get("delay_p95_ms"), r["delay_ms"]["p95"].to_string());
    assert_eq!(
        get("delay_censored_p99_ms"),
        r["delay_censored_ms"]["p99"].to_string()
    );
    for w in r["delivered_within"].as_array().unwrap() {
        let k = format!("delivered_within_{}ms_share", w["within_ms"]);
        assert_eq!(
            get(&k).parse::<f64>().unwrap(),
            w["share"].as_f64().unwrap()
        );
    }
    let hosts = read("hosts.csv");
    for (row, h) in hosts.iter().zip(r["routing"]["hosts"].as_array().unwrap()) {
        assert_eq!(&row[0], h["host"].as_str().unwrap());
        assert_eq!(row[2].parse::<u64>().unwrap(), u(&h["attempts"]));
        assert_eq!(row[5].parse::<u64>().unwrap(), u(&h["failures_caused"]));
        assert_eq!(
            row[7].parse::<f64>().unwrap(),
            h["delay_added_ms"].as_f64().unwrap()
        );
    }
    let routes = read("routes.csv");
    assert_eq!(
        routes.len(),
        r["routing"]["routes"].as_array().unwrap().len()
    );
    for (row, rt) in routes
        .iter()
        .zip(r["routing"]["routes"].as_array().unwrap())
    {
        assert_eq!(&row[0], rt["route"].as_str().unwrap());
        assert_eq!(row[1].parse::<u64>().unwrap(), u(&rt["attempts"]));
    }
    let links = read("links.csv");
    assert_eq!(links.len(), r["routing"]["links"].as_array().unwrap().len());
    let series = read("series.csv");
    let buckets = r["series"]["buckets"].as_array().unwrap();
    assert_eq!(series.len(), buckets.len());
    for (row, b) in series.iter().zip(buckets) {
        assert_eq!(row[0].parse::<u64>().unwrap(), u(&b["t_ms"]));
        assert_eq!(row[3].parse::<u64>().unwrap(), u(&b["delivered"]));
        assert_eq!(row[7].parse::<u64>().unwrap(), u(&b["queued"]));
    }
    let windows = read("windows.csv");
    let total: usize = r["routing"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["windows"].as_array().unwrap().len())
        .sum();
    assert_eq!(windows.len(), total);
    assert!(!read("host_series.csv").is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_sets_the_bucket_width_and_not_the_failure_windows() {
    let r = json(&["run", CHAIN, "--json", "--every", "30m"]);
    assert_eq!(r["series"]["every_ms"], 1_800_000);
    // Issue 22: failure windows (and their contacts) used to change with --every.
    let fine = json(&["run", CHAIN, "--json", "--every", "1m"]);
    assert_eq!(r["routing"]["windows_gap_ms"], 600_000);
    for (a, b) in r["routing"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(fine["routing"]["hosts"].as_array().unwrap())
    {
        assert_eq!(a["windows"], b["windows"], "{}", a["host"]);
    }
}

#[test]
fn check_writes_junit_and_csv() {
    let dir = std::env::temp_dir().join(format!("mxsim-junit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("verdicts.xml");
    let o = mxsim(&[
        "check",
        "scenarios/analyze-bad-relay.toml",
        "scenarios/flaky-relay-443.toml",
        "--junit",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let xml = std::fs::read_to_string(&file).unwrap();
    let bounds = |s: &str| -> usize {
        let t = std::fs::read_to_string(root().join(s)).unwrap();
        let t = t.split("[expect]").nth(1).unwrap();
        t.lines().filter(|l| l.contains(" = ")).count()
    };
    let n = bounds("scenarios/analyze-bad-relay.toml") + bounds("scenarios/flaky-relay-443.toml");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
    assert!(
        xml.contains(&format!("tests=\"{n}\" failures=\"0\"")),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), n);
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    assert!(
        xml.contains("<testcase name=\"culprit\" classname=\"scenarios/analyze-bad-relay.toml\"")
    );
    assert!(xml.contains("<property name=\"seed\" value=\"31\"/>"));
    assert!(xml.trim_end().ends_with("</testsuites>"));
    // A failing bound is a <failure>, and the exit code stays 1.
    let failing = dir.join("failing.toml");
    let t = std::fs::read_to_string(root().join("scenarios/analyze-bad-relay.toml"))
        .unwrap()
        .replace(
            "delivered_ratio = { min = 1.0 }",
            "delivered_ratio = { max = 0.5 }",
        );
    std::fs::write(&failing, t).unwrap();
    let o = mxsim(&[
        "check",
        failing.to_str().unwrap(),
        "--junit",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(
        xml.contains("<failure message=\"delivered_ratio out of bounds\" type=\"bound\">value 1; max 0.5</failure>"),
        "{xml}"
    );
    // --csv: a header and one row per bound.
    let o = mxsim(&["check", "scenarios/analyze-bad-relay.toml", "--csv"]);
    let t = stdout(&o);
    assert!(
        t.starts_with("scenario,seed,bound,value,min,max,margin,pass,inconclusive\n"),
        "{t}"
    );
    assert_eq!(
        t.lines().count(),
        1 + bounds("scenarios/analyze-bad-relay.toml")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_values_of_the_new_flags_exit_2_with_a_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", CHAIN, "--every", "0s"], "--every must be positive"),
        (
            &["run", CHAIN, "--every", "ten"],
            "--every: invalid duration",
        ),
        (
            &["run", CHAIN, "--csv", "/dev/null/x"],
            "cannot create the output directory",
        ),
        (
            &["run", CHAIN, "--plot", "/dev/null/x"],
            "cannot create the output directory",
        ),
        (&["trace", CHAIN, "--worst", "0"], "--worst"),
        (
            &["trace", CHAIN, "--message", "7"],
            "message 7 does not exist: the run had 2 messages",
        ),
        (
            &["trace", CHAIN, "--message", "99999999999"],
            "below 4294967296",
        ),
        (&["trace", CHAIN, "--code", "4.4"], "--code"),
        (
            &["trace", CHAIN, "--host", "relay-4"],
            "did you mean `relay-1`?",
        ),
        (
            &["trace", CHAIN, "--outcome", "lost"],
            "one of delivered, bounced, expired, queued",
        ),
        (
            &["trace", CHAIN, "--message", "0", "--worst", "1"],
            "cannot be used with",
        ),
        (&["trace", CHAIN, "--limit", "0"], "--limit"),
        (
            &["check", CHAIN, "--junit", "/dev/null/x.xml"],
            "cannot write /dev/null/x.xml",
        ),
    ];
    for (args, want) in cases {
        let o = mxsim(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn bad_slo_fields_are_diagnosed() {
    let dir = std::env::temp_dir().join(format!("mxsim-slo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = std::fs::read_to_string(root().join(CHAIN)).unwrap();
    let cases = [
        ("seed = 5\n", "seed = 5\ndelivered_within = [\"1h\", \"-5m\"]\n", "delivered_within[1]"),
        ("seed = 5\n", "seed = 5\ndelivered_within = \"1h\"\n", "delivered_within"),
        ("retry = { fixed = \"30m\" }\n", "retry = { fixed = \"30m\" }\n[expect]\ndelivered_within = { \"soon\" = { min = 0.5 } }\n", "expect.delivered_within.\"soon\""),
        ("retry = { fixed = \"30m\" }\n", "retry = { fixed = \"30m\" }\n[expect]\nculprit = \"relay-9\"\n", "expect.culprit"),
        ("retry = { fixed = \"30m\" }\n", "retry = { fixed = \"30m\" }\n[expect]\ndelay_censored_p95 = { max = 5 }\n", "delay_censored_p95"),
    ];
    for (from, to, want) in cases {
        let file = dir.join("bad.toml");
        std::fs::write(&file, base.replacen(from, to, 1)).unwrap();
        let o = mxsim(&["validate", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{to}: {err}");
        assert!(err.contains(want), "{to}: {err}");
        assert!(err.contains("bad.toml:"), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn readme_observe_examples_match_the_binary() {
    // The README shows real output; this keeps it true.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = |marker: &str| -> String {
        let after = readme
            .split(marker)
            .nth(1)
            .unwrap_or_else(|| panic!("README lacks {marker:?}"));
        after.split("```").next().unwrap().to_string()
    };
    let trimmed = |t: &str| -> String {
        t.trim()
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let analysis = block("On the main job it prints, after the\nreport:\n\n```\n");
    let out = stdout(&mxsim(&[
        "run",
        "scenarios/flaky-relay-443.toml",
        "--analyze",
    ]));
    let tail = &out[out.find("Failure analysis").expect("an analysis")..];
    assert_eq!(trimmed(&analysis), trimmed(tail));
    let trace = block("--worst 1`:\n\n```\n");
    let out = stdout(&mxsim(&[
        "trace",
        "scenarios/flaky-relay-443.toml",
        "--worst",
        "1",
    ]));
    assert_eq!(trimmed(&trace), trimmed(&out));
}

#[test]
fn plot_draws_four_labelled_svgs() {
    let dir = std::env::temp_dir().join(format!("mxsim-plot-{}", std::process::id()));
    let o = mxsim(&[
        "run",
        "scenarios/analyze-bad-backup-mx.toml",
        "--plot",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    for (file, labels) in [
        (
            "delay-cdf.svg",
            &[
                "delivery delay after arrival (log scale)",
                "messages delivered (% of all)",
                "within 5m",
            ][..],
        ),
        (
            "outcomes.svg",
            &["hours since start", "messages per 10m", "delivered"][..],
        ),
        (
            "queue.svg",
            &["hours since start", "messages", "attempts under way"][..],
        ),
        (
            "host-success.svg",
            &[
                "contacts answered with success (% per 10m)",
                "old-mx2.example.org",
            ][..],
        ),
    ] {
        let svg = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(svg.starts_with("<svg"), "{file}");
        for l in labels {
            assert!(svg.contains(l), "{file} lacks {l:?}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_measures_the_observed_run_too() {
    let v = json(&["bench", CHAIN, "--runs", "1", "--observe", "--json"]);
    assert_eq!(v["observed"], true);
    assert!(v["events_per_second"].as_f64().unwrap() > 0.0);
}
