//! The Outreach sync hub: enrolls devices into organisations, syncs their Automerge documents
//! (directory sections, the brochure catalog, visit logs) under each document kind's access
//! rule, stores brochure files, and reports visit counts with small cells suppressed.
//!
//! The hub reuses the core's model and document code (`outreach_core::doc`), never its device
//! store. Its own storage is a data directory: `hub.db` (SQLite, encrypted with SQLCipher when a
//! [`DbKey`] is given), `blobs/` and `seal.key`, all readable by their owner only. It keeps
//! nothing about devices or documents in memory between requests.
//!
//! ```no_run
//! # async fn example() -> Result<(), outreach_hub::Error> {
//! use outreach_hub::{Hub, HubConfig};
//! let hub = Hub::open("/var/lib/outreach-hub", HubConfig::default())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8787").await?;
//! let server = hub.serve(listener, None)?;
//! println!("listening on {}", server.local_addr());
//! server.shutdown().await?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod admin;
mod auth;
mod blobs;
mod config;
mod db;
mod demo;
pub mod disclosure;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod hub;
mod metrics;
mod migrate;
mod org_report;
mod owner_only;
mod report;
mod seal;
mod sync;
mod validate;

/// The `tracing` targets of the hub's events, stable whatever module emits them. Events carry
/// addresses, codes, counts and error kinds; never a token, a code or document content.
pub mod log_targets {
    /// Serving: start, stop, requests that failed inside the hub.
    pub const HUB: &str = "outreach::hub";
    /// Connections and requests: one line per request, limits, TLS.
    pub const HTTP: &str = "outreach::hub::http";
    /// The data directory and its database.
    pub const STORAGE: &str = "outreach::hub::storage";
}

pub use admin::{
    AuditEntry, CodeInfo, DeviceInfo, DocumentInfo, EnrollmentCode, Organisation, DEFAULT_CODE_VALIDITY,
    MAX_CODE_VALIDITY,
};
pub use config::HubConfig;
pub use db::cipher::DbKey;
pub use demo::{DemoSummary, DEMO_ORGANISATIONS};
pub use disclosure::Protection;
pub use error::{status_of, ApiError, Error, Result};
pub use http::{operator_router, router, ServerHandle, ShutdownTrigger, TlsConfig};
pub use hub::{Hub, HubKeys, Metrics, Storage, BLOBS_DIR, DATABASE_FILE};
pub use migrate::Migrated;
pub use report::{
    standard_tables, tabulate, Count, Dim, Measure, OriginGroup, Period, Table, TableSpec,
    SUPPRESSION_THRESHOLD,
};
pub use seal::{SealKey, SealKeySource, SEAL_KEY_FILE};
pub use validate::{validator_main, Isolation, ValidatorLimits, VALIDATOR_ARG};
