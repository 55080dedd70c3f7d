//! The wasm side: one engine, a linker that offers exactly the allowed
//! imports, compiled components (cached by digest) and the instances built
//! from them.

mod cache;
mod epoch;
mod instance;
mod limits;
mod state;
mod stdio;

pub use cache::ArtifactCache;
pub use epoch::EpochClock;
pub use instance::{CallError, CallLimits, Called, Lifecycle, PluginInstance};
pub use state::HostState;

use crate::bindings::{WIT_PACKAGE, WorkloadPluginPre};
use crate::capability::log::LogSink;
use crate::capability::sql::SqlSession;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store};

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a valid component, or it failed to compile.
    #[error("plugin '{plugin}' is not a valid WebAssembly component: {reason}")]
    Invalid {
        /// The plugin's name.
        plugin: String,
        /// The compiler's message.
        reason: String,
    },
    /// It imports something outside the allowed world.
    #[error(
        "plugin '{plugin}' imports {import}, which StormDB does not provide (plugins get the \
         stormdb:workload interfaces, clocks, random and stdio; filesystem and sockets only as \
         inert stubs, and not at all with strict WASI)"
    )]
    ForbiddenImport {
        /// The plugin's name.
        plugin: String,
        /// The import that is not allowed.
        import: String,
    },
    /// It targets another version of the contract.
    #[error("plugin '{plugin}' was built for {found}, but this StormDB implements {WIT_PACKAGE}")]
    WrongWitVersion {
        /// The plugin's name.
        plugin: String,
        /// The version it was built for.
        found: String,
    },
    /// It does not export the workload interface.
    #[error("plugin '{plugin}' does not export {WIT_PACKAGE}'s workload interface")]
    NotAWorkload {
        /// The plugin's name.
        plugin: String,
    },
    /// Linking failed for another reason.
    #[error("plugin '{plugin}' cannot be linked: {reason}")]
    Link {
        /// The plugin's name.
        plugin: String,
        /// wasmtime's message.
        reason: String,
    },
}

/// Limits applied to every instance.
#[derive(Debug, Clone)]
pub struct InstanceLimits {
    /// Linear memory per instance, bytes.
    pub memory_bytes: usize,
    /// Table elements per instance.
    pub table_elements: usize,
    /// Plugin log lines per second per instance.
    pub log_lines_per_sec: f64,
    /// Refuse components that import the inert filesystem and socket
    /// interfaces instead of linking them.
    pub strict_wasi: bool,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        InstanceLimits {
            memory_bytes: 256 << 20,
            table_elements: 100_000,
            log_lines_per_sec: 20.0,
            strict_wasi: false,
        }
    }
}

/// Owns the wasmtime engine and linker.
pub struct Sandbox {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    cache: ArtifactCache,
    compiled: Mutex<HashMap<String, Component>>,
    clock: EpochClock,
    limits: InstanceLimits,
}

/// Import prefixes a plugin may have: the contract and the harmless parts
/// of WASI that language runtimes import by default.
const ALLOWED_IMPORTS: &[&str] = &[
    "stormdb:workload/",
    "wasi:io/error@0.2",
    "wasi:io/poll@0.2",
    "wasi:io/streams@0.2",
    "wasi:clocks/wall-clock@0.2",
    "wasi:clocks/monotonic-clock@0.2",
    "wasi:random/random@0.2",
    "wasi:random/insecure@0.2",
    "wasi:random/insecure-seed@0.2",
    "wasi:cli/environment@0.2",
    "wasi:cli/exit@0.2",
    "wasi:cli/stdin@0.2",
    "wasi:cli/stdout@0.2",
    "wasi:cli/stderr@0.2",
    "wasi:cli/terminal-",
];

/// Interfaces that Python and JavaScript runtimes import whether or not a
/// plugin uses them. They are linked inert (no preopened directories, all
/// network use denied), so importing them grants nothing; with
/// `strict_wasi` a component importing them is refused instead.
const INERT_IMPORTS: &[&str] = &[
    "wasi:filesystem/types@0.2",
    "wasi:filesystem/preopens@0.2",
    "wasi:sockets/network@0.2",
    "wasi:sockets/instance-network@0.2",
    "wasi:sockets/tcp@0.2",
    "wasi:sockets/tcp-create-socket@0.2",
    "wasi:sockets/udp@0.2",
    "wasi:sockets/udp-create-socket@0.2",
    "wasi:sockets/ip-name-lookup@0.2",
];

