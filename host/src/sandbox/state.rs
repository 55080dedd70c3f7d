//! What a wasm store holds for one plugin instance.

use super::epoch::CpuBudget;
use super::limits::InstanceLimiter;
use super::stdio::PluginOutput;
use crate::bindings::stormdb::workload::log::Level;
use crate::capability::log::LogSink;
use crate::capability::metrics::CounterSink;
use crate::capability::sql::SqlSession;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Store data of one instance: its capabilities and its limits.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// The SQL capability.
    pub sql: SqlSession,
    /// The log capability.
    pub log: LogSink,
    /// The metrics capability.
    pub counters: CounterSink,
    pub(super) limits: InstanceLimiter,
    pub(super) cpu: CpuBudget,
}

impl HostState {
    /// State for one instance: no environment, arguments, files or sockets;
    /// stdout and stderr go to `log`.
    pub fn new(sql: SqlSession, log: LogSink, limits: InstanceLimiter) -> Self {
        // No preopened directories, no network of any kind: the filesystem
        // and socket interfaces some language runtimes import exist, but
        // every attempt to open something through them is refused.
        let wasi = WasiCtx::builder()
            .stdout(PluginOutput::new(log.clone(), Level::Info))
            .stderr(PluginOutput::new(log.clone(), Level::Warn))
            .allow_blocking_current_thread(false)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            sql,
            log,
            counters: CounterSink::default(),
            limits,
            cpu: CpuBudget::default(),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_io::IoView for HostState {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}
