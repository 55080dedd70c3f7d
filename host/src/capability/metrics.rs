//! The metrics capability: workload-defined counters. Increments are held
//! per call and handed to the runner, which keeps them only for steps it
//! records (not warmup, not failed steps).

use crate::bindings::stormdb::workload::metrics::Host;

/// Longest counter name kept; longer names are cut.
const MAX_NAME: usize = 128;
/// Distinct names one call may count.
const MAX_NAMES_PER_CALL: usize = 64;

/// Counters incremented during the current call.
#[derive(Default)]
pub struct CounterSink {
    pending: Vec<(String, u64)>,
}

impl CounterSink {
    /// Forgets what the previous call counted.
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// What the current call counted.
    pub fn take(&mut self) -> Vec<(String, u64)> {
        std::mem::take(&mut self.pending)
    }

    fn add(&mut self, name: &str, delta: u64) {
        let mut name = name;
        if name.len() > MAX_NAME {
            name = &name[..name.floor_char_boundary(MAX_NAME)];
        }
        if let Some((_, v)) = self.pending.iter_mut().find(|(n, _)| n == name) {
            *v = v.saturating_add(delta);
        } else if self.pending.len() < MAX_NAMES_PER_CALL {
            self.pending.push((name.to_string(), delta));
        }
    }
}

impl Host for CounterSink {
    async fn count(&mut self, name: String, delta: u64) -> wasmtime::Result<()> {
        self.add(&name, delta);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_merge_by_name_and_are_bounded() {
        let mut s = CounterSink::default();
        s.add("a", 1);
        s.add("a", 2);
        s.add(&"x".repeat(500), 1);
        for i in 0..200 {
            s.add(&format!("n{i}"), 1);
        }
        let taken = s.take();
        assert_eq!(taken[0], ("a".to_string(), 3));
        assert_eq!(taken[1].0.len(), MAX_NAME);
        assert_eq!(taken.len(), MAX_NAMES_PER_CALL);
        assert!(s.take().is_empty());
    }
}
