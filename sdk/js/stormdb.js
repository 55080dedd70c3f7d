// Write StormDB workload plugins in JavaScript (componentize-js).
//
// A workload is a class: static `info` describes it, static methods are the
// setup calls, the constructor is the contract's `init` and `step()` runs one
// unit of work. Export it from the module componentize-js builds:
//
//   import { exportWorkload, sql, Rng } from './stormdb.js';
//
//   class Ping {
//     static info = { name: 'ping', version: '0.1.0', modes: [['select', 'one SELECT']] };
//     constructor(ctx) {
//       this.rng = new Rng(ctx.seed);
//       this.select = sql.prepare('SELECT $1::int8');
//     }
//     step() {
//       this.select.query(this.rng.uniform(1, 100));
//       return 'select';
//     }
//   }
//
//   export const workload = exportWorkload(Ping);
//
// Build: componentize-js app.js --wit WIT_DIR -n workload-plugin
//        -d http fetch-event -o ping.wasm   (see docs/authoring.md)

import * as rawSql from 'stormdb:workload/sql@0.1.0';
import { log as rawLog } from 'stormdb:workload/log@0.1.0';
import { count as rawCount } from 'stormdb:workload/metrics@0.1.0';

export { Rng } from './rng.js';

// ---------------------------------------------------------------- values

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/**
 * Explicit parameter values, for the cases a plain JavaScript value does not
 * name. Plain values convert by type: null/undefined -> null, boolean ->
 * boolean, integer number or BigInt -> int8, other number -> float8,
 * string -> text, Uint8Array -> bytea, Date -> timestamp.
 */
export const values = {
  int8: (n) => ({ tag: 'int8', val: BigInt(n) }),
  float8: (n) => ({ tag: 'float8', val: Number(n) }),
  numeric: (s) => ({ tag: 'numeric', val: String(s) }),
  text: (s) => ({ tag: 'text', val: String(s) }),
  /** JSON text, or any other value (serialized with JSON.stringify). */
  json: (x) => ({ tag: 'json', val: typeof x === 'string' ? x : JSON.stringify(x) }),
  /** A Date, or microseconds since 1970-01-01 00:00 UTC. */
  timestamp: (t) => ({ tag: 'timestamp', val: t instanceof Date ? BigInt(t.getTime()) * 1000n : BigInt(t) }),
  /** Days since 1970-01-01. */
  date: (days) => ({ tag: 'date', val: Number(days) }),
  /** Microseconds since midnight. */
  time: (us) => ({ tag: 'time', val: BigInt(us) }),
  uuid: (s) => ({ tag: 'uuid', val: String(s) }),
  float4Array: (xs) => ({ tag: 'float4-array', val: Float32Array.from(xs) }),
  float8Array: (xs) => ({ tag: 'float8-array', val: Float64Array.from(xs) }),
  int8Array: (xs) => ({ tag: 'int8-array', val: BigInt64Array.from(xs, BigInt) }),
  textArray: (xs) => ({ tag: 'text-array', val: Array.from(xs, String) }),
  booleanArray: (xs) => ({ tag: 'boolean-array', val: Array.from(xs, Boolean) }),
};

/** The contract value for a JavaScript value (see `values`). */
export function toValue(x) {
  switch (typeof x) {
    case 'number':
      return Number.isInteger(x) ? { tag: 'int8', val: BigInt(x) } : { tag: 'float8', val: x };
    case 'string':
      return { tag: 'text', val: x };
    case 'bigint':
      if (x < I64_MIN || x > I64_MAX) throw new RangeError(`${x} does not fit a 64-bit PostgreSQL value`);
      return { tag: 'int8', val: x };
    case 'boolean':
      return { tag: 'boolean', val: x };
    case 'undefined':
      return { tag: 'null' };
    case 'object':
      if (x === null) return { tag: 'null' };
      if (x instanceof Uint8Array) return { tag: 'bytea', val: x };
      if (x instanceof Date) return values.timestamp(x);
      if (typeof x.tag === 'string') return x; // already a contract value
  }
  throw new TypeError(
    `cannot pass ${Object.prototype.toString.call(x)} as a SQL parameter; ` +
      'use a number, BigInt, string, boolean, null, Uint8Array, Date or a `values.*` wrapper');
}

