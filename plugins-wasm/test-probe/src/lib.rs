//! A plugin for StormDB's own tests and microbenchmarks. Each mode exercises
//! one host feature and fails loudly when the host misbehaves.

use stormdb_sdk::sql::{self, CopyBatcher};
use stormdb_sdk::{
    Context, Figure, Info, Outcome, Rng, RunSummary, SqlError, StepError, StepResultExt, Value,
    Workload, WorkloadError, log,
};

struct Probe {
    mode: String,
    rng: Rng,
    worker: u32,
    steps: u64,
    every: u64,
    sleep_ms: f64,
    slow_ms: f64,
}

fn failed(op: &str, msg: String) -> StepError {
    StepError {
        operation: op.to_string(),
        error: WorkloadError::Failed(msg),
    }
}

/// Sends one value of every kind through the server and checks each comes
/// back unchanged.
fn round_trip_types() -> Result<(), StepError> {
    let op = "types";
    let cases: Vec<(&str, Value, Value)> = vec![
        ("$1::int2", Value::Int8(-12), Value::Int8(-12)),
        (
            "$1::int4",
            Value::Int8(2_000_000_000),
            Value::Int8(2_000_000_000),
        ),
        ("$1::int8", Value::Int8(i64::MIN), Value::Int8(i64::MIN)),
        ("$1::float4", Value::Float8(1.5), Value::Float8(1.5)),
        (
            "$1::float8",
            Value::Float8(-2.25e300),
            Value::Float8(-2.25e300),
        ),
        ("$1::bool", Value::Boolean(true), Value::Boolean(true)),
        (
            "$1::numeric",
            Value::Numeric("-12345.678900".into()),
            Value::Numeric("-12345.678900".into()),
        ),
        (
            "$1::numeric",
            Value::Numeric("NaN".into()),
            Value::Numeric("NaN".into()),
        ),
        ("$1::numeric", Value::Int8(42), Value::Numeric("42".into())),
        (
            "$1::text",
            Value::Text("héllo 'world'".into()),
            Value::Text("héllo 'world'".into()),
        ),
        (
            "$1::varchar",
            Value::Text("v".into()),
            Value::Text("v".into()),
        ),
        (
            "$1::bytea",
            Value::Bytea(vec![0, 1, 255]),
            Value::Bytea(vec![0, 1, 255]),
        ),
        (
            "$1::jsonb",
            Value::Json("{\"a\": [1, 2]}".into()),
            Value::Json("{\"a\": [1, 2]}".into()),
        ),
        (
            "$1::json",
            Value::Json("{\"b\":1}".into()),
            Value::Json("{\"b\":1}".into()),
        ),
        (
            "$1::timestamptz",
            Value::Timestamp(1_700_000_000_123_456),
            Value::Timestamp(1_700_000_000_123_456),
        ),
        (
            "$1::timestamp",
            Value::Timestamp(-86_400_000_000),
            Value::Timestamp(-86_400_000_000),
        ),
        ("$1::date", Value::Date(19_000), Value::Date(19_000)),
        (
            "$1::time",
            Value::Time(3_600_000_001),
            Value::Time(3_600_000_001),
        ),
        (
            "$1::uuid",
            Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
            Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
        ),
        (
            "$1::float4[]",
            Value::Float4Array(vec![0.5, -1.0, 3.25]),
            Value::Float4Array(vec![0.5, -1.0, 3.25]),
        ),
        (
            "$1::float8[]",
            Value::Float8Array(vec![0.1, 2.0]),
            Value::Float8Array(vec![0.1, 2.0]),
        ),
        (
            "$1::int4[]",
            Value::Int8Array(vec![1, -2, 3]),
            Value::Int8Array(vec![1, -2, 3]),
        ),
        (
            "$1::int8[]",
            Value::Int8Array(vec![i64::MAX]),
            Value::Int8Array(vec![i64::MAX]),
        ),
        (
            "$1::text[]",
            Value::TextArray(vec!["a".into(), "b c".into()]),
            Value::TextArray(vec!["a".into(), "b c".into()]),
        ),
        (
            "$1::bool[]",
            Value::BooleanArray(vec![true, false]),
            Value::BooleanArray(vec![true, false]),
        ),
        ("$1::int4", Value::Null, Value::Null),
        // Text is the escape hatch for types without a case of their own.
        (
            "$1::interval::text",
            Value::Text("1 day 02:00:00".into()),
            Value::Text("1 day 02:00:00".into()),
        ),
        (
            "$1::inet::text",
            Value::Text("10.0.0.1/32".into()),
            Value::Text("10.0.0.1/32".into()),
        ),
    ];
    for (expr, input, expected) in cases {
        let stmt = format!("SELECT {expr}");
        let rows = sql::query(&stmt, std::slice::from_ref(&input)).op(op)?;
        let got = rows.0.rows.first().and_then(|r| r.first()).cloned();
        if got.as_ref() != Some(&expected) {
            return Err(failed(
                op,
                format!("{stmt} with {input:?}: expected {expected:?}, got {got:?}"),
            ));
        }
    }
    // Types without a case arrive raw, with their type named.
    let rows = sql::query("SELECT '1 day'::interval AS i", &[]).op(op)?;
    let col = &rows.0.columns[0];
    if col.name != "i" || col.type_name != "interval" || !matches!(rows.0.rows[0][0], Value::Raw(_))
    {
        return Err(failed(
            op,
            format!(
                "interval column came back as {col:?} {:?}",
                rows.0.rows[0][0]
            ),
        ));
    }
    // Values that do not fit are refused by the host, not truncated.
    match sql::query("SELECT $1::int2", &[Value::Int8(70_000)]) {
        Err(SqlError::Invalid(_)) => {}
        other => {
            return Err(failed(
                op,
                format!("int2 overflow was not refused: {other:?}"),
            ));
        }
    }
    match sql::query("SELECT $1::int4, $2::int4", &[Value::Int8(1)]) {
        Err(SqlError::Invalid(_)) => {}
        other => {
            return Err(failed(
                op,
                format!("missing parameter was not refused: {other:?}"),
            ));
        }
    }
    Ok(())
}

