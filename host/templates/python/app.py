"""The {{name}} workload for StormDB: point reads and updates on one table,
{{name_snake}}_items(id bigint primary key, hits bigint, note text), 1,000
rows per scale unit.

Build: ./build.sh. Run: stormdb run --plugin build/{{name}}.wasm
--allow-unsigned --setup -t 10000. The guide to the API is docs/authoring.md
in the StormDB repository.
"""

import stormdb
from stormdb import sql

ROWS_PER_SCALE = 1_000
COPY_BATCH = 1_000
TABLE = "{{name_snake}}_items"


class Plugin(stormdb.Workload):
    name = "{{name}}"
    version = "0.1.0"
    description = "Point reads and updates on one table"
    modes = [  # the first is the default
        ("mixed", "reads and updates, read_pct percent reads"),
        ("read", "SELECT one item by primary key"),
        ("write", "UPDATE one item by primary key"),
    ]
    params = [("read_pct", "90", "percentage of reads in mixed mode (0-100)")]
    default_scale = 1

    # Setup calls are class methods; each instance is one worker.
    @classmethod
    def is_loaded(cls, ctx):
        if not sql.query(f"SELECT to_regclass('{TABLE}') IS NOT NULL").scalar():
            return False
        return sql.query(f"SELECT count(*) FROM {TABLE}").scalar() == max(ctx.scale, 1) * ROWS_PER_SCALE

    @classmethod
    def setup_schema(cls, ctx):
        sql.execute(f"DROP TABLE IF EXISTS {TABLE}")
        sql.execute(f"CREATE TABLE {TABLE} (id bigint NOT NULL, hits bigint NOT NULL, note text NOT NULL)")

    @classmethod
    def load(cls, ctx):
        # Loader i of L copies its share of the ids (several loaders run at once).
        total = max(ctx.scale, 1) * ROWS_PER_SCALE
        loaders = max(ctx.workers, 1)
        first = total * ctx.worker_id // loaders + 1
        last = total * (ctx.worker_id + 1) // loaders
        with sql.CopyBatcher(TABLE, ["id", "hits", "note"], COPY_BATCH) as copy:
            for item in range(first, last + 1):
                copy.push(item, 0, f"item-{item}")

    @classmethod
    def finish_setup(cls, ctx):
        sql.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id)")
        sql.execute(f"ANALYZE {TABLE}")

    def __init__(self, ctx):
        if ctx.mode not in ("mixed", "read", "write"):
            raise stormdb.WorkloadFailed(f"unknown mode '{ctx.mode}'")
        read_pct = ctx.param("read_pct", float)
        if not 0 <= read_pct <= 100:
            raise stormdb.WorkloadFailed(f"parameter 'read_pct' must be between 0 and 100, got {read_pct}")
        self.mode = ctx.mode
        self.read_share = read_pct / 100
        self.rows = max(ctx.scale, 1) * ROWS_PER_SCALE
        self.rng = stormdb.Rng(ctx.seed)
        self.read_stmt = sql.prepare(f"SELECT hits, note FROM {TABLE} WHERE id = $1")
        self.write_stmt = sql.prepare(f"UPDATE {TABLE} SET hits = hits + 1 WHERE id = $1")

    def read(self):
        item = self.rng.uniform(1, self.rows)
        with stormdb.operation("read"):
            if len(self.read_stmt.query(item)) != 1:
                raise stormdb.StepFailed("read", f"item {item} missing: run with --setup at this scale")
        stormdb.count("items-read")
        return "read"

    def write(self):
        item = self.rng.uniform(1, self.rows)
        with stormdb.operation("write"):
            if self.write_stmt.execute(item) != 1:
                raise stormdb.StepFailed("write", f"item {item} missing: run with --setup at this scale")
        stormdb.count("items-updated")
        return "write"

    def step(self):
        if self.mode == "read":
            return self.read()
        if self.mode == "write":
            return self.write()
        return self.read() if self.rng.chance(self.read_share) else self.write()

    @classmethod
    def cleanup(cls, ctx):
        sql.execute(f"DROP TABLE IF EXISTS {TABLE}")


Workload = stormdb.export(Plugin)
