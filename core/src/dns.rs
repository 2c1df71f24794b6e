//! MX resolution and ordering per RFC 5321 §5.1 and RFC 7505 (`reference/smtp-facts.md` §3).
//!
//! Steps implemented: NXDOMAIN → permanent 550 5.1.2; null MX → 556 5.1.10 with no connection
//! and no address fallback; no MX records → the implicit MX (the domain itself, which must be a
//! host, else 550 5.4.4 "unable to route"); records sorted by preference, lowest first, equal
//! preferences shuffled with the attempt's random draws (the RFC says the client MUST
//! randomize); the list capped at the address limit (Postfix `smtp_mx_address_limit` = 5).
//!
//! The table is the authoritative answer; when the sender uses a resolver, the time a lookup
//! takes and whether it fails are decided by `network::dns_cache` before the table is read.

use crate::ids::HostId;
use crate::random::{AttemptRandom, Slot};
use crate::smtp::{codes, Reply};
use crate::time::SimDuration;

/// One MX record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MxRecord {
    /// Lower is preferred (RFC 5321 §5.1).
    pub preference: u16,
    /// Exchange host.
    pub host: HostId,
}

/// What DNS says about a domain's mail routing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MxAnswer {
    /// MX records.
    Records(Vec<MxRecord>),
    /// No MX records: the implicit MX is the domain itself (RFC 5321 §5.1), which must be a
    /// host to be reachable.
    Implicit(Option<HostId>),
    /// RFC 7505 null MX: the domain accepts no mail.
    NullMx,
    /// The domain does not exist.
    NxDomain,
}

/// A recipient domain.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainSpec {
    /// Domain name.
    pub name: String,
    /// Its MX answer.
    pub mx: MxAnswer,
    /// TTL of the answer (used by DNS caching).
    pub ttl: SimDuration,
}

/// A host to try for a domain, with its MX preference (a relay listed as an MX forwards only to
/// hosts preferred to itself, RFC 5321 §5.1 step 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The exchange.
    pub host: HostId,
    /// Its preference (lower first).
    pub preference: u16,
}

/// One domain's MX answer, pre-sorted once per run so an attempt does no sorting or allocation.
#[derive(Clone, Debug)]
pub struct MxTable {
    answer: Result<Vec<Candidate>, Reply>,
    /// Runs `[start, end)` of equal preference with more than one host.
    ties: Vec<(usize, usize)>,
}

impl MxTable {
    /// Builds the table of `mx`, a domain's MX answer.
    pub fn new(mx: &MxAnswer) -> Self {
        let mut ties = Vec::new();
        let answer = match mx {
            MxAnswer::NxDomain => Err(codes::BAD_DESTINATION_SYSTEM),
            MxAnswer::NullMx => Err(codes::NULL_MX),
            MxAnswer::Implicit(None) => Err(codes::UNABLE_TO_ROUTE),
            MxAnswer::Implicit(Some(host)) => Ok(vec![Candidate {
                host: *host,
                preference: 0,
            }]),
            MxAnswer::Records(records) => {
                let mut sorted: Vec<(u16, HostId)> =
                    records.iter().map(|r| (r.preference, r.host)).collect();
                // Stable: file order inside a preference before the per-attempt shuffle.
                sorted.sort_by_key(|&(p, _)| p);
                let mut start = 0;
                while start < sorted.len() {
                    let pref = sorted[start].0;
                    let end = start
                        + sorted[start..]
                            .iter()
                            .take_while(|(p, _)| *p == pref)
                            .count();
                    if end - start > 1 {
                        ties.push((start, end));
                    }
                    start = end;
                }
                Ok(sorted
                    .into_iter()
                    .map(|(preference, host)| Candidate { host, preference })
                    .collect())
            }
        };
        MxTable { answer, ties }
    }

