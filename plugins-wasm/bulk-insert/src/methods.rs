//! The three ways to write a batch: single-row INSERTs, multi-row INSERTs
//! and COPY. Each batch is one transaction, so all its rows share one
//! transaction id.

use crate::rows::{COLUMNS, TABLE};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use stormdb_sdk::sql::{self, Statement};
use stormdb_sdk::{SqlError, Value};

/// PostgreSQL's limit on the parameters of one statement.
const MAX_PARAMS: usize = 65_535;

/// Rows one multi-row INSERT may carry.
pub const ROWS_PER_STATEMENT: usize = MAX_PARAMS / COLUMNS.len();

/// A way of writing rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One `INSERT ... VALUES (...)` per row, in one transaction.
    Insert,
    /// `INSERT ... VALUES (...), (...), ...`: as many rows per statement as
    /// the parameter limit allows.
    MultiInsert,
    /// `COPY ... FROM STDIN (FORMAT binary)`.
    Copy,
}

impl Method {
    /// The name used in modes and operation names.
    pub fn name(self) -> &'static str {
        match self {
            Method::Insert => "insert",
            Method::MultiInsert => "multi-insert",
            Method::Copy => "copy",
        }
    }

    /// Every method.
    pub const ALL: [Method; 3] = [Method::Insert, Method::MultiInsert, Method::Copy];
}

/// A method with a batch size: one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combo {
    /// How.
    pub method: Method,
    /// Rows per step.
    pub batch: usize,
    /// The operation name, e.g. `copy-1000`.
    pub op: String,
}

impl Combo {
    /// `method` writing `batch` rows per step.
    pub fn new(method: Method, batch: usize) -> Self {
        Combo {
            method,
            batch,
            op: format!("{}-{batch}", method.name()),
        }
    }
}

fn placeholders(rows: usize) -> String {
    let cols = COLUMNS.len();
    (0..rows)
        .map(|r| {
            let p: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", p.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn insert_sql(rows: usize) -> String {
    format!(
        "INSERT INTO {TABLE} ({}) VALUES {}",
        COLUMNS.join(", "),
        placeholders(rows)
    )
}

/// Writes batches; keeps the INSERT statements it prepared.
#[derive(Default)]
pub struct Writer {
    /// Prepared INSERTs by the number of rows they carry.
    statements: HashMap<usize, Statement>,
}

impl Writer {
    fn statement(&mut self, rows: usize) -> Result<&Statement, SqlError> {
        Ok(match self.statements.entry(rows) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(sql::prepare(&insert_sql(rows))?),
        })
    }

    /// Writes `rows` with `method`; returns the rows the server reported.
    pub fn write(&mut self, method: Method, rows: &[Vec<Value>]) -> Result<u64, SqlError> {
        match method {
            Method::Copy => sql::copy_in(TABLE, &COLUMNS, rows),
            Method::Insert => {
                let st = self.statement(1)?;
                // A single row needs no transaction block of its own.
                if let [row] = rows {
                    return st.execute(row);
                }
                let tx = sql::begin()?;
                let mut n = 0;
                for row in rows {
                    n += st.execute(row)?;
                }
                tx.commit()?;
                Ok(n)
            }
            Method::MultiInsert => {
                let chunks: Vec<&[Vec<Value>]> = rows.chunks(ROWS_PER_STATEMENT).collect();
                let tx = if chunks.len() > 1 {
                    Some(sql::begin()?)
                } else {
                    None
                };
                let mut n = 0;
                for chunk in chunks {
                    let params: Vec<Value> = chunk.iter().flatten().cloned().collect();
                    n += self.statement(chunk.len())?.execute(&params)?;
                }
                if let Some(tx) = tx {
                    tx.commit()?;
                }
                Ok(n)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_stay_within_the_parameter_limit() {
        assert!(ROWS_PER_STATEMENT * COLUMNS.len() <= MAX_PARAMS);
        assert_eq!(ROWS_PER_STATEMENT, 4681);
        let sql = insert_sql(2);
        assert!(
            sql.ends_with("($15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)")
        );
        assert_eq!(
            Combo::new(Method::MultiInsert, 1000).op,
            "multi-insert-1000"
        );
    }
}
