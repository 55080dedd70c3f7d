//! Host-side measurement: HdrHistograms in microseconds, merged across
//! threads at the end (never averaged percentiles), plus error tallies.
//! Memory is fixed by the number of operations and workers, not by the
//! length of the run.

mod errors;
mod histogram;
pub mod intervals;
mod statements;

pub use errors::{ErrorEntry, ErrorKind, ErrorTally};
pub use histogram::{LatencyHistogram, LatencySummary};
pub use statements::{StatementSample, StatementStats, Statements, kind_of, normalize};

use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::time::Duration;

/// Distinct operation names tracked; later ones count as [`OTHER_OPERATIONS`].
pub const MAX_OPERATIONS: usize = 256;
/// The operation that collects names past [`MAX_OPERATIONS`].
pub const OTHER_OPERATIONS: &str = "(other)";
/// Longest operation or counter name kept, in bytes; longer ones are cut.
pub const MAX_NAME_BYTES: usize = 128;

/// `name` cut to [`MAX_NAME_BYTES`] at a character boundary: the plugin
/// chooses names, and 256 of them could otherwise be any size.
fn bounded(name: &str) -> &str {
    if name.len() <= MAX_NAME_BYTES {
        return name;
    }
    let mut cut = MAX_NAME_BYTES;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    &name[..cut]
}

/// Statistics of one operation (the name a step returns).
#[derive(Debug, Clone)]
pub struct OpStats {
    /// Latency of successful steps.
    pub latency: LatencyHistogram,
    /// Successful steps, including intended rollbacks.
    pub count: u64,
    /// Steps that rolled back on purpose.
    pub rolled_back: u64,
    /// Failed steps.
    pub errors: u64,
}

impl OpStats {
    fn new() -> Self {
        OpStats {
            latency: LatencyHistogram::new(),
            count: 0,
            rolled_back: 0,
            errors: 0,
        }
    }

    fn merge(&mut self, other: &OpStats) {
        self.latency.merge(&other.latency);
        self.count += other.count;
        self.rolled_back += other.rolled_back;
        self.errors += other.errors;
    }
}

/// Per-worker counts, to see whether every worker made progress.
#[derive(Debug, Clone)]
pub struct WorkerStats {
    /// Latency of its successful steps (two significant digits).
    pub latency: LatencyHistogram,
    /// Successful steps.
    pub transactions: u64,
    /// Failed steps.
    pub errors: u64,
    /// Times the worker's instance was replaced after a trap or timeout.
    pub replacements: u64,
    /// The worker opened a new connection per step.
    pub transient: bool,
}

impl Default for WorkerStats {
    fn default() -> Self {
        WorkerStats {
            latency: LatencyHistogram::coarse(),
            transactions: 0,
            errors: 0,
            replacements: 0,
            transient: false,
        }
    }
}

