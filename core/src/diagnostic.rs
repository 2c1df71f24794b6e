//! Diagnostics: what is wrong with an input, where, and how to fix it.
//!
//! Validation never stops at the first problem and never panics: it returns every diagnostic
//! at once. Each names the field path (`hosts[2].failure.bernoulli.p`), the line and column when
//! the format has spans (TOML does, JSON here does not), a lowercase message quoting the bad
//! value, and a hint. The CLI renders them as text; wasm passes the same fields as JSON.

use serde::Serialize;
use std::fmt;
use std::ops::Range;

/// One problem in a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Field path, e.g. `hosts[2].failure.bernoulli.p`; empty for the whole document.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// What is wrong: lowercase, no final period, quoting the bad value.
    pub message: String,
    /// How to fix it, or a near-miss name ("did you mean `relay-a`?").
    pub help: Option<String>,
    /// Byte range in the source, used to compute line and column.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

impl Diagnostic {
    /// A diagnostic at `path` with an optional source span.
    pub fn new(
        path: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            path: path.into(),
            line: None,
            column: None,
            message: message.into(),
            help: None,
            span,
        }
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every problem found in one input, with the file name used to render locations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostics {
    /// File name as given by the caller (e.g. `scenarios/relay.toml`, or `<input>`).
    pub file: String,
    /// The problems, in source order where known.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Fills line/column from spans against `source`, makes the text safe to print
    /// ([`printable`]) and orders items by position.
    pub fn locate(file: &str, source: &str, mut items: Vec<Diagnostic>) -> Self {
        for d in &mut items {
            d.message = printable(&d.message);
            d.path = printable(&d.path);
            d.help = d.help.as_deref().map(printable);
            if let Some(span) = &d.span {
                let (line, column) = line_column(source, span.start);
                d.line = Some(line);
                d.column = Some(column);
            }
        }
        items.sort_by_key(|d| (d.line.unwrap_or(usize::MAX), d.column.unwrap_or(0)));
        items.dedup();
        Diagnostics {
            file: printable(file),
            items,
        }
    }
}

/// Longest quoted user text kept whole in a message, in characters.
pub const QUOTE_MAX: usize = 80;

/// `text` made safe to print on a terminal and short enough to read: control characters
/// become `\u{…}` escapes (a scenario cannot move the cursor or recolour the screen), and a
/// quoted segment longer than [`QUOTE_MAX`] characters keeps its first 60 with its length.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4096));
    let mut rest = text;
    loop {
        let (plain, quoted) = match rest.find('"') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        escape_into(&mut out, plain);
        let Some(after) = quoted else { break };
        out.push('"');
        let Some(end) = after.find('"') else {
            escape_into(&mut out, &shorten(after));
            break;
        };
        escape_into(&mut out, &shorten(&after[..end]));
        out.push('"');
        rest = &after[end + 1..];
    }
    out
}

fn shorten(s: &str) -> String {
    let n = s.chars().count();
    if n <= QUOTE_MAX {
        s.to_string()
    } else {
        format!(
            "{}…({n} characters)",
            s.chars().take(60).collect::<String>()
        )
    }
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
}

impl fmt::Display for Diagnostics {
    /// Renders `error: … \n  --> file:line:col (path)\n  help: …` per problem, then a count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.items {
            writeln!(f, "error: {}", d.message)?;
            let location = match (d.line, d.column) {
                (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file),
                _ => self.file.clone(),
            };
            if d.path.is_empty() {
                writeln!(f, "  --> {location}")?;
            } else {
                writeln!(f, "  --> {location} ({})", d.path)?;
            }
            if let Some(h) = &d.help {
                writeln!(f, "  help: {h}")?;
            }
        }
        let n = self.items.len();
        write!(
            f,
            "{n} problem{} found in {}",
            if n == 1 { "" } else { "s" },
            self.file
        )
    }
}

/// 1-based line and character column of byte offset `at` in `source`.
pub fn line_column(source: &str, at: usize) -> (usize, usize) {
    let at = at.min(source.len());
    let before = &source[..floor_char_boundary(source, at)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Longest name (in characters) for which near names are suggested: a typo in a longer text
/// is not what a suggestion helps with, and the distance table grows with the square of the
/// length (a 40 000-character id took 4 GB).
pub const SUGGEST_LEN_MAX: usize = 64;

/// The closest name to `wrong` among `candidates`, if close enough to be a likely typo
/// (Levenshtein distance ≤ max(1, len/3)). Names longer than [`SUGGEST_LEN_MAX`], and
/// candidates whose length alone puts them out of reach, are skipped.
pub fn suggest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = wrong.chars().count();
    if len > SUGGEST_LEN_MAX {
        return None;
    }
    let limit = (len / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| {
            let n = c.chars().count();
            n <= SUGGEST_LEN_MAX && n.abs_diff(len) <= limit
        })
        .map(|c| (levenshtein(wrong, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal-string-alignment distance: Levenshtein plus adjacent transpositions ("frmo" → "from"
/// is one edit), which is how most typos happen.
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(line_column(src, 0), (1, 1));
        assert_eq!(line_column(src, 6), (2, 1));
        assert_eq!(line_column(src, src.find('=').unwrap()), (1, 3));
    }

    #[test]
    fn suggests_near_names_only() {
        let names = ["latency", "from", "to"];
        assert_eq!(suggest("latncy", names), Some("latency"));
        assert_eq!(suggest("frmo", names), Some("from"));
        assert_eq!(suggest("bandwidth", names), None);
        let long = "h".repeat(40_000);
        let shown = printable(&format!("unknown host \"{long}\" (x)"));
        assert_eq!(
            shown,
            format!("unknown host \"{}…(40000 characters)\" (x)", "h".repeat(60))
        );
        assert_eq!(printable("id \"a\u{1b}[31mb\""), "id \"a\\u{1b}[31mb\"");
        assert_eq!(suggest(&long, [long.as_str()]), None);
    }
}
