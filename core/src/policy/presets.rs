//! Built-in retry policies of real MTAs and resilience libraries, each following the reference
//! cited in its doc comment (`reference/mta-defaults.md`, `reference/smtp-facts.md`,
//! `reference/retry-and-visualizers.md`). A scenario uses one with `[policy] preset = "exim"`
//! and may override any field; `mxsim schedule <name>` prints its timeline.
//!
//! Scope: message-level schedules. Host/key-level state that some MTAs share across messages
//! (Exim host retry records, Postfix's dead-destination timer, PowerMTA backoff mode) is not
//! part of a preset yet.

use super::backoff::{parse_list, Backoff, Jitter};
use super::exim::{EximRules, DEFAULT_RULES};
use super::{GiveUp, MaxAttemptsCheck, RetryPolicy};
use crate::time::SimDuration;
use serde::Serialize;
use std::fmt;

/// A named, documented retry policy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Preset {
    /// Name used in scenario files.
    pub name: &'static str,
    /// What it is, in a sentence.
    pub summary: &'static str,
    /// The reference it follows.
    pub source: &'static str,
    /// The policy.
    #[serde(serialize_with = "policy_summary")]
    pub policy: RetryPolicy,
}

#[derive(Serialize)]
struct PolicySummary {
    retry: String,
    queue_lifetime: String,
    give_up: &'static str,
    max_attempts: Option<u32>,
    queue_scan: Option<String>,
    delay_warnings: Vec<String>,
}

fn policy_summary<S: serde::Serializer>(p: &RetryPolicy, s: S) -> Result<S::Ok, S::Error> {
    PolicySummary {
        retry: p.default.to_string(),
        queue_lifetime: p.queue_lifetime.to_string(),
        give_up: p.give_up.name(),
        max_attempts: p.max_attempts.map(|(n, _)| n),
        queue_scan: p.queue_scan.map(|d| d.to_string()),
        delay_warnings: p.delay_warnings.iter().map(ToString::to_string).collect(),
    }
    .serialize(s)
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.summary)
    }
}

fn mins(m: u64) -> SimDuration {
    SimDuration::from_mins(m)
}

fn policy(default: Backoff, lifetime: SimDuration, give_up: GiveUp) -> RetryPolicy {
    RetryPolicy {
        queue_lifetime: lifetime,
        give_up,
        ..RetryPolicy::simple(default)
    }
}

/// Postfix 3.x qmgr: `delay = clamp(age, minimal_backoff_time 300 s, maximal_backoff_time
/// 4000 s)`; `maximal_queue_lifetime` 5 d checked after a failed attempt (bounce on the first
/// failure at or after 5 d); `delay_warning_time` 0 (off). Timeline 0, 5m, 10m, 20m, 40m,
/// 1h20m, 2h26m40s, 3h33m20s, then every 4000 s; 113 attempts (mta-defaults.md §b Postfix;
/// smtp-facts.md §2.3, §7). Add `queue_scan = "5m"` for `queue_run_delay` rounding.
fn postfix() -> Preset {
    Preset {
        name: "postfix",
        summary: "Postfix qmgr: wait = message age clamped to 5m..4000s; bounce on the first failure after 5 days",
        source: "Postfix qmgr_active.c, mail_params.h (mta-defaults.md §b)",
        policy: policy(Backoff::AgeClamp { min: mins(5), max: SimDuration::from_secs(4000) }, SimDuration::from_days(5), GiveUp::AfterAttempt),
    }
}

/// Exim's stock rule `F,2h,15m; G,16h,1h,1.5; F,4d,6h` with `retry_interval_max` 24 h, in
/// whole seconds as Exim counts, tried only at Debian's 30-minute queue runs; past the 4-day
/// cutoff the next queue run makes a forced attempt and its failure times the address out
/// (spec ch. 32.11). Give-up: 4d0h00m–4d0h30m after 24–25 attempts, by where the message
/// arrives between two queue runs (`mxsim schedule exim`); the earlier model, which waited
/// for the next scheduled retry, said ≈4d5h02m after ≈29. `delay_warning` 24 h
/// (mta-defaults.md §b Exim). Verified against Exim 4.96's logs (`tests/real_mta.rs`).
fn exim() -> Preset {
    let mut p = policy(
        Backoff::Exim(EximRules::parse(DEFAULT_RULES).expect("the default rule parses")),
        // Exim gives up by its rules; the lifetime only bounds runaway rules (retry_data_expire).
        SimDuration::from_days(7),
        GiveUp::AfterAttempt,
    );
    p.delay_warnings = vec![SimDuration::from_hours(24)];
    // Debian's exim4 daemon runs the queue every 30 minutes (`QUEUEINTERVAL='30m'` in
    // /etc/default/exim4), counted from the daemon's start: deferred mail is tried only then.
    p.queue_scan = Some(super::QueueScan::every(mins(30)));
    Preset {
        name: "exim",
        summary: "Exim default retry rule: every 15m for 2h, then geometric from 1h x1.5 to 16h, then every 6h until 4 days",
        source: "Exim configure.default, src/retry.c (mta-defaults.md §b)",
        policy: p,
    }
}

