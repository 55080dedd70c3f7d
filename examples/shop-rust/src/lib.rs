//! A small shop: customers browse products, place orders, pay and look up
//! their last order. A richer example than `kv`: multi-statement
//! transactions with prepared statements, an intended rollback (an order
//! naming a product that does not exist, as TPC-C's New-Order does), a
//! retry on serialization failures by SQLSTATE, `numeric` and `timestamp`
//! values, counters, and `summarize` figures including a consistency check
//! run against the database.
//!
//! Tables (scale s): shop_customer (1,000 × s rows), shop_product (5,000
//! rows), shop_order, shop_order_line, shop_payment.

use stormdb_sdk::sql::{self, CopyBatcher, IsolationLevel, Statement, TransactionOptions};
use stormdb_sdk::{
    Context, Figure, Info, Outcome, Rng, RunSummary, SqlError, StepError, StepResultExt, Value,
    Workload, WorkloadError, log, metrics,
};

const CUSTOMERS_PER_SCALE: i64 = 1_000;
const PRODUCTS: i64 = 5_000;
const CATEGORIES: i64 = 50;
const COPY_BATCH: usize = 2_000;
/// 2024-01-01 00:00 UTC in microseconds: customers signed up in the year before.
const EPOCH_2024_US: i64 = 1_704_067_200_000_000;
const DAY_US: i64 = 86_400_000_000;
const PAYMENT_ATTEMPTS: u32 = 3;

/// Cents as PostgreSQL `numeric` text: 12345 -> "123.45".
fn money(cents: i64) -> Value {
    Value::Numeric(format!("{}.{:02}", cents / 100, cents % 100))
}

struct Statements {
    product: Statement,
    category: Statement,
    customer: Statement,
    sell: Statement,
    new_order: Statement,
    add_line: Statement,
    order_total: Statement,
    charge: Statement,
    pay: Statement,
    record_payment: Statement,
    last_order: Statement,
    order_lines: Statement,
}

impl Statements {
    fn prepare() -> Result<Self, SqlError> {
        Ok(Statements {
            product: sql::prepare("SELECT name, price, stock FROM shop_product WHERE id = $1")?,
            category: sql::prepare(
                "SELECT id, name, price FROM shop_product WHERE category = $1 ORDER BY price LIMIT 10",
            )?,
            customer: sql::prepare("SELECT name FROM shop_customer WHERE id = $1")?,
            // Stock wraps around as in TPC-C: never below zero, sold keeps the sum.
            sell: sql::prepare(
                "UPDATE shop_product SET stock = CASE WHEN stock >= $2 + 10 THEN stock - $2 \
                 ELSE stock - $2 + 91 END, sold = sold + $2 WHERE id = $1",
            )?,
            new_order: sql::prepare(
                "INSERT INTO shop_order (customer_id, total, status) VALUES ($1, 0, 'new') RETURNING id",
            )?,
            add_line: sql::prepare(
                "INSERT INTO shop_order_line (order_id, line_no, product_id, qty, price) \
                 SELECT $1, $2, id, $4, price FROM shop_product WHERE id = $3",
            )?,
            order_total: sql::prepare(
                "UPDATE shop_order o SET total = (SELECT sum(qty * price) FROM shop_order_line \
                 WHERE order_id = o.id) WHERE id = $1 RETURNING total",
            )?,
            charge: sql::prepare(
                "UPDATE shop_customer SET balance = balance - $2, orders = orders + 1 WHERE id = $1",
            )?,
            pay: sql::prepare("UPDATE shop_customer SET balance = balance + $2 WHERE id = $1")?,
            record_payment: sql::prepare(
                "INSERT INTO shop_payment (customer_id, amount) VALUES ($1, $2)",
            )?,
            last_order: sql::prepare(
                "SELECT id, total, created_at FROM shop_order WHERE customer_id = $1 \
                 ORDER BY id DESC LIMIT 1",
            )?,
            order_lines: sql::prepare(
                "SELECT product_id, qty, price FROM shop_order_line WHERE order_id = $1 ORDER BY line_no",
            )?,
        })
    }
}

struct Shop {
    rng: Rng,
    stmt: Statements,
    customers: i64,
    lines_max: i64,
    rollback_share: f64,
    /// Cumulative percentages of browse, new-order and payment; the rest is order-status.
    mix: [i64; 3],
}

