//! The five transactions of clause 2, their prepared statements, and what
//! they share: the terminal's identity, customer selection and the retry
//! of transactions the server aborted to resolve a conflict.

pub mod delivery;
pub mod new_order;
pub mod order_status;
pub mod payment;
pub mod stock_level;

use crate::random::{A_C_ID, A_C_LAST, Constants, last_name};
use stormdb_sdk::sql::{self, IsolationLevel, Statement, Transaction, TransactionOptions};
use stormdb_sdk::{FromValue, Rng, SqlError, Value, WorkloadError};

/// Who runs the transactions: a worker stands for one terminal of its home
/// warehouse (clause 2.2.1: W_ID is fixed per terminal, and so is the
/// Stock-Level district).
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    /// Home warehouse.
    pub w_id: i64,
    /// The district Stock-Level looks at.
    pub d_id: i64,
    /// Warehouses loaded.
    pub scale: i64,
    /// Run-time NURand constants.
    pub c: Constants,
}

/// How a customer is selected by Payment and Order-Status.
#[derive(Debug, Clone)]
pub enum CustomerKey {
    /// By C_ID.
    Id(i64),
    /// By C_LAST: the middle of the rows with that name, sorted by C_FIRST.
    Name(String),
}

impl CustomerKey {
    /// 60% by last name, 40% by id (clauses 2.5.1.2, 2.6.1.2).
    pub fn choose(rng: &mut Rng, c: &Constants) -> Self {
        if rng.uniform(1, 100) <= 60 {
            CustomerKey::Name(last_name(rng.nurand(A_C_LAST, c.c_last_run, 0, 999)))
        } else {
            CustomerKey::Id(rng.nurand(A_C_ID, c.c_id, 1, 3_000))
        }
    }

    /// True when selecting by last name.
    pub fn by_name(&self) -> bool {
        matches!(self, CustomerKey::Name(_))
    }
}

/// Every statement the transactions run, prepared once per worker.
pub struct Statements {
    pub(crate) customer_by_name: Statement,
    pub(crate) no_warehouse_customer: Statement,
    pub(crate) no_district: Statement,
    pub(crate) no_insert_order: Statement,
    pub(crate) no_insert_new_order: Statement,
    pub(crate) no_items: Statement,
    /// One per district, as each returns that district's S_DIST_xx.
    pub(crate) no_stock: Vec<Statement>,
    pub(crate) no_insert_lines: Statement,
    pub(crate) pay_warehouse: Statement,
    pub(crate) pay_district: Statement,
    pub(crate) pay_customer: Statement,
    pub(crate) pay_history: Statement,
    pub(crate) os_customer: Statement,
    pub(crate) os_order: Statement,
    pub(crate) os_lines: Statement,
    pub(crate) dl_oldest: Statement,
    pub(crate) dl_delete: Statement,
    pub(crate) dl_order: Statement,
    pub(crate) dl_lines: Statement,
    pub(crate) dl_customer: Statement,
    pub(crate) sl_next_order: Statement,
    pub(crate) sl_low_stock: Statement,
}

