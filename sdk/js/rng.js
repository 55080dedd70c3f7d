// Repeatable random numbers, bit for bit the same as the Rust SDK's `Rng`.
//
// xoshiro256++ seeded through SplitMix64 (as Rust's rand_xoshiro
// `Xoshiro256PlusPlus::seed_from_u64` does), with Lemire's unbiased method
// for integer ranges. The same seed gives the same numbers in every StormDB
// SDK (Rust, Python, JavaScript, C); sdk/testdata/rng-vectors.txt pins them.
//
// This module has no imports, so it also runs under Node for the
// cross-language check (sdk/testdata/check-rng.sh).

const MASK = (1n << 64n) - 1n;
const TWO64 = 1n << 64n;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TWO_POW_M53 = 2 ** -53;

const rotl = (x, k) => ((x << k) | (x >> (64n - k))) & MASK;

// BigInt arithmetic throughout: StarlingMonkey interprets JavaScript without
// a JIT, and there a version on 32-bit halves in plain numbers measured
// slower (more operations) than this one (~3 µs per draw either way).
export class Rng {
  #s0; #s1; #s2; #s3;

  /** A generator for `seed` (a number or BigInt; pass `ctx.seed`). */
  constructor(seed) {
    let x = BigInt.asUintN(64, BigInt(seed));
    const s = [];
    for (let i = 0; i < 4; i++) { // SplitMix64 fills the 256-bit state
      x = (x + 0x9E3779B97F4A7C15n) & MASK;
      let z = x;
      z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & MASK;
      z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & MASK;
      s.push(z ^ (z >> 31n));
    }
    [this.#s0, this.#s1, this.#s2, this.#s3] = s;
  }

  /** The next 64 random bits, as a BigInt in 0n .. 2n**64n - 1n. */
  nextU64() {
    let s0 = this.#s0, s1 = this.#s1, s2 = this.#s2, s3 = this.#s3;
    const result = (rotl((s0 + s3) & MASK, 23n) + s0) & MASK;
    const t = (s1 << 17n) & MASK;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    this.#s0 = s0; this.#s1 = s1; this.#s2 = s2; this.#s3 = rotl(s3, 45n);
    return result;
  }

  /**
   * A uniform integer in lo..=hi (both included), without modulo bias;
   * `lo` when hi <= lo. Numbers in, a number out (bounds must be safe
   * integers); BigInts in, a BigInt out (any 64-bit signed bounds).
   */
  uniform(lo, hi) {
    if (typeof lo === 'bigint' || typeof hi === 'bigint') {
      return this.#uniformBig(BigInt(lo), BigInt(hi));
    }
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) {
      throw new RangeError(`uniform(${lo}, ${hi}): bounds must be safe integers (or BigInts)`);
    }
    return Number(this.#uniformBig(BigInt(lo), BigInt(hi)));
  }

  #uniformBig(lo, hi) {
    if (hi <= lo) return lo;
    const span = hi - lo + 1n;
    if (span > MASK) return BigInt.asIntN(64, this.nextU64()); // the whole 64-bit range
    const threshold = (TWO64 - span) % span;
    for (;;) {
      const m = this.nextU64() * span;
      if ((m & MASK) >= threshold) return lo + (m >> 64n);
    }
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  unit() {
    return Number(this.nextU64() >> 11n) * TWO_POW_M53;
  }

  /** True with probability p (0 to 1). */
  chance(p) {
    return this.unit() < p;
  }

  /** TPC-C's non-uniform random NURand(A, x, y) with run constant c. */
  nurand(a, c, x, y) {
    const first = this.uniform(0, a);
    const second = this.uniform(x, y);
    // `|` works on 32 bits in JavaScript; go through BigInt beyond that.
    const small = first >= 0 && second >= 0 && first <= 0x7fffffff && second <= 0x7fffffff;
    const or = small ? first | second : Number(BigInt(first) | BigInt(second));
    return ((or + c) % (y - x + 1)) + x;
  }

  /** A random string of `length` ASCII letters and digits. */
  alnum(length) {
    let s = '';
    for (let i = 0; i < length; i++) s += ALNUM[this.uniform(0, 61)];
    return s;
  }

  /** One element of the non-empty array `items`. */
  choice(items) {
    return items[this.uniform(0, items.length - 1)];
  }
}
