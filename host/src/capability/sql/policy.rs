//! The statement policy: a real PostgreSQL parse of every statement a
//! plugin sends, and an early, clear `denied` for what it may not do. The
//! database role the plugin logs in as is the wall; this is the sign in
//! front of it, so a plugin learns *why* instead of hitting a permission
//! error (or, on the operator's own connection, succeeding).
//!
//! Classification depends only on the SQL text, so it is computed once per
//! distinct statement and cached; the phase and capability check is a few
//! comparisons per call.

use sqlparser::ast::{
    Expr, ObjectName, Set, Statement, visit_expressions, visit_relations, visit_statements,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// What a plugin may do, as granted: the manifest's requests intersected
/// with the operator's grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// SELECT and other reads.
    pub read: bool,
    /// INSERT, UPDATE, DELETE, MERGE, CALL.
    pub write: bool,
    /// CREATE/ALTER/DROP/TRUNCATE and maintenance (VACUUM, ANALYZE).
    pub ddl: bool,
    /// Bulk loading through `copy-in`.
    pub copy: bool,
    /// CREATE TEMP TABLE.
    pub temp_tables: bool,
    /// Extensions it may CREATE.
    pub extensions: BTreeSet<String>,
}

impl Capabilities {
    /// Everything (the operator's own built-in workloads by default).
    pub fn all() -> Self {
        Capabilities {
            read: true,
            write: true,
            ddl: true,
            copy: true,
            temp_tables: true,
            extensions: BTreeSet::new(),
        }
    }

    /// From capability names (`read`, `write`, `ddl`, `copy`,
    /// `temp-tables`, `extension:NAME`); unknown names are an error.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut c = Capabilities::default();
        for n in names {
            match n.as_ref() {
                "read" => c.read = true,
                "write" => c.write = true,
                "ddl" => c.ddl = true,
                "copy" => c.copy = true,
                "temp-tables" => c.temp_tables = true,
                other => match other.strip_prefix("extension:") {
                    Some(ext) if !ext.is_empty() => {
                        c.extensions.insert(ext.to_string());
                    }
                    _ => return Err(format!("unknown capability '{other}'")),
                },
            }
        }
        Ok(c)
    }

    /// The names of these capabilities.
    pub fn names(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (on, name) in [
            (self.read, "read"),
            (self.write, "write"),
            (self.ddl, "ddl"),
            (self.copy, "copy"),
            (self.temp_tables, "temp-tables"),
        ] {
            if on {
                v.push(name.to_string());
            }
        }
        v.extend(self.extensions.iter().map(|e| format!("extension:{e}")));
        v
    }

    /// Requested capabilities missing from `self` (the grant).
    pub fn missing(&self, requested: &Capabilities) -> Vec<String> {
        let mut granted: BTreeSet<String> = self.names().into_iter().collect();
        // `write` implies nothing else, but `ddl` covers temporary tables.
        if self.ddl {
            granted.insert("temp-tables".into());
        }
        requested
            .names()
            .into_iter()
            .filter(|n| !granted.contains(n))
            .collect()
    }

    /// Requested ∩ granted.
    pub fn intersect(&self, other: &Capabilities) -> Capabilities {
        Capabilities {
            read: self.read && other.read,
            write: self.write && other.write,
            ddl: self.ddl && other.ddl,
            copy: self.copy && other.copy,
            temp_tables: self.temp_tables && other.temp_tables,
            extensions: self
                .extensions
                .intersection(&other.extensions)
                .cloned()
                .collect(),
        }
    }
}

/// Which exported call a statement comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `describe`: no SQL.
    Describe,
    /// `is-loaded` and `summarize`: reads.
    Inspect,
    /// `setup-schema`, `finish-setup`, `cleanup`: DDL allowed.
    Schema,
    /// `load`: writes and COPY.
    Load,
    /// `init`: reads, writes and prepare.
    Init,
    /// `step`: reads and writes, no DDL.
    Step,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Describe => "describe",
            Phase::Inspect => "is-loaded/summarize",
            Phase::Schema => "setup-schema/finish-setup/cleanup",
            Phase::Load => "load",
            Phase::Init => "init",
            Phase::Step => "step",
        }
    }
}

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
    EXACT.contains(&name)
        || name.starts_with("lo_")
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
            statement, analyze, ..
        } => {
            if *analyze {
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
    match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(stmts) if stmts.len() == 1 => classify_statement(&stmts[0]),
        Ok(stmts) if stmts.is_empty() => Class::Forbidden("empty statement".into()),
        Ok(stmts) => Class::Forbidden(format!("one statement per call, found {}", stmts.len())),
        Err(e) => Class::Forbidden(format!(
            "the statement could not be parsed, so it is refused (fail closed): {e}"
        )),
    }
}

