// The {{name}} workload for StormDB: point reads and updates on one table,
// {{name_snake}}_items(id bigint primary key, hits bigint, note text), 1,000
// rows per scale unit.
//
// Build: ./build.sh. Run: stormdb run --plugin build/{{name}}.wasm
// --allow-unsigned --setup -t 10000. The guide to the API is
// docs/authoring.md in the StormDB repository.

import { exportWorkload, metrics, operation, Rng, sql, StepFailed, WorkloadFailed } from './stormdb/stormdb.js';

const ROWS_PER_SCALE = 1000;
const COPY_BATCH = 1000;
const TABLE = '{{name_snake}}_items';
const MODES = ['mixed', 'read', 'write'];

class Plugin {
  static info = {
    name: '{{name}}',
    version: '0.1.0',
    description: 'Point reads and updates on one table',
    modes: [ // the first is the default
      ['mixed', 'reads and updates, read_pct percent reads'],
      ['read', 'SELECT one item by primary key'],
      ['write', 'UPDATE one item by primary key'],
    ],
    params: [['read_pct', '90', 'percentage of reads in mixed mode (0-100)']],
    defaultScale: 1,
  };

  // Setup calls are static methods; each instance is one worker.
  static isLoaded(ctx) {
    if (!sql.query(`SELECT to_regclass('${TABLE}') IS NOT NULL`).scalar()) return false;
    return sql.query(`SELECT count(*) FROM ${TABLE}`).scalar() === Math.max(ctx.scale, 1) * ROWS_PER_SCALE;
  }

  static setupSchema() {
    sql.execute(`DROP TABLE IF EXISTS ${TABLE}`);
    sql.execute(`CREATE TABLE ${TABLE} (id bigint NOT NULL, hits bigint NOT NULL, note text NOT NULL)`);
  }

  // Loader i of L copies its share of the ids (several loaders run at once).
  static load(ctx) {
    const total = Math.max(ctx.scale, 1) * ROWS_PER_SCALE;
    const loaders = Math.max(ctx.workers, 1);
    const first = Math.floor((total * ctx.workerId) / loaders) + 1;
    const last = Math.floor((total * (ctx.workerId + 1)) / loaders);
    const copy = new sql.CopyBatcher(TABLE, ['id', 'hits', 'note'], COPY_BATCH);
    for (let id = first; id <= last; id++) copy.push(id, 0, `item-${id}`);
    copy.finish();
  }

  static finishSetup() {
    sql.execute(`ALTER TABLE ${TABLE} ADD PRIMARY KEY (id)`);
    sql.execute(`ANALYZE ${TABLE}`);
  }

  constructor(ctx) {
    if (!MODES.includes(ctx.mode)) throw new WorkloadFailed(`unknown mode '${ctx.mode}'`);
    const readPct = ctx.param('read_pct', Number);
    if (!(readPct >= 0 && readPct <= 100)) {
      throw new WorkloadFailed(`parameter 'read_pct' must be between 0 and 100, got ${readPct}`);
    }
    this.mode = ctx.mode;
    this.readShare = readPct / 100;
    this.rows = Math.max(ctx.scale, 1) * ROWS_PER_SCALE;
    this.rng = new Rng(ctx.seed);
    this.readStmt = sql.prepare(`SELECT hits, note FROM ${TABLE} WHERE id = $1`);
    this.writeStmt = sql.prepare(`UPDATE ${TABLE} SET hits = hits + 1 WHERE id = $1`);
  }

  read() {
    const id = this.rng.uniform(1, this.rows);
    operation('read', () => {
      if (this.readStmt.query(id).length !== 1) {
        throw new StepFailed('read', `item ${id} missing: run with --setup at this scale`);
      }
    });
    metrics.count('items-read');
    return 'read';
  }

  write() {
    const id = this.rng.uniform(1, this.rows);
    operation('write', () => {
      if (this.writeStmt.execute(id) !== 1) {
        throw new StepFailed('write', `item ${id} missing: run with --setup at this scale`);
      }
    });
    metrics.count('items-updated');
    return 'write';
  }

  step() {
    switch (this.mode) {
      case 'read': return this.read();
      case 'write': return this.write();
      default: return this.rng.chance(this.readShare) ? this.read() : this.write();
    }
  }

  static cleanup() {
    sql.execute(`DROP TABLE IF EXISTS ${TABLE}`);
  }
}

export const workload = exportWorkload(Plugin);
