#!/usr/bin/env python3
"""StormDB against pgbench on one throwaway PostgreSQL, in one sitting.

Starts a server with `stormdb local-pg`, runs `pgbench -i` once, then
alternates pgbench and StormDB at each client count for several rounds and
prints each tps, the ratio stormdb/pgbench, the client's CPU per transaction
(user and system time of the client process / transactions), the server's
(the CPU time of the postmaster and all its processes, those that ended
during the run included, / transactions) and the spread of the per-client
or per-worker transaction counts (a fairness check).

Usage: bench/compare.py [--rounds 5] [--seconds 15] [--clients 4,16,64]
                        [--tpcb-clients 8] [--scale 10] [--stormdb PATH]
"""

import argparse
import contextlib
import glob
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def find_pgbench():
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"),
                        key=lambda p: int(p.split("/")[4]))
    if not candidates:
        sys.exit("pgbench not found: install PostgreSQL's client tools")
    return candidates[-1]


def _proc_cpu_ticks(pid):
    """utime, stime, cutime and cstime of `pid`, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces; the fields after it do not.
        fields = f.read().rsplit(")", 1)[1].split()
    return [int(x) for x in fields[11:15]]  # utime stime cutime cstime


def _children(pid):
    kids = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(OSError), open(task) as f:
            kids += [int(k) for k in f.read().split()]
    return kids


class Server:
    """The server's CPU time: the postmaster's own, that of every process it
    runs now, and that of the ones it has reaped (client backends end with
    their connections). Read after a run's backends are gone, the
    difference is what the server spent on that run, whatever else the
    machine did. None where /proc is missing."""

    def __init__(self, data_dir):
        self.pid = None
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(os.path.join(data_dir, "postmaster.pid")) as f:
                self.pid = int(f.readline())
            self.baseline = len(_children(self.pid))

    def seconds(self):
        if self.pid is None:
            return None
        try:
            # Wait (up to 5 s) for the last run's backends to exit and be
            # reaped, so their time is in the postmaster's children total.
            for _ in range(100):
                if len(_children(self.pid)) <= self.baseline:
                    break
                time.sleep(0.05)
            u, s, cu, cs = _proc_cpu_ticks(self.pid)
            total = u + s + cu + cs
            for kid in _children(self.pid):
                with contextlib.suppress(OSError):
                    total += sum(_proc_cpu_ticks(kid)[:2])
            return total / os.sysconf("SC_CLK_TCK")
        except OSError:
            return None


class Cpu:
    """CPU seconds a run took: the client's user and system time, and the
    server's."""

    def __init__(self, user, system, others):
        self.user, self.system, self.others = user, system, others

    def per_tx(self, txns):
        """`usr+sys` and server µs per transaction, as printed."""
        n = max(txns, 1)
        client = f"{self.user / n * 1e6:.1f}+{self.system / n * 1e6:.1f}"
        server = "-" if self.others is None else f"{self.others / n * 1e6:.1f}"
        return client, server


