"""The SQL capability: queries, prepared statements, transactions, COPY.

Every function raises :class:`SqlError` when the call fails; parameters are
plain Python values (see :mod:`stormdb.values`) passed positionally for
``$1``, ``$2``, ...::

    rows = sql.query("SELECT v, n FROM kv WHERE k = $1", 42)
    print(rows.one()["v"])

    read = sql.prepare("SELECT v FROM kv WHERE k = $1")   # once, in __init__
    v = read.query(42).scalar()                            # in step

    with sql.transaction() as tx:                          # commits, or rolls
        tx.execute("UPDATE kv SET n = n + 1 WHERE k = $1", 42)  # back on error
"""

from componentize_py_types import Err
from wit_world.imports import sql as _sql
from wit_world.imports import types as _t

from .values import from_value, to_values

IsolationLevel = _sql.IsolationLevel
"""``DEFAULT``, ``READ_COMMITTED``, ``REPEATABLE_READ``, ``SERIALIZABLE``."""

_ERROR_KINDS = {
    _t.SqlError_Denied: "denied",
    _t.SqlError_Database: "database",
    _t.SqlError_Timeout: "timeout",
    _t.SqlError_Connection: "connection",
    _t.SqlError_Limit: "limit",
    _t.SqlError_Invalid: "invalid",
}


class SqlError(Exception):
    """A SQL call failed.

    ``kind`` is ``denied`` (host policy), ``database`` (the server reported
    an error: see ``sqlstate`` and ``database``), ``timeout``, ``connection``,
    ``limit`` (a host limit) or ``invalid`` (a malformed call). ``raw`` is the
    contract's ``sql-error``, which the host receives unchanged when the
    error leaves a workload call.
    """

    def __init__(self, raw):
        self.raw = raw
        self.kind = _ERROR_KINDS[type(raw)]
        self.database = raw.value if self.kind == "database" else None
        self.sqlstate = self.database.sqlstate if self.database else None
        self.message = self.database.message if self.database else raw.value
        super().__init__(f"{self.kind}: {self.message}" + (f" (SQLSTATE {self.sqlstate})" if self.sqlstate else ""))


def _call(fn, *args):
    try:
        return fn(*args)
    except Err as e:
        raise SqlError(e.value) from None


class Row:
    """One result row: ``row[0]`` by position, ``row["name"]`` by column name."""

    __slots__ = ("_values", "_names")

    def __init__(self, values, names):
        self._values = values
        self._names = names

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                key = self._names[key]
            except KeyError:
                raise KeyError(f"no column '{key}' in this result; columns: {', '.join(self._names)}") from None
        return self._values[key]

    def __len__(self):
        return len(self._values)

    def __iter__(self):
        return iter(self._values)

    def __repr__(self):
        return f"Row({self._values!r})"

    def as_tuple(self):
        return tuple(self._values)


class Rows:
    """The rows of a result. Cells are converted to Python values when a row
    is read. ``columns`` holds the column names."""

    __slots__ = ("columns", "_raw", "_names")

    def __init__(self, columns, raw_rows, names=None):
        self.columns = columns
        self._raw = raw_rows
        self._names = names if names is not None else {c: i for i, c in enumerate(columns)}

    def __len__(self):
        return len(self._raw)

    def __bool__(self):
        return bool(self._raw)

    def __getitem__(self, i):
        return Row([from_value(v) for v in self._raw[i]], self._names)

    def __iter__(self):
        names = self._names
        for raw in self._raw:
            yield Row([from_value(v) for v in raw], names)

    def one(self):
        """The only row; raises :class:`stormdb.WorkloadFailed` unless there is exactly one."""
        if len(self._raw) != 1:
            from .workload import WorkloadFailed

            raise WorkloadFailed(f"expected exactly one row, got {len(self._raw)}")
        return self[0]

    def scalar(self):
        """The first cell of the only row."""
        return self.one()[0]


