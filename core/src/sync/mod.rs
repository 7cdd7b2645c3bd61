//! Sync with a hub: the wire protocol shared with the hub, and the device's client.
//!
//! - [`Store::enroll`](crate::Store::enroll) exchanges a one-time code for credentials, kept in
//!   the encrypted store.
//! - [`Store::sync`](crate::Store::sync) uploads the brochure files published here, then pushes
//!   every document's new changes and applies what the hub answers (one round trip in the steady
//!   state), removes expired visit-log months and fetches brochure files.
//! - [`Store::fetch_brochure_files`](crate::Store::fetch_brochure_files) fetches brochure files
//!   on its own.
//!
//! Every step can be cut at any byte: changes are acknowledged only once applied, files are
//! verified before they are moved into place, and a partial download resumes. Network work is
//! async on the caller's tokio runtime; the core starts none of its own.

mod blobs;
mod cancel;
mod client;
pub(crate) mod http;
mod options;
pub mod protocol;
mod retention;
mod retry;
mod round;

pub use cancel::CancelToken;
pub use client::Enrollment;
pub use options::{
    DocumentRefusal, FetchReport, SyncOptions, SyncPhase, SyncProgress, SyncProgressUpdate, SyncReport,
    DEFAULT_RETENTION_DAYS, DEFAULT_STORAGE_BUDGET_BYTES,
};
