//! Write StormDB workload plugins in Rust.
//!
//! A workload is a type implementing [`Workload`], exported with
//! [`export_workload!`]. The crate builds the `stormdb:workload` WIT bindings
//! once, and adds what every workload needs on top of them: typed values and
//! row access ([`Value`], [`Rows`]), transactions ([`sql::begin`]), a seeded,
//! repeatable random number generator ([`Rng`]) and logging ([`log`]).
//!
//! ```no_run
//! use stormdb_sdk::{sql, Context, Info, Outcome, StepError, StepResultExt, Workload};
//!
//! struct Ping { rng: stormdb_sdk::Rng }
//!
//! impl Workload for Ping {
//!     fn describe() -> Info {
//!         stormdb_sdk::info("ping", "0.1.0", "SELECT 1 in a loop").mode("select", "one SELECT").build()
//!     }
//!     fn init(ctx: &Context) -> stormdb_sdk::Result<Self> {
//!         Ok(Ping { rng: stormdb_sdk::Rng::new(ctx.seed) })
//!     }
//!     fn step(&mut self) -> Result<Outcome, StepError> {
//!         let n = self.rng.uniform(1, 100);
//!         sql::query("SELECT $1::int4", &[n.into()]).op("select")?;
//!         Ok(Outcome::new("select"))
//!     }
//! }
//!
//! stormdb_sdk::export_workload!(Ping);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm`
//! in `target/wasm32-wasip2/release/` is the component StormDB runs.

#![warn(missing_docs)]

/// The raw bindings generated from `wit/`. Prefer the re-exports and helpers
/// of this crate; the bindings are public for what they do not cover.
#[allow(missing_docs, clippy::all, unsafe_op_in_unsafe_fn)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "workload-plugin",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_raw",
        default_bindings_module: "stormdb_sdk::bindings",
        additional_derives: [PartialEq],
    });
}

mod describe;
mod rng;
pub mod sql;
mod value;

pub use bindings::exports::stormdb::workload::workload::{
    Context, Figure, Info, Mode, OperationSummary, Outcome, Parameter, RunSummary, StepError,
    WorkloadError,
};
pub use bindings::stormdb::workload::types::{Column, DatabaseError, RowSet, SqlError, Value};
pub use describe::{InfoBuilder, info};
pub use rng::Rng;
pub use sql::{Rows, StepResultExt};
pub use value::FromValue;

/// Result of the setup and init calls.
pub type Result<T, E = WorkloadError> = core::result::Result<T, E>;

/// A workload plugin. Only `describe`, `init` and `step` are required; the
/// setup calls default to doing nothing, for workloads that use tables that
/// already exist.
pub trait Workload: Sized + 'static {
    /// Name, version, modes, parameters and default scale. Called on a fresh
    /// instance; must not run SQL.
    fn describe() -> Info;

    /// Whether the schema and data for `ctx.scale` are in place.
    fn is_loaded(_ctx: &Context) -> Result<bool> {
        Ok(true)
    }

    /// Create the tables. Runs once per setup.
    fn setup_schema(_ctx: &Context) -> Result<()> {
        Ok(())
    }

    /// Load this loader's share of the data (`ctx.worker_id` of `ctx.workers`).
    fn load(_ctx: &Context) -> Result<()> {
        Ok(())
    }

    /// Add indexes and constraints, gather statistics. Runs once, after every
    /// loader finished.
    fn finish_setup(_ctx: &Context) -> Result<()> {
        Ok(())
    }

    /// Create the state of one worker.
    fn init(ctx: &Context) -> Result<Self>;

    /// Run one unit of work.
    fn step(&mut self) -> core::result::Result<Outcome, StepError>;

    /// Figures computed after the run from the host's totals (and, if
    /// wanted, from the database): tpmC, a spec's sanity checks, ...
    fn summarize(_ctx: &Context, _run: &RunSummary) -> Result<Vec<Figure>> {
        Ok(Vec::new())
    }

    /// Drop what setup created.
    fn cleanup(_ctx: &Context) -> Result<()> {
        Ok(())
    }
}

impl Figure {
    /// A figure without an expected range.
    pub fn new(name: &str, value: f64, unit: &str) -> Self {
        Figure {
            name: name.to_string(),
            value,
            unit: unit.to_string(),
            expected: None,
            ok: None,
        }
    }

    /// The same figure checked against `lo..=hi`, described as `range`.
    pub fn expect_between(mut self, lo: f64, hi: f64, range: &str) -> Self {
        self.expected = Some(range.to_string());
        self.ok = Some((lo..=hi).contains(&self.value));
        self
    }
}

impl RunSummary {
    /// The totals of operation `name`, if it ran.
    pub fn operation(&self, name: &str) -> Option<&OperationSummary> {
        self.operations.iter().find(|o| o.name == name)
    }

    /// The counter `name`, 0 if never counted.
    pub fn counter(&self, name: &str) -> u64 {
        self.counters
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, v)| *v)
    }
}

/// Counters summed by the host over the measured window.
pub mod metrics {
    /// Adds `delta` to counter `name`; counts from warmup and from failed
    /// steps are discarded by the host.
    pub fn count(name: &str, delta: u64) {
        crate::bindings::stormdb::workload::metrics::count(name, delta);
    }
}

