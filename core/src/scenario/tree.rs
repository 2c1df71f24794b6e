//! A format-neutral document tree with source spans, built from TOML or JSON.
//!
//! Validation walks this tree rather than deserialising straight into structs, so that it can
//! report *every* problem (serde stops at the first) with the span of the offending key or
//! value. Both formats give byte spans (JSON through mxsim's own reader, `scenario::json`,
//! which also refuses duplicate keys as TOML does).

use crate::diagnostic::Diagnostic;
use std::ops::Range;

/// A value with the source span it came from (when the format provides one).
#[derive(Clone, Debug)]
pub struct Node {
    /// The value.
    pub kind: Kind,
    /// Byte range in the source text.
    pub span: Option<Range<usize>>,
}

/// The value kinds a scenario can hold.
#[derive(Clone, Debug)]
pub enum Kind {
    /// A string.
    Str(String),
    /// An integer (TOML integer, or a JSON number without fraction).
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A TOML datetime, kept as text only to report that it is not accepted.
    Datetime(String),
    /// An array.
    Array(Vec<Node>),
    /// A table, entries in source order, each with the key's span.
    Table(Vec<Entry>),
}

/// One key of a table.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Key text.
    pub key: String,
    /// Span of the key.
    pub key_span: Option<Range<usize>>,
    /// The value.
    pub value: Node,
}

impl Kind {
    /// The name of the kind, for "expected a string, found an integer" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Kind::Str(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Datetime(_) => "a datetime",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }
}

/// Which text format a scenario is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// TOML (the usual scenario format).
    Toml,
    /// JSON (for generated scenarios and the browser).
    Json,
}

impl Format {
    /// Guesses the format from a file name (`.json` → JSON, anything else TOML), or from the
    /// text when the name says nothing (a leading `{` means JSON).
    pub fn detect(file: &str, text: &str) -> Format {
        if file.ends_with(".json")
            || (!file.ends_with(".toml") && text.trim_start().starts_with('{'))
        {
            Format::Json
        } else {
            Format::Toml
        }
    }
}

/// Largest scenario text accepted (64 MiB): far beyond any written or generated scenario
/// within the default limits; refused before parsing (the CLI checks it before reading).
pub const TEXT_BYTES_MAX: usize = 64 << 20;

/// Parses `text` into a tree, or returns the syntax error as a diagnostic.
pub fn parse(text: &str, format: Format) -> Result<Node, Box<Diagnostic>> {
    if text.len() > TEXT_BYTES_MAX {
        return Err(Box::new(
            Diagnostic::new(
                "",
                None,
                format!(
                    "the scenario is {} bytes; at most {} MiB",
                    text.len(),
                    TEXT_BYTES_MAX >> 20
                ),
            )
            .with_help("a scenario describes hosts and policies, not data; generate large workloads with arrival processes"),
        ));
    }
    match format {
        Format::Toml => parse_toml(text),
        Format::Json => parse_json(text),
    }
}

fn parse_toml(text: &str) -> Result<Node, Box<Diagnostic>> {
    match toml::de::DeTable::parse(text) {
        Ok(table) => {
            let span = table.span();
            Ok(Node {
                kind: toml_table(table.get_ref()),
                span: Some(span),
            })
        }
        Err(e) => Err(Box::new(Diagnostic::new("", e.span(), format!("invalid TOML: {}", e.message().trim_end_matches('.')))
            .with_help("check the syntax at this position (quotes around strings, `=` between key and value)"))),
    }
}

fn toml_table(table: &toml::de::DeTable<'_>) -> Kind {
    Kind::Table(
        table
            .iter()
            .map(|(k, v)| Entry {
                key: k.get_ref().to_string(),
                key_span: Some(k.span()),
                value: toml_node(v),
            })
            .collect(),
    )
}

fn toml_node(v: &toml::Spanned<toml::de::DeValue<'_>>) -> Node {
    use toml::de::DeValue;
    let kind = match v.get_ref() {
        DeValue::String(s) => Kind::Str(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Kind::Int(n),
            // Out of i64 range: keep it as a float so range checks report it.
            Err(_) => Kind::Float(i.as_str().parse().unwrap_or(f64::INFINITY)),
        },
        DeValue::Float(f) => Kind::Float(f.as_str().replace('_', "").parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Kind::Bool(*b),
        DeValue::Datetime(d) => Kind::Datetime(d.to_string()),
        DeValue::Array(a) => Kind::Array(a.iter().map(toml_node).collect()),
        DeValue::Table(t) => toml_table(t),
    };
    Node {
        kind,
        span: Some(v.span()),
    }
}

fn parse_json(text: &str) -> Result<Node, Box<Diagnostic>> {
    super::json::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_keys_and_values_carry_spans() {
        let src = "name = \"x\"\n[policy]\nqueue_lifetime = \"5d\"\n";
        let root = parse(src, Format::Toml).unwrap();
        let Kind::Table(entries) = root.kind else {
            panic!()
        };
        let policy = entries.iter().find(|e| e.key == "policy").unwrap();
        let Kind::Table(inner) = &policy.value.kind else {
            panic!()
        };
        let span = inner[0].value.span.clone().unwrap();
        assert_eq!(&src[span], "\"5d\"");
    }

    #[test]
    fn syntax_errors_become_diagnostics() {
        assert!(parse("a = ", Format::Toml).is_err());
        let d = parse("{\n \"a\": }", Format::Json).unwrap_err();
        assert!(d.message.starts_with("invalid JSON"), "{}", d.message);
    }

    #[test]
    fn json_and_toml_give_the_same_tree_shape() {
        let t = parse("a = 1\nb = [\"x\"]\n", Format::Toml).unwrap();
        let j = parse("{\"a\": 1, \"b\": [\"x\"]}", Format::Json).unwrap();
        assert_eq!(format!("{:?}", strip(&t)), format!("{:?}", strip(&j)));
    }

    fn strip(n: &Node) -> String {
        match &n.kind {
            Kind::Table(e) => e
                .iter()
                .map(|e| format!("{}={}", e.key, strip(&e.value)))
                .collect::<Vec<_>>()
                .join(","),
            Kind::Array(a) => a.iter().map(strip).collect::<Vec<_>>().join(";"),
            other => format!("{other:?}"),
        }
    }
}
