//! TPC-C (revision 5.11) as a StormDB workload: the nine tables and their
//! initial population (clauses 1 and 4.3), the five transactions with the
//! standard mix (clauses 2 and 5.2.3), optional keying and think times
//! (clause 5.2.5), tpmC and the spec's sanity figures, and consistency
//! conditions 1 to 4 (clause 3.3.2) on request.
//!
//! Each worker stands for one terminal: its home warehouse is
//! `worker_id % warehouses + 1` and its Stock-Level district
//! `(worker_id / warehouses) % 10 + 1`, so ten workers per warehouse give
//! the spec's terminal layout.

mod checks;
mod load;
mod random;
mod schema;
mod summary;
mod txn;

use std::time::Duration;
use stormdb_sdk::sql::IsolationLevel;
use stormdb_sdk::{
    Context, Figure, Info, Outcome, Rng, RunSummary, StepError, Workload, WorkloadError, log,
    metrics,
};
use summary::{counter, op};
use txn::{Done, Isolation, Statements, Terminal, retryable};

/// The five transaction types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NewOrder,
    Payment,
    OrderStatus,
    Delivery,
    StockLevel,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::NewOrder => op::NEW_ORDER,
            Kind::Payment => op::PAYMENT,
            Kind::OrderStatus => op::ORDER_STATUS,
            Kind::Delivery => op::DELIVERY,
            Kind::StockLevel => op::STOCK_LEVEL,
        }
    }

    fn parse(mode: &str) -> Option<Self> {
        [
            Kind::NewOrder,
            Kind::Payment,
            Kind::OrderStatus,
            Kind::Delivery,
            Kind::StockLevel,
        ]
        .into_iter()
        .find(|k| k.name() == mode)
    }

    /// Minimum keying time and mean think time in seconds (clause 5.2.5.7).
    fn wait_times(self) -> (f64, f64) {
        match self {
            Kind::NewOrder => (18.0, 12.0),
            Kind::Payment => (3.0, 12.0),
            Kind::OrderStatus => (2.0, 10.0),
            Kind::Delivery => (2.0, 5.0),
            Kind::StockLevel => (2.0, 5.0),
        }
    }
}

/// The mix as a deck of 100 cards (45/43/4/4/4), dealt in a random order
/// and reshuffled when empty: every 100 transactions hold the exact mix
/// (clause 5.2.4.2 allows this "card deck" selection).
struct Deck {
    cards: Vec<Kind>,
    next: usize,
}

impl Deck {
    fn standard() -> Self {
        let mut cards = Vec::with_capacity(100);
        for (kind, n) in [
            (Kind::NewOrder, 45),
            (Kind::Payment, 43),
            (Kind::OrderStatus, 4),
            (Kind::Delivery, 4),
            (Kind::StockLevel, 4),
        ] {
            cards.extend(std::iter::repeat_n(kind, n));
        }
        let next = cards.len();
        Deck { cards, next }
    }

    fn draw(&mut self, rng: &mut Rng) -> Kind {
        if self.next >= self.cards.len() {
            for i in (1..self.cards.len()).rev() {
                let j = rng.uniform(0, i as i64) as usize;
                self.cards.swap(i, j);
            }
            self.next = 0;
        }
        let card = self.cards[self.next];
        self.next += 1;
        card
    }
}

/// What the worker runs: the mix, or one transaction type.
enum Mix {
    Standard(Deck),
    Only(Kind),
}

/// One worker: a terminal.
struct Tpcc {
    mix: Mix,
    rng: Rng,
    terminal: Terminal,
    statements: Statements,
    isolation: Isolation,
    max_retries: u64,
    /// Factor applied to keying and think times; `None` without waits.
    wait: Option<f64>,
}

fn parse_bool(ctx: &Context, name: &str) -> stormdb_sdk::Result<bool> {
    let raw = ctx
        .param(name)
        .unwrap_or("false")
        .trim()
        .to_ascii_lowercase();
    match raw.as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" | "" => Ok(false),
        _ => Err(WorkloadError::failed(format!(
            "parameter '{name}' must be true or false, got '{raw}'"
        ))),
    }
}

fn parse_isolation(ctx: &Context) -> stormdb_sdk::Result<Isolation> {
    let raw = ctx.param("isolation").unwrap_or("read-committed").trim();
    let level = match raw {
        "read-committed" => IsolationLevel::ReadCommitted,
        "repeatable-read" => IsolationLevel::RepeatableRead,
        "serializable" => IsolationLevel::Serializable,
        "default" => IsolationLevel::Default,
        other => {
            return Err(WorkloadError::failed(format!(
                "parameter 'isolation' must be read-committed, repeatable-read, serializable \
                 or default, got '{other}'"
            )));
        }
    };
    Ok(Isolation(level))
}