function toValues(params) {
  const out = new Array(params.length);
  for (let i = 0; i < params.length; i++) out[i] = toValue(params[i]);
  return out;
}

/** int8 as a number when it is a safe integer, else as a BigInt. */
const fromInt = (n) => (n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n);

/**
 * The JavaScript value of a result cell: int8 -> number (BigInt beyond
 * 2^53), float8 -> number, numeric/json/uuid/text -> string, timestamp and
 * date -> Date, time -> microseconds (number), bytea/raw -> Uint8Array,
 * arrays -> arrays, null -> null.
 */
export function fromValue(v) {
  switch (v.tag) {
    case 'null': return null;
    case 'int8': return fromInt(v.val);
    case 'timestamp': return new Date(Number(v.val / 1000n));
    case 'date': return new Date(v.val * 86400000);
    case 'time': return Number(v.val);
    case 'int8-array': return Array.from(v.val, fromInt);
    default: return v.val;
  }
}

// ---------------------------------------------------------------- errors

const ERROR_KINDS = new Set(['denied', 'database', 'timeout', 'connection', 'limit', 'invalid']);

/**
 * A SQL call failed. `kind` is denied, database (see `sqlstate` and
 * `database`), timeout, connection, limit or invalid; `raw` is the contract's
 * sql-error, handed to the host unchanged when the error leaves a call.
 */
export class SqlError extends Error {
  constructor(raw) {
    const db = raw.tag === 'database' ? raw.val : null;
    const message = db ? db.message : raw.val;
    super(`${raw.tag}: ${message}${db ? ` (SQLSTATE ${db.sqlstate})` : ''}`);
    this.name = 'SqlError';
    this.raw = raw;
    this.kind = raw.tag;
    this.database = db;
    this.sqlstate = db ? db.sqlstate : null;
  }
}

/** A failure in the workload's own words (the contract's `failed`). */
export class WorkloadFailed extends Error {
  constructor(message) {
    super(message);
    this.name = 'WorkloadFailed';
  }
}

/** A failed step of `operation`: `throw new StepFailed('read', 'row 7 is missing')`. */
export class StepFailed extends WorkloadFailed {
  constructor(operation, message) {
    super(message);
    this.name = 'StepFailed';
    this.operation = operation;
  }
}

/**
 * Run `fn` and attribute what it throws to `operation`, so a failed step is
 * counted under that operation rather than under `step`.
 */
export function operation(name, fn) {
  try {
    return fn();
  } catch (e) {
    if (e !== null && typeof e === 'object' && e.operation === undefined) e.operation = name;
    throw e;
  }
}

/** An error thrown by an import, as a SqlError when it carries a sql-error. */
function sqlError(e) {
  return e && e.payload && ERROR_KINDS.has(e.payload.tag) ? new SqlError(e.payload) : e;
}

function call(fn, ...args) {
  try {
    return fn(...args);
  } catch (e) {
    throw sqlError(e);
  }
}

// ---------------------------------------------------------------- rows

/** Rows of a result; cells convert to JavaScript values when read. */
export class Rows {
  constructor(columns, raw) {
    /** Column names. */
    this.columns = columns;
    /** The contract's rows (arrays of `{tag, val}`). */
    this.raw = raw;
  }

  get length() {
    return this.raw.length;
  }

  /** Row `i` as an array of values. */
  row(i) {
    return this.raw[i].map(fromValue);
  }