fn engine_config() -> Config {
    let mut c = Config::new();
    // Per-call CPU deadlines; see epoch.rs for why the ticker is a tokio task.
    c.epoch_interruption(true);
    c.cranelift_opt_level(wasmtime::OptLevel::Speed);
    // Long-lived worker instances ran faster with the on-demand allocator
    // than with pooling (fewer mprotect calls per step); instances are
    // created once per worker and only again after a trap.
    c.allocation_strategy(wasmtime::InstanceAllocationStrategy::OnDemand);
    c
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.clock.shutdown();
    }
}

impl Sandbox {
    /// A sandbox applying `limits` to every instance and caching compiled
    /// components in `cache`.
    pub fn new(limits: InstanceLimits, cache: ArtifactCache) -> anyhow::Result<Self> {
        let engine = Engine::new(&engine_config())?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        add_wasi(&mut linker)?;
        use crate::bindings::stormdb::workload::{log, metrics, sql, types};
        use crate::capability::metrics::CounterSink;
        types::add_to_linker::<HostState, HasSelf<SqlSession>>(&mut linker, |s| &mut s.sql)?;
        sql::add_to_linker::<HostState, HasSelf<SqlSession>>(&mut linker, |s| &mut s.sql)?;
        log::add_to_linker::<HostState, HasSelf<LogSink>>(&mut linker, |s| &mut s.log)?;
        metrics::add_to_linker::<HostState, HasSelf<CounterSink>>(&mut linker, |s| {
            &mut s.counters
        })?;
        let clock = EpochClock::new(engine.clone());
        Ok(Sandbox {
            engine,
            linker: Arc::new(linker),
            cache,
            compiled: Mutex::new(HashMap::new()),
            clock,
            limits,
        })
    }

    /// The epoch clock; the runner runs its ticker on one of its threads.
    pub fn clock(&self) -> &EpochClock {
        &self.clock
    }

    /// Compiles (or loads from cache) the component `bytes`, whose SHA-256 is
    /// `digest` and which the caller has verified, checks that it implements
    /// the contract and imports nothing else, and prepares it for
    /// instantiation.
    pub fn load(
        &self,
        plugin: &str,
        bytes: &[u8],
        digest: &str,
    ) -> Result<PluginRuntime, LoadError> {
        let component = self.compile(plugin, bytes, digest)?;
        check_world(plugin, &self.engine, &component, self.limits.strict_wasi)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link {
                plugin: plugin.to_string(),
                reason: format!("{e:#}"),
            })?;
        let pre = WorkloadPluginPre::new(pre).map_err(|e| LoadError::Link {
            plugin: plugin.to_string(),
            reason: format!("{e:#}"),
        })?;
        Ok(PluginRuntime {
            name: Arc::from(plugin),
            digest: digest.to_string(),
            pre,
            engine: self.engine.clone(),
            clock: self.clock.clone(),
            limits: self.limits.clone(),
        })
    }

    fn compile(&self, plugin: &str, bytes: &[u8], digest: &str) -> Result<Component, LoadError> {
        if let Some(c) = self
            .compiled
            .lock()
            .ok()
            .and_then(|m| m.get(digest).cloned())
        {
            return Ok(c);
        }
        let component = match self.cache.load(&self.engine, digest) {
            Some(c) => c,
            None => {
                let started = Instant::now();
                let c = Component::new(&self.engine, bytes).map_err(|e| LoadError::Invalid {
                    plugin: plugin.to_string(),
                    reason: format!("{e:#}"),
                })?;
                tracing::debug!("compiled {plugin} in {:?}", started.elapsed());
                self.cache.store(&self.engine, digest, &c);
                c
            }
        };
        if let Ok(mut m) = self.compiled.lock() {
            m.insert(digest.to_string(), component.clone());
        }
        Ok(component)
    }
}