/// Whether `class` may run in `phase` with `caps`; the denial names the
/// reason.
pub fn check(class: &Class, phase: Phase, caps: &Capabilities) -> Result<(), String> {
    let need = |ok: bool, cap: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("the plugin was not granted the '{cap}' capability"))
        }
    };
    if phase == Phase::Describe {
        return Err("SQL is not available in describe".into());
    }
    match class {
        Class::Forbidden(reason) => Err(reason.clone()),
        Class::Read | Class::Session | Class::Tx(_) => need(caps.read || caps.write, "read"),
        Class::Write => match phase {
            Phase::Inspect => Err(format!("writes are not allowed in {}", phase.name())),
            _ => need(caps.write, "write"),
        },
        Class::TempTable => need(caps.temp_tables || caps.ddl, "temp-tables"),
        Class::Ddl => match phase {
            Phase::Schema => need(caps.ddl, "ddl"),
            _ => Err(format!(
                "DDL is only allowed in setup-schema, finish-setup and cleanup, not in {}",
                phase.name()
            )),
        },
        Class::Extension(name) => match phase {
            Phase::Schema if caps.extensions.contains(name) => Ok(()),
            Phase::Schema => Err(format!(
                "CREATE EXTENSION {name} needs the 'extension:{name}' capability"
            )),
            _ => Err(format!(
                "CREATE EXTENSION is only allowed in setup-schema, not in {}",
                phase.name()
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(sql: &str, phase: Phase) -> Result<(), String> {
        check(&classify(sql), phase, &Capabilities::all())
    }

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
        assert_eq!(
            classify("WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d"),
            Class::Write
        );
    }

    #[test]
    fn ddl_is_confined_to_schema_phases() {
        for sql in [
            "CREATE TABLE t (a int)",
            "DROP TABLE IF EXISTS a, b",
            "ALTER TABLE t ADD PRIMARY KEY (a)",
            "CREATE INDEX ON t (a)",
            "TRUNCATE t",
            "VACUUM ANALYZE t",
            "VACUUM ANALYZE pgbench_branches, pgbench_tellers",
            "VACUUM (ANALYZE, VERBOSE) t",
            "ANALYZE stormdb_simple",
        ] {
            assert_eq!(verdict(sql, Phase::Schema), Ok(()), "{sql}");
            let err = verdict(sql, Phase::Step).unwrap_err();
            assert!(err.contains("DDL is only allowed"), "{sql}: {err}");
        }
        assert_eq!(classify("CREATE TEMP TABLE x (a int)"), Class::TempTable);
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
        ] {
            let err = verdict(sql, Phase::Schema).unwrap_err();
            assert!(err.contains(want), "{sql}: {err}");
        }
    }

    #[test]
    fn capabilities_gate_what_is_allowed() {
        let read_only = Capabilities::from_names(&["read"]).unwrap();
        assert!(check(&classify("SELECT 1"), Phase::Step, &read_only).is_ok());
        let err = check(&classify("UPDATE t SET a = 1"), Phase::Step, &read_only).unwrap_err();
        assert!(err.contains("'write'"), "{err}");
        let err = check(
            &classify("CREATE EXTENSION vector"),
            Phase::Schema,
            &Capabilities::all(),
        )
        .unwrap_err();
        assert!(err.contains("extension:vector"), "{err}");
        let vec = Capabilities::from_names(&["extension:vector"]).unwrap();
        assert!(check(&classify("CREATE EXTENSION vector"), Phase::Schema, &vec).is_ok());
        assert!(check(&classify("SELECT 1"), Phase::Describe, &Capabilities::all()).is_err());
        assert!(
            check(
                &classify("INSERT INTO t VALUES (1)"),
                Phase::Inspect,
                &Capabilities::all()
            )
            .is_err()
        );
    }

    #[test]
    fn grants_name_what_is_missing() {
        let requested = Capabilities::from_names(&["read", "write", "extension:vector"]).unwrap();
        let granted = Capabilities::from_names(&["read", "write", "ddl"]).unwrap();
        assert_eq!(
            granted.missing(&requested),
            vec!["extension:vector".to_string()]
        );
        assert!(Capabilities::from_names(&["root"]).is_err());
    }
}
