//! Outreach core: the offline heart of the outreach workers' app.
//!
//! It keeps the partner directory, the brochure catalog and the device's anonymised visit logs
//! in Automerge documents stored in an encrypted SQLite database, answers queries from a read
//! model kept in step with those documents, and refuses notes that contain personal data.

pub mod doc;
mod error;
pub mod migrate;
pub mod model;
pub mod privacy;
pub mod sample;
#[cfg(feature = "device")]
pub mod store;
pub mod sync;
pub mod text;
#[cfg(feature = "uniffi")]
mod uniffi_support;

pub use error::{Error, Result};

/// The `tracing` targets of the core's events. Events carry counts, ids, codes and error kinds;
/// never a note, a token, a key, an enrollment code or anything a user typed.
pub mod log_targets {
    /// Sync with a hub: rounds, what they carried, refusals.
    pub const SYNC: &str = "outreach::sync";
    /// The store: opening, read-model rebuilds, documents refused, app callbacks that failed.
    pub const STORE: &str = "outreach::store";
}
#[cfg(feature = "device")]
pub use store::{
    LocalBrochureFile, Store, StoreChanges, StoreKey, StoreObserver, StoreOptions, Subscription,
};
#[cfg(feature = "device")]
pub use sync::{
    CancelToken, DocumentRefusal, Enrollment, FetchReport, SyncOptions, SyncPhase, SyncProgress,
    SyncProgressUpdate, SyncReport,
};

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();
