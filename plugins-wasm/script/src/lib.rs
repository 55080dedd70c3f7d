//! pgbench-style custom scripts as a StormDB workload, run inside the
//! sandbox: SQL with `:variable` parameters (prepared, like
//! `pgbench -M prepared`), `\set` with pgbench's expression language and
//! random functions, `\sleep`, `\if`/`\elif`/`\else`/`\endif`, `\gset` and
//! `\aset`.
//!
//! The host passes the scripts as one parameter, `scripts`: a JSON array
//! of `{"name", "weight", "text"}`. Each step runs one script, chosen by
//! weight; the operation is the script's name. Variables live per worker
//! from one script run to the next, as pgbench's per-client variables do.
//! Built in: `:scale` (the run's scale), `:client_id` (the worker id),
//! `:random_seed` (this worker's seed) and `:default_seed` (the seed of
//! `hash()` and `permute()`, 0 unless `vars` sets it, the same on every
//! worker).
//!
//! There is no setup: scripts run against tables that already exist.

mod config;
mod dist;
mod exec;
mod expr;
mod parse;

use expr::{Evaluator, Val, VarValue, Vars};
use stormdb_sdk::{Context, Info, Outcome, Rng, StepError, Workload, WorkloadError};

struct ScriptWorkload {
    client: exec::Client,
}

impl Workload for ScriptWorkload {
    fn describe() -> Info {
        stormdb_sdk::info(
            "script",
            "0.1.0",
            "pgbench-style custom scripts (SQL with :variables, \\set with pgbench's \
             expressions and random functions, \\sleep, \\if, \\gset, \\aset), chosen by weight \
             each step; no setup: scripts use existing tables",
        )
        .mode(
            "run",
            "run the scripts of the 'scripts' parameter, chosen by weight",
        )
        .param(
            "scripts",
            "[]",
            "JSON array of {\"name\": ..., \"weight\": ..., \"text\": ...}: the scripts to run",
        )
        .param(
            "vars",
            "{}",
            "JSON object of extra variables, like pgbench -D (e.g. {\"default_seed\": 7})",
        )
        .default_scale(1)
        .build()
    }

    fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
        let scripts =
            config::scripts(ctx.param("scripts").unwrap_or("[]")).map_err(WorkloadError::failed)?;
        let extra =
            config::vars(ctx.param("vars").unwrap_or("{}")).map_err(WorkloadError::failed)?;
        let mut vars = Vars::default();
        let int = |i: i64| VarValue::Val(Val::Int(i));
        vars.set("scale", int(i64::from(ctx.scale)));
        vars.set("client_id", int(i64::from(ctx.worker_id)));
        vars.set("random_seed", int(ctx.seed as i64));
        vars.set("default_seed", int(0));
        for (name, value) in extra {
            vars.set(&name, value);
        }
        let default_seed = match vars.value("default_seed") {
            Ok(Val::Int(i)) => i,
            _ => {
                return Err(WorkloadError::failed(
                    "vars: default_seed must be an integer",
                ));
            }
        };
        let eval = Evaluator::new(Rng::new(ctx.seed), default_seed);
        Ok(ScriptWorkload {
            client: exec::Client::new(scripts, vars, eval),
        })
    }

    fn step(&mut self) -> Result<Outcome, StepError> {
        self.client.step()
    }
}

stormdb_sdk::export_workload!(ScriptWorkload);
