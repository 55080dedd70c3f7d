"""The workload base class and its export glue.

Subclass :class:`Workload`, then export it from the module componentize-py
builds (``app.py``)::

    Workload = stormdb.export(MyWorkload)

Setup calls are class methods (they run on instances that never step);
``__init__(self, ctx)`` is the contract's ``init`` and ``step(self)`` runs one
unit of work, returning its operation name (or an :class:`Outcome`).
"""

import traceback

from componentize_py_types import Err
from wit_world import exports as _exports
from wit_world.exports import workload as _w
from wit_world.imports import log as _log
from wit_world.imports import metrics as _metrics

from .sql import SqlError


class WorkloadFailed(Exception):
    """A failure in the workload's own words (the contract's ``failed``)."""


class StepFailed(Exception):
    """A failed step of ``operation``: ``raise StepFailed("read", "row 7 is missing")``."""

    def __init__(self, operation, message):
        super().__init__(message)
        self.stormdb_operation = operation


class operation:  # noqa: N801 - used like a keyword: ``with operation("read"):``
    """Attribute exceptions raised inside the block to ``name``, so a failed
    step is counted under that operation rather than under ``step``."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and getattr(exc, "stormdb_operation", None) is None:
            try:
                exc.stormdb_operation = self.name
            except AttributeError:
                pass
        return False


class Outcome:
    """What a step did: ``Outcome("new-order")`` or
    ``Outcome("new-order", rolled_back=True)`` for an intended rollback.
    Returning the operation name alone means a committed step."""

    __slots__ = ("operation", "rolled_back")

    def __init__(self, operation, rolled_back=False):
        self.operation = operation
        self.rolled_back = rolled_back


class Figure:
    """A figure for the report, computed in :meth:`Workload.summarize`."""

    __slots__ = ("name", "value", "unit", "expected", "ok")

    def __init__(self, name, value, unit="", expected=None, ok=None):
        self.name, self.value, self.unit, self.expected, self.ok = name, float(value), unit, expected, ok

    def expect_between(self, lo, hi, expected):
        """Check the value against ``lo ..= hi``, described as ``expected``."""
        self.expected = expected
        self.ok = lo <= self.value <= hi
        return self


class Context:
    """The contract's context: ``mode``, ``scale``, ``worker_id``,
    ``workers``, ``seed`` and the declared parameters in ``params``."""

    __slots__ = ("mode", "scale", "worker_id", "workers", "seed", "params")

    def __init__(self, raw):
        self.mode = raw.mode
        self.scale = raw.scale
        self.worker_id = raw.worker_id
        self.workers = raw.workers
        self.seed = raw.seed
        self.params = dict(raw.params)

    def param(self, name, convert=str):
        """Parameter ``name`` converted with ``convert`` (``int``, ``float``,
        ...); raises :class:`WorkloadFailed` naming the parameter when it is
        missing or does not convert."""
        if name not in self.params:
            raise WorkloadFailed(f"parameter '{name}' is missing")
        raw = self.params[name]
        try:
            return convert(raw.strip())
        except (TypeError, ValueError):
            kind = getattr(convert, "__name__", "the expected type")
            raise WorkloadFailed(f"parameter '{name}' has value '{raw}', which is not a valid {kind}") from None


class RunSummary:
    """What the host measured: ``elapsed_s``, per-operation totals and the
    ``metrics.count`` counters."""

    def __init__(self, raw):
        self.elapsed_s = raw.elapsed_s
        self.operations = {o.name: o for o in raw.operations}
        self.counters = dict(raw.counters)

    def operation(self, name):
        """Totals of operation ``name`` (``count``, ``errors``,
        ``rolled_back``), or ``None`` if it never ran."""
        return self.operations.get(name)

    def counter(self, name):
        """Counter ``name``, 0 if never counted."""
        return self.counters.get(name, 0)


class Workload:
    """Base class of a Python workload. Override what you need; only
    ``__init__`` and ``step`` are required.

    Class attributes describe it: ``name``, ``version``, ``description``,
    ``modes`` (``[(name, description), ...]``, the first is the default),
    ``params`` (``[(name, default, description), ...]``) and
    ``default_scale``.
    """

    name = "unnamed"
    version = "0.1.0"
    description = ""
    modes = [("default", "the only mode")]
    params = []
    default_scale = 1

    @classmethod
    def is_loaded(cls, ctx):
        """Whether the data for ``ctx.scale`` is in place."""
        return True

    @classmethod
    def setup_schema(cls, ctx):
        """Create the tables. Runs once per setup."""

    @classmethod
    def load(cls, ctx):
        """Load this loader's share (``ctx.worker_id`` of ``ctx.workers``)."""

    @classmethod
    def finish_setup(cls, ctx):
        """Indexes, constraints, ANALYZE: runs once after every loader."""

    def __init__(self, ctx):
        """The contract's ``init``: prepare statements, seed an Rng."""

    def step(self):
        """One unit of work; returns its operation name or an Outcome."""
        raise NotImplementedError("step")

    @classmethod
    def summarize(cls, ctx, run):
        """Figures (a list of :class:`Figure`) from ``run``, a :class:`RunSummary`."""
        return []

    @classmethod
    def cleanup(cls, ctx):
        """Drop what setup created."""


