//! The kv example workload in Rust: point reads and updates on
//! `kv(k bigint primary key, v text, n bigint)`, 10,000 rows per scale unit.
//!
//! Same table, modes, parameters and random sequence as `examples/kv-python`,
//! `kv-js` and `kv-c`: the same seed writes the same rows in every language.

use stormdb_sdk::sql::{self, CopyBatcher, Statement};
use stormdb_sdk::{
    Context, Figure, Info, Outcome, Rng, RunSummary, StepError, StepResultExt, Workload,
    WorkloadError, log, metrics,
};

const ROWS_PER_SCALE: i64 = 10_000;
const COPY_BATCH: usize = 5_000;

#[derive(Clone, Copy)]
enum Mode {
    Mixed,
    Read,
    Write,
    Txn,
    Noop,
}

struct Kv {
    mode: Mode,
    read_share: f64,
    value_len: usize,
    rows: i64,
    rng: Rng,
    read_stmt: Statement,
    write_stmt: Statement,
}

fn missing(k: i64) -> WorkloadError {
    WorkloadError::failed(format!(
        "row {k} missing: is the table loaded at this scale? (--setup)"
    ))
}

impl Kv {
    fn read(&mut self) -> Result<Outcome, StepError> {
        let k = self.rng.uniform(1, self.rows);
        let rows = self.read_stmt.query_rows(&[k.into()]).op("read")?;
        if rows.len() != 1 {
            return Err(missing(k)).op("read");
        }
        metrics::count("rows-read", 1);
        Ok(Outcome::new("read"))
    }

    fn write(&mut self) -> Result<Outcome, StepError> {
        let k = self.rng.uniform(1, self.rows);
        let v = self.rng.alnum(self.value_len);
        let n = self.write_stmt.execute(&[k.into(), v.into()]).op("write")?;
        if n != 1 {
            return Err(missing(k)).op("write");
        }
        metrics::count("rows-written", 1);
        Ok(Outcome::new("write"))
    }

    /// Read one key and update another in one transaction. The prepared
    /// read runs inside it: statements use the call's connection.
    fn txn(&mut self) -> Result<Outcome, StepError> {
        let k1 = self.rng.uniform(1, self.rows);
        let k2 = self.rng.uniform(1, self.rows);
        let v = self.rng.alnum(self.value_len);
        let tx = sql::begin().op("txn")?;
        if self.read_stmt.query_rows(&[k1.into()]).op("txn")?.len() != 1 {
            return Err(missing(k1)).op("txn"); // dropping `tx` rolls back
        }
        let n = tx
            .execute(
                "UPDATE kv SET v = $2, n = n + 1 WHERE k = $1",
                &[k2.into(), v.into()],
            )
            .op("txn")?;
        if n != 1 {
            return Err(missing(k2)).op("txn");
        }
        tx.commit().op("txn")?;
        metrics::count("rows-read", 1);
        metrics::count("rows-written", 1);
        Ok(Outcome::new("txn"))
    }
}

impl Workload for Kv {
    fn describe() -> Info {
        stormdb_sdk::info(
            "kv",
            "0.1.0",
            "Key-value point reads and updates (Rust example)",
        )
        .mode("mixed", "reads and updates, read_pct percent reads")
        .mode("read", "SELECT one row by primary key")
        .mode("write", "UPDATE one row by primary key")
        .mode("txn", "read one key and update another in one transaction")
        .mode(
            "noop",
            "draw a key and return: the cost of a step without SQL",
        )
        .param(
            "read_pct",
            "80",
            "percentage of reads in mixed mode (0-100)",
        )
        .param("value_len", "16", "characters written per update")
        .default_scale(1)
        .build()
    }

    fn is_loaded(ctx: &Context) -> stormdb_sdk::Result<bool> {
        let present = sql::query("SELECT to_regclass('kv') IS NOT NULL", &[])?;
        if !present.value::<bool>(0, 0)? {
            return Ok(false);
        }
        let count = sql::query("SELECT count(*) FROM kv", &[])?.value::<i64>(0, 0)?;
        Ok(count == i64::from(ctx.scale) * ROWS_PER_SCALE)
    }

