//! What a plugin may do: capability names as manifests request them and
//! operators grant them, and the intersection of the two.

use std::collections::BTreeSet;

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

#[cfg(test)]
mod tests {
    use super::*;

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
