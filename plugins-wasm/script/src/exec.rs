//! Running scripts: one client's variables, prepared statements and
//! transaction state.

use crate::config::Script;
use crate::expr::{Evaluator, Val, VarValue, Vars, truth};
use crate::parse::{Capture, Command, SleepAmount, SqlCommand, TxnEffect};
use std::time::Duration;
use stormdb_sdk::sql::{self, Statement};
use stormdb_sdk::{Outcome, Rows, SqlError, StepError, Value, WorkloadError, log};

/// How a command's SQL is sent.
enum Prepared {
    Statement(Statement),
    /// The instance ran out of statement handles: sent as text.
    Text,
}

/// One client (worker) running the scripts.
pub struct Client {
    scripts: Vec<Script>,
    /// Running totals of the weights, to choose a script.
    cumulative: Vec<u64>,
    vars: Vars,
    eval: Evaluator,
    /// Per script and command, prepared at first use: a script may create
    /// the tables its later commands use, so nothing is prepared up front.
    prepared: Vec<Vec<Option<Prepared>>>,
    /// A BEGIN ran without its COMMIT/END yet.
    in_transaction: bool,
}

impl Client {
    /// A client for `scripts`, with its variables set.
    pub fn new(scripts: Vec<Script>, vars: Vars, eval: Evaluator) -> Self {
        let cumulative = scripts
            .iter()
            .scan(0u64, |sum, s| {
                *sum = sum.saturating_add(s.weight);
                Some(*sum)
            })
            .collect();
        let prepared = scripts
            .iter()
            .map(|s| s.commands.iter().map(|_| None).collect())
            .collect();
        Client {
            scripts,
            cumulative,
            vars,
            eval,
            prepared,
            in_transaction: false,
        }
    }

    fn choose(&mut self) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let r = self.eval.rng().uniform(0, total as i64 - 1) as u64;
        self.cumulative.iter().position(|c| r < *c).unwrap_or(0)
    }

    /// Runs one script chosen by weight.
    pub fn step(&mut self) -> Result<Outcome, StepError> {
        let index = self.choose();
        let name = self.scripts[index].name.clone();
        let result = self.run(index);
        for line in self.eval.debug_lines.drain(..) {
            log::debug(&format!("{name}: {line}"));
        }
        match result {
            Ok(()) => Ok(Outcome::new(&name)),
            Err(error) => {
                if self.in_transaction {
                    // The host rolls back only transactions it opened; this
                    // one was opened by the script's own BEGIN.
                    let _ = sql::execute("ROLLBACK", &[]);
                    self.in_transaction = false;
                }
                Err(StepError {
                    operation: name,
                    error,
                })
            }
        }
    }

    fn run(&mut self, index: usize) -> Result<(), WorkloadError> {
        let Client {
            scripts,
            vars,
            eval,
            prepared,
            in_transaction,
            ..
        } = self;
        let script = &scripts[index];
        let prepared = &mut prepared[index];
        let mut pc = 0;
        while let Some((line, command)) = script.commands.get(pc) {
            let at = |msg: String| {
                WorkloadError::failed(format!("script '{}', line {line}: {msg}", script.name))
            };
            match command {
                Command::Set(var, e) => {
                    let v = eval.eval(e, vars).map_err(at)?;
                    vars.set(var, VarValue::Val(v));
                }
                Command::Sleep(amount, unit_us) => {
                    let n = match amount {
                        SleepAmount::Const(n) => *n,
                        SleepAmount::Var(name) => match vars.value(name).map_err(at)? {
                            Val::Int(i) => i,
                            Val::Double(d) => d as i64,
                            other => return Err(at(format!("\\sleep: {other:?} is not a number"))),
                        },
                    };
                    if n > 0 {
                        let us = (n as u64).saturating_mul(*unit_us);
                        std::thread::sleep(Duration::from_micros(us));
                    }
                }
                Command::JumpUnless(cond, target) => {
                    if !truth(&eval.eval(cond, vars).map_err(at)?) {
                        pc = *target;
                        continue;
                    }
                }
                Command::Jump(target) => {
                    pc = *target;
                    continue;
                }
                Command::Sql(c) => {
                    let slot = prepared
                        .get_mut(pc)
                        .ok_or_else(|| at("internal error".into()))?;
                    let rows = run_sql(c, slot, vars).map_err(|e| match e {
                        RunError::Sql(s) => WorkloadError::Sql(s),
                        RunError::Other(m) => at(m),
                    })?;
                    match c.txn {
                        TxnEffect::Begin => *in_transaction = true,
                        TxnEffect::End => *in_transaction = false,
                        TxnEffect::None => {}
                    }
                    if let (Some(capture), Some(rows)) = (&c.capture, rows) {
                        store(capture, &rows, vars).map_err(at)?;
                    }
                }
            }
            pc += 1;
        }
        if *in_transaction {
            return Err(WorkloadError::failed(format!(
                "script '{}': end of script reached inside a transaction (missing COMMIT or END?)",
                script.name
            )));
        }
        Ok(())
    }
}

