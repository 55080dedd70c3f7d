//! Consistency conditions 1 to 4 of clause 3.3.2, checked with SQL after
//! the run. Each query counts the warehouses or districts that violate the
//! condition, so 0 is a pass.

use stormdb_sdk::{Figure, sql};

/// (figure name, unit, query counting the violations)
const CONDITIONS: [(&str, &str, &str); 4] = [
    (
        "consistency 1: W_YTD = sum(D_YTD)",
        "warehouses",
        "SELECT count(*) FROM warehouse w \
         WHERE w.w_ytd IS DISTINCT FROM \
           (SELECT sum(d.d_ytd) FROM district d WHERE d.d_w_id = w.w_id)",
    ),
    // With no undelivered order left, max(NO_O_ID) does not exist and only
    // the orders half of the condition applies.
    (
        "consistency 2: D_NEXT_O_ID - 1 = max(O_ID) = max(NO_O_ID)",
        "districts",
        "SELECT count(*) FROM district d \
         WHERE d.d_next_o_id - 1 IS DISTINCT FROM \
             (SELECT max(o.o_id) FROM orders o WHERE o.o_w_id = d.d_w_id AND o.o_d_id = d.d_id) \
           OR d.d_next_o_id - 1 <> coalesce( \
             (SELECT max(n.no_o_id) FROM new_order n \
              WHERE n.no_w_id = d.d_w_id AND n.no_d_id = d.d_id), d.d_next_o_id - 1)",
    ),
    (
        "consistency 3: max(NO_O_ID) - min(NO_O_ID) + 1 = rows in NEW-ORDER",
        "districts",
        "SELECT count(*) FROM ( \
           SELECT max(no_o_id) - min(no_o_id) + 1 AS span, count(*) AS n \
           FROM new_order GROUP BY no_w_id, no_d_id) x \
         WHERE x.span <> x.n",
    ),
    (
        "consistency 4: sum(O_OL_CNT) = rows in ORDER-LINE",
        "districts",
        "SELECT count(*) FROM \
           (SELECT o_w_id, o_d_id, sum(o_ol_cnt) AS lines FROM orders GROUP BY o_w_id, o_d_id) o \
           FULL JOIN \
           (SELECT ol_w_id, ol_d_id, count(*) AS lines FROM order_line GROUP BY ol_w_id, ol_d_id) l \
           ON o.o_w_id = l.ol_w_id AND o.o_d_id = l.ol_d_id \
         WHERE o.lines IS DISTINCT FROM l.lines",
    ),
];

/// One figure per condition: the number of violating rows, expected 0.
pub fn run() -> stormdb_sdk::Result<Vec<Figure>> {
    CONDITIONS
        .iter()
        .map(|(name, unit, query)| {
            let violations: i64 = sql::query(query, &[])?.value(0, 0)?;
            Ok(Figure::new(name, violations as f64, unit).expect_between(0.0, 0.0, "0"))
        })
        .collect()
}
