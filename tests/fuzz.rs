//! A mutation fuzzer of our own over the loader and a bounded run (issue 12), seeded from
//! every shipped scenario and fixture.
//!
//! Each case takes a seed file and applies a few random mutations: at the tree level (a field
//! anywhere replaced by a hostile value: zero, negative, huge, NaN-like, empty, very long,
//! with control characters, the wrong type) and at the text level (bytes deleted, repeated,
//! spliced in from a dictionary of tokens), in TOML or converted to JSON. The oracle: loading
//! never panics and takes bounded time; a scenario that loads runs under a small event budget
//! without panicking, in bounded time, and its outcomes add up (every message delivered,
//! bounced, expired or still queued).
//!
//! Cases are reproducible: case `i` of a run with base seed `s` is always the same input. A
//! failure writes the input to `target/fuzz-failures/` and names it. Knobs (environment):
//! `MXSIM_FUZZ_CASES` (default 1500, the bounded run of `scripts/test`), `MXSIM_FUZZ_SECONDS`
//! (run for this long instead, for the longer run in the README), `MXSIM_FUZZ_SEED` (base
//! seed, default 1).

mod common;

use common::binary::root;
use mxsim_core::scenario::edit::{apply, Edit, Step};
use mxsim_core::scenario::tree::{self, Format, Kind, Node};
use mxsim_core::scenario::{self};
use mxsim_core::Simulation;
use std::time::{Duration, Instant};

/// SplitMix64: a tiny deterministic generator (the harness needs no statistical quality).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that once broke loaders and runs, or sit on a boundary.
const HOSTILE: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "1e308",
    "-1e308",
    "0.5",
    "1.7",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967295",
    "4294967296",
    "\"\"",
    "\"0s\"",
    "\"1ms\"",
    "\"-5m\"",
    "\"100000000d\"",
    "\"1h30m\"",
    "\"soon\"",
    "\"1m*10000, 1m*10000, 1m*10000\"",
    "\"4.4.3\"",
    "\"5.7.1\"",
    "\"4.*.*\"",
    "\"mx\"",
    "\"out\"",
    "\"\\u001b[31mred\"",
    "true",
    "false",
    "[]",
    "{}",
    "[\"0s\", \"1ms\"]",
    "{ fixed = \"1ms\" }",
    "{ markov = { mean_up = \"1ms\", mean_down = \"1ms\" } }",
    "{ bernoulli = { p = 1.0 } }",
    "{ at = [\"100000000d\"] }",
    "{ poisson_per_hour = 1e9, for = \"1d\" }",
    "{ exim = \"F,2h,15m; G,16h,1h,1.5; F,4d,6h\" }",
];

/// Text tokens spliced in by byte-level mutations.
const TOKENS: &[&str] = &[
    "\"",
    "[",
    "]",
    "{",
    "}",
    "=",
    ",",
    "\n",
    "[[hosts]]\n",
    "[policy]\n",
    "#",
    "\\",
    "\u{0}",
    "é",
    "\u{1b}",
    "1e999",
    "nan",
    "inf",
    "id = \"out\"\n",
];

