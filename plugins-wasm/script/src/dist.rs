//! pgbench's random distributions, hash functions and `permute`, drawn
//! from the SDK's seeded generator.
//!
//! The distributions follow pgbench's definitions (its documentation and
//! `getExponentialRand`, `getGaussianRand`, `getZipfianRand`): the same
//! shapes and parameter rules, though not the same bit stream, since
//! pgbench uses its own generator.

use stormdb_sdk::Rng;

/// pgbench's bounds on the parameter of `random_gaussian`.
pub const MIN_GAUSSIAN_PARAM: f64 = 2.0;
/// pgbench's bounds on the parameter of `random_zipfian` above 1.
pub const MIN_ZIPFIAN_PARAM: f64 = 1.001;
/// Upper bound of the zipfian parameter.
pub const MAX_ZIPFIAN_PARAM: f64 = 1000.0;

/// Checks `lb..=ub` the way pgbench does: non-empty, and its size must fit
/// a 64-bit integer.
fn check_range(lb: i64, ub: i64) -> Result<(), String> {
    if ub < lb {
        return Err(format!("empty range given to random: {lb} > {ub}"));
    }
    match ub.checked_sub(lb).and_then(|d| d.checked_add(1)) {
        Some(_) => Ok(()),
        None => Err(format!("random range is too large: {lb} to {ub}")),
    }
}

/// A uniform value in `[0, 1)`, or `(0, 1]` as `1 - unit()`.
fn unit(rng: &mut Rng) -> f64 {
    rng.unit()
}

/// `random(lb, ub)`: uniform integers.
pub fn uniform(rng: &mut Rng, lb: i64, ub: i64) -> Result<i64, String> {
    check_range(lb, ub)?;
    Ok(rng.uniform(lb, ub))
}

/// Maps `r` in `[0, 1)` onto `lb..=ub` as pgbench does:
/// `lb + (int64)((ub - lb + 1) * r)`.
fn scale(lb: i64, ub: i64, r: f64) -> i64 {
    let span = (ub as f64 - lb as f64) + 1.0;
    let offset = (span * r) as i64;
    // Rounding of a span near 2^63 could step past ub.
    lb.saturating_add(offset).min(ub)
}

/// `random_exponential(lb, ub, parameter)`: an exponential distribution
/// truncated to the range; `parameter` sets how steep it falls from `lb`.
pub fn exponential(rng: &mut Rng, lb: i64, ub: i64, parameter: f64) -> Result<i64, String> {
    check_range(lb, ub)?;
    if parameter.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return Err(format!(
            "exponential parameter must be greater than zero (got {parameter})"
        ));
    }
    let cut = (-parameter).exp();
    // In (0, 1]: the logarithm below stays finite.
    let u = 1.0 - unit(rng);
    let r = -(cut + (1.0 - cut) * u).ln() / parameter;
    Ok(scale(lb, ub, r))
}

/// A standard normal variate (Box-Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).sin()
}

/// `random_gaussian(lb, ub, parameter)`: a normal distribution centred on
/// the middle of the range, truncated at `parameter` standard deviations
/// either side.
pub fn gaussian(rng: &mut Rng, lb: i64, ub: i64, parameter: f64) -> Result<i64, String> {
    check_range(lb, ub)?;
    if parameter.is_nan() || parameter < MIN_GAUSSIAN_PARAM {
        return Err(format!(
            "gaussian parameter must be at least {MIN_GAUSSIAN_PARAM} (got {parameter})"
        ));
    }
    let z = loop {
        let z = normal(rng);
        if (-parameter..parameter).contains(&z) {
            break z;
        }
    };
    Ok(scale(lb, ub, (z + parameter) / (2.0 * parameter)))
}

/// Precomputed constants of the s < 1 method for one (n, s).
#[derive(Debug, Clone, Copy)]
struct HarmonicCell {
    n: i64,
    s: f64,
    zeta_n: f64,
    alpha: f64,
    beta: f64,
    eta: f64,
}

/// The constants of the s < 1 method, which cost O(n) to compute, kept
/// for the last few (n, s) pairs as pgbench does.
#[derive(Debug, Default)]
pub struct ZipfCache {
    cells: Vec<HarmonicCell>,
}

