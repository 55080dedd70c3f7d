//! The initial population of clause 4.3.3.1, copied in with COPY.
//!
//! The data is cut into units (the item table; per warehouse its own row,
//! its districts and its stock; per district its customers, history,
//! orders, order lines and new orders) handed out round-robin to the
//! loaders, so even one warehouse loads in parallel. Each unit draws from a
//! generator seeded by the unit's number and the seed stored at setup: the
//! data is the same whatever the number of loaders.

use crate::random::{self, A_C_LAST, a_string, data_with_original, last_name, mix, n_string, zip};
use crate::schema::{Meta, numeric};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use stormdb_sdk::sql::CopyBatcher;
use stormdb_sdk::{Context, Rng, Value, log};

/// Items in the catalogue and stock rows per warehouse.
pub const ITEMS: i64 = 100_000;
/// Districts per warehouse.
pub const DISTRICTS: i64 = 10;
/// Customers per district.
pub const CUSTOMERS: i64 = 3_000;
/// Orders per district at load; the last 900 are undelivered.
const ORDERS: i64 = 3_000;
/// The first undelivered order at load (orders 2101..=3000 are new orders).
const FIRST_NEW_ORDER: i64 = 2_101;

const BATCH: usize = 5_000;
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// One piece of the load.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Items,
    /// The warehouse row, its ten district rows and its stock.
    Warehouse(i64),
    /// A district's customers, history, orders, order lines, new orders.
    District(i64, i64),
}

fn units(scale: i64) -> Vec<Unit> {
    let mut units = vec![Unit::Items];
    for w in 1..=scale {
        units.push(Unit::Warehouse(w));
        units.extend((1..=DISTRICTS).map(|d| Unit::District(w, d)));
    }
    units
}

/// Now, as a `timestamp` value (the spec's "current date/time").
fn now() -> Value {
    let us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    Value::Timestamp(us)
}

/// Address columns shared by warehouse, district and customer: street 1,
/// street 2, city, state, zip.
fn address(rng: &mut Rng) -> [Value; 5] {
    [
        a_string(rng, 10, 20).into(),
        a_string(rng, 10, 20).into(),
        a_string(rng, 10, 20).into(),
        a_string(rng, 2, 2).into(),
        zip(rng).into(),
    ]
}