/// Everything measured by one runtime thread; merged into one at the end.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Time steps waited for a pooled connection.
    pub pool_wait: LatencyHistogram,
    /// Time steps spent opening a connection (transient mode).
    pub connect: LatencyHistogram,
    /// Per operation, in order of first appearance.
    ops: Vec<(String, OpStats)>,
    index: HashMap<String, usize>,
    /// Per worker id.
    pub workers: FxHashMap<u32, WorkerStats>,
    /// Errors by kind and SQLSTATE.
    pub errors: ErrorTally,
    /// Workload-defined counters.
    pub counters: std::collections::BTreeMap<String, u64>,
    /// Per SQL statement.
    pub statements: Statements,
    /// Schedule lag (rate mode).
    pub lag: LatencyHistogram,
    /// Steps that finished later than the latency limit.
    pub late: u64,
    /// Steps skipped because they could not start within the limit.
    pub skipped: u64,
    /// Rate mode: arrivals due before the end of `-d` that had not started
    /// by then (the backlog the run ended with).
    pub unstarted: u64,
    /// Steps that needed more than one try.
    pub retried: u64,
    /// Extra tries in all.
    pub retries: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Recorder {
            pool_wait: LatencyHistogram::new(),
            connect: LatencyHistogram::new(),
            ops: Vec::new(),
            index: HashMap::new(),
            workers: FxHashMap::default(),
            errors: ErrorTally::default(),
            counters: std::collections::BTreeMap::new(),
            statements: Statements::default(),
            lag: LatencyHistogram::new(),
            late: 0,
            skipped: 0,
            unstarted: 0,
            retried: 0,
            retries: 0,
        }
    }

    /// Adds to a workload-defined counter; past [`MAX_OPERATIONS`] names,
    /// new ones share [`OTHER_OPERATIONS`].
    pub fn count(&mut self, name: &str, delta: u64) {
        let name = bounded(name);
        if let Some(v) = self.counters.get_mut(name) {
            *v = v.saturating_add(delta);
            return;
        }
        let name = if self.counters.len() >= MAX_OPERATIONS {
            OTHER_OPERATIONS
        } else {
            name
        };
        let v = self.counters.entry(name.to_string()).or_insert(0);
        *v = v.saturating_add(delta);
    }

    fn op(&mut self, name: &str) -> &mut OpStats {
        let name = bounded(name);
        // Workloads have a handful of operations: comparing names beats
        // hashing one per step. The map takes over for plugins with many.
        let found = if self.ops.len() <= 16 {
            self.ops.iter().position(|(n, _)| n == name)
        } else {
            self.index.get(name).copied()
        };
        let i = match found {
            Some(i) => i,
            // A plugin inventing names without end must not grow memory
            // without end: past the cap, new names share one bucket.
            None if self.ops.len() >= MAX_OPERATIONS && name != OTHER_OPERATIONS => {
                return self.op(OTHER_OPERATIONS);
            }
            None => {
                self.ops.push((name.to_string(), OpStats::new()));
                self.index.insert(name.to_string(), self.ops.len() - 1);
                self.ops.len() - 1
            }
        };
        &mut self.ops[i].1
    }

    /// A worker that has not completed anything yet still shows up.
    pub fn register_worker(&mut self, worker: u32, transient: bool) {
        self.workers.entry(worker).or_default().transient = transient;
    }

    /// Time a step spent opening its connection.
    pub fn connect_time(&mut self, d: Duration) {
        self.connect.record(d);
    }

    /// A successful step of `op` by `worker` that took `latency`.
    pub fn success(&mut self, worker: u32, op: &str, latency: Duration, rolled_back: bool) {
        let s = self.op(op);
        s.latency.record(latency);
        s.count += 1;
        if rolled_back {
            s.rolled_back += 1;
        }
        let w = self.workers.entry(worker).or_default();
        w.transactions += 1;
        w.latency.record(latency);
    }

    /// A failed step by `worker`, of operation `op` when the plugin named
    /// it (a trapped step names nothing).
    pub fn failure(
        &mut self,
        worker: u32,
        op: Option<&str>,
        kind: ErrorKind,
        sqlstate: Option<&str>,
        message: &str,
    ) {
        if let Some(op) = op {
            self.op(op).errors += 1;
        }
        self.errors.add(kind, sqlstate, message);
        self.workers.entry(worker).or_default().errors += 1;
    }

    /// The worker's instance was discarded and replaced.
    pub fn replaced(&mut self, worker: u32) {
        self.workers.entry(worker).or_default().replacements += 1;
    }

    /// Time a step waited for a connection.
    pub fn pool_wait(&mut self, wait: Duration) {
        self.pool_wait.record(wait);
    }

    /// Operations in order of first appearance.
    pub fn ops(&self) -> impl Iterator<Item = (&str, &OpStats)> {
        self.ops.iter().map(|(n, s)| (n.as_str(), s))
    }

    /// Successful steps.
    pub fn transactions(&self) -> u64 {
        self.ops.iter().map(|(_, s)| s.count).sum()
    }

    /// Failed steps.
    pub fn failed(&self) -> u64 {
        self.errors.total()
    }

    /// Steps that rolled back on purpose.
    pub fn rolled_back(&self) -> u64 {
        self.ops.iter().map(|(_, s)| s.rolled_back).sum()
    }

    /// Instances replaced after a trap or timeout.
    pub fn replacements(&self) -> u64 {
        self.workers.values().map(|w| w.replacements).sum()
    }

    /// Latency of every successful step: the operations' histograms merged
    /// (each step is recorded once, in its operation's histogram).
    pub fn overall(&self) -> LatencyHistogram {
        let mut all = LatencyHistogram::new();
        for (_, s) in &self.ops {
            all.merge(&s.latency);
        }
        all
    }

    /// Adds everything `other` measured.
    pub fn merge(&mut self, other: &Recorder) {
        self.pool_wait.merge(&other.pool_wait);
        self.connect.merge(&other.connect);
        for (name, stats) in &other.ops {
            self.op(name).merge(stats);
        }
        for (id, w) in &other.workers {
            let mine = self.workers.entry(*id).or_default();
            mine.transactions += w.transactions;
            mine.errors += w.errors;
            mine.replacements += w.replacements;
            mine.transient |= w.transient;
            mine.latency.merge(&w.latency);
        }
        self.errors.merge(&other.errors);
        for (name, v) in &other.counters {
            self.count(name, *v);
        }
        self.statements.merge(&other.statements);
        self.lag.merge(&other.lag);
        self.late += other.late;
        self.skipped += other.skipped;
        self.unstarted += other.unstarted;
        self.retried += other.retried;
        self.retries += other.retries;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_operation_names_are_cut() {
        let mut r = Recorder::new();
        let long = "é".repeat(1000);
        r.success(0, &long, Duration::from_micros(10), false);
        r.success(0, &long, Duration::from_micros(10), false);
        r.count(&long, 3);
        let (name, stats) = r.ops().next().unwrap();
        assert!(name.len() <= MAX_NAME_BYTES && name.starts_with('é'));
        assert_eq!(stats.count, 2);
        assert_eq!(r.counters.values().sum::<u64>(), 3);
        assert!(r.counters.keys().all(|k| k.len() <= MAX_NAME_BYTES));
    }

    #[test]
    fn endless_operation_names_are_capped() {
        let mut r = Recorder::new();
        for i in 0..1000 {
            r.success(0, &format!("op{i}"), Duration::from_micros(10), false);
        }
        assert_eq!(r.ops().count(), MAX_OPERATIONS + 1);
        assert_eq!(r.transactions(), 1000);
        let other = r
            .ops()
            .find(|(n, _)| *n == OTHER_OPERATIONS)
            .map(|(_, s)| s.count);
        assert_eq!(other, Some(1000 - MAX_OPERATIONS as u64));
    }

    #[test]
    fn merging_adds_counts_and_histograms() {
        let mut a = Recorder::new();
        let mut b = Recorder::new();
        a.success(0, "read", Duration::from_micros(100), false);
        b.success(1, "read", Duration::from_micros(300), false);
        b.success(1, "write", Duration::from_micros(500), true);
        b.failure(
            1,
            Some("write"),
            ErrorKind::Serialization,
            Some("40001"),
            "could not serialize",
        );
        a.merge(&b);
        assert_eq!(a.transactions(), 3);
        assert_eq!(a.failed(), 1);
        let ops: Vec<_> = a
            .ops()
            .map(|(n, s)| (n.to_string(), s.count, s.errors))
            .collect();
        assert_eq!(ops, vec![("read".into(), 2, 0), ("write".into(), 1, 1)]);
        assert_eq!(a.overall().count(), 3);
        assert_eq!(a.workers[&1].transactions, 2);
        assert_eq!(a.errors.total(), 1);
    }
}
