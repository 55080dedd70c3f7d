//! What a statement does, from a real PostgreSQL parse of its text:
//! read, write, DDL, transaction control, or forbidden with the reason.
//! Anything the parser cannot read is forbidden (fail closed).

use sqlparser::ast::{
    Expr, ObjectName, Set, Statement, visit_expressions, visit_relations, visit_statements,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// Transaction control sent as SQL text, which the session must track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxControl {
    /// BEGIN / START TRANSACTION.
    Begin,
    /// COMMIT / END / ROLLBACK (not to a savepoint).
    End,
    /// SAVEPOINT, RELEASE, ROLLBACK TO.
    Savepoint,
}

/// What a statement does, independent of who sends it when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// Reads only.
    Read,
    /// Modifies rows.
    Write,
    /// Changes the schema or maintains tables.
    Ddl,
    /// Creates a temporary table.
    TempTable,
    /// CREATE EXTENSION name.
    Extension(String),
    /// Transaction control.
    Tx(TxControl),
    /// A harmless session setting.
    Session,
    /// Never allowed; the reason.
    Forbidden(String),
}

/// Functions no plugin may call: server files, large objects (server-side
/// storage outside any schema), role and setting changes by function,
/// other backends, server control.
fn forbidden_function(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "set_config",
        "pg_read_file",
        "pg_read_binary_file",
        "pg_stat_file",
        "pg_ls_dir",
        "pg_file_write",
        "pg_file_rename",
        "pg_file_unlink",
        "pg_logdir_ls",
        "loread",
        "lowrite",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_promote",
        "pg_switch_wal",
        "pg_create_restore_point",
        "pg_backup_start",
        "pg_backup_stop",
        "pg_import_system_collations",
        "dblink_connect",
        "dblink_connect_u",
    ];
    // Large objects, by name: a prefix would also refuse tables called
    // `lo_something` wherever a parenthesis follows them.
    const LARGE_OBJECTS: &[&str] = &[
        "lo_close",
        "lo_creat",
        "lo_create",
        "lo_export",
        "lo_from_bytea",
        "lo_get",
        "lo_import",
        "lo_lseek",
        "lo_lseek64",
        "lo_open",
        "lo_put",
        "lo_tell",
        "lo_tell64",
        "lo_truncate",
        "lo_truncate64",
        "lo_unlink",
    ];
    EXACT.contains(&name)
        || LARGE_OBJECTS.contains(&name)
        || name.starts_with("pg_ls_")
        || name.starts_with("dblink")
        || name.starts_with("pg_replication_origin")
        || name.starts_with("pg_create_") && name.ends_with("_replication_slot")
}

/// Settings a plugin may not change: they are how the host confines it.
fn protected_setting(name: &str) -> bool {
    matches!(
        name,
        "role"
            | "session_authorization"
            | "search_path"
            | "statement_timeout"
            | "lock_timeout"
            | "idle_in_transaction_session_timeout"
            | "default_transaction_read_only"
            | "transaction_read_only"
            | "session_replication_role"
            | "row_security"
            // These change how PostgreSQL reads the text the policy has
            // already parsed (backslashes in strings, bytes of characters).
            | "standard_conforming_strings"
            | "backslash_quote"
            | "client_encoding"
    )
}

fn last_ident(name: &ObjectName) -> String {
    name.0
        .last()
        .map(|p| p.to_string().trim_matches('"').to_lowercase())
        .unwrap_or_default()
}

/// First keywords of statements the parser does not know but that must be
/// named clearly rather than reported as a parse failure.
fn forbidden_prefix(sql: &str) -> Option<&'static str> {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(2)
        .map(|w| w.trim_end_matches(';').to_ascii_uppercase())
        .collect();
    match words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["ALTER", "SYSTEM"] => Some("ALTER SYSTEM is not allowed"),
        ["DO", ..] => Some("anonymous code blocks (DO) are not allowed"),
        ["LOAD", ..] => Some("LOAD (of server libraries) is not allowed"),
        ["CHECKPOINT", ..] => Some("CHECKPOINT is not allowed"),
        ["SECURITY", "LABEL"] => Some("SECURITY LABEL is not allowed"),
        _ => None,
    }
}

