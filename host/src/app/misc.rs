//! Small subcommands: `workloads` and `local-pg`.

use super::{describe_limits, load};
use crate::cli::LocalPgArgs;
use crate::pg::launcher::{LaunchOptions, LocalServer};
use crate::plugin;
use crate::runner::{self, StopSignal};
use crate::sandbox::{ArtifactCache, InstanceLimits, Sandbox};
use anyhow::anyhow;
use std::io::Write as _;
use std::time::Duration;

/// `stormdb workloads`.
pub fn workloads() -> anyhow::Result<i32> {
    let sandbox = Sandbox::new(InstanceLimits::default(), ArtifactCache::open(None))?;
    // describe runs no SQL, so this configuration is never connected to.
    let nowhere = tokio_postgres::Config::new();
    let mut out = std::io::stdout().lock();
    for name in plugin::builtin_names() {
        let artifact = plugin::builtin(name)?;
        let runtime = load(&sandbox, &artifact)?;
        let info =
            runner::describe(&runtime, &nowhere, describe_limits()).map_err(|e| anyhow!(e))?;
        writeln!(out, "{} {} — {}", info.name, info.version, info.description)?;
        writeln!(out, "  sha256 {}", artifact.sha256)?;
        writeln!(out, "  default scale {}", info.default_scale)?;
        for (i, m) in info.modes.iter().enumerate() {
            let default = if i == 0 { " (default)" } else { "" };
            writeln!(out, "  mode {}{default}: {}", m.name, m.description)?;
        }
        for p in &info.parameters {
            writeln!(
                out,
                "  param {}={}: {}",
                p.name, p.default_value, p.description
            )?;
        }
    }
    Ok(0)
}

/// `stormdb local-pg`.
pub fn local_pg(args: &LocalPgArgs) -> anyhow::Result<i32> {
    let server = LocalServer::start(&LaunchOptions {
        max_connections: args.max_connections,
    })?;
    let stop = StopSignal::new();
    stop.listen_for_signals()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", server.conninfo())?;
        out.flush()?;
    }
    let stdin_closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stdin_closed.clone();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    while !stop.stop_requested() && !stdin_closed.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    Ok(0)
}
