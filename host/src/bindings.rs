//! The `stormdb:workload` contract as host-side Rust types, generated from
//! `wit/` at build time. Everything that crosses the host/plugin boundary is
//! named here, so the capability and sandbox layers agree on one definition.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "workload-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [PartialEq],
    with: {
        "stormdb:workload/sql.transaction": crate::capability::sql::TransactionHandle,
        "stormdb:workload/sql.statement": crate::capability::sql::StatementHandle,
    },
});

pub use self::exports::stormdb::workload::workload::{
    Context, Figure, Info, OperationSummary, Outcome, RunSummary, StepError, WorkloadError,
};
pub use self::stormdb::workload::types::{Column, DatabaseError, RowSet, SqlError, Value};

/// The WIT package version this host implements; plugins built against
/// another version are refused at load.
pub const WIT_PACKAGE: &str = "stormdb:workload@0.1.0";
