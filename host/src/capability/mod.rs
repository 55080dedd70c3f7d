//! What plugins may ask of the host, one module per imported interface.
//! Each knows nothing of wasm stores or the CLI: it implements the
//! generated host traits on its own state.

pub mod log;
pub mod metrics;
pub mod sql;