impl Outcome {
    /// A committed step of operation `operation`.
    pub fn new(operation: &str) -> Self {
        Outcome {
            operation: operation.to_string(),
            rolled_back: false,
        }
    }

    /// A step that rolled back on purpose (e.g. TPC-C's 1% New-Order).
    pub fn rolled_back(operation: &str) -> Self {
        Outcome {
            operation: operation.to_string(),
            rolled_back: true,
        }
    }
}

impl From<SqlError> for WorkloadError {
    fn from(e: SqlError) -> Self {
        WorkloadError::Sql(e)
    }
}

impl WorkloadError {
    /// A failure described in the workload's own words.
    pub fn failed(message: impl Into<String>) -> Self {
        WorkloadError::Failed(message.into())
    }
}

impl Context {
    /// The value of parameter `name`, if the host passed it. The host passes
    /// every parameter declared in `describe`, defaults filled in.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parameter `name` parsed as `T`, with a clear error naming the
    /// parameter when it is missing or does not parse.
    pub fn param_as<T: core::str::FromStr>(&self, name: &str) -> Result<T> {
        let raw = self
            .param(name)
            .ok_or_else(|| WorkloadError::failed(format!("parameter '{name}' is missing")))?;
        raw.trim().parse().map_err(|_| {
            WorkloadError::failed(format!(
                "parameter '{name}' has value '{raw}', which does not parse as {}",
                core::any::type_name::<T>()
            ))
        })
    }
}

/// Log a line through the host, attributed to this plugin.
pub mod log {
    use crate::bindings::stormdb::workload::log as raw;
    pub use raw::Level;

    /// Log `message` at `level`.
    pub fn log(level: Level, message: &str) {
        raw::log(level, message);
    }
    /// Log at debug level.
    pub fn debug(message: &str) {
        raw::log(Level::Debug, message);
    }
    /// Log at info level.
    pub fn info(message: &str) {
        raw::log(Level::Info, message);
    }
    /// Log at warn level.
    pub fn warn(message: &str) {
        raw::log(Level::Warn, message);
    }
    /// Log at error level.
    pub fn error(message: &str) {
        raw::log(Level::Error, message);
    }
}

/// Export `$ty`, a [`Workload`], as this component's `stormdb:workload`
/// implementation. Use once per plugin crate.
#[macro_export]
macro_rules! export_workload {
    ($ty:ty) => {
        const _: () = {
            use $crate::bindings::exports::stormdb::workload::workload as __wl;

            ::std::thread_local! {
                static __STORMDB_STATE: ::core::cell::RefCell<::core::option::Option<$ty>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            struct __StormdbExport;

            impl __wl::Guest for __StormdbExport {
                fn describe() -> __wl::Info {
                    <$ty as $crate::Workload>::describe()
                }
                fn is_loaded(
                    ctx: __wl::Context,
                ) -> ::core::result::Result<bool, __wl::WorkloadError> {
                    <$ty as $crate::Workload>::is_loaded(&ctx)
                }
                fn setup_schema(
                    ctx: __wl::Context,
                ) -> ::core::result::Result<(), __wl::WorkloadError> {
                    <$ty as $crate::Workload>::setup_schema(&ctx)
                }
                fn load(ctx: __wl::Context) -> ::core::result::Result<(), __wl::WorkloadError> {
                    <$ty as $crate::Workload>::load(&ctx)
                }
                fn finish_setup(
                    ctx: __wl::Context,
                ) -> ::core::result::Result<(), __wl::WorkloadError> {
                    <$ty as $crate::Workload>::finish_setup(&ctx)
                }
                fn init(ctx: __wl::Context) -> ::core::result::Result<(), __wl::WorkloadError> {
                    let state = <$ty as $crate::Workload>::init(&ctx)?;
                    __STORMDB_STATE.with(|s| *s.borrow_mut() = ::core::option::Option::Some(state));
                    ::core::result::Result::Ok(())
                }
                fn step() -> ::core::result::Result<__wl::Outcome, __wl::StepError> {
                    __STORMDB_STATE.with(|s| match s.borrow_mut().as_mut() {
                        ::core::option::Option::Some(state) => {
                            <$ty as $crate::Workload>::step(state)
                        }
                        ::core::option::Option::None => {
                            ::core::result::Result::Err(__wl::StepError {
                                operation: ::std::string::String::from("step"),
                                error: __wl::WorkloadError::Failed(::std::string::String::from(
                                    "step called before init",
                                )),
                            })
                        }
                    })
                }
                fn summarize(
                    ctx: __wl::Context,
                    run: __wl::RunSummary,
                ) -> ::core::result::Result<::std::vec::Vec<__wl::Figure>, __wl::WorkloadError>
                {
                    <$ty as $crate::Workload>::summarize(&ctx, &run)
                }
                fn cleanup(ctx: __wl::Context) -> ::core::result::Result<(), __wl::WorkloadError> {
                    <$ty as $crate::Workload>::cleanup(&ctx)
                }
            }

    $crate::bindings::export_raw!(__StormdbExport with_types_in $crate::bindings);
        };
    };
}
