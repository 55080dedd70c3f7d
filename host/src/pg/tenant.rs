//! Tenants: isolation enforced by PostgreSQL itself. Each tenant gets a
//! schema and a least-privilege LOGIN role that owns only that schema; its
//! plugins connect as that role with `search_path` pinned and timeouts set,
//! so whatever SQL a plugin sends, it cannot read or write another tenant's
//! tables, change role, or reach server files.

use std::time::Duration;
use tokio_postgres::NoTls;

/// Names StormDB gives a tenant's role and schema.
pub const PREFIX: &str = "stormdb_t_";
/// Marks roles StormDB created, so it never takes over someone else's.
const ROLE_COMMENT: &str = "stormdb tenant role";

/// Why a tenant could not be provisioned.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The tenant name is not usable.
    #[error("tenant name '{0}' must be 1-40 lower-case letters, digits or '_'")]
    BadName(String),
    /// The operator's database user lacks a privilege; the text says which
    /// and how to grant it.
    #[error("{0}")]
    Privilege(String),
    /// A role with the tenant's name exists and was not made by StormDB.
    #[error("role {0} exists but was not created by StormDB; refusing to take it over")]
    ForeignRole(String),
    /// The database refused or failed.
    #[error("provisioning tenant '{tenant}': {message}")]
    Database {
        /// The tenant.
        tenant: String,
        /// What the server said.
        message: String,
    },
}

/// Server-side limits a tenant's connections run under.
#[derive(Debug, Clone, Copy)]
pub struct TenantTimeouts {
    /// `statement_timeout`.
    pub statement: Duration,
    /// `lock_timeout`.
    pub lock: Duration,
    /// `idle_in_transaction_session_timeout`.
    pub idle_in_transaction: Duration,
}

/// A provisioned tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The tenant's name.
    pub name: String,
    /// Its role (also its schema's name).
    pub role: String,
    password: String,
    base: tokio_postgres::Config,
}

/// Checks a tenant name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A tenant name from a plugin name (`-` becomes `_`).
pub fn name_for_plugin(plugin: &str) -> String {
    let n: String = plugin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if n.is_empty() { "plugin".into() } else { n }
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

impl Tenant {
    /// Connection settings for the tenant's role, `search_path` pinned to
    /// its schema and the timeouts set at connection start (the statement
    /// policy refuses attempts to change them).
    pub fn config(&self, timeouts: TenantTimeouts) -> tokio_postgres::Config {
        let mut c = self.base.clone();
        c.user(&self.role);
        c.password(self.password.as_str());
        c.options(format!(
            "-c search_path={} -c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={}",
            self.role,
            ms(timeouts.statement),
            ms(timeouts.lock),
            ms(timeouts.idle_in_transaction)
        ));
        c
    }
}

async fn connect(
    config: &tokio_postgres::Config,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// PostgreSQL's refusal of a catalog row two sessions updated at once.
fn concurrently_updated(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|d| {
        *d.code() == tokio_postgres::error::SqlState::INTERNAL_ERROR
            && d.message().contains("concurrently updated")
    })
}

/// Runs `sql`, which changes shared catalogs (roles, their settings,
/// memberships). Runs in other databases may change the same rows at the
/// same moment (their advisory lock is not ours, roles are cluster-wide);
/// PostgreSQL refuses the loser with "tuple concurrently updated", which
/// trying again cures.
async fn catalog_update(
    client: &tokio_postgres::Client,
    sql: &str,
) -> Result<(), tokio_postgres::Error> {
    let mut tries = 0u64;
    loop {
        match client.batch_execute(sql).await {
            Err(e) if tries < 8 && concurrently_updated(&e) => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20 * tries)).await;
            }
            other => return other,
        }
    }
}