/// A transaction dropped without commit must be rolled back, and one
/// committed must stay.
fn transactions(rng: &mut Rng, worker: u32) -> Result<(), StepError> {
    let op = "tx";
    let key = rng.uniform(1, i64::MAX);
    {
        let tx = sql::begin().op(op)?;
        tx.execute(
            "INSERT INTO probe_kv (worker, k, v) VALUES ($1, $2, 'dropped')",
            &[worker.into(), key.into()],
        )
        .op(op)?;
        // Dropped here: the host rolls it back.
    }
    let tx = sql::begin().op(op)?;
    tx.execute(
        "INSERT INTO probe_kv (worker, k, v) VALUES ($1, $2, 'kept')",
        &[worker.into(), key.into()],
    )
    .op(op)?;
    tx.commit().op(op)?;
    match tx.execute("SELECT 1", &[]) {
        Err(SqlError::Invalid(_)) => {}
        other => {
            return Err(failed(
                op,
                format!("statement after commit was not refused: {other:?}"),
            ));
        }
    }
    let rows = sql::query(
        "SELECT v FROM probe_kv WHERE worker = $1 AND k = $2",
        &[worker.into(), key.into()],
    )
    .op(op)?;
    let got: Vec<String> = (0..rows.len()).filter_map(|i| rows.get(i, 0)).collect();
    if got != ["kept"] {
        return Err(failed(
            op,
            format!("expected only the committed row, found {got:?}"),
        ));
    }
    Ok(())
}

