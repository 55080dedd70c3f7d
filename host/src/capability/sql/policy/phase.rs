//! Which exported call a statement comes from, and whether a classified
//! statement may run there with the plugin's capabilities.

use super::{Capabilities, Class};

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
    use crate::capability::sql::policy::{classify, verdict};

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
}