/// KumoMTA: `retry_interval` 20 min doubling, no `max_retry_interval`, jitter
/// ±min(interval/20, 60 s)/2, expired as soon as `age + next delay > max_age` (7 d). Timeline
/// 0, 20m, 1h, 2h20m, 5h, 10h20m, 21h, 42h20m, 85h; the failure at 85 h expires (≈3.5 d,
/// 9 attempts) (mta-defaults.md §b KumoMTA).
fn kumomta() -> Preset {
    Preset {
        name: "kumomta",
        summary: "KumoMTA: 20m doubling without cap, +-30s jitter; expires when the next try would pass 7 days",
        source: "KumoMTA crates/kumod/src/queue/config.rs, queue.rs (mta-defaults.md §b)",
        policy: policy(
            Backoff::Exponential { initial: mins(20), factor: 2.0, max: None, jitter: Jitter::Spread },
            SimDuration::from_days(7),
            GiveUp::Overshoot,
        ),
    }
}

/// Haraka 3.x: `temp_fail_intervals` = 2^(n+5) s for n = 1..12 (64 s … 131072 s), bounce at the
/// 13th failure (≈3d0h48m) (mta-defaults.md §b Haraka).
fn haraka() -> Preset {
    let delays = (1..=12)
        .map(|n| SimDuration::from_secs(1 << (n + 5)))
        .collect();
    let mut p = policy(
        Backoff::List {
            delays,
            repeat_last: false,
        },
        SimDuration::from_days(30),
        GiveUp::Deadline,
    );
    p.max_attempts = Some((13, MaxAttemptsCheck::AtFailure));
    Preset {
        name: "haraka",
        summary: "Haraka: 64s doubling to 36h24m (12 delays), bounce at the 13th failure",
        source: "Haraka outbound/config.js, outbound/hmail.js (mta-defaults.md §b)",
        policy: p,
    }
}

/// Stalwart 0.16 remote queue: retry [2m, 5m, 10m, 15m, 30m, 1h, 2h, 1d, 3d] (last repeats),
/// `expire` 3 d exactly at the deadline without an attempt; `notify` at 1 d and 3 d.
/// Timeline 0, 2m, 7m, 17m, 32m, 1h02m, 2h02m, 4h02m, 28h02m, expiry at 3 d
/// (mta-defaults.md §b Stalwart).
fn stalwart() -> Preset {
    let delays = parse_list("2m, 5m, 10m, 15m, 30m, 1h, 2h, 1d, 3d").expect("valid list");
    let mut p = policy(
        Backoff::List {
            delays,
            repeat_last: true,
        },
        SimDuration::from_days(3),
        GiveUp::Deadline,
    );
    p.delay_warnings = vec![SimDuration::from_days(1), SimDuration::from_days(3)];
    Preset {
        name: "stalwart",
        summary: "Stalwart: 2m, 5m, 10m, 15m, 30m, 1h, 2h, 1d, 3d (last repeats); expires at exactly 3 days",
        source: "Stalwart crates/smtp/src/outbound/delivery.rs, queue/manager.rs (mta-defaults.md §b)",
        policy: p,
    }
}

/// Postal: wait `5 min · 1.3^attempts`, hard fail when attempts ≥ 18 at dequeue (≈1d6h58m)
/// (mta-defaults.md §b Postal). Its reply-text hints ("N seconds") are not modelled yet.
fn postal() -> Preset {
    let mut p = policy(
        Backoff::Exponential {
            initial: mins(5),
            factor: 1.3,
            max: None,
            jitter: Jitter::None,
        },
        SimDuration::from_days(30),
        GiveUp::Deadline,
    );
    p.max_attempts = Some((18, MaxAttemptsCheck::AtNextDue));
    Preset {
        name: "postal",
        summary: "Postal: 5m x1.3 per attempt; hard fail when the 19th try comes due (18 attempts)",
        source: "Postal has_locking.rb, single_message_processor.rb (mta-defaults.md §b)",
        policy: p,
    }
}

