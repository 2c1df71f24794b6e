//! Hostile inputs (issue 12): each case that once crashed, exhausted memory or stalled the
//! binary now ends quickly with a clear error or a correct run. Every case runs the release
//! binary with a time limit, so a regression fails the test instead of hanging CI.

mod common;

use common::binary::{root, stderr, stdout};
use common::one_mx as scenario;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mxsim-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `mxsim args…`, killing it after `limit`.
fn mxsim_within(limit: Duration, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxsim"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mxsim binary runs");
    let start = Instant::now();
    // Read the pipes on threads so a large output cannot block the child.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).ok();
        v
    });
    let err_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).ok();
        v
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Output {
                status,
                stdout: out_thread.join().unwrap(),
                stderr: err_thread.join().unwrap(),
            };
        }
        if start.elapsed() > limit {
            child.kill().ok();
            panic!("{args:?} ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

const LIMIT: Duration = Duration::from_secs(30);

fn invalid(name: &str, text: &str, want: &str) -> String {
    let path = write(name, text);
    let o = mxsim_within(LIMIT, &["validate", &path.display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(want), "{name}: {e}");
    e
}

#[test]
fn empty_domain_weights_are_an_error_not_a_panic() {
    let text = scenario("", "{ at = [\"0s\"] }", "", "")
        .replace("domains = [{ name = \"example.net\" }]", "domains = []");
    invalid(
        "empty.toml",
        &text,
        "no recipient domain with a positive weight",
    );
}

#[test]
fn an_empty_domain_table_is_an_error_not_a_panic() {
    // Found by tests/fuzz.rs (seed 3, case 108745): the declared domains, not the workload's.
    let text = scenario("", "{ at = [\"0s\"] }", "", "")
        .replace("domains = [{ name = \"example.net\" }]\n", "")
        .replace(
            "[[domains]]\nname = \"example.net\"\nmx = [{ preference = 10, host = \"mx\" }]\n",
            "",
        )
        .replace("seed = 1\n", "seed = 1\ndomains = []\n");
    invalid("no-domains.toml", &text, "no recipient domain is declared");
}

#[test]
fn huge_names_are_refused_before_any_suggestion_is_computed() {
    let long = "h".repeat(40_000);
    let text = scenario("", "{ at = [\"0s\"] }", "", "")
        .replace("id = \"mx\"", &format!("id = \"{long}\""))
        .replace("host = \"mx\"", &format!("host = \"{long}x\""));
    let e = invalid(
        "long.toml",
        &text,
        "a name of 40000 characters; at most 255",
    );
    // Quoted user text is shortened in messages.
    assert!(e.len() < 4_000, "{} bytes of diagnostics", e.len());
    assert!(e.contains("…(40001 characters)"), "{e}");
}

#[test]
fn delay_lists_are_capped_before_they_expand() {
    let list = vec!["1m*10000"; 2_000].join(", ");
    let text = scenario(
        "",
        "{ at = [\"0s\"] }",
        "",
        &format!("retry = {{ list = \"{list}\" }}"),
    );
    invalid("list.toml", &text, "expands to more than 100000 delays");
}

#[test]
fn too_many_hosts_is_one_error_found_without_reading_them() {
    let mut text = scenario("", "{ at = [\"0s\"] }", "", "");
    for i in 0..200_000 {
        text.push_str(&format!("[[hosts]]\nid = \"h{i}\"\nrole = \"mx\"\n"));
    }
    let e = invalid("many.toml", &text, "hosts exceed limits.hosts_max = 10000");
    assert!(e.contains("1 problem found"), "{e}");
}

#[test]
fn an_invalid_field_raises_no_follow_on_errors() {
    let text = scenario("", "{ at = [\"0s\"] }", "", "").replace(
        "mx = [{ preference = 10, host = \"mx\" }]",
        "mx = [{ preference = 10, host = \"mx\" }]\nttl = \"soon\"",
    );
    let e = invalid("ttl.toml", &text, "invalid duration \"soon\"");
    assert!(e.contains("1 problem found"), "{e}");
    // A link with a bad latency still exists for the route that uses it.
    let text = scenario("", "{ at = [\"0s\"] }", "", "route = { via = [\"relay\"] }").replace(
        "[[links]]\nfrom = \"out\"\nto = \"mx\"\n",
        "[[hosts]]\nid = \"relay\"\nrole = \"relay\"\n\
             [[links]]\nfrom = \"out\"\nto = \"relay\"\nlatency = \"fast\"\n\
             [[links]]\nfrom = \"relay\"\nto = \"mx\"\n",
    );
    let e = invalid("latency.toml", &text, "invalid duration \"fast\"");
    assert!(e.contains("1 problem found"), "{e}");
}

#[test]
fn control_characters_in_user_text_are_escaped() {
    let text = scenario("", "{ at = [\"0s\"] }", "", "")
        .replace("host = \"mx\"", "host = \"m\\u001b[31mx\"");
    let e = invalid("ctrl.toml", &text, "unknown host");
    assert!(!e.contains('\u{1b}'), "raw escape printed: {e:?}");
    assert!(e.contains("\\u{1b}[31m"), "{e}");
}

#[test]
fn huge_message_limits_are_refused_not_reserved() {
    let text = scenario(
        "[limits]\nmessages_max = 9223372036854775807",
        "{ poisson_per_hour = 1e15, for = \"1000d\" }",
        "",
        "",
    );
    invalid("messages.toml", &text, "messages_max");
}

#[test]
fn a_markov_host_with_millisecond_periods_queried_late_runs_in_bounded_work() {
    let text = scenario(
        "",
        "{ at = [\"10d\"] }",
        "failure = { markov = { mean_up = \"1ms\", mean_down = \"1ms\" } }",
        "",
    );
    let path = write("markov.toml", &text);
    let o = mxsim_within(LIMIT, &["run", &path.display().to_string(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn far_arrivals_and_tiny_series_intervals_keep_the_series_bounded() {
    for (name, top, arrivals) in [
        ("far.toml", "", "{ at = [\"100000000d\"] }"),
        ("fine.toml", "series_every = \"1ms\"", "{ at = [\"10d\"] }"),
    ] {
        let path = write(name, &scenario(top, arrivals, "", ""));
        let o = mxsim_within(LIMIT, &["run", &path.display().to_string(), "--json"]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let samples = r["queue"]["series"].as_array().unwrap().len();
        assert!((1..=4096).contains(&samples), "{name}: {samples} samples");
        assert!(
            r["queue"]["series_every_ms"].as_u64().unwrap() > 1,
            "{name}: coarsened"
        );
    }
}

#[test]
fn trace_files_are_written_as_the_run_proceeds() {
    // A 1 ms fixed retry against a host down for 10 minutes: 1.2 million events, every one
    // traced. The file holds them all; the process never held them all (streamed in batches).
    let text = scenario(
        "",
        "{ at = [\"0s\"] }",
        "failure = { schedule = [{ from = \"0s\", to = \"10m\" }] }",
        "retry = { fixed = \"1ms\" }",
    );
    let path = write("ms.toml", &text);
    let trace = path.with_extension("jsonl");
    let o = mxsim_within(
        LIMIT,
        &[
            "run",
            &path.display().to_string(),
            "--trace",
            &trace.display().to_string(),
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines = text.lines().count() as u64;
    assert!(lines > 1_000_000, "{lines} records");
    assert_eq!(r["outcomes"]["delivered"], 1);
    std::fs::remove_file(trace).ok();
}

#[test]
fn invalid_utf8_is_reported_with_its_byte_offset() {
    let dir = std::env::temp_dir().join(format!("mxsim-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latin1.toml");
    std::fs::write(&path, b"name = \"caf\xe9\"\nseed = 1\n").unwrap();
    let o = mxsim_within(LIMIT, &["validate", &path.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("not UTF-8 text: byte 0xe9 at offset 11"), "{e}");
    assert!(e.contains(&format!("--> {}:1:12", path.display())), "{e}");
    // A byte-order mark is skipped, in TOML and JSON alike.
    let toml_text = std::fs::read_to_string(root().join("scenarios/backup-mx.toml")).unwrap();
    let table: toml::Table = toml_text.parse().unwrap();
    let json_text = serde_json::to_string_pretty(&table).unwrap();
    for (name, text) in [("bom.toml", toml_text), ("bom.json", json_text)] {
        let path = dir.join(name);
        std::fs::write(&path, format!("\u{feff}{text}")).unwrap();
        let o = mxsim_within(LIMIT, &["validate", &path.display().to_string()]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
    }
}