def timed(cmd, server):
    """Runs cmd; returns (stdout, Cpu)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server0 = server.seconds()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server1 = server.seconds()
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    others = None if server0 is None or server1 is None else server1 - server0
    return out.stdout + out.stderr, Cpu(user, system, others)


def run_pgbench(pgbench, conninfo, server, mode, clients, seconds, logdir):
    """pgbench's tps, CPU per transaction, and the spread of its per-client
    transaction counts, estimated from a 5% sample of its transaction log."""
    script = ["-S"] if mode == "select-only" else []
    prefix = os.path.join(logdir, "pgb")
    for f in glob.glob(prefix + "*"):
        os.remove(f)
    cmd = [pgbench, *script, "-M", "prepared", "-c", str(clients), "-j", "2",
           "-T", str(seconds), "-n", "-l", "--sampling-rate=0.05",
           "--log-prefix", prefix, conninfo]
    out, cpu = timed(cmd, server)
    tps = float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out).group(1))
    txns = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    counts = {}
    for f in glob.glob(prefix + "*"):
        with open(f) as log:
            for line in log:
                client = line.split(" ", 1)[0]
                counts[client] = counts.get(client, 0) + 1
    spread = 0.0
    if counts:
        c = list(counts.values())
        spread = (max(c) - min(c)) / (sum(c) / len(c))
    return tps, cpu.per_tx(txns), spread


def run_stormdb(stormdb, conninfo, server, mode, clients, seconds, report):
    cmd = [stormdb, "-q", "run", "-w", "pgbench", "--mode", mode,
           "--workers", str(clients), "--connections", str(clients),
           "-d", f"{seconds}s", "--db", conninfo, "--json-out", report]
    _, cpu = timed(cmd, server)
    with open(report) as f:
        r = json.load(f)
    txns = r["summary"]["transactions"]
    counts = [w["transactions"] for w in r["workers"]]
    mean = sum(counts) / len(counts)
    spread = (max(counts) - min(counts)) / mean if mean else 0.0
    return r["summary"]["tps"], cpu.per_tx(txns), spread, r["summary"]["errors"]


@contextlib.contextmanager
def loaded_server(stormdb, scale, prefix):
    """A throwaway server with pgbench's tables at `scale`, and a temp dir:
    yields (pgbench, conninfo, tmp); stops the server and removes tmp after."""
    pgbench = find_pgbench()
    server = subprocess.Popen([stormdb, "-q", "local-pg", "--max-connections", "300"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    conninfo = server.stdout.readline().strip()
    if not conninfo:
        sys.exit("stormdb local-pg did not start a server")
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        subprocess.run([pgbench, "-i", "-q", "-s", str(scale), conninfo],
                       check=True, capture_output=True)
        yield pgbench, conninfo, tmp
    finally:
        server.stdin.close()
        server.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


def print_medians(title, ratios, label):
    """One line per key: the median ratio and all of them, sorted."""
    print(title)
    for key, rs in ratios.items():
        rs = sorted(rs)
        print(f"  {label(key)} {rs[len(rs) // 2]:.3f}  (all: {', '.join(f'{r:.3f}' for r in rs)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Runs on a shared 2-core VM moved pgbench's own tps by up to 35%
    # between rounds; the median of five is steadier than of three.
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--clients", default="4,16,64")
    ap.add_argument("--tpcb-clients", default="8")
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--stormdb", default="target/release/stormdb")
    args = ap.parse_args()

    with loaded_server(args.stormdb, args.scale, "stormdb-bench-") as (pgbench, conninfo, tmp):
        # `stormdb local-pg` keeps the data directory under its socket dir.
        host = re.search(r"host=(\S+)", conninfo)
        server = Server(os.path.join(host.group(1), "data") if host else "")
        plan = [("select-only", int(c)) for c in args.clients.split(",") if c]
        plan += [("tpcb-like", int(c)) for c in args.tpcb_clients.split(",") if c]
        print(f"pgbench: {pgbench}; scale {args.scale}; {args.seconds} s per run; "
              f"{args.rounds} rounds; cores: {os.cpu_count()}")
        print("spread = (max - min) / mean of per-client (pgbench, 5% sample) or "
              "per-worker (stormdb) transaction counts")
        print("client = the client's user+system CPU µs per transaction; server = "
              "PostgreSQL's CPU µs per transaction (its connection start-up included)")
        print(f"{'round':>5} {'mode':<12} {'C':>3} {'pgbench tps':>12} {'stormdb tps':>12} "
              f"{'ratio':>6} {'pgb client':>11} {'sdb client':>11} {'pgb server':>10} "
              f"{'sdb server':>10} {'pgb spread':>10} {'sdb spread':>10} {'errs':>5}")
        ratios = {}
        for rnd in range(1, args.rounds + 1):
            for mode, c in plan:
                p_tps, p_cpu, p_spread = run_pgbench(
                    pgbench, conninfo, server, mode, c, args.seconds, tmp)
                s_tps, s_cpu, spread, errs = run_stormdb(
                    args.stormdb, conninfo, server, mode, c, args.seconds,
                    os.path.join(tmp, f"{mode}-{c}-{rnd}.json"))
                ratio = s_tps / p_tps if p_tps else 0.0
                ratios.setdefault((mode, c), []).append(ratio)
                print(f"{rnd:>5} {mode:<12} {c:>3} {p_tps:>12.1f} {s_tps:>12.1f} {ratio:>6.3f} "
                      f"{p_cpu[0]:>11} {s_cpu[0]:>11} {p_cpu[1]:>10} {s_cpu[1]:>10} "
                      f"{p_spread:>10.1%} {spread:>10.1%} {errs:>5}",
                      flush=True)
        print_medians("median ratio stormdb/pgbench:", ratios,
                      lambda k: f"{k[0]:<12} C={k[1]:<3}")

if __name__ == "__main__":
    main()