/// The seed corpus: every shipped scenario and test fixture.
fn corpus() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for dir in ["scenarios", "tests/fixtures"] {
        let mut paths: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            files.push((
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    assert!(files.len() >= 10, "the corpus is the shipped scenarios");
    files
}

/// Every path in a tree, as edit steps (array elements by index).
fn paths(node: &Node, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match &node.kind {
        Kind::Table(entries) => {
            for e in entries {
                prefix.push(Step::Key(e.key.clone()));
                out.push(prefix.clone());
                paths(&e.value, prefix, out);
                prefix.pop();
            }
        }
        Kind::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                prefix.push(Step::Index(i));
                paths(item, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// A string literal valid in both TOML and JSON.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value as an inline literal; `json` picks JSON's object syntax over TOML's.
fn literal(node: &Node, json: bool) -> String {
    match &node.kind {
        Kind::Str(s) | Kind::Datetime(s) => quote(s),
        Kind::Int(i) => i.to_string(),
        Kind::Float(f) if f.is_finite() => format!("{f:?}"),
        Kind::Float(_) if json => "1e999".into(),
        Kind::Float(f) => {
            if f.is_nan() {
                "nan".into()
            } else if *f > 0.0 {
                "inf".into()
            } else {
                "-inf".into()
            }
        }
        Kind::Bool(b) => b.to_string(),
        Kind::Array(a) => format!(
            "[{}]",
            a.iter()
                .map(|v| literal(v, json))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Kind::Table(e) => format!(
            "{{{}}}",
            e.iter()
                .map(|e| format!(
                    "{}{} {}",
                    quote(&e.key),
                    if json { ":" } else { " =" },
                    literal(&e.value, json)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A tree as a document: JSON, or TOML with one inline value per top-level key.
fn render(root: &Node, json: bool) -> String {
    match (&root.kind, json) {
        (Kind::Table(entries), false) => entries
            .iter()
            .map(|e| format!("{} = {}\n", quote(&e.key), literal(&e.value, false)))
            .collect(),
        _ => literal(root, json),
    }
}

/// Case `i`: (file name for messages, text). A fifth of the cases mangle the original text
/// only; the others edit fields in the tree and render it as TOML or JSON, sometimes mangled
/// afterwards too.
fn case(rng: &mut Rng, corpus: &[(String, String)]) -> (String, String) {
    let (name, original) = &corpus[rng.below(corpus.len())];
    let kind = rng.below(5);
    if kind == 0 {
        let mut chars: Vec<char> = original.chars().collect();
        mangle(&mut chars, rng);
        return (name.clone(), chars.into_iter().collect());
    }
    let mut root = tree::parse(original, Format::Toml).expect("the corpus parses");
    let mut all = Vec::new();
    paths(&root, &mut Vec::new(), &mut all);
    for _ in 0..1 + rng.below(2) {
        // Mostly scalar fields; sometimes a whole table or array.
        let leaves: Vec<&Vec<Step>> = all.iter().filter(|p| plausible_kind(&root, p)).collect();
        let path = if rng.below(8) != 0 && !leaves.is_empty() {
            leaves[rng.below(leaves.len())].clone()
        } else if let Some(p) = all.get(rng.below(all.len())) {
            p.clone()
        } else {
            break;
        };
        // Half the edits are plausible (a value of the same kind), so that mutated scenarios
        // still load and reach the run; the others are hostile.
        let value = match (rng.below(20), plausible(&root, &path, rng)) {
            (0..=13, Some(v)) => v,
            (10, _) => quote(&"x".repeat(1 + rng.below(5000))),
            _ => HOSTILE[rng.below(HOSTILE.len())].to_string(),
        };
        let edit = Edit {
            path,
            value: mxsim_core::scenario::edit::parse_value(&value),
            text: value,
        };
        // An edit through an array or a scalar is simply not applied.
        let _ = apply(&mut root, &edit);
    }
    let json = kind == 2 || kind == 3;
    let mut text = render(&root, json);
    if rng.below(8) == 0 {
        let mut chars: Vec<char> = text.chars().collect();
        mangle(&mut chars, rng);
        text = chars.into_iter().collect();
    }
    let file = if json {
        format!("{name}.json")
    } else {
        name.clone()
    };
    (file, text)
}

/// Whether the field at `path` is a scalar.
fn plausible_kind(root: &Node, path: &[Step]) -> bool {
    let mut node = root;
    for step in path {
        node = match (step, &node.kind) {
            (Step::Key(k), Kind::Table(e)) => match e.iter().find(|e| &e.key == k) {
                Some(e) => &e.value,
                None => return false,
            },
            (Step::Index(i), Kind::Array(a)) => match a.get(*i) {
                Some(n) => n,
                None => return false,
            },
            _ => return false,
        };
    }
    !matches!(node.kind, Kind::Table(_) | Kind::Array(_))
}

/// A value of the same kind as the one at `path`: another duration, a small number, a
/// share, the other boolean.
fn plausible(root: &Node, path: &[Step], rng: &mut Rng) -> Option<String> {
    let mut node = root;
    for step in path {
        node = match (step, &node.kind) {
            (Step::Key(k), Kind::Table(e)) => &e.iter().find(|e| &e.key == k)?.value,
            (Step::Index(i), Kind::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    const DURATIONS: &[&str] = &[
        "1ms", "250ms", "1s", "30s", "5m", "15m", "1h", "4h", "1d", "3d",
    ];
    Some(match &node.kind {
        Kind::Str(s) if mxsim_core::time::parse_duration(s).is_ok() => {
            quote(DURATIONS[rng.below(DURATIONS.len())])
        }
        Kind::Int(_) => (rng.below(12) as i64).to_string(),
        Kind::Float(_) => format!("{:?}", rng.below(1001) as f64 / 1000.0),
        Kind::Bool(b) => (!b).to_string(),
        _ => return None,
    })
}

fn mangle(chars: &mut Vec<char>, rng: &mut Rng) {
    for _ in 0..1 + rng.below(4) {
        if chars.is_empty() {
            return;
        }
        let at = rng.below(chars.len());
        match rng.below(4) {
            0 => {
                let n = rng.below(40).min(chars.len() - at);
                chars.drain(at..at + n);
            }
            1 => {
                let n = rng.below(200).min(chars.len() - at);
                let copy: Vec<char> = chars[at..at + n].to_vec();
                for _ in 0..1 + rng.below(3) {
                    chars.splice(at..at, copy.iter().copied());
                }
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())];
                chars.splice(at..at, token.chars());
            }
        }
    }
}

/// Runs one case; returns whether it loaded, or a description of the failure.
fn check(file: &str, text: &str) -> Result<bool, String> {
    let started = Instant::now();
    let loaded = std::panic::catch_unwind(|| scenario::load(text, file))
        .map_err(|_| "the loader panicked".to_string())?;
    let load_time = started.elapsed();
    if load_time > Duration::from_secs(10) {
        return Err(format!("loading took {load_time:?}"));
    }
    let mut s = match loaded {
        Ok(s) => s,
        Err(d) => {
            // Every diagnostic points at a line and column, in TOML and JSON alike.
            return match d
                .items
                .iter()
                .find(|i| i.line.is_none() || i.column.is_none())
            {
                Some(i) => Err(format!("a diagnostic without line:col: {i:?}")),
                None => Ok(false),
            };
        }
    };
    // A bounded run: few events, so every case is quick; the budget is a declared limit.
    s.limits.events_max = s.limits.events_max.min(20_000);
    // Odd-length texts also observe the run in detail and record a bounded trace, so those
    // paths meet the mutated scenarios too.
    let detailed = text.len() % 2 == 1;
    let outcome = std::panic::catch_unwind(move || {
        let mut sim = Simulation::new(s);
        if detailed {
            sim.observe(None);
            sim.record_trace_bounded(10_000);
        }
        sim.run();
        if detailed {
            let _ = sim.snapshot();
        }
        sim.report()
    })
    .map_err(|_| "the run panicked".to_string())?;
    let o = &outcome.outcomes;
    if o.delivered + o.bounced + o.expired + o.queued != o.generated {
        return Err(format!("outcomes do not add up: {o:?}"));
    }
    let total = started.elapsed();
    if total > Duration::from_secs(20) {
        return Err(format!("the case took {total:?}"));
    }
    Ok(true)
}

#[test]
fn mutated_scenarios_never_panic_stall_or_lose_messages() {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let base = env("MXSIM_FUZZ_SEED").unwrap_or(1);
    let seconds = env("MXSIM_FUZZ_SECONDS");
    let cases = env("MXSIM_FUZZ_CASES").unwrap_or(1500);
    let corpus = corpus();
    // Panics are caught and reported per case; keep their default messages off the output.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let (mut ran, mut loaded) = (0u64, 0u64);
    let mut failure = None;
    loop {
        let done = match seconds {
            Some(s) => started.elapsed() >= Duration::from_secs(s),
            None => ran >= cases,
        };
        if done {
            break;
        }
        let mut rng = Rng(base.wrapping_mul(0x1000_0000_01B3) ^ ran);
        let (file, text) = case(&mut rng, &corpus);
        match check(&file, &text) {
            Ok(ok) => loaded += u64::from(ok),
            Err(why) => {
                failure = Some((ran, file, text, why));
                break;
            }
        }
        ran += 1;
    }
    std::panic::set_hook(hook);
    eprintln!(
        "fuzz: {ran} cases ({loaded} loaded and ran) in {:.1?}, base seed {base}",
        started.elapsed()
    );
    if let Some((i, file, text, why)) = failure {
        let dir = root().join("target/fuzz-failures");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("seed{base}-case{i}-{file}"));
        std::fs::write(&path, &text).unwrap();
        panic!(
            "case {i} (MXSIM_FUZZ_SEED={base}) from {file}: {why}; input saved to {}",
            path.display()
        );
    }
    assert!(
        loaded * 20 >= ran,
        "too few mutated cases load ({loaded} of {ran}): the mutations no longer reach the run"
    );
}

#[test]
fn rendered_trees_load_like_their_files() {
    for (name, text) in corpus() {
        let root = tree::parse(&text, Format::Toml).unwrap();
        let want = scenario::load(&text, &name).map_err(|d| d.to_string());
        for json in [false, true] {
            let file = if json {
                format!("{name}.json")
            } else {
                name.clone()
            };
            let got = scenario::load(&render(&root, json), &file).map_err(|d| d.to_string());
            assert_eq!(got.is_ok(), want.is_ok(), "{file}: {:?}", got.err());
            if let (Ok(a), Ok(b)) = (&got, &want) {
                assert_eq!(a, b, "{file}");
            }
        }
    }
}
