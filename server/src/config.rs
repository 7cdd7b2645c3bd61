//! The hub's limits, set at start-up.

use std::time::Duration;

use crate::error::{Error, Result};

/// Bounds on what one request may carry and one answer may hold, so that a device on weak mobile
/// data gets answers of a bounded size and a faulty or hostile device cannot exhaust the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// Largest request body of `/v1/sync`, in bytes (`/v1/enroll` is bound by
    /// [`HubConfig::max_enroll_body_bytes`], brochure uploads by
    /// [`outreach_core::model::MAX_FILE_BYTES`]).
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
    /// Where pushed Automerge bytes are decoded and validated: in validator processes of
    /// their own by default (see `validate/`).
    pub isolation: crate::validate::Isolation,
    /// Bounds on each validator process.
    pub validator: crate::validate::ValidatorLimits,
    /// How long a graceful shutdown waits for requests in flight before closing connections.
    pub shutdown_grace: Duration,

    // Connections and requests: what any caller, enrolled or not, can hold of the hub.
    /// Longest TLS handshake; the connection is then closed.
    pub tls_handshake_timeout: Duration,
    /// Longest time from a new connection (after its TLS handshake) to the complete headers of
    /// its first request, and from the first byte of a later request on a kept-alive HTTP/1
    /// connection to its complete headers. The connection is then closed without an answer.
    pub header_timeout: Duration,
    /// Longest time a connection that has served a request stays open with none in flight.
    pub idle_timeout: Duration,
    /// Time a request body is given to arrive, plus a second for every
    /// [`HubConfig::min_transfer_rate`] bytes received; beyond it the request is answered
    /// `408` and the connection closed.
    pub body_timeout: Duration,
    /// Time a request is given to be answered, plus a second for every
    /// [`HubConfig::min_transfer_rate`] bytes of its body; beyond it the answer is `503`. The
    /// answer is then given as long again, plus a second for every `min_transfer_rate` bytes
    /// sent, to reach the client before the connection is cut.
    pub request_timeout: Duration,
    /// The slowest transfer, in bytes per second, that still earns a request more time (the
    /// same weak mobile link the device's own timeouts allow for).
    pub min_transfer_rate: u64,
    /// Most connections open at once. Beyond it the hub stops accepting (new connections wait
    /// in the system's listen queue) until one closes.
    pub max_connections: usize,
    /// Most requests being served at once, over all connections; a request holds its place
    /// until its answer is sent. Beyond it a request is answered `503` with `Retry-After` at
    /// once, never queued.
    pub max_in_flight: usize,
    /// Most requests at once on one HTTP/2 connection.
    pub max_http2_streams: u32,
    /// Largest request body of `/v1/enroll`, in bytes. A larger `Content-Length` is refused
    /// before any of the body is read.
    pub max_enroll_body_bytes: usize,
    /// Enrollment attempts one client address may make in a minute, and at once. An attempt
    /// that enrolls a device does not count: only refused ones (a guessed code) use it up.
    pub enroll_attempts_per_minute: u32,
    /// Most client addresses the enrollment rate limit remembers; beyond it, those with their
    /// whole allowance are forgotten first, then the least recently seen.
    pub enroll_limiter_addresses: usize,
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
            isolation: crate::validate::Isolation::default(),
            validator: crate::validate::ValidatorLimits::default(),
            shutdown_grace: Duration::from_secs(10),

            // Connections and requests.
            tls_handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
            min_transfer_rate: 16 * 1024,
            max_connections: 512,
            max_in_flight: 256,
            max_http2_streams: 32,
            max_enroll_body_bytes: 4 * 1024,
            enroll_attempts_per_minute: 10,
            enroll_limiter_addresses: 4096,
        }
    }
}

impl HubConfig {
    /// Checks the connection and request limits: every timeout, cap and rate must be positive.
    pub(crate) fn check_connections(&self) -> Result<()> {
        let timeouts = [
            ("tls_handshake_timeout", self.tls_handshake_timeout),
            ("header_timeout", self.header_timeout),
            ("idle_timeout", self.idle_timeout),
            ("body_timeout", self.body_timeout),
            ("request_timeout", self.request_timeout),
        ];
        for (name, value) in timeouts {
            if value.is_zero() {
                return Err(Error::invalid("limit", format!("{name} must be positive")));
            }
        }
        let caps = [
            ("min_transfer_rate", self.min_transfer_rate),
            ("max_connections", self.max_connections as u64),
            ("max_in_flight", self.max_in_flight as u64),
            ("max_http2_streams", u64::from(self.max_http2_streams)),
            ("max_enroll_body_bytes", self.max_enroll_body_bytes as u64),
            (
                "enroll_attempts_per_minute",
                u64::from(self.enroll_attempts_per_minute),
            ),
            ("enroll_limiter_addresses", self.enroll_limiter_addresses as u64),
        ];
        for (name, value) in caps {
            if value == 0 {
                return Err(Error::invalid("limit", format!("{name} must be at least 1")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_and_zero_limits_are_refused() {
        assert!(HubConfig::default().check_connections().is_ok());
        let zero_timeout = HubConfig {
            header_timeout: Duration::ZERO,
            ..HubConfig::default()
        };
        assert!(zero_timeout.check_connections().is_err());
        let zero_cap = HubConfig {
            max_in_flight: 0,
            ..HubConfig::default()
        };
        assert!(zero_cap.check_connections().is_err());
    }
}
