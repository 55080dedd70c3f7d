//! The nine TPC-C tables (clause 1.3), their keys and indexes, and the
//! small `tpcc_meta` table that carries the NURand constants from setup to
//! the loaders and workers.
//!
//! Column types follow clause 1.3.1: `numeric(m,n)` with a fraction is
//! `numeric(m,n)`; `numeric(m)` without one only asks for m decimal digits,
//! which an integer type holds exactly, so counters and quantities are
//! `smallint`/`int` (as the spec allows and PostgreSQL handles faster).

use crate::random::Constants;
use stormdb_sdk::{Rng, Value, sql};

/// Every table, in the order they are dropped.
pub const TABLES: [&str; 10] = [
    "order_line",
    "new_order",
    "orders",
    "history",
    "customer",
    "district",
    "stock",
    "item",
    "warehouse",
    "tpcc_meta",
];

const DDL: [&str; 9] = [
    "CREATE TABLE warehouse (
        w_id int NOT NULL,
        w_name varchar(10) NOT NULL,
        w_street_1 varchar(20) NOT NULL,
        w_street_2 varchar(20) NOT NULL,
        w_city varchar(20) NOT NULL,
        w_state char(2) NOT NULL,
        w_zip char(9) NOT NULL,
        w_tax numeric(4,4) NOT NULL,
        w_ytd numeric(12,2) NOT NULL
    ) WITH (fillfactor = 50)",
    "CREATE TABLE district (
        d_id smallint NOT NULL,
        d_w_id int NOT NULL,
        d_name varchar(10) NOT NULL,
        d_street_1 varchar(20) NOT NULL,
        d_street_2 varchar(20) NOT NULL,
        d_city varchar(20) NOT NULL,
        d_state char(2) NOT NULL,
        d_zip char(9) NOT NULL,
        d_tax numeric(4,4) NOT NULL,
        d_ytd numeric(12,2) NOT NULL,
        d_next_o_id int NOT NULL
    ) WITH (fillfactor = 50)",
    "CREATE TABLE customer (
        c_id int NOT NULL,
        c_d_id smallint NOT NULL,
        c_w_id int NOT NULL,
        c_first varchar(16) NOT NULL,
        c_middle char(2) NOT NULL,
        c_last varchar(16) NOT NULL,
        c_street_1 varchar(20) NOT NULL,
        c_street_2 varchar(20) NOT NULL,
        c_city varchar(20) NOT NULL,
        c_state char(2) NOT NULL,
        c_zip char(9) NOT NULL,
        c_phone char(16) NOT NULL,
        c_since timestamp NOT NULL,
        c_credit char(2) NOT NULL,
        c_credit_lim numeric(12,2) NOT NULL,
        c_discount numeric(4,4) NOT NULL,
        c_balance numeric(12,2) NOT NULL,
        c_ytd_payment numeric(12,2) NOT NULL,
        c_payment_cnt int NOT NULL,
        c_delivery_cnt int NOT NULL,
        c_data varchar(500) NOT NULL
    ) WITH (fillfactor = 90)",
    "CREATE TABLE history (
        h_c_id int NOT NULL,
        h_c_d_id smallint NOT NULL,
        h_c_w_id int NOT NULL,
        h_d_id smallint NOT NULL,
        h_w_id int NOT NULL,
        h_date timestamp NOT NULL,
        h_amount numeric(6,2) NOT NULL,
        h_data varchar(24) NOT NULL
    )",
    "CREATE TABLE new_order (
        no_o_id int NOT NULL,
        no_d_id smallint NOT NULL,
        no_w_id int NOT NULL
    )",
    "CREATE TABLE orders (
        o_id int NOT NULL,
        o_d_id smallint NOT NULL,
        o_w_id int NOT NULL,
        o_c_id int NOT NULL,
        o_entry_d timestamp NOT NULL,
        o_carrier_id smallint,
        o_ol_cnt smallint NOT NULL,
        o_all_local smallint NOT NULL
    )",
    "CREATE TABLE order_line (
        ol_o_id int NOT NULL,
        ol_d_id smallint NOT NULL,
        ol_w_id int NOT NULL,
        ol_number smallint NOT NULL,
        ol_i_id int NOT NULL,
        ol_supply_w_id int NOT NULL,
        ol_delivery_d timestamp,
        ol_quantity smallint NOT NULL,
        ol_amount numeric(6,2) NOT NULL,
        ol_dist_info char(24) NOT NULL
    )",
    "CREATE TABLE item (
        i_id int NOT NULL,
        i_im_id int NOT NULL,
        i_name varchar(24) NOT NULL,
        i_price numeric(5,2) NOT NULL,
        i_data varchar(50) NOT NULL
    )",
    "CREATE TABLE stock (
        s_i_id int NOT NULL,
        s_w_id int NOT NULL,
        s_quantity smallint NOT NULL,
        s_dist_01 char(24) NOT NULL,
        s_dist_02 char(24) NOT NULL,
        s_dist_03 char(24) NOT NULL,
        s_dist_04 char(24) NOT NULL,
        s_dist_05 char(24) NOT NULL,
        s_dist_06 char(24) NOT NULL,
        s_dist_07 char(24) NOT NULL,
        s_dist_08 char(24) NOT NULL,
        s_dist_09 char(24) NOT NULL,
        s_dist_10 char(24) NOT NULL,
        s_ytd int NOT NULL,
        s_order_cnt int NOT NULL,
        s_remote_cnt int NOT NULL,
        s_data varchar(50) NOT NULL
    ) WITH (fillfactor = 90)",
];