const ZIPF_CACHE_SIZE: usize = 16;

/// The generalised harmonic number H(n, s) = sum of i^-s for i in 1..=n.
/// Exact summation up to a million terms; beyond, the first terms exactly
/// and the tail by Euler-Maclaurin, accurate far beyond what the method
/// needs and O(1) in n.
fn harmonic(n: i64, s: f64) -> f64 {
    const EXACT: i64 = 1_000_000;
    const HEAD: i64 = 10_000;
    let power = |i: f64| i.powf(-s);
    if n <= EXACT {
        return (1..=n).rev().map(|i| power(i as f64)).sum();
    }
    let head: f64 = (1..HEAD).rev().map(|i| power(i as f64)).sum();
    let (a, b) = (HEAD as f64, n as f64);
    // sum_{i=a}^{b} f(i) ~ integral + (f(a) + f(b)) / 2 + (f'(b) - f'(a)) / 12
    let integral = (b.powf(1.0 - s) - a.powf(1.0 - s)) / (1.0 - s);
    let derivative = |x: f64| -s * x.powf(-s - 1.0);
    head + integral + (power(a) + power(b)) / 2.0 + (derivative(b) - derivative(a)) / 12.0
}

impl ZipfCache {
    fn cell(&mut self, n: i64, s: f64) -> HarmonicCell {
        if let Some(c) = self.cells.iter().find(|c| c.n == n && c.s == s) {
            return *c;
        }
        let zeta_n = harmonic(n, s);
        let zeta_2 = 1.0 + 2f64.powf(-s);
        let cell = HarmonicCell {
            n,
            s,
            zeta_n,
            alpha: 1.0 / (1.0 - s),
            beta: 0.5f64.powf(s),
            eta: (1.0 - (2.0 / n as f64).powf(1.0 - s)) / (1.0 - zeta_2 / zeta_n),
        };
        if self.cells.len() >= ZIPF_CACHE_SIZE {
            self.cells.remove(0);
        }
        self.cells.push(cell);
        cell
    }
}

/// Zipf for s < 1 by the method of Gray et al., "Quickly generating
/// billion-record synthetic databases" (SIGMOD 1994), as pgbench 11 used.
fn zipf_harmonic(rng: &mut Rng, cache: &mut ZipfCache, n: i64, s: f64) -> i64 {
    let c = cache.cell(n, s);
    let u = unit(rng);
    let uz = u * c.zeta_n;
    if uz < 1.0 {
        return 1;
    }
    if uz < 1.0 + c.beta {
        return 2;
    }
    let x = 1 + (n as f64 * (c.eta * u - c.eta + 1.0).powf(c.alpha)) as i64;
    x.clamp(1, n)
}

/// Zipf for s > 1 by rejection (Devroye, "Non-Uniform Random Variate
/// Generation", p. 550), as pgbench does since version 13.
fn zipf_rejection(rng: &mut Rng, n: i64, s: f64) -> i64 {
    if n <= 1 {
        return 1;
    }
    let b = 2f64.powf(s - 1.0);
    loop {
        let u = unit(rng);
        let v = unit(rng);
        let x = u.powf(-1.0 / (s - 1.0)).floor();
        let t = (1.0 + 1.0 / x).powf(s - 1.0);
        // u = 0 gives x = inf, which the bound rejects.
        if v * x * (t - 1.0) / (b - 1.0) <= t / b && x <= n as f64 {
            return x as i64;
        }
    }
}

/// `random_zipfian(lb, ub, s)`: rank k of the range (k = 1 at `lb`) has
/// probability proportional to k^-s. pgbench accepts s in [1.001, 1000];
/// s in (0, 1) is also accepted here, with the method pgbench 11 used.
pub fn zipfian(
    rng: &mut Rng,
    cache: &mut ZipfCache,
    lb: i64,
    ub: i64,
    s: f64,
) -> Result<i64, String> {
    check_range(lb, ub)?;
    let n = ub - lb + 1;
    let rank = if s > 0.0 && s < 1.0 {
        zipf_harmonic(rng, cache, n, s)
    } else if (MIN_ZIPFIAN_PARAM..=MAX_ZIPFIAN_PARAM).contains(&s) {
        zipf_rejection(rng, n, s)
    } else {
        return Err(format!(
            "zipfian parameter must be in (0, 1) or [{MIN_ZIPFIAN_PARAM}, {MAX_ZIPFIAN_PARAM}] \
             (got {s})"
        ));
    };
    Ok(lb + rank - 1)
}

