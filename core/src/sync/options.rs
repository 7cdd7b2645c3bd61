//! What the app chooses for a sync (languages, retention, storage budget, timeouts, an extra CA),
//! what a sync reports back, and how it tells its progress.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::model::{DocId, Lang, Month};
use crate::sync::protocol::ErrorCode;

/// Days a visit-log month stays on the device after it ended, once the hub holds all of it.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// Default room for brochure files on the device.
pub const DEFAULT_STORAGE_BUDGET_BYTES: u64 = 200 * 1024 * 1024;

/// Choices for [`Store::enroll`](crate::Store::enroll), [`Store::sync`](crate::Store::sync) and
/// [`Store::fetch_brochure_files`](crate::Store::fetch_brochure_files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOptions {
    /// Languages the worker shows brochures in, in order of preference: for each brochure in
    /// force, the file of the first of them it has is kept on the device (else a file in any
    /// language, as [`Store::brochures`](crate::Store::brochures) shows it).
    pub languages: Vec<Lang>,
    /// Days after its month ended that a visit-log month the hub holds in full stays on the
    /// device (data minimisation); default 30.
    pub retention_days: u32,
    /// Most bytes of brochure files kept on the device; files that do not fit are skipped.
    pub storage_budget_bytes: u64,
    /// Whether [`Store::sync`](crate::Store::sync) also fetches missing brochure files.
    pub fetch_files: bool,
    /// Longest wait for the hub: for an answer to start, and between two pieces of a body. A
    /// request body also gets time to upload at a slow mobile rate.
    pub request_timeout: Duration,
    /// Longest wait for a connection to the hub (TCP and TLS).
    pub connect_timeout: Duration,
    /// Longest wait for each round's answer to start, retries included (plus the time the
    /// request takes to upload at a slow mobile rate): a hub that takes the connection and
    /// never answers ends the sync with [`Error::Network`](crate::Error::Network) after this.
    /// An answer that is arriving is bound by `request_timeout` between its pieces instead.
    pub deadline: Duration,
    /// Attempts of each request on transient failures (connection failed or timed out, the hub
    /// answered 5xx or 429); at least 1. Other refusals are never retried.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled at each retry, with jitter.
    pub retry_base_delay: Duration,
    /// Longest wait between two attempts (also caps a hub's `Retry-After`).
    pub retry_max_delay: Duration,
    /// An extra certificate authority to trust, in PEM, besides the public web roots: partner
    /// organisations may run hubs with a private CA.
    pub extra_ca_pem: Option<String>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            languages: Vec::new(),
            retention_days: DEFAULT_RETENTION_DAYS,
            storage_budget_bytes: DEFAULT_STORAGE_BUDGET_BYTES,
            fetch_files: true,
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(45),
            max_attempts: 4,
            retry_base_delay: Duration::from_millis(500),
            retry_max_delay: Duration::from_secs(20),
            extra_ca_pem: None,
        }
    }
}

/// A count as the apps read it: signed, as Kotlin and Swift count (`Int`, `Long`), saturating
/// at the maximum, which no count of a sync comes near.
pub(crate) fn signed<T: TryInto<I>, I: Saturates>(n: T) -> I {
    n.try_into().unwrap_or(I::MAX)
}

/// The signed integers of the reports.
pub(crate) trait Saturates {
    /// The largest value.
    const MAX: Self;
}

impl Saturates for i32 {
    const MAX: i32 = i32::MAX;
}

impl Saturates for i64 {
    const MAX: i64 = i64::MAX;
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// Sync requests answered by the hub (one in the steady state).
    pub round_trips: i32,
    /// Bytes of request bodies sent (sync requests and uploaded files).
    pub bytes_up: i64,
    /// Bytes of response bodies received (sync answers and downloaded files).
    pub bytes_down: i64,
    /// Documents whose changes were sent.
    pub documents_pushed: i32,
    /// Changes sent.
    pub changes_pushed: i64,
    /// Documents that received changes, or arrived whole.
    pub documents_pulled: i32,
    /// Changes received that this device did not have.
    pub changes_pulled: i64,
    /// Documents the hub sent that this device refused (bytes that do not parse, or a layout
    /// from a newer app); they are asked for again at the next sync.
    pub documents_refused: i32,
    /// Documents removed because this device may no longer read them.
    pub documents_dropped: i32,
    /// Documents sent whole because the hub lacked their history.
    pub documents_resent: i32,
    /// Documents whose changes the hub refused, with its reasons: they stay on this device,
    /// and every other document synced.
    pub refused_by_hub: Vec<DocumentRefusal>,
    /// Documents from a newer app than this one: left as they were, until the app is updated.
    pub upgrade_needed: Vec<DocId>,
    /// Documents whose history on this device had regressed (commits lost after they were
    /// sent) and that were rebuilt on the hub's copy with this device's later work.
    pub histories_recovered: i32,
    /// Brochure files published here and uploaded to the hub.
    pub files_uploaded: i32,
    /// Brochure files fetched after the documents (empty when not asked for).
    pub files: FetchReport,
    /// Visit-log months of this device removed after the retention period.
    pub months_removed: Vec<Month>,
    /// Whether everything was exchanged; `false` when the hub still had more after the last
    /// round allowed, which the next sync continues.
    pub complete: bool,
    /// Time the sync took.
    pub duration: Duration,
}