/// Primary keys and the secondary indexes the transactions need, added
/// after the load (building them once is much faster than maintaining
/// them row by row).
const INDEXES: [&str; 10] = [
    "ALTER TABLE warehouse ADD PRIMARY KEY (w_id)",
    "ALTER TABLE district ADD PRIMARY KEY (d_w_id, d_id)",
    "ALTER TABLE customer ADD PRIMARY KEY (c_w_id, c_d_id, c_id)",
    // Payment and Order-Status by last name, sorted by first name.
    "CREATE INDEX customer_name ON customer (c_w_id, c_d_id, c_last, c_first)",
    "ALTER TABLE new_order ADD PRIMARY KEY (no_w_id, no_d_id, no_o_id)",
    "ALTER TABLE orders ADD PRIMARY KEY (o_w_id, o_d_id, o_id)",
    // Order-Status: a customer's most recent order.
    "CREATE INDEX orders_customer ON orders (o_w_id, o_d_id, o_c_id, o_id)",
    "ALTER TABLE order_line ADD PRIMARY KEY (ol_w_id, ol_d_id, ol_o_id, ol_number)",
    "ALTER TABLE item ADD PRIMARY KEY (i_id)",
    "ALTER TABLE stock ADD PRIMARY KEY (s_w_id, s_i_id)",
];

/// What setup stored for the loaders and the workers.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// The NURand constants.
    pub constants: Constants,
    /// Seed of the generated data: the same whatever the number of loaders.
    pub load_seed: u64,
    /// Set by `finish-setup` once every loader succeeded.
    pub loaded: bool,
}

fn drop_all() -> stormdb_sdk::Result<()> {
    sql::execute(&format!("DROP TABLE IF EXISTS {}", TABLES.join(", ")), &[])?;
    Ok(())
}

/// Drops what a previous setup left, creates the tables (without indexes)
/// and stores freshly drawn constants.
pub fn create(seed: u64) -> stormdb_sdk::Result<()> {
    drop_all()?;
    for ddl in DDL {
        sql::execute(ddl, &[])?;
    }
    sql::execute(
        "CREATE TABLE tpcc_meta (
            c_last_load int NOT NULL,
            c_last_run int NOT NULL,
            c_id_run int NOT NULL,
            ol_i_id_run int NOT NULL,
            load_seed bigint NOT NULL,
            loaded boolean NOT NULL
        )",
        &[],
    )?;
    let mut rng = Rng::new(seed);
    let c = Constants::choose(&mut rng);
    // Stored as a signed bigint; the bits are what matter.
    let load_seed = rng.next_u64() as i64;
    sql::execute(
        "INSERT INTO tpcc_meta VALUES ($1, $2, $3, $4, $5, false)",
        &[
            c.c_last_load.into(),
            c.c_last_run.into(),
            c.c_id.into(),
            c.ol_i_id.into(),
            load_seed.into(),
        ],
    )?;
    Ok(())
}

