//! Seeded random streams, split by purpose and entity (DESIGN §2).
//!
//! Every random number in a run comes from ChaCha8 keyed by `(seed, purpose, entity)`. Two
//! access styles exist:
//! - [`SeqStream`]: a sequential stream, for things generated in order independently of the
//!   policy (arrivals, a host's outage timeline, one key per message);
//! - [`AttemptRandom`]: random access by (message, attempt, slot), for per-attempt coins, MX
//!   shuffles and jitter. Random access is what makes runs under two policies a paired
//!   experiment: attempt 3 of message 17 at host `mx1` sees the same coin whatever happened
//!   before it (common random numbers).
//!
//! Transcendental maths goes through `libm`, whose results are bit-identical on native and wasm.
//! Invariant: no entropy source, no global generator.

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is used for. The discriminant is part of the key derivation, so values must
/// never be reused or renumbered (that would change every golden digest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Message arrival times and their attributes (domain, unknown recipient).
    Arrivals = 1,
    /// A host's availability timeline (Markov up/down periods).
    Outage = 2,
    /// One key per message, from which its per-attempt draws are expanded ([`AttemptRandom`]).
    MessageKeys = 3,
    /// A host's availability timeline after its first block (`failure::MarkovTimeline`): one
    /// stream per (host, block), so any block is generated without the ones before it.
    OutageBlock = 4,
}

/// The source of all randomness in one run: a master seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Streams {
    seed: u64,
}

/// SplitMix64 step: a well-mixed 64-bit function, used only to expand keys.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps 64 random bits to a float in [0, 1) with 53 bits of precision.
fn unit_from_bits(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl Streams {
    /// Streams for a run with master seed `seed`.
    pub fn new(seed: u64) -> Self {
        Streams { seed }
    }

    fn key(self, purpose: Purpose, entity: u64) -> [u8; 32] {
        let mut state = self.seed
            ^ (purpose as u64).wrapping_mul(0xA24B_AED4_963E_E407)
            ^ entity.wrapping_mul(0x9FB2_1C65_1E98_DF25);
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        key
    }

    /// A sequential stream for `(purpose, entity)`, e.g. the outage timeline of host 3.
    pub fn sequential(self, purpose: Purpose, entity: u64) -> SeqStream {
        SeqStream {
            rng: ChaCha8Rng::from_seed(self.key(purpose, entity)),
        }
    }
}

/// Which draw of an attempt is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The i-th draw of the MX shuffle.
    Shuffle(u32),
    /// Whether host h is down (Bernoulli model).
    HostDown(u32),
    /// Whether host h rejects the message (reject share).
    HostReject(u32),
    /// The jitter of the retry delay chosen after this attempt.
    Jitter,
    /// Whether host h is down at connect retry r ≥ 1 of this attempt (Bernoulli model; retry
    /// 0 is [`Slot::HostDown`]).
    HostDownRetry(u32, u32),
    /// The choice of a member of pool stage i.
    Pool(u32),
}

