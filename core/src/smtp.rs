//! SMTP replies: basic reply codes (RFC 5321 §4.2), enhanced status codes (RFC 3463 and the
//! IANA registry, `reference/smtp-facts.md` §1), their classification, and the explanations that
//! `mxsim explain` prints.
//!
//! Every code the model emits is a [`Reply`] built from the registry, so a code can never be
//! misspelt in the model. Retry-versus-bounce is decided by the basic code's first digit, as
//! RFC 5321 §4.2.1 says clients must (smtp-facts §1.5 recommends letting the basic code win).

use core::fmt;
use serde::Serialize;

/// An enhanced status code `class.subject.detail` (RFC 3463 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnhancedCode {
    /// 2 success, 4 persistent transient failure, 5 permanent failure.
    pub class: u8,
    /// 0–7 in the registry (addressing, mailbox, mail system, network/routing, ...).
    pub subject: u16,
    /// Detail within the subject.
    pub detail: u16,
}

impl EnhancedCode {
    /// Builds a code; callers in the model use constants from [`codes`].
    pub const fn new(class: u8, subject: u16, detail: u16) -> Self {
        EnhancedCode {
            class,
            subject,
            detail,
        }
    }

    /// Parses `"4.4.3"` strictly per RFC 3463 §2: class 2, 4 or 5; subject and detail of one to
    /// three digits without leading zeros; no whitespace.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 3 {
            return Err(format!(
                "invalid status code \"{text}\": expected class.subject.detail such as \"4.4.3\""
            ));
        }
        let class = match parts[0] {
            "2" => 2,
            "4" => 4,
            "5" => 5,
            _ => {
                return Err(format!(
                    "invalid status code \"{text}\": the class must be 2, 4 or 5"
                ))
            }
        };
        let number = |p: &str, what: &str| -> Result<u16, String> {
            let ok = !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && !(p.len() > 1 && p.starts_with('0'));
            if ok {
                p.parse::<u16>().map_err(|e| e.to_string())
            } else {
                Err(format!(
                    "invalid status code \"{text}\": the {what} must be 1-3 digits without leading zeros"
                ))
            }
        };
        Ok(EnhancedCode::new(
            class,
            number(parts[1], "subject")?,
            number(parts[2], "detail")?,
        ))
    }

    /// True for class 4 (retry later).
    pub fn is_transient(self) -> bool {
        self.class == 4
    }

    /// True for class 5 (do not retry unchanged).
    pub fn is_permanent(self) -> bool {
        self.class == 5
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl Serialize for EnhancedCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A reply as the client sees it: basic code (RFC 5321) plus enhanced code (RFC 3463).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reply {
    /// Three-digit basic reply code, e.g. 451.
    pub basic: u16,
    /// Enhanced status code, e.g. 4.4.3.
    pub code: EnhancedCode,
}

impl Reply {
    /// Builds a reply from its two parts.
    pub const fn new(basic: u16, code: EnhancedCode) -> Self {
        Reply { basic, code }
    }

    /// 2yz: the message was accepted.
    pub fn is_success(self) -> bool {
        self.basic / 100 == 2
    }

    /// 4yz: retry later (RFC 5321 §4.2.1: the basic code's first digit decides).
    pub fn is_transient(self) -> bool {
        self.basic / 100 == 4
    }

    /// 5yz: do not retry unchanged.
    pub fn is_permanent(self) -> bool {
        self.basic / 100 == 5
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.basic, self.code)
    }
}

/// The replies the model emits, each with the basic code RFC 5321 practice pairs it with
/// (smtp-facts §1.5 and the DESIGN §3 table).
pub mod codes {
    use super::{EnhancedCode as E, Reply as R};

