//! Every preset's timeline against the default timeline written in
//! `reference/mta-defaults.md` §b (and smtp-facts.md §2 for the RFC), one test per preset.
//! Timelines assume every attempt fails instantly at its due time; offsets from arrival.

use mxsim_core::policy::timeline::{timeline, Timeline};
use mxsim_core::policy::{preset, presets};
use mxsim_core::smtp::codes;
use mxsim_core::time::parse_duration;

fn run(name: &str) -> Timeline {
    timeline(
        &preset(name).expect("preset exists").policy,
        codes::NO_ANSWER,
        Some(1),
    )
}

fn ms(text: &str) -> u64 {
    parse_duration(text).unwrap().as_ms()
}

/// The first offsets must equal `want` exactly.
fn assert_starts(t: &Timeline, want: &[&str]) {
    let got: Vec<u64> = t
        .attempts
        .iter()
        .take(want.len())
        .map(|a| a.offset_ms)
        .collect();
    let want: Vec<u64> = want.iter().map(|w| ms(w)).collect();
    assert_eq!(got, want);
}

/// Rounds to the minute, as the reference prints timelines.
fn minutes(t: &Timeline) -> Vec<u64> {
    t.attempts
        .iter()
        .map(|a| (a.offset_ms + 30_000) / 60_000)
        .collect()
}

#[test]
fn postfix_matches_qmgr_age_clamp() {
    // mta-defaults.md §b Postfix: 0, 5m, 10m, 20m, 40m, 1h20m, 2h27m, 3h33m, then every 4000 s;
    // ≈113 attempts; bounce on the attempt at ≈5d0h13m (smtp-facts §7: N = 113 with the
    // after-attempt expiry check).
    let t = run("postfix");
    assert_starts(
        &t,
        &[
            "0s", "5m", "10m", "20m", "40m", "1h20m", "2h26m40s", "3h33m20s", "4h40m",
        ],
    );
    assert_eq!(t.attempts.len(), 113);
    assert_eq!(t.attempts[111].offset_ms, 428_800_000);
    assert_eq!(t.gives_up_at_ms, Some(432_800_000));
}

#[test]
fn exim_matches_the_default_retry_rule() {
    // mta-defaults.md §b Exim: 0, 15m, 30m, … 2h, 2h15m, 3h15m, 4h45m, 7h00m, 10h22m, 15h26m,
    // 23h02m, then every 6h. The reference's give-up ("the first failure after 96h, ≈4d5h02m,
    // ≈29 attempts") missed Exim's forced attempt: past the final cutoff the address is tried
    // at once (the next queue run) and its failure times it out (issue 14, real-mta run A).
    // The rule arithmetic, retrying exactly when due:
    let mut policy = preset("exim").unwrap().policy;
    policy.queue_scan = None;
    let t = timeline(&policy, codes::NO_ANSWER, Some(1));
    let m = minutes(&t);
    assert_eq!(&m[..10], &[0, 15, 30, 45, 60, 75, 90, 105, 120, 135]);
    assert_eq!(&m[10..16], &[195, 285, 420, 623, 926, 1382]);
    assert_eq!(m[16] - m[15], 360);
    assert_eq!(t.attempts.len(), 29);
    assert_eq!(t.gives_up_at_ms, Some(4 * 86_400_000 + 1_000));
    assert_eq!(t.give_up_reason, Some("retry rules exhausted"));
    assert_eq!(t.attempts[1].rule, "exim F,2h,15m");
    assert_eq!(t.attempts[10].rule, "exim G,16h,1h,1.5");
    assert_eq!(t.attempts[28].rule, "past the final cutoff: next queue run");
    // The preset as Debian runs it: queue runs every 30 minutes, so the 15-minute rule
    // retries every 30 minutes and the forced attempt is the first run past 4 days.
    let t = run("exim");
    let m = minutes(&t);
    assert_eq!(&m[..7], &[0, 30, 60, 90, 120, 150, 210]);
    assert_eq!(t.attempts.len(), 25);
    assert_eq!(t.gives_up_at_ms, Some(4 * 86_400_000 + 30 * 60_000));
}

#[test]
fn kumomta_doubles_from_20_minutes_and_expires_before_overshooting() {
    // mta-defaults.md §b KumoMTA: 0, 20m, 1h, 2h20m, 5h, 10h20m, 21h, 42h20m, 85h; the failure at
    // 85h expires the message (the next try would pass 7 d): 9 attempts, ≈3.5 d. Jitter is
    // ±30 s, so compare the bounds' midpoints.
    let t = run("kumomta");
    let mid: Vec<u64> = t
        .attempts
        .iter()
        .map(|a| (a.offset_min_ms + a.offset_max_ms) / 2)
        .collect();
    let want: Vec<u64> = [
        "0s", "20m", "1h", "2h20m", "5h", "10h20m", "21h", "42h20m", "85h",
    ]
    .iter()
    .map(|w| ms(w))
    .collect();
    assert_eq!(mid, want);
    for a in &t.attempts[1..] {
        assert!(
            a.offset_max_ms - a.offset_min_ms <= 60_000 * (a.n as u64 - 1),
            "jitter is at most ±30 s per step"
        );
    }
    assert_eq!(t.attempts.len(), 9);
    assert_eq!(t.gives_up_at_ms, Some(t.attempts[8].offset_ms));
}

