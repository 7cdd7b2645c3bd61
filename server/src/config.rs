//! The hub's limits, set at start-up.

use std::time::Duration;

/// Bounds on what one request may carry and one answer may hold, so that a device on weak mobile
/// data gets answers of a bounded size and a faulty or hostile device cannot exhaust the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// Largest request body of `/v1/enroll` and `/v1/sync`, in bytes (brochure uploads are bound
    /// by [`outreach_core::model::MAX_FILE_BYTES`] instead).
    pub max_body_bytes: usize,
    /// Most documents in one sync request.
    pub max_docs: usize,
    /// Most changes (and heads) sent for one document in one sync request.
    pub max_changes: usize,
    /// Size of the document payloads in one sync answer beyond which the answer is cut and
    /// `more` is set. A single document larger than this is still sent, alone.
    pub max_response_bytes: usize,
    /// Bytes the Automerge data of one sync request may occupy once its compressed columns are
    /// inflated (compressed change chunks are refused outright): bounds the memory a request
    /// costs whatever its bytes declare.
    pub max_inflated_bytes: usize,
    /// Most operations in one pushed change.
    pub max_ops_per_change: usize,
    /// Most operations in all the changes of one sync request.
    pub max_ops_per_request: usize,
    /// How long a graceful shutdown waits for requests in flight before closing connections.
    pub shutdown_grace: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            max_body_bytes: 16 * 1024 * 1024,
            max_docs: 10_000,
            max_changes: 50_000,
            max_response_bytes: 8 * 1024 * 1024,
            max_inflated_bytes: 16 * 1024 * 1024,
            max_ops_per_change: 100_000,
            max_ops_per_request: 1_000_000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}
