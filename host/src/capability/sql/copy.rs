//! `copy-in`: bulk loading with COPY ... FROM STDIN in binary format.

use super::convert::{Encoded, encode, value_kind};
use super::from_pg;
use crate::bindings::{SqlError, Value};
use crate::pg::pool::{PooledConn, StmtKey};
use tokio_postgres::binary_copy::BinaryCopyInWriter;

/// Quotes an identifier so any name the plugin passes stays one identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table name, optionally schema-qualified (`schema.table`).
fn quote_table(name: &str) -> Result<String, SqlError> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.is_empty() || parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(SqlError::Invalid(format!(
            "copy-in: '{name}' is not a table name (use `table` or `schema.table`)"
        )));
    }
    Ok(parts
        .iter()
        .map(|p| quote_ident(p))
        .collect::<Vec<_>>()
        .join("."))
}

pub(super) async fn copy_in(
    conn: &PooledConn,
    statement_cache: usize,
    table: &str,
    columns: &[String],
    rows: &[Vec<Value>],
) -> Result<u64, SqlError> {
    if columns.is_empty() {
        return Err(SqlError::Invalid("copy-in: no columns given".into()));
    }
    if let Some(c) = columns.iter().find(|c| c.is_empty()) {
        return Err(SqlError::Invalid(format!(
            "copy-in: empty column name {c:?}"
        )));
    }
    let table_sql = quote_table(table)?;
    let cols_sql = columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    // The column types come from describing a SELECT of the same columns.
    let probe_sql = format!("SELECT {cols_sql} FROM {table_sql} LIMIT 0");
    let probe = conn
        .statement(
            StmtKey::Text(probe_sql.as_str().into()),
            &probe_sql,
            statement_cache,
        )
        .await
        .map_err(from_pg)?;
    let types: Vec<_> = probe.columns().iter().map(|c| c.type_().clone()).collect();
    for (i, row) in rows.iter().enumerate() {
        if row.len() != types.len() {
            return Err(SqlError::Invalid(format!(
                "copy-in: row {i} has {} value(s) for {} column(s)",
                row.len(),
                types.len()
            )));
        }
    }
    let copy_sql = format!("COPY {table_sql} ({cols_sql}) FROM STDIN (FORMAT binary)");
    let copy = conn
        .statement(
            StmtKey::Text(copy_sql.as_str().into()),
            &copy_sql,
            statement_cache,
        )
        .await
        .map_err(from_pg)?;
    let sink = conn.client().copy_in(&copy).await.map_err(from_pg)?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    for (i, row) in rows.iter().enumerate() {
        let encoded = row
            .iter()
            .zip(&types)
            .zip(columns)
            .map(|((v, ty), col)| {
                match encode(v, ty) {
                    // COPY's binary format has no room for text-format values.
                    Ok(Encoded::Text(_)) => Err(SqlError::Invalid(format!(
                        "copy-in: row {i}, column {col}: a {} value cannot be copied into type {}; \
                         use execute with an INSERT for it",
                        value_kind(v),
                        ty.name()
                    ))),
                    Ok(e) => Ok(e),
                    Err(e) => Err(SqlError::Invalid(format!(
                        "copy-in: row {i}, column {col}: {e}"
                    ))),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        writer
            .as_mut()
            .write_raw(encoded.iter())
            .await
            .map_err(from_pg)?;
    }
    writer.as_mut().finish().await.map_err(from_pg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_checked() {
        assert_eq!(quote_table("t").ok(), Some("\"t\"".into()));
        assert_eq!(quote_table("s.t").ok(), Some("\"s\".\"t\"".into()));
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert!(quote_table("a.b.c").is_err());
        assert!(quote_table("").is_err());
        assert!(quote_table("s.").is_err());
    }
}
