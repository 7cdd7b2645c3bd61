//! Outreach core: the offline heart of the outreach workers' app.
//!
//! It keeps the partner directory, the brochure catalog and the device's anonymised visit logs
//! in Automerge documents stored in an encrypted SQLite database, answers queries from a read
//! model kept in step with those documents, and refuses notes that contain personal data.
//!
//! # The app's API: [`Store`]
//!
//! An app holds one [`Store`] (the bindings' `OutreachStore` wraps it). Every method may be
//! called from any thread; the network ones are `async` on the caller's runtime.
//!
//! - **Open and close:** [`Store::open`], [`Store::wipe`], [`Store::wipe_files`],
//!   [`Store::compact`], [`Store::rebuild_read_model`], [`Store::device_id`], [`Store::path`],
//!   [`Store::brochure_dir`]; `Store::open_unencrypted_for_benchmark` exists only with the
//!   `bench-plaintext` feature.
//! - **The directory:** [`Store::add_partner`], [`Store::edit_partner`],
//!   [`Store::set_partner_status`], [`Store::mark_verified`], [`Store::partner`],
//!   [`Store::search_partners`], [`Store::partner_count`], [`Store::partners_with_conflicts`],
//!   [`Store::partner_conflicts`], [`Store::partner_history`].
//! - **Brochures:** [`Store::put_brochure`], [`Store::brochure`], [`Store::brochures`],
//!   [`Store::publish_brochure_file`], [`Store::brochure_file`],
//!   [`Store::fetch_brochure_files`].
//! - **Visits:** [`Store::log_visit`], [`Store::amend_visit`], [`Store::visit`],
//!   [`Store::visits`], [`Store::visit_counts`], [`Store::visit_log_months`].
//! - **Changes:** [`Store::subscribe`] (a [`StoreObserver`] told what every commit changed).
//! - **The hub:** [`Store::enroll`], [`Store::enroll_cancellable`], [`Store::enrollment`],
//!   [`Store::sync`] (see [`sync::engine`] for what a sync does, step by step).
//! - **Exchange without a hub** (two devices, a file, tests): [`Store::documents`],
//!   [`Store::document_heads`], [`Store::document_changes_since`], [`Store::document_bytes`],
//!   [`Store::apply_remote`], [`Store::remove_document`].
//!
//! Beyond the app's API: `Store::device_token_for_tests` exists only with the `testing` feature,
//! for the test that no log line holds a token, and `Store::set_clock` (a fixed clock, for tests
//! and demos that log visits on given days) is hidden from these docs.
//!
//! # Features
//!
//! - `device` (default): the store and the sync client. Without it, the crate is the model, the
//!   documents, the privacy guard, the wire protocol ([`sync::protocol`]) and the migration
//!   helper ([`migrate`]): what the hub builds on, without an HTTP client or a device store.
//! - `uniffi`: UniFFI derives on the plain records and enums, for the bindings.
//! - `testing`, `bench-plaintext`: for the tests crate and the benchmark only.
//!
//! # Logging
//!
//! Events go through `tracing` under the targets of [`log_targets`]; they never carry a note,
//! a token, a key or an enrollment code.

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
