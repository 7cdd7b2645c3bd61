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
            shutdown_grace: Duration::from_secs(10),
        }
    }
}