    /// 250 2.0.0: accepted for delivery.
    pub const OK: R = R::new(250, E::new(2, 0, 0));
    /// 451 4.4.1: no answer from host (connection refused or not answered).
    pub const NO_ANSWER: R = R::new(451, E::new(4, 4, 1));
    /// 451 4.4.3: an intermediate routing/directory server failed (the brief's soft bounce).
    pub const ROUTING_SERVER_FAILURE: R = R::new(451, E::new(4, 4, 3));
    /// 550 5.4.4: unable to route: no usable next hop exists.
    pub const UNABLE_TO_ROUTE: R = R::new(550, E::new(5, 4, 4));
    /// 550 5.1.1: bad destination mailbox (unknown user).
    pub const UNKNOWN_USER: R = R::new(550, E::new(5, 1, 1));
    /// 556 5.1.10: recipient domain has a null MX (RFC 7505 §4.1).
    pub const NULL_MX: R = R::new(556, E::new(5, 1, 10));
    /// 550 5.1.2: bad destination system (NXDOMAIN).
    pub const BAD_DESTINATION_SYSTEM: R = R::new(550, E::new(5, 1, 2));
    /// 4.4.7 delivery time expired: the queue lifetime ran out (reported in the final DSN).
    pub const EXPIRED: R = R::new(451, E::new(4, 4, 7));
    /// 451 4.4.2: bad connection: the connection dropped or a timeout expired (RFC 5321
    /// §4.5.3.2 timers; Postfix reports a greeting timeout this way).
    pub const CONNECTION_TIMED_OUT: R = R::new(451, E::new(4, 4, 2));
    /// 421 4.3.2: system not accepting network messages (too many connections; Exim's
    /// `smtp_accept_max`).
    pub const TOO_MANY_CONNECTIONS: R = R::new(421, E::new(4, 3, 2));
    /// 451 4.4.5: system congestion (the alternative over-capacity reply).
    pub const SYSTEM_CONGESTED: R = R::new(451, E::new(4, 4, 5));
    /// 451 4.7.1: greylisted, try again later (Harris's relaydelay reply, smtp-facts §6).
    pub const GREYLISTED: R = R::new(451, E::new(4, 7, 1));
    /// 554 5.4.6: routing loop detected (hop limit reached, or the local host is the best MX).
    pub const ROUTING_LOOP: R = R::new(554, E::new(5, 4, 6));
    /// 451 4.3.5: system incorrectly configured: Postfix defers a hard error from its
    /// fallback relay with this code instead of bouncing (mta-defaults.md (a)).
    pub const CONFIGURATION_ERROR: R = R::new(451, E::new(4, 3, 5));
}

/// How RFC 3463 says a code may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Usage {
    /// Only useful as a permanent failure.
    Permanent,
    /// Only useful as a persistent transient failure.
    Transient,
    /// Both uses are meaningful.
    Both,
    /// The RFC does not say.
    Unstated,
}

/// One row of the registry: `X.subject.detail`, valid for classes 2, 4 and 5.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CodeInfo {
    /// Subject number.
    pub subject: u16,
    /// Detail number.
    pub detail: u16,
    /// Short name, as in RFC 3463 §3 / IANA.
    pub name: &'static str,
    /// What it means, paraphrased from the RFC.
    pub meaning: &'static str,
    /// Basic reply codes IANA associates with it (empty: none listed).
    pub basic: &'static [u16],
    /// RFC 3463's statement about its class.
    pub usage: Usage,
    /// Where it is defined.
    pub defined_in: &'static str,
}

use Usage::{Both as B, Permanent as P, Transient as T, Unstated as U};

macro_rules! code {
    ($s:expr, $d:expr, $name:expr, $meaning:expr, [$($b:expr),*], $u:expr, $src:expr) => {
        CodeInfo { subject: $s, detail: $d, name: $name, meaning: $meaning, basic: &[$($b),*], usage: $u, defined_in: $src }
    };
}

