//! Latency per SQL statement (like `pgbench -r`) and per statement kind,
//! measured host-side around each statement a step runs.

use super::LatencyHistogram;
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Distinct statements tracked; more share [`OTHER_STATEMENTS`].
pub const MAX_STATEMENTS: usize = 256;
/// The entry collecting statements past [`MAX_STATEMENTS`].
pub const OTHER_STATEMENTS: &str = "(other statements)";
/// Longest statement text kept in reports.
const MAX_TEXT: usize = 240;

/// One statement run by a step.
#[derive(Debug, Clone)]
pub struct StatementSample {
    /// Identifies the statement: a prepared handle's id, or a hash of the
    /// SQL text.
    pub key: u64,
    /// Its SQL.
    pub text: Arc<str>,
    /// How long it took, from sending to the last row.
    pub elapsed: Duration,
    /// It succeeded.
    pub ok: bool,
}

/// select, insert, update, delete or other.
pub fn kind_of(text: &str) -> &'static str {
    let first = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_start_matches('(')
        .to_ascii_uppercase();
    match first.as_str() {
        "SELECT" | "WITH" | "VALUES" | "TABLE" | "SHOW" | "EXPLAIN" => "select",
        "INSERT" => "insert",
        "UPDATE" => "update",
        "DELETE" => "delete",
        _ => "other",
    }
}

/// Whitespace collapsed and long texts cut, so reports stay readable.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT));
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > MAX_TEXT {
            let mut cut = MAX_TEXT;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str(" ...");
            break;
        }
    }
    out
}

/// Statistics of one statement.
#[derive(Debug, Clone)]
pub struct StatementStats {
    /// Normalised SQL.
    pub text: String,
    /// select, insert, update, delete or other.
    pub kind: &'static str,
    /// Latency of successful executions.
    pub latency: LatencyHistogram,
    /// Successful executions.
    pub count: u64,
    /// Failed executions.
    pub errors: u64,
}

/// Per-statement statistics of one shard (or merged).
#[derive(Debug, Clone, Default)]
pub struct Statements {
    list: Vec<StatementStats>,
    by_text: HashMap<String, usize>,
    /// Keys are handle ids or hashes already: a cheap hash is enough.
    by_key: FxHashMap<u64, usize>,
}

impl Statements {
    fn index_for_text(&mut self, text: &str) -> usize {
        if let Some(&i) = self.by_text.get(text) {
            return i;
        }
        let text = if self.list.len() >= MAX_STATEMENTS {
            if let Some(&i) = self.by_text.get(OTHER_STATEMENTS) {
                return i;
            }
            OTHER_STATEMENTS.to_string()
        } else {
            text.to_string()
        };
        self.list.push(StatementStats {
            kind: kind_of(&text),
            text: text.clone(),
            latency: LatencyHistogram::new(),
            count: 0,
            errors: 0,
        });
        self.by_text.insert(text, self.list.len() - 1);
        self.list.len() - 1
    }

    /// Records one execution.
    pub fn record(&mut self, s: &StatementSample) {
        let i = match self.by_key.get(&s.key) {
            Some(&i) => i,
            None => {
                let i = self.index_for_text(&normalize(&s.text));
                // Bound the key map too: a plugin sending endless distinct
                // texts must not grow it.
                if self.by_key.len() < 4 * MAX_STATEMENTS {
                    self.by_key.insert(s.key, i);
                }
                i
            }
        };
        let st = &mut self.list[i];
        if s.ok {
            st.count += 1;
            st.latency.record(s.elapsed);
        } else {
            st.errors += 1;
        }
    }

    /// Adds another shard's statistics.
    pub fn merge(&mut self, other: &Statements) {
        for s in &other.list {
            let i = self.index_for_text(&s.text);
            let mine = &mut self.list[i];
            mine.count += s.count;
            mine.errors += s.errors;
            mine.latency.merge(&s.latency);
        }
    }

    /// The statements, in order of first appearance.
    pub fn iter(&self) -> impl Iterator<Item = &StatementStats> {
        self.list.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: u64, text: &str, ms: u64, ok: bool) -> StatementSample {
        StatementSample {
            key,
            text: text.into(),
            elapsed: Duration::from_millis(ms),
            ok,
        }
    }

    #[test]
    fn statements_are_keyed_normalised_and_merged_by_text() {
        let mut a = Statements::default();
        a.record(&sample(
            1,
            "SELECT  abalance\n FROM t WHERE aid = $1",
            1,
            true,
        ));
        a.record(&sample(
            1,
            "SELECT  abalance\n FROM t WHERE aid = $1",
            3,
            true,
        ));
        a.record(&sample(2, "UPDATE t SET x = 1", 2, false));
        let mut b = Statements::default();
        // The same SQL under another handle id, in another shard.
        b.record(&sample(
            99,
            "SELECT abalance FROM t WHERE aid = $1",
            5,
            true,
        ));
        a.merge(&b);
        let all: Vec<_> = a
            .iter()
            .map(|s| (s.text.as_str(), s.kind, s.count, s.errors))
            .collect();
        assert_eq!(
            all,
            vec![
                ("SELECT abalance FROM t WHERE aid = $1", "select", 3, 0),
                ("UPDATE t SET x = 1", "update", 0, 1)
            ]
        );
    }

    #[test]
    fn endless_distinct_statements_are_capped() {
        let mut s = Statements::default();
        for i in 0..2000u64 {
            s.record(&sample(i, &format!("SELECT {i}"), 1, true));
        }
        assert_eq!(s.iter().count(), MAX_STATEMENTS + 1);
        let other = s
            .iter()
            .find(|x| x.text == OTHER_STATEMENTS)
            .map(|x| x.count);
        assert_eq!(other, Some(2000 - MAX_STATEMENTS as u64));
    }

    #[test]
    fn kinds_come_from_the_first_keyword() {
        assert_eq!(kind_of("with x as (select 1) select * from x"), "select");
        assert_eq!(kind_of("INSERT INTO t VALUES (1)"), "insert");
        assert_eq!(kind_of("BEGIN"), "other");
        assert_eq!(normalize(&"x ".repeat(500)).len(), MAX_TEXT + 4);
    }
}
