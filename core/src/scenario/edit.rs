//! Edits of a scenario before it is validated: `PATH=VALUE` overrides (the CLI's `--set`,
//! `sweep --param`, overrides in `compare --policy`) and the choice of a policy (a preset, a
//! named `[policies.<name>]` table, or the scenario's own `[policy]`).
//!
//! Edits work on the format-neutral tree ([`super::tree`]), before the loader reads it, so an
//! edited scenario is checked by exactly the same rules as a written one: an override cannot
//! produce a scenario that the file could not have said. Paths name fields as docs/scenario.md
//! does: `policy.retry.exponential.initial`, `hosts[relay-a].failure.markov.mean_down` (an
//! array element by its `id`, `name`, `from->to` for links, or its index), and
//! `policy.on_code."4.4.3".fixed` (quoted keys may hold dots).

use super::load::load_tree;
use super::tree::{self, Entry, Format, Kind, Node};
use super::Scenario;
use crate::diagnostic::{suggest, Diagnostics};
use std::fmt;

/// Longest path or value text accepted (a sane bound before any parsing).
pub const EDIT_TEXT_MAX: usize = 4096;

/// One step of a path: a table key, or an array element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A key of a table.
    Key(String),
    /// An array element by index.
    Index(usize),
    /// An array element by its `id` (hosts), `name` (domains) or `from->to` (links).
    Id(String),
}

/// `PATH=VALUE`: set the field at `path` to `value`, creating missing tables on the way.
#[derive(Clone, Debug)]
pub struct Edit {
    /// Where.
    pub path: Vec<Step>,
    /// The new value (spans cleared: it does not come from the file).
    pub value: Node,
    /// The edit as written, for messages and labels.
    pub text: String,
}

impl Edit {
    /// Parses `PATH=VALUE`. VALUE is a TOML value (`3`, `true`, `"5m"`, `{ fixed = "1h" }`,
    /// `["1m", "5m"]`); text that is not one is taken as a string, so `5m` means `"5m"`.
    pub fn parse(text: &str) -> Result<Edit, String> {
        let (path, value) = split_assignment(text)
            .ok_or_else(|| format!("`{text}` is not PATH=VALUE (e.g. policy.retry.fixed=1h)"))?;
        Ok(Edit {
            path: parse_path(path)?,
            value: parse_value(value),
            text: text.to_string(),
        })
    }

    /// The path as text, e.g. `hosts[relay-a].failure`.
    pub fn path_text(&self) -> String {
        path_text(&self.path)
    }
}

/// Parses a policy spec, as `mxsim compare --policy` and the browser take it: `NAME` (a
/// preset, a named policy of the scenario, or `scenario`), `NAME:PATH=VALUE[,PATH=VALUE…]`
/// (that policy with edits), or `PATH=VALUE[,…]` (the scenario's own policy with edits).
/// Returns the name and the edits.
pub fn parse_policy_spec(text: &str) -> Result<(String, Vec<Edit>), String> {
    let eq = top_level_positions(text, '=').first().copied();
    let colon = top_level_positions(text, ':').first().copied();
    let (name, edits) = match (colon, eq) {
        (_, None) => (text.trim(), ""),
        (Some(c), Some(e)) if c < e => (text[..c].trim(), &text[c + 1..]),
        (_, Some(_)) => ("scenario", text),
    };
    if name.is_empty() {
        return Err("no policy name before `:`".into());
    }
    let edits = if edits.trim().is_empty() {
        Vec::new()
    } else {
        split_list(edits)
            .into_iter()
            .map(Edit::parse)
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok((name.to_string(), edits))
}

/// Splits at the first `=` outside quotes and brackets.
pub fn split_assignment(text: &str) -> Option<(&str, &str)> {
    let i = top_level_positions(text, '=').into_iter().next()?;
    Some((text[..i].trim(), text[i + 1..].trim()))
}

/// Byte positions of `sep` outside double quotes, brackets and braces.
pub fn top_level_positions(text: &str, sep: char) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    for (i, c) in text.char_indices() {
        if quoted {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            c if c == sep && depth == 0 => out.push(i),
            _ => {}
        }
    }
    out
}