def _rowset(rs):
    return Rows([c.name for c in rs.columns], rs.rows)


def query(statement, *params):
    """Run a statement and return its :class:`Rows`."""
    return _rowset(_call(_sql.query, statement, to_values(params)))


def execute(statement, *params):
    """Run a statement and return the number of rows it affected."""
    return _call(_sql.execute, statement, to_values(params))


def copy_in(table, columns, rows):
    """Bulk-load ``rows`` (sequences of Python values, in ``columns`` order)
    into ``table`` with COPY; returns the number of rows copied."""
    return _call(_sql.copy_in, table, list(columns), [to_values(r) for r in rows])


class Statement:
    """A prepared statement: checked by the server once, then run by handle.
    Prepare the statements of the hot loop in the worker's ``__init__``."""

    __slots__ = ("_raw", "sql", "columns", "param_count", "_names")

    def __init__(self, statement):
        self._raw = _call(_sql.prepare, statement)
        self.sql = statement
        self.columns = [c.name for c in self._raw.columns()]
        self.param_count = self._raw.param_count()
        self._names = {c: i for i, c in enumerate(self.columns)}

    def query(self, *params):
        """Run it and return its :class:`Rows`."""
        return Rows(self.columns, _call(self._raw.query, to_values(params)), self._names)

    def execute(self, *params):
        """Run it and return the number of rows it affected."""
        return _call(self._raw.execute, to_values(params))


def prepare(statement):
    """Prepare ``statement``; errors in the SQL surface here."""
    return Statement(statement)


class Transaction:
    """An open transaction. Use it as a context manager (commit on success,
    rollback on an exception) or call :meth:`commit`/:meth:`rollback`.
    Prepared statements run inside it too: they use the call's connection."""

    __slots__ = ("_raw",)

    def __init__(self, raw):
        self._raw = raw

    def query(self, statement, *params):
        return _rowset(_call(self._raw.query, statement, to_values(params)))

    def execute(self, statement, *params):
        return _call(self._raw.execute, statement, to_values(params))

    def copy_in(self, table, columns, rows):
        return _call(self._raw.copy_in, table, list(columns), [to_values(r) for r in rows])

    def commit(self):
        self._finish(self._raw.commit)

    def rollback(self):
        self._finish(self._raw.rollback)

    def _finish(self, fn):
        raw, self._raw = self._raw, None
        if raw is None:
            raise SqlError(_t.SqlError_Invalid("the transaction is already finished"))
        try:
            _call(fn)
        finally:
            raw.__exit__(None, None, None)  # release the handle

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._raw is None:
            return False
        if exc_type is None:
            self.commit()
        else:
            raw, self._raw = self._raw, None
            raw.__exit__(None, None, None)  # dropping it rolls back
        return False


def transaction(isolation=IsolationLevel.DEFAULT, read_only=False):
    """Start a transaction (sends BEGIN)."""
    return Transaction(_call(_sql.begin, _sql.TransactionOptions(isolation, read_only)))


class CopyBatcher:
    """Collects rows and copies them ``batch`` at a time, so a loader never
    holds its whole share in memory::

        with sql.CopyBatcher("kv", ["k", "v", "n"]) as copy:
            for k in range(lo, hi):
                copy.push(k, f"value-{k}", 0)
    """

    def __init__(self, table, columns, batch=5000):
        self.table = table
        self.columns = list(columns)
        self.batch = max(1, batch)
        self.copied = 0
        self._rows = []

    def push(self, *row):
        """Add one row (its values in ``columns`` order)."""
        self._rows.append(to_values(row))
        if len(self._rows) >= self.batch:
            self.flush()

    def flush(self):
        """Copy what is buffered."""
        if self._rows:
            self.copied += _call(_sql.copy_in, self.table, self.columns, self._rows)
            self._rows = []

    def finish(self):
        """Copy the rest; returns the number of rows copied in all."""
        self.flush()
        return self.copied

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.finish()
        return False
