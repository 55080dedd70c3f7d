//! Errors by kind and SQLSTATE, each with a sample message.

use serde::Serialize;
use std::collections::BTreeMap;

/// What kind of failure a step had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 40001: serialization failure.
    Serialization,
    /// 40P01: deadlock detected.
    Deadlock,
    /// Class 23: integrity constraint violation.
    Constraint,
    /// The connection failed or was lost (or SQLSTATE class 08).
    Connection,
    /// A statement, pool wait or call timed out.
    Timeout,
    /// The host's policy refused a statement.
    Denied,
    /// A host limit was hit.
    Limit,
    /// The plugin trapped (panic, memory limit; a CPU deadline counts as
    /// `Timeout`).
    Trap,
    /// Any other database error.
    Database,
    /// The plugin reported a failure of its own or made a malformed call.
    Workload,
}

impl ErrorKind {
    /// The kind of a server error with SQLSTATE `code`.
    pub fn from_sqlstate(code: &str) -> ErrorKind {
        match code {
            "40001" => ErrorKind::Serialization,
            "40P01" => ErrorKind::Deadlock,
            "57014" | "55P03" | "25P04" => ErrorKind::Timeout,
            c if c.starts_with("23") => ErrorKind::Constraint,
            c if c.starts_with("08") || c.starts_with("57P") => ErrorKind::Connection,
            _ => ErrorKind::Database,
        }
    }
}

/// Count and an example of one kind of error.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorEntry {
    /// How many.
    pub count: u64,
    /// The first message seen.
    pub sample: String,
}

/// Distinct (kind, SQLSTATE) pairs kept; later ones are counted under
/// SQLSTATE `?????`.
const MAX_ERROR_KEYS: usize = 256;

/// Errors by (kind, SQLSTATE).
#[derive(Debug, Clone, Default)]
pub struct ErrorTally {
    entries: BTreeMap<(ErrorKind, String), ErrorEntry>,
}

impl ErrorTally {
    /// Counts one error.
    pub fn add(&mut self, kind: ErrorKind, sqlstate: Option<&str>, message: &str) {
        // The SQLSTATE may come from the plugin (a database error it built
        // itself): only real-looking codes are keys, and only so many.
        let state = match sqlstate {
            Some(s)
                if s.len() == 5
                    && s.bytes()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) =>
            {
                s
            }
            Some(_) => "?????",
            None => "",
        };
        let mut key = (kind, state.to_string());
        if self.entries.len() >= MAX_ERROR_KEYS && !self.entries.contains_key(&key) {
            key.1 = "?????".to_string();
        }
        self.entries
            .entry(key)
            .and_modify(|e| e.count += 1)
            .or_insert_with(|| ErrorEntry {
                count: 1,
                sample: message.chars().take(500).collect(),
            });
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: &ErrorTally) {
        for (k, v) in &other.entries {
            self.entries
                .entry(k.clone())
                .and_modify(|e| e.count += v.count)
                .or_insert_with(|| v.clone());
        }
    }

    /// All errors.
    pub fn total(&self) -> u64 {
        self.entries.values().map(|e| e.count).sum()
    }

    /// (kind, SQLSTATE or "", entry), by kind then SQLSTATE.
    pub fn iter(&self) -> impl Iterator<Item = (ErrorKind, &str, &ErrorEntry)> {
        self.entries.iter().map(|((k, s), e)| (*k, s.as_str(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_to_kinds() {
        assert_eq!(ErrorKind::from_sqlstate("40001"), ErrorKind::Serialization);
        assert_eq!(ErrorKind::from_sqlstate("40P01"), ErrorKind::Deadlock);
        assert_eq!(ErrorKind::from_sqlstate("23505"), ErrorKind::Constraint);
        assert_eq!(ErrorKind::from_sqlstate("57014"), ErrorKind::Timeout);
        assert_eq!(ErrorKind::from_sqlstate("08006"), ErrorKind::Connection);
        assert_eq!(ErrorKind::from_sqlstate("22012"), ErrorKind::Database);
    }

    #[test]
    fn tally_keeps_the_first_sample() {
        let mut t = ErrorTally::default();
        t.add(ErrorKind::Database, Some("22012"), "division by zero");
        t.add(ErrorKind::Database, Some("22012"), "other text");
        let all: Vec<_> = t.iter().collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].2.count, 2);
        assert_eq!(all[0].2.sample, "division by zero");
    }

    #[test]
    fn invented_sqlstates_cannot_grow_the_tally() {
        let mut t = ErrorTally::default();
        t.add(ErrorKind::Database, Some(&"x".repeat(1 << 20)), "huge");
        t.add(ErrorKind::Database, Some("22\u{1b}12"), "escape");
        for i in 0..10_000 {
            t.add(ErrorKind::Database, Some(&format!("{i:05}")), "invented");
        }
        assert!(t.iter().count() <= MAX_ERROR_KEYS + 1);
        assert!(t.iter().all(|(_, s, _)| s.len() == 5));
        let total: u64 = t.iter().map(|(_, _, e)| e.count).sum();
        assert_eq!(total, 10_002);
    }
}
