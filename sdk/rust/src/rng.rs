//! A seeded random number generator whose output depends only on the seed,
//! on every platform and SDK release, so `--seed` reproduces a run.

use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng as _, SeedableRng};

/// Repeatable random numbers for a workload: xoshiro256++ seeded from the
/// context's seed.
pub struct Rng {
    inner: Xoshiro256PlusPlus,
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl Rng {
    /// A generator for `seed` (pass `ctx.seed`).
    pub fn new(seed: u64) -> Self {
        Rng {
            inner: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform integer in `lo..=hi`, without modulo bias (Lemire's method).
    /// Returns `lo` when `hi < lo`.
    pub fn uniform(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi as i128 - lo as i128 + 1) as u128;
        if span > u64::MAX as u128 {
            return self.next_u64() as i64;
        }
        let span = span as u64;
        let threshold = span.wrapping_neg() % span;
        loop {
            let m = (self.next_u64() as u128) * (span as u128);
            if (m as u64) >= threshold {
                return lo + (m >> 64) as i64;
            }
        }
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (0 to 1).
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// TPC-C's non-uniform random NURand(A, x, y) with run constant `c`.
    pub fn nurand(&mut self, a: i64, c: i64, x: i64, y: i64) -> i64 {
        (((self.uniform(0, a) | self.uniform(x, y)) + c) % (y - x + 1)) + x
    }

    /// A random string of `len` ASCII letters and digits.
    pub fn alnum(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| ALNUM[self.uniform(0, ALNUM.len() as i64 - 1) as usize] as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_bounds_hold() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..10_000 {
            let x = a.uniform(-5, 5);
            assert_eq!(x, b.uniform(-5, 5));
            assert!((-5..=5).contains(&x));
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn uniform_covers_its_range_evenly() {
        let mut r = Rng::new(7);
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            counts[r.uniform(0, 9) as usize] += 1;
        }
        for c in counts {
            // Expected 10,000 each; 5 sigma is about 475.
            assert!((9_500..=10_500).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn full_range_and_degenerate_ranges() {
        let mut r = Rng::new(3);
        assert_eq!(r.uniform(9, 9), 9);
        assert_eq!(r.uniform(9, 1), 9);
        let _ = r.uniform(i64::MIN, i64::MAX);
        let s = r.alnum(16);
        assert_eq!(s.len(), 16);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn nurand_stays_in_range() {
        let mut r = Rng::new(11);
        for _ in 0..10_000 {
            let v = r.nurand(1023, 259, 1, 3000);
            assert!((1..=3000).contains(&v));
        }
    }
}
