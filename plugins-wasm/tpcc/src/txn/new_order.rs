//! New-Order (clause 2.4): enter an order of 5 to 15 lines, 1% of which
//! name an unused item and roll back.

use super::{Done, Isolation, Statements, Terminal, cell, one_row};
use crate::load::ITEMS;
use crate::random::{A_C_ID, A_OL_I_ID, other_warehouse};
use crate::schema::scaled;
use std::collections::HashMap;
use stormdb_sdk::{Rng, Value, WorkloadError};

/// An item id no item has: the 1% of orders that must fail (2.4.1.5).
const UNUSED_ITEM: i64 = ITEMS + 1;

/// One order line's input.
#[derive(Debug, Clone, Copy)]
pub struct Line {
    /// OL_I_ID.
    pub i_id: i64,
    /// OL_SUPPLY_W_ID.
    pub supply_w_id: i64,
    /// OL_QUANTITY.
    pub quantity: i64,
}

/// The terminal's input (clause 2.4.1).
#[derive(Debug, Clone)]
pub struct Input {
    d_id: i64,
    c_id: i64,
    /// Sorted by (supply warehouse, item), so concurrent New-Orders lock
    /// stock rows in one order and never deadlock on them.
    lines: Vec<Line>,
}

/// What a committed New-Order adds to the run's counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Order lines entered.
    pub lines: u64,
    /// Lines supplied by another warehouse.
    pub remote_lines: u64,
}

impl Input {
    /// Draws the input of one New-Order.
    pub fn generate(rng: &mut Rng, t: &Terminal) -> Self {
        let d_id = rng.uniform(1, 10);
        let c_id = rng.nurand(A_C_ID, t.c.c_id, 1, 3_000);
        let ol_cnt = rng.uniform(5, 15);
        let rollback = rng.uniform(1, 100) == 1;
        let mut lines: Vec<Line> = (0..ol_cnt)
            .map(|i| {
                let i_id = if rollback && i == ol_cnt - 1 {
                    UNUSED_ITEM
                } else {
                    rng.nurand(A_OL_I_ID, t.c.ol_i_id, 1, ITEMS)
                };
                // 1% of lines come from a remote warehouse when there is one.
                let supply_w_id = if t.scale > 1 && rng.uniform(1, 100) == 1 {
                    other_warehouse(rng, t.w_id, t.scale)
                } else {
                    t.w_id
                };
                Line {
                    i_id,
                    supply_w_id,
                    quantity: rng.uniform(1, 10),
                }
            })
            .collect();
        lines.sort_by_key(|l| (l.supply_w_id, l.i_id));
        Input { d_id, c_id, lines }
    }
}

/// Runs it; `Done::RolledBack` when an item was not found.
pub fn run(
    st: &Statements,
    iso: Isolation,
    t: &Terminal,
    input: &Input,
) -> Result<(Done, Tally), WorkloadError> {
    let (w_id, d_id, c_id) = (t.w_id, input.d_id, input.c_id);
    let tx = iso.begin(false)?;
    // W_TAX, C_DISCOUNT, C_LAST, C_CREDIT: shown on the terminal's screen,
    // which this driver does not render.
    one_row(
        st.no_warehouse_customer
            .query_rows(&[w_id.into(), d_id.into(), c_id.into()])?,
        "warehouse/customer",
    )?;
    let district = one_row(
        st.no_district.query_rows(&[w_id.into(), d_id.into()])?,
        "district",
    )?;
    let o_id: i64 = cell(&district, 1, "d_next_o_id")?;
    let all_local = input.lines.iter().all(|l| l.supply_w_id == w_id);
    st.no_insert_order.execute(&[
        o_id.into(),
        d_id.into(),
        w_id.into(),
        c_id.into(),
        (input.lines.len() as i64).into(),
        i64::from(all_local).into(),
    ])?;
    st.no_insert_new_order
        .execute(&[o_id.into(), d_id.into(), w_id.into()])?;

    let ids: Vec<i64> = input.lines.iter().map(|l| l.i_id).collect();
    let mut prices: HashMap<i64, i64> = HashMap::with_capacity(ids.len());
    for row in st.no_items.query_rows(&[ids.into()])? {
        let i_id: i64 = cell(&row, 0, "i_id")?;
        let price = row
            .get(1)
            .and_then(|v| scaled(v, 2))
            .ok_or_else(|| WorkloadError::failed("unexpected value for i_price"))?;
        prices.insert(i_id, price);
    }
    if input.lines.iter().any(|l| !prices.contains_key(&l.i_id)) {
        // "Item number is not valid": the whole order is undone (2.4.2.3).
        tx.rollback()?;
        return Ok((Done::RolledBack, Tally::default()));
    }

    let stock = st
        .no_stock
        .get((d_id - 1) as usize)
        .ok_or_else(|| WorkloadError::failed(format!("district {d_id} out of range")))?;
    let n = input.lines.len();
    let (mut numbers, mut items, mut supply, mut quantity, mut amount, mut dist) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut remote_lines = 0;
    for (number, line) in (1i64..).zip(&input.lines) {
        let remote = line.supply_w_id != w_id;
        remote_lines += u64::from(remote);
        let row = one_row(
            stock.query_rows(&[
                line.supply_w_id.into(),
                line.i_id.into(),
                line.quantity.into(),
                i64::from(remote).into(),
            ])?,
            "stock",
        )?;
        let price = prices.get(&line.i_id).copied().unwrap_or_default();
        numbers.push(number);
        items.push(line.i_id);
        supply.push(line.supply_w_id);
        quantity.push(line.quantity);
        amount.push(line.quantity * price);
        dist.push(cell::<String>(&row, 2, "s_dist")?);
    }
    st.no_insert_lines.execute(&[
        o_id.into(),
        d_id.into(),
        w_id.into(),
        numbers.into(),
        items.into(),
        supply.into(),
        quantity.into(),
        amount.into(),
        Value::TextArray(dist),
    ])?;
    tx.commit()?;
    Ok((
        Done::Committed,
        Tally {
            lines: n as u64,
            remote_lines,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Constants;

    #[test]
    fn inputs_follow_the_spec_proportions() {
        let t = Terminal {
            w_id: 2,
            d_id: 1,
            scale: 4,
            c: Constants::choose(&mut Rng::new(1)),
        };
        let mut rng = Rng::new(3);
        let (mut orders, mut rollbacks, mut lines, mut remote) = (0, 0, 0, 0);
        for _ in 0..20_000 {
            let input = Input::generate(&mut rng, &t);
            orders += 1;
            rollbacks += usize::from(input.lines.iter().any(|l| l.i_id == UNUSED_ITEM));
            lines += input.lines.len();
            remote += input.lines.iter().filter(|l| l.supply_w_id != 2).count();
            assert!((5..=15).contains(&input.lines.len()));
            assert!(
                input
                    .lines
                    .windows(2)
                    .all(|w| (w[0].supply_w_id, w[0].i_id) <= (w[1].supply_w_id, w[1].i_id))
            );
        }
        let rb = rollbacks as f64 / orders as f64;
        assert!((0.008..=0.012).contains(&rb), "{rb}");
        let avg = lines as f64 / orders as f64;
        assert!((9.9..=10.1).contains(&avg), "{avg}");
        let rem = remote as f64 / lines as f64;
        assert!((0.008..=0.012).contains(&rem), "{rem}");
    }
}
