//! Typed reading of a [`Node`] tree that records a diagnostic for every problem and keeps going.
//!
//! Each getter returns `Option<T>`: `None` means "absent or wrong, already reported". Callers
//! substitute defaults and continue, so one pass finds all problems.

use super::tree::{Entry, Kind, Node};
use crate::diagnostic::{suggest, Diagnostic};
use crate::time::{parse_duration, SimDuration};
use std::ops::Range;

/// Collects diagnostics while reading.
#[derive(Default)]
pub struct Reader {
    /// Problems found so far.
    pub diagnostics: Vec<Diagnostic>,
    /// Prefix of every path reported (`hosts[3].` while a relay's own `policy` is read, so
    /// the same policy reader serves the sender and each relay without rewriting paths).
    scope: String,
    /// Host id → position of its first declaration, so each reference is one lookup and
    /// loading stays linear in the number of hosts and references (filled by the hosts
    /// section; only looked up, never iterated).
    pub host_index: std::collections::HashMap<String, usize>,
    /// Declared links (from, to) as host positions, for the same reason (filled by the links
    /// section).
    pub link_set: std::collections::HashSet<(usize, usize)>,
    /// The hosts section itself was refused (not an array, or over `limits.hosts_max`): host
    /// references are then not reported again as unknown (no follow-on errors).
    pub hosts_refused: bool,
    /// Host ids already reported as invalid (e.g. too long): references to them are not
    /// reported again as unknown.
    pub refused_ids: std::collections::HashSet<String>,
}

/// The fields of one table, checked against the names it may hold.
pub struct Fields<'a> {
    entries: &'a [Entry],
    /// Path of the table itself (`hosts[2]`).
    pub path: String,
    /// Span of the table.
    pub span: Option<Range<usize>>,
}

/// `parent.child` or `child` when the parent is the root.
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

impl<'a> Fields<'a> {
    /// The node under `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.value)
    }

    /// Path of field `key` inside this table.
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

/// Longest name (host id, domain, scenario name) in characters, refused before any lookup
/// or suggestion works on it.
pub const NAME_MAX: usize = 255;

impl Reader {
    /// Exchanges the name indexes (hosts, links, refused names) with `other`: a reader for a
    /// side pass (a named policy read on its own) borrows them and gives them back.
    pub fn swap_names(&mut self, other: &mut Reader) {
        std::mem::swap(&mut self.host_index, &mut other.host_index);
        std::mem::swap(&mut self.link_set, &mut other.link_set);
        std::mem::swap(&mut self.hosts_refused, &mut other.hosts_refused);
        std::mem::swap(&mut self.refused_ids, &mut other.refused_ids);
    }

    /// Records a problem.
    pub fn error(
        &mut self,
        path: &str,
        span: Option<Range<usize>>,
        message: String,
        help: Option<String>,
    ) {
        let mut d = if self.scope.is_empty() {
            Diagnostic::new(path, span, message)
        } else {
            Diagnostic::new(format!("{}{path}", self.scope), span, message)
        };
        d.help = help;
        self.diagnostics.push(d);
    }