impl Shop {
    fn browse(&mut self) -> Result<Outcome, StepError> {
        let id = self.rng.uniform(1, PRODUCTS);
        let product = self.stmt.product.query(&[id.into()]).op("browse")?;
        let _price: String = product.value(0, 1).op("browse")?;
        let category = self.rng.uniform(1, CATEGORIES);
        let related = self
            .stmt
            .category
            .query_rows(&[category.into()])
            .op("browse")?;
        metrics::count("products-shown", 1 + related.len() as u64);
        Ok(Outcome::new("browse"))
    }

    /// One order of 1 to `lines_max` lines in one transaction; with
    /// probability `rollback_share` its last line names a product that does
    /// not exist and the order is rolled back on purpose.
    fn new_order(&mut self) -> Result<Outcome, StepError> {
        const OP: &str = "new-order";
        let customer = self.rng.uniform(1, self.customers);
        let lines = self.rng.uniform(1, self.lines_max);
        let mut items: Vec<(i64, i64)> = (0..lines)
            .map(|_| (self.rng.uniform(1, PRODUCTS), self.rng.uniform(1, 5)))
            .collect();
        let invalid = self.rng.chance(self.rollback_share);
        // Products in id order: concurrent orders lock rows in the same
        // order and cannot deadlock.
        items.sort_unstable();
        if invalid && let Some(last) = items.last_mut() {
            last.0 = PRODUCTS + 1;
        }

        let tx = sql::begin().op(OP)?;
        if self
            .stmt
            .customer
            .query_rows(&[customer.into()])
            .op(OP)?
            .is_empty()
        {
            return Err(WorkloadError::failed(format!(
                "customer {customer} missing"
            )))
            .op(OP);
        }
        let order = self.stmt.new_order.query(&[customer.into()]).op(OP)?;
        let order_id: i64 = order.value(0, 0).op(OP)?;
        for (line_no, &(product, qty)) in (1i64..).zip(&items) {
            let added = self
                .stmt
                .add_line
                .execute(&[order_id.into(), line_no.into(), product.into(), qty.into()])
                .op(OP)?;
            if added == 0 {
                // The unknown product: undo everything. Rolling back
                // explicitly; dropping `tx` would do the same.
                tx.rollback().op(OP)?;
                return Ok(Outcome::rolled_back(OP));
            }
            self.stmt
                .sell
                .execute(&[product.into(), qty.into()])
                .op(OP)?;
        }
        let total = self
            .stmt
            .order_total
            .query_rows(&[order_id.into()])
            .op(OP)?;
        let total = total
            .first()
            .and_then(|row| row.first())
            .cloned()
            .ok_or_else(|| WorkloadError::failed(format!("order {order_id} has no total")))
            .op(OP)?;
        self.stmt.charge.execute(&[customer.into(), total]).op(OP)?;
        tx.commit().op(OP)?;
        metrics::count("order-lines", lines as u64);
        Ok(Outcome::new(OP))
    }

    /// A payment in a repeatable-read transaction, retried when a concurrent
    /// payment to the same customer makes it fail with SQLSTATE 40001.
    fn payment(&mut self) -> Result<Outcome, StepError> {
        let customer = self.rng.uniform(1, self.customers);
        let cents = self.rng.uniform(100, 50_000);
        let mut attempt = 1;
        loop {
            match self.try_payment(customer, cents) {
                Ok(()) => return Ok(Outcome::new("payment")),
                Err(SqlError::Database(e))
                    if e.sqlstate == "40001" && attempt < PAYMENT_ATTEMPTS =>
                {
                    metrics::count("payment-retries", 1);
                    attempt += 1;
                }
                Err(e) => return Err(e).op("payment"),
            }
        }
    }

    fn try_payment(&self, customer: i64, cents: i64) -> Result<(), SqlError> {
        let tx = sql::begin_with(TransactionOptions {
            isolation: IsolationLevel::RepeatableRead,
            read_only: false,
        })?;
        self.stmt.pay.execute(&[customer.into(), money(cents)])?;
        self.stmt
            .record_payment
            .execute(&[customer.into(), money(cents)])?;
        tx.commit()
    }

