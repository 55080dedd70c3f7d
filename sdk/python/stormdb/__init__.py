"""Write StormDB workload plugins in Python.

A workload subclasses :class:`Workload` and is exported from the app module
that componentize-py builds::

    import stormdb
    from stormdb import sql

    class Ping(stormdb.Workload):
        name, version, description = "ping", "0.1.0", "SELECT 1 in a loop"
        modes = [("select", "one SELECT per step")]

        def __init__(self, ctx):
            self.rng = stormdb.Rng(ctx.seed)
            self.select = sql.prepare("SELECT $1::int8")

        def step(self):
            self.select.query(self.rng.uniform(1, 100))
            return "select"

    Workload = stormdb.export(Ping)

Build: ``componentize-py -d WIT_DIR -w workload-plugin componentize -p SDK_DIR
-p . app -o ping.wasm`` (see docs/authoring.md).
"""

from . import sql
from .rng import Rng
from .sql import SqlError
from .values import (
    boolean_array,
    float4_array,
    float8_array,
    int8_array,
    json,
    numeric,
    text_array,
    time_us,
    timestamp_us,
)
from .workload import (
    Context,
    Figure,
    Outcome,
    RunSummary,
    StepFailed,
    Workload,
    WorkloadFailed,
    count,
    debug,
    error,
    export,
    info,
    log,
    operation,
    warn,
)

__all__ = [
    "Context", "Figure", "Outcome", "Rng", "RunSummary", "SqlError", "StepFailed", "Workload",
    "WorkloadFailed", "boolean_array", "count", "debug", "error", "export", "float4_array",
    "float8_array", "info", "int8_array", "json", "log", "numeric", "operation", "sql",
    "text_array", "time_us", "timestamp_us", "warn",
]
