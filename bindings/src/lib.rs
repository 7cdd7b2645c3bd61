//! UniFFI bindings of the Outreach core, for the Android (Kotlin) and iOS (Swift) apps.
//!
//! Thin wrappers only: [`OutreachStore`] holds an [`outreach_core::Store`]. The core's plain
//! records and enums cross the FFI as they are (its `uniffi` feature; Kotlin package
//! `org.outreach.core.model`); [`types`] holds the few whose shape differs (lists for sets and
//! maps keyed by newtypes, text ids). Every exported call catches panics and returns
//! [`OutreachError::Internal`] instead of unwinding into the app; [`set_log_sink`] forwards the
//! log to the app.
//!
//! Generate the bindings from the built library (library mode), with this workspace's pinned
//! generator: `cargo run -p outreach-ffi --bin uniffi-bindgen -- generate --library
//! target/release/liboutreach_ffi.so --language kotlin --out-dir out --config bindings/uniffi.toml`.

mod error;
mod log;
mod store;
pub mod types;

pub use error::OutreachError;
pub use log::{set_log_sink, LogLevel, LogSink};
pub use store::{
    CallbackError, OutreachStore, StoreObserver, StoreSubscription, SyncCancellation, SyncProgressListener,
};
pub use types::*;

uniffi::setup_scaffolding!();
