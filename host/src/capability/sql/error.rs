//! tokio-postgres errors as the plugin sees them.

use crate::bindings::{DatabaseError, SqlError};

/// Converts a driver error into the WIT `sql-error`, keeping everything the
/// server said (SQLSTATE, severity, detail, hint, the object it is about).
pub(crate) fn from_pg(e: tokio_postgres::Error) -> SqlError {
    if let Some(db) = e.as_db_error() {
        return SqlError::Database(DatabaseError {
            sqlstate: db.code().code().to_string(),
            severity: db.severity().to_string(),
            message: db.message().to_string(),
            detail: db.detail().map(str::to_string),
            hint: db.hint().map(str::to_string),
            schema: db.schema().map(str::to_string),
            table: db.table().map(str::to_string),
            column: db.column().map(str::to_string),
            constraint: db.constraint().map(str::to_string),
        });
    }
    if e.is_closed() {
        return SqlError::Connection("the connection to the server is closed".into());
    }
    SqlError::Connection(e.to_string())
}