fn sleep_s(seconds: f64) {
    if seconds > 0.0 && seconds.is_finite() {
        std::thread::sleep(Duration::from_secs_f64(seconds));
    }
}

/// Runs `f` until it succeeds, retrying transactions the server aborted to
/// resolve a conflict with the same input, as a terminal would, after a
/// short random pause that grows with each attempt (so the transactions
/// that collided do not collide again at once).
fn retry<T>(
    rng: &mut Rng,
    max_retries: u64,
    operation: &str,
    f: impl Fn() -> Result<T, WorkloadError>,
) -> Result<T, StepError> {
    let mut attempt: u64 = 0;
    loop {
        match f() {
            Ok(v) => {
                if attempt > 0 {
                    metrics::count(counter::RETRIES, attempt);
                }
                return Ok(v);
            }
            Err(e) if retryable(&e) && attempt < max_retries => {
                attempt += 1;
                let cap_ms = (1i64 << attempt.min(6)).min(50);
                std::thread::sleep(Duration::from_micros(rng.uniform(0, cap_ms * 1000) as u64));
            }
            Err(error) => {
                return Err(StepError {
                    operation: operation.to_string(),
                    error,
                });
            }
        }
    }
}

impl Tpcc {
    fn transaction(&mut self, kind: Kind) -> Result<Outcome, StepError> {
        let name = kind.name();
        let (st, iso, t) = (&self.statements, self.isolation, &self.terminal);
        match kind {
            Kind::NewOrder => {
                let input = txn::new_order::Input::generate(&mut self.rng, t);
                let (done, tally) = retry(&mut self.rng, self.max_retries, name, || {
                    txn::new_order::run(st, iso, t, &input)
                })?;
                if done == Done::RolledBack {
                    return Ok(Outcome::rolled_back(name));
                }
                metrics::count(counter::LINES, tally.lines);
                if tally.remote_lines > 0 {
                    metrics::count(counter::REMOTE_LINES, tally.remote_lines);
                }
            }
            Kind::Payment => {
                let input = txn::payment::Input::generate(&mut self.rng, t);
                let tally = retry(&mut self.rng, self.max_retries, name, || {
                    txn::payment::run(st, iso, t, &input)
                })?;
                if tally.remote {
                    metrics::count(counter::PAYMENT_REMOTE, 1);
                }
                if tally.by_name {
                    metrics::count(counter::PAYMENT_BY_NAME, 1);
                }
            }
            Kind::OrderStatus => {
                let input = txn::order_status::Input::generate(&mut self.rng, t);
                retry(&mut self.rng, self.max_retries, name, || {
                    txn::order_status::run(st, iso, t, &input)
                })?;
                if input.by_name() {
                    metrics::count(counter::ORDER_STATUS_BY_NAME, 1);
                }
            }
            Kind::Delivery => {
                let input = txn::delivery::Input::generate(&mut self.rng);
                let skipped = retry(&mut self.rng, self.max_retries, name, || {
                    txn::delivery::run(st, iso, t, &input)
                })?;
                if skipped > 0 {
                    metrics::count(counter::DELIVERY_SKIPPED, skipped);
                }
            }
            Kind::StockLevel => {
                let input = txn::stock_level::Input::generate(&mut self.rng);
                retry(&mut self.rng, self.max_retries, name, || {
                    txn::stock_level::run(st, iso, t, &input)
                })?;
            }
        }
        Ok(Outcome::new(name))
    }
}

impl Workload for Tpcc {
    fn describe() -> Info {
        stormdb_sdk::info(
            "tpcc",
            "0.1.0",
            "TPC-C: nine tables, scale = warehouses (about 100 MB each), the five \
             transactions in the 45/43/4/4/4 mix; tpmC, the spec's sanity figures and, with \
             check=true, consistency conditions 1-4. Use ten workers per warehouse for the \
             spec's terminal layout.",
        )
        .mode("standard", "the standard mix of all five transactions")
        .mode("new-order", "New-Order only")
        .mode("payment", "Payment only")
        .mode("order-status", "Order-Status only")
        .mode("delivery", "Delivery only")
        .mode("stock-level", "Stock-Level only")
        .param(
            "wait",
            "false",
            "keying and think times of clause 5.2.5 inside each step (spec runs: true, with \
             --step-timeout above 140s)",
        )
        .param(
            "wait_factor",
            "1",
            "multiplies keying and think times (1 is the spec; smaller shortens experiments)",
        )
        .param(
            "check",
            "false",
            "after the run, check consistency conditions 1-4 with SQL",
        )
        .param(
            "isolation",
            "read-committed",
            "transaction isolation: read-committed, repeatable-read, serializable or default",
        )
        .param(
            "max_retries",
            "10",
            "times a transaction is retried after a serialization failure or deadlock",
        )
        .default_scale(1)
        .build()
    }

