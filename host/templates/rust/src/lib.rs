//! The {{name}} workload for StormDB: point reads and updates on one table,
//! `{{name_snake}}_items(id bigint primary key, hits bigint, note text)`,
//! 1,000 rows per scale unit.
//!
//! Build: `./build.sh`. Run: `stormdb run --plugin build/{{name}}.wasm
//! --allow-unsigned --setup -t 10000`. The guide to the API is
//! docs/authoring.md in the StormDB repository.

use stormdb_sdk::sql::{self, CopyBatcher, Statement};
use stormdb_sdk::{
    Context, Info, Outcome, Rng, StepError, StepResultExt, Workload, WorkloadError, metrics,
};

const ROWS_PER_SCALE: i64 = 1_000;
const COPY_BATCH: usize = 1_000;

#[derive(Clone, Copy)]
enum Mode {
    Mixed,
    Read,
    Write,
}

/// One worker's state: each worker is its own instance.
struct Plugin {
    mode: Mode,
    read_share: f64,
    rows: i64,
    rng: Rng,
    read_stmt: Statement,
    write_stmt: Statement,
}

fn missing(id: i64) -> WorkloadError {
    WorkloadError::failed(format!("item {id} missing: run with --setup at this scale"))
}

impl Plugin {
    fn read(&mut self) -> Result<Outcome, StepError> {
        let id = self.rng.uniform(1, self.rows);
        let rows = self.read_stmt.query_rows(&[id.into()]).op("read")?;
        if rows.len() != 1 {
            return Err(missing(id)).op("read");
        }
        metrics::count("items-read", 1);
        Ok(Outcome::new("read"))
    }

    fn write(&mut self) -> Result<Outcome, StepError> {
        let id = self.rng.uniform(1, self.rows);
        if self.write_stmt.execute(&[id.into()]).op("write")? != 1 {
            return Err(missing(id)).op("write");
        }
        metrics::count("items-updated", 1);
        Ok(Outcome::new("write"))
    }
}

impl Workload for Plugin {
    fn describe() -> Info {
        stormdb_sdk::info("{{name}}", "0.1.0", "Point reads and updates on one table")
            .mode("mixed", "reads and updates, read_pct percent reads") // the first is the default
            .mode("read", "SELECT one item by primary key")
            .mode("write", "UPDATE one item by primary key")
            .param(
                "read_pct",
                "90",
                "percentage of reads in mixed mode (0-100)",
            )
            .default_scale(1)
            .build()
    }

    fn is_loaded(ctx: &Context) -> stormdb_sdk::Result<bool> {
        let present = sql::query("SELECT to_regclass('{{name_snake}}_items') IS NOT NULL", &[])?;
        if !present.value::<bool>(0, 0)? {
            return Ok(false);
        }
        let count = sql::query("SELECT count(*) FROM {{name_snake}}_items", &[])?.value::<i64>(0, 0)?;
        Ok(count == i64::from(ctx.scale.max(1)) * ROWS_PER_SCALE)
    }

    fn setup_schema(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("DROP TABLE IF EXISTS {{name_snake}}_items", &[])?;
        sql::execute(
            "CREATE TABLE {{name_snake}}_items (id bigint NOT NULL, hits bigint NOT NULL, note text NOT NULL)",
            &[],
        )?;
        Ok(())
    }

    /// Loader i of L copies its share of the ids (several loaders run at once).
    fn load(ctx: &Context) -> stormdb_sdk::Result<()> {
        let total = i64::from(ctx.scale.max(1)) * ROWS_PER_SCALE;
        let loaders = i64::from(ctx.workers.max(1));
        let me = i64::from(ctx.worker_id);
        let mut copy = CopyBatcher::new("{{name_snake}}_items", &["id", "hits", "note"], COPY_BATCH);
        for id in total * me / loaders + 1..=total * (me + 1) / loaders {
            copy.push(vec![id.into(), 0i64.into(), format!("item-{id}").into()])?;
        }
        copy.finish()?;
        Ok(())
    }

    fn finish_setup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("ALTER TABLE {{name_snake}}_items ADD PRIMARY KEY (id)", &[])?;
        sql::execute("ANALYZE {{name_snake}}_items", &[])?;
        Ok(())
    }

    fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
        let mode = match ctx.mode.as_str() {
            "mixed" => Mode::Mixed,
            "read" => Mode::Read,
            "write" => Mode::Write,
            other => return Err(WorkloadError::failed(format!("unknown mode '{other}'"))),
        };
        let read_pct: f64 = ctx.param_as("read_pct")?;
        if !(0.0..=100.0).contains(&read_pct) {
            return Err(WorkloadError::failed(format!(
                "parameter 'read_pct' must be between 0 and 100, got {read_pct}"
            )));
        }
        Ok(Plugin {
            mode,
            read_share: read_pct / 100.0,
            rows: i64::from(ctx.scale.max(1)) * ROWS_PER_SCALE,
            rng: Rng::new(ctx.seed),
            read_stmt: sql::prepare("SELECT hits, note FROM {{name_snake}}_items WHERE id = $1")?,
            write_stmt: sql::prepare("UPDATE {{name_snake}}_items SET hits = hits + 1 WHERE id = $1")?,
        })
    }

    fn step(&mut self) -> Result<Outcome, StepError> {
        match self.mode {
            Mode::Read => self.read(),
            Mode::Write => self.write(),
            Mode::Mixed if self.rng.chance(self.read_share) => self.read(),
            Mode::Mixed => self.write(),
        }
    }

    fn cleanup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("DROP TABLE IF EXISTS {{name_snake}}_items", &[])?;
        Ok(())
    }
}

stormdb_sdk::export_workload!(Plugin);