/// Splits `text` at commas outside quotes and brackets (`--param` value lists).
pub fn split_list(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in top_level_positions(text, ',') {
        out.push(text[start..i].trim());
        start = i + 1;
    }
    out.push(text[start..].trim());
    out
}

/// Parses a path: keys (bare `A-Za-z0-9_-`, or `"quoted"`) joined by `.`, each optionally
/// followed by `[element]` selectors.
pub fn parse_path(text: &str) -> Result<Vec<Step>, String> {
    if text.len() > EDIT_TEXT_MAX {
        return Err(format!("path longer than {EDIT_TEXT_MAX} characters"));
    }
    let bad = |why: &str| {
        Err(format!(
            "bad path `{text}`: {why} (paths look like policy.retry.exponential.initial, hosts[relay-a].failure or policy.on_code.\"4.4.3\".fixed)"
        ))
    };
    let mut steps = Vec::new();
    let mut rest = text.trim();
    if rest.is_empty() {
        return bad("empty");
    }
    loop {
        // A key.
        if let Some(q) = rest.strip_prefix('"') {
            let Some(end) = q.find('"') else {
                return bad("unclosed quote");
            };
            steps.push(Step::Key(q[..end].to_string()));
            rest = &q[end + 1..];
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(rest.len());
            if end == 0 {
                return bad("expected a key");
            }
            steps.push(Step::Key(rest[..end].to_string()));
            rest = &rest[end..];
        }
        // Selectors.
        while let Some(sel) = rest.strip_prefix('[') {
            let Some(end) = sel.find(']') else {
                return bad("unclosed `[`");
            };
            let inner = sel[..end].trim().trim_matches('"');
            if inner.is_empty() {
                return bad("empty `[]`");
            }
            steps.push(match inner.parse::<usize>() {
                Ok(i) => Step::Index(i),
                Err(_) => Step::Id(inner.to_string()),
            });
            rest = &sel[end + 1..];
        }
        if rest.is_empty() {
            return Ok(steps);
        }
        match rest.strip_prefix('.') {
            Some(r) if !r.is_empty() => rest = r,
            _ => return bad("expected `.` between keys"),
        }
    }
}

/// The text of a path, as [`parse_path`] reads it.
pub fn path_text(path: &[Step]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    out.push_str(k);
                } else {
                    out.push_str(&format!("\"{k}\""));
                }
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::Id(id) => out.push_str(&format!("[{id}]")),
        }
    }
    out
}

/// A TOML value, or the text as a string when it is not one.
pub fn parse_value(text: &str) -> Node {
    let text = text.trim();
    let parsed = (text.len() <= EDIT_TEXT_MAX)
        .then(|| tree::parse(&format!("v = {text}\n"), Format::Toml).ok())
        .flatten();
    let value = parsed.and_then(|root| match root.kind {
        Kind::Table(mut e) if e.len() == 1 => Some(e.remove(0).value),
        _ => None,
    });
    match value {
        Some(v) => without_spans(v),
        None => Node {
            kind: Kind::Str(text.to_string()),
            span: None,
        },
    }
}

fn without_spans(mut n: Node) -> Node {
    n.span = None;
    n.kind = match n.kind {
        Kind::Array(a) => Kind::Array(a.into_iter().map(without_spans).collect()),
        Kind::Table(t) => Kind::Table(
            t.into_iter()
                .map(|e| Entry {
                    key: e.key,
                    key_span: None,
                    value: without_spans(e.value),
                })
                .collect(),
        ),
        k => k,
    };
    n
}