    fn is_loaded(ctx: &Context) -> stormdb_sdk::Result<bool> {
        Ok(schema::loaded_warehouses()? == Some(i64::from(ctx.scale)))
    }

    fn setup_schema(ctx: &Context) -> stormdb_sdk::Result<()> {
        schema::create(ctx.seed)
    }

    fn load(ctx: &Context) -> stormdb_sdk::Result<()> {
        let meta = schema::meta()?.ok_or_else(|| {
            WorkloadError::failed("tpcc_meta is missing: setup-schema did not run")
        })?;
        load::run(ctx, &meta)
    }

    fn finish_setup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        schema::finish()
    }

    fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
        let mix = match ctx.mode.as_str() {
            "standard" => Mix::Standard(Deck::standard()),
            other => Mix::Only(
                Kind::parse(other)
                    .ok_or_else(|| WorkloadError::failed(format!("unknown mode '{other}'")))?,
            ),
        };
        let (meta, warehouses) = match (schema::meta()?, schema::loaded_warehouses()?) {
            (Some(meta), Some(w)) if w > 0 => (meta, w),
            _ => {
                return Err(WorkloadError::failed(
                    "the TPC-C tables are missing or not completely loaded: run with --setup",
                ));
            }
        };
        if ctx.worker_id == 0 && warehouses != i64::from(ctx.scale) {
            log::warn(&format!(
                "scale {} ignored: the database holds {warehouses} warehouses",
                ctx.scale
            ));
        }
        let wait = if parse_bool(ctx, "wait")? {
            let factor: f64 = ctx.param_as("wait_factor")?;
            if !(factor >= 0.0 && factor.is_finite()) {
                return Err(WorkloadError::failed(format!(
                    "parameter 'wait_factor' must be a number >= 0, got {factor}"
                )));
            }
            Some(factor)
        } else {
            None
        };
        let id = i64::from(ctx.worker_id);
        Ok(Tpcc {
            mix,
            rng: Rng::new(ctx.seed),
            terminal: Terminal {
                w_id: id % warehouses + 1,
                d_id: (id / warehouses) % 10 + 1,
                scale: warehouses,
                c: meta.constants,
            },
            statements: Statements::prepare()?,
            isolation: parse_isolation(ctx)?,
            max_retries: ctx.param_as("max_retries")?,
            wait,
        })
    }

    fn step(&mut self) -> Result<Outcome, StepError> {
        let kind = match &mut self.mix {
            Mix::Standard(deck) => deck.draw(&mut self.rng),
            Mix::Only(kind) => *kind,
        };
        let (keying, think_mean) = kind.wait_times();
        if let Some(factor) = self.wait {
            sleep_s(keying * factor);
        }
        let outcome = self.transaction(kind)?;
        if let Some(factor) = self.wait {
            sleep_s(random::think_time(&mut self.rng, think_mean) * factor);
        }
        Ok(outcome)
    }

    fn summarize(ctx: &Context, run: &RunSummary) -> stormdb_sdk::Result<Vec<Figure>> {
        let warehouses = schema::loaded_warehouses()
            .ok()
            .flatten()
            .unwrap_or(i64::from(ctx.scale));
        let mut figures = summary::figures(run, warehouses, ctx.mode == "standard");
        if parse_bool(ctx, "check")? {
            figures.extend(checks::run()?);
        }
        Ok(figures)
    }

    fn cleanup(_ctx: &Context) -> stormdb_sdk::Result<()> {
        schema::cleanup()
    }
}

stormdb_sdk::export_workload!(Tpcc);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hundred_cards_hold_the_exact_mix() {
        let mut deck = Deck::standard();
        let mut rng = Rng::new(4);
        for _ in 0..3 {
            let hand: Vec<Kind> = (0..100).map(|_| deck.draw(&mut rng)).collect();
            let n = |k: Kind| hand.iter().filter(|c| **c == k).count();
            assert_eq!(n(Kind::NewOrder), 45);
            assert_eq!(n(Kind::Payment), 43);
            assert_eq!(n(Kind::OrderStatus), 4);
            assert_eq!(n(Kind::Delivery), 4);
            assert_eq!(n(Kind::StockLevel), 4);
        }
    }

    #[test]
    fn modes_name_the_operations() {
        for name in [
            "new-order",
            "payment",
            "order-status",
            "delivery",
            "stock-level",
        ] {
            assert_eq!(Kind::parse(name).map(Kind::name), Some(name));
        }
        assert_eq!(Kind::parse("standard"), None);
    }
}