    /// Reports keyword `got` (at `span` of field `path`) as none of `choices`:
    /// `unknown <label> "got"`, with the near choice or, failing that, the choices, each a
    /// `what` (`kind` is `(label, what)`, e.g. `("relay mode", "mode")`).
    pub fn unknown_keyword<'c>(
        &mut self,
        path: &str,
        span: Option<Range<usize>>,
        got: &str,
        kind: (&str, &str),
        choices: impl IntoIterator<Item = &'c str> + Clone,
    ) {
        let help = unknown_name_help(got, choices, kind.1);
        self.error(
            path,
            span,
            format!("unknown {} \"{got}\"", kind.0),
            Some(help),
        );
    }

    /// Runs `read` with every reported path prefixed by `scope` (e.g. `hosts[3].`).
    pub fn scoped<T>(&mut self, scope: &str, read: impl FnOnce(&mut Self) -> T) -> T {
        let inner = format!("{}{scope}", self.scope);
        let outer = std::mem::replace(&mut self.scope, inner);
        let out = read(self);
        self.scope = outer;
        out
    }

    /// Reads `node` as a table whose keys must be among `allowed`; unknown keys are reported
    /// with a near-miss suggestion (typos are errors, never silently ignored).
    pub fn table<'a>(
        &mut self,
        node: &'a Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<Fields<'a>> {
        self.table_with_help(node, path, allowed, "")
    }

    /// [`Reader::table`], with `more` appended to the help of an unknown field (where the
    /// allowed names come from a registry the user can list, e.g. `[expect]`'s metrics).
    pub fn table_with_help<'a>(
        &mut self,
        node: &'a Node,
        path: &str,
        allowed: &[&str],
        more: &str,
    ) -> Option<Fields<'a>> {
        let Kind::Table(entries) = &node.kind else {
            self.type_error(node, path, "a table");
            return None;
        };
        for e in entries {
            if !allowed.contains(&e.key.as_str()) {
                let help = match suggest(&e.key, allowed.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?{more}"),
                    None => format!("allowed fields here: {}{more}", allowed.join(", ")),
                };
                self.error(
                    &join(path, &e.key),
                    e.key_span.clone().or_else(|| node.span.clone()),
                    format!("unknown field `{}`", e.key),
                    Some(help),
                );
            }
        }
        Some(Fields {
            entries,
            path: path.to_string(),
            span: node.span.clone(),
        })
    }

    /// Reports that a required field is missing.
    pub fn missing(&mut self, fields: &Fields<'_>, key: &str, help: &str) {
        self.error(
            &fields.path_of(key),
            fields.span.clone(),
            format!("missing field `{key}`"),
            Some(help.to_string()),
        );
    }

    /// Reports a value of the wrong kind.
    pub fn type_error(&mut self, node: &Node, path: &str, expected: &str) {
        self.error(
            path,
            node.span.clone(),
            format!("expected {expected}, found {}", node.kind.describe()),
            None,
        );
    }

    /// A string.
    pub fn string<'a>(&mut self, node: &'a Node, path: &str) -> Option<&'a str> {
        match &node.kind {
            Kind::Str(s) => Some(s),
            _ => {
                self.type_error(node, path, "a string");
                None
            }
        }
    }

    /// A non-empty string.
    pub fn name(&mut self, node: &Node, path: &str) -> Option<String> {
        let s = self.string(node, path)?;
        if s.trim().is_empty() {
            self.error(path, node.span.clone(), "must not be empty".into(), None);
            return None;
        }
        let len = s.chars().count();
        if len > NAME_MAX {
            self.error(
                path,
                node.span.clone(),
                format!("a name of {len} characters; at most {NAME_MAX}"),
                Some("names are host ids and domain names: a DNS name is at most 255 octets (RFC 1035 §2.3.4)".into()),
            );
            return None;
        }
        Some(s.to_string())
    }

    /// A boolean.
    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match node.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.type_error(node, path, "true or false");
                None
            }
        }
    }

    /// A number (integer or float), finite.
    pub fn number(&mut self, node: &Node, path: &str) -> Option<f64> {
        let x = match node.kind {
            Kind::Int(i) => i as f64,
            Kind::Float(f) => f,
            _ => {
                self.type_error(node, path, "a number");
                return None;
            }
        };
        if !x.is_finite() {
            self.error(
                path,
                node.span.clone(),
                format!("{x} is not a finite number"),
                None,
            );
            return None;
        }
        Some(x)
    }

    /// A number in `[lo, hi]`, with a message naming the range.
    pub fn number_in(
        &mut self,
        node: &Node,
        path: &str,
        lo: f64,
        hi: f64,
        what: &str,
    ) -> Option<f64> {
        let x = self.number(node, path)?;
        // NaN compares false with everything, so it is refused explicitly.
        if x.is_nan() || x < lo || x > hi {
            self.error(
                path,
                node.span.clone(),
                format!("{what} must be between {lo} and {hi}, got {x}"),
                None,
            );
            return None;
        }
        Some(x)
    }

    /// A probability in [0, 1].
    pub fn probability(&mut self, node: &Node, path: &str) -> Option<f64> {
        let x = self.number(node, path)?;
        if !(0.0..=1.0).contains(&x) {
            self.error(
                path,
                node.span.clone(),
                format!("probability must be between 0 and 1, got {x}"),
                Some(if x > 1.0 && x <= 100.0 {
                    format!(
                        "shares are fractions: if you meant {x}%, write {}",
                        x / 100.0
                    )
                } else {
                    "use a value such as 0.05 for 5%".into()
                }),
            );
            return None;
        }
        Some(x)
    }

    /// A non-negative integer no larger than `max`.
    pub fn unsigned(&mut self, node: &Node, path: &str, max: u64) -> Option<u64> {
        match node.kind {
            Kind::Int(i) if i >= 0 && (i as u64) <= max => Some(i as u64),
            Kind::Int(i) => {
                self.error(
                    path,
                    node.span.clone(),
                    format!("must be between 0 and {max}, got {i}"),
                    None,
                );
                None
            }
            _ => {
                self.type_error(node, path, "a non-negative integer");
                None
            }
        }
    }

    /// A duration written as text ("90s", "15m", "4h", "5d").
    pub fn duration(&mut self, node: &Node, path: &str) -> Option<SimDuration> {
        match &node.kind {
            Kind::Str(s) => match parse_duration(s) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.error(
                        path,
                        node.span.clone(),
                        e.message,
                        Some("durations are an integer and a unit: \"250ms\", \"90s\", \"15m\", \"4h\", \"5d\", or compounds like \"1h30m\"".into()),
                    );
                    None
                }
            },
            Kind::Int(_) | Kind::Float(_) => {
                self.error(
                    path,
                    node.span.clone(),
                    format!(
                        "expected a duration string, found the bare number {}",
                        number_text(&node.kind)
                    ),
                    Some("add a unit, e.g. \"30s\" or \"15m\"".into()),
                );
                None
            }
            _ => {
                self.type_error(node, path, "a duration string such as \"15m\"");
                None
            }
        }
    }

    /// A strictly positive duration.
    pub fn positive_duration(&mut self, node: &Node, path: &str) -> Option<SimDuration> {
        let d = self.duration(node, path)?;
        if d.as_ms() == 0 {
            self.error(
                path,
                node.span.clone(),
                "must be longer than zero".into(),
                None,
            );
            return None;
        }
        Some(d)
    }

    /// An array.
    pub fn array<'a>(&mut self, node: &'a Node, path: &str) -> Option<&'a [Node]> {
        match &node.kind {
            Kind::Array(a) => Some(a),
            _ => {
                self.type_error(node, path, "an array");
                None
            }
        }
    }

    /// A "one of these forms" value: either a bare string naming a unit variant, or a table with
    /// exactly one key naming a variant. Returns the variant name and its payload (if any).
    pub fn variant<'a>(
        &mut self,
        node: &'a Node,
        path: &str,
        unit_variants: &[&str],
        data_variants: &[&str],
    ) -> Option<(&'a str, Option<&'a Node>)> {
        let all: Vec<&str> = unit_variants.iter().chain(data_variants).copied().collect();
        let unknown = |r: &mut Reader, name: &str, span| {
            let help = match suggest(name, all.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("expected one of: {}", all.join(", ")),
            };
            r.error(path, span, format!("unknown kind `{name}`"), Some(help));
        };
        match &node.kind {
            Kind::Str(s) => {
                if unit_variants.contains(&s.as_str()) {
                    Some((s.as_str(), None))
                } else if data_variants.contains(&s.as_str()) {
                    self.error(
                        path,
                        node.span.clone(),
                        format!("`{s}` needs parameters"),
                        Some(format!("write it as a table: {{ {s} = {{ ... }} }}")),
                    );
                    None
                } else {
                    unknown(self, s, node.span.clone());
                    None
                }
            }
            Kind::Table(entries) if entries.len() == 1 => {
                let e = &entries[0];
                if data_variants.contains(&e.key.as_str()) {
                    Some((e.key.as_str(), Some(&e.value)))
                } else {
                    unknown(
                        self,
                        &e.key,
                        e.key_span.clone().or_else(|| node.span.clone()),
                    );
                    None
                }
            }
            _ => {
                self.error(
                    path,
                    node.span.clone(),
                    format!("expected one of: {}", all.join(", ")),
                    Some(format!(
                        "write a single form, e.g. {}",
                        example_form(unit_variants, data_variants)
                    )),
                );
                None
            }
        }
    }
}

