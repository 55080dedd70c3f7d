//! pgbench's built-in scripts as a StormDB workload, on pgbench's own schema
//! and scale rules, so `stormdb run -w pgbench --mode select-only` and
//! `pgbench -S` do the same work against the same tables.

use stormdb_sdk::sql::{self, CopyBatcher, Statement};
use stormdb_sdk::{
    Context, Figure, Info, Outcome, Rng, RunSummary, StepError, StepResultExt, Value, Workload,
    WorkloadError, log,
};

const ACCOUNTS_PER_SCALE: i64 = 100_000;
const TELLERS_PER_SCALE: i64 = 10;
const COPY_BATCH: usize = 10_000;

/// Tables in the order pgbench drops them.
const TABLES: [&str; 4] = [
    "pgbench_accounts",
    "pgbench_branches",
    "pgbench_history",
    "pgbench_tellers",
];

#[derive(Clone, Copy)]
enum Script {
    TpcbLike,
    SimpleUpdate,
    SelectOnly,
}

impl Script {
    fn parse(mode: &str) -> stormdb_sdk::Result<Self> {
        match mode {
            "tpcb-like" => Ok(Script::TpcbLike),
            "simple-update" => Ok(Script::SimpleUpdate),
            "select-only" => Ok(Script::SelectOnly),
            other => Err(WorkloadError::failed(format!("unknown mode '{other}'"))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Script::TpcbLike => "tpcb-like",
            Script::SimpleUpdate => "simple-update",
            Script::SelectOnly => "select-only",
        }
    }
}

/// pgbench's statements, prepared once per worker (like `-M prepared`).
struct Statements {
    select_balance: Statement,
    update_account: Statement,
    update_teller: Statement,
    update_branch: Statement,
    insert_history: Statement,
}

impl Statements {
    fn prepare() -> stormdb_sdk::Result<Self> {
        Ok(Statements {
            select_balance: sql::prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1")?,
            update_account: sql::prepare(
                "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
            )?,
            update_teller: sql::prepare(
                "UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2",
            )?,
            update_branch: sql::prepare(
                "UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2",
            )?,
            insert_history: sql::prepare(
                "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)",
            )?,
        })
    }
}

struct Pgbench {
    script: Script,
    scale: i64,
    rng: Rng,
    stmts: Statements,
}

/// The scale the tables were loaded with, or `None` if they are missing.
fn loaded_scale() -> stormdb_sdk::Result<Option<i64>> {
    let present = sql::query(
        "SELECT to_regclass('pgbench_branches') IS NOT NULL AND to_regclass('pgbench_accounts') IS NOT NULL",
        &[],
    )?;
    if !present.value::<bool>(0, 0)? {
        return Ok(None);
    }
    let rows = sql::query("SELECT count(*) FROM pgbench_branches", &[])?;
    Ok(Some(rows.value::<i64>(0, 0)?))
}

impl Workload for Pgbench {
    fn describe() -> Info {
        stormdb_sdk::info(
            "pgbench",
            "0.1.0",
            "pgbench's built-in scripts on pgbench's schema (100,000 accounts per scale unit)",
        )
        .mode(
            "tpcb-like",
            "BEGIN; update an account, read it, update a teller and a branch, insert history; END",
        )
        .mode(
            "simple-update",
            "BEGIN; update an account, read it, insert history; END",
        )
        .mode("select-only", "read one account's balance")
        .default_scale(1)
        .build()
    }

    fn is_loaded(ctx: &Context) -> stormdb_sdk::Result<bool> {
        Ok(loaded_scale()? == Some(i64::from(ctx.scale)))
    }

    fn setup_schema(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute(&format!("DROP TABLE IF EXISTS {}", TABLES.join(", ")), &[])?;
        for ddl in [
            "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
            "CREATE TABLE pgbench_tellers (tid int NOT NULL, bid int, tbalance int, filler char(84)) WITH (fillfactor = 100)",
            "CREATE TABLE pgbench_accounts (aid int NOT NULL, bid int, abalance int, filler char(84)) WITH (fillfactor = 100)",
            "CREATE TABLE pgbench_branches (bid int NOT NULL, bbalance int, filler char(88)) WITH (fillfactor = 100)",
        ] {
            sql::execute(ddl, &[])?;
        }
        Ok(())
    }

