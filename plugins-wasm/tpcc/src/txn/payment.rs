//! Payment (clause 2.5): a customer pays; warehouse, district and customer
//! balances move and a history row records it.

use super::{CustomerKey, Isolation, Statements, Terminal, cell, find_customer, one_row};
use crate::random::other_warehouse;
use crate::schema::numeric;
use stormdb_sdk::{Rng, WorkloadError};

/// The terminal's input (clause 2.5.1).
#[derive(Debug, Clone)]
pub struct Input {
    d_id: i64,
    c_w_id: i64,
    c_d_id: i64,
    customer: CustomerKey,
    /// H_AMOUNT in cents.
    amount: i64,
}

/// What a committed Payment adds to the run's counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// The customer belongs to another warehouse.
    pub remote: bool,
    /// The customer was selected by last name.
    pub by_name: bool,
}

impl Input {
    /// Draws the input of one Payment.
    pub fn generate(rng: &mut Rng, t: &Terminal) -> Self {
        let d_id = rng.uniform(1, 10);
        // 85% pay through their own district, 15% through a remote
        // warehouse's (only possible with more than one warehouse).
        let (c_w_id, c_d_id) = if rng.uniform(1, 100) <= 85 {
            (t.w_id, d_id)
        } else {
            (other_warehouse(rng, t.w_id, t.scale), rng.uniform(1, 10))
        };
        Input {
            d_id,
            c_w_id,
            c_d_id,
            customer: CustomerKey::choose(rng, &t.c),
            amount: rng.uniform(100, 500_000),
        }
    }
}

/// Runs it.
pub fn run(
    st: &Statements,
    iso: Isolation,
    t: &Terminal,
    input: &Input,
) -> Result<Tally, WorkloadError> {
    let (w_id, d_id) = (t.w_id, input.d_id);
    let amount = numeric(input.amount, 2);
    let tx = iso.begin(false)?;
    let warehouse = one_row(
        st.pay_warehouse
            .query_rows(&[w_id.into(), amount.clone()])?,
        "warehouse",
    )?;
    let district = one_row(
        st.pay_district
            .query_rows(&[w_id.into(), d_id.into(), amount.clone()])?,
        "district",
    )?;
    let customer = find_customer(st, input.c_w_id, input.c_d_id, &input.customer)?;
    let c_id: i64 = cell(&customer, 0, "c_id")?;
    one_row(
        st.pay_customer.query_rows(&[
            input.c_w_id.into(),
            input.c_d_id.into(),
            c_id.into(),
            amount.clone(),
            d_id.into(),
            w_id.into(),
        ])?,
        "customer",
    )?;
    // H_DATA: W_NAME and D_NAME separated by four spaces (clause 2.5.2.2).
    let w_name: String = cell(&warehouse, 0, "w_name")?;
    let d_name: String = cell(&district, 0, "d_name")?;
    st.pay_history.execute(&[
        c_id.into(),
        input.c_d_id.into(),
        input.c_w_id.into(),
        d_id.into(),
        w_id.into(),
        amount,
        format!("{w_name}    {d_name}").into(),
    ])?;
    tx.commit()?;
    Ok(Tally {
        remote: input.c_w_id != w_id,
        by_name: input.customer.by_name(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Constants;

    #[test]
    fn inputs_follow_the_spec_proportions() {
        let t = Terminal {
            w_id: 1,
            d_id: 1,
            scale: 3,
            c: Constants::choose(&mut Rng::new(1)),
        };
        let mut rng = Rng::new(8);
        let n = 50_000;
        let (mut remote, mut by_name) = (0, 0);
        for _ in 0..n {
            let i = Input::generate(&mut rng, &t);
            remote += usize::from(i.c_w_id != 1);
            by_name += usize::from(i.customer.by_name());
            assert!((100..=500_000).contains(&i.amount));
        }
        let remote = remote as f64 / n as f64;
        let by_name = by_name as f64 / n as f64;
        assert!((0.14..=0.16).contains(&remote), "{remote}");
        assert!((0.59..=0.61).contains(&by_name), "{by_name}");
    }
}
