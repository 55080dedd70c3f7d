//! Memory and table limits of one instance. wasmtime's own `StoreLimits`
//! caps each linear memory on its own, so a component with many memories
//! could take the cap many times over; this limiter counts them together.

use wasmtime::ResourceLimiter;

/// Core instances, memories and tables one component instance may create:
/// far more than any language runtime needs, few enough that creating them
/// cannot be an attack of its own.
const MAX_PARTS: usize = 100;

/// Limits of one instance, with what its memories take so far.
pub struct InstanceLimiter {
    max_memory: usize,
    used_memory: usize,
    max_table_elements: usize,
}

impl InstanceLimiter {
    /// `max_memory` bytes of linear memory in all; tables of at most
    /// `max_table_elements` elements each.
    pub fn new(max_memory: usize, max_table_elements: usize) -> Self {
        InstanceLimiter {
            max_memory,
            used_memory: 0,
            max_table_elements,
        }
    }
}

impl ResourceLimiter for InstanceLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A new memory grows from 0, so its initial size is counted too.
        let total = self
            .used_memory
            .saturating_add(desired.saturating_sub(current));
        if total > self.max_memory || maximum.is_some_and(|m| desired > m) {
            wasmtime::bail!(
                "forcing trap when growing memory to {desired} bytes: the instance's memories \
                 would take {total} bytes, over its limit of {}",
                self.max_memory
            );
        }
        self.used_memory = total;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(error.context("forcing a memory growth failure to be a trap"))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_table_elements || maximum.is_some_and(|m| desired > m) {
            wasmtime::bail!("forcing trap when growing table to {desired} elements");
        }
        Ok(true)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(error.context("forcing a table growth failure to be a trap"))
    }

    fn instances(&self) -> usize {
        MAX_PARTS
    }

    fn tables(&self) -> usize {
        MAX_PARTS
    }

    fn memories(&self) -> usize {
        MAX_PARTS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memories_count_together() {
        let mut l = InstanceLimiter::new(100, 10);
        assert!(l.memory_growing(0, 40, None).unwrap());
        assert!(l.memory_growing(0, 40, None).unwrap());
        // A third memory of 40 would make 120 in all, though each is small.
        let err = l.memory_growing(0, 40, None).unwrap_err().to_string();
        assert!(err.contains("forcing trap when growing memory"), "{err}");
        assert!(l.memory_growing(40, 60, None).unwrap());
        assert!(l.memory_growing(60, 61, None).is_err());
        assert!(l.table_growing(0, 10, None).unwrap());
        assert!(l.table_growing(0, 11, None).is_err());
    }
}