  /** Row `i` as an object keyed by column name. */
  object(i) {
    const o = {};
    this.raw[i].forEach((v, j) => { o[this.columns[j]] = fromValue(v); });
    return o;
  }

  /** Cell (row, column), the column by index or name. */
  get(i, column) {
    const j = typeof column === 'number' ? column : this.columns.indexOf(column);
    if (j < 0) throw new WorkloadFailed(`no column '${column}' in this result; columns: ${this.columns.join(', ')}`);
    return fromValue(this.raw[i][j]);
  }

  /** The only row, as an object; throws unless there is exactly one. */
  one() {
    if (this.raw.length !== 1) throw new WorkloadFailed(`expected exactly one row, got ${this.raw.length}`);
    return this.object(0);
  }

  /** The first cell of the only row. */
  scalar() {
    if (this.raw.length !== 1) throw new WorkloadFailed(`expected exactly one row, got ${this.raw.length}`);
    return fromValue(this.raw[0][0]);
  }

  *[Symbol.iterator]() {
    for (let i = 0; i < this.raw.length; i++) yield this.object(i);
  }
}

const rowSet = (rs) => new Rows(rs.columns.map((c) => c.name), rs.rows);

// ---------------------------------------------------------------- sql

class Statement {
  constructor(text) {
    this.handle = call(rawSql.prepare, text);
    this.sql = text;
    this.columns = this.handle.columns().map((c) => c.name);
    this.paramCount = this.handle.paramCount();
  }

  // The hot path of most steps: no closures.

  /** Run it; returns its Rows. */
  query(...params) {
    let rows;
    try {
      rows = this.handle.query(toValues(params));
    } catch (e) {
      throw sqlError(e);
    }
    return new Rows(this.columns, rows);
  }

  /** Run it; returns the number of rows affected (a number). */
  execute(...params) {
    try {
      return Number(this.handle.execute(toValues(params)));
    } catch (e) {
      throw sqlError(e);
    }
  }
}

class Transaction {
  constructor(handle) {
    this.handle = handle;
  }

  #open() {
    if (!this.handle) throw new SqlError({ tag: 'invalid', val: 'the transaction is already finished' });
    return this.handle;
  }

  query(text, ...params) {
    const h = this.#open();
    return rowSet(call(() => h.query(text, toValues(params))));
  }

  execute(text, ...params) {
    const h = this.#open();
    return Number(call(() => h.execute(text, toValues(params))));
  }

  copyIn(table, columns, rows) {
    const h = this.#open();
    return Number(call(() => h.copyIn(table, columns, rows.map(toValues))));
  }

  /** Commit; the transaction is finished afterwards, even when this throws. */
  commit() {
    this.#finish((h) => h.commit());
  }

  /** Roll back; the transaction is finished afterwards, even when this throws. */
  rollback() {
    this.#finish((h) => h.rollback());
  }

  #finish(fn) {
    const h = this.#open();
    this.handle = null;
    try {
      call(fn, h);
    } finally {
      h[Symbol.dispose](); // release the handle now rather than at garbage collection
    }
  }
}

/** Runs rows through COPY `batch` at a time, as a loader produces them. */
class CopyBatcher {
  constructor(table, columns, batch = 5000) {
    this.table = table;
    this.columns = columns;
    this.batch = Math.max(1, batch);
    this.copied = 0;
    this.rows = [];
  }

  /** Add one row (its values in `columns` order). */
  push(...row) {
    this.rows.push(toValues(row));
    if (this.rows.length >= this.batch) this.flush();
  }

  /** Copy what is buffered. */
  flush() {
    if (this.rows.length > 0) {
      this.copied += Number(call(rawSql.copyIn, this.table, this.columns, this.rows));
      this.rows = [];
    }
  }

  /** Copy the rest; returns the number of rows copied in all. */
  finish() {
    this.flush();
    return this.copied;
  }
}

const ISOLATION = {
  default: 'default',
  'read-committed': 'read-committed',
  'repeatable-read': 'repeatable-read',
  serializable: 'serializable',
};