/// Loads this loader's share of the units.
pub fn run(ctx: &Context, meta: &Meta) -> stormdb_sdk::Result<()> {
    let loaders = ctx.workers.max(1) as usize;
    let me = ctx.worker_id as usize;
    let mine: Vec<(usize, Unit)> = units(i64::from(ctx.scale.max(1)))
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % loaders == me)
        .collect();
    let started = Instant::now();
    let mut last_log = started;
    let mut rows: u64 = 0;
    for (n, (index, unit)) in mine.iter().enumerate() {
        let mut rng = Rng::new(mix(meta.load_seed ^ mix(*index as u64)));
        rows += match *unit {
            Unit::Items => items(&mut rng)?,
            Unit::Warehouse(w) => warehouse(&mut rng, w)?,
            Unit::District(w, d) => district(&mut rng, meta, w, d)?,
        };
        if last_log.elapsed() >= PROGRESS_EVERY {
            last_log = Instant::now();
            log::info(&format!(
                "loader {me}: {}/{} units, {rows} rows, {:.0} rows/s",
                n + 1,
                mine.len(),
                rows as f64 / started.elapsed().as_secs_f64().max(1e-3)
            ));
        }
    }
    log::info(&format!(
        "loader {me}: done, {} units, {rows} rows in {:.1} s",
        mine.len(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn items(rng: &mut Rng) -> stormdb_sdk::Result<u64> {
    let mut item = CopyBatcher::new(
        "item",
        &["i_id", "i_im_id", "i_name", "i_price", "i_data"],
        BATCH,
    );
    for i in 1..=ITEMS {
        item.push(vec![
            i.into(),
            rng.uniform(1, 10_000).into(),
            a_string(rng, 14, 24).into(),
            numeric(rng.uniform(100, 10_000), 2),
            data_with_original(rng).into(),
        ])?;
    }
    Ok(item.finish()?)
}

fn warehouse(rng: &mut Rng, w: i64) -> stormdb_sdk::Result<u64> {
    let mut row: Vec<Value> = vec![w.into(), a_string(rng, 6, 10).into()];
    row.extend(address(rng));
    row.push(numeric(rng.uniform(0, 2_000), 4));
    row.push(numeric(300_000 * 100, 2));
    let mut copied = stormdb_sdk::sql::copy_in(
        "warehouse",
        &[
            "w_id",
            "w_name",
            "w_street_1",
            "w_street_2",
            "w_city",
            "w_state",
            "w_zip",
            "w_tax",
            "w_ytd",
        ],
        &[row],
    )?;

    let mut district = CopyBatcher::new(
        "district",
        &[
            "d_id",
            "d_w_id",
            "d_name",
            "d_street_1",
            "d_street_2",
            "d_city",
            "d_state",
            "d_zip",
            "d_tax",
            "d_ytd",
            "d_next_o_id",
        ],
        BATCH,
    );
    for d in 1..=DISTRICTS {
        let mut row: Vec<Value> = vec![d.into(), w.into(), a_string(rng, 6, 10).into()];
        row.extend(address(rng));
        row.push(numeric(rng.uniform(0, 2_000), 4));
        row.push(numeric(30_000 * 100, 2));
        row.push((ORDERS + 1).into());
        district.push(row)?;
    }
    copied += district.finish()?;

    let mut stock = CopyBatcher::new(
        "stock",
        &[
            "s_i_id",
            "s_w_id",
            "s_quantity",
            "s_dist_01",
            "s_dist_02",
            "s_dist_03",
            "s_dist_04",
            "s_dist_05",
            "s_dist_06",
            "s_dist_07",
            "s_dist_08",
            "s_dist_09",
            "s_dist_10",
            "s_ytd",
            "s_order_cnt",
            "s_remote_cnt",
            "s_data",
        ],
        BATCH,
    );
    for i in 1..=ITEMS {
        let mut row: Vec<Value> = Vec::with_capacity(17);
        row.push(i.into());
        row.push(w.into());
        row.push(rng.uniform(10, 100).into());
        for _ in 0..10 {
            row.push(rng.alnum(24).into());
        }
        row.extend([0i64.into(), 0i64.into(), 0i64.into()]);
        row.push(data_with_original(rng).into());
        stock.push(row)?;
    }
    copied += stock.finish()?;
    Ok(copied)
}

fn district(rng: &mut Rng, meta: &Meta, w: i64, d: i64) -> stormdb_sdk::Result<u64> {
    let now = now();
    let mut customer = CopyBatcher::new(
        "customer",
        &[
            "c_id",
            "c_d_id",
            "c_w_id",
            "c_first",
            "c_middle",
            "c_last",
            "c_street_1",
            "c_street_2",
            "c_city",
            "c_state",
            "c_zip",
            "c_phone",
            "c_since",
            "c_credit",
            "c_credit_lim",
            "c_discount",
            "c_balance",
            "c_ytd_payment",
            "c_payment_cnt",
            "c_delivery_cnt",
            "c_data",
        ],
        BATCH,
    );
    let mut history = CopyBatcher::new(
        "history",
        &[
            "h_c_id", "h_c_d_id", "h_c_w_id", "h_d_id", "h_w_id", "h_date", "h_amount", "h_data",
        ],
        BATCH,
    );
    for c in 1..=CUSTOMERS {
        // The first 1000 customers cover every last name once; the rest
        // are non-uniform, with the load-time C (clause 4.3.3.1).
        let last = if c <= 1_000 {
            last_name(c - 1)
        } else {
            last_name(rng.nurand(A_C_LAST, meta.constants.c_last_load, 0, 999))
        };
        let mut row: Vec<Value> = Vec::with_capacity(21);
        row.extend([
            c.into(),
            d.into(),
            w.into(),
            a_string(rng, 8, 16).into(),
            "OE".into(),
            last.into(),
        ]);
        row.extend(address(rng));
        row.push(n_string(rng, 16).into());
        row.push(now.clone());
        row.push(if rng.chance(0.1) { "BC" } else { "GC" }.into());
        row.push(numeric(50_000 * 100, 2));
        row.push(numeric(rng.uniform(0, 5_000), 4));
        row.push(numeric(-10 * 100, 2));
        row.push(numeric(10 * 100, 2));
        row.extend([1i64.into(), 0i64.into()]);
        row.push(a_string(rng, 300, 500).into());
        customer.push(row)?;
        history.push(vec![
            c.into(),
            d.into(),
            w.into(),
            d.into(),
            w.into(),
            now.clone(),
            numeric(10 * 100, 2),
            a_string(rng, 12, 24).into(),
        ])?;
    }
    let mut copied = customer.finish()? + history.finish()?;

    let mut orders = CopyBatcher::new(
        "orders",
        &[
            "o_id",
            "o_d_id",
            "o_w_id",
            "o_c_id",
            "o_entry_d",
            "o_carrier_id",
            "o_ol_cnt",
            "o_all_local",
        ],
        BATCH,
    );
    let mut lines = CopyBatcher::new(
        "order_line",
        &[
            "ol_o_id",
            "ol_d_id",
            "ol_w_id",
            "ol_number",
            "ol_i_id",
            "ol_supply_w_id",
            "ol_delivery_d",
            "ol_quantity",
            "ol_amount",
            "ol_dist_info",
        ],
        BATCH,
    );
    let mut new_orders = CopyBatcher::new("new_order", &["no_o_id", "no_d_id", "no_w_id"], BATCH);
    let customers = random::permutation(rng, CUSTOMERS);
    for (o, c) in (1..=ORDERS).zip(customers) {
        let delivered = o < FIRST_NEW_ORDER;
        let ol_cnt = rng.uniform(5, 15);
        let carrier = if delivered {
            Value::from(rng.uniform(1, 10))
        } else {
            Value::Null
        };
        orders.push(vec![
            o.into(),
            d.into(),
            w.into(),
            c.into(),
            now.clone(),
            carrier,
            ol_cnt.into(),
            1i64.into(),
        ])?;
        for number in 1..=ol_cnt {
            let (delivery, amount) = if delivered {
                (now.clone(), numeric(0, 2))
            } else {
                (Value::Null, numeric(rng.uniform(1, 999_999), 2))
            };
            lines.push(vec![
                o.into(),
                d.into(),
                w.into(),
                number.into(),
                rng.uniform(1, ITEMS).into(),
                w.into(),
                delivery,
                5i64.into(),
                amount,
                rng.alnum(24).into(),
            ])?;
        }
        if !delivered {
            new_orders.push(vec![o.into(), d.into(), w.into()])?;
        }
    }
    copied += orders.finish()? + lines.finish()? + new_orders.finish()?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_cover_every_warehouse_and_district_once() {
        let u = units(3);
        assert_eq!(u.len(), 1 + 3 * 11);
        let districts = u.iter().filter(|x| matches!(x, Unit::District(..))).count();
        assert_eq!(districts, 30);
    }
}
