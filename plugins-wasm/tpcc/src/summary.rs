//! tpmC and the spec's sanity figures, from the host's totals.
//!
//! The spec's ranges (clauses 5.2.3 and 8.1.3) assume a run of hours; a
//! short run's proportions wander further by chance alone, so each range is
//! widened to four standard errors around the expected value when that is
//! wider, and the expected text says so.

use stormdb_sdk::{Figure, RunSummary};

/// Counter names, shared by the step code and the summary.
pub mod counter {
    /// Lines of committed New-Orders.
    pub const LINES: &str = "new-order-lines";
    /// Lines of committed New-Orders supplied by another warehouse.
    pub const REMOTE_LINES: &str = "new-order-remote-lines";
    /// Payments by a customer of another warehouse.
    pub const PAYMENT_REMOTE: &str = "payment-remote";
    /// Payments selecting the customer by last name.
    pub const PAYMENT_BY_NAME: &str = "payment-by-name";
    /// Order-Statuses selecting the customer by last name.
    pub const ORDER_STATUS_BY_NAME: &str = "order-status-by-name";
    /// Districts a Delivery found without an undelivered order.
    pub const DELIVERY_SKIPPED: &str = "delivery-skipped-districts";
    /// Transactions run again after a serialization failure or deadlock.
    pub const RETRIES: &str = "retries";
}

/// The operation names, as the host reports them.
pub mod op {
    /// New-Order.
    pub const NEW_ORDER: &str = "new-order";
    /// Payment.
    pub const PAYMENT: &str = "payment";
    /// Order-Status.
    pub const ORDER_STATUS: &str = "order-status";
    /// Delivery.
    pub const DELIVERY: &str = "delivery";
    /// Stock-Level.
    pub const STOCK_LEVEL: &str = "stock-level";
}

/// A percentage `hits / n` expected near `p`, checked against the spec's
/// `lo..=hi` (or the sampling range, when wider).
fn percent(name: &str, hits: u64, n: u64, p: f64, lo: f64, hi: f64) -> Option<Figure> {
    if n == 0 {
        return None;
    }
    let value = 100.0 * hits as f64 / n as f64;
    let se = 100.0 * (p * (1.0 - p) / n as f64).sqrt();
    Some(widened(
        Figure::new(name, value, "%"),
        100.0 * p,
        se,
        lo,
        hi,
        n,
    ))
}

fn widened(figure: Figure, mean: f64, se: f64, lo: f64, hi: f64, n: u64) -> Figure {
    let (wlo, whi) = (
        (mean - 4.0 * se).min(lo).max(0.0),
        (mean + 4.0 * se).max(hi),
    );
    let unit = if figure.unit == "%" { " %" } else { "" };
    if wlo < lo || whi > hi {
        let text =
            format!("{lo}-{hi}{unit} (spec); {wlo:.2}-{whi:.2}{unit} allowing for {n} samples");
        figure.expect_between(wlo, whi, &text)
    } else {
        figure.expect_between(lo, hi, &format!("{lo}-{hi}{unit}"))
    }
}