    fn load(ctx: &Context) -> stormdb_sdk::Result<()> {
        let scale = i64::from(ctx.scale);
        if ctx.worker_id == 0 {
            let mut branches =
                CopyBatcher::new("pgbench_branches", &["bid", "bbalance"], COPY_BATCH);
            for bid in 1..=scale {
                branches.push(vec![bid.into(), 0i64.into()])?;
            }
            branches.finish()?;
            let mut tellers =
                CopyBatcher::new("pgbench_tellers", &["tid", "bid", "tbalance"], COPY_BATCH);
            for tid in 1..=scale * TELLERS_PER_SCALE {
                let bid = (tid - 1) / TELLERS_PER_SCALE + 1;
                tellers.push(vec![tid.into(), bid.into(), 0i64.into()])?;
            }
            tellers.finish()?;
        }
        // Each loader copies one contiguous range of accounts.
        let total = scale * ACCOUNTS_PER_SCALE;
        let loaders = i64::from(ctx.workers.max(1));
        let me = i64::from(ctx.worker_id);
        let first = total * me / loaders + 1;
        let last = total * (me + 1) / loaders;
        let mut accounts = CopyBatcher::new(
            "pgbench_accounts",
            &["aid", "bid", "abalance", "filler"],
            COPY_BATCH,
        );
        for aid in first..=last {
            let bid = (aid - 1) / ACCOUNTS_PER_SCALE + 1;
            accounts.push(vec![aid.into(), bid.into(), 0i64.into(), "".into()])?;
        }
        let copied = accounts.finish()?;
        log::debug(&format!(
            "loader {me}: {copied} accounts ({first}..={last})"
        ));
        Ok(())
    }

    fn finish_setup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute(
            "VACUUM ANALYZE pgbench_branches, pgbench_tellers, pgbench_accounts, pgbench_history",
            &[],
        )?;
        for pk in [
            "ALTER TABLE pgbench_branches ADD PRIMARY KEY (bid)",
            "ALTER TABLE pgbench_tellers ADD PRIMARY KEY (tid)",
            "ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid)",
        ] {
            sql::execute(pk, &[])?;
        }
        Ok(())
    }

    fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
        let script = Script::parse(&ctx.mode)?;
        // Like pgbench, the tables decide the scale, whatever was asked.
        let scale = match loaded_scale()? {
            Some(s) if s > 0 => s,
            _ => {
                return Err(WorkloadError::failed(
                    "the pgbench tables are missing or empty: run with --setup (or `pgbench -i`)",
                ));
            }
        };
        if ctx.worker_id == 0 && scale != i64::from(ctx.scale) {
            log::debug(&format!(
                "scale {} ignored, using {scale} from pgbench_branches",
                ctx.scale
            ));
        }
        Ok(Pgbench {
            script,
            scale,
            rng: Rng::new(ctx.seed),
            stmts: Statements::prepare()?,
        })
    }

    fn step(&mut self) -> Result<Outcome, StepError> {
        let op = self.script.name();
        let st = &self.stmts;
        let aid = Value::from(self.rng.uniform(1, ACCOUNTS_PER_SCALE * self.scale));
        if let Script::SelectOnly = self.script {
            st.select_balance.query_rows(&[aid]).op(op)?;
            return Ok(Outcome::new(op));
        }
        let bid = Value::from(self.rng.uniform(1, self.scale));
        let tid = Value::from(self.rng.uniform(1, TELLERS_PER_SCALE * self.scale));
        let delta = Value::from(self.rng.uniform(-5000, 5000));

        let tx = sql::begin().op(op)?;
        st.update_account
            .execute(&[delta.clone(), aid.clone()])
            .op(op)?;
        st.select_balance
            .query_rows(std::slice::from_ref(&aid))
            .op(op)?;
        if let Script::TpcbLike = self.script {
            st.update_teller
                .execute(&[delta.clone(), tid.clone()])
                .op(op)?;
            st.update_branch
                .execute(&[delta.clone(), bid.clone()])
                .op(op)?;
        }
        st.insert_history.execute(&[tid, bid, aid, delta]).op(op)?;
        tx.commit().op(op)?;
        Ok(Outcome::new(op))
    }

    /// The scale the run used: the tables', which may differ from the
    /// requested `--scale` (pgbench prints it as its "scaling factor").
    fn summarize(_ctx: &Context, _run: &RunSummary) -> stormdb_sdk::Result<Vec<Figure>> {
        Ok(match loaded_scale()? {
            Some(scale) => vec![Figure::new("scale", scale as f64, "")],
            None => Vec::new(),
        })
    }

    fn cleanup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute(&format!("DROP TABLE IF EXISTS {}", TABLES.join(", ")), &[])?;
        Ok(())
    }
}

stormdb_sdk::export_workload!(Pgbench);
