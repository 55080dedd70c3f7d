//! Which database a run targets: `--db`, else the file's `database:`
//! section, else PG* variables, else a throwaway local server.

use super::{ConfigError, FileConfig};
use crate::cli::RunArgs;
use crate::pg::{self, DbSource};
use std::collections::BTreeMap;

/// Where the database is.
#[derive(Debug, Clone)]
pub enum Database {
    /// A server the user named.
    Server(Box<tokio_postgres::Config>, DbSource),
    /// A throwaway local server StormDB starts.
    Embedded,
}

/// The database `args`, `file` and `env` name, in that order of precedence.
pub(super) fn resolve(
    args: &RunArgs,
    file: &FileConfig,
    env: &BTreeMap<String, String>,
) -> Result<Database, ConfigError> {
    if let Some(url) = &args.db {
        let c = pg::parse_conninfo(url).map_err(|e| ConfigError::Invalid(format!("--db: {e}")))?;
        let target = pg::describe_target(&c);
        return Ok(Database::Server(Box::new(c), DbSource::Flag(target)));
    }
    if let Some(section) = &file.database {
        let c = match &section.url {
            Some(url) => pg::parse_conninfo(url)
                .map_err(|e| ConfigError::Invalid(format!("config file database.url: {e}")))?,
            None => {
                let mut c = tokio_postgres::Config::new();
                c.host(section.host.as_deref().unwrap_or("localhost"));
                c.port(section.port.unwrap_or(5432));
                c.user(section.user.as_deref().unwrap_or("postgres"));
                if let Some(p) = &section.password {
                    c.password(p.as_str());
                }
                c.dbname(section.dbname.as_deref().unwrap_or("postgres"));
                c.application_name("stormdb");
                c
            }
        };
        let target = pg::describe_target(&c);
        return Ok(Database::Server(Box::new(c), DbSource::ConfigFile(target)));
    }
    if pg::env_configured(env) {
        let c = pg::config_from_env(env).map_err(ConfigError::Invalid)?;
        return Ok(Database::Server(Box::new(c), DbSource::Environment));
    }
    Ok(Database::Embedded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RunConfig, parse_file};
    use std::path::Path;

    use crate::config::test_args as args;

    #[test]
    fn database_precedence_is_flag_then_file_then_environment() {
        let env: BTreeMap<_, _> = [("PGHOST".to_string(), "envhost".to_string())].into();
        let c = RunConfig::resolve(&args(), None, &env, 2).unwrap();
        assert!(matches!(
            c.database,
            Database::Server(_, DbSource::Environment)
        ));
        let file = parse_file(Path::new("c"), "database:\n  host: filehost\n").unwrap();
        let c = RunConfig::resolve(&args(), Some(file), &env, 2).unwrap();
        assert!(matches!(
            c.database,
            Database::Server(_, DbSource::ConfigFile(_))
        ));
        let mut a = args();
        a.db = Some("postgres://u@flaghost/d".into());
        let c = RunConfig::resolve(&a, None, &env, 2).unwrap();
        assert!(matches!(c.database, Database::Server(_, DbSource::Flag(_))));
    }
}
