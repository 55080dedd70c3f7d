//! Bulk loading compared: single-row INSERT, multi-row INSERT and COPY,
//! at batch sizes 1, 100, 1,000 and 10,000 rows, into a wide table with
//! JSONB, arrays and five indexes.
//!
//! Each step writes one batch in one transaction with one method; the
//! operation is named after both (`insert-100`, `multi-insert-1000`,
//! `copy-10000`). A mode picks the method, or `all` cycles through every
//! method and batch size. `summarize` reports rows/s per operation and
//! checks that the table holds exactly the rows counted (see `verify`).

mod methods;
mod rows;
mod verify;

use methods::{Combo, Method, Writer};
use rows::RowMaker;
use std::time::Instant;
use stormdb_sdk::{
    Context, Figure, Info, Outcome, Rng, RunSummary, StepError, StepResultExt, Workload,
    WorkloadError, log, metrics, sql,
};

/// Workers beyond this do not get their own batch counter: the host keeps
/// 256 counters per run, and the operations need theirs.
const MAX_COUNTED_WORKERS: u32 = 200;

struct BulkInsert {
    combos: Vec<Combo>,
    next: usize,
    maker: RowMaker,
    writer: Writer,
    /// This worker's batch counter, when it has one.
    batches_counter: Option<String>,
}

fn batch_sizes(ctx: &Context) -> stormdb_sdk::Result<Vec<usize>> {
    let raw = ctx.param("batch_sizes").unwrap_or("1,100,1000,10000");
    let sizes = raw
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
        })
        .collect::<Option<Vec<_>>>()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            WorkloadError::failed(format!(
                "parameter 'batch_sizes' must be a comma-separated list of sizes from 1 to \
                 1000000, got '{raw}'"
            ))
        })?;
    Ok(sizes)
}

fn table_ready() -> stormdb_sdk::Result<bool> {
    let rows = sql::query(
        &format!(
            "SELECT to_regclass('{}') IS NOT NULL AND to_regclass('{}') IS NOT NULL",
            rows::TABLE,
            rows::LAST_INDEX
        ),
        &[],
    )?;
    rows.value(0, 0)
}

impl Workload for BulkInsert {
    fn describe() -> Info {
        stormdb_sdk::info(
            "bulk-insert",
            "0.1.0",
            "INSERT vs multi-row INSERT vs COPY at several batch sizes into a wide table \
             (numeric, text, arrays, JSONB, uuid, bytea; five indexes); rows/s per method and \
             batch size, and an exact check of the rows written",
        )
        .mode("all", "cycle through every method and batch size")
        .mode("insert", "single-row INSERTs, one transaction per batch")
        .mode(
            "multi-insert",
            "multi-row INSERTs (up to 4681 rows per statement)",
        )
        .mode("copy", "COPY FROM STDIN in binary format")
        .param(
            "batch_sizes",
            "1,100,1000,10000",
            "rows per step; a mode cycles through them",
        )
        .param(
            "text_size",
            "200",
            "mean length of the description column, in characters",
        )
        .default_scale(1)
        .build()
    }

    fn is_loaded(_ctx: &Context) -> stormdb_sdk::Result<bool> {
        table_ready()
    }

    fn setup_schema(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute(&format!("DROP TABLE IF EXISTS {}", rows::TABLE), &[])?;
        sql::execute(rows::CREATE, &[])?;
        Ok(())
    }

    fn finish_setup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        for ddl in rows::INDEXES {
            sql::execute(ddl, &[])?;
        }
        Ok(())
    }

    fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
        if !table_ready()? {
            return Err(WorkloadError::failed(format!(
                "table {} is missing: run with --setup",
                rows::TABLE
            )));
        }
        let methods: Vec<Method> = match ctx.mode.as_str() {
            "all" => Method::ALL.to_vec(),
            mode => vec![
                Method::ALL
                    .into_iter()
                    .find(|m| m.name() == mode)
                    .ok_or_else(|| WorkloadError::failed(format!("unknown mode '{mode}'")))?,
            ],
        };
        let sizes = batch_sizes(ctx)?;
        let combos: Vec<Combo> = methods
            .iter()
            .flat_map(|m| sizes.iter().map(|b| Combo::new(*m, *b)))
            .collect();
        let text_size: usize = ctx.param_as("text_size")?;
        let batches_counter = if ctx.workers <= MAX_COUNTED_WORKERS {
            Some(verify::batches_counter(ctx.worker_id))
        } else {
            if ctx.worker_id == 0 {
                log::warn(&format!(
                    "more than {MAX_COUNTED_WORKERS} workers: the exact row check is skipped"
                ));
            }
            None
        };
        Ok(BulkInsert {
            // Workers start at different points of the cycle, so every
            // operation runs alongside the others.
            next: ctx.worker_id as usize % combos.len(),
            combos,
            maker: RowMaker::new(Rng::new(ctx.seed), i64::from(ctx.worker_id), text_size),
            writer: Writer::default(),
            batches_counter,
        })
    }

    fn step(&mut self) -> Result<Outcome, StepError> {
        let combo = self.combos[self.next].clone();
        self.next = (self.next + 1) % self.combos.len();
        let op = combo.op.as_str();
        let batch: Vec<_> = (0..combo.batch).map(|_| self.maker.row(op)).collect();
        // Only the database work is timed: making rows is the client's cost.
        let started = Instant::now();
        let written = self.writer.write(combo.method, &batch).op(op)?;
        let busy_us = started.elapsed().as_micros() as u64;
        if written != batch.len() as u64 {
            return Err(WorkloadError::failed(format!(
                "{op}: the server reported {written} rows for a batch of {}",
                batch.len()
            )))
            .op(op);
        }
        metrics::count(&verify::rows_counter(op), written);
        metrics::count(&verify::busy_counter(op), busy_us);
        if let Some(name) = &self.batches_counter {
            metrics::count(name, 1);
        }
        Ok(Outcome::new(op))
    }

    fn summarize(_ctx: &Context, run: &RunSummary) -> stormdb_sdk::Result<Vec<Figure>> {
        let mut figures = verify::rates(run);
        figures.extend(verify::check(run)?);
        Ok(figures)
    }

    fn cleanup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute(&format!("DROP TABLE IF EXISTS {}", rows::TABLE), &[])?;
        Ok(())
    }
}

stormdb_sdk::export_workload!(BulkInsert);