/// Applies `edit` to the scenario tree `root`.
pub fn apply(root: &mut Node, edit: &Edit) -> Result<(), String> {
    let mut node = root;
    let last = edit.path.len() - 1;
    for (i, step) in edit.path.iter().enumerate() {
        let so_far = || path_text(&edit.path[..i]);
        let here = || path_text(&edit.path[..=i]);
        node = match (step, &mut node.kind) {
            (Step::Key(k), Kind::Table(entries)) => {
                let at = match entries.iter().position(|e| &e.key == k) {
                    Some(at) => at,
                    None => {
                        entries.push(Entry {
                            key: k.clone(),
                            key_span: None,
                            value: Node {
                                kind: Kind::Table(Vec::new()),
                                span: None,
                            },
                        });
                        entries.len() - 1
                    }
                };
                &mut entries[at].value
            }
            (Step::Index(at), Kind::Array(items)) => {
                let n = items.len();
                items
                    .get_mut(*at)
                    .ok_or_else(|| format!("{}: no element {at} (the array has {n})", here()))?
            }
            (Step::Id(id), Kind::Array(items)) => {
                let names: Vec<String> = items.iter().filter_map(element_name).collect();
                match items
                    .iter_mut()
                    .find(|it| element_name(it).as_deref() == Some(id))
                {
                    Some(it) => it,
                    None => {
                        let near = suggest(id, names.iter().map(String::as_str));
                        return Err(format!(
                            "{}: no element named \"{id}\"{}",
                            here(),
                            near.map_or_else(
                                || format!(" (there are: {})", names.join(", ")),
                                |n| format!("; did you mean `{n}`?")
                            )
                        ));
                    }
                }
            }
            (Step::Key(k), Kind::Array(_)) => {
                return Err(format!(
                    "{} is an array: select an element, e.g. {}[0].{k} or by its id",
                    so_far(),
                    so_far()
                ))
            }
            (Step::Index(_) | Step::Id(_), _) => {
                return Err(format!("{} is not an array", so_far()))
            }
            (Step::Key(_), other) => {
                return Err(format!(
                    "{} is {}, not a table: set it whole instead",
                    so_far(),
                    other.describe()
                ))
            }
        };
        if i == last {
            *node = edit.value.clone();
        }
    }
    Ok(())
}

/// How an array element is named in a path: `id` (hosts), `name` (domains) or `from->to`.
fn element_name(n: &Node) -> Option<String> {
    let Kind::Table(entries) = &n.kind else {
        return None;
    };
    let text = |key: &str| {
        entries
            .iter()
            .find(|e| e.key == key)
            .and_then(|e| match &e.value.kind {
                Kind::Str(s) => Some(s.clone()),
                _ => None,
            })
    };
    text("id")
        .or_else(|| text("name"))
        .or_else(|| Some(format!("{}->{}", text("from")?, text("to")?)))
}

/// The `[policy]` fields a preset defines (`RetryPolicy`): choosing a preset replaces them.
const RETRY_KEYS: &[&str] = &[
    "preset",
    "retry",
    "on_code",
    "backoff_counts",
    "queue_lifetime",
    "give_up",
    "max_attempts",
    "max_attempts_check",
    "queue_scan",
    "delay_warnings",
    "honor_hints",
];