/// Prepared statements: metadata known at prepare time, rows by handle,
/// arity checked, and they run inside the call's open transaction.
fn prepared(rng: &mut Rng, worker: u32) -> Result<(), StepError> {
    let op = "prepared";
    let select = sql::prepare("SELECT k, v FROM probe_kv WHERE worker = $1 AND k = $2").op(op)?;
    let names: Vec<&str> = select.columns().iter().map(|c| c.name.as_str()).collect();
    if names != ["k", "v"] || select.columns()[0].type_name != "int8" {
        return Err(failed(
            op,
            format!("columns known at prepare: {:?}", select.columns()),
        ));
    }
    let insert = sql::prepare("INSERT INTO probe_kv (worker, k, v) VALUES ($1, $2, $3)").op(op)?;
    let key = rng.uniform(1, i64::MAX);
    {
        let _tx = sql::begin().op(op)?;
        insert
            .execute(&[worker.into(), key.into(), "rolled back".into()])
            .op(op)?;
        // Dropped without commit: the prepared insert ran inside it.
    }
    if !select
        .query_rows(&[worker.into(), key.into()])
        .op(op)?
        .is_empty()
    {
        return Err(failed(
            op,
            "a prepared insert escaped its rolled-back transaction".into(),
        ));
    }
    insert
        .execute(&[worker.into(), key.into(), "prepared".into()])
        .op(op)?;
    let rows = select.query(&[worker.into(), key.into()]).op(op)?;
    if rows.get::<String>(0, 1).as_deref() != Some("prepared") {
        return Err(failed(
            op,
            format!("prepared select returned {:?}", rows.0.rows),
        ));
    }
    match select.query_rows(&[worker.into()]) {
        Err(SqlError::Invalid(_)) => {}
        other => {
            return Err(failed(
                op,
                format!("wrong arity was not refused: {other:?}"),
            ));
        }
    }
    match sql::prepare("SELECT no_such_column FROM probe_kv") {
        Err(SqlError::Database(d)) if d.sqlstate == "42703" => {}
        other => {
            return Err(failed(
                op,
                format!("bad SQL was not refused at prepare: {:?}", other.err()),
            ));
        }
    }
    Ok(())
}

impl Workload for Probe {
    fn describe() -> Info {
        stormdb_sdk::info(
            "test-probe",
            "0.1.0",
            "Exercises host features for StormDB's tests",
        )
        .mode("ping", "SELECT 1")
        .mode("noop", "return at once: the host's own cost per step")
        .mode(
            "hostcall",
            "one SQL call the host refuses before the database: the cost of a host call",
        )
        .mode("types", "round-trip every value kind through the server")
        .mode(
            "tx",
            "transactions: dropped ones roll back, committed ones stay",
        )
        .mode(
            "prepared",
            "prepared statements: metadata, rows, arity, transactions",
        )
        .mode("fail", "a division by zero every `every` steps")
        .mode("panic", "a guest panic every `every` steps")
        .mode(
            "sleep",
            "pg_sleep(sleep_ms) per step; every `every`-th step sleeps slow_ms instead when slow_ms > 0",
        )
        .param(
            "every",
            "10",
            "period of failures in the fail and panic modes, and of slow steps in sleep mode",
        )
        .param("sleep_ms", "1", "milliseconds slept per step in sleep mode")
        .param(
            "slow_ms",
            "0",
            "milliseconds slept by every `every`-th step in sleep mode (0: none)",
        )
        .param("rows", "1000", "rows loaded per scale unit")
        .build()
    }

    fn is_loaded(ctx: &Context) -> stormdb_sdk::Result<bool> {
        let present = sql::query("SELECT to_regclass('probe_load') IS NOT NULL", &[])?;
        if !present.value::<bool>(0, 0)? {
            return Ok(false);
        }
        let rows = sql::query("SELECT count(*) FROM probe_load", &[])?;
        let want: i64 = ctx.param_as::<i64>("rows")? * i64::from(ctx.scale);
        Ok(rows.value::<i64>(0, 0)? == want)
    }

    fn setup_schema(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("DROP TABLE IF EXISTS probe_load, probe_kv", &[])?;
        sql::execute(
            "CREATE TABLE probe_load (id bigint, loader int, note text, tags text[], emb real[], doc jsonb)",
            &[],
        )?;
        sql::execute("CREATE TABLE probe_kv (worker int, k bigint, v text)", &[])?;
        Ok(())
    }

