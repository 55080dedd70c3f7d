// Print the cross-language RNG vectors (format: sdk/testdata/README.md).
// Run: node sdk/js/test/rng-vectors.mjs > out.txt
import { Rng } from '../rng.js';

const SEEDS = [0n, 1n, 42n, 12345678901234567890n, 18446744073709551615n];
const I64_MIN = -(1n << 63n), I64_MAX = (1n << 63n) - 1n;

const out = [];
for (const seed of SEEDS) {
  const r = new Rng(seed);
  const line = (kind, n, draw) => {
    const values = [];
    for (let i = 0; i < n; i++) values.push(String(draw()));
    out.push(`${seed} ${kind} ${values.join(' ')}`);
  };
  line('u64', 4, () => r.nextU64());
  line('uniform(1,1000000)', 1000, () => r.uniform(1, 1000000));
  line('uniform(-5,5)', 20, () => r.uniform(-5, 5));
  line('uniform(min,max)', 5, () => r.uniform(I64_MIN, I64_MAX));
  line('uniform(0,2^62)', 5, () => r.uniform(0n, 1n << 62n));
  line('uniform(10,3)', 3, () => r.uniform(10, 3));
  line('alnum(12)', 5, () => r.alnum(12));
  line('unit*2^53', 5, () => r.unit() * 2 ** 53);
  line('chance(0.3)', 10, () => (r.chance(0.3) ? 1 : 0));
  line('nurand(1023,259,1,3000)', 5, () => r.nurand(1023, 259, 1, 3000));
}
process.stdout.write(out.join('\n') + '\n');
