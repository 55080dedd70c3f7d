//! TPC-C's random data rules (clause 4.3.2) and run-time constants
//! (clause 2.1.6), on top of the SDK's seeded generator.

use stormdb_sdk::Rng;

/// The syllables of clause 4.3.2.3, indexed by digit.
const SYLLABLES: [&str; 10] = [
    "BAR", "OUGHT", "ABLE", "PRI", "PRES", "ESE", "ANTI", "CALLY", "ATION", "EING",
];

/// NURand's A for customer last names, customer ids and item ids.
pub const A_C_LAST: i64 = 255;
/// NURand's A for customer ids.
pub const A_C_ID: i64 = 1023;
/// NURand's A for item ids.
pub const A_OL_I_ID: i64 = 8191;

/// The customer last name for `n` in `0..=999`: three syllables, one per
/// decimal digit (clause 4.3.2.3).
pub fn last_name(n: i64) -> String {
    let n = n.clamp(0, 999) as usize;
    let mut s = String::with_capacity(15);
    for digit in [n / 100, (n / 10) % 10, n % 10] {
        s.push_str(SYLLABLES[digit]);
    }
    s
}

/// An a-string (random alphanumeric characters) of a length drawn from
/// `lo..=hi`.
pub fn a_string(rng: &mut Rng, lo: i64, hi: i64) -> String {
    let len = rng.uniform(lo, hi) as usize;
    rng.alnum(len)
}

/// An n-string: `len` random decimal digits.
pub fn n_string(rng: &mut Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(b'0' + rng.uniform(0, 9) as u8))
        .collect()
}

/// A zip code: four random digits followed by "11111" (clause 4.3.2.7).
pub fn zip(rng: &mut Rng) -> String {
    let mut z = n_string(rng, 4);
    z.push_str("11111");
    z
}

/// I_DATA / S_DATA: an a-string of 26 to 50 characters where, for 10% of
/// rows, "ORIGINAL" is placed at a random position (clause 4.3.3.1).
pub fn data_with_original(rng: &mut Rng) -> String {
    let mut s = a_string(rng, 26, 50);
    if rng.uniform(1, 100) <= 10 {
        let at = rng.uniform(0, s.len() as i64 - 8) as usize;
        // The string is ASCII, so byte positions are character positions.
        s.replace_range(at..at + 8, "ORIGINAL");
    }
    s
}

/// A random warehouse other than `home`, uniformly among `1..=scale`;
/// `home` itself when there is no other.
pub fn other_warehouse(rng: &mut Rng, home: i64, scale: i64) -> i64 {
    if scale <= 1 {
        return home;
    }
    let w = rng.uniform(1, scale - 1);
    if w >= home { w + 1 } else { w }
}

/// The NURand constants C of clause 2.1.6: one for C_LAST at load time and
/// one per field for the run. Every terminal must use the same run values,
/// so they are chosen once, at setup, and stored in `tpcc_meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constants {
    /// C used for C_LAST when loading customers 1001 to 3000.
    pub c_last_load: i64,
    /// C used for C_LAST by Payment and Order-Status.
    pub c_last_run: i64,
    /// C used for C_ID.
    pub c_id: i64,
    /// C used for OL_I_ID.
    pub ol_i_id: i64,
}

/// Whether `run` is an acceptable run-time C for last names given the
/// load-time `load` (clause 2.1.6.1: the difference is in 65..=119 and is
/// neither 96 nor 112).
pub fn valid_c_last_delta(load: i64, run: i64) -> bool {
    let delta = (run - load).abs();
    (65..=119).contains(&delta) && delta != 96 && delta != 112
}

impl Constants {
    /// Draws a consistent set of constants.
    pub fn choose(rng: &mut Rng) -> Self {
        let c_last_load = rng.uniform(0, A_C_LAST);
        // Every load value in 0..=255 has valid run values (|delta| of 65
        // works from either end), so this loop ends.
        let c_last_run = loop {
            let candidate = rng.uniform(0, A_C_LAST);
            if valid_c_last_delta(c_last_load, candidate) {
                break candidate;
            }
        };
        Constants {
            c_last_load,
            c_last_run,
            c_id: rng.uniform(0, A_C_ID),
            ol_i_id: rng.uniform(0, A_OL_I_ID),
        }
    }
}

/// A uniformly random permutation of `1..=n` (for O_C_ID at load).
pub fn permutation(rng: &mut Rng, n: i64) -> Vec<i64> {
    let mut v: Vec<i64> = (1..=n).collect();
    for i in (1..v.len()).rev() {
        let j = rng.uniform(0, i as i64) as usize;
        v.swap(i, j);
    }
    v
}

/// SplitMix64's finaliser: derives independent seeds from one.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A think time of mean `mean_s` seconds: negative exponential, truncated
/// at ten times the mean (clause 5.2.5.4).
pub fn think_time(rng: &mut Rng, mean_s: f64) -> f64 {
    // 1 - unit() is in (0, 1], so the logarithm is finite.
    let r = 1.0 - rng.unit();
    (-r.ln() * mean_s).min(10.0 * mean_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_names_follow_the_syllable_table() {
        assert_eq!(last_name(0), "BARBARBAR");
        assert_eq!(last_name(371), "PRICALLYOUGHT");
        assert_eq!(last_name(999), "EINGEINGEING");
    }

    #[test]
    fn strings_have_the_asked_shape() {
        let mut rng = Rng::new(5);
        for _ in 0..1000 {
            let z = zip(&mut rng);
            assert_eq!(z.len(), 9);
            assert!(z.ends_with("11111") && z.bytes().all(|b| b.is_ascii_digit()));
            let d = data_with_original(&mut rng);
            assert!((26..=50).contains(&d.len()));
        }
        let originals = (0..10_000)
            .filter(|_| data_with_original(&mut rng).contains("ORIGINAL"))
            .count();
        assert!((800..=1200).contains(&originals), "{originals}");
    }

    #[test]
    fn run_constants_respect_the_delta_rule() {
        for seed in 0..2000 {
            let c = Constants::choose(&mut Rng::new(seed));
            assert!(valid_c_last_delta(c.c_last_load, c.c_last_run), "{c:?}");
            assert!((0..=255).contains(&c.c_last_run));
            assert!((0..=1023).contains(&c.c_id));
            assert!((0..=8191).contains(&c.ol_i_id));
        }
        assert!(!valid_c_last_delta(10, 106));
        assert!(!valid_c_last_delta(200, 88));
        assert!(valid_c_last_delta(0, 65));
    }

    #[test]
    fn other_warehouse_is_never_home() {
        let mut rng = Rng::new(9);
        for _ in 0..1000 {
            let w = other_warehouse(&mut rng, 3, 5);
            assert!(w != 3 && (1..=5).contains(&w));
        }
        assert_eq!(other_warehouse(&mut rng, 1, 1), 1);
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = permutation(&mut Rng::new(1), 3000);
        p.sort_unstable();
        assert_eq!(p, (1..=3000).collect::<Vec<_>>());
    }

    #[test]
    fn think_times_are_truncated() {
        let mut rng = Rng::new(2);
        let mut sum = 0.0;
        for _ in 0..100_000 {
            let t = think_time(&mut rng, 12.0);
            assert!((0.0..=120.0).contains(&t));
            sum += t;
        }
        let mean = sum / 100_000.0;
        assert!((11.5..=12.5).contains(&mean), "{mean}");
    }
}
