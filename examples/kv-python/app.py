"""The kv example workload in Python: point reads and updates on
kv(k bigint primary key, v text, n bigint), 10,000 rows per scale unit.

Same table, modes, parameters and random sequence as examples/kv-rust,
kv-js and kv-c: the same seed writes the same rows in every language.
"""

import stormdb
from stormdb import sql

ROWS_PER_SCALE = 10_000
COPY_BATCH = 5_000


class KV(stormdb.Workload):
    name = "kv"
    version = "0.1.0"
    description = "Key-value point reads and updates (Python example)"
    modes = [
        ("mixed", "reads and updates, read_pct percent reads"),
        ("read", "SELECT one row by primary key"),
        ("write", "UPDATE one row by primary key"),
        ("txn", "read one key and update another in one transaction"),
        ("noop", "draw a key and return: the cost of a step without SQL"),
    ]
    params = [
        ("read_pct", "80", "percentage of reads in mixed mode (0-100)"),
        ("value_len", "16", "characters written per update"),
    ]
    default_scale = 1

    @classmethod
    def is_loaded(cls, ctx):
        if not sql.query("SELECT to_regclass('kv') IS NOT NULL").scalar():
            return False
        return sql.query("SELECT count(*) FROM kv").scalar() == ctx.scale * ROWS_PER_SCALE

    @classmethod
    def setup_schema(cls, ctx):
        sql.execute("DROP TABLE IF EXISTS kv")
        sql.execute("CREATE TABLE kv (k bigint NOT NULL, v text NOT NULL, n bigint NOT NULL)")

    @classmethod
    def load(cls, ctx):
        # Loader i of L copies keys total*i/L+1 ..= total*(i+1)/L; values
        # depend only on the key, so any number of loaders gives one table.
        total = ctx.scale * ROWS_PER_SCALE
        loaders = max(ctx.workers, 1)
        first = total * ctx.worker_id // loaders + 1
        last = total * (ctx.worker_id + 1) // loaders
        with sql.CopyBatcher("kv", ["k", "v", "n"], COPY_BATCH) as copy:
            for k in range(first, last + 1):
                copy.push(k, f"row-{k}", 0)
        stormdb.debug(f"loader {ctx.worker_id}: keys {first}..{last}")

    @classmethod
    def finish_setup(cls, ctx):
        sql.execute("ALTER TABLE kv ADD PRIMARY KEY (k)")
        sql.execute("ANALYZE kv")

    def __init__(self, ctx):
        if ctx.mode not in ("mixed", "read", "write", "txn", "noop"):
            raise stormdb.WorkloadFailed(f"unknown mode '{ctx.mode}'")
        read_pct = ctx.param("read_pct", float)
        if not 0 <= read_pct <= 100:
            raise stormdb.WorkloadFailed(f"parameter 'read_pct' must be between 0 and 100, got {read_pct}")
        self.mode = ctx.mode
        self.read_share = read_pct / 100
        self.value_len = ctx.param("value_len", int)
        self.rows = max(ctx.scale, 1) * ROWS_PER_SCALE
        self.rng = stormdb.Rng(ctx.seed)
        self.read_stmt = sql.prepare("SELECT v, n FROM kv WHERE k = $1")
        self.write_stmt = sql.prepare("UPDATE kv SET v = $2, n = n + 1 WHERE k = $1")

    def read(self):
        k = self.rng.uniform(1, self.rows)
        with stormdb.operation("read"):
            if not self.read_stmt.query(k):
                raise stormdb.StepFailed("read", f"row {k} missing: is the table loaded at this scale? (--setup)")
        stormdb.count("rows-read")
        return "read"

    def write(self):
        k = self.rng.uniform(1, self.rows)
        v = self.rng.alnum(self.value_len)
        with stormdb.operation("write"):
            if self.write_stmt.execute(k, v) != 1:
                raise stormdb.StepFailed("write", f"row {k} missing: is the table loaded at this scale? (--setup)")
        stormdb.count("rows-written")
        return "write"

    def txn(self):
        """Read one key and update another in one transaction. The prepared
        read runs inside it: statements use the call's connection."""
        k1 = self.rng.uniform(1, self.rows)
        k2 = self.rng.uniform(1, self.rows)
        v = self.rng.alnum(self.value_len)
        with stormdb.operation("txn"), sql.transaction() as tx:  # rolls back on an exception
            if not self.read_stmt.query(k1):
                raise stormdb.StepFailed("txn", f"row {k1} missing: is the table loaded at this scale? (--setup)")
            if tx.execute("UPDATE kv SET v = $2, n = n + 1 WHERE k = $1", k2, v) != 1:
                raise stormdb.StepFailed("txn", f"row {k2} missing: is the table loaded at this scale? (--setup)")
        stormdb.count("rows-read")
        stormdb.count("rows-written")
        return "txn"

    def step(self):
        if self.mode == "read":
            return self.read()
        if self.mode == "write":
            return self.write()
        if self.mode == "txn":
            return self.txn()
        if self.mode == "mixed":
            return self.read() if self.rng.chance(self.read_share) else self.write()
        self.rng.uniform(1, self.rows)
        return "noop"

    @classmethod
    def summarize(cls, ctx, run):
        reads, writes = run.counter("rows-read"), run.counter("rows-written")
        figures = [stormdb.Figure("rows-written", writes, "rows")]
        if ctx.mode == "mixed" and reads + writes > 0:
            pct = ctx.param("read_pct", float)
            share = stormdb.Figure("read-share", 100 * reads / (reads + writes), "%")
            figures.append(share.expect_between(pct - 5, pct + 5, f"{pct - 5:g}-{pct + 5:g} %"))
        return figures

    @classmethod
    def cleanup(cls, ctx):
        sql.execute("DROP TABLE IF EXISTS kv")


Workload = stormdb.export(KV)