    fn setup_schema(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("DROP TABLE IF EXISTS kv", &[])?;
        sql::execute(
            "CREATE TABLE kv (k bigint NOT NULL, v text NOT NULL, n bigint NOT NULL)",
            &[],
        )?;
        Ok(())
    }

    /// Loader i of L copies keys total*i/L+1 ..= total*(i+1)/L; values depend
    /// only on the key, so any number of loaders gives the same table.
    fn load(ctx: &Context) -> stormdb_sdk::Result<()> {
        let total = i64::from(ctx.scale) * ROWS_PER_SCALE;
        let loaders = i64::from(ctx.workers.max(1));
        let me = i64::from(ctx.worker_id);
        let (first, last) = (total * me / loaders + 1, total * (me + 1) / loaders);
        let mut copy = CopyBatcher::new("kv", &["k", "v", "n"], COPY_BATCH);
        for k in first..=last {
            copy.push(vec![k.into(), format!("row-{k}").into(), 0i64.into()])?;
        }
        copy.finish()?;
        log::debug(&format!("loader {me}: keys {first}..{last}"));
        Ok(())
    }

    fn finish_setup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("ALTER TABLE kv ADD PRIMARY KEY (k)", &[])?;
        sql::execute("ANALYZE kv", &[])?;
        Ok(())
    }

    fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
        let mode = match ctx.mode.as_str() {
            "mixed" => Mode::Mixed,
            "read" => Mode::Read,
            "write" => Mode::Write,
            "txn" => Mode::Txn,
            "noop" => Mode::Noop,
            other => return Err(WorkloadError::failed(format!("unknown mode '{other}'"))),
        };
        let read_pct: f64 = ctx.param_as("read_pct")?;
        if !(0.0..=100.0).contains(&read_pct) {
            return Err(WorkloadError::failed(format!(
                "parameter 'read_pct' must be between 0 and 100, got {read_pct}"
            )));
        }
        Ok(Kv {
            mode,
            read_share: read_pct / 100.0,
            value_len: ctx.param_as("value_len")?,
            rows: i64::from(ctx.scale.max(1)) * ROWS_PER_SCALE,
            rng: Rng::new(ctx.seed),
            read_stmt: sql::prepare("SELECT v, n FROM kv WHERE k = $1")?,
            write_stmt: sql::prepare("UPDATE kv SET v = $2, n = n + 1 WHERE k = $1")?,
        })
    }

    fn step(&mut self) -> Result<Outcome, StepError> {
        match self.mode {
            Mode::Read => self.read(),
            Mode::Write => self.write(),
            Mode::Txn => self.txn(),
            Mode::Mixed => {
                if self.rng.chance(self.read_share) {
                    self.read()
                } else {
                    self.write()
                }
            }
            Mode::Noop => {
                self.rng.uniform(1, self.rows);
                Ok(Outcome::new("noop"))
            }
        }
    }

    fn summarize(ctx: &Context, run: &RunSummary) -> stormdb_sdk::Result<Vec<Figure>> {
        let (reads, writes) = (run.counter("rows-read"), run.counter("rows-written"));
        let mut figures = vec![Figure::new("rows-written", writes as f64, "rows")];
        if ctx.mode == "mixed" && reads + writes > 0 {
            let pct: f64 = ctx.param_as("read_pct")?;
            let share = 100.0 * reads as f64 / (reads + writes) as f64;
            figures.push(Figure::new("read-share", share, "%").expect_between(
                pct - 5.0,
                pct + 5.0,
                &format!("{}-{} %", pct - 5.0, pct + 5.0),
            ));
        }
        Ok(figures)
    }

    fn cleanup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("DROP TABLE IF EXISTS kv", &[])?;
        Ok(())
    }
}

stormdb_sdk::export_workload!(Kv);
