//! Shards: one OS thread with a current-thread tokio runtime per core.
//! Measured here, this cost far less per transaction than tokio's
//! multi-thread runtime: a worker, its connection's I/O task and its pool
//! all live on one thread, so a query never wakes another thread.

use std::time::Duration;

/// The ids in `0..total` that shard `shard` of `shards` owns (round-robin).
pub fn ids_for(total: u32, shards: u32, shard: u32) -> Vec<u32> {
    (0..total).filter(|i| i % shards == shard).collect()
}

/// Shard `shard`'s share of `total` items split as evenly as possible.
pub fn share(total: u32, shards: u32, shard: u32) -> u32 {
    total / shards + u32::from(shard < total % shards)
}

/// A runtime for one shard (or for the main thread's own work).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// How long a pooled-connection wait may take before it is an error.
pub const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_ids_partition() {
        for total in [1, 5, 16, 64] {
            for shards in [1, 2, 3] {
                let sum: u32 = (0..shards).map(|s| share(total, shards, s)).sum();
                assert_eq!(sum, total);
                let mut all: Vec<u32> = (0..shards)
                    .flat_map(|s| ids_for(total, shards, s))
                    .collect();
                all.sort();
                assert_eq!(all, (0..total).collect::<Vec<_>>());
                for s in 0..shards {
                    assert_eq!(
                        ids_for(total, shards, s).len() as u32,
                        share(total, shards, s)
                    );
                }
            }
        }
    }
}
