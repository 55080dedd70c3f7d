//! `stormdb.lock`: which version and digest of each plugin a project uses.
//! Installing records them; `--locked` refuses any drift, and a version
//! lower than the locked one (a rollback) is refused unless allowed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Current lockfile format.
pub const LOCK_VERSION: u32 = 1;

/// One locked plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPlugin {
    /// Exact version.
    pub version: String,
    /// SHA-256 of its component.
    pub sha256: String,
    /// Where it was installed from.
    #[serde(default)]
    pub source: String,
}

/// The lockfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lockfile {
    /// Format version.
    pub lock_version: u32,
    /// Locked plugins by name.
    #[serde(default)]
    pub plugins: BTreeMap<String, LockedPlugin>,
}

impl Default for Lockfile {
    fn default() -> Self {
        Lockfile {
            lock_version: LOCK_VERSION,
            plugins: BTreeMap::new(),
        }
    }
}

/// What a resolved plugin is checked against.
#[derive(Debug, Clone, Copy)]
pub struct LockPolicy {
    /// Refuse anything not exactly as locked (`--locked`).
    pub locked: bool,
    /// Accept a version lower than the locked one.
    pub allow_downgrade: bool,
}

impl Lockfile {
    /// Reads `path`; a missing file is an empty lockfile.
    pub fn read(path: &Path) -> Result<Lockfile, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lockfile::default()),
            Err(e) => return Err(format!("lockfile {}: {e}", path.display())),
        };
        let lock: Lockfile =
            serde_yaml::from_str(&text).map_err(|e| format!("lockfile {}: {e}", path.display()))?;
        if lock.lock_version != LOCK_VERSION {
            return Err(format!(
                "lockfile {}: lock_version {} is not supported",
                path.display(),
                lock.lock_version
            ));
        }
        Ok(lock)
    }

    /// Writes it atomically.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let text = serde_yaml::to_string(self).map_err(|e| e.to_string())?;
        let tmp = PathBuf::from(format!("{}.tmp", path.display()));
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| format!("writing lockfile {}: {e}", path.display()))
    }

    /// Checks a resolved `name@version` with `sha256` against the lock.
    pub fn check(
        &self,
        name: &str,
        version: &semver::Version,
        sha256: &str,
        policy: LockPolicy,
    ) -> Result<(), String> {
        let Some(locked) = self.plugins.get(name) else {
            return if policy.locked {
                Err(format!(
                    "plugin '{name}' is not in the lockfile and --locked refuses new plugins"
                ))
            } else {
                Ok(())
            };
        };
        let locked_version = semver::Version::parse(&locked.version).map_err(|e| {
            format!(
                "lockfile entry {name}: bad version '{}': {e}",
                locked.version
            )
        })?;
        if *version < locked_version && !policy.allow_downgrade {
            return Err(format!(
                "plugin '{name}': version {version} is lower than the locked {locked_version} (a rollback); \
                 pass --allow-downgrade if that is intended"
            ));
        }
        if policy.locked && *version != locked_version {
            return Err(format!(
                "plugin '{name}': resolved {version} but the lockfile pins {locked_version} (--locked)"
            ));
        }
        if *version == locked_version && sha256 != locked.sha256 {
            return Err(format!(
                "plugin '{name}' {version}: SHA-256 {sha256} differs from the locked {} (the artifact changed)",
                locked.sha256
            ));
        }
        Ok(())
    }

    /// Records `name` at `version`.
    pub fn pin(&mut self, name: &str, version: &str, sha256: &str, source: &str) {
        self.plugins.insert(
            name.to_string(),
            LockedPlugin {
                version: version.to_string(),
                sha256: sha256.to_string(),
                source: source.to_string(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FREE: LockPolicy = LockPolicy {
        locked: false,
        allow_downgrade: false,
    };

    #[test]
    fn drift_rollback_and_changed_artifacts_are_refused() {
        let mut lock = Lockfile::default();
        lock.pin("kv", "1.2.0", "aa", "dir");
        let v = |s: &str| semver::Version::parse(s).unwrap();
        assert!(lock.check("kv", &v("1.2.0"), "aa", FREE).is_ok());
        assert!(lock.check("kv", &v("1.3.0"), "bb", FREE).is_ok());
        let locked = LockPolicy {
            locked: true,
            ..FREE
        };
        assert!(
            lock.check("kv", &v("1.3.0"), "bb", locked)
                .unwrap_err()
                .contains("pins 1.2.0")
        );
        assert!(
            lock.check("kv", &v("1.1.0"), "cc", FREE)
                .unwrap_err()
                .contains("rollback")
        );
        let down = LockPolicy {
            allow_downgrade: true,
            ..FREE
        };
        assert!(lock.check("kv", &v("1.1.0"), "cc", down).is_ok());
        assert!(
            lock.check("kv", &v("1.2.0"), "zz", FREE)
                .unwrap_err()
                .contains("artifact changed")
        );
        assert!(
            lock.check("new", &v("1.0.0"), "x", locked)
                .unwrap_err()
                .contains("not in the lockfile")
        );
    }

    #[test]
    fn files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stormdb.lock");
        assert_eq!(Lockfile::read(&path).unwrap(), Lockfile::default());
        let mut lock = Lockfile::default();
        lock.pin("kv", "1.0.0", "ab", "http://x");
        lock.write(&path).unwrap();
        assert_eq!(Lockfile::read(&path).unwrap(), lock);
    }
}
