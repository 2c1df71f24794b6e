//! Running the `mxsim` binary from integration tests (`tests/cli.rs`, `tests/observe.rs`).

use std::path::PathBuf;
use std::process::{Command, Output};

/// The project root (scenario paths in tests are relative to it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `mxsim args…` in the project root.
pub fn mxsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mxsim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the mxsim binary runs")
}

/// What it printed.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What it complained.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every shipped scenario, `scenarios/*.toml`, sorted.
pub fn scenarios() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| format!("scenarios/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    assert!(v.len() >= 3);
    v
}

/// Runs `mxsim args…`, which must succeed, and parses its JSON output.
pub fn json(args: &[&str]) -> serde_json::Value {
    let o = mxsim(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("valid JSON")
}