/// The figures for a run over `warehouses` warehouses; `mixed` when the
/// run used the standard mix (the mix figures mean nothing otherwise).
pub fn figures(run: &RunSummary, warehouses: i64, mixed: bool) -> Vec<Figure> {
    let ops = |name: &str| {
        run.operation(name)
            .map_or((0, 0), |o| (o.count, o.rolled_back))
    };
    let (new_orders, rolled_back) = ops(op::NEW_ORDER);
    let committed = new_orders.saturating_sub(rolled_back);
    let (payments, _) = ops(op::PAYMENT);
    let (order_statuses, _) = ops(op::ORDER_STATUS);
    let (deliveries, _) = ops(op::DELIVERY);
    let (stock_levels, _) = ops(op::STOCK_LEVEL);
    let minutes = run.elapsed_s / 60.0;
    let per_minute = |n: u64| {
        if minutes > 0.0 {
            n as f64 / minutes
        } else {
            0.0
        }
    };

    // tpmC counts every completed New-Order, the 1% rolled back by design
    // included (they are part of the business transaction mix); NOPM
    // counts only the orders actually entered.
    let mut out = vec![
        Figure::new("tpmc", per_minute(new_orders), "tx/min"),
        Figure::new("nopm", per_minute(committed), "orders/min"),
    ];
    out.extend(percent(
        "new-order rolled back",
        rolled_back,
        new_orders,
        0.01,
        0.9,
        1.1,
    ));
    let lines = run.counter(counter::LINES);
    if committed > 0 {
        // Five to fifteen lines, uniformly: mean 10, variance 10.
        let se = (10.0 / committed as f64).sqrt();
        let f = Figure::new(
            "order lines per new-order",
            lines as f64 / committed as f64,
            "lines",
        );
        out.push(widened(f, 10.0, se, 9.5, 10.5, committed));
    }
    if warehouses > 1 {
        out.extend(percent(
            "remote order lines",
            run.counter(counter::REMOTE_LINES),
            lines,
            0.01,
            0.95,
            1.05,
        ));
        out.extend(percent(
            "remote payments",
            run.counter(counter::PAYMENT_REMOTE),
            payments,
            0.15,
            14.25,
            15.75,
        ));
    }
    out.extend(percent(
        "payments by last name",
        run.counter(counter::PAYMENT_BY_NAME),
        payments,
        0.6,
        57.0,
        63.0,
    ));
    out.extend(percent(
        "order-statuses by last name",
        run.counter(counter::ORDER_STATUS_BY_NAME),
        order_statuses,
        0.6,
        57.0,
        63.0,
    ));
    if deliveries > 0 {
        let skipped = run.counter(counter::DELIVERY_SKIPPED);
        let value = 100.0 * skipped as f64 / (deliveries * 10) as f64;
        out.push(
            Figure::new("delivery districts skipped", value, "%").expect_between(0.0, 1.0, "0-1 %"),
        );
    }
    // The mix (clause 5.2.3): minimum shares, New-Order takes the rest.
    let total = new_orders + payments + order_statuses + deliveries + stock_levels;
    if mixed && total > 0 {
        for (name, n, p, min) in [
            ("mix payment", payments, 0.43, 43.0),
            ("mix order-status", order_statuses, 0.04, 4.0),
            ("mix delivery", deliveries, 0.04, 4.0),
            ("mix stock-level", stock_levels, 0.04, 4.0),
        ] {
            let value = 100.0 * n as f64 / total as f64;
            let se = 100.0 * (p * (1.0 - p) / total as f64).sqrt();
            let lo = (min - 4.0 * se).max(0.0);
            out.push(Figure::new(name, value, "%").expect_between(
                lo,
                100.0,
                &format!("at least {min} % (spec); {lo:.2} % allowing for {total} samples"),
            ));
        }
    }
    out.push(Figure::new(
        "retried transactions",
        run.counter(counter::RETRIES) as f64,
        "tx",
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stormdb_sdk::OperationSummary;

    fn op(name: &str, count: u64, rolled_back: u64) -> OperationSummary {
        OperationSummary {
            name: name.into(),
            count,
            errors: 0,
            rolled_back,
        }
    }

    #[test]
    fn tpmc_and_sanity_figures() {
        let run = RunSummary {
            elapsed_s: 120.0,
            operations: vec![
                op(op::NEW_ORDER, 4500, 45),
                op(op::PAYMENT, 4300, 0),
                op(op::ORDER_STATUS, 400, 0),
                op(op::DELIVERY, 400, 0),
                op(op::STOCK_LEVEL, 400, 0),
            ],
            counters: vec![
                (counter::LINES.into(), 44_550),
                (counter::REMOTE_LINES.into(), 445),
                (counter::PAYMENT_REMOTE.into(), 645),
                (counter::PAYMENT_BY_NAME.into(), 2580),
                (counter::ORDER_STATUS_BY_NAME.into(), 240),
            ],
        };
        let f = figures(&run, 2, true);
        let get = |n: &str| f.iter().find(|x| x.name == n).cloned();
        assert_eq!(get("tpmc").map(|x| x.value), Some(2250.0));
        assert_eq!(get("nopm").map(|x| x.value), Some(2227.5));
        for x in &f {
            assert_ne!(x.ok, Some(false), "{x:?}");
        }
        assert!(get("remote payments").is_some());
        assert!(
            figures(&run, 1, true)
                .iter()
                .all(|x| x.name != "remote payments")
        );
        assert!(
            figures(&run, 2, false)
                .iter()
                .all(|x| !x.name.starts_with("mix"))
        );
    }

    #[test]
    fn off_range_values_fail() {
        let f = percent("x", 50, 1000, 0.01, 0.9, 1.1);
        assert_eq!(f.and_then(|x| x.ok), Some(false));
        assert!(percent("x", 0, 0, 0.01, 0.9, 1.1).is_none());
    }
}