enum RunError {
    Sql(SqlError),
    Other(String),
}

impl From<SqlError> for RunError {
    fn from(e: SqlError) -> Self {
        RunError::Sql(e)
    }
}

/// Runs one SQL command with its variables as text parameters (as pgbench
/// sends them: the server parses each for the type it inferred). Returns
/// the rows when the command captures them.
fn run_sql(
    c: &SqlCommand,
    slot: &mut Option<Prepared>,
    vars: &Vars,
) -> Result<Option<Rows>, RunError> {
    let params = c
        .params
        .iter()
        .map(|name| match vars.get(name) {
            None => Err(RunError::Other(format!("undefined variable \"{name}\""))),
            Some(VarValue::Text(t)) => Ok(Value::Text(t.clone())),
            Some(VarValue::Val(v)) => Ok(v.to_sql_text().map_or(Value::Null, Value::Text)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if slot.is_none() {
        *slot = Some(match sql::prepare(&c.text) {
            Ok(st) => Prepared::Statement(st),
            Err(SqlError::Limit(_)) => Prepared::Text,
            Err(e) => return Err(e.into()),
        });
    }
    let capture = c.capture.is_some();
    match slot {
        Some(Prepared::Statement(st)) if capture => Ok(Some(st.query(&params)?)),
        Some(Prepared::Statement(st)) => {
            st.execute(&params)?;
            Ok(None)
        }
        _ if capture => Ok(Some(sql::query(&c.text, &params)?)),
        _ => {
            sql::execute(&c.text, &params)?;
            Ok(None)
        }
    }
}

/// A result cell as a variable value.
fn cell_value(v: &Value, column: &str, type_name: &str) -> Result<VarValue, String> {
    Ok(match v {
        Value::Null => VarValue::Val(Val::Null),
        Value::Boolean(b) => VarValue::Val(Val::Bool(*b)),
        Value::Int8(i) => VarValue::Val(Val::Int(*i)),
        Value::Float8(d) => VarValue::Val(Val::Double(*d)),
        Value::Numeric(s) | Value::Text(s) | Value::Json(s) | Value::Uuid(s) => {
            VarValue::Text(s.clone())
        }
        _ => {
            return Err(format!(
                "column \"{column}\" has type {type_name}, which a variable cannot hold: \
                 cast it to text in the query"
            ));
        }
    })
}

/// Stores a query's result for `\gset` / `\aset`.
fn store(capture: &Capture, rows: &Rows, vars: &mut Vars) -> Result<(), String> {
    let (prefix, all) = match capture {
        Capture::One(p) => (p, false),
        Capture::All(p) => (p, true),
    };
    if !all && rows.len() != 1 {
        return Err(format!("\\gset expects one row, got {}", rows.len()));
    }
    for row in &rows.0.rows {
        for (value, column) in row.iter().zip(&rows.0.columns) {
            let v = cell_value(value, &column.name, &column.type_name)?;
            vars.set(&format!("{prefix}{}", column.name), v);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stormdb_sdk::{Column, RowSet};

    fn column(name: &str, type_name: &str) -> Column {
        Column {
            name: name.into(),
            type_name: type_name.into(),
            type_oid: 0,
        }
    }

    #[test]
    fn gset_stores_typed_columns() {
        let rows = Rows(RowSet {
            columns: vec![
                column("n", "int4"),
                column("s", "text"),
                column("x", "numeric"),
            ],
            rows: vec![vec![
                Value::Int8(5),
                Value::Text("hi".into()),
                Value::Numeric("1.50".into()),
            ]],
        });
        let mut vars = Vars::default();
        assert!(store(&Capture::One("p_".into()), &rows, &mut vars).is_ok());
        assert_eq!(vars.value("p_n"), Ok(Val::Int(5)));
        assert_eq!(vars.get("p_s"), Some(&VarValue::Text("hi".into())));
        assert_eq!(vars.value("p_x"), Ok(Val::Double(1.5)));
    }

    #[test]
    fn gset_wants_one_row_aset_takes_any() {
        let rows = Rows(RowSet {
            columns: vec![column("a", "int4")],
            rows: vec![vec![Value::Int8(1)], vec![Value::Int8(2)]],
        });
        let mut vars = Vars::default();
        assert!(store(&Capture::One(String::new()), &rows, &mut vars).is_err());
        assert!(store(&Capture::All(String::new()), &rows, &mut vars).is_ok());
        assert_eq!(vars.value("a"), Ok(Val::Int(2)));
        let empty = Rows(RowSet {
            columns: vec![column("b", "int4")],
            rows: vec![],
        });
        assert!(store(&Capture::All(String::new()), &empty, &mut vars).is_ok());
        assert!(vars.get("b").is_none());
        let odd = Rows(RowSet {
            columns: vec![column("t", "timestamptz")],
            rows: vec![vec![Value::Timestamp(0)]],
        });
        assert!(store(&Capture::One(String::new()), &odd, &mut vars).is_err());
    }
}