/** The SQL capability. Parameters follow the statement: `sql.query(text, p1, p2)`. */
export const sql = {
  /** Run a statement; returns its Rows. */
  query: (text, ...params) => rowSet(call(rawSql.query, text, toValues(params))),
  /** Run a statement; returns the number of rows affected. */
  execute: (text, ...params) => Number(call(rawSql.execute, text, toValues(params))),
  /** Bulk-load rows (arrays of values in `columns` order) with COPY. */
  copyIn: (table, columns, rows) => Number(call(rawSql.copyIn, table, columns, rows.map(toValues))),
  /** Prepare a statement once (in the constructor) and run it by handle. */
  prepare: (text) => new Statement(text),
  /** Start a transaction: `{ isolation: 'serializable', readOnly: true }`. */
  begin({ isolation = 'default', readOnly = false } = {}) {
    if (!(isolation in ISOLATION)) throw new WorkloadFailed(`unknown isolation level '${isolation}'`);
    return new Transaction(call(rawSql.begin, { isolation, readOnly }));
  },
  /**
   * Run `fn(tx)` in a transaction: commit when it returns, roll back when it
   * throws (and rethrow). Returns what `fn` returned.
   */
  transaction(fn, options) {
    const tx = sql.begin(options);
    let result;
    try {
      result = fn(tx);
    } catch (e) {
      if (tx.handle) {
        try {
          tx.rollback();
        } catch {
          // the original error says more than a failed rollback
        }
      }
      throw e;
    }
    if (tx.handle) tx.commit();
    return result;
  },
  CopyBatcher,
};

// ---------------------------------------------------------------- log, metrics

/** Log lines through the host: log.info('...'), log.warn('...'), ... */
export const log = {
  trace: (m) => rawLog('trace', String(m)),
  debug: (m) => rawLog('debug', String(m)),
  info: (m) => rawLog('info', String(m)),
  warn: (m) => rawLog('warn', String(m)),
  error: (m) => rawLog('error', String(m)),
};

/** Counters summed by the host over the measured window. */
export const metrics = {
  count: (name, delta = 1) => rawCount(name, BigInt(delta)),
};

// ---------------------------------------------------------------- workload

/** The contract's context, with parameters in a Map-like `params` object. */
export class Context {
  constructor(raw) {
    this.mode = raw.mode;
    this.scale = raw.scale;
    this.workerId = raw.workerId;
    this.workers = raw.workers;
    /** A BigInt; `new Rng(ctx.seed)` takes it as it is. */
    this.seed = raw.seed;
    this.params = Object.fromEntries(raw.params);
  }

  /**
   * Parameter `name` converted with `convert` (String, Number, BigInt, ...);
   * throws WorkloadFailed naming it when missing or not convertible.
   */
  param(name, convert = String) {
    if (!(name in this.params)) throw new WorkloadFailed(`parameter '${name}' is missing`);
    const raw = this.params[name];
    let value;
    try {
      value = convert(raw.trim());
    } catch {
      value = NaN;
    }
    if (typeof value === 'number' && Number.isNaN(value)) {
      throw new WorkloadFailed(`parameter '${name}' has value '${raw}', which is not a valid ${convert.name || 'value'}`);
    }
    return value;
  }
}

/** What the host measured, for `summarize`. */
export class RunSummary {
  constructor(raw) {
    this.elapsedS = raw.elapsedS;
    this.operations = Object.fromEntries(raw.operations.map((o) => [o.name, {
      count: Number(o.count), errors: Number(o.errors), rolledBack: Number(o.rolledBack),
    }]));
    this.counters = Object.fromEntries(raw.counters.map(([n, v]) => [n, Number(v)]));
  }

  /** Counter `name`, 0 if never counted. */
  counter(name) {
    return this.counters[name] ?? 0;
  }

