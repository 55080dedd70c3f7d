//! The statement policy: a real PostgreSQL parse of every statement a
//! plugin sends, and an early, clear `denied` for what it may not do. The
//! database role the plugin logs in as is the wall; this is the sign in
//! front of it, so a plugin learns *why* instead of hitting a permission
//! error (or, on the operator's own connection, succeeding).
//!
//! Classification depends only on the SQL text, so it is computed once per
//! distinct statement and cached; the phase and capability check is a few
//! comparisons per call.

mod capabilities;
mod classify;
mod phase;

pub use capabilities::Capabilities;

/// Longest SQL text a plugin may send (bulk data goes through `copy-in`).
pub const MAX_SQL_BYTES: usize = 4 << 20;

/// Refuses SQL text past [`MAX_SQL_BYTES`], before anything parses or
/// keeps it.
pub fn check_length(sql: &str) -> Result<(), String> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(format!(
            "the statement text is {} bytes, over the {} MiB limit (send bulk data with copy-in)",
            sql.len(),
            MAX_SQL_BYTES >> 20
        ));
    }
    Ok(())
}
pub use classify::{Class, TxControl, classify};
pub use phase::{Phase, check};

/// The verdict on `sql` in `phase` with every capability granted.
#[cfg(test)]
fn verdict(sql: &str, phase: Phase) -> Result<(), String> {
    check(&classify(sql), phase, &Capabilities::all())
}
