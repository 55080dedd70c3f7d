//! PostgreSQL plumbing: where the database is, the throwaway server for the
//! embedded default, and connection pools.

pub mod launcher;
pub mod pool;
pub mod stats;
pub mod tenant;

use crate::bindings::SqlError;
use std::collections::BTreeMap;

/// Where the database comes from, in the order StormDB looks.
#[derive(Debug, Clone)]
pub enum DbSource {
    /// `--db URL` on the command line.
    Flag(String),
    /// The config file's `database:` section.
    ConfigFile(String),
    /// PG* environment variables.
    Environment,
    /// None of the above: start a throwaway local server.
    Embedded,
}

/// The PG* variables StormDB honours, like libpq.
const PG_ENV: [&str; 6] = [
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
];

/// True when any PG* connection variable is set.
pub fn env_configured(env: &BTreeMap<String, String>) -> bool {
    PG_ENV.iter().any(|k| env.contains_key(*k))
}

/// Parses a `postgres://` URL or a `key=value` connection string.
pub fn parse_conninfo(text: &str) -> Result<tokio_postgres::Config, String> {
    let mut config: tokio_postgres::Config = text
        .parse()
        .map_err(|e| format!("invalid database URL or connection string: {e}"))?;
    reject_tls(&config)?;
    if config.get_application_name().is_none() {
        config.application_name("stormdb");
    }
    Ok(config)
}

/// Connection settings from PG* variables (libpq's defaults otherwise).
pub fn config_from_env(env: &BTreeMap<String, String>) -> Result<tokio_postgres::Config, String> {
    let mut c = tokio_postgres::Config::new();
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty());
    match get("PGHOST") {
        Some(hosts) => {
            for h in hosts.split(',') {
                c.host(h);
            }
        }
        None => {
            c.host("localhost");
        }
    }
    if let Some(port) = get("PGPORT") {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("PGPORT='{port}' is not a port number"))?;
        c.port(port);
    }
    let user = get("PGUSER")
        .cloned()
        .or_else(|| env.get("USER").cloned())
        .unwrap_or_else(|| "postgres".into());
    c.user(&user);
    if let Some(pw) = get("PGPASSWORD") {
        c.password(pw.as_str());
    }
    c.dbname(get("PGDATABASE").unwrap_or(&user));
    if let Some(mode) = get("PGSSLMODE")
        && !matches!(mode.as_str(), "disable" | "allow" | "prefer")
    {
        return Err(format!(
            "PGSSLMODE={mode}: StormDB does not speak TLS to PostgreSQL yet; use a \
             local or tunnelled connection with sslmode=disable"
        ));
    }
    c.application_name("stormdb");
    Ok(c)
}

fn reject_tls(c: &tokio_postgres::Config) -> Result<(), String> {
    if c.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        return Err(
            "sslmode=require: StormDB does not speak TLS to PostgreSQL yet; use a local or \
             tunnelled connection with sslmode=disable"
                .into(),
        );
    }
    Ok(())
}

/// A human description of where `config` points, without the password.
pub fn describe_target(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(s) => s.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or("?"),
        config.get_dbname().unwrap_or("?")
    )
}

/// A SQL error in one line, for messages that end a run.
pub fn sql_error_text(e: &SqlError) -> String {
    match e {
        SqlError::Database(d) => format!("{} (SQLSTATE {})", d.message, d.sqlstate),
        SqlError::Denied(m)
        | SqlError::Timeout(m)
        | SqlError::Connection(m)
        | SqlError::Limit(m)
        | SqlError::Invalid(m) => m.clone(),
    }
}

/// A connection failure in words that say what to check.
pub(crate) fn connect_error(e: &tokio_postgres::Error) -> SqlError {
    if let Some(db) = e.as_db_error() {
        return SqlError::Connection(format!(
            "the server refused the connection: {} ({})",
            db.message(),
            db.code().code()
        ));
    }
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    SqlError::Connection(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_variables_build_a_config_like_libpq() {
        let e = env(&[
            ("PGHOST", "db.example"),
            ("PGPORT", "6543"),
            ("PGUSER", "bench"),
        ]);
        assert!(env_configured(&e));
        let c = config_from_env(&e).unwrap();
        assert_eq!(describe_target(&c), "bench@db.example:6543/bench");
        assert!(config_from_env(&env(&[("PGPORT", "x")])).is_err());
        assert!(config_from_env(&env(&[("PGSSLMODE", "require")])).is_err());
        assert!(!env_configured(&env(&[("HOME", "/root")])));
    }

    #[test]
    fn urls_parse_and_tls_is_refused_plainly() {
        let c = parse_conninfo("postgres://u@h:5433/d").unwrap();
        assert_eq!(describe_target(&c), "u@h:5433/d");
        assert!(parse_conninfo("postgres://u@h/d?sslmode=require").is_err());
        let err = parse_conninfo("postgres://h:notaport/d").unwrap_err();
        assert!(err.contains("invalid database URL"), "{err}");
    }
}