impl Statements {
    /// Prepares them all; fails when the tables are missing.
    pub fn prepare() -> Result<Self, SqlError> {
        let p = sql::prepare;
        let no_stock = (1..=10)
            .map(|d| {
                p(&format!(
                    "UPDATE stock SET \
                       s_quantity = CASE WHEN s_quantity >= $3 + 10 THEN s_quantity - $3 \
                                         ELSE s_quantity - $3 + 91 END, \
                       s_ytd = s_ytd + $3, s_order_cnt = s_order_cnt + 1, \
                       s_remote_cnt = s_remote_cnt + $4 \
                     WHERE s_w_id = $1 AND s_i_id = $2 \
                     RETURNING s_quantity, s_data, s_dist_{d:02}"
                ))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Statements {
            customer_by_name: p(
                "SELECT c_id, c_first, c_middle, c_last, c_balance FROM customer \
                 WHERE c_w_id = $1 AND c_d_id = $2 AND c_last = $3 ORDER BY c_first",
            )?,
            no_warehouse_customer: p(
                "SELECT w_tax, c_discount, c_last, c_credit FROM warehouse, customer \
                 WHERE w_id = $1 AND c_w_id = w_id AND c_d_id = $2 AND c_id = $3",
            )?,
            no_district: p("UPDATE district SET d_next_o_id = d_next_o_id + 1 \
                 WHERE d_w_id = $1 AND d_id = $2 RETURNING d_tax, d_next_o_id - 1")?,
            no_insert_order: p(
                "INSERT INTO orders (o_id, o_d_id, o_w_id, o_c_id, o_entry_d, o_carrier_id, \
                 o_ol_cnt, o_all_local) VALUES ($1, $2, $3, $4, now(), NULL, $5, $6)",
            )?,
            no_insert_new_order: p(
                "INSERT INTO new_order (no_o_id, no_d_id, no_w_id) VALUES ($1, $2, $3)",
            )?,
            no_items: p("SELECT i_id, i_price, i_name, i_data FROM item WHERE i_id = ANY($1)")?,
            no_stock,
            // All lines in one statement: the order's lines as arrays.
            no_insert_lines: p(
                "INSERT INTO order_line (ol_o_id, ol_d_id, ol_w_id, ol_number, ol_i_id, \
                   ol_supply_w_id, ol_delivery_d, ol_quantity, ol_amount, ol_dist_info) \
                 SELECT $1::int, $2::smallint, $3::int, l.n, l.i, l.s, NULL, l.q, \
                   l.a::numeric / 100, l.di \
                 FROM unnest($4::smallint[], $5::int[], $6::int[], $7::smallint[], \
                   $8::bigint[], $9::text[]) AS l(n, i, s, q, a, di)",
            )?,
            pay_warehouse: p("UPDATE warehouse SET w_ytd = w_ytd + $2 WHERE w_id = $1 \
                 RETURNING w_name, w_street_1, w_street_2, w_city, w_state, w_zip")?,
            pay_district: p(
                "UPDATE district SET d_ytd = d_ytd + $3 WHERE d_w_id = $1 AND d_id = $2 \
                 RETURNING d_name, d_street_1, d_street_2, d_city, d_state, d_zip",
            )?,
            // Bad-credit customers get the payment prepended to C_DATA,
            // truncated to 500 characters (clause 2.5.2.2).
            pay_customer: p("UPDATE customer SET c_balance = c_balance - $4, \
                   c_ytd_payment = c_ytd_payment + $4, c_payment_cnt = c_payment_cnt + 1, \
                   c_data = CASE WHEN c_credit = 'BC' THEN \
                     left(format('%s %s %s %s %s %s|%s', c_id, c_d_id, c_w_id, $5::smallint, \
                       $6::int, $4, c_data), 500) \
                     ELSE c_data END \
                 WHERE c_w_id = $1 AND c_d_id = $2 AND c_id = $3 \
                 RETURNING c_first, c_middle, c_last, c_street_1, c_street_2, c_city, \
                   c_state, c_zip, c_phone, c_since, c_credit, c_credit_lim, c_discount, \
                   c_balance, CASE WHEN c_credit = 'BC' THEN left(c_data, 200) END")?,
            pay_history: p(
                "INSERT INTO history (h_c_id, h_c_d_id, h_c_w_id, h_d_id, h_w_id, h_date, \
                 h_amount, h_data) VALUES ($1, $2, $3, $4, $5, now(), $6, $7)",
            )?,
            os_customer: p(
                "SELECT c_id, c_first, c_middle, c_last, c_balance FROM customer \
                 WHERE c_w_id = $1 AND c_d_id = $2 AND c_id = $3",
            )?,
            os_order: p("SELECT o_id, o_entry_d, o_carrier_id FROM orders \
                 WHERE o_w_id = $1 AND o_d_id = $2 AND o_c_id = $3 \
                 ORDER BY o_id DESC LIMIT 1")?,
            os_lines: p(
                "SELECT ol_i_id, ol_supply_w_id, ol_quantity, ol_amount, ol_delivery_d \
                 FROM order_line WHERE ol_w_id = $1 AND ol_d_id = $2 AND ol_o_id = $3",
            )?,
            // Locking under the LIMIT: a row another Delivery deleted meanwhile
            // is skipped and the next oldest order returned.
            dl_oldest: p(
                "SELECT no_o_id FROM new_order WHERE no_w_id = $1 AND no_d_id = $2 \
                 ORDER BY no_o_id LIMIT 1 FOR UPDATE",
            )?,
            dl_delete: p(
                "DELETE FROM new_order WHERE no_w_id = $1 AND no_d_id = $2 AND no_o_id = $3",
            )?,
            dl_order: p("UPDATE orders SET o_carrier_id = $4 \
                 WHERE o_w_id = $1 AND o_d_id = $2 AND o_id = $3 RETURNING o_c_id")?,
            dl_lines: p("WITH l AS (UPDATE order_line SET ol_delivery_d = now() \
                   WHERE ol_w_id = $1 AND ol_d_id = $2 AND ol_o_id = $3 RETURNING ol_amount) \
                 SELECT coalesce(sum(ol_amount), 0), count(*) FROM l")?,
            dl_customer: p("UPDATE customer SET c_balance = c_balance + $4, \
                   c_delivery_cnt = c_delivery_cnt + 1 \
                 WHERE c_w_id = $1 AND c_d_id = $2 AND c_id = $3")?,
            sl_next_order: p("SELECT d_next_o_id FROM district WHERE d_w_id = $1 AND d_id = $2")?,
            sl_low_stock: p("SELECT count(DISTINCT s_i_id) FROM order_line, stock \
                 WHERE ol_w_id = $1 AND ol_d_id = $2 AND ol_o_id < $3 AND ol_o_id >= $3 - 20 \
                   AND s_w_id = ol_w_id AND s_i_id = ol_i_id AND s_quantity < $4")?,
        })
    }
}

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Committed.
    Committed,
    /// Rolled back on purpose (New-Order's unused item).
    RolledBack,
}

