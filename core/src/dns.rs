//! MX resolution and ordering per RFC 5321 §5.1 and RFC 7505 (`reference/smtp-facts.md` §3).
//!
//! Steps implemented: NXDOMAIN → permanent 550 5.1.2; null MX → 556 5.1.10 with no connection
//! and no address fallback; no MX records → the implicit MX (the domain itself, which must be a
//! host, else 550 5.4.4 "unable to route"); records sorted by preference, lowest first, equal
//! preferences shuffled with the seeded stream (the RFC says the client MUST randomize); the list
//! capped at the address limit (Postfix `smtp_mx_address_limit` = 5).
//!
//! Resolution here is instantaneous and authoritative: DNS servers with their own failures,
//! latency and caching are a later layer behind the same function.

use crate::random::Coins;
use crate::scenario::{DomainSpec, HostId, MxAnswer};
use crate::smtp::{codes, Reply};

/// The ordered candidate hosts for one attempt, or the permanent reply that ends it.
///
/// `shuffle` supplies uniform draws at `(message, attempt·64 + i)`, so the order of equal
/// preferences is fixed per attempt and independent of everything else in the run.
pub fn candidates(
    domain: &DomainSpec,
    limit: u32,
    shuffle: &mut Coins,
    message: u64,
    attempt: u32,
    out: &mut Vec<HostId>,
) -> Result<(), Reply> {
    out.clear();
    match &domain.mx {
        MxAnswer::NxDomain => Err(codes::BAD_DESTINATION_SYSTEM),
        MxAnswer::NullMx => Err(codes::NULL_MX),
        MxAnswer::Implicit(None) => Err(codes::UNABLE_TO_ROUTE),
        MxAnswer::Implicit(Some(host)) => {
            out.push(*host);
            Ok(())
        }
        MxAnswer::Records(records) => {
            let mut sorted: Vec<(u16, HostId)> = records.iter().map(|r| (r.preference, r.host)).collect();
            // Stable sort keeps file order inside a preference before the shuffle.
            sorted.sort_by_key(|&(p, _)| p);
            let mut draw = 0u64;
            let mut start = 0;
            while start < sorted.len() {
                let pref = sorted[start].0;
                let end = start + sorted[start..].iter().take_while(|(p, _)| *p == pref).count();
                // Fisher-Yates over the equal-preference group.
                for i in (start + 1..end).rev() {
                    let u = shuffle.unit_at(message, u64::from(attempt) * 64 + draw);
                    draw += 1;
                    let j = start + (u * (i - start + 1) as f64) as usize;
                    sorted.swap(i, j.min(i));
                }
                start = end;
            }
            out.extend(sorted.into_iter().take(limit as usize).map(|(_, h)| h));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{Purpose, Streams};
    use crate::scenario::MxRecord;
    use crate::time::SimDuration;

    fn domain(mx: MxAnswer) -> DomainSpec {
        DomainSpec { name: "example.net".into(), mx, ttl: SimDuration::from_hours(1) }
    }

    fn rec(preference: u16, host: u32) -> MxRecord {
        MxRecord { preference, host: HostId(host) }
    }

    #[test]
    fn sorts_by_preference_and_shuffles_ties_fairly() {
        // Goal: lower preference first; equal preferences each come first about equally often.
        let d = domain(MxAnswer::Records(vec![rec(20, 9), rec(10, 1), rec(10, 2), rec(10, 3)]));
        let mut coins = Streams::new(1).coins(Purpose::MxShuffle, 0);
        let mut first = [0u32; 4];
        let mut out = Vec::new();
        for m in 0..3000 {
            candidates(&d, 5, &mut coins, m, 0, &mut out).unwrap();
            assert_eq!(out.len(), 4);
            assert_eq!(out[3], HostId(9));
            first[out[0].0 as usize] += 1;
        }
        for h in 1..=3 {
            // Expected 1000 each; binomial sd ≈ 25.8, so ±5 sd.
            assert!((first[h] as i64 - 1000).abs() < 130, "{first:?}");
        }
    }

    #[test]
    fn special_answers_end_the_attempt_with_their_codes() {
        let mut coins = Streams::new(1).coins(Purpose::MxShuffle, 0);
        let mut out = Vec::new();
        assert_eq!(candidates(&domain(MxAnswer::NullMx), 5, &mut coins, 0, 0, &mut out), Err(codes::NULL_MX));
        assert_eq!(candidates(&domain(MxAnswer::NxDomain), 5, &mut coins, 0, 0, &mut out), Err(codes::BAD_DESTINATION_SYSTEM));
        assert_eq!(candidates(&domain(MxAnswer::Implicit(None)), 5, &mut coins, 0, 0, &mut out), Err(codes::UNABLE_TO_ROUTE));
        candidates(&domain(MxAnswer::Implicit(Some(HostId(4)))), 5, &mut coins, 0, 0, &mut out).unwrap();
        assert_eq!(out, vec![HostId(4)]);
    }

    #[test]
    fn address_limit_caps_the_list() {
        let d = domain(MxAnswer::Records((0..8).map(|i| rec(i, i as u32)).collect()));
        let mut coins = Streams::new(1).coins(Purpose::MxShuffle, 0);
        let mut out = Vec::new();
        candidates(&d, 2, &mut coins, 0, 0, &mut out).unwrap();
        assert_eq!(out, vec![HostId(0), HostId(1)]);
    }
}
