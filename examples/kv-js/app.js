// The kv example workload in JavaScript: point reads and updates on
// kv(k bigint primary key, v text, n bigint), 10,000 rows per scale unit.
//
// Same table, modes, parameters and random sequence as examples/kv-rust,
// kv-python and kv-c: the same seed writes the same rows in every language.

import {
  exportWorkload, figure, figureBetween, log, metrics, operation, Rng, sql, StepFailed, WorkloadFailed,
} from '../../sdk/js/stormdb.js';

const ROWS_PER_SCALE = 10000;
const COPY_BATCH = 5000;
const MODES = ['mixed', 'read', 'write', 'txn', 'noop'];

class KV {
  static info = {
    name: 'kv',
    version: '0.1.0',
    description: 'Key-value point reads and updates (JavaScript example)',
    modes: [
      ['mixed', 'reads and updates, read_pct percent reads'],
      ['read', 'SELECT one row by primary key'],
      ['write', 'UPDATE one row by primary key'],
      ['txn', 'read one key and update another in one transaction'],
      ['noop', 'draw a key and return: the cost of a step without SQL'],
    ],
    params: [
      ['read_pct', '80', 'percentage of reads in mixed mode (0-100)'],
      ['value_len', '16', 'characters written per update'],
    ],
    defaultScale: 1,
  };

  static isLoaded(ctx) {
    if (!sql.query("SELECT to_regclass('kv') IS NOT NULL").scalar()) return false;
    return sql.query('SELECT count(*) FROM kv').scalar() === ctx.scale * ROWS_PER_SCALE;
  }

  static setupSchema() {
    sql.execute('DROP TABLE IF EXISTS kv');
    sql.execute('CREATE TABLE kv (k bigint NOT NULL, v text NOT NULL, n bigint NOT NULL)');
  }

  // Loader i of L copies keys total*i/L+1 ..= total*(i+1)/L; values depend
  // only on the key, so any number of loaders gives the same table.
  static load(ctx) {
    const total = ctx.scale * ROWS_PER_SCALE;
    const loaders = Math.max(ctx.workers, 1);
    const first = Math.floor((total * ctx.workerId) / loaders) + 1;
    const last = Math.floor((total * (ctx.workerId + 1)) / loaders);
    const copy = new sql.CopyBatcher('kv', ['k', 'v', 'n'], COPY_BATCH);
    for (let k = first; k <= last; k++) copy.push(k, `row-${k}`, 0);
    copy.finish();
    log.debug(`loader ${ctx.workerId}: keys ${first}..${last}`);
  }

  static finishSetup() {
    sql.execute('ALTER TABLE kv ADD PRIMARY KEY (k)');
    sql.execute('ANALYZE kv');
  }

  constructor(ctx) {
    if (!MODES.includes(ctx.mode)) throw new WorkloadFailed(`unknown mode '${ctx.mode}'`);
    const readPct = ctx.param('read_pct', Number);
    if (!(readPct >= 0 && readPct <= 100)) {
      throw new WorkloadFailed(`parameter 'read_pct' must be between 0 and 100, got ${readPct}`);
    }
    this.mode = ctx.mode;
    this.readShare = readPct / 100;
    this.valueLen = ctx.param('value_len', Number);
    this.rows = Math.max(ctx.scale, 1) * ROWS_PER_SCALE;
    this.rng = new Rng(ctx.seed);
    this.readStmt = sql.prepare('SELECT v, n FROM kv WHERE k = $1');
    this.writeStmt = sql.prepare('UPDATE kv SET v = $2, n = n + 1 WHERE k = $1');
  }

  read() {
    const k = this.rng.uniform(1, this.rows);
    operation('read', () => {
      if (this.readStmt.query(k).length === 0) {
        throw new StepFailed('read', `row ${k} missing: is the table loaded at this scale? (--setup)`);
      }
    });
    metrics.count('rows-read');
    return 'read';
  }

  write() {
    const k = this.rng.uniform(1, this.rows);
    const v = this.rng.alnum(this.valueLen);
    operation('write', () => {
      if (this.writeStmt.execute(k, v) !== 1) {
        throw new StepFailed('write', `row ${k} missing: is the table loaded at this scale? (--setup)`);
      }
    });
    metrics.count('rows-written');
    return 'write';
  }

  // Read one key and update another in one transaction. The prepared read
  // runs inside it: statements use the call's connection.
  txn() {
    const k1 = this.rng.uniform(1, this.rows);
    const k2 = this.rng.uniform(1, this.rows);
    const v = this.rng.alnum(this.valueLen);
    operation('txn', () => sql.transaction((tx) => { // rolls back when this throws
      if (this.readStmt.query(k1).length === 0) {
        throw new StepFailed('txn', `row ${k1} missing: is the table loaded at this scale? (--setup)`);
      }
      if (tx.execute('UPDATE kv SET v = $2, n = n + 1 WHERE k = $1', k2, v) !== 1) {
        throw new StepFailed('txn', `row ${k2} missing: is the table loaded at this scale? (--setup)`);
      }
    }));
    metrics.count('rows-read');
    metrics.count('rows-written');
    return 'txn';
  }

  step() {
    switch (this.mode) {
      case 'read': return this.read();
      case 'write': return this.write();
      case 'txn': return this.txn();
      case 'mixed': return this.rng.chance(this.readShare) ? this.read() : this.write();
      default:
        this.rng.uniform(1, this.rows);
        return 'noop';
    }
  }

  static summarize(ctx, run) {
    const reads = run.counter('rows-read');
    const writes = run.counter('rows-written');
    const figures = [figure('rows-written', writes, 'rows')];
    if (ctx.mode === 'mixed' && reads + writes > 0) {
      const pct = ctx.param('read_pct', Number);
      figures.push(figureBetween('read-share', (100 * reads) / (reads + writes), '%', pct - 5, pct + 5,
        `${pct - 5}-${pct + 5} %`));
    }
    return figures;
  }

  static cleanup() {
    sql.execute('DROP TABLE IF EXISTS kv');
  }
}

export const workload = exportWorkload(KV);