    /// A customer's last order and its lines, read-only.
    fn order_status(&mut self) -> Result<Outcome, StepError> {
        const OP: &str = "order-status";
        let customer = self.rng.uniform(1, self.customers);
        let last = self.stmt.last_order.query(&[customer.into()]).op(OP)?;
        if let Some(order_id) = last.get::<i64>(0, 0) {
            let _placed_at = last.0.rows[0][2].clone(); // a Value::Timestamp
            let lines = self
                .stmt
                .order_lines
                .query_rows(&[order_id.into()])
                .op(OP)?;
            metrics::count("status-lines", lines.len() as u64);
        }
        Ok(Outcome::new(OP))
    }
}

fn range(ctx: &Context, total: i64) -> (i64, i64) {
    let loaders = i64::from(ctx.workers.max(1));
    let me = i64::from(ctx.worker_id);
    (total * me / loaders + 1, total * (me + 1) / loaders)
}

impl Workload for Shop {
    fn describe() -> Info {
        stormdb_sdk::info(
            "shop",
            "0.1.0",
            "A small shop: browse, new orders, payments and order lookups",
        )
        .mode(
            "mix",
            "45% browse, 35% new-order, 15% payment, 5% order-status",
        )
        .mode("browse", "product lookups only (read-only)")
        .mode("orders", "new orders only")
        .param("lines_max", "5", "most lines in one order (1-20)")
        .param(
            "rollback_pct",
            "1",
            "percentage of orders rolled back on purpose",
        )
        .default_scale(1)
        .build()
    }

    fn is_loaded(ctx: &Context) -> stormdb_sdk::Result<bool> {
        let present = sql::query(
            "SELECT to_regclass('shop_customer') IS NOT NULL AND to_regclass('shop_product') IS NOT NULL",
            &[],
        )?;
        if !present.value::<bool>(0, 0)? {
            return Ok(false);
        }
        let counts = sql::query(
            "SELECT (SELECT count(*) FROM shop_customer), (SELECT count(*) FROM shop_product)",
            &[],
        )?;
        Ok(
            counts.value::<i64>(0, 0)? == i64::from(ctx.scale) * CUSTOMERS_PER_SCALE
                && counts.value::<i64>(0, 1)? == PRODUCTS,
        )
    }

    fn setup_schema(ctx: &Context) -> stormdb_sdk::Result<()> {
        Self::cleanup(ctx)?;
        for ddl in [
            "CREATE TABLE shop_customer (id bigint NOT NULL, name text NOT NULL, \
             balance numeric(14,2) NOT NULL, orders int NOT NULL, signed_up timestamptz NOT NULL)",
            "CREATE TABLE shop_product (id bigint NOT NULL, name text NOT NULL, category int NOT NULL, \
             price numeric(10,2) NOT NULL, stock int NOT NULL, sold bigint NOT NULL)",
            "CREATE TABLE shop_order (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, \
             created_at timestamptz NOT NULL DEFAULT now(), total numeric(14,2) NOT NULL, status text NOT NULL)",
            "CREATE TABLE shop_order_line (order_id bigint NOT NULL, line_no int NOT NULL, \
             product_id bigint NOT NULL, qty int NOT NULL, price numeric(10,2) NOT NULL, \
             PRIMARY KEY (order_id, line_no))",
            "CREATE TABLE shop_payment (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, \
             amount numeric(12,2) NOT NULL, paid_at timestamptz NOT NULL DEFAULT now())",
        ] {
            sql::execute(ddl, &[])?;
        }
        Ok(())
    }

    fn load(ctx: &Context) -> stormdb_sdk::Result<()> {
        let mut rng = Rng::new(ctx.seed);
        let (first, last) = range(ctx, i64::from(ctx.scale) * CUSTOMERS_PER_SCALE);
        let mut copy = CopyBatcher::new(
            "shop_customer",
            &["id", "name", "balance", "orders", "signed_up"],
            COPY_BATCH,
        );
        for id in first..=last {
            let signed_up = EPOCH_2024_US - rng.uniform(0, 365) * DAY_US;
            copy.push(vec![
                id.into(),
                rng.alnum(12).into(),
                money(rng.uniform(0, 100_000)),
                0i32.into(),
                Value::Timestamp(signed_up),
            ])?;
        }
        let customers = copy.finish()?;

        let (first, last) = range(ctx, PRODUCTS);
        let mut copy = CopyBatcher::new(
            "shop_product",
            &["id", "name", "category", "price", "stock", "sold"],
            COPY_BATCH,
        );
        for id in first..=last {
            copy.push(vec![
                id.into(),
                rng.alnum(20).into(),
                rng.uniform(1, CATEGORIES).into(),
                money(rng.uniform(100, 100_000)),
                rng.uniform(10, 100).into(),
                0i64.into(),
            ])?;
        }
        let products = copy.finish()?;
        log::debug(&format!(
            "loader {}: {customers} customers, {products} products",
            ctx.worker_id
        ));
        Ok(())
    }