/// Only the WASI interfaces in [`ALLOWED_IMPORTS`]: no filesystem, sockets
/// or name lookup exist in the linker, so a component importing them fails
/// the import check with its name rather than finding a door.
fn add_wasi(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    use wasmtime_wasi::cli::WasiCli;
    use wasmtime_wasi::cli::WasiCliView;
    use wasmtime_wasi::clocks::WasiClocks;
    use wasmtime_wasi::clocks::WasiClocksView;
    use wasmtime_wasi::p2::bindings::{cli, clocks, random};
    use wasmtime_wasi::random::WasiRandom;
    use wasmtime_wasi::random::WasiRandomView;
    let l = linker;
    wasmtime_wasi_io::add_to_linker_async(l)?;
    clocks::wall_clock::add_to_linker::<HostState, WasiClocks>(l, HostState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<HostState, WasiClocks>(l, HostState::clocks)?;
    random::random::add_to_linker::<HostState, WasiRandom>(l, HostState::random)?;
    random::insecure::add_to_linker::<HostState, WasiRandom>(l, HostState::random)?;
    random::insecure_seed::add_to_linker::<HostState, WasiRandom>(l, HostState::random)?;
    cli::exit::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::environment::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_input::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_output::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;

    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
    use wasmtime_wasi::p2::bindings::{filesystem, sockets};
    use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};
    filesystem::types::add_to_linker::<HostState, WasiFilesystem>(l, HostState::filesystem)?;
    filesystem::preopens::add_to_linker::<HostState, WasiFilesystem>(l, HostState::filesystem)?;
    sockets::tcp::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    sockets::udp::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    sockets::udp_create_socket::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    sockets::tcp_create_socket::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    sockets::instance_network::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    sockets::network::add_to_linker::<HostState, WasiSockets>(
        l,
        &Default::default(),
        HostState::sockets,
    )?;
    sockets::ip_name_lookup::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    Ok(())
}

/// Checks the component's imports and exports against the contract before
/// anything is instantiated.
fn check_world(
    plugin: &str,
    engine: &Engine,
    component: &Component,
    strict_wasi: bool,
) -> Result<(), LoadError> {
    let ty = component.component_type();
    let (ours, version) = WIT_PACKAGE.split_once('@').unwrap_or((WIT_PACKAGE, ""));
    let wrong_version = |name: &str| -> Option<String> {
        let rest = name.strip_prefix(ours)?.strip_prefix('/')?;
        let (_, v) = rest.split_once('@')?;
        (v != version).then(|| format!("{ours}@{v}"))
    };
    let mut exports_workload = false;
    for (name, _) in ty.exports(engine) {
        if let Some(found) = wrong_version(name) {
            return Err(LoadError::WrongWitVersion {
                plugin: plugin.to_string(),
                found,
            });
        }
        if name == format!("{ours}/workload@{version}") {
            exports_workload = true;
        }
    }
    for (name, _) in ty.imports(engine) {
        if let Some(found) = wrong_version(name) {
            return Err(LoadError::WrongWitVersion {
                plugin: plugin.to_string(),
                found,
            });
        }
        let inert_ok = !strict_wasi && INERT_IMPORTS.iter().any(|p| name.starts_with(p));
        if !inert_ok && !ALLOWED_IMPORTS.iter().any(|p| name.starts_with(p)) {
            return Err(LoadError::ForbiddenImport {
                plugin: plugin.to_string(),
                import: name.to_string(),
            });
        }
    }
    if !exports_workload {
        return Err(LoadError::NotAWorkload {
            plugin: plugin.to_string(),
        });
    }
    Ok(())
}

/// A component ready to be instantiated any number of times.
#[derive(Clone)]
pub struct PluginRuntime {
    name: Arc<str>,
    digest: String,
    pre: WorkloadPluginPre<HostState>,
    engine: Engine,
    clock: EpochClock,
    limits: InstanceLimits,
}

impl PluginRuntime {
    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256 of the component.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The epoch clock its instances' deadlines run on.
    pub fn clock(&self) -> &EpochClock {
        &self.clock
    }

    /// A fresh instance whose SQL goes through `sql`; `worker` labels its
    /// log lines.
    pub async fn instantiate(
        &self,
        sql: SqlSession,
        worker: Option<u32>,
    ) -> Result<PluginInstance, CallError> {
        let log = LogSink::new(self.name.clone(), worker, self.limits.log_lines_per_sec);
        let limits =
            limits::InstanceLimiter::new(self.limits.memory_bytes, self.limits.table_elements);
        let mut store = Store::new(&self.engine, HostState::new(sql, log, limits));
        store.limiter(|s| &mut s.limits);
        instance::install_deadline(&mut store);
        let bindings = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| CallError::from_trap(e, &store))?;
        Ok(PluginInstance::new(store, bindings))
    }
}
