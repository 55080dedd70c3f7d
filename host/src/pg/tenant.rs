//! Tenants: isolation enforced by PostgreSQL itself. Each tenant gets a
//! schema and a least-privilege role that owns only that schema; its
//! plugins act as that role with `search_path` pinned and timeouts set, so
//! whatever SQL a plugin sends, it cannot read or write another tenant's
//! tables, change role, or reach server files.
//!
//! The tenant's role cannot log in. Each StormDB process logs in as a run
//! role of its own (fresh random password, connection limit sized for that
//! process, NOINHERIT so that it has no privileges by itself), which is a
//! member of the tenant's role and switches to it at connection start.
//! Concurrent processes of one tenant therefore never change each other's
//! password or connection limit, and whatever they create is owned by the
//! tenant's role. The run role is dropped when the process is done with
//! the database; one left by a killed process is dropped by a later
//! provisioning of the same tenant once it is a day old and unused.

use std::time::Duration;
use tokio_postgres::NoTls;

/// Names StormDB gives a tenant's role and schema.
pub const PREFIX: &str = "stormdb_t_";
/// Marks roles StormDB created, so it never takes over someone else's.
const ROLE_COMMENT: &str = "stormdb tenant role";
/// Starts the comment of a run role; the creation time (Unix seconds)
/// follows, so stale ones can be told from those in use.
const RUN_ROLE_COMMENT: &str = "stormdb run role, created ";
/// Age after which an unused run role counts as left by a killed process.
const STALE_RUN_ROLE_SECS: i64 = 24 * 3600;

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

/// A provisioned tenant, with the run role this process logs in as.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The tenant's name.
    pub name: String,
    /// Its role (also its schema's name).
    pub role: String,
    login: std::sync::Arc<RunRole>,
    base: tokio_postgres::Config,
}

/// This process's login role for a tenant; dropped from the server when
/// the last holder lets go.
#[derive(Debug)]
struct RunRole {
    name: String,
    password: String,
    /// The tenant's role it is a member of.
    tenant_role: String,
    admin: tokio_postgres::Config,
}

impl Drop for RunRole {
    fn drop(&mut self) {
        // On a thread of its own, with a runtime of its own: the last
        // holder may let go inside or outside a runtime. Bounded in time so
        // an unreachable server cannot hold the exit.
        let (name, tenant_role, admin) = (
            self.name.clone(),
            self.tenant_role.clone(),
            self.admin.clone(),
        );
        let dropping = std::thread::Builder::new()
            .name("stormdb-run-role".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let dropped = rt.block_on(async {
                    tokio::time::timeout(Duration::from_secs(10), async {
                        let client = connect(&admin).await?;
                        retire_run_role(&client, &name, &tenant_role).await
                    })
                    .await
                });
                match dropped {
                    Ok(Ok(())) => tracing::debug!("dropped run role {name}"),
                    Ok(Err(e)) => tracing::warn!("could not drop run role {name}: {}", pg_text(&e)),
                    Err(_) => tracing::warn!("could not drop run role {name}: timed out"),
                }
                std::io::Result::Ok(())
            });
        if let Ok(t) = dropping {
            let _ = t.join();
        }
    }
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
        c.user(&self.login.name);
        c.password(self.login.password.as_str());
        // `role` makes the session act as the tenant's role from its start:
        // its privileges apply and what it creates belongs to the tenant.
        c.options(format!(
            "-c role={r} -c search_path={r} -c statement_timeout={s} -c lock_timeout={l} -c idle_in_transaction_session_timeout={i}",
            r = self.role,
            s = ms(timeouts.statement),
            l = ms(timeouts.lock),
            i = ms(timeouts.idle_in_transaction)
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

/// Creates (or refreshes) tenant `name`: its role and its schema owned by
/// that role, and this process's run role (a fresh random password,
/// `connection_limit` connections). `admin` is the operator's connection,
/// which must be able to create roles.
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
        message: pg_text(&e),
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
    // Runs provisioning the same tenant in this database at once take
    // turns (advisory locks are per database; across databases the
    // catalog retries below cover it). The lock ends with the session.
    client
        .query(
            "SELECT pg_advisory_lock(hashtext($1))",
            &[&format!("stormdb tenant {name}")],
        )
        .await
        .map_err(db_err)?;
    let existing = client
        .query_opt(
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await
        .map_err(db_err)?;
    // No login: processes log in as run roles (earlier versions made this
    // role log in, so an existing one loses its login and password).
    let attributes = "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS \
         NOINHERIT PASSWORD NULL";
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
    sweep_stale_run_roles(&client, &role).await;
    let login = create_run_role(&client, name, &role, connection_limit).await?;
    Ok(Tenant {
        name: name.to_string(),
        role: role.clone(),
        login: std::sync::Arc::new(RunRole {
            name: login.0,
            password: login.1,
            tenant_role: role,
            admin: admin.clone(),
        }),
        base: admin.clone(),
    })
}

/// What the server said about a statement (with its detail and hint), or
/// why connecting failed.
fn pg_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => {
            let mut s = format!("{} (SQLSTATE {})", d.message(), d.code().code());
            if let Some(detail) = d.detail() {
                s.push_str(&format!("; {detail}"));
            }
            if let Some(hint) = d.hint() {
                s.push_str(&format!("; hint: {hint}"));
            }
            s
        }
        None => crate::pg::sql_error_text(&crate::pg::connect_error(e)),
    }
}