/// Every enhanced status code of smtp-facts.md §1.2 (RFC 3463 and the IANA registry).
pub static REGISTRY: &[CodeInfo] = &[
    code!(0, 0, "Other undefined status", "only the class of the status is known", [], U, "RFC 3463 §3.1"),
    code!(1, 0, "Other address status", "something about the address is wrong, no detail known", [], U, "RFC 3463 §3.2"),
    code!(1, 1, "Bad destination mailbox address", "the mailbox (left of @) does not exist", [451, 550], P, "RFC 3463 §3.2"),
    code!(1, 2, "Bad destination system address", "the destination system (right of @) is invalid or cannot take mail", [], P, "RFC 3463 §3.2"),
    code!(1, 3, "Bad destination mailbox address syntax", "the destination address is syntactically invalid", [501], P, "RFC 3463 §3.2"),
    code!(1, 4, "Destination mailbox address ambiguous", "the address matches several mailboxes", [], U, "RFC 3463 §3.2"),
    code!(1, 5, "Destination address valid", "positive report: the address is valid", [250], U, "RFC 3463 §3.2"),
    code!(1, 6, "Destination mailbox has moved, No forwarding address", "the mailbox moved and no forwarding address is known", [], P, "RFC 3463 §3.2"),
    code!(1, 7, "Bad sender's mailbox address syntax", "the sender address is syntactically invalid", [], U, "RFC 3463 §3.2"),
    code!(1, 8, "Bad sender's system address", "the sender's system is invalid or cannot take replies", [451, 501], U, "RFC 3463 §3.2"),
    code!(1, 9, "Message relayed to non-compliant mailer", "the message went to a mailer that does not support DSNs", [], U, "RFC 3886"),
    code!(1, 10, "Recipient address has null MX", "the recipient domain publishes a null MX: it accepts no mail", [556], U, "RFC 7505"),
    code!(2, 0, "Other or undefined mailbox status", "the mailbox exists but something about it caused the report", [], U, "RFC 3463 §3.3"),
    code!(2, 1, "Mailbox disabled, not accepting messages", "the mailbox exists but accepts no mail", [], B, "RFC 3463 §3.3"),
    code!(2, 2, "Mailbox full", "the mailbox is over quota (should be transient)", [552], T, "RFC 3463 §3.3"),
    code!(2, 3, "Message length exceeds administrative limit", "the message is larger than the per-mailbox limit", [552], P, "RFC 3463 §3.3"),
    code!(2, 4, "Mailing list expansion problem", "the address is a list that could not be expanded", [450, 452], B, "RFC 3463 §3.3"),
    code!(3, 0, "Other or undefined mail system status", "the destination system has a problem, no detail known", [221, 250, 421, 451, 550, 554], U, "RFC 3463 §3.4"),
    code!(3, 1, "Mail system full", "the destination system is out of storage", [452], T, "RFC 3463 §3.4"),
    code!(3, 2, "System not accepting network messages", "the host refuses mail (shutdown, excessive load, maintenance)", [453, 521], B, "RFC 3463 §3.4, RFC 7504"),
    code!(3, 3, "System not capable of selected features", "the system lacks a feature the message needs", [], U, "RFC 3463 §3.4"),
    code!(3, 4, "Message too big for system", "the message exceeds the system's size limit", [552, 554], P, "RFC 3463 §3.4"),
    code!(3, 5, "System incorrectly configured", "the system is misconfigured", [], U, "RFC 3463 §3.4"),
    code!(3, 6, "Requested priority was changed", "the message priority was lowered or raised", [250, 251], U, "RFC 6710"),
    code!(4, 0, "Other or undefined network or routing status", "a network or routing problem, no detail known", [], U, "RFC 3463 §3.5"),
    code!(4, 1, "No answer from host", "the outbound connection was not answered (host busy or unable to take a call)", [451], T, "RFC 3463 §3.5"),
    code!(4, 2, "Bad connection", "the connection opened but the transaction could not complete (timeout, poor link)", [421], T, "RFC 3463 §3.5"),
    code!(4, 3, "Directory server failure", "the message could not be forwarded because a directory or routing server was unavailable (e.g. a DNS server could not be reached, or an intermediate relay could not forward)", [451, 550], T, "RFC 3463 §3.5"),
    code!(4, 4, "Unable to route", "the directory answered but gave no usable next hop (e.g. a lookup that returns only an SOA)", [], B, "RFC 3463 §3.5"),
    code!(4, 5, "Mail system congestion", "the mail system is congested", [451], T, "RFC 3463 §3.5"),
    code!(4, 6, "Routing loop detected", "the message has been forwarded too many times (hop limit)", [], T, "RFC 3463 §3.5"),
    code!(4, 7, "Delivery time expired", "the message was too old: its time in the queue or its sender's TTL ran out", [], U, "RFC 3463 §3.5"),
    code!(5, 0, "Other or undefined protocol status", "a protocol problem, no detail known", [220, 250, 251, 252, 253, 451, 452, 454, 458, 459, 501, 502, 503, 554], U, "RFC 3463 §3.6"),
    code!(5, 1, "Invalid command", "a command was out of sequence or unsupported", [430, 500, 501, 503, 530, 550, 554, 555], P, "RFC 3463 §3.6"),
    code!(5, 2, "Syntax error", "a command could not be parsed", [500, 501, 502, 550, 555], P, "RFC 3463 §3.6"),
    code!(5, 3, "Too many recipients", "more recipients than the server accepts per transaction", [451], U, "RFC 3463 §3.6"),
    code!(5, 4, "Invalid command arguments", "a command's arguments were invalid", [451, 501, 502, 503, 504, 550, 555], P, "RFC 3463 §3.6"),
    code!(5, 5, "Wrong protocol version", "the protocol version is not supported", [], U, "RFC 3463 §3.6"),
    code!(5, 6, "Authentication Exchange line is too long", "an AUTH exchange line was too long", [500], B, "RFC 4954"),
    code!(6, 0, "Other or undefined media error", "a content problem, no detail known", [], U, "RFC 3463 §3.7"),
    code!(6, 1, "Media not supported", "the media type is not supported", [], P, "RFC 3463 §3.7"),
    code!(6, 2, "Conversion required and prohibited", "a conversion is needed but not allowed", [], U, "RFC 3463 §3.7"),
    code!(6, 3, "Conversion required but not supported", "a conversion is needed but not possible (e.g. 8-bit to 7-bit)", [554], U, "RFC 3463 §3.7"),
    code!(6, 4, "Conversion with loss performed", "the message was converted with loss", [250], U, "RFC 3463 §3.7"),
    code!(6, 5, "Conversion Failed", "a conversion failed", [], B, "RFC 3463 §3.7"),
    code!(6, 6, "Message content not available", "referenced content (BURL) could not be fetched", [554], B, "RFC 4468"),
    code!(6, 7, "Non-ASCII addresses not permitted for that sender/recipient", "internationalised addresses are not allowed here", [553, 550], U, "RFC 6531"),
    code!(6, 8, "UTF-8 string reply is required, but not permitted by the SMTP client", "the server needs a UTF-8 reply the client does not allow", [252, 553, 550], U, "RFC 6531"),
    code!(6, 9, "UTF-8 header message cannot be transferred to one or more recipients", "a UTF-8 header cannot be passed on", [550], U, "RFC 6531"),
    code!(6, 10, "Deprecated duplicate of X.6.8", "do not use; see X.6.8", [], U, "RFC 6531"),
    code!(7, 0, "Other or undefined security status", "a security problem, no detail known", [220, 235, 450, 454, 500, 501, 503, 504, 530, 535, 550], U, "RFC 3463 §3.8"),
    code!(7, 1, "Delivery not authorized, message refused", "policy refused the message (host or recipient filtering); often used by greylisting as 451 4.7.1", [451, 454, 502, 503, 533, 550, 551], P, "RFC 3463 §3.8"),
    code!(7, 2, "Mailing list expansion prohibited", "the sender may not expand this list", [550], P, "RFC 3463 §3.8"),
    code!(7, 3, "Security conversion required but not possible", "a security conversion is needed but impossible", [], P, "RFC 3463 §3.8"),
    code!(7, 4, "Security features not supported", "requested security features are not supported", [504], P, "RFC 3463 §3.8"),
    code!(7, 5, "Cryptographic failure", "a cryptographic operation failed", [], U, "RFC 3463 §3.8"),
    code!(7, 6, "Cryptographic algorithm not supported", "the algorithm is not supported", [], U, "RFC 3463 §3.8"),
    code!(7, 7, "Message integrity failure", "the message failed an integrity check", [], U, "RFC 3463 §3.8"),
    code!(7, 8, "Authentication credentials invalid", "AUTH failed: bad credentials", [535, 554], U, "RFC 4954"),
    code!(7, 9, "Authentication mechanism is too weak", "the AUTH mechanism is too weak", [534], U, "RFC 4954"),
    code!(7, 10, "Encryption Needed", "encryption is required", [523], U, "RFC 5248"),
    code!(7, 11, "Encryption required for requested authentication mechanism", "this AUTH mechanism needs TLS", [524, 538], U, "RFC 4954"),
    code!(7, 12, "A password transition is needed", "the user must change password", [422, 432], U, "RFC 4954"),
    code!(7, 13, "User Account Disabled", "the sending account is disabled", [525], U, "RFC 5248"),
    code!(7, 14, "Trust relationship required", "the server requires a trust relationship", [535, 554], U, "RFC 5248"),
    code!(7, 15, "Priority Level is too low", "the message priority is too low", [450, 550], U, "RFC 6710"),
    code!(7, 16, "Message is too big for the specified priority", "too big for its priority", [552], U, "RFC 6710"),
    code!(7, 17, "Mailbox owner has changed", "RRVS: the mailbox changed owner", [], U, "RFC 7293"),
    code!(7, 18, "Domain owner has changed", "RRVS: the domain changed owner", [], U, "RFC 7293"),
    code!(7, 19, "RRVS test cannot be completed", "RRVS check impossible", [], U, "RFC 7293"),
    code!(7, 20, "No passing DKIM signature found", "no DKIM signature passed", [550], U, "RFC 7372"),
    code!(7, 21, "No acceptable DKIM signature found", "no acceptable DKIM signature", [550], U, "RFC 7372"),
    code!(7, 22, "No valid author-matched DKIM signature found", "no author-aligned DKIM signature", [550], U, "RFC 7372"),
    code!(7, 23, "SPF validation failed", "SPF check failed", [550], U, "RFC 7372"),
    code!(7, 24, "SPF validation error", "SPF check hit an error (replaces the old 4.4.3 use for SPF temperror)", [451, 550], U, "RFC 7372"),
    code!(7, 25, "Reverse DNS validation failed", "the client's reverse DNS did not validate", [550], U, "RFC 7372"),
    code!(7, 26, "Multiple authentication checks failed", "several authentication checks failed", [550], U, "RFC 7372"),
    code!(7, 27, "Sender address has null MX", "the sender domain publishes a null MX", [550], U, "RFC 7505"),
    code!(7, 28, "Mail flood detected", "too many messages from this source", [], U, "draft-levine-mailbomb-header"),
    code!(7, 29, "ARC validation failure", "the ARC chain did not validate", [], U, "RFC 8617"),
    code!(7, 30, "REQUIRETLS support required", "the message requires REQUIRETLS", [], U, "RFC 8689"),
];

