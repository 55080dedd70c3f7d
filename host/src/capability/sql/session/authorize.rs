//! The statement policy applied to a session: each distinct SQL text is
//! classified once and then checked against the call's phase and the
//! plugin's grant on every use.

use super::SqlSession;
use super::exec::text_key;
use crate::bindings::SqlError;
use crate::capability::sql::policy::{self, Class, TxControl};
use crate::pg::pool::MAX_CACHED_TEXT;
use std::sync::Arc;

/// Distinct SQL texts whose classification a session remembers.
const CLASS_CACHE: usize = 512;

impl SqlSession {
    /// Classifies SQL text sent by the plugin (cached) and checks it may run
    /// now; tracks transactions opened and closed as text. Returns how the
    /// statement is reported.
    pub(super) fn authorize_text(&mut self, sql: &str) -> Result<(u64, Arc<str>), SqlError> {
        let (class, key, text) = match self.classes.get(sql) {
            Some((c, k, t)) => (c.clone(), *k, t.clone()),
            None => {
                policy::check_length(sql).map_err(SqlError::Limit)?;
                let c = policy::classify(sql);
                let text: Arc<str> = sql.into();
                let key = text_key(sql);
                // Long texts are classified on every use instead: 512 of
                // them kept here could hold gigabytes.
                if sql.len() <= MAX_CACHED_TEXT {
                    if self.classes.len() >= CLASS_CACHE {
                        self.classes.clear();
                    }
                    self.classes
                        .insert(sql.into(), (c.clone(), key, text.clone()));
                }
                (c, key, text)
            }
        };
        policy::check(&class, self.phase, &self.caps).map_err(SqlError::Denied)?;
        match class {
            Class::Tx(TxControl::Begin) => self.text_tx = true,
            Class::Tx(TxControl::End) => self.text_tx = false,
            _ => {}
        }
        Ok((key, text))
    }

    /// Checks a prepared statement may run now.
    pub(in crate::capability::sql) fn authorize_handle(
        &mut self,
        class: &Class,
    ) -> Result<(), SqlError> {
        policy::check(class, self.phase, &self.caps).map_err(SqlError::Denied)?;
        match class {
            Class::Tx(TxControl::Begin) => self.text_tx = true,
            Class::Tx(TxControl::End) => self.text_tx = false,
            _ => {}
        }
        Ok(())
    }
}
