//! Sync with a hub: the wire protocol shared with the hub ([`protocol`], always built), and
//! the device's client (with the `device` feature).
//!
//! - [`Store::enroll`](crate::Store::enroll) exchanges a one-time code for credentials, kept in
//!   the encrypted store.
//! - [`Store::sync`](crate::Store::sync) uploads the brochure files published here, then pushes
//!   every document's new changes and applies what the hub answers (one round trip in the steady
//!   state), removes expired visit-log months and fetches brochure files.
//! - [`Store::fetch_brochure_files`](crate::Store::fetch_brochure_files) fetches brochure files
//!   on its own.
//!
//! [`engine`] is the whole of a sync, in order, on one page.
//!
//! Every step can be cut at any byte: changes are acknowledged only once applied, files are
//! verified before they are moved into place, and a partial download resumes. Network work is
//! async on the caller's tokio runtime; the core starts none of its own.

#[cfg(feature = "device")]
mod blobs;
#[cfg(feature = "device")]
mod cancel;
#[cfg(feature = "device")]
mod client;
#[cfg(feature = "device")]
pub mod engine;
#[cfg(feature = "device")]
pub(crate) mod http;
#[cfg(feature = "device")]
mod options;
#[cfg(feature = "device")]
pub(crate) use options::signed;
pub mod protocol;
#[cfg(feature = "device")]
pub(crate) mod retention;
#[cfg(feature = "device")]
mod retry;

#[cfg(feature = "device")]
pub use cancel::CancelToken;
#[cfg(feature = "device")]
pub use client::Enrollment;
#[cfg(feature = "device")]
pub use options::{
    DocumentRefusal, FetchReport, SyncOptions, SyncPhase, SyncProgress, SyncProgressUpdate, SyncReport,
    DEFAULT_RETENTION_DAYS, DEFAULT_STORAGE_BUDGET_BYTES,
};
