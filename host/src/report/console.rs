//! The summary printed at the end of a run, laid out like pgbench's.

use super::Report;
use std::fmt::Write as _;

fn ms(v: f64) -> String {
    format!("{v:.3}")
}

/// `text` on one line, cut to `max` characters. Much of what is printed
/// comes from the plugin (operation names, figures, error messages): its
/// control characters are blanked, so it cannot move the cursor, recolour
/// the terminal or forge lines of the summary.
fn one_line(text: &str, max: usize) -> String {
    let visible: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat: String = visible.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(3)).collect();
        cut + "..."
    }
}

/// The console summary of `r`.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "workload: {} {} ({}), mode {}, scale {}",
        r.workload.name, r.workload.version, r.workload.origin, r.workload.mode, r.workload.scale
    );
    let _ = writeln!(
        w,
        "database: {}{}",
        r.database.target,
        if r.database.embedded {
            " (throwaway local server)"
        } else {
            ""
        }
    );
    if let Some(v) = &r.database.server_version {
        let _ = writeln!(w, "server version: {v}");
    }
    if let Some(s) = &r.setup {
        if s.performed {
            let _ = writeln!(
                w,
                "setup: {} rows loaded with {} loader(s) in {:.1} s",
                s.rows, s.loaders, s.elapsed_s
            );
        } else {
            let _ = writeln!(w, "setup: already loaded, skipped");
        }
    }
    let _ = writeln!(
        w,
        "workers: {}, connections: {}, threads: {}, seed: {}",
        r.config.workers, r.config.connections, r.config.threads, r.config.seed
    );
    let s = &r.summary;
    let _ = writeln!(w, "status: {}", r.status);
    if let Some(e) = &r.error {
        let _ = writeln!(w, "error: {}", one_line(e, 2000));
    }
    let _ = writeln!(
        w,
        "transactions: {} in {:.3} s ({} failed, {} rolled back on purpose)",
        s.transactions, s.elapsed_s, s.errors, s.rolled_back
    );
    let _ = writeln!(w, "tps: {:.1}", s.tps);
    let l = &r.latency_ms;
    let _ = writeln!(
        w,
        "latency ms: mean {} stddev {} | p50 {} p95 {} p99 {} p99.9 {} max {}",
        ms(l.mean),
        ms(l.stddev),
        ms(l.p50),
        ms(l.p95),
        ms(l.p99),
        ms(l.p999),
        ms(l.max)
    );
    if let Some(rate) = &r.rate {
        let _ = writeln!(
            w,
            "rate: target {:.1} tps ({} arrivals), achieved {:.1}",
            rate.target_tps, rate.arrivals, s.tps
        );
        let g = &rate.lag_ms;
        let _ = writeln!(
            w,
            "schedule lag ms: mean {} p50 {} p99 {} max {}",
            ms(g.mean),
            ms(g.p50),
            ms(g.p99),
            ms(g.max)
        );
        if rate.unstarted > 0 {
            let _ = writeln!(
                w,
                "behind schedule: {} steps due before the end had not started (not run)",
                rate.unstarted
            );
        }
        if let Some(limit) = rate.latency_limit_ms {
            // Shares as pgbench prints them: skipped of everything
            // scheduled, late of the transactions that succeeded.
            let share = |n: u64, of: u64| {
                if of == 0 {
                    0.0
                } else {
                    n as f64 * 100.0 / of as f64
                }
            };
            let scheduled = s.transactions + s.errors + rate.skipped;
            let _ = writeln!(
                w,
                "latency limit {limit:.3} ms: {} skipped ({:.3}%), {} late ({:.3}%)",
                rate.skipped,
                share(rate.skipped, scheduled),
                rate.late,
                share(rate.late, s.transactions)
            );
        }
    }
    if s.retried > 0 {
        let _ = writeln!(
            w,
            "retried: {} steps, {} retries in all",
            s.retried, s.retries
        );
    }
    if r.pool_wait_ms.max > 0.0 {
        let p = &r.pool_wait_ms;
        let _ = writeln!(
            w,
            "pool wait ms: mean {} p99 {} max {}",
            ms(p.mean),
            ms(p.p99),
            ms(p.max)
        );
    }
    if r.connections.connect_ms.count > 0 {
        let c = &r.connections.connect_ms;
        let _ = writeln!(
            w,
            "connect ms: mean {} p50 {} p99 {} max {}",
            ms(c.mean),
            ms(c.p50),
            ms(c.p99),
            ms(c.max)
        );
        for (mode, m) in &r.connections.by_mode {
            let _ = writeln!(
                w,
                "  {mode}: {} workers, {} transactions, {:.1} tps",
                m.workers, m.transactions, m.tps
            );
        }
    }
    if r.operations.len() > 1 || r.operations.values().any(|o| o.errors > 0) {
        let _ = writeln!(
            w,
            "{:<20} {:>10} {:>8} {:>10} {:>9} {:>9} {:>9}",
            "operation", "count", "errors", "tps", "mean ms", "p95 ms", "p99 ms"
        );
        for (name, o) in &r.operations {
            let _ = writeln!(
                w,
                "{:<20} {:>10} {:>8} {:>10.1} {:>9} {:>9} {:>9}",
                one_line(name, 128),
                o.count,
                o.errors,
                o.tps,
                ms(o.latency_ms.mean),
                ms(o.latency_ms.p95),
                ms(o.latency_ms.p99)
            );
        }
    }
    if !r.statements.is_empty() {
        // Like pgbench -r: per statement, mean latency and failures.
        let _ = writeln!(w, "statement latencies in milliseconds and failures:");
        const SHOWN: usize = 40;
        for st in r.statements.iter().take(SHOWN) {
            let _ = writeln!(
                w,
                "  {:>10} {:>8} {:>8}  {}",
                ms(st.latency_ms.mean),
                st.count,
                st.errors,
                one_line(&st.text, 100)
            );
        }
        if r.statements.len() > SHOWN {
            let _ = writeln!(
                w,
                "  ... and {} more statements in the JSON report",
                r.statements.len() - SHOWN
            );
        }
    }
    if !r.workload.figures.is_empty() {
        let _ = writeln!(w, "workload figures:");
        for (name, f) in &r.workload.figures {
            let expected = f.expected.as_deref().map(|e| one_line(e, 200));
            let check = match (f.ok, &expected) {
                (Some(true), Some(e)) => format!("  (ok, expected {e})"),
                (Some(false), Some(e)) => format!("  (OUT OF RANGE, expected {e})"),
                (_, Some(e)) => format!("  (expected {e})"),
                _ => String::new(),
            };
            let unit = if f.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", one_line(&f.unit, 40))
            };
            let _ = writeln!(
                w,
                "  {}: {}{unit}{check}",
                one_line(name, 128),
                figure_value(f.value)
            );
        }
    }
    if !r.errors.is_empty() {
        let _ = writeln!(w, "errors:");
        for e in &r.errors {
            let state = e
                .sqlstate
                .as_deref()
                .map(|s| format!(" {}", one_line(s, 5)))
                .unwrap_or_default();
            let _ = writeln!(
                w,
                "  {:?}{state}: {} (e.g. {})",
                e.kind,
                e.count,
                one_line(&e.sample, 500)
            );
        }
    }
    if s.replaced_instances > 0 {
        let _ = writeln!(
            w,
            "instances replaced after a trap or timeout: {}",
            s.replaced_instances
        );
    }
    for warning in &r.warnings {
        let _ = writeln!(w, "WARNING: {}", one_line(warning, 2000));
    }
    out
}

/// A figure's value: whole numbers (counts, scales) without decimals,
/// others to three.
fn figure_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::{figure_value, one_line};

    #[test]
    fn plugin_text_cannot_forge_or_recolour_lines() {
        let hostile = "op\n\x1b[2Kstatus: completed\r\x1b[31mred";
        let shown = one_line(hostile, 200);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(!shown.contains('\n'));
        assert_eq!(one_line(&"x".repeat(300), 10), "xxxxxxx...");
    }

    #[test]
    fn whole_figures_print_without_decimals() {
        assert_eq!(figure_value(10.0), "10");
        assert_eq!(figure_value(-3.0), "-3");
        assert_eq!(figure_value(3.0061), "3.006");
        assert_eq!(figure_value(0.5), "0.500");
    }
}
