//! After the run: rows per second per operation, and a check that the
//! table holds exactly the rows the host counted.
//!
//! The host counts only measured, successful steps, while the table also
//! holds warmup rows (and earlier runs'). Each step writes one batch in
//! one transaction, and every row records that transaction's id
//! (`batch_xid`) and its worker. A worker's steps run one after another,
//! so its transaction ids grow step by step and its measured steps are
//! its last ones: with `k` measured batches counted for a worker (counter
//! `w<id>-batches`), its measured rows are exactly the rows of its `k`
//! newest batches. The check compares those, per operation, with the
//! host's row and step counts; any lost, duplicated or uncounted row
//! shows.

use stormdb_sdk::{Figure, RunSummary, Value, sql};

/// Counter of a worker's measured batches.
pub fn batches_counter(worker: u32) -> String {
    format!("w{worker}-batches")
}

/// Counter of an operation's rows.
pub fn rows_counter(op: &str) -> String {
    format!("{op}-rows")
}

/// Counter of an operation's time in the database, in microseconds.
pub fn busy_counter(op: &str) -> String {
    format!("{op}-us")
}

/// Operations, in the order they are reported.
fn operations(run: &RunSummary) -> Vec<String> {
    let mut ops: Vec<String> = run
        .operations
        .iter()
        .filter(|o| o.count > 0)
        .map(|o| o.name.clone())
        .collect();
    ops.sort();
    ops
}

/// rows/s per operation (while it ran, per worker) and for the whole run.
pub fn rates(run: &RunSummary) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut total = 0;
    for op in operations(run) {
        let rows = run.counter(&rows_counter(&op));
        let busy_s = run.counter(&busy_counter(&op)) as f64 / 1e6;
        total += rows;
        if busy_s > 0.0 {
            out.push(Figure::new(
                &format!("{op} rows/s"),
                rows as f64 / busy_s,
                "rows/s per worker",
            ));
        }
    }
    if run.elapsed_s > 0.0 {
        out.push(Figure::new(
            "rows/s",
            total as f64 / run.elapsed_s,
            "rows/s (all workers)",
        ));
    }
    out
}

/// The per-worker batch counts found among the counters.
fn worker_batches(run: &RunSummary) -> Vec<(i64, i64)> {
    run.counters
        .iter()
        .filter_map(|(name, n)| {
            let id = name.strip_prefix('w')?.strip_suffix("-batches")?;
            Some((id.parse().ok()?, *n as i64))
        })
        .collect()
}

/// The row-count figures.
pub fn check(run: &RunSummary) -> stormdb_sdk::Result<Vec<Figure>> {
    let table_rows: i64 =
        sql::query("SELECT count(*) FROM stormdb_bulk_insert", &[])?.value(0, 0)?;
    let mut out = vec![Figure::new(
        "table rows",
        table_rows as f64,
        "rows (warmup and earlier runs included)",
    )];
    let per_worker = worker_batches(run);
    if per_worker.is_empty() {
        return Ok(out);
    }
    let (workers, batches): (Vec<i64>, Vec<i64>) = per_worker.into_iter().unzip();
    let found = sql::query(
        "WITH k AS (SELECT * FROM unnest($1::int[], $2::bigint[]) AS k(worker, batches)), \
         b AS (SELECT worker, batch_xid, min(op) AS op, count(*) AS n, \
                 row_number() OVER (PARTITION BY worker ORDER BY batch_xid DESC) AS rank \
               FROM stormdb_bulk_insert WHERE worker = ANY($1) GROUP BY worker, batch_xid) \
         SELECT b.op, count(*), sum(b.n)::bigint FROM b JOIN k ON k.worker = b.worker \
         WHERE b.rank <= k.batches GROUP BY b.op",
        &[Value::Int8Array(workers), Value::Int8Array(batches)],
    )?;
    let mut found_rows = 0i64;
    let mut found_batches = 0i64;
    let mut mismatched = 0;
    let mut seen = Vec::new();
    for i in 0..found.len() {
        let op: String = found.value(i, 0)?;
        let n_batches: i64 = found.value(i, 1)?;
        let n_rows: i64 = found.value(i, 2)?;
        found_rows += n_rows;
        found_batches += n_batches;
        let counted_rows = run.counter(&rows_counter(&op)) as i64;
        let counted_steps = run.operation(&op).map_or(0, |o| o.count) as i64;
        if n_rows != counted_rows || n_batches != counted_steps {
            mismatched += 1;
        }
        seen.push(op);
    }
    // An operation counted but absent from the table mismatches too.
    mismatched += operations(run)
        .iter()
        .filter(|op| !seen.contains(op))
        .count();
    let counted_rows: u64 = operations(run)
        .iter()
        .map(|op| run.counter(&rows_counter(op)))
        .sum();
    let counted_batches: u64 = run.operations.iter().map(|o| o.count).sum();
    let exact = |name: &str, value: i64, want: u64, unit: &str| {
        let want = want as f64;
        Figure::new(name, value as f64, unit).expect_between(
            want,
            want,
            &format!("{want} (counted by the host)"),
        )
    };
    out.push(exact(
        "measured rows in table",
        found_rows,
        counted_rows,
        "rows",
    ));
    out.push(exact(
        "measured batches in table",
        found_batches,
        counted_batches,
        "batches",
    ));
    out.push(
        Figure::new("operations with wrong counts", mismatched as f64, "")
            .expect_between(0.0, 0.0, "0"),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stormdb_sdk::OperationSummary;

    #[test]
    fn rates_and_worker_counters() {
        let run = RunSummary {
            elapsed_s: 10.0,
            operations: vec![OperationSummary {
                name: "copy-100".into(),
                count: 50,
                errors: 0,
                rolled_back: 0,
            }],
            counters: vec![
                ("copy-100-rows".into(), 5000),
                ("copy-100-us".into(), 2_000_000),
                ("w0-batches".into(), 30),
                ("w12-batches".into(), 20),
            ],
        };
        let f = rates(&run);
        assert_eq!(f[0].name, "copy-100 rows/s");
        assert_eq!(f[0].value, 2500.0);
        assert_eq!(f[1].value, 500.0);
        let mut w = worker_batches(&run);
        w.sort();
        assert_eq!(w, vec![(0, 30), (12, 20)]);
    }
}