    /// Writes the ordered candidates of the current attempt into `out`, or returns the
    /// permanent reply that ends the attempt. Shuffle draws come from `draws`, so the order of
    /// equal preferences is fixed per (message, attempt).
    ///
    /// When `local` (the sending host) is one of the exchanges, it and every record of equal or
    /// higher preference are dropped (RFC 5321 §5.1 step 9); if nothing is left the mail would
    /// loop: 554 5.4.6 (Postfix's "mail for … loops back to myself"). Returns whether `local`
    /// was an exchange.
    pub fn candidates(
        &self,
        limit: u32,
        local: HostId,
        draws: &AttemptRandom,
        out: &mut Vec<Candidate>,
    ) -> Result<bool, Reply> {
        out.clear();
        let hosts = self.answer.as_ref().map_err(|r| *r)?;
        let local_pref = hosts.iter().find(|c| c.host == local).map(|c| c.preference);
        match local_pref {
            Some(p) => {
                out.extend(hosts.iter().filter(|c| c.preference < p));
                if out.is_empty() {
                    return Err(codes::ROUTING_LOOP);
                }
            }
            None => out.extend_from_slice(hosts),
        }
        let mut draw = 0;
        for &(start, end) in &self.ties {
            // Fisher-Yates over the equal-preference run.
            for i in (start + 1..end).rev() {
                let u = draws.unit(Slot::Shuffle(draw));
                draw += 1;
                let j = start + (u * (i - start + 1) as f64) as usize;
                if end <= out.len() {
                    out.swap(i, j.min(i));
                }
            }
        }
        out.truncate(limit as usize);
        Ok(local_pref.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{Purpose, Streams};

    fn table(mx: MxAnswer) -> MxTable {
        MxTable::new(&mx)
    }

    const NOBODY: HostId = HostId(u32::MAX);

    fn hosts(c: &[Candidate]) -> Vec<HostId> {
        c.iter().map(|c| c.host).collect()
    }

    #[test]
    fn local_host_drops_itself_and_worse_records_or_loops() {
        // RFC 5321 §5.1 step 9: a backup MX relaying for the domain tries only better MXs.
        let t = table(MxAnswer::Records(vec![
            rec(10, 1),
            rec(20, 2),
            rec(20, 3),
            rec(30, 4),
        ]));
        let mut out = Vec::new();
        let draws = AttemptRandom::new(1, 0);
        assert_eq!(t.candidates(5, HostId(2), &draws, &mut out), Ok(true));
        assert_eq!(hosts(&out), vec![HostId(1)]);
        assert_eq!(
            t.candidates(5, HostId(1), &draws, &mut out),
            Err(codes::ROUTING_LOOP)
        );
        assert_eq!(t.candidates(5, NOBODY, &draws, &mut out), Ok(false));
        assert_eq!(out.len(), 4);
    }

    fn rec(preference: u16, host: u32) -> MxRecord {
        MxRecord {
            preference,
            host: HostId(host),
        }
    }

    #[test]
    fn sorts_by_preference_and_shuffles_ties_fairly() {
        // Goal: lower preference first; equal preferences each come first about equally often.
        let t = table(MxAnswer::Records(vec![
            rec(20, 9),
            rec(10, 1),
            rec(10, 2),
            rec(10, 3),
        ]));
        let mut keys = Streams::new(1).sequential(Purpose::MessageKeys, 0);
        let mut first = [0u32; 4];
        let mut out = Vec::new();
        for _ in 0..3000 {
            t.candidates(5, NOBODY, &AttemptRandom::new(keys.next_u64(), 0), &mut out)
                .unwrap();
            assert_eq!(out.len(), 4);
            assert_eq!(out[3].host, HostId(9));
            first[out[0].host.0 as usize] += 1;
        }
        for h in 1..=3 {
            // Expected 1000 each; binomial sd ≈ 25.8, so ±5 sd.
            assert!((first[h] as i64 - 1000).abs() < 130, "{first:?}");
        }
    }

    #[test]
    fn special_answers_end_the_attempt_with_their_codes() {
        let draws = AttemptRandom::new(1, 0);
        let mut out = Vec::new();
        assert_eq!(
            table(MxAnswer::NullMx).candidates(5, NOBODY, &draws, &mut out),
            Err(codes::NULL_MX)
        );
        assert_eq!(
            table(MxAnswer::NxDomain).candidates(5, NOBODY, &draws, &mut out),
            Err(codes::BAD_DESTINATION_SYSTEM)
        );
        assert_eq!(
            table(MxAnswer::Implicit(None)).candidates(5, NOBODY, &draws, &mut out),
            Err(codes::UNABLE_TO_ROUTE)
        );
        table(MxAnswer::Implicit(Some(HostId(4))))
            .candidates(5, NOBODY, &draws, &mut out)
            .unwrap();
        assert_eq!(hosts(&out), vec![HostId(4)]);
    }

    #[test]
    fn address_limit_caps_the_list() {
        let t = table(MxAnswer::Records(
            (0..8).map(|i| rec(i, i as u32)).collect(),
        ));
        let mut out = Vec::new();
        t.candidates(2, NOBODY, &AttemptRandom::new(1, 0), &mut out)
            .unwrap();
        assert_eq!(hosts(&out), vec![HostId(0), HostId(1)]);
    }
}