  /** Totals of operation `name` ({count, errors, rolledBack}), or undefined. */
  operation(name) {
    return this.operations[name];
  }
}

/** A figure for the report: `figure('tpmC', 1234, 'tx/min')`. */
export function figure(name, value, unit = '', { expected = undefined, ok = undefined } = {}) {
  return { name, value: Number(value), unit, expected, ok };
}

/** The same figure checked against lo..=hi, described as `expected`. */
export function figureBetween(name, value, unit, lo, hi, expected) {
  return figure(name, value, unit, { expected, ok: value >= lo && value <= hi });
}

/** An intended rollback, as a step's result: `return rolledBack('new-order')`. */
export function rolledBack(operationName) {
  return { operation: operationName, rolledBack: true };
}

function workloadError(e) {
  if (e instanceof SqlError) return { tag: 'sql', val: e.raw };
  if (e instanceof WorkloadFailed) return { tag: 'failed', val: e.message };
  // A bug rather than a reported failure: keep the stack in the log.
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  rawLog('error', e && e.stack ? `${text}\n${e.stack}` : text);
  return { tag: 'failed', val: text };
}

// componentize-js turns a thrown object with a `payload` into the call's
// error result.
const fail = (payload) => ({ payload });

function guard(fn) {
  try {
    return fn();
  } catch (e) {
    throw fail(workloadError(e));
  }
}

/**
 * The `workload` export for the class `cls`:
 * `export const workload = exportWorkload(MyWorkload)`.
 *
 * `cls.info` = { name, version, description, modes: [[name, description]],
 * params: [[name, default, description]], defaultScale }; static methods
 * isLoaded, setupSchema, load, finishSetup, summarize, cleanup (all
 * optional, taking a Context); `new cls(ctx)` is init and `step()` returns
 * the operation name or `rolledBack(name)`.
 */
export function exportWorkload(cls) {
  let worker = null;
  const info = cls.info ?? {};
  const optional = (name, fallback) => (typeof cls[name] === 'function' ? cls[name].bind(cls) : fallback);
  const isLoaded = optional('isLoaded', () => true);
  const setupSchema = optional('setupSchema', () => {});
  const load = optional('load', () => {});
  const finishSetup = optional('finishSetup', () => {});
  const summarize = optional('summarize', () => []);
  const cleanup = optional('cleanup', () => {});

  return {
    describe: () => ({
      name: info.name ?? cls.name,
      version: info.version ?? '0.1.0',
      description: info.description ?? '',
      modes: (info.modes ?? [['default', 'the only mode']]).map(([name, description]) => ({ name, description })),
      parameters: (info.params ?? []).map(([name, defaultValue, description]) => ({
        name, defaultValue: String(defaultValue), description,
      })),
      defaultScale: info.defaultScale ?? 1,
    }),
    isLoaded: (ctx) => Boolean(guard(() => isLoaded(new Context(ctx)))),
    setupSchema: (ctx) => { guard(() => setupSchema(new Context(ctx))); },
    load: (ctx) => { guard(() => load(new Context(ctx))); },
    finishSetup: (ctx) => { guard(() => finishSetup(new Context(ctx))); },
    init: (ctx) => { worker = guard(() => new cls(new Context(ctx))); },
    step() {
      let result;
      try {
        if (worker === null) throw new StepFailed('step', 'step called before init');
        result = worker.step();
      } catch (e) {
        const op = (e && typeof e.operation === 'string' && e.operation) || 'step';
        throw fail({ operation: op, error: workloadError(e) });
      }
      return typeof result === 'string'
        ? { operation: result, rolledBack: false }
        : { operation: result.operation, rolledBack: Boolean(result.rolledBack) };
    },
    summarize: (ctx, run) => guard(() => summarize(new Context(ctx), new RunSummary(run)) ?? []),
    cleanup: (ctx) => { guard(() => cleanup(new Context(ctx))); },
  };
}