/// Options of every read-write transaction, and of the read-only ones.
#[derive(Debug, Clone, Copy)]
pub struct Isolation(pub IsolationLevel);

impl Isolation {
    /// Starts a transaction at this level.
    pub fn begin(self, read_only: bool) -> Result<Transaction, SqlError> {
        sql::begin_with(TransactionOptions {
            isolation: self.0,
            read_only,
        })
    }
}

/// Whether the server aborted the transaction to resolve a conflict
/// (serialization failure, deadlock), so running it again may succeed.
pub fn retryable(e: &WorkloadError) -> bool {
    matches!(e, WorkloadError::Sql(SqlError::Database(d)) if d.sqlstate == "40001" || d.sqlstate == "40P01")
}

/// The single row a statement must return, or an error naming `what`.
pub fn one_row(rows: Vec<Vec<Value>>, what: &str) -> Result<Vec<Value>, WorkloadError> {
    let n = rows.len();
    rows.into_iter().next().ok_or_else(|| {
        WorkloadError::failed(format!(
            "{what} not found ({n} rows): is the database loaded for this scale?"
        ))
    })
}

/// Cell `i` of `row` as `T`, or an error naming the column.
pub fn cell<T: FromValue>(row: &[Value], i: usize, what: &str) -> Result<T, WorkloadError> {
    row.get(i)
        .and_then(T::from_value)
        .ok_or_else(|| WorkloadError::failed(format!("unexpected value for {what}")))
}

/// Picks the customer: by id directly, by last name the row at position
/// ceil(n/2) of those sorted by C_FIRST (clause 2.5.2.2). Returns the
/// `customer_by_name`/`os_customer` row (c_id first).
pub fn find_customer(
    st: &Statements,
    w_id: i64,
    d_id: i64,
    key: &CustomerKey,
) -> Result<Vec<Value>, WorkloadError> {
    match key {
        CustomerKey::Id(c_id) => one_row(
            st.os_customer
                .query_rows(&[w_id.into(), d_id.into(), (*c_id).into()])?,
            "customer",
        ),
        CustomerKey::Name(last) => {
            let rows = st.customer_by_name.query_rows(&[
                w_id.into(),
                d_id.into(),
                last.as_str().into(),
            ])?;
            let n = rows.len();
            if n == 0 {
                return Err(WorkloadError::failed(format!(
                    "no customer named {last} in warehouse {w_id}, district {d_id}"
                )));
            }
            Ok(rows.into_iter().nth((n - 1) / 2).unwrap_or_default())
        }
    }
}