#[test]
fn haraka_uses_its_twelve_doubling_intervals() {
    // mta-defaults.md §b Haraka: 0, 1m04s, 3m12s, 7m28s, 16m, 33m, 1h07m, 2h15m, 4h32m, 9h05m,
    // 18h11m, 36h23m, 72h48m; the 13th failure (≈3d0h48m) bounces.
    let t = run("haraka");
    assert_starts(
        &t,
        &[
            "0s",
            "1m4s",
            "3m12s",
            "7m28s",
            "16m",
            "33m4s",
            "1h7m12s",
            "2h15m28s",
            "4h32m",
            "9h5m4s",
            "18h11m12s",
            "36h23m28s",
            "72h48m",
        ],
    );
    assert_eq!(t.attempts.len(), 13);
    assert_eq!(t.gives_up_at_ms, Some(ms("72h48m")));
}

#[test]
fn stalwart_expires_exactly_at_three_days() {
    // mta-defaults.md §b Stalwart 0.16: 0, 2m, 7m, 17m, 32m, 1h02m, 2h02m, 4h02m, 28h02m; the
    // next would be +3d, so the recipient expires at exactly 3 d with no attempt.
    let t = run("stalwart");
    assert_starts(
        &t,
        &[
            "0s", "2m", "7m", "17m", "32m", "1h2m", "2h2m", "4h2m", "28h2m",
        ],
    );
    assert_eq!(t.attempts.len(), 9);
    assert_eq!(t.gives_up_at_ms, Some(ms("3d")));
}

#[test]
fn postal_hard_fails_at_the_nineteenth_due_time() {
    // mta-defaults.md §b Postal: 0, 5m, 11m30s, 20m, 31m, 45m, 1h04m, … 23h45m (18 attempts);
    // hard fail at ≈1d6h58m.
    let t = run("postal");
    let m = minutes(&t);
    assert_eq!(&m[..7], &[0, 5, 12, 20, 31, 45, 64]);
    assert_eq!(t.attempts.len(), 18);
    assert_eq!(m[17], 23 * 60 + 45);
    assert_eq!((t.gives_up_at_ms.unwrap() + 30_000) / 60_000, 30 * 60 + 58);
}

#[test]
fn sendmail_retries_at_every_queue_run() {
    // mta-defaults.md (a) sendmail: every queue run retries; Timeout.queuereturn 5 d.
    let t = run("sendmail");
    assert_starts(&t, &["0s", "30m", "1h", "1h30m"]);
    assert_eq!(t.gives_up_at_ms, Some(ms("5d")));
    assert_eq!(t.attempts.len(), 240);
}

#[test]
fn powermta_retries_every_ten_minutes_until_bounce_after() {
    // mta-defaults.md (a) PowerMTA: retry-after 10m, bounce-after 4d12h.
    let t = run("powermta");
    assert_starts(&t, &["0s", "10m", "20m"]);
    assert_eq!(t.gives_up_at_ms, Some(ms("4d12h")));
}

#[test]
fn rfc5321_waits_thirty_minutes_and_gives_up_after_five_days() {
    // smtp-facts.md §2.1: retry interval ≥ 30 min; give-up ≥ 4–5 days.
    let t = run("rfc5321");
    assert!(t.attempts.windows(2).all(|w| w[1].gap_ms == ms("30m")));
    assert_eq!(t.gives_up_at_ms, Some(ms("5d")));
}

#[test]
fn aws_jitter_presets_stay_within_their_bounds() {
    // retry-and-visualizers.md §d: full jitter U(0, min(cap, base·2^k)); decorrelated
    // min(cap, U(base, 3·prev)); base 5 m, cap 4000 s.
    for name in ["full-jitter", "decorrelated-jitter"] {
        let t = run(name);
        assert!(t.jittered);
        for a in &t.attempts[1..] {
            assert!(
                a.gap_ms <= ms("4000s"),
                "{name}: gap {} over the cap",
                a.gap_ms
            );
            assert!(a.offset_min_ms <= a.offset_ms && a.offset_ms <= a.offset_max_ms);
        }
        if name == "decorrelated-jitter" {
            assert!(t.attempts[1..].iter().all(|a| a.gap_ms >= ms("5m")));
        }
    }
}

#[test]
fn every_preset_has_a_test_and_a_source() {
    let tested = [
        "postfix",
        "exim",
        "kumomta",
        "haraka",
        "stalwart",
        "postal",
        "sendmail",
        "powermta",
        "rfc5321",
        "full-jitter",
        "decorrelated-jitter",
    ];
    for p in presets() {
        assert!(
            tested.contains(&p.name),
            "preset {} has no timeline test",
            p.name
        );
        assert!(!p.source.is_empty());
    }
}