    fn load(ctx: &Context) -> stormdb_sdk::Result<()> {
        let total: i64 = ctx.param_as::<i64>("rows")? * i64::from(ctx.scale);
        let n = i64::from(ctx.workers.max(1));
        let me = i64::from(ctx.worker_id);
        let mut batch = CopyBatcher::new(
            "probe_load",
            &["id", "loader", "note", "tags", "emb", "doc"],
            300,
        );
        for id in total * me / n + 1..=total * (me + 1) / n {
            batch.push(vec![
                id.into(),
                me.into(),
                format!("row {id}").into(),
                Value::TextArray(vec!["x".into(), id.to_string()]),
                Value::Float4Array(vec![id as f32, 0.5]),
                Value::Json(format!("{{\"id\": {id}}}")),
            ])?;
        }
        batch.finish()?;
        Ok(())
    }

    fn finish_setup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("CREATE INDEX ON probe_load (id)", &[])?;
        Ok(())
    }

    fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
        log::debug(&format!(
            "probe worker {} of {} starts",
            ctx.worker_id, ctx.workers
        ));
        Ok(Probe {
            mode: ctx.mode.clone(),
            rng: Rng::new(ctx.seed),
            worker: ctx.worker_id,
            steps: 0,
            every: ctx.param_as::<u64>("every")?.max(1),
            sleep_ms: ctx.param_as("sleep_ms")?,
            slow_ms: ctx.param_as("slow_ms")?,
        })
    }

    fn step(&mut self) -> Result<Outcome, StepError> {
        self.steps += 1;
        let op = self.mode.clone();
        // Counted by the host only if this step succeeds and is measured.
        stormdb_sdk::metrics::count("steps", 1);
        match op.as_str() {
            "noop" => {}
            "hostcall" => match sql::query("", &[]) {
                Err(SqlError::Invalid(_)) => {}
                other => {
                    return Err(failed(
                        &op,
                        format!("empty statement not refused: {other:?}"),
                    ));
                }
            },
            "ping" => {
                let rows = sql::query("SELECT 1", &[]).op(&op)?;
                if rows.get::<i64>(0, 0) != Some(1) {
                    return Err(failed(&op, "SELECT 1 did not return 1".into()));
                }
            }
            "types" => round_trip_types()?,
            "tx" => transactions(&mut self.rng, self.worker)?,
            "prepared" => prepared(&mut self.rng, self.worker)?,
            "fail" => {
                let divisor = i64::from(!self.steps.is_multiple_of(self.every));
                sql::query("SELECT 1 / $1::int4", &[divisor.into()]).op(&op)?;
            }
            "panic" => {
                if self.steps.is_multiple_of(self.every) {
                    panic!("probe panics on purpose at step {}", self.steps);
                }
                sql::query("SELECT 1", &[]).op(&op)?;
            }
            "sleep" => {
                // A fixed mix (every `every`-th step slow) gives tests a
                // latency distribution whose percentiles are known.
                let ms = if self.slow_ms > 0.0 && self.steps.is_multiple_of(self.every) {
                    self.slow_ms
                } else {
                    self.sleep_ms
                };
                sql::query("SELECT pg_sleep($1::float8 / 1000)", &[Value::Float8(ms)]).op(&op)?;
            }
            other => return Err(failed(other, format!("unknown mode '{other}'"))),
        }
        Ok(Outcome::new(&op))
    }

    fn summarize(ctx: &Context, run: &RunSummary) -> stormdb_sdk::Result<Vec<Figure>> {
        let steps = run.counter("steps") as f64;
        let done = run.operation(&ctx.mode).map_or(0, |o| o.count) as f64;
        Ok(vec![
            Figure::new(
                "counted-steps-per-s",
                steps / run.elapsed_s.max(1e-9),
                "1/s",
            ),
            Figure::new(
                "counted-vs-done",
                if done > 0.0 { steps / done } else { 0.0 },
                "",
            )
            .expect_between(1.0, 1.0, "exactly 1"),
        ])
    }

    fn cleanup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute("DROP TABLE IF EXISTS probe_load, probe_kv", &[])?;
        Ok(())
    }
}

stormdb_sdk::export_workload!(Probe);