/// Creates (or refreshes) tenant `name`: its role with a fresh random
/// password, and its schema owned by that role. `admin` is the operator's
/// connection, which must be able to create roles; `connection_limit`
/// bounds the tenant's connections.
pub async fn provision(
    admin: &tokio_postgres::Config,
    name: &str,
    connection_limit: u32,
) -> Result<Tenant, TenantError> {
    if !valid_name(name) {
        return Err(TenantError::BadName(name.to_string()));
    }
    let db_err = |e: tokio_postgres::Error| TenantError::Database {
        tenant: name.to_string(),
        message: crate::pg::sql_error_text(&crate::pg::connect_error(&e)),
    };
    let client = connect(admin).await.map_err(db_err)?;
    let row = client
        .query_one(
            "SELECT current_user::text, r.rolsuper, r.rolcreaterole, \
             has_database_privilege(current_user, current_database(), 'CREATE'), current_database()::text \
             FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await
        .map_err(db_err)?;
    let (user, superuser, createrole, db_create, dbname): (String, bool, bool, bool, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    if !superuser && !createrole {
        return Err(TenantError::Privilege(format!(
            "tenant '{name}': the database user '{user}' cannot create roles; it needs the CREATEROLE \
             privilege (ALTER ROLE {user} CREATEROLE) or to be a superuser"
        )));
    }
    if !superuser && !db_create {
        return Err(TenantError::Privilege(format!(
            "tenant '{name}': the database user '{user}' cannot create schemas in database '{dbname}'; \
             it needs CREATE on it (GRANT CREATE ON DATABASE {dbname} TO {user})"
        )));
    }
    let role = format!("{PREFIX}{name}");
    // Roles are cluster-wide: runs provisioning the same tenant at once (in
    // one database or several) take turns. The lock ends with the session.
    client
        .query(
            "SELECT pg_advisory_lock(hashtext($1))",
            &[&format!("stormdb tenant {name}")],
        )
        .await
        .map_err(db_err)?;
    let mut pw = [0u8; 24];
    getrandom::fill(&mut pw).map_err(|e| TenantError::Database {
        tenant: name.to_string(),
        message: format!("no randomness for a password: {e}"),
    })?;
    let password = crate::registry::keys::to_hex(&pw);
    let existing = client
        .query_opt(
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await
        .map_err(db_err)?;
    let attributes = format!(
        "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT \
         CONNECTION LIMIT {connection_limit} PASSWORD '{password}'"
    );
    match existing {
        Some(row) => {
            let comment: Option<String> = row.get(0);
            if comment.as_deref() != Some(ROLE_COMMENT) {
                return Err(TenantError::ForeignRole(role));
            }
            catalog_update(
                &client,
                &format!("ALTER ROLE {} {attributes}", quote(&role)),
            )
            .await
            .map_err(db_err)?;
        }
        None => {
            let created = client
                .batch_execute(&format!(
                    "CREATE ROLE {q} {attributes}; COMMENT ON ROLE {q} IS '{ROLE_COMMENT}'",
                    q = quote(&role)
                ))
                .await;
            if let Err(e) = created {
                // Another run (in another database: roles are cluster-wide,
                // advisory locks are not) created it first: use it.
                let duplicate = e.code().is_some_and(|c| {
                    *c == tokio_postgres::error::SqlState::UNIQUE_VIOLATION
                        || *c == tokio_postgres::error::SqlState::DUPLICATE_OBJECT
                });
                if !duplicate {
                    return Err(db_err(e));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                catalog_update(
                    &client,
                    &format!("ALTER ROLE {} {attributes}", quote(&role)),
                )
                .await
                .map_err(db_err)?;
            }
        }
    }
    if !superuser {
        // A CREATEROLE user must be a member of a role to create a schema
        // it owns (PostgreSQL 15 and older).
        let _ = catalog_update(
            &client,
            &format!("GRANT {} TO {}", quote(&role), quote(&user)),
        )
        .await;
    }
    catalog_update(
        &client,
        &format!(
            "CREATE SCHEMA IF NOT EXISTS {q} AUTHORIZATION {q}; \
             REVOKE ALL ON SCHEMA {q} FROM PUBLIC; \
             ALTER ROLE {q} SET search_path = {q}",
            q = quote(&role)
        ),
    )
    .await
    .map_err(db_err)?;
    Ok(Tenant {
        name: name.to_string(),
        role,
        password,
        base: admin.clone(),
    })
}

/// Sets how many connections `tenant` may open: a run whose workloads share
/// a tenant raises it to cover them all without rotating the password the
/// earlier ones were given.
pub async fn set_connection_limit(
    admin: &tokio_postgres::Config,
    tenant: &Tenant,
    connection_limit: u32,
) -> Result<(), TenantError> {
    let db_err = |e: tokio_postgres::Error| TenantError::Database {
        tenant: tenant.name.clone(),
        message: crate::pg::sql_error_text(&crate::pg::connect_error(&e)),
    };
    let client = connect(admin).await.map_err(db_err)?;
    catalog_update(
        &client,
        &format!(
            "ALTER ROLE {} CONNECTION LIMIT {connection_limit}",
            quote(&tenant.role)
        ),
    )
    .await
    .map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_derived() {
        assert!(valid_name("team_a1"));
        assert!(!valid_name("Team-A"));
        assert!(!valid_name(""));
        assert!(!valid_name(&"x".repeat(41)));
        assert_eq!(name_for_plugin("bulk-insert"), "bulk_insert");
        assert!(valid_name(&name_for_plugin("Weird Name!")));
    }
}
