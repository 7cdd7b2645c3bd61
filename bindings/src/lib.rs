//! UniFFI bindings of the Outreach core, for the Android (Kotlin) and iOS (Swift) apps.
//!
//! Thin wrappers only: [`OutreachStore`] holds an [`outreach_core::Store`] and converts between
//! the core's model and the records and enums in [`types`], which mirror it in shapes UniFFI
//! carries (lists for sets and maps keyed by newtypes, text ids). Every exported call catches
//! panics and returns [`OutreachError::Internal`] instead of unwinding into the app.
//!
//! Generate the bindings from the built library (library mode), with this workspace's pinned
//! generator: `cargo run -p outreach-ffi --bin uniffi-bindgen -- generate --library
//! target/release/liboutreach_ffi.so --language kotlin --out-dir out --config bindings/uniffi.toml`.

mod error;
mod store;
pub mod types;

pub use error::OutreachError;
pub use store::{
    CallbackError, OutreachStore, StoreObserver, StoreSubscription, SyncCancellation, SyncProgressListener,
};
pub use types::*;

uniffi::setup_scaffolding!();
