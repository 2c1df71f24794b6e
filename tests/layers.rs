//! Goal: core's modules depend one way only, as ARCHITECTURE.md's layer table says.
//!
//! Method: read every core source file, collect the modules it names through `crate::…`
//! outside comments and unit tests, and fail on (a) a module missing from the table, (b) an
//! import of a higher layer, (c) a cycle between modules (within a layer too). Submodules
//! count as their parent (`policy::backoff` is `policy`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layer table, lowest first (keep in step with ARCHITECTURE.md "Layers").
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundation",
        &[
            "ids",
            "time",
            "smtp",
            "diagnostic",
            "engine",
            "random",
            "stats",
        ],
    ),
    (
        "mechanisms",
        &[
            "failure", "policy", "dns", "topology", "network", "qmgr", "shared", "shaping",
        ],
    ),
    (
        "records",
        &[
            "happening",
            "report",
            "trace",
            "metric",
            "expect",
            "compare",
            "sweep",
            "figures",
        ],
    ),
    ("scenario", &["scenario"]),
    (
        "run",
        &[
            "arrivals", "message", "session", "mta", "attempt", "metrics", "observe", "recorder",
            "snapshot",
        ],
    ),
    ("orchestration", &["simulation", "experiment"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The top-level module a file belongs to (`core/src/policy/exim.rs` → `policy`).
fn module_of(path: &Path, src: &Path) -> String {
    let rel = path.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Modules named through `crate::` in code (not comments, not `mod tests`).
fn imports(text: &str) -> BTreeSet<String> {
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("core/src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        if f == src.join("lib.rs") {
            continue;
        }
        let module = module_of(&f, &src);
        let text = std::fs::read_to_string(&f).unwrap();
        let deps = g.entry(module.clone()).or_default();
        deps.extend(imports(&text).into_iter().filter(|m| *m != module));
    }
    g
}

#[test]
fn every_core_module_is_in_the_layer_table() {
    for module in graph().keys() {
        assert!(
            layer_of(module).is_some(),
            "core module `{module}` is not in the layer table (tests/layers.rs, ARCHITECTURE.md)"
        );
    }
}

#[test]
fn core_imports_never_go_up_a_layer() {
    let mut wrong = Vec::new();
    for (module, deps) in graph() {
        let Some(own) = layer_of(&module) else {
            continue;
        };
        for dep in deps {
            match layer_of(&dep) {
                Some(l) if l <= own => {}
                Some(l) => wrong.push(format!(
                    "{module} ({}) imports {dep} ({})",
                    LAYERS[own].0, LAYERS[l].0
                )),
                None => wrong.push(format!("{module} imports {dep}, which is in no layer")),
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn core_modules_form_no_cycle() {
    let g = graph();
    // Depth-first search with colours: grey on the stack, black done.
    fn visit<'a>(
        m: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        colour: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match colour.get(m) {
            Some(2) => return None,
            Some(1) => {
                let start = stack.iter().position(|s| *s == m).unwrap();
                let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        colour.insert(m, 1);
        stack.push(m);
        for d in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, g, colour, stack) {
                return Some(c);
            }
        }
        stack.pop();
        colour.insert(m, 2);
        None
    }
    let mut colour = BTreeMap::new();
    for m in g.keys() {
        if let Some(cycle) = visit(m, &g, &mut colour, &mut Vec::new()) {
            panic!("import cycle in core: {}", cycle.join(" → "));
        }
    }
}
