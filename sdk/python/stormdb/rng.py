"""Repeatable random numbers, bit for bit the same as the Rust SDK's ``Rng``.

xoshiro256++ seeded through SplitMix64 (as Rust's ``rand_xoshiro``
``Xoshiro256PlusPlus::seed_from_u64`` does), with Lemire's unbiased method for
integer ranges. The same seed gives the same numbers in every StormDB SDK
(Rust, Python, JavaScript, C); ``sdk/testdata/rng-vectors.txt`` pins them.
"""

_MASK = (1 << 64) - 1
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TWO_POW_M53 = 1.0 / (1 << 53)


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & _MASK


class Rng:
    """A seeded generator; pass ``ctx.seed`` to repeat a run."""

    __slots__ = ("_s0", "_s1", "_s2", "_s3")

    def __init__(self, seed):
        x = seed & _MASK
        words = []
        for _ in range(4):  # SplitMix64 fills the 256-bit state
            x = (x + 0x9E3779B97F4A7C15) & _MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
            words.append(z ^ (z >> 31))
        self._s0, self._s1, self._s2, self._s3 = words

    def next_u64(self):
        """The next 64 random bits, as an int in ``0 .. 2**64 - 1``."""
        s0, s1, s2, s3 = self._s0, self._s1, self._s2, self._s3
        result = (_rotl((s0 + s3) & _MASK, 23) + s0) & _MASK
        t = (s1 << 17) & _MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        self._s0, self._s1, self._s2, self._s3 = s0, s1, s2, _rotl(s3, 45)
        return result

    def uniform(self, lo, hi):
        """A uniform integer in ``lo ..= hi`` (both included), without
        modulo bias. Returns ``lo`` when ``hi <= lo``. Bounds are 64-bit
        signed integers."""
        if hi <= lo:
            return lo
        span = hi - lo + 1
        if span > _MASK:  # the whole 64-bit range
            x = self.next_u64()
            return x - (1 << 64) if x >> 63 else x
        threshold = ((1 << 64) - span) % span
        while True:
            m = self.next_u64() * span
            if (m & _MASK) >= threshold:
                return lo + (m >> 64)

    def unit(self):
        """A uniform float in ``[0, 1)`` with 53 random bits."""
        return (self.next_u64() >> 11) * _TWO_POW_M53

    def chance(self, p):
        """True with probability ``p`` (0 to 1)."""
        return self.unit() < p

    def nurand(self, a, c, x, y):
        """TPC-C's non-uniform random NURand(A, x, y) with run constant ``c``."""
        first = self.uniform(0, a)
        second = self.uniform(x, y)
        return ((first | second) + c) % (y - x + 1) + x

    def alnum(self, length):
        """A random string of ``length`` ASCII letters and digits."""
        return "".join(_ALNUM[self.uniform(0, 61)] for _ in range(length))

    def choice(self, items):
        """One element of the non-empty sequence ``items``."""
        return items[self.uniform(0, len(items) - 1)]
