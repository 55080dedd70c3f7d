//! Order-Status (clause 2.6): a customer's balance and latest order, read
//! only.

use super::{CustomerKey, Isolation, Statements, Terminal, cell, find_customer, one_row};
use stormdb_sdk::{Rng, WorkloadError};

/// The terminal's input (clause 2.6.1).
#[derive(Debug, Clone)]
pub struct Input {
    d_id: i64,
    customer: CustomerKey,
}

impl Input {
    /// Draws the input of one Order-Status.
    pub fn generate(rng: &mut Rng, t: &Terminal) -> Self {
        Input {
            d_id: rng.uniform(1, 10),
            customer: CustomerKey::choose(rng, &t.c),
        }
    }

    /// True when the customer is selected by last name.
    pub fn by_name(&self) -> bool {
        self.customer.by_name()
    }
}

/// Runs it; returns the number of lines of the order it found.
pub fn run(
    st: &Statements,
    iso: Isolation,
    t: &Terminal,
    input: &Input,
) -> Result<usize, WorkloadError> {
    let (w_id, d_id) = (t.w_id, input.d_id);
    let tx = iso.begin(true)?;
    let customer = find_customer(st, w_id, d_id, &input.customer)?;
    let c_id: i64 = cell(&customer, 0, "c_id")?;
    // Every customer has an order from the initial population.
    let order = one_row(
        st.os_order
            .query_rows(&[w_id.into(), d_id.into(), c_id.into()])?,
        "customer's order",
    )?;
    let o_id: i64 = cell(&order, 0, "o_id")?;
    let lines = st
        .os_lines
        .query_rows(&[w_id.into(), d_id.into(), o_id.into()])?;
    tx.commit()?;
    Ok(lines.len())
}