/// sendmail: no per-message backoff; every queue run retries (`-q30m` assumed, the middle of
/// the usual 15m–1h); `Timeout.queuereturn` 5 d, `Timeout.queuewarn` 4 h
/// (mta-defaults.md (a), weaker source; smtp-facts.md §2.3, §5).
fn sendmail() -> Preset {
    let mut p = policy(
        Backoff::QueueRun { interval: mins(30) },
        SimDuration::from_days(5),
        GiveUp::Deadline,
    );
    p.delay_warnings = vec![SimDuration::from_hours(4)];
    Preset {
        name: "sendmail",
        summary:
            "sendmail: retry at every 30-minute queue run; return after 5 days, warn at 4 hours",
        source: "sendmail cf defaults (mta-defaults.md (a), weaker source)",
        policy: p,
    }
}

/// PowerMTA: `retry-after` 10 min, `bounce-after` 4d12h, `notify-of-delay-every` 4 h (first
/// warning modelled) (mta-defaults.md (a), weaker source). Backoff mode is key-level state, not
/// modelled here.
fn powermta() -> Preset {
    let mut p = policy(
        Backoff::Fixed { interval: mins(10) },
        SimDuration::from_hours(108),
        GiveUp::Deadline,
    );
    p.delay_warnings = vec![SimDuration::from_hours(4)];
    Preset {
        name: "powermta",
        summary: "PowerMTA: retry every 10 minutes, bounce after 4d12h",
        source: "PowerMTA documentation (mta-defaults.md (a), weaker source)",
        policy: p,
    }
}

/// RFC 5321 §4.5.4.1: "the retry interval SHOULD be at least 30 minutes"; "give-up time
/// generally needs to be at least 4-5 days" (smtp-facts.md §2.1).
fn rfc5321() -> Preset {
    Preset {
        name: "rfc5321",
        summary: "the RFC minimum: retry every 30 minutes, give up after 5 days",
        source: "RFC 5321 §4.5.4.1",
        policy: policy(
            Backoff::Fixed { interval: mins(30) },
            SimDuration::from_days(5),
            GiveUp::Deadline,
        ),
    }
}

/// AWS Architecture Blog, "Exponential Backoff and Jitter": sleep = U(0, min(cap, base·2^k));
/// mail-scale base 300 s and cap 4000 s as in smtp-facts.md §7.4.
fn full_jitter() -> Preset {
    Preset {
        name: "full-jitter",
        summary: "exponential backoff with full jitter, 5 min doubling to a 4000 s cap",
        source: "AWS Architecture Blog, Exponential Backoff and Jitter; smtp-facts.md §7.4",
        policy: policy(
            Backoff::Exponential {
                initial: mins(5),
                factor: 2.0,
                max: Some(SimDuration::from_secs(4000)),
                jitter: Jitter::Full,
            },
            SimDuration::from_days(5),
            GiveUp::Deadline,
        ),
    }
}

/// Same blog: sleep = min(cap, U(base, 3·previous sleep)).
fn decorrelated_jitter() -> Preset {
    Preset {
        name: "decorrelated-jitter",
        summary: "decorrelated jitter: each wait uniform between 5 min and 3x the previous, capped at 4000 s",
        source: "AWS Architecture Blog, Exponential Backoff and Jitter",
        policy: policy(
            Backoff::Exponential { initial: mins(5), factor: 2.0, max: Some(SimDuration::from_secs(4000)), jitter: Jitter::Decorrelated },
            SimDuration::from_days(5),
            GiveUp::Deadline,
        ),
    }
}

/// Every built-in preset.
pub fn presets() -> Vec<Preset> {
    vec![
        postfix(),
        exim(),
        kumomta(),
        haraka(),
        stalwart(),
        postal(),
        sendmail(),
        powermta(),
        rfc5321(),
        full_jitter(),
        decorrelated_jitter(),
    ]
}

/// The preset named `name`.
pub fn preset(name: &str) -> Option<Preset> {
    presets().into_iter().find(|p| p.name == name)
}

/// The help for an unknown preset name: the near name if there is one, then every preset
/// (the scenario loader and the CLI both print it).
pub fn unknown_preset_help(name: &str) -> String {
    let all = presets();
    let names: Vec<&str> = all.iter().map(|p| p.name).collect();
    let list = names.join(", ");
    match crate::diagnostic::suggest(name, names.iter().copied()) {
        Some(near) => format!("did you mean `{near}`? presets: {list}"),
        None => format!("presets: {list}"),
    }
}