/// Refuses text the parser and PostgreSQL could read differently, and
/// forbidden functions called anywhere: every name directly followed by a
/// parenthesis, whatever the AST node (`FROM LATERAL f()`, `ROWS FROM`).
fn check_tokens(sql: &str) -> Option<String> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = PostgreSqlDialect {};
    // The parser reports tokenizer errors itself; this check only looks.
    let tokens = Tokenizer::new(&dialect, sql).tokenize().ok()?;
    // Comments count as whitespace, as PostgreSQL reads them:
    // `set_config/**/(...)` is still a call.
    let mut words = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .peekable();
    while let Some(t) = words.next() {
        let next = words.peek();
        if let Token::Word(w) = t {
            // U&"..." and U&'...': PostgreSQL decodes the escapes, the
            // parser sees `U & "..."`.
            if w.quote_style.is_none()
                && w.value.eq_ignore_ascii_case("u")
                && matches!(next, Some(Token::Ampersand))
            {
                return Some(
                    "Unicode-escaped names and strings (U&...) are not allowed".to_string(),
                );
            }
            if matches!(next, Some(Token::LParen)) && forbidden_function(&w.value.to_lowercase()) {
                return Some(format!(
                    "calling {}() is not allowed (server files, large objects, settings and \
                     other backends are off limits)",
                    w.value.to_lowercase()
                ));
            }
        }
    }
    None
}