/// A document the hub refused to take from this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DocumentRefusal {
    /// The document.
    pub doc: DocId,
    /// The hub's stable code.
    pub code: ErrorCode,
    /// The hub's reason, for people.
    pub reason: String,
}

/// What fetching brochure files did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FetchReport {
    /// Files downloaded and verified.
    pub fetched: i32,
    /// Bytes downloaded (including retries and resumed parts).
    pub bytes: i64,
    /// Files that could not be fetched: missing on the hub, refused, or not matching their
    /// hash (then discarded, never shown).
    pub failed: i32,
    /// Of the failed files, those whose content did not match their hash.
    pub hash_mismatches: i32,
    /// Files left out because they did not fit the storage budget.
    pub skipped: i32,
    /// Files removed because no brochure in force uses them, or they no longer fit.
    pub removed: i32,
    /// Files left for a later fetch because the connection failed; a partial download resumes
    /// where it stopped.
    pub pending: i32,
}

/// The step a sync is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    /// Reaching the hub.
    Connecting,
    /// Sending files or changes.
    Uploading,
    /// Waiting for the hub's answer to start (told every few seconds, with the bytes field
    /// holding the milliseconds waited).
    Waiting,
    /// Receiving the hub's answer.
    Downloading,
    /// Merging what was received into the store.
    Applying,
    /// Fetching brochure files.
    BrochureFiles,
    /// Finished.
    Done,
}

/// One progress update. Counts are for the current phase; `total` is 0 when unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record), uniffi(name = "SyncProgress"))]
pub struct SyncProgressUpdate {
    /// The step.
    pub phase: SyncPhase,
    /// Sync round (1 for the first request), or 0 outside rounds.
    pub round: i32,
    /// Items (documents or files) done in this phase.
    pub done: i64,
    /// Items in this phase, 0 if unknown.
    pub total: i64,
    /// Bytes moved in this phase.
    pub bytes: i64,
    /// Bytes expected in this phase, 0 if unknown.
    pub bytes_total: i64,
}

/// Told how a sync progresses, from the task running it. Implementations must be quick; a
/// panic is contained.
pub trait SyncProgress: Send + Sync {
    /// Called at each step.
    fn on_progress(&self, update: &SyncProgressUpdate);
}

impl<F: Fn(&SyncProgressUpdate) + Send + Sync> SyncProgress for F {
    fn on_progress(&self, update: &SyncProgressUpdate) {
        self(update)
    }
}

/// The optional progress callback, with the round the sync is in.
#[derive(Clone, Default)]
pub(crate) struct Reporter {
    callback: Option<Arc<dyn SyncProgress>>,
    round: u32,
}

impl Reporter {
    /// Reports to `callback`, if any.
    pub fn new(callback: Option<Arc<dyn SyncProgress>>) -> Reporter {
        Reporter { callback, round: 0 }
    }

    /// Sets the round named in later updates.
    pub fn set_round(&mut self, round: u32) {
        self.round = round;
    }

    /// Tells the phase and counts.
    pub fn tell(&self, phase: SyncPhase, done: u64, total: u64, bytes: u64, bytes_total: u64) {
        if let Some(cb) = &self.callback {
            let update = SyncProgressUpdate {
                phase,
                round: signed(self.round),
                done: signed(done),
                total: signed(total),
                bytes: signed(bytes),
                bytes_total: signed(bytes_total),
            };
            // App code: its panic must not unwind into the sync.
            if catch_unwind(AssertUnwindSafe(|| cb.on_progress(&update))).is_err() {
                tracing::warn!(target: crate::log_targets::SYNC, "a progress callback panicked; ignored");
            }
        }
    }

    /// Tells a phase with no counts.
    pub fn phase(&self, phase: SyncPhase) {
        self.tell(phase, 0, 0, 0, 0);
    }
}
