//! A JSON reader (RFC 8259) that builds the scenario tree with byte spans and refuses
//! duplicate keys, so JSON scenarios get the same diagnostics as TOML ones: line and column
//! for every problem, and "duplicate key" where TOML would say it (serde_json keeps no
//! positions and lets the last duplicate win silently).
//!
//! Nesting deeper than [`DEPTH_MAX`] is refused (no stack exhaustion on hostile input); work
//! and memory are linear in the text's length.

use super::tree::{Entry, Kind, Node};
use crate::diagnostic::Diagnostic;

/// Deepest nesting of arrays and objects accepted (serde_json's default limit too).
pub const DEPTH_MAX: usize = 128;

/// Parses `text` into a tree with spans, or the first syntax problem as a diagnostic.
pub fn parse(text: &str) -> Result<Node, Box<Diagnostic>> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    p.skip_space();
    let node = p.value()?;
    p.skip_space();
    if p.at < p.bytes.len() {
        return Err(p.error(p.at, "text after the end of the document", None));
    }
    Ok(node)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, at: usize, what: &str, help: Option<&str>) -> Box<Diagnostic> {
        let end = (at + 1).min(self.bytes.len()).max(at);
        let mut d = Diagnostic::new("", Some(at..end), format!("invalid JSON: {what}"));
        if let Some(h) = help {
            d = d.with_help(h);
        }
        Box::new(d)
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Result<Node, Box<Diagnostic>> {
        let start = self.at;
        let kind =
            match self.bytes.get(self.at) {
                None => return Err(self.error(self.at, "unexpected end of the document", None)),
                Some(b'{') => self.object()?,
                Some(b'[') => self.array()?,
                Some(b'"') => Kind::Str(self.string()?),
                Some(b't') => self.word("true", Kind::Bool(true))?,
                Some(b'f') => self.word("false", Kind::Bool(false))?,
                // As before: null reads as an empty string, which every typed field refuses.
                Some(b'n') => self.word("null", Kind::Str(String::new()))?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(_) => return Err(self.error(
                    self.at,
                    "expected a value",
                    Some(
                        "values are \"strings\", numbers, true, false, null, [arrays] or {objects}",
                    ),
                )),
            };
        Ok(Node {
            kind,
            span: Some(start..self.at),
        })
    }

    fn word(&mut self, word: &str, kind: Kind) -> Result<Kind, Box<Diagnostic>> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(kind)
        } else {
            Err(self.error(self.at, "expected a value", Some("strings need \"quotes\"")))
        }
    }

    fn enter(&mut self) -> Result<(), Box<Diagnostic>> {
        self.depth += 1;
        if self.depth > DEPTH_MAX {
            return Err(self.error(
                self.at,
                &format!("nested deeper than {DEPTH_MAX} levels"),
                None,
            ));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Kind, Box<Diagnostic>> {
        self.enter()?;
        self.at += 1; // {
        let mut entries: Vec<Entry> = Vec::new();
        let mut keys = std::collections::HashSet::new();
        self.skip_space();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
            self.depth -= 1;
            return Ok(Kind::Table(entries));
        }
        loop {
            self.skip_space();
            if self.bytes.get(self.at) != Some(&b'"') {
                return Err(self.error(
                    self.at,
                    "expected a \"key\"",
                    Some("object keys are strings in double quotes"),
                ));
            }
            let key_start = self.at;
            let key = self.string()?;
            let key_span = key_start..self.at;
            if !keys.insert(key.clone()) {
                return Err(Box::new(
                    Diagnostic::new(
                        "",
                        Some(key_span),
                        format!("invalid JSON: duplicate key \"{key}\""),
                    )
                    .with_help("name each key once in an object (TOML refuses duplicates too)"),
                ));
            }
            self.skip_space();
            if self.bytes.get(self.at) != Some(&b':') {
                return Err(self.error(self.at, "expected `:` after the key", None));
            }
            self.at += 1;
            self.skip_space();
            let value = self.value()?;
            entries.push(Entry {
                key,
                key_span: Some(key_span),
                value,
            });
            self.skip_space();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    self.depth -= 1;
                    return Ok(Kind::Table(entries));
                }
                _ => {
                    return Err(self.error(
                        self.at,
                        "expected `,` or `}` after a value",
                        Some("separate entries with commas; no comma after the last one"),
                    ))
                }
            }
        }
    }

    fn array(&mut self) -> Result<Kind, Box<Diagnostic>> {
        self.enter()?;
        self.at += 1; // [
        let mut items = Vec::new();
        self.skip_space();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
            self.depth -= 1;
            return Ok(Kind::Array(items));
        }
        loop {
            self.skip_space();
            items.push(self.value()?);
            self.skip_space();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    self.depth -= 1;
                    return Ok(Kind::Array(items));
                }
                _ => {
                    return Err(self.error(
                        self.at,
                        "expected `,` or `]` after an element",
                        Some("separate elements with commas; no comma after the last one"),
                    ))
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, Box<Diagnostic>> {
        let open = self.at;
        self.at += 1; // "
        let mut out = String::new();
        loop {
            let Some(&b) = self.bytes.get(self.at) else {
                return Err(self.error(open, "unterminated string", None));
            };
            match b {
                b'"' => {
                    self.at += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let esc = self.at;
                    self.at += 1;
                    let c = match self.bytes.get(self.at) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.at += 1;
                            let hi = self.hex4(esc)?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                // A surrogate pair: \uD83D\uDE00.
                                if !self.bytes[self.at..].starts_with(b"\\u") {
                                    return Err(self.error(
                                        esc,
                                        "unpaired surrogate in \\u escape",
                                        None,
                                    ));
                                }
                                self.at += 2;
                                let lo = self.hex4(esc)?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.error(
                                        esc,
                                        "unpaired surrogate in \\u escape",
                                        None,
                                    ));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            let c = char::from_u32(code)
                                .ok_or_else(|| self.error(esc, "invalid \\u escape", None))?;
                            out.push(c);
                            continue;
                        }
                        _ => {
                            return Err(self.error(
                                esc,
                                "invalid escape",
                                Some("escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX"),
                            ))
                        }
                    };
                    self.at += 1;
                    out.push(c);
                }
                0..=0x1f => {
                    return Err(self.error(
                        self.at,
                        "control character in a string",
                        Some("write it as an escape, e.g. \\n or \\u001b"),
                    ))
                }
                _ => {
                    // Copy the run of ordinary characters at once (the text is valid UTF-8,
                    // and `"`, `\` and control bytes never occur inside a multi-byte char).
                    let run = self.bytes[self.at..]
                        .iter()
                        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                        .map_or(self.bytes.len(), |n| self.at + n);
                    out.push_str(&self.text[self.at..run]);
                    self.at = run;
                }
            }
        }
    }

    fn hex4(&mut self, esc: usize) -> Result<u32, Box<Diagnostic>> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error(esc, "\\u needs four hex digits", None))?;
        self.at += 4;
        Ok(u32::from_str_radix(digits, 16).expect("checked hex digits"))
    }

    fn number(&mut self) -> Result<Kind, Box<Diagnostic>> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let from = p.at;
            while p.bytes.get(p.at).is_some_and(u8::is_ascii_digit) {
                p.at += 1;
            }
            p.at - from
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let int_start = self.at;
        let n = digits(self);
        if n == 0 || (n > 1 && self.bytes[int_start] == b'0') {
            return Err(self.error(
                start,
                "invalid number",
                Some("numbers look like 3, -1, 0.25 or 1e-3 (no leading zeros)"),
            ));
        }
        let mut integer = true;
        if self.bytes.get(self.at) == Some(&b'.') {
            integer = false;
            self.at += 1;
            if digits(self) == 0 {
                return Err(self.error(start, "invalid number: digits must follow `.`", None));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            integer = false;
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return Err(self.error(
                    start,
                    "invalid number: digits must follow the exponent",
                    None,
                ));
            }
        }
        let text = &self.text[start..self.at];
        if integer {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Kind::Int(i));
            }
        }
        // Fractions, exponents and integers beyond i64 (range checks then report them).
        Ok(Kind::Float(text.parse::<f64>().unwrap_or(f64::INFINITY)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> String {
        format!("{:?}", strip(&parse(text).unwrap()))
    }

    fn strip(n: &Node) -> String {
        match &n.kind {
            Kind::Table(e) => format!(
                "{{{}}}",
                e.iter()
                    .map(|e| format!("{}:{}", e.key, strip(&e.value)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Kind::Array(a) => format!("[{}]", a.iter().map(strip).collect::<Vec<_>>().join(",")),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn values_parse_as_serde_json_reads_them() {
        let text = r#" {"a": [1, -2, 3.5, 1e3, 12345678901234567890, true, false, null],
            "s": "x\"\\\/\n\u00e9\ud83d\ude00", "o": {}} "#;
        let mine = kinds(text);
        assert!(mine.contains("Int(1)") && mine.contains("Int(-2)") && mine.contains("Float(3.5)"));
        assert!(mine.contains("Float(1000.0)") && mine.contains("Float(1.2345678901234567e19)"));
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let s = v["s"].as_str().unwrap();
        let root = parse(text).unwrap();
        let Kind::Table(e) = root.kind else { panic!() };
        assert!(matches!(&e[1].value.kind, Kind::Str(x) if x == s));
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "{\n  \"seed\": 7\n}";
        let root = parse(text).unwrap();
        let Kind::Table(e) = root.kind else { panic!() };
        assert_eq!(&text[e[0].key_span.clone().unwrap()], "\"seed\"");
        assert_eq!(&text[e[0].value.span.clone().unwrap()], "7");
    }

    #[test]
    fn bad_documents_are_refused_with_a_position() {
        for (text, want) in [
            ("{\"a\": 1, \"a\": 2}", "duplicate key \"a\""),
            ("{\"a\": 1,}", "expected a \"key\""),
            ("[1 2]", "expected `,` or `]`"),
            ("{\"a\" 1}", "expected `:`"),
            ("\"abc", "unterminated string"),
            ("01", "invalid number"),
            ("1.", "digits must follow"),
            ("tru", "expected a value"),
            ("{} x", "text after the end"),
            ("\"\\q\"", "invalid escape"),
            ("\"\\ud800\"", "unpaired surrogate"),
            ("\"a\u{1}\"", "control character"),
            ("", "unexpected end"),
        ] {
            let d = parse(text).unwrap_err();
            assert!(d.message.contains(want), "{text:?}: {}", d.message);
            assert!(d.span.is_some());
        }
        let deep = "[".repeat(DEPTH_MAX + 1) + &"]".repeat(DEPTH_MAX + 1);
        assert!(parse(&deep).unwrap_err().message.contains("nested deeper"));
        let ok = "[".repeat(DEPTH_MAX) + &"]".repeat(DEPTH_MAX);
        assert!(parse(&ok).is_ok());
    }
}