fn check_functions(stmt: &Statement) -> Option<String> {
    let mut found = None;
    let _ = visit_expressions(stmt, |e| {
        if let Expr::Function(f) = e {
            let name = last_ident(&f.name);
            if forbidden_function(&name) {
                found = Some(name);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    if found.is_none() {
        // Table functions in FROM (`SELECT * FROM pg_ls_dir('.')`).
        let _ = visit_relations(stmt, |r| {
            let name = last_ident(r);
            if forbidden_function(&name) {
                found = Some(name);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
    }
    found.map(|f| format!("calling {f}() is not allowed (server files, large objects, settings and other backends are off limits)"))
}

/// `Some(temporary)` when the query is `SELECT ... INTO`.
fn select_into(q: &sqlparser::ast::Query) -> Option<bool> {
    match q.body.as_ref() {
        sqlparser::ast::SetExpr::Select(s) => s.into.as_ref().map(|i| i.temporary),
        _ => None,
    }
}

fn has_nested_write(stmt: &Statement) -> bool {
    let mut write = false;
    let _ = visit_statements(stmt, |s| {
        if matches!(
            s,
            Statement::Insert(_)
                | Statement::Update { .. }
                | Statement::Delete(_)
                | Statement::Merge { .. }
        ) {
            write = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    write
}

fn classify_statement(stmt: &Statement) -> Class {
    if let Some(reason) = check_functions(stmt) {
        return Class::Forbidden(reason);
    }
    match stmt {
        Statement::Query(q) if select_into(q).is_some() => {
            // `SELECT ... INTO t` creates a table.
            if select_into(q) == Some(true) {
                Class::TempTable
            } else {
                Class::Ddl
            }
        }
        Statement::Query(_) => {
            if has_nested_write(stmt) {
                Class::Write
            } else {
                Class::Read
            }
        }
        Statement::Insert(_)
        | Statement::Update { .. }
        | Statement::Delete(_)
        | Statement::Merge { .. }
        | Statement::Call(_) => Class::Write,
        Statement::Explain {
            statement,
            analyze,
            options,
            ..
        } => {
            // `EXPLAIN (ANALYZE) ...` runs the statement as much as
            // `EXPLAIN ANALYZE ...` does.
            let analyzes = *analyze
                || options.as_ref().is_some_and(|o| {
                    o.iter()
                        .any(|u| u.name.value.eq_ignore_ascii_case("analyze"))
                });
            if analyzes {
                classify_statement(statement)
            } else {
                Class::Read
            }
        }
        Statement::ExplainTable { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. } => Class::Read,
        Statement::CreateTable(t) if t.temporary => Class::TempTable,
        Statement::CreateTable(_)
        | Statement::CreateIndex(_)
        | Statement::CreateView { .. }
        | Statement::CreateSequence { .. }
        | Statement::CreateType { .. }
        | Statement::CreateDomain(_)
        | Statement::CreateFunction(_)
        | Statement::CreateProcedure { .. }
        | Statement::CreateTrigger(_)
        | Statement::AlterTable(_)
        | Statement::AlterIndex { .. }
        | Statement::AlterView { .. }
        | Statement::AlterType(_)
        | Statement::Drop { .. }
        | Statement::DropFunction(_)
        | Statement::DropProcedure { .. }
        | Statement::DropTrigger(_)
        | Statement::DropDomain(_)
        | Statement::Truncate(_)
        | Statement::Comment { .. }
        | Statement::Vacuum(_)
        | Statement::Analyze(_) => Class::Ddl,
        Statement::CreateExtension(e) => {
            Class::Extension(e.name.to_string().trim_matches('"').to_lowercase())
        }
        Statement::StartTransaction { .. } => Class::Tx(TxControl::Begin),
        Statement::Commit { chain: true, .. } | Statement::Rollback { chain: true, .. } => {
            Class::Forbidden(
                "AND CHAIN is not allowed: it opens a transaction the host would not know of"
                    .into(),
            )
        }
        Statement::Commit { .. } => Class::Tx(TxControl::End),
        Statement::Rollback {
            savepoint: Some(_), ..
        } => Class::Tx(TxControl::Savepoint),
        Statement::Rollback { .. } => Class::Tx(TxControl::End),
        Statement::Savepoint { .. } | Statement::ReleaseSavepoint { .. } => {
            Class::Tx(TxControl::Savepoint)
        }
        Statement::Set(Set::SetRole { .. }) => Class::Forbidden("SET ROLE is not allowed".into()),
        Statement::Set(Set::SetSessionAuthorization(_)) => {
            Class::Forbidden("SET SESSION AUTHORIZATION is not allowed".into())
        }
        Statement::Set(Set::SingleAssignment { variable, .. }) => {
            let name = last_ident(variable);
            if protected_setting(&name) {
                Class::Forbidden(format!("changing {name} is not allowed"))
            } else {
                Class::Session
            }
        }
        Statement::Set(Set::SetTimeZone { .. }) => Class::Session,
        Statement::Set(_) => Class::Forbidden("this form of SET is not allowed".into()),
        Statement::Reset(_) => Class::Forbidden(
            "RESET is not allowed (it could undo the role and settings the host pinned)".into(),
        ),
        Statement::Copy { .. } => Class::Forbidden(
            "COPY from SQL is not allowed (no server files or programs); use copy-in".into(),
        ),
        Statement::Grant(_) | Statement::Revoke(_) | Statement::Deny(_) => {
            Class::Forbidden("GRANT and REVOKE are not allowed".into())
        }
        Statement::CreateRole(_)
        | Statement::AlterRole { .. }
        | Statement::CreateUser(_)
        | Statement::AlterUser(_) => Class::Forbidden("roles cannot be created or changed".into()),
        Statement::Prepare { .. } | Statement::Execute { .. } | Statement::Deallocate { .. } => {
            Class::Forbidden("PREPARE/EXECUTE in SQL are not allowed; use the prepare call".into())
        }
        other => {
            let text = other.to_string();
            let kind: String = text
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            Class::Forbidden(format!(
                "'{kind} ...' statements are not allowed for plugins"
            ))
        }
    }
}

/// VACUUM and ANALYZE in PostgreSQL's own syntax, which the parser does
/// not fully read. Their grammar has no expressions, so a statement made
/// only of words, commas, dots, quotes and parentheses is one of them and
/// nothing else.
fn maintenance(sql: &str) -> Option<Class> {
    let t = sql.trim().trim_end_matches(';');
    let first = t.split_whitespace().next()?.to_ascii_uppercase();
    if !matches!(first.as_str(), "VACUUM" | "ANALYZE" | "ANALYSE") {
        return None;
    }
    let plain = t.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | ' ' | ',' | '.' | '(' | ')' | '"' | '\n' | '\t')
    });
    Some(if plain {
        Class::Ddl
    } else {
        Class::Forbidden(format!(
            "{first} with anything but table and column names is not allowed"
        ))
    })
}

/// Parses `sql` and says what it is. Exactly one statement; anything the
/// parser cannot read is forbidden (fail closed).
pub fn classify(sql: &str) -> Class {
    if let Some(reason) = forbidden_prefix(sql.trim_start()) {
        return Class::Forbidden(reason.into());
    }
    if let Some(class) = maintenance(sql) {
        return class;
    }
    if let Some(reason) = check_tokens(sql) {
        return Class::Forbidden(reason);
    }
    match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(stmts) if stmts.len() == 1 => classify_statement(&stmts[0]),
        Ok(stmts) if stmts.is_empty() => Class::Forbidden("empty statement".into()),
        Ok(stmts) => Class::Forbidden(format!("one statement per call, found {}", stmts.len())),
        Err(e) => Class::Forbidden(format!(
            "the statement could not be parsed, so it is refused (fail closed): {e}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::sql::policy::{Phase, verdict};

    #[test]
    fn ordinary_workload_sql_passes() {
        for sql in [
            "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
            "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET a = excluded.a",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "DELETE FROM t WHERE a = 1",
            "SELECT pg_sleep($1::float8 / 1000)",
            "BEGIN",
            "COMMIT",
            "SET enable_seqscan = off",
            "SELECT count(*) FROM t FOR UPDATE",
        ] {
            assert_eq!(verdict(sql, Phase::Step), Ok(()), "{sql}");
        }
        assert_eq!(
            classify("BEGIN ISOLATION LEVEL SERIALIZABLE"),
            Class::Tx(TxControl::Begin)
        );
        assert_eq!(classify("END"), Class::Tx(TxControl::End));
        assert_eq!(classify("COMMIT AND NO CHAIN"), Class::Tx(TxControl::End));
        assert_eq!(classify("EXPLAIN (ANALYZE) DELETE FROM t"), Class::Write);
        assert_eq!(
            classify("EXPLAIN (ANALYZE, BUFFERS) CREATE TABLE x AS SELECT 1"),
            Class::Ddl
        );
        assert_eq!(classify("EXPLAIN (COSTS off) DELETE FROM t"), Class::Read);
        assert_eq!(
            classify("SELECT g INTO t2 FROM generate_series(1, 3) g"),
            Class::Ddl
        );
        assert_eq!(classify("SELECT 1 INTO TEMP t3"), Class::TempTable);
        // A table whose name begins like a large-object function is fine.
        assert_eq!(
            classify("INSERT INTO lo_stuff (a) VALUES (1)"),
            Class::Write
        );
        assert_eq!(
            classify("WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d"),
            Class::Write
        );
    }

    #[test]
    fn attacks_are_denied_with_their_reason() {
        for (sql, want) in [
            ("SET ROLE postgres", "SET ROLE"),
            ("RESET ROLE", "RESET"),
            (
                "SET SESSION AUTHORIZATION postgres",
                "SESSION AUTHORIZATION",
            ),
            ("SELECT set_config('role', 'postgres', false)", "set_config"),
            ("SET search_path = other_tenant", "search_path"),
            ("SET statement_timeout = 0", "statement_timeout"),
            ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
            ("SELECT * FROM pg_ls_dir('.')", "pg_ls_dir"),
            ("SELECT lo_import('/etc/passwd')", "lo_import"),
            ("COPY t TO PROGRAM 'id'", "COPY"),
            ("COPY t FROM '/etc/passwd'", "COPY"),
            ("ALTER SYSTEM SET fsync = off", "ALTER SYSTEM"),
            ("DO $$ BEGIN PERFORM 1; END $$", "DO"),
            ("SELECT 1; SELECT 2", "one statement per call, found 2"),
            ("GRANT SELECT ON t TO PUBLIC", "GRANT"),
            ("CREATE ROLE evil SUPERUSER", "roles"),
            ("SELEKT 1", "fail closed"),
            ("", "empty"),
            ("SELECT pg_terminate_backend(1)", "pg_terminate_backend"),
            ("PREPARE p AS SELECT 1", "PREPARE"),
            ("VACUUM t; SELECT pg_read_file('x')", "VACUUM with anything"),
            (
                "SELECT * FROM LATERAL set_config('statement_timeout', '0', false)",
                "set_config",
            ),
            (
                "SELECT * FROM ROWS FROM (pg_catalog.set_config('role', 'x', false))",
                "set_config",
            ),
            (
                "SELECT * FROM LATERAL set_config/**/('role', 'none', false)",
                "set_config",
            ),
            (
                "SELECT * FROM LATERAL set_config -- hidden\n ('role', 'none', false)",
                "set_config",
            ),
            ("SELECT U&\"set\\005fconfig\"('role', 'x', false)", "U&"),
            (
                "SET standard_conforming_strings = off",
                "standard_conforming_strings",
            ),
            ("SET client_encoding = 'SJIS'", "client_encoding"),
            ("COMMIT AND CHAIN", "AND CHAIN"),
            ("ROLLBACK AND CHAIN", "AND CHAIN"),
            ("SELECT lo_from_bytea(0, 'x')", "lo_from_bytea"),
        ] {
            let err = verdict(sql, Phase::Schema).unwrap_err();
            assert!(err.contains(want), "{sql}: {err}");
        }
    }
}