fn example_form(unit: &[&str], data: &[&str]) -> String {
    match (unit.first(), data.first()) {
        (Some(u), _) => format!("\"{u}\""),
        (None, Some(d)) => format!("{{ {d} = ... }}"),
        _ => String::new(),
    }
}

fn number_text(k: &Kind) -> String {
    match k {
        Kind::Int(i) => i.to_string(),
        Kind::Float(f) => f.to_string(),
        _ => String::new(),
    }
}

/// The help line for a name that matches nothing: the near name ("did you mean `relay-a`?")
/// or, failing that, up to 8 declared names of the kind `what`.
pub fn unknown_name_help<'a>(
    wrong: &str,
    names: impl IntoIterator<Item = &'a str> + Clone,
    what: &str,
) -> String {
    match suggest(wrong, names.clone()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let all: Vec<&str> = names.into_iter().take(8).collect();
            if all.is_empty() {
                format!("no {what} is declared")
            } else {
                format!("declared {what}s: {}", all.join(", "))
            }
        }
    }
}

/// Reads required field `key` of `t` with `read` (given the node and its path); a missing
/// field is reported with `help`. `None` when it is missing or bad (reported either way).
pub fn required<T>(
    r: &mut Reader,
    t: &Fields<'_>,
    key: &str,
    help: &str,
    read: impl FnOnce(&mut Reader, &Node, &str) -> Option<T>,
) -> Option<T> {
    match t.get(key) {
        Some(n) => read(r, n, &t.path_of(key)),
        None => {
            r.missing(t, key, help);
            None
        }
    }
}

