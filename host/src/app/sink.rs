//! Where each completed interval goes while the run goes on: the time
//! series kept for the reports, the pgbench aggregate log and the
//! HdrHistogram interval log, written as intervals close.

use crate::config::RunConfig;
use crate::metrics::intervals::IntervalStats;
use crate::report::series::{self, AggregateFields, HdrLog, IntervalRow};
use crate::runner::pacing::Pacing;
use anyhow::Context as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Collects interval rows and writes the interval logs.
pub struct IntervalSink {
    width: Duration,
    rate_mode: bool,
    fields: AggregateFields,
    rows: Vec<IntervalRow>,
    aggregate: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
    hdr_path: Option<PathBuf>,
    hdr: Option<HdrLog>,
    csv: Option<PathBuf>,
    error: Option<String>,
    prometheus: Option<std::sync::Arc<std::sync::Mutex<crate::report::prometheus::PromState>>>,
}

impl IntervalSink {
    /// A sink for the outputs `cfg` asks for (files are created now, so a
    /// bad path fails before the run, not after it).
    pub fn new(cfg: &RunConfig) -> anyhow::Result<IntervalSink> {
        let (rate_mode, limit) = match cfg.pacing {
            Pacing::Open { latency_limit, .. } => (true, latency_limit.is_some()),
            Pacing::Closed { .. } => (false, false),
        };
        let aggregate = match &cfg.aggregate_log {
            Some(p) => {
                let f = std::fs::File::create(p)
                    .with_context(|| format!("creating {}", p.display()))?;
                Some((p.clone(), std::io::BufWriter::new(f)))
            }
            None => None,
        };
        Ok(IntervalSink {
            width: cfg.interval,
            rate_mode,
            fields: AggregateFields {
                lag: rate_mode,
                skipped: limit,
                retries: cfg.max_tries > 1,
            },
            rows: Vec::new(),
            aggregate,
            hdr_path: cfg.hdr_log.clone(),
            hdr: None,
            csv: cfg.csv_out.clone(),
            error: None,
            prometheus: None,
        })
    }

    /// A sink that only keeps the rows (for one workload of a mix).
    pub fn rows_only(cfg: &RunConfig) -> IntervalSink {
        let rate_mode = matches!(cfg.pacing, Pacing::Open { .. });
        IntervalSink {
            width: cfg.interval,
            rate_mode,
            fields: AggregateFields {
                lag: false,
                skipped: false,
                retries: false,
            },
            rows: Vec::new(),
            aggregate: None,
            hdr_path: None,
            hdr: None,
            csv: None,
            error: None,
            prometheus: None,
        }
    }

    /// Also feed the Prometheus endpoint's state.
    pub fn feed_prometheus(
        &mut self,
        state: std::sync::Arc<std::sync::Mutex<crate::report::prometheus::PromState>>,
    ) {
        self.prometheus = Some(state);
    }

    /// Takes one completed interval.
    pub fn interval(&mut self, index: u64, start: SystemTime, s: &IntervalStats) {
        if let Some(p) = &self.prometheus
            && let Ok(mut st) = p.lock()
        {
            st.add(s, self.width.as_secs_f64(), self.rate_mode);
        }
        self.rows
            .push(series::row(index, self.width, s, self.rate_mode));
        if let Some((path, out)) = self.aggregate.as_mut()
            && let Err(e) = writeln!(out, "{}", series::aggregate_line(start, s, self.fields))
        {
            self.error
                .get_or_insert(format!("writing {}: {e}", path.display()));
        }
        if let Some(path) = &self.hdr_path {
            if self.hdr.is_none() {
                match HdrLog::create(path, start) {
                    Ok(log) => self.hdr = Some(log),
                    Err(e) => {
                        self.error
                            .get_or_insert(format!("writing {}: {e}", path.display()));
                        self.hdr_path = None;
                        return;
                    }
                }
            }
            if let Some(log) = self.hdr.as_mut()
                && let Err(e) = log.write(start, self.width, s)
            {
                self.error
                    .get_or_insert(format!("writing {}: {e}", path.display()));
            }
        }
    }

    /// Flushes the logs, writes the CSV and returns the time series; the
    /// last interval ends `elapsed` after the start of measuring.
    pub fn finish(mut self, elapsed: Duration) -> anyhow::Result<Vec<IntervalRow>> {
        series::trim_last(&mut self.rows, elapsed);
        if let Some((path, mut out)) = self.aggregate.take() {
            out.flush()
                .with_context(|| format!("writing {}", path.display()))?;
        }
        if let Some(log) = self.hdr.take() {
            log.finish().context("writing the HdrHistogram log")?;
        }
        if let Some(e) = self.error.take() {
            anyhow::bail!(e);
        }
        if let Some(path) = &self.csv {
            series::write_csv(path, &self.rows)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(self.rows)
    }
}
