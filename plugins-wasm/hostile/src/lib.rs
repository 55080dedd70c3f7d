//! A hostile plugin: every mode is one attack on the host or on another
//! tenant. StormDB's sandbox tests run each one and check it is contained
//! and counted while the host keeps running.

use stormdb_sdk::{
    Context, Info, Outcome, StepError, StepResultExt, Workload, WorkloadError, log, sql,
};

struct Hostile {
    mode: String,
    target: String,
}

/// Recursion the optimiser cannot turn into a loop.
#[inline(never)]
fn recurse(depth: u64, acc: &mut [u64; 64]) -> u64 {
    acc[(depth % 64) as usize] = acc[(depth % 64) as usize].wrapping_add(depth);
    if depth == u64::MAX {
        return acc[0];
    }
    recurse(depth + 1, acc).wrapping_add(acc[(depth % 7) as usize])
}

/// An endless loop that calls the host every few thousand iterations
/// (a statement the policy refuses at once), hoping each return restarts
/// the CPU accounting.
fn spin_with_calls() -> ! {
    let mut x: u64 = 1;
    loop {
        for _ in 0..20_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let _ = sql::execute("", &[]);
    }
}

fn spin() -> ! {
    let mut x: u64 = 1;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

impl Workload for Hostile {
    fn describe() -> Info {
        let mut b = stormdb_sdk::info("hostile", "0.1.0", "Attacks on the sandbox, one per mode");
        for (m, d) in [
            ("spin-step", "an endless loop in step"),
            ("spin-setup", "an endless loop in setup-schema"),
            (
                "spin-calls",
                "an endless loop in step, calling the host often",
            ),
            ("memory", "grow memory until the limit"),
            ("recursion", "recurse until the stack runs out"),
            ("ddl", "CREATE TABLE during step"),
            ("set-role", "SET ROLE to a superuser"),
            ("set-config", "set_config('role', ...)"),
            ("read-file", "pg_read_file('/etc/passwd')"),
            ("copy-program", "COPY ... TO PROGRAM"),
            ("two-statements", "two statements in one string"),
            ("cross-read", "read another tenant's table (param target)"),
            ("cross-write", "write another tenant's table (param target)"),
            ("huge-result", "ask for ten million rows"),
            ("many-statements", "thousands of statements in one step"),
            ("log-flood", "ten thousand log lines per step"),
            ("panic", "panic in step"),
            ("slow", "sleep in the database past the step timeout"),
            (
                "slow-steps",
                "short sleeps in the database, together past the step timeout",
            ),
            (
                "keep-login",
                "a function made in setup switches back to the login role, sets its \
                 password and grants it a privilege, to keep a way in after the run",
            ),
        ] {
            b = b.mode(m, d);
        }
        b.param("target", "", "another tenant's table, schema-qualified")
            .build()
    }

    fn setup_schema(ctx: &Context) -> stormdb_sdk::Result<()> {
        if ctx.mode == "spin-setup" {
            spin();
        }
        if ctx.mode == "keep-login" {
            // The policy reads statement text, not function bodies: the
            // body does what a statement could not.
            sql::execute(
                "CREATE OR REPLACE FUNCTION hostile_keep_login() RETURNS text \
                 LANGUAGE plpgsql AS $f$ \
                 DECLARE login text; \
                 BEGIN \
                   SET ROLE NONE; \
                   login := current_user; \
                   EXECUTE format('ALTER ROLE %I PASSWORD %L', login, 'hostile-password'); \
                   RESET ROLE; \
                   EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), login); \
                   RETURN login; \
                 END $f$",
                &[],
            )?;
        }
        Ok(())
    }

    fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
        Ok(Hostile {
            mode: ctx.mode.clone(),
            target: ctx.param("target").unwrap_or("").to_string(),
        })
    }

    fn step(&mut self) -> Result<Outcome, StepError> {
        let op = self.mode.clone();
        match op.as_str() {
            "spin-step" | "spin-setup" => spin(),
            "spin-calls" => spin_with_calls(),
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recursion" => {
                let mut acc = [0u64; 64];
                let r = recurse(0, &mut acc);
                std::hint::black_box(r);
            }
            "ddl" => {
                sql::execute("CREATE TABLE hostile_ddl (a int)", &[]).op(&op)?;
            }
            "set-role" => {
                sql::execute("SET ROLE postgres", &[]).op(&op)?;
            }
            "set-config" => {
                sql::query("SELECT set_config('role', 'postgres', false)", &[]).op(&op)?;
            }
            "read-file" => {
                sql::query("SELECT pg_read_file('/etc/passwd')", &[]).op(&op)?;
            }
            "copy-program" => {
                sql::execute("COPY (SELECT 1) TO PROGRAM 'id > /tmp/stormdb-pwned'", &[])
                    .op(&op)?;
            }
            "two-statements" => {
                sql::execute("SELECT 1; DROP TABLE IF EXISTS hostile_victim", &[]).op(&op)?;
            }
            "cross-read" => {
                sql::query(&format!("SELECT * FROM {}", self.target), &[]).op(&op)?;
            }
            "cross-write" => {
                sql::execute(&format!("DELETE FROM {}", self.target), &[]).op(&op)?;
            }
            "huge-result" => {
                sql::query("SELECT g FROM generate_series(1, 10000000) g", &[]).op(&op)?;
            }
            "many-statements" => {
                let st = sql::prepare("SELECT 1").op(&op)?;
                for _ in 0..1_000_000 {
                    st.query_rows(&[]).op(&op)?;
                }
            }
            "log-flood" => {
                for i in 0..10_000 {
                    log::info(&format!("flood line {i}"));
                }
            }
            "panic" => panic!("hostile plugin panics"),
            "slow" => {
                sql::query("SELECT pg_sleep(30)", &[]).op(&op)?;
            }
            "slow-steps" => {
                // No statement reaches statement_timeout; only the host's
                // wall-clock limit on the whole step can end this.
                for _ in 0..300 {
                    sql::query("SELECT pg_sleep(0.1)", &[]).op(&op)?;
                }
            }
            "keep-login" => {
                let rows = sql::query("SELECT hostile_keep_login()", &[]).op(&op)?;
                let login: Option<String> = rows.get(0, 0);
                log::info(&format!("kept login: {}", login.unwrap_or_default()));
            }
            other => {
                return Err(WorkloadError::failed(format!("unknown mode '{other}'"))).op(other);
            }
        }
        Ok(Outcome::new(&op))
    }
}

stormdb_sdk::export_workload!(Hostile);
