//! The SQL capability, with typed row access and transactions.

use crate::bindings::stormdb::workload::sql as raw;
use crate::{FromValue, RowSet, SqlError, StepError, Value, WorkloadError};

pub use raw::{IsolationLevel, Transaction, TransactionOptions};

/// A prepared statement: SQL checked by the server once, then run by
/// handle. Prepare the statements of a hot loop in `init`.
pub struct Statement {
    raw: raw::Statement,
    columns: Vec<crate::Column>,
}

/// Prepare `statement` (with `$1`, `$2`, ... placeholders).
pub fn prepare(statement: &str) -> Result<Statement, SqlError> {
    let raw = raw::prepare(statement)?;
    let columns = raw.columns();
    Ok(Statement { raw, columns })
}

impl Statement {
    /// Run it and return its rows.
    pub fn query(&self, params: &[Value]) -> Result<Rows, SqlError> {
        let rows = self.raw.query(params)?;
        Ok(Rows(RowSet {
            columns: self.columns.clone(),
            rows,
        }))
    }

    /// Run it and return only the rows, without copying column metadata.
    pub fn query_rows(&self, params: &[Value]) -> Result<Vec<Vec<Value>>, SqlError> {
        self.raw.query(params)
    }

    /// Run it and return how many rows it affected.
    pub fn execute(&self, params: &[Value]) -> Result<u64, SqlError> {
        self.raw.execute(params)
    }

    /// Its result columns.
    pub fn columns(&self) -> &[crate::Column] {
        &self.columns
    }
}

/// Rows returned by a query, with typed access by position or column name.
#[derive(Debug, Clone)]
pub struct Rows(pub RowSet);

impl Rows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.0.rows.len()
    }

    /// True when the query returned no rows.
    pub fn is_empty(&self) -> bool {
        self.0.rows.is_empty()
    }

    /// Cell `(row, col)` as `T`; `None` when out of range, NULL (unless `T`
    /// is an `Option`) or of another kind.
    pub fn get<T: FromValue>(&self, row: usize, col: usize) -> Option<T> {
        self.0.rows.get(row)?.get(col).and_then(T::from_value)
    }

    /// Cell `(row, column name)` as `T`.
    pub fn get_by_name<T: FromValue>(&self, row: usize, name: &str) -> Option<T> {
        let col = self.0.columns.iter().position(|c| c.name == name)?;
        self.get(row, col)
    }

    /// Cell `(row, col)` as `T`, or an error naming the cell.
    pub fn value<T: FromValue>(&self, row: usize, col: usize) -> Result<T, WorkloadError> {
        self.get(row, col).ok_or_else(|| {
            WorkloadError::failed(format!(
                "result cell ({row}, {col}) is missing, NULL or not a {}",
                core::any::type_name::<T>()
            ))
        })
    }
}

/// Run a query and return its rows.
pub fn query(statement: &str, params: &[Value]) -> Result<Rows, SqlError> {
    raw::query(statement, params).map(Rows)
}

/// Run a statement and return how many rows it affected.
pub fn execute(statement: &str, params: &[Value]) -> Result<u64, SqlError> {
    raw::execute(statement, params)
}

/// Bulk-load `rows` into `table` with COPY.
pub fn copy_in(table: &str, columns: &[&str], rows: &[Vec<Value>]) -> Result<u64, SqlError> {
    let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    raw::copy_in(table, &columns, rows)
}

/// Start a transaction at the server's default isolation level.
pub fn begin() -> Result<Transaction, SqlError> {
    raw::begin(TransactionOptions {
        isolation: IsolationLevel::Default,
        read_only: false,
    })
}

/// Start a transaction with explicit options.
pub fn begin_with(options: TransactionOptions) -> Result<Transaction, SqlError> {
    raw::begin(options)
}

/// Runs `rows` through [`copy_in`] in batches of `batch` rows, as a loader
/// produces them, so a large load never holds all rows in memory.
pub struct CopyBatcher {
    table: String,
    columns: Vec<String>,
    batch: usize,
    rows: Vec<Vec<Value>>,
    copied: u64,
}

impl CopyBatcher {
    /// A batcher for `table(columns)` flushing every `batch` rows.
    pub fn new(table: &str, columns: &[&str], batch: usize) -> Self {
        CopyBatcher {
            table: table.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            batch: batch.max(1),
            rows: Vec::with_capacity(batch.max(1)),
            copied: 0,
        }
    }

    /// Add a row, copying a full batch to the server.
    pub fn push(&mut self, row: Vec<Value>) -> Result<(), SqlError> {
        self.rows.push(row);
        if self.rows.len() >= self.batch {
            self.flush()?;
        }
        Ok(())
    }

    /// Copy what is buffered.
    pub fn flush(&mut self) -> Result<(), SqlError> {
        if !self.rows.is_empty() {
            self.copied += raw::copy_in(&self.table, &self.columns, &self.rows)?;
            self.rows.clear();
        }
        Ok(())
    }

    /// Copy the rest and return the number of rows copied in all.
    pub fn finish(mut self) -> Result<u64, SqlError> {
        self.flush()?;
        Ok(self.copied)
    }
}

/// Attach the operation name to a SQL result inside `step`, so `?` turns a
/// failure into a [`StepError`] counted under that operation.
pub trait StepResultExt<T> {
    /// The result, with its error attributed to `operation`.
    fn op(self, operation: &str) -> Result<T, StepError>;
}

impl<T> StepResultExt<T> for Result<T, SqlError> {
    fn op(self, operation: &str) -> Result<T, StepError> {
        self.map_err(|e| StepError {
            operation: operation.to_string(),
            error: WorkloadError::Sql(e),
        })
    }
}

impl<T> StepResultExt<T> for Result<T, WorkloadError> {
    fn op(self, operation: &str) -> Result<T, StepError> {
        self.map_err(|error| StepError {
            operation: operation.to_string(),
            error,
        })
    }
}