/// Replaces the sender's policy by the chosen one: `scenario` (unchanged), a named
/// `[policies.<name>]` table (merged over `[policy]`, as the loader does), or a preset (its
/// retry fields replace the scenario's; routing and network settings stay).
pub fn choose_policy(root: &mut Node, name: &str) -> Result<(), String> {
    let Kind::Table(top) = &mut root.kind else {
        return Ok(()); // the loader reports a non-table document
    };
    if name == "scenario" {
        return Ok(());
    }
    let named = top
        .iter()
        .find(|e| e.key == "policies")
        .and_then(|e| match &e.value.kind {
            Kind::Table(t) => Some(t),
            _ => None,
        });
    let own = named.and_then(|t| t.iter().find(|e| e.key == name));
    let replacement: Vec<Entry> = if let Some(own) = own {
        let Kind::Table(own) = &own.value.kind else {
            return Ok(()); // the loader reports it
        };
        own.clone()
    } else if crate::policy::preset(name).is_some() {
        vec![Entry {
            key: "preset".into(),
            key_span: None,
            value: Node {
                kind: Kind::Str(name.into()),
                span: None,
            },
        }]
    } else {
        let mut all: Vec<String> = vec!["scenario".into()];
        all.extend(named.into_iter().flatten().map(|e| e.key.clone()));
        all.extend(crate::policy::presets().iter().map(|p| p.name.to_string()));
        let near = suggest(name, all.iter().map(String::as_str));
        return Err(format!(
            "`{name}` is not a named policy of the scenario nor a preset; {}policies: {}",
            near.map_or(String::new(), |n| format!("did you mean `{n}`? ")),
            all.join(", ")
        ));
    };
    let is_preset = own.is_none();
    let at = match top.iter().position(|e| e.key == "policy") {
        Some(at) => at,
        None => {
            top.push(Entry {
                key: "policy".into(),
                key_span: None,
                value: Node {
                    kind: Kind::Table(Vec::new()),
                    span: None,
                },
            });
            top.len() - 1
        }
    };
    let Kind::Table(policy) = &mut top[at].value.kind else {
        return Ok(()); // the loader reports it
    };
    policy.retain(|e| {
        let replaced = replacement.iter().any(|r| r.key == e.key);
        let by_preset = is_preset && RETRY_KEYS.contains(&e.key.as_str());
        !(replaced || by_preset)
    });
    policy.extend(replacement);
    Ok(())
}

/// Why an edited scenario could not be loaded.
#[derive(Clone, Debug)]
pub enum EditError {
    /// A policy name or an edit did not apply (the message names it).
    Edit(String),
    /// The edited scenario is invalid: the loader's diagnostics.
    Invalid(Box<Diagnostics>),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::Edit(m) => write!(f, "error: {m}"),
            EditError::Invalid(d) => write!(f, "{d}"),
        }
    }
}