/// FNV-1a over the eight bytes of `value`, least significant first, with
/// the offset basis xor `seed` (pgbench's `hash_fnv1a`).
pub fn hash_fnv1a(value: i64, seed: i64) -> i64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h = OFFSET ^ seed as u64;
    let mut v = value as u64;
    for _ in 0..8 {
        h ^= v & 0xff;
        h = h.wrapping_mul(PRIME);
        v >>= 8;
    }
    h as i64
}

/// 64-bit MurmurHash2 (MurmurHash64A) of one 8-byte block, seeded
/// (pgbench's `hash_murmur2`, the default `hash`).
pub fn hash_murmur2(value: i64, seed: i64) -> i64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = (seed as u64) ^ 8u64.wrapping_mul(M);
    let mut k = value as u64;
    k = k.wrapping_mul(M);
    k ^= k >> R;
    k = k.wrapping_mul(M);
    h ^= k;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h as i64
}

/// `permute(i, size, seed)`: a pseudorandom bijection of `0..size` chosen
/// by `seed`, applied to `i mod size`. A keyed Feistel network on the
/// smallest even-bit domain holding `size`, walked until the result falls
/// inside it (each step is a bijection, so this ends).
pub fn permute(i: i64, size: i64, seed: i64) -> Result<i64, String> {
    if size <= 0 {
        return Err("permute size parameter must be greater than zero".into());
    }
    if size == 1 {
        return Ok(0);
    }
    let size = size as u64;
    let bits = (64 - (size - 1).leading_zeros()).max(2);
    let half = bits.div_ceil(2);
    let mask = (1u64 << half) - 1;
    let round = |r: u64, k: u64| -> u64 {
        (hash_murmur2(r as i64, (seed as u64 ^ k) as i64) as u64) & mask
    };
    let mut x = (i.rem_euclid(size as i64)) as u64;
    loop {
        let (mut l, mut r) = (x >> half, x & mask);
        for k in 0..4u64 {
            let next = l ^ round(r, k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            l = r;
            r = next;
        }
        x = (l << half) | r;
        if x < size {
            return Ok(x as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(n: usize, lb: i64, ub: i64, mut draw: impl FnMut() -> i64) -> Vec<usize> {
        let mut h = vec![0; (ub - lb + 1) as usize];
        for _ in 0..n {
            let v = draw();
            assert!((lb..=ub).contains(&v), "{v} outside {lb}..={ub}");
            h[(v - lb) as usize] += 1;
        }
        h
    }

    #[test]
    fn uniform_is_flat() {
        let mut rng = Rng::new(1);
        let h = histogram(100_000, 1, 10, || uniform(&mut rng, 1, 10).unwrap_or(0));
        for c in &h {
            assert!((9_500..=10_500).contains(c), "{h:?}");
        }
        assert!(uniform(&mut rng, 5, 4).is_err());
        assert!(uniform(&mut rng, i64::MIN, i64::MAX).is_err());
    }

    #[test]
    fn exponential_falls_by_the_parameter() {
        // P(r < 0.1) = (1 - e^(-p/10)) / (1 - e^-p); for p = 5: 0.3961.
        let mut rng = Rng::new(2);
        let n = 200_000;
        let h = histogram(n, 0, 99, || exponential(&mut rng, 0, 99, 5.0).unwrap_or(-1));
        let first: usize = h[..10].iter().sum();
        let p = first as f64 / n as f64;
        assert!((0.391..=0.401).contains(&p), "{p}");
        assert!(h[0] > h[50] && h[50] > h[99]);
        assert!(exponential(&mut rng, 0, 9, 0.0).is_err());
    }

    #[test]
    fn gaussian_is_centred_and_symmetric() {
        let mut rng = Rng::new(3);
        let n = 200_000;
        let h = histogram(n, 1, 100, || gaussian(&mut rng, 1, 100, 2.5).unwrap_or(0));
        let mean: f64 = h
            .iter()
            .enumerate()
            .map(|(i, c)| (i + 1) as f64 * *c as f64)
            .sum::<f64>()
            / n as f64;
        assert!((50.0..=51.0).contains(&mean), "{mean}");
        // Values 31..=70 are the draws within one standard deviation of
        // the middle: (2 Phi(1) - 1) / (2 Phi(2.5) - 1) = 0.6913.
        let middle: usize = h[30..70].iter().sum();
        let p = middle as f64 / n as f64;
        assert!((0.687..=0.696).contains(&p), "{p}");
        assert!(gaussian(&mut rng, 1, 10, 1.9).is_err());
    }

    #[test]
    fn zipfian_above_one_is_skewed_by_s() {
        let mut rng = Rng::new(4);
        let mut cache = ZipfCache::default();
        let n = 200_000;
        let h = histogram(n, 1, 1000, || {
            zipfian(&mut rng, &mut cache, 1, 1000, 1.5).unwrap_or(0)
        });
        // P(1) / P(2) = 2^1.5 = 2.83; P(1) = 1 / H(1000, 1.5) = 0.3925.
        let ratio = h[0] as f64 / h[1] as f64;
        assert!((2.7..=2.97).contains(&ratio), "{ratio}");
        let p1 = h[0] as f64 / n as f64;
        assert!((0.386..=0.399).contains(&p1), "{p1}");
    }

    #[test]
    fn zipfian_below_one_is_skewed_by_s() {
        let mut rng = Rng::new(5);
        let mut cache = ZipfCache::default();
        let n = 200_000;
        let h = histogram(n, 11, 110, || {
            zipfian(&mut rng, &mut cache, 11, 110, 0.5).unwrap_or(0)
        });
        let expected_p1 = 1.0 / harmonic(100, 0.5);
        let p1 = h[0] as f64 / n as f64;
        assert!((p1 - expected_p1).abs() < 0.004, "{p1} vs {expected_p1}");
        let ratio = h[0] as f64 / h[1] as f64;
        assert!((1.32..=1.51).contains(&ratio), "{ratio}");
        // Lower ranks stay more likely than higher ones.
        let low: usize = h[..10].iter().sum();
        let high: usize = h[90..].iter().sum();
        assert!(low > 2 * high, "{low} vs {high}");
        for bad in [0.0, 1.0, 1.0005, 1001.0, f64::NAN] {
            assert!(zipfian(&mut rng, &mut cache, 1, 10, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn harmonic_tail_approximation_is_accurate() {
        let n = 3_000_000;
        let exact: f64 = (1..=n).rev().map(|i| (i as f64).powf(-0.7)).sum();
        let approx = harmonic(n, 0.7);
        assert!(
            ((exact - approx) / exact).abs() < 1e-9,
            "{exact} vs {approx}"
        );
    }

    #[test]
    fn hashes_are_seeded_and_spread() {
        assert_ne!(hash_fnv1a(1, 0), hash_fnv1a(2, 0));
        assert_ne!(hash_fnv1a(1, 0), hash_fnv1a(1, 1));
        assert_ne!(hash_murmur2(1, 0), hash_murmur2(1, 1));
        assert_eq!(hash_murmur2(42, 7), hash_murmur2(42, 7));
        // FNV-1a of eight zero bytes, seed 0, from the algorithm's definition.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for _ in 0..8 {
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        assert_eq!(hash_fnv1a(0, 0), h as i64);
    }

    #[test]
    fn permute_is_a_bijection() {
        for size in [1, 2, 3, 10, 17, 1000] {
            let mut seen: Vec<i64> = (0..size)
                .map(|i| permute(i, size, 12345).unwrap_or(-1))
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..size).collect::<Vec<_>>(), "size {size}");
        }
        let a: Vec<i64> = (0..10).map(|i| permute(i, 10, 1).unwrap_or(-1)).collect();
        let b: Vec<i64> = (0..10).map(|i| permute(i, 10, 2).unwrap_or(-1)).collect();
        assert_ne!(a, b);
        assert_eq!(permute(-1, 10, 1), permute(9, 10, 1));
        assert!(permute(1, 0, 1).is_err());
    }
}
