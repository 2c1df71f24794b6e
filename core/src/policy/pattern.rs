//! Status-code patterns of `on_code` rules (`"4.4.3"`, `"4.7.*"`, `"4.*.*"`, `"421"`, `"45x"`):
//! parsing, matching, which is most specific, and whether a pattern can ever fire.

use crate::smtp::Reply;
use std::fmt;

/// A pattern over status codes, as written in `on_code` keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodePattern {
    /// `class.subject.detail` with `*` allowed for subject and/or detail.
    Enhanced {
        /// 4 or 5 (2 never triggers a retry).
        class: u8,
        /// `None` for `*`.
        subject: Option<u16>,
        /// `None` for `*`.
        detail: Option<u16>,
    },
    /// A basic reply code, digits or `x` for the last two (`421`, `45x`, `4xx`).
    Basic {
        /// First digit.
        first: u8,
        /// Second digit, `None` for `x`.
        second: Option<u8>,
        /// Third digit, `None` for `x`.
        third: Option<u8>,
    },
}

impl CodePattern {
    /// Whether a reply the model emits can ever match the pattern and be retried: a rule on a
    /// permanent class (5.x.x, 5yz) never applies, because permanent failures bounce
    /// (RFC 5321 §4.2.1), and the model only emits registered enhanced codes (RFC 3463 and
    /// the IANA registry, `smtp::lookup`), so an unregistered subject or detail never
    /// matches. `Err` says why, for the loader's diagnostic.
    pub fn can_fire(&self) -> Result<(), String> {
        let permanent = "a permanent failure bounces at once and is never retried, so this rule would never apply";
        match *self {
            CodePattern::Enhanced { class: 5, .. } | CodePattern::Basic { first: 5, .. } => {
                Err(permanent.to_string())
            }
            CodePattern::Enhanced {
                subject: Some(subject),
                detail,
                ..
            } => {
                let registered = crate::smtp::REGISTRY
                    .iter()
                    .any(|c| c.subject == subject && detail.is_none_or(|d| c.detail == d));
                if registered {
                    Ok(())
                } else {
                    Err(format!(
                        "no registered enhanced status code matches {self} (RFC 3463, IANA), and mxsim only emits registered ones, so this rule would never apply"
                    ))
                }
            }
            _ => Ok(()),
        }
    }

    /// Parses `"4.4.3"`, `"4.7.*"`, `"4.*.*"`, `"421"`, `"45x"` or `"4xx"`.
    pub fn parse(text: &str) -> Result<CodePattern, String> {
        let bad = |why: &str| format!("invalid code pattern \"{text}\": {why}");
        if text.contains('.') {
            let parts: Vec<&str> = text.split('.').collect();
            if parts.len() != 3 {
                return Err(bad(
                    "expected class.subject.detail, e.g. \"4.4.3\" or \"4.7.*\"",
                ));
            }
            let class = match parts[0] {
                "4" => 4,
                "5" => 5,
                _ => {
                    return Err(bad(
                        "the class must be 4 or 5 (only failures are retried or bounced)",
                    ))
                }
            };
            let field = |p: &str| -> Result<Option<u16>, String> {
                if p == "*" {
                    return Ok(None);
                }
                let ok = !p.is_empty()
                    && p.len() <= 3
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && !(p.len() > 1 && p.starts_with('0'));
                if ok {
                    Ok(Some(p.parse().map_err(|_| bad("number too large"))?))
                } else {
                    Err(bad(
                        "subject and detail are 1-3 digits without leading zeros, or *",
                    ))
                }
            };
            let subject = field(parts[1])?;
            let detail = field(parts[2])?;
            if subject.is_none() && detail.is_some() {
                return Err(bad(
                    "a wildcard subject needs a wildcard detail (\"4.*.*\")",
                ));
            }
            Ok(CodePattern::Enhanced {
                class,
                subject,
                detail,
            })
        } else {
            let b = text.as_bytes();
            if b.len() != 3 || !matches!(b[0], b'4' | b'5') {
                return Err(bad("expected a basic code such as \"421\" or \"45x\", or an enhanced code such as \"4.4.3\""));
            }
            let digit = |c: u8| -> Result<Option<u8>, String> {
                match c {
                    b'x' | b'X' => Ok(None),
                    b'0'..=b'9' => Ok(Some(c - b'0')),
                    _ => Err(bad("digits or x only")),
                }
            };
            let second = digit(b[1])?;
            let third = digit(b[2])?;
            if second.is_none() && third.is_some() {
                return Err(bad("write \"4xx\" rather than \"4x1\""));
            }
            Ok(CodePattern::Basic {
                first: b[0] - b'0',
                second,
                third,
            })
        }
    }

    /// Whether `reply` matches.
    pub fn matches(&self, reply: Reply) -> bool {
        match *self {
            CodePattern::Enhanced {
                class,
                subject,
                detail,
            } => {
                reply.code.class == class
                    && subject.is_none_or(|s| s == reply.code.subject)
                    && detail.is_none_or(|d| d == reply.code.detail)
            }
            CodePattern::Basic {
                first,
                second,
                third,
            } => {
                let b = reply.basic;
                u16::from(first) == b / 100
                    && second.is_none_or(|s| u16::from(s) == (b / 10) % 10)
                    && third.is_none_or(|t| u16::from(t) == b % 10)
            }
        }
    }

    /// Rank for "most specific wins": full enhanced (5) > enhanced with `*` detail (4) >
    /// exact basic code (3) > class-only enhanced `4.*.*` (2) > basic with `x` (1).
    /// Enhanced codes rank above basic ones because they say more about the cause.
    pub fn specificity(&self) -> u8 {
        match *self {
            CodePattern::Enhanced {
                subject: Some(_),
                detail: Some(_),
                ..
            } => 5,
            CodePattern::Enhanced {
                subject: Some(_),
                detail: None,
                ..
            } => 4,
            CodePattern::Basic { third: Some(_), .. } => 3,
            CodePattern::Enhanced { .. } => 2,
            CodePattern::Basic { .. } => 1,
        }
    }
}

impl fmt::Display for CodePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |o: Option<u16>| o.map_or("*".to_string(), |v| v.to_string());
        let dig = |o: Option<u8>| o.map_or("x".to_string(), |v| v.to_string());
        match *self {
            CodePattern::Enhanced {
                class,
                subject,
                detail,
            } => write!(f, "{class}.{}.{}", opt(subject), opt(detail)),
            CodePattern::Basic {
                first,
                second,
                third,
            } => write!(f, "{first}{}{}", dig(second), dig(third)),
        }
    }
}