/// Parses `text`, chooses `policy` (if any), applies `edits` in order and validates the
/// result with the normal loader.
pub fn load_edited(
    text: &str,
    file: &str,
    policy: Option<&str>,
    edits: &[Edit],
) -> Result<Scenario, EditError> {
    let format = Format::detect(file, text);
    let mut root = match tree::parse(text, format) {
        Ok(n) => n,
        Err(d) => {
            return Err(EditError::Invalid(Box::new(Diagnostics::locate(
                file,
                text,
                vec![*d],
            ))))
        }
    };
    if let Some(name) = policy {
        choose_policy(&mut root, name).map_err(EditError::Edit)?;
    }
    for e in edits {
        apply(&mut root, e).map_err(|m| EditError::Edit(format!("`{}`: {m}", e.text)))?;
    }
    load_tree(&root, file, text).map_err(|d| EditError::Invalid(Box::new(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
name = "t"
seed = 3
[workload]
arrivals = { poisson_per_hour = 60, for = "1h" }
domains = [{ name = "example.org" }]
[[hosts]]
id = "out"
role = "sender"
[[hosts]]
id = "mx.example.org"
role = "mx"
failure = { markov = { mean_up = "2h", mean_down = "20m" } }
[[links]]
from = "out"
to = "mx.example.org"
[[domains]]
name = "example.org"
mx = [{ preference = 10, host = "mx.example.org" }]
[policy]
retry = { fixed = "10m" }
queue_lifetime = "1d"
[policies.patient]
retry = { fixed = "1h" }
"#;

    fn edited(policy: Option<&str>, edits: &[&str]) -> Result<Scenario, EditError> {
        let edits: Vec<Edit> = edits.iter().map(|e| Edit::parse(e).unwrap()).collect();
        load_edited(BASE, "t.toml", policy, &edits)
    }

    #[test]
    fn paths_parse_keys_quoted_keys_and_selectors() {
        assert_eq!(
            parse_path("policy.on_code.\"4.4.3\".fixed").unwrap(),
            ["policy", "on_code", "4.4.3", "fixed"].map(|k| Step::Key(k.into()))
        );
        assert_eq!(
            parse_path("hosts[mx.example.org].failure").unwrap(),
            vec![
                Step::Key("hosts".into()),
                Step::Id("mx.example.org".into()),
                Step::Key("failure".into())
            ]
        );
        assert_eq!(parse_path("hosts[1]").unwrap()[1], Step::Index(1));
        for bad in ["", "a..b", "a.", "a[", "a[]", "\"a", "a b", ".a"] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
        let p = "policy.on_code.\"4.4.3\".fixed";
        assert_eq!(path_text(&parse_path(p).unwrap()), p);
    }

    #[test]
    fn values_are_toml_or_else_strings() {
        assert!(matches!(parse_value("3").kind, Kind::Int(3)));
        assert!(matches!(parse_value("true").kind, Kind::Bool(true)));
        assert!(matches!(parse_value("5m").kind, Kind::Str(ref s) if s == "5m"));
        assert!(matches!(parse_value("\"a,b\"").kind, Kind::Str(ref s) if s == "a,b"));
        assert!(matches!(
            parse_value("{ fixed = \"1h\" }").kind,
            Kind::Table(_)
        ));
        assert_eq!(
            split_list("1m, { fixed = \"1h\", x = [1, 2] },\"a,b\""),
            vec!["1m", "{ fixed = \"1h\", x = [1, 2] }", "\"a,b\""]
        );
    }

    #[test]
    fn an_edit_is_the_same_as_writing_the_field() {
        let by_edit = edited(None, &["policy.retry.fixed=1h"]).unwrap();
        let by_file = load_edited(
            &BASE.replace("retry = { fixed = \"10m\" }", "retry = { fixed = \"1h\" }"),
            "t.toml",
            None,
            &[],
        )
        .unwrap();
        assert_eq!(by_edit, by_file);
        let host = edited(None, &["hosts[mx.example.org].failure.markov.mean_down=1h"]).unwrap();
        assert_ne!(host, edited(None, &[]).unwrap());
        // Missing tables are created on the way.
        let code = edited(None, &["policy.on_code.\"4.4.3\".fixed=2h"]).unwrap();
        assert_eq!(code.policy.retry.on_code.len(), 1);
    }

    #[test]
    fn choosing_a_policy_matches_the_loaded_named_policy_and_the_preset() {
        let base = edited(None, &[]).unwrap();
        let patient = edited(Some("patient"), &[]).unwrap();
        assert_eq!(patient.policy, base.policies[0].1);
        let mut postfix = edited(Some("postfix"), &[]).unwrap();
        // Named policies are merged over the edited [policy]; compare the rest.
        postfix.policies = base.policies.clone();
        let mut by_struct = base.clone();
        by_struct.policy.retry = crate::policy::preset("postfix").unwrap().policy;
        assert_eq!(postfix, by_struct);
        // Overrides apply on top of the chosen policy.
        let tuned = edited(Some("postfix"), &["policy.queue_lifetime=2d"]).unwrap();
        assert_eq!(
            tuned.policy.retry.queue_lifetime,
            crate::time::SimDuration::from_days(2)
        );
    }

    #[test]
    fn bad_edits_name_the_problem() {
        let msg = |p: Option<&str>, e: &[&str]| edited(p, e).unwrap_err().to_string();
        assert!(msg(Some("patent"), &[]).contains("did you mean `patient`"));
        assert!(
            msg(None, &["hosts[mx.example.com].id=x"]).contains("did you mean `mx.example.org`")
        );
        assert!(msg(None, &["hosts.id=x"]).contains("is an array"));
        assert!(msg(None, &["hosts[7].id=x"]).contains("no element 7"));
        assert!(msg(None, &["seed.x=1"]).contains("not a table"));
        // The loader judges fields and values, with the usual diagnostics.
        assert!(msg(None, &["policy.retyr.fixed=1h"]).contains("retyr"));
        assert!(msg(None, &["policy.retry.fixed=soon"]).contains("policy.retry.fixed"));
        assert!(Edit::parse("policy.retry").is_err());
    }
}
