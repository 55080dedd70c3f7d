//! Stock-Level (clause 2.8): how many items of the district's last 20
//! orders are low on stock, read only.

use super::{Isolation, Statements, Terminal, cell, one_row};
use stormdb_sdk::{Rng, WorkloadError};

/// The terminal's input (clause 2.8.1).
#[derive(Debug, Clone, Copy)]
pub struct Input {
    threshold: i64,
}

impl Input {
    /// Draws the input of one Stock-Level.
    pub fn generate(rng: &mut Rng) -> Self {
        Input {
            threshold: rng.uniform(10, 20),
        }
    }
}

/// Runs it; returns the number of low-stock items.
pub fn run(
    st: &Statements,
    iso: Isolation,
    t: &Terminal,
    input: &Input,
) -> Result<i64, WorkloadError> {
    let (w_id, d_id) = (t.w_id, t.d_id);
    let tx = iso.begin(true)?;
    let district = one_row(
        st.sl_next_order.query_rows(&[w_id.into(), d_id.into()])?,
        "district",
    )?;
    let next: i64 = cell(&district, 0, "d_next_o_id")?;
    let low = one_row(
        st.sl_low_stock.query_rows(&[
            w_id.into(),
            d_id.into(),
            next.into(),
            input.threshold.into(),
        ])?,
        "low-stock count",
    )?;
    tx.commit()?;
    cell(&low, 0, "low-stock count")
}