/// Looks up `X.subject.detail` in the registry.
pub fn lookup(code: EnhancedCode) -> Option<&'static CodeInfo> {
    REGISTRY
        .iter()
        .find(|c| c.subject == code.subject && c.detail == code.detail)
}

/// What the class digit says (RFC 3463 §2).
pub fn class_meaning(class: u8) -> &'static str {
    match class {
        2 => "success: the action was completed",
        4 => "persistent transient failure (soft bounce): the message is valid, a temporary condition prevented delivery; sending it again later may succeed",
        _ => "permanent failure (hard bounce): sending the same message again, unchanged, will not succeed",
    }
}

/// What the subject digit covers (RFC 3463 §2).
pub fn subject_meaning(subject: u16) -> &'static str {
    match subject {
        0 => "other or undefined",
        1 => "addressing",
        2 => "mailbox (controlled by the recipient)",
        3 => "mail system (controlled by the destination's administrator)",
        4 => "network and routing (destination or intermediate systems, directory services)",
        5 => "mail delivery protocol",
        6 => "message content or media",
        _ => "security or policy",
    }
}

/// An explanation of one code, as `mxsim explain` prints it and the wasm API returns it.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// The code asked about.
    pub code: EnhancedCode,
    /// Registry name.
    pub name: &'static str,
    /// Meaning, paraphrased from the RFC.
    pub meaning: &'static str,
    /// What the class digit says.
    pub class_meaning: &'static str,
    /// What the subject digit covers.
    pub subject_meaning: &'static str,
    /// Usual basic reply codes (IANA).
    pub basic: &'static [u16],
    /// RFC 3463's statement about transient/permanent use.
    pub usage: Usage,
    /// Whether a sender retries (class 4) or bounces (class 5).
    pub transient: bool,
    /// What a sender does on receiving it: retries, bounces, or (4.4.7/5.4.7) has given up.
    pub sender: &'static str,
    /// Where the code is defined.
    pub defined_in: &'static str,
    /// Codes easily confused with this one, and how they differ.
    pub neighbours: Vec<Neighbour>,
    /// What a sender should do on receiving it.
    pub advice: &'static str,
    /// Quirks worth knowing (RFC vs practice).
    pub notes: &'static [&'static str],
}