/// A new 64-bit key from `key` and `salt` (SplitMix64's finaliser): a message's key at its
/// n-th store-and-forward relay, so the relay's draws are independent of the sender's.
pub fn mix(key: u64, salt: u64) -> u64 {
    let mut z = key ^ salt.wrapping_mul(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Most hosts a scenario may have: host ids take 20 bits of an attempt's slot counter
/// ([`AttemptRandom::unit`]). The loader caps `limits.hosts_max` here.
pub const HOSTS_MAX: u64 = 1 << 20;

#[inline]
fn host_slot(h: u32) -> u64 {
    assert!(u64::from(h) < HOSTS_MAX, "host id in its slot range");
    u64::from(h)
}

/// SplitMix64's increment (2^64 / φ), the counter step of [`AttemptRandom`].
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// All random draws of one delivery attempt, keyed by (message key, attempt, slot) only.
///
/// Each message gets a 64-bit key drawn from its own ChaCha8 stream ([`Purpose::MessageKeys`],
/// the i-th word for the i-th message), and a draw is SplitMix64's output function at counter
/// `key + GAMMA · (attempt · 2^32 + slot)`: random access by construction, like ChaCha's word
/// position, but about 2 ns instead of a four-block ChaCha refill (~190 ns measured, 28% of a
/// run's time). A draw never depends on what else the run did, which keeps policy comparisons
/// paired (common random numbers, DESIGN §2).
#[derive(Clone, Copy, Debug, Default)]
pub struct AttemptRandom {
    base: u64,
}

impl AttemptRandom {
    /// The draws of attempt `attempt` (0-based) of the message whose key is `message_key`.
    pub fn new(message_key: u64, attempt: u32) -> Self {
        AttemptRandom {
            base: message_key.wrapping_add(GAMMA.wrapping_mul(u64::from(attempt) << 32)),
        }
    }

    /// A uniform float in [0, 1) for `slot`.
    ///
    /// Slot layout inside an attempt's 2^32 counters: `Jitter` 0; `Pool(i)` 2^29 + i;
    /// `Shuffle(i)` 2^30 + i; `HostDown(h)` 2^31 + h; `HostReject(h)` 3·2^30 + h;
    /// `HostDownRetry(h, r)` 2^32 + r·2^20 + h, which lies in the next attempt's unused range
    /// [2^20, 2^29). Disjoint as long as host ids stay below [`HOSTS_MAX`] and connect retries
    /// below 2^9, which the loader enforces (`limits.hosts_max`, `policy.connect.retries`);
    /// the assertions make a violation a loud bug instead of two correlated draws.
    #[inline]
    pub fn unit(&self, slot: Slot) -> f64 {
        let index: u64 = match slot {
            Slot::Jitter => 0,
            Slot::Pool(i) => {
                assert!(u64::from(i) < 1 << 29, "pool stage index in its slot range");
                1 << 29 | u64::from(i)
            }
            Slot::Shuffle(i) => {
                assert!(u64::from(i) < HOSTS_MAX, "shuffle draw in its slot range");
                1 << 30 | u64::from(i)
            }
            Slot::HostDown(h) => 2 << 30 | host_slot(h),
            Slot::HostReject(h) => 3 << 30 | host_slot(h),
            Slot::HostDownRetry(h, r) => {
                assert!((1..1 << 9).contains(&r), "connect retry in its slot range");
                4 << 30 | u64::from(r) << 20 | host_slot(h)
            }
        };
        let mut z = self.base.wrapping_add(GAMMA.wrapping_mul(index));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        unit_from_bits(z ^ (z >> 31))
    }
}

/// A sequential ChaCha8 stream with the few distributions the model needs.
#[derive(Clone, Debug)]
pub struct SeqStream {
    rng: ChaCha8Rng,
}

impl SeqStream {
    /// A uniform float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        unit_from_bits(self.rng.next_u64())
    }

    /// 64 raw random bits (message keys).
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// An exponential variate with the given mean, by inversion: −mean·ln(1 − U).
    /// `libm::log` keeps the result bit-identical across targets.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * libm::log(1.0 - self.unit())
    }

    /// Picks an index with probability proportional to `weights` (all ≥ 0, sum > 0).
    pub fn weighted_index(&mut self, cumulative: &[f64]) -> usize {
        let total = *cumulative.last().expect("weights validated non-empty");
        let x = self.unit() * total;
        cumulative
            .partition_point(|&c| c <= x)
            .min(cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_draws_depend_only_on_message_attempt_and_slot() {
        let mut keys = Streams::new(77).sequential(Purpose::MessageKeys, 0);
        let keys: Vec<u64> = (0..5).map(|_| keys.next_u64()).collect();
        let slots = [
            Slot::Jitter,
            Slot::Shuffle(0),
            Slot::Shuffle(9),
            Slot::HostDown(3),
            Slot::HostReject(3),
            Slot::HostDown(40),
            // Pool draws once sat at the next attempt's Shuffle(i) counters: each attempt's
            // slots must be distinct from every other attempt's too.
            Slot::Pool(0),
            Slot::Pool(3),
            Slot::HostDownRetry(3, 1),
            Slot::HostDownRetry(3, 99),
        ];
        let mut forward = Vec::new();
        for &key in &keys {
            for n in 0..3 {
                for slot in slots {
                    forward.push(((key, n, slot), AttemptRandom::new(key, n).unit(slot)));
                }
            }
        }
        for &((key, n, slot), value) in forward.iter().rev() {
            assert_eq!(
                AttemptRandom::new(key, n).unit(slot),
                value,
                "{key} {n} {slot:?}"
            );
        }
        let distinct: std::collections::BTreeSet<u64> =
            forward.iter().map(|(_, v)| v.to_bits()).collect();
        assert_eq!(distinct.len(), forward.len());
    }

    #[test]
    fn purposes_entities_and_seeds_give_different_streams() {
        let draw = |seed, purpose, entity| Streams::new(seed).sequential(purpose, entity).unit();
        let base = draw(1, Purpose::Outage, 0);
        assert_ne!(base, draw(2, Purpose::Outage, 0));
        assert_ne!(base, draw(1, Purpose::Arrivals, 0));
        assert_ne!(base, draw(1, Purpose::Outage, 1));
        assert_eq!(base, draw(1, Purpose::Outage, 0));
    }

    #[test]
    fn exponential_mean_is_close_to_requested() {
        // Goal: the sampler has the right mean. Method: 200k draws, tolerance 4 standard
        // errors (sd of Exp(m) is m, so the standard error is m/sqrt(n)).
        let mut s = Streams::new(9).sequential(Purpose::Outage, 1);
        let n = 200_000;
        let mean = 3_600.0;
        let avg: f64 = (0..n).map(|_| s.exponential(mean)).sum::<f64>() / n as f64;
        assert!((avg - mean).abs() < 4.0 * mean / (n as f64).sqrt(), "{avg}");
    }

    #[test]
    fn attempt_draws_are_uniform() {
        // Goal: the counter-based expansion is uniform. Method: 100k draws over messages,
        // attempts and slots; the mean must be 1/2 ± 4·sqrt(1/12/n) and each decile 10% ± 4 sd.
        let mut keys = Streams::new(5).sequential(Purpose::MessageKeys, 0);
        let mut deciles = [0u32; 10];
        let mut sum = 0.0;
        let mut n = 0;
        for _ in 0..5_000 {
            let key = keys.next_u64();
            for attempt in 0..4 {
                let draws = AttemptRandom::new(key, attempt);
                for slot in [
                    Slot::Jitter,
                    Slot::Shuffle(0),
                    Slot::HostDown(1),
                    Slot::HostReject(1),
                    Slot::HostDown(2),
                ] {
                    let u = draws.unit(slot);
                    sum += u;
                    deciles[(u * 10.0) as usize] += 1;
                    n += 1;
                }
            }
        }
        assert!((sum / n as f64 - 0.5).abs() < 4.0 * (1.0 / 12.0 / n as f64).sqrt());
        let sd = (n as f64 * 0.1 * 0.9).sqrt();
        for d in deciles {
            assert!(
                (f64::from(d) - n as f64 * 0.1).abs() < 4.0 * sd,
                "{deciles:?}"
            );
        }
    }

    #[test]
    fn unit_stays_in_half_open_interval() {
        let mut s = Streams::new(3).sequential(Purpose::Arrivals, 0);
        for _ in 0..10_000 {
            let u = s.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
