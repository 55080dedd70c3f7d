//! A key-value table read and written by primary key: the smallest
//! workload that still says something about a server.

use stormdb_sdk::sql::{self, CopyBatcher, Statement};
use stormdb_sdk::{Context, Info, Outcome, Rng, StepError, StepResultExt, Workload, WorkloadError};

const ROWS_PER_SCALE: i64 = 10_000;
const COPY_BATCH: usize = 5_000;

#[derive(Clone, Copy)]
enum Mode {
    Read,
    Write,
    Mixed,
}

struct Simple {
    read_stmt: Statement,
    write_stmt: Statement,
    mode: Mode,
    rows: i64,
    read_pct: f64,
    payload_size: usize,
    rng: Rng,
}

impl Simple {
    fn read(&mut self) -> Result<Outcome, StepError> {
        let id = self.rng.uniform(1, self.rows);
        let rows = self.read_stmt.query_rows(&[id.into()]).op("read")?;
        if rows.len() != 1 {
            return Err(WorkloadError::failed(format!(
                "row {id} missing: is the table loaded at this scale? (--setup)"
            )))
            .op("read");
        }
        Ok(Outcome::new("read"))
    }

    fn write(&mut self) -> Result<Outcome, StepError> {
        let id = self.rng.uniform(1, self.rows);
        let payload = self.rng.alnum(self.payload_size);
        let n = self
            .write_stmt
            .execute(&[id.into(), payload.into()])
            .op("write")?;
        if n != 1 {
            return Err(WorkloadError::failed(format!(
                "row {id} missing: is the table loaded at this scale? (--setup)"
            )))
            .op("write");
        }
        Ok(Outcome::new("write"))
    }
}

impl Workload for Simple {
    fn describe() -> Info {
        stormdb_sdk::info(
            "simple",
            "0.1.0",
            "Point reads and updates on a key-value table of 10,000 rows per scale unit",
        )
        .mode("mixed", "reads and updates, read_pct percent reads")
        .mode("read", "SELECT one row by primary key")
        .mode("write", "UPDATE one row by primary key")
        .param(
            "read_pct",
            "80",
            "percentage of reads in mixed mode (0-100)",
        )
        .param("payload_size", "100", "characters written per update")
        .default_scale(1)
        .build()
    }

    fn is_loaded(ctx: &Context) -> stormdb_sdk::Result<bool> {
        let present = sql::query("SELECT to_regclass('stormdb_simple') IS NOT NULL", &[])?;
        if !present.value::<bool>(0, 0)? {
            return Ok(false);
        }
        let rows = sql::query("SELECT count(*) FROM stormdb_simple", &[])?;
        Ok(rows.value::<i64>(0, 0)? == i64::from(ctx.scale) * ROWS_PER_SCALE)
    }

    fn setup_schema(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("DROP TABLE IF EXISTS stormdb_simple", &[])?;
        sql::execute(
            "CREATE TABLE stormdb_simple (id bigint NOT NULL, payload text NOT NULL, \
             counter bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now())",
            &[],
        )?;
        Ok(())
    }

    fn load(ctx: &Context) -> stormdb_sdk::Result<()> {
        let total = i64::from(ctx.scale) * ROWS_PER_SCALE;
        let loaders = i64::from(ctx.workers.max(1));
        let me = i64::from(ctx.worker_id);
        let size: usize = ctx.param_as("payload_size")?;
        let mut rng = Rng::new(ctx.seed);
        let mut batch = CopyBatcher::new("stormdb_simple", &["id", "payload"], COPY_BATCH);
        for id in total * me / loaders + 1..=total * (me + 1) / loaders {
            batch.push(vec![id.into(), rng.alnum(size).into()])?;
        }
        batch.finish()?;
        Ok(())
    }

    fn finish_setup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("ALTER TABLE stormdb_simple ADD PRIMARY KEY (id)", &[])?;
        sql::execute("ANALYZE stormdb_simple", &[])?;
        Ok(())
    }

    fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
        let mode = match ctx.mode.as_str() {
            "read" => Mode::Read,
            "write" => Mode::Write,
            "mixed" => Mode::Mixed,
            other => return Err(WorkloadError::failed(format!("unknown mode '{other}'"))),
        };
        let read_pct: f64 = ctx.param_as("read_pct")?;
        if !(0.0..=100.0).contains(&read_pct) {
            return Err(WorkloadError::failed(format!(
                "parameter 'read_pct' must be between 0 and 100, got {read_pct}"
            )));
        }
        Ok(Simple {
            read_stmt: sql::prepare("SELECT payload, counter FROM stormdb_simple WHERE id = $1")?,
            write_stmt: sql::prepare(
                "UPDATE stormdb_simple SET payload = $2, counter = counter + 1, updated_at = now() WHERE id = $1",
            )?,
            mode,
            rows: i64::from(ctx.scale.max(1)) * ROWS_PER_SCALE,
            read_pct,
            payload_size: ctx.param_as("payload_size")?,
            rng: Rng::new(ctx.seed),
        })
    }

    fn step(&mut self) -> Result<Outcome, StepError> {
        match self.mode {
            Mode::Read => self.read(),
            Mode::Write => self.write(),
            Mode::Mixed => {
                if self.rng.chance(self.read_pct / 100.0) {
                    self.read()
                } else {
                    self.write()
                }
            }
        }
    }

    fn cleanup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("DROP TABLE IF EXISTS stormdb_simple", &[])?;
        Ok(())
    }
}

stormdb_sdk::export_workload!(Simple);