/// A code often confused with another, and the difference.
#[derive(Clone, Debug, Serialize)]
pub struct Neighbour {
    /// The neighbouring code.
    pub code: EnhancedCode,
    /// Its registry name.
    pub name: &'static str,
    /// How it differs from the code explained.
    pub difference: &'static str,
}

/// Codes confused with X.4.3 and the difference, from smtp-facts §1.3.
const ROUTING_NEIGHBOURS: &[(u8, u16, u16, &str)] = &[
    (4, 4, 1, "no answer from the host the sender itself connected to; X.4.3 means a server further along (relay or DNS) failed"),
    (4, 4, 2, "the connection opened but broke or timed out mid-transaction"),
    (4, 4, 3, "a directory/routing server in the path was unavailable: routing was attempted and an intermediate server failed"),
    (4, 4, 4, "the directory answered but gave no usable next hop (X.4.3: the directory could not be reached at all)"),
    (5, 4, 4, "permanent: no route exists at all; do not retry unchanged (X.4.3: routing was attempted and may work later)"),
    (4, 4, 5, "the mail system is congested; back off harder"),
    (4, 4, 7, "the sender's own queue lifetime ran out; report the underlying code too"),
];

/// Explains a code given as text (`"4.4.3"`). Unknown but well-formed codes fall back to the
/// subject's X.s.0 entry, as RFC 3463 §2 tells clients to do.
pub fn explain(text: &str) -> Result<Explanation, String> {
    let code = EnhancedCode::parse(text.trim())?;
    let (info, fallback) = match lookup(code) {
        Some(i) => (i, false),
        None => (
            lookup(EnhancedCode::new(code.class, code.subject, 0)).ok_or_else(|| {
                format!(
                    "unknown status code \"{text}\": subject {} is not in the registry (0-7)",
                    code.subject
                )
            })?,
            true,
        ),
    };
    let neighbours = if code.subject == 4 {
        ROUTING_NEIGHBOURS
            .iter()
            .filter(|(c, s, d, _)| EnhancedCode::new(*c, *s, *d) != code)
            .map(|&(c, s, d, diff)| {
                let n = EnhancedCode::new(c, s, d);
                Neighbour {
                    code: n,
                    name: lookup(n).map_or("", |i| i.name),
                    difference: diff,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Explanation {
        code,
        name: info.name,
        meaning: if fallback {
            "not in the registry: treat it as its subject's generic status (RFC 3463 §2 fallback)"
        } else {
            info.meaning
        },
        class_meaning: class_meaning(code.class),
        subject_meaning: subject_meaning(code.subject),
        basic: info.basic,
        usage: info.usage,
        transient: code.is_transient(),
        sender: sender_action(code),
        defined_in: info.defined_in,
        neighbours,
        advice: advice(code),
        notes: notes(code),
    })
}

/// What a sender does on a reply with `code` (RFC 5321 §4.2.1: the class decides), except
/// X.4.7, which is the sender's own give-up rather than a reply to act on (RFC 3463 §3.5).
fn sender_action(code: EnhancedCode) -> &'static str {
    match (code.class, code.subject, code.detail) {
        (_, 4, 7) => "has given up: the queue lifetime ran out and the message is returned with a failure DSN",
        (2, _, _) => "is done: the message was accepted",
        (4, _, _) => "keeps the message queued and retries",
        _ => "bounces the message (no retry)",
    }
}

/// What a sender should do, per code; the routing family follows the brief (R1, R9, R16).
fn advice(code: EnhancedCode) -> &'static str {
    match (code.class, code.subject, code.detail) {
        (2, _, _) => "nothing: the message was accepted",
        (4, 4, 3) => "keep the message queued and retry later with patience: routing problems can take hours to clear. Retry the same destination no sooner than the RFC 5321 §4.5.4.1 minimum (30 min); 1-4 h intervals suit 4.4.3 (brief R1/R9). Prefer another MX, relay or route if one exists (R3/R4), cache DNS answers (R8), and look at which relay or resolver failed (R2/R11)",
        (4, 4, 1) => "try the next MX address in the same attempt (RFC 5321 §5.1), then retry later with backoff; remember the host as unreachable so other messages skip it until its retry time (§4.5.4.1)",
        (4, 4, 2) => "retry later; if a host keeps dropping connections, back off that host for all messages",
        (4, 4, 4) | (5, 4, 4) => "check the recipient domain's DNS (MX and address records) and your own routing table; retrying unchanged rarely helps",
        (4, 4, 5) | (4, 3, 2) => "back off harder and lower concurrency towards that destination; add jitter so retries do not arrive together",
        (4, 4, 7) | (5, 4, 7) => "the sender gave up: send a failure DSN that reports the last real error, not just the expiry",
        (4, 7, 1) => "typical greylisting: retry after a few minutes from the same client address; a retry within 5-15 minutes usually passes",
        (4, 2, 2) => "mailbox full: retry later, but give up sooner than for network problems",
        (5, 1, 1) => "do not retry: remove or correct the address",
        (5, 1, 10) => "do not retry: the domain publishes a null MX and accepts no mail (RFC 7505)",
        (5, 1, 2) => "do not retry: the destination domain does not exist",
        (4, _, _) => "retry later with backoff until the queue lifetime (RFC 5321 suggests at least 4-5 days)",
        _ => "do not retry unchanged: bounce the message with a DSN that carries this code",
    }
}

/// Quirks from smtp-facts §1.3.
fn notes(code: EnhancedCode) -> &'static [&'static str] {
    match (code.subject, code.detail) {
        (4, 3) => &[
            "RFC 3463's body names X.4.3 \"directory server failure\" (its example: unable to reach a DNS server); its Appendix A calls it \"routing server failure\". mxsim simulates both readings: a cut-through relay that cannot forward, and a resolver that cannot answer",
            "IANA lists 451 and 550 as basic codes; Postfix emits 5.4.3 for an unrecoverable DNS failure although RFC 3463 calls X.4.3 transient only",
        ],
        (7, 1) => &["RFC 3463 says permanent only, yet greylisting commonly answers 451 4.7.1"],
        (4, 6) => &["RFC 3463 says transient only, yet Postfix uses 5.4.6 for mail that loops back to itself"],
        (2, 2) => &["should be transient, yet IANA pairs it with 552; let the basic code decide retry versus bounce"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_codes() {
        let c = EnhancedCode::parse("4.4.3").unwrap();
        assert_eq!(c, EnhancedCode::new(4, 4, 3));
        assert_eq!(c.to_string(), "4.4.3");
        assert_eq!(EnhancedCode::parse("5.1.10").unwrap().detail, 10);
    }

    #[test]
    fn refuses_malformed_codes() {
        for bad in [
            "3.4.3", "4.4", "4.04.3", "4.4.3.1", "4.x.3", " ", "4.1234.1",
        ] {
            assert!(EnhancedCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registry_has_no_duplicates_and_model_codes_are_registered() {
        for (i, a) in REGISTRY.iter().enumerate() {
            for b in &REGISTRY[i + 1..] {
                assert!(
                    !(a.subject == b.subject && a.detail == b.detail),
                    "{}.{}",
                    a.subject,
                    a.detail
                );
            }
        }
        for r in [
            codes::OK,
            codes::NO_ANSWER,
            codes::ROUTING_SERVER_FAILURE,
            codes::UNABLE_TO_ROUTE,
            codes::UNKNOWN_USER,
            codes::NULL_MX,
            codes::BAD_DESTINATION_SYSTEM,
            codes::EXPIRED,
        ] {
            assert!(lookup(r.code).is_some(), "{r}");
            assert_eq!(r.is_transient(), r.code.is_transient(), "{r}");
        }
    }

    #[test]
    fn explain_4_4_3_names_its_neighbours() {
        let e = explain("4.4.3").unwrap();
        assert_eq!(e.name, "Directory server failure");
        assert!(e.transient);
        let n: Vec<String> = e.neighbours.iter().map(|n| n.code.to_string()).collect();
        for want in ["4.4.4", "4.4.1", "5.4.4"] {
            assert!(n.contains(&want.to_string()), "{n:?}");
        }
        assert!(e.advice.contains("1-4 h"));
    }

    #[test]
    fn explain_falls_back_to_subject_for_unregistered_detail() {
        let e = explain("4.4.99").unwrap();
        assert_eq!(e.name, "Other or undefined network or routing status");
        assert!(explain("4.9.1").is_err());
    }
}
