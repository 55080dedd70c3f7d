"""Print the cross-language RNG vectors (format: sdk/testdata/README.md).

Run: python3 sdk/python/tests/rng_vectors.py > out.txt
"""

import importlib.util
import os
import sys

# Load rng.py on its own: the rest of the package needs the component's
# generated bindings, which exist only inside a componentize-py build.
_spec = importlib.util.spec_from_file_location(
    "stormdb_rng", os.path.join(os.path.dirname(__file__), "..", "stormdb", "rng.py")
)
_rng = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_rng)
Rng = _rng.Rng

SEEDS = [0, 1, 42, 12345678901234567890, 18446744073709551615]
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1


def main():
    out = []
    for seed in SEEDS:
        r = Rng(seed)

        def line(kind, n, draw):
            out.append(f"{seed} {kind} " + " ".join(str(draw()) for _ in range(n)))

        line("u64", 4, r.next_u64)
        line("uniform(1,1000000)", 1000, lambda: r.uniform(1, 1000000))
        line("uniform(-5,5)", 20, lambda: r.uniform(-5, 5))
        line("uniform(min,max)", 5, lambda: r.uniform(I64_MIN, I64_MAX))
        line("uniform(0,2^62)", 5, lambda: r.uniform(0, 1 << 62))
        line("uniform(10,3)", 3, lambda: r.uniform(10, 3))
        line("alnum(12)", 5, lambda: r.alnum(12))
        line("unit*2^53", 5, lambda: int(r.unit() * (1 << 53)))
        line("chance(0.3)", 10, lambda: int(r.chance(0.3)))
        line("nurand(1023,259,1,3000)", 5, lambda: r.nurand(1023, 259, 1, 3000))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
