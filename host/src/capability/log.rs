//! The log capability: plugin log lines, attributed and rate-limited, so a
//! flooding plugin costs the host a counter increment per dropped line.

use crate::bindings::stormdb::workload::log::{Host, Level};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Longest line kept; longer ones are cut and marked.
const MAX_LINE: usize = 2048;

/// Where one plugin instance's log lines (and its stdout/stderr) go.
#[derive(Clone)]
pub struct LogSink {
    inner: Arc<Mutex<Bucket>>,
    last_stderr: Arc<Mutex<Option<String>>>,
    plugin: Arc<str>,
    worker: Option<u32>,
}

/// A token bucket of `rate` lines per second, `burst` at once.
struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
    dropped: u64,
}

impl LogSink {
    /// A sink for `plugin`'s instance serving `worker` (None for setup and
    /// describe instances), allowing `rate` lines per second.
    pub fn new(plugin: Arc<str>, worker: Option<u32>, rate: f64) -> Self {
        let burst = (rate * 4.0).max(1.0);
        LogSink {
            inner: Arc::new(Mutex::new(Bucket {
                tokens: burst,
                rate,
                burst,
                last: Instant::now(),
                dropped: 0,
            })),
            last_stderr: Arc::new(Mutex::new(None)),
            plugin,
            worker,
        }
    }

    /// Lines dropped by the rate limit so far.
    pub fn dropped(&self) -> u64 {
        self.inner.lock().map(|b| b.dropped).unwrap_or(0)
    }

    /// Remembers the latest stderr line, rate limit or not: a panicking
    /// guest's last words explain its trap. Rust's hint about
    /// RUST_BACKTRACE, printed after the panic message, is skipped.
    pub fn record_stderr(&self, line: &str) {
        if line.starts_with("note: run with `RUST_BACKTRACE") {
            return;
        }
        if let Ok(mut last) = self.last_stderr.lock() {
            let mut l = line.to_string();
            l.truncate(l.floor_char_boundary(MAX_LINE));
            *last = Some(l);
        }
    }

    /// The latest stderr line, taken.
    pub fn last_stderr(&self) -> Option<String> {
        self.last_stderr.lock().ok()?.take()
    }

    fn admit(&self) -> bool {
        let Ok(mut b) = self.inner.lock() else {
            return false;
        };
        let now = Instant::now();
        let refill = now.duration_since(b.last).as_secs_f64() * b.rate;
        b.tokens = (b.tokens + refill).min(b.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            b.dropped += 1;
            false
        }
    }

    /// Emits one line at `level` if the rate limit allows.
    pub fn emit(&self, level: Level, message: &str) {
        if !self.admit() {
            return;
        }
        let mut text: String = message
            .chars()
            .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
            .collect();
        if text.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str(" [cut]");
        }
        let plugin = &*self.plugin;
        let worker = self
            .worker
            .map_or_else(|| "-".to_string(), |w| w.to_string());
        match level {
            Level::Trace => tracing::trace!(target: "plugin", plugin, worker, "{text}"),
            Level::Debug => tracing::debug!(target: "plugin", plugin, worker, "{text}"),
            Level::Info => tracing::info!(target: "plugin", plugin, worker, "{text}"),
            Level::Warn => tracing::warn!(target: "plugin", plugin, worker, "{text}"),
            Level::Error => tracing::error!(target: "plugin", plugin, worker, "{text}"),
        }
    }
}

impl Host for LogSink {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.emit(level, &message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_to_the_burst() {
        let sink = LogSink::new("p".into(), Some(0), 10.0);
        for _ in 0..1000 {
            sink.emit(Level::Debug, "x");
        }
        // Burst of 40, plus at most a few refilled while the loop ran.
        let dropped = sink.dropped();
        assert!((950..=960).contains(&dropped), "dropped {dropped}");
    }
}
