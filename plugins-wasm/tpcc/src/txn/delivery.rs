//! Delivery (clause 2.7): deliver the oldest undelivered order of each of
//! the warehouse's ten districts, in one database transaction (the spec
//! allows one to ten; one keeps the ten districts consistent together).

use super::{Isolation, Statements, Terminal, cell, one_row};
use crate::load::DISTRICTS;
use stormdb_sdk::{Rng, Value, WorkloadError};

/// The terminal's input (clause 2.7.1).
#[derive(Debug, Clone, Copy)]
pub struct Input {
    carrier_id: i64,
}

impl Input {
    /// Draws the input of one Delivery.
    pub fn generate(rng: &mut Rng) -> Self {
        Input {
            carrier_id: rng.uniform(1, 10),
        }
    }
}

/// Runs it; returns the number of districts skipped because they had no
/// undelivered order.
pub fn run(
    st: &Statements,
    iso: Isolation,
    t: &Terminal,
    input: &Input,
) -> Result<u64, WorkloadError> {
    let w_id = t.w_id;
    let mut skipped = 0;
    let tx = iso.begin(false)?;
    for d_id in 1..=DISTRICTS {
        let Some(oldest) = st
            .dl_oldest
            .query_rows(&[w_id.into(), d_id.into()])?
            .into_iter()
            .next()
        else {
            skipped += 1;
            continue;
        };
        let o_id: i64 = cell(&oldest, 0, "no_o_id")?;
        st.dl_delete
            .execute(&[w_id.into(), d_id.into(), o_id.into()])?;
        let order = one_row(
            st.dl_order.query_rows(&[
                w_id.into(),
                d_id.into(),
                o_id.into(),
                input.carrier_id.into(),
            ])?,
            "order",
        )?;
        let c_id: i64 = cell(&order, 0, "o_c_id")?;
        let total = one_row(
            st.dl_lines
                .query_rows(&[w_id.into(), d_id.into(), o_id.into()])?,
            "order lines",
        )?;
        let amount = total.first().cloned().unwrap_or(Value::Null);
        st.dl_customer
            .execute(&[w_id.into(), d_id.into(), c_id.into(), amount])?;
    }
    tx.commit()?;
    Ok(skipped)
}