/// Reads optional field `key` of `t` with `read` into `slot`; a bad value (already reported)
/// clears `ok` and leaves `slot` as it was.
pub fn override_field<T>(
    r: &mut Reader,
    t: &Fields<'_>,
    key: &str,
    slot: &mut T,
    ok: &mut bool,
    read: impl FnOnce(&mut Reader, &Node, &str) -> Option<T>,
) {
    if let Some(v) = t.get(key) {
        match read(r, v, &t.path_of(key)) {
            Some(x) => *slot = x,
            None => *ok = false,
        }
    }
}

/// A mechanism switch: `true` (its defaults), `false` (off), or a table of parameters read by
/// `read` over the defaults. `None` when the value is wrong (reported).
pub fn mechanism<T: Default>(
    r: &mut Reader,
    n: &Node,
    path: &str,
    read: impl FnOnce(&mut Reader, &Node, &mut T) -> bool,
) -> Option<Option<T>> {
    match &n.kind {
        Kind::Bool(on) => Some(on.then(T::default)),
        Kind::Table(_) => {
            let mut spec = T::default();
            read(r, n, &mut spec).then_some(Some(spec))
        }
        _ => {
            r.type_error(n, path, "true, false or a table of parameters");
            None
        }
    }
}

/// A positive count up to 1 000 000 (limits such as `hop_limit`); 0 is refused rather than
/// silently read as 1.
pub fn count(r: &mut Reader, n: &Node, path: &str) -> Option<u32> {
    positive(r, n, path, 1_000_000)
}

/// A positive integer up to `max` (≤ `u32::MAX`); 0 is refused rather than read as 1.
pub fn positive(r: &mut Reader, n: &Node, path: &str, max: u32) -> Option<u32> {
    match r.unsigned(n, path, u64::from(max))? {
        0 => {
            r.error(
                path,
                n.span.clone(),
                "must be at least 1, got 0".into(),
                None,
            );
            None
        }
        // At most `max`, so it fits.
        v => Some(v as u32),
    }
}
