//! StormDB: PostgreSQL load testing and benchmarking whose workloads are
//! WebAssembly components.
//!
//! Data flows one way through the modules: [`config`] → [`plugin`]
//! (resolve and verify) → [`sandbox`] (compile, instantiate) → [`runner`]
//! (setup, workers, cleanup) with [`capability`] serving the plugins' SQL
//! and [`pg`] the connections → [`metrics`] → [`report`]. See
//! ARCHITECTURE.md.

pub mod app;
pub mod bindings;
pub mod capability;
pub mod cli;
pub mod config;
pub mod metrics;
pub mod pg;
pub mod plugin;
pub mod registry;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod scaffold;