/// Takes a run role out of use, then drops it. Each step stands alone:
/// should the drop fail (a plugin that got back to the run role may have
/// had privileges granted to it), the role can no longer log in nor act as
/// the tenant.
async fn retire_run_role(
    client: &tokio_postgres::Client,
    login: &str,
    tenant_role: &str,
) -> Result<(), tokio_postgres::Error> {
    let l = quote(login);
    let exists = client
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&login])
        .await?;
    if exists.is_none() {
        return Ok(());
    }
    catalog_update(client, &format!("ALTER ROLE {l} NOLOGIN PASSWORD NULL")).await?;
    catalog_update(client, &format!("REVOKE {} FROM {l}", quote(tenant_role))).await?;
    // Revokes what was granted to it in this database; needs the role's
    // privileges, which a superuser has. A CREATEROLE operator's attempt
    // may fail, and the drop then says what is left.
    let _ = client.batch_execute(&format!("DROP OWNED BY {l}")).await;
    catalog_update(client, &format!("DROP ROLE IF EXISTS {l}")).await
}

/// A run role's name: the tenant's role and 4 random bytes. Tenant names
/// are at most 40 bytes, so this stays within PostgreSQL's 63.
fn run_role_name(role: &str, random: &[u8]) -> String {
    format!("{role}_r{}", crate::registry::keys::to_hex(random))
}

/// Creates a login role for this process, a member of the tenant's `role`;
/// its name and password.
async fn create_run_role(
    client: &tokio_postgres::Client,
    name: &str,
    role: &str,
    connection_limit: u32,
) -> Result<(String, String), TenantError> {
    let mut random = [0u8; 28];
    getrandom::fill(&mut random).map_err(|e| TenantError::Database {
        tenant: name.to_string(),
        message: format!("no randomness for a password: {e}"),
    })?;
    let (suffix, pw) = random.split_at(4);
    let password = crate::registry::keys::to_hex(pw);
    let login = run_role_name(role, suffix);
    tracing::debug!("tenant {name}: logging in as {login}");
    let failed = |e: tokio_postgres::Error| TenantError::Database {
        tenant: name.to_string(),
        message: format!("creating run role {login}: {}", pg_text(&e)),
    };
    // The server's clock dates the role, and the sweep reads it: a client
    // whose clock is off cannot make fresh roles look stale.
    let now: i64 = client
        .query_one("SELECT extract(epoch FROM now())::bigint", &[])
        .await
        .map_err(failed)?
        .get(0);
    // The SCRAM verifier, not the password, goes into the statement: a
    // failing or logged statement does not show the secret.
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    catalog_update(
        client,
        &format!(
            "CREATE ROLE {l} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION \
             NOBYPASSRLS NOINHERIT CONNECTION LIMIT {connection_limit} PASSWORD '{verifier}'; \
             COMMENT ON ROLE {l} IS '{RUN_ROLE_COMMENT}{now}'; \
             GRANT {t} TO {l}",
            l = quote(&login),
            t = quote(role),
        ),
    )
    .await
    .map_err(failed)?;
    Ok((login, password))
}

/// Drops run roles of `role` that a killed process left: a day old and
/// with no session. Best effort; a role still in use is never dropped.
async fn sweep_stale_run_roles(client: &tokio_postgres::Client, role: &str) {
    // CASE, not AND: PostgreSQL may evaluate AND's operands in any order,
    // and a comment that is not a number must not reach the cast.
    let stale = client
        .query(
            "SELECT name FROM ( \
               SELECT r.rolname::text AS name, \
                      substr(shobj_description(r.oid, 'pg_authid'), length($2) + 1) AS created \
               FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid \
               WHERE m.roleid = $1::text::regrole \
                 AND starts_with(coalesce(shobj_description(r.oid, 'pg_authid'), ''), $2) \
                 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.usename = r.rolname) \
             ) c \
             WHERE CASE WHEN created ~ '^[0-9]{1,18}$' \
                   THEN created::bigint < extract(epoch FROM now())::bigint - $3 \
                   ELSE false END",
            &[&role, &RUN_ROLE_COMMENT, &STALE_RUN_ROLE_SECS],
        )
        .await;
    let rows = match stale {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(
                "could not look for stale run roles of {role}: {}",
                pg_text(&e)
            );
            return;
        }
    };
    for row in rows {
        let login: String = row.get(0);
        if let Err(e) = retire_run_role(client, &login, role).await {
            tracing::warn!("could not drop stale run role {login}: {}", pg_text(&e));
        }
    }
}

/// Sets how many connections this process's run role for `tenant` may
/// open: a run whose workloads share a tenant raises it to cover them all.
pub async fn set_connection_limit(
    admin: &tokio_postgres::Config,
    tenant: &Tenant,
    connection_limit: u32,
) -> Result<(), TenantError> {
    let db_err = |e: tokio_postgres::Error| TenantError::Database {
        tenant: tenant.name.clone(),
        message: pg_text(&e),
    };
    let client = connect(admin).await.map_err(db_err)?;
    catalog_update(
        &client,
        &format!(
            "ALTER ROLE {} CONNECTION LIMIT {connection_limit}",
            quote(&tenant.login.name)
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

    #[test]
    fn run_role_names_fit_postgres_identifiers() {
        let longest = format!("{PREFIX}{}", "x".repeat(40));
        let login = run_role_name(&longest, &[0xab, 0xcd, 0x01, 0x02]);
        assert_eq!(login, format!("{longest}_rabcd0102"));
        // NAMEDATALEN - 1: a longer name would be cut, and two runs' roles
        // could collide.
        assert!(login.len() <= 63, "{login}");
    }
}