    fn finish_setup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        for ddl in [
            "ALTER TABLE shop_customer ADD PRIMARY KEY (id)",
            "ALTER TABLE shop_product ADD PRIMARY KEY (id)",
            "CREATE INDEX shop_product_category ON shop_product (category, price)",
            "CREATE INDEX shop_order_customer ON shop_order (customer_id, id)",
            "ANALYZE",
        ] {
            sql::execute(ddl, &[])?;
        }
        Ok(())
    }

    fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
        let mix = match ctx.mode.as_str() {
            "mix" => [45, 80, 95],
            "browse" => [100, 100, 100],
            "orders" => [0, 100, 100],
            other => return Err(WorkloadError::failed(format!("unknown mode '{other}'"))),
        };
        let lines_max: i64 = ctx.param_as("lines_max")?;
        if !(1..=20).contains(&lines_max) {
            return Err(WorkloadError::failed(format!(
                "parameter 'lines_max' must be between 1 and 20, got {lines_max}"
            )));
        }
        let rollback_pct: f64 = ctx.param_as("rollback_pct")?;
        Ok(Shop {
            rng: Rng::new(ctx.seed),
            stmt: Statements::prepare()?,
            customers: i64::from(ctx.scale.max(1)) * CUSTOMERS_PER_SCALE,
            lines_max,
            rollback_share: rollback_pct / 100.0,
            mix,
        })
    }

    fn step(&mut self) -> Result<Outcome, StepError> {
        let dice = self.rng.uniform(1, 100);
        if dice <= self.mix[0] {
            self.browse()
        } else if dice <= self.mix[1] {
            self.new_order()
        } else if dice <= self.mix[2] {
            self.payment()
        } else {
            self.order_status()
        }
    }

    fn summarize(ctx: &Context, run: &RunSummary) -> stormdb_sdk::Result<Vec<Figure>> {
        let mut figures = Vec::new();
        if let Some(orders) = run.operation("new-order") {
            let committed = orders.count - orders.rolled_back;
            if run.elapsed_s > 0.0 {
                figures.push(Figure::new(
                    "orders-per-minute",
                    committed as f64 / run.elapsed_s * 60.0,
                    "orders/min",
                ));
            }
            if orders.count > 0 {
                let pct: f64 = ctx.param_as("rollback_pct")?;
                let share = 100.0 * orders.rolled_back as f64 / orders.count as f64;
                let figure = Figure::new("rollback-share", share, "%");
                // Too few orders say nothing about the share.
                figures.push(if orders.count >= 2_000 {
                    figure.expect_between(
                        pct * 0.5,
                        pct * 1.5,
                        &format!("{}-{} %", pct * 0.5, pct * 1.5),
                    )
                } else {
                    figure
                });
            }
            if committed > 0 {
                let lines_max: f64 = ctx.param_as("lines_max")?;
                let per_order = run.counter("order-lines") as f64 / committed as f64;
                figures.push(
                    Figure::new("lines-per-order", per_order, "lines").expect_between(
                        1.0,
                        lines_max,
                        &format!("1-{lines_max}"),
                    ),
                );
            }
        }
        figures.push(Figure::new(
            "payment-retries",
            run.counter("payment-retries") as f64,
            "",
        ));
        // Every unit sold is on exactly one order line, whatever ran
        // concurrently: a check that transactions were atomic.
        let drift = sql::query(
            "SELECT (SELECT coalesce(sum(sold), 0) FROM shop_product) \
             - (SELECT coalesce(sum(qty), 0) FROM shop_order_line)",
            &[],
        )?
        .value::<f64>(0, 0)?;
        figures.push(Figure::new("stock-drift", drift, "units").expect_between(0.0, 0.0, "0"));
        Ok(figures)
    }

    fn cleanup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        sql::execute(
            "DROP TABLE IF EXISTS shop_payment, shop_order_line, shop_order, shop_product, shop_customer",
            &[],
        )?;
        Ok(())
    }
}

stormdb_sdk::export_workload!(Shop);