def log(level, message):
    """Log ``message`` at ``level`` (``"trace"`` ... ``"error"``)."""
    _log.log(_LEVELS[level], str(message))


_LEVELS = {
    "trace": _log.Level.TRACE,
    "debug": _log.Level.DEBUG,
    "info": _log.Level.INFO,
    "warn": _log.Level.WARN,
    "error": _log.Level.ERROR,
}


def debug(message):
    _log.log(_log.Level.DEBUG, str(message))


def info(message):
    _log.log(_log.Level.INFO, str(message))


def warn(message):
    _log.log(_log.Level.WARN, str(message))


def error(message):
    _log.log(_log.Level.ERROR, str(message))


def count(name, delta=1):
    """Add ``delta`` to the counter ``name`` (summed over the measured window)."""
    _metrics.count(name, delta)


def _workload_error(exc):
    """The contract's workload-error for an exception."""
    if isinstance(exc, SqlError):
        return _w.WorkloadError_Sql(exc.raw)
    if isinstance(exc, (WorkloadFailed, StepFailed)):
        return _w.WorkloadError_Failed(str(exc))
    # A bug rather than a reported failure: keep the traceback in the log.
    _log.log(_log.Level.ERROR, "".join(traceback.format_exception(exc)).rstrip())
    return _w.WorkloadError_Failed(f"{type(exc).__name__}: {exc}")


def _guard(fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - every failure goes back to the host
        raise Err(_workload_error(e)) from None


def export(cls):
    """The class componentize-py exports for the workload class ``cls``;
    assign it to ``Workload`` in your app module."""

    state = {"worker": None}

    class _Export(_exports.Workload):
        def describe(self):
            return _w.Info(
                cls.name,
                cls.version,
                cls.description,
                [_w.Mode(n, d) for n, d in cls.modes],
                [_w.Parameter(n, d, str(v)) for n, v, d in cls.params],
                cls.default_scale,
            )

        def is_loaded(self, ctx):
            return bool(_guard(cls.is_loaded, Context(ctx)))

        def setup_schema(self, ctx):
            _guard(cls.setup_schema, Context(ctx))

        def load(self, ctx):
            _guard(cls.load, Context(ctx))

        def finish_setup(self, ctx):
            _guard(cls.finish_setup, Context(ctx))

        def init(self, ctx):
            state["worker"] = _guard(cls, Context(ctx))

        def step(self):
            worker = state["worker"]
            try:
                if worker is None:
                    raise StepFailed("step", "step called before init")
                result = worker.step()
            except Exception as e:  # noqa: BLE001
                op = getattr(e, "stormdb_operation", None) or "step"
                raise Err(_w.StepError(op, _workload_error(e))) from None
            if isinstance(result, str):
                return _w.Outcome(result, False)
            return _w.Outcome(result.operation, bool(result.rolled_back))

        def summarize(self, ctx, run):
            figures = _guard(cls.summarize, Context(ctx), RunSummary(run)) or []
            return [_w.Figure(f.name, f.value, f.unit, f.expected, f.ok) for f in figures]

        def cleanup(self, ctx):
            _guard(cls.cleanup, Context(ctx))

    _Export.__name__ = _Export.__qualname__ = "Workload"
    return _Export