/// Adds keys and indexes, gathers statistics and marks the load complete.
pub fn finish() -> stormdb_sdk::Result<()> {
    for ddl in INDEXES {
        sql::execute(ddl, &[])?;
    }
    for table in &TABLES[..9] {
        sql::execute(&format!("VACUUM ANALYZE {table}"), &[])?;
    }
    sql::execute("UPDATE tpcc_meta SET loaded = true", &[])?;
    Ok(())
}

/// Drops every table.
pub fn cleanup() -> stormdb_sdk::Result<()> {
    drop_all()
}

/// The stored constants, or `None` when setup never ran.
pub fn meta() -> stormdb_sdk::Result<Option<Meta>> {
    if !tables_present()? {
        return Ok(None);
    }
    let rows = sql::query(
        "SELECT c_last_load, c_last_run, c_id_run, ol_i_id_run, load_seed, loaded FROM tpcc_meta",
        &[],
    )?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(Meta {
        constants: Constants {
            c_last_load: rows.value(0, 0)?,
            c_last_run: rows.value(0, 1)?,
            c_id: rows.value(0, 2)?,
            ol_i_id: rows.value(0, 3)?,
        },
        load_seed: rows.value::<i64>(0, 4)? as u64,
        loaded: rows.value(0, 5)?,
    }))
}

fn tables_present() -> stormdb_sdk::Result<bool> {
    let checks: Vec<String> = TABLES
        .iter()
        .map(|t| format!("to_regclass('{t}') IS NOT NULL"))
        .collect();
    let rows = sql::query(&format!("SELECT {}", checks.join(" AND ")), &[])?;
    rows.value(0, 0)
}

/// Number of warehouses loaded, `None` when the tables are missing or the
/// load did not complete.
pub fn loaded_warehouses() -> stormdb_sdk::Result<Option<i64>> {
    match meta()? {
        Some(m) if m.loaded => {
            let rows = sql::query("SELECT count(*) FROM warehouse", &[])?;
            Ok(Some(rows.value(0, 0)?))
        }
        _ => Ok(None),
    }
}

/// A `numeric` cell as a scaled integer (e.g. cents for scale 2); `None`
/// when the cell is not a number with at most `scale` decimals.
pub fn scaled(v: &Value, scale: u32) -> Option<i64> {
    let text = match v {
        Value::Numeric(s) => s.as_str(),
        Value::Int8(i) => return i.checked_mul(10i64.checked_pow(scale)?),
        _ => return None,
    };
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale as usize || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value: i64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    for i in 0..scale as usize {
        let d = frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        value = value.checked_mul(10)?.checked_add(d)?;
    }
    Some(if neg { -value } else { value })
}

/// A scaled integer as a `numeric` value (`1234`, 2 → `12.34`).
pub fn numeric(value: i64, scale: u32) -> Value {
    let div = 10i64.pow(scale);
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    let div = div as u64;
    Value::Numeric(if scale == 0 {
        format!("{sign}{abs}")
    } else {
        format!(
            "{sign}{}.{:0width$}",
            abs / div,
            abs % div,
            width = scale as usize
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerics_round_trip() {
        for (v, s) in [(1234, "12.34"), (-1000, "-10.00"), (5, "0.05"), (0, "0.00")] {
            assert_eq!(numeric(v, 2), Value::Numeric(s.into()));
            assert_eq!(scaled(&Value::Numeric(s.into()), 2), Some(v));
        }
        assert_eq!(numeric(1500, 4), Value::Numeric("0.1500".into()));
        assert_eq!(scaled(&Value::Numeric("0.15".into()), 4), Some(1500));
        assert_eq!(scaled(&Value::Numeric("1.005".into()), 2), None);
        assert_eq!(scaled(&Value::Numeric("12.3400000".into()), 2), Some(1234));
        assert_eq!(scaled(&Value::Int8(3), 2), Some(300));
        assert_eq!(scaled(&Value::Text("x".into()), 2), None);
    }
}
