#!/usr/bin/env python3
"""What isolation costs: select-only as a tenant against the operator's run.

Starts one throwaway server with `stormdb local-pg`, loads pgbench's tables
twice at the same scale (once in the operator's schema with `pgbench -i`,
once in a tenant's own schema with `stormdb run -w pgbench --tenant bench
--setup`), then alternates, round after round, the built-in select-only
workload

  * on the operator's connection (no tenant role, no pinned search_path,
    no per-tenant timeouts), and
  * as tenant `bench`: its own LOGIN role with least privileges, its own
    schema, search_path pinned, statement/lock/idle timeouts, a connection
    limit, and the same statement policy and instance limits,

and prints each tps, their ratio and the medians. The statement policy and
the wasm limits (memory, CPU budget, wall timeout, result and statement
limits) are always on: a run cannot switch them off, so this measures what
the tenant adds on top of them. Their own cost is in the hostcall
microbenchmark (`cargo bench -p stormdb --bench hostcall`).

Usage: bench/isolation.py [--rounds 5] [--seconds 10] [--clients 4,16]
                          [--scale 10] [--stormdb PATH]
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import loaded_server, print_medians, timed  # noqa: E402


def run(stormdb, conninfo, clients, seconds, report, tenant):
    cmd = [stormdb, "-q", "run", "-w", "pgbench", "--mode", "select-only",
           "--workers", str(clients), "--connections", str(clients),
           "-d", f"{seconds}s", "--db", conninfo, "--json-out", report]
    if tenant:
        cmd += ["--tenant", tenant]
    _, cpu = timed(cmd)
    with open(report) as f:
        r = json.load(f)
    if r["summary"]["errors"]:
        sys.exit(f"{' '.join(cmd)}: {r['summary']['errors']} errors: {r['errors']}")
    if (r["config"]["tenant"] or None) != tenant:
        sys.exit(f"the report says tenant {r['config']['tenant']!r}, expected {tenant!r}")
    txns = r["summary"]["transactions"]
    return r["summary"]["tps"], cpu / max(txns, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--clients", default="4,16")
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--stormdb", default="target/release/stormdb")
    args = ap.parse_args()

    with loaded_server(args.stormdb, args.scale, "stormdb-isolation-") as (_, conninfo, tmp):
        subprocess.run([args.stormdb, "-q", "run", "-w", "pgbench", "--tenant", "bench",
                        "-s", str(args.scale), "--setup", "-t", "1", "--db", conninfo],
                       check=True, capture_output=True)
        clients = [int(c) for c in args.clients.split(",") if c]
        print(f"select-only, scale {args.scale}, {args.seconds} s per run, "
              f"{args.rounds} rounds, cores: {os.cpu_count()}")
        print(f"{'round':>5} {'C':>3} {'operator tps':>13} {'tenant tps':>11} {'ratio':>6} "
              f"{'op µs cpu/tx':>12} {'tn µs cpu/tx':>12}")
        ratios = {}
        for rnd in range(1, args.rounds + 1):
            for c in clients:
                # Alternate which goes first, so neither always runs on a
                # warmer cache.
                order = [None, "bench"] if rnd % 2 else ["bench", None]
                got = {}
                for tenant in order:
                    got[tenant] = run(args.stormdb, conninfo, c, args.seconds,
                                      os.path.join(tmp, f"{c}-{rnd}-{tenant}.json"), tenant)
                (o_tps, o_cpu), (t_tps, t_cpu) = got[None], got["bench"]
                ratio = t_tps / o_tps if o_tps else 0.0
                ratios.setdefault(c, []).append(ratio)
                print(f"{rnd:>5} {c:>3} {o_tps:>13.1f} {t_tps:>11.1f} {ratio:>6.3f} "
                      f"{o_cpu * 1e6:>12.1f} {t_cpu * 1e6:>12.1f}", flush=True)
        print_medians("median ratio tenant/operator:", ratios, lambda c: f"C={c:<3}")

if __name__ == "__main__":
    main()
