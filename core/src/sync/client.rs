//! The device's sync client: enrollment with a hub, and a sync run from end to end (files
//! published here, rounds of document exchange, retention, brochure files).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::cancel::CancelToken;
use super::engine::Engine;
use super::http::{HubClient, HubUrl, Token};
use super::options::{SyncOptions, SyncProgress, SyncReport};
use super::protocol::{self, EnrollLink, EnrollRequest, EnrollResponse, Role, PROTOCOL_VERSION};
use crate::error::{Error, Result};
use crate::log_targets::SYNC;
use crate::model::{Problem, ValidationError};
use crate::store::Store;

/// Largest enrollment answer accepted.
const MAX_ENROLL_ANSWER: usize = 64 * 1024;

/// Longest device name and enrollment code accepted.
const MAX_NAME_CHARS: usize = 100;

/// The hub a device is enrolled with, as the app shows it. The device token is not part of it:
/// it never leaves the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Enrollment {
    /// The hub's base address.
    pub hub_url: String,
    /// The organisation's id.
    pub org_id: String,
    /// The organisation's name.
    pub org_name: String,
    /// The device's role in the organisation.
    pub role: Role,
    /// The name the device was enrolled under.
    pub device_name: String,
    /// When the device was enrolled.
    pub enrolled_at: DateTime<Utc>,
}

fn invalid(field: &'static str, problem: Problem) -> Error {
    Error::Invalid(ValidationError::new(field, problem))
}

/// Reads what to enroll with: an `outreach://enroll?hub=...&code=...` link (a `code` given
/// beside it must be the same), or a hub address and a code.
fn enroll_target(link_or_hub_url: &str, code: Option<&str>) -> Result<(HubUrl, String)> {
    let text = link_or_hub_url.trim();
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let (hub, code) = if text.starts_with("outreach:") {
        let link = EnrollLink::parse(text)
            .ok_or_else(|| invalid("link", Problem::Malformed("outreach://enroll?hub=...&code=...")))?;
        if code.is_some_and(|c| c != link.code) {
            return Err(invalid(
                "code",
                Problem::NotAllowed("the link holds another code"),
            ));
        }
        (link.hub, link.code)
    } else {
        let code = code.ok_or_else(|| invalid("code", Problem::Empty))?;
        (text.to_string(), code.to_string())
    };
    if code.chars().count() > MAX_NAME_CHARS || code.chars().any(char::is_control) {
        return Err(invalid("code", Problem::Malformed("a printed enrollment code")));
    }
    Ok((HubUrl::parse(&hub)?, code))
}

fn check_device_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("device_name", Problem::Empty));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid("device_name", Problem::TooLong { max: MAX_NAME_CHARS }));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("device_name", Problem::Malformed("a name on one line")));
    }
    Ok(name)
}

fn protocol_error(e: protocol::CodecError) -> Error {
    Error::Protocol(e.to_string())
}

impl Store {
    /// Enrolls this device with a hub, given an enrollment link (`outreach://enroll?hub=...&
    /// code=...`, as printed or scanned) or a hub address and the one-time `code`. The hub
    /// registers the store's [`device_id`](Store::device_id) under `device_name`; its address,
    /// the device token, the organisation and the role are kept in the encrypted store.
    ///
    /// Plain `http://` is accepted only for a hub on this machine (loopback), since the token
    /// must not cross a network in clear. Transient failures are retried as in
    /// [`sync`](Store::sync); a device already enrolled is refused with [`Error::NotAllowed`].
    pub async fn enroll(
        &self,
        link_or_hub_url: &str,
        code: Option<&str>,
        device_name: &str,
        options: &SyncOptions,
    ) -> Result<Enrollment> {
        self.enroll_cancellable(link_or_hub_url, code, device_name, options, &CancelToken::new())
            .await
    }

    /// [`enroll`](Store::enroll), ended with [`Error::Cancelled`] when `cancel` is cancelled
    /// before the hub answered (a code the hub did consume stays usable again for a while from
    /// this device: enrollment is retry-safe).
    pub async fn enroll_cancellable(
        &self,
        link_or_hub_url: &str,
        code: Option<&str>,
        device_name: &str,
        options: &SyncOptions,
        cancel: &CancelToken,
    ) -> Result<Enrollment> {
        let (hub, code) = enroll_target(link_or_hub_url, code)?;
        let device_name = check_device_name(device_name)?;
        cancel.check()?;
        let _running = cancel
            .race(async { Ok(self.network_lock().lock().await) })
            .await?;
        if self.enrollment()?.is_some() {
            return Err(Error::NotAllowed("this device is already enrolled"));
        }
        let client = HubClient::new(hub.clone(), None, options, cancel)?;
        let request = EnrollRequest {
            protocol: PROTOCOL_VERSION,
            code,
            device_id: self.device_id(),
            device_name: device_name.to_string(),
        };
        let answer = client
            .post_cbor(
                "/v1/enroll",
                protocol::encode(&request),
                MAX_ENROLL_ANSWER,
                &mut |_, _| {},
                &|_| {},
            )
            .await?;
        let response: EnrollResponse = protocol::decode(&answer).map_err(protocol_error)?;
        if response.device_id != self.device_id() {
            return Err(Error::Protocol("the hub registered another device id".into()));
        }
        let token = Token::new(response.token.clone())
            .ok_or_else(|| Error::Protocol("the hub sent an unusable device token".into()))?;
        let enrollment = self.save_enrollment(&hub, &response, &token, device_name)?;
        tracing::info!(target: SYNC, role = %enrollment.role, "enrolled");
        Ok(enrollment)
    }

    /// Syncs with the hub this device is enrolled with: uploads the brochure files published
    /// here, then exchanges documents (one round trip in the steady state, more while the hub
    /// has more or asks for documents whole, at most a bounded number of rounds), removes this
    /// device's expired visit-log months and fetches brochure files (see
    /// [`fetch_brochure_files`](Store::fetch_brochure_files); a connection lost then only leaves
    /// files pending).
    ///
    /// Transient failures are retried with backoff; `cancel` ends the sync with
    /// [`Error::Cancelled`] between steps or during a request. Either way the store stays
    /// consistent and the next sync resumes. A hub that revoked this device gets the store
    /// wiped, and [`Error::RevokedAndWiped`].
    pub async fn sync(
        &self,
        options: &SyncOptions,
        progress: Option<Arc<dyn SyncProgress>>,
        cancel: &CancelToken,
    ) -> Result<SyncReport> {
        tracing::info!(target: SYNC, "sync started");
        let result = self.wiped_if_revoked(Engine::run(self, options, progress, cancel).await);
        match &result {
            Ok(r) => tracing::info!(
                target: SYNC,
                round_trips = r.round_trips,
                bytes_up = r.bytes_up,
                bytes_down = r.bytes_down,
                documents_pushed = r.documents_pushed,
                documents_pulled = r.documents_pulled,
                documents_resent = r.documents_resent,
                documents_refused = r.documents_refused,
                refused_by_hub = r.refused_by_hub.len(),
                complete = r.complete,
                "sync finished"
            ),
            Err(e) => tracing::warn!(target: SYNC, error = %e, "sync failed"),
        }
        result
    }

    /// Deletes the store when the hub revoked this device (`result` is then
    /// [`Error::RevokedAndWiped`]); a failure to delete it is the error returned instead.
    pub(crate) fn wiped_if_revoked<T>(&self, result: Result<T>) -> Result<T> {
        if !matches!(result, Err(Error::RevokedAndWiped)) {
            return result;
        }
        match self.wipe() {
            Ok(()) | Err(Error::Closed) => result,
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreKey;

    #[test]
    fn links_and_hub_addresses_are_read() {
        let link = EnrollLink {
            hub: "https://hub.example.org:8443".into(),
            code: "K7QM-2XHD-9FPA".into(),
        }
        .to_string();
        let (hub, code) = enroll_target(&link, None).unwrap();
        assert_eq!(
            (hub.as_str(), code.as_str()),
            ("https://hub.example.org:8443", "K7QM-2XHD-9FPA")
        );
        assert!(enroll_target(&link, Some("K7QM-2XHD-9FPA")).is_ok());
        assert!(enroll_target(&link, Some("OTHER")).is_err());

        let (hub, code) = enroll_target("https://hub.example.org/", Some(" AB12 ")).unwrap();
        assert_eq!((hub.as_str(), code.as_str()), ("https://hub.example.org", "AB12"));
        assert!(enroll_target("https://hub.example.org", None).is_err(), "no code");
        assert!(enroll_target("https://hub.example.org", Some("  ")).is_err());
        assert!(enroll_target("outreach://enroll?code=x", None).is_err(), "no hub");
        assert!(
            enroll_target("http://hub.example.org", Some("x")).is_err(),
            "plain http afar"
        );
        assert!(enroll_target("http://127.0.0.1:8787", Some("x")).is_ok());
        assert!(enroll_target("https://h.example.org", Some("a\nb")).is_err());
    }

    #[test]
    fn device_names_are_checked() {
        assert_eq!(check_device_name("  Liège phone 2 ").unwrap(), "Liège phone 2");
        assert!(check_device_name(" ").is_err());
        assert!(check_device_name(&"x".repeat(101)).is_err());
        assert!(check_device_name("a\nb").is_err());
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("s.db"),
            StoreKey::random().as_bytes(),
            Default::default(),
        )
        .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn sync_before_enrollment_is_refused_without_network() {
        let (_dir, store) = store();
        let e = store
            .sync(&SyncOptions::default(), None, &CancelToken::new())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotEnrolled), "{e:?}");
        let e = store
            .fetch_brochure_files(&SyncOptions::default(), &CancelToken::new())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotEnrolled), "{e:?}");
    }

    #[tokio::test]
    async fn a_cancelled_token_stops_a_sync_before_it_starts() {
        let (_dir, store) = store();
        let cancel = CancelToken::new();
        cancel.cancel();
        let e = store
            .sync(&SyncOptions::default(), None, &cancel)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Cancelled), "{e:?}");
    }

    #[tokio::test]
    async fn an_unreachable_hub_is_a_network_error_after_bounded_retries() {
        let (_dir, store) = store();
        // Nothing listens on port 9 (discard) of the loopback address in a test sandbox.
        let options = SyncOptions {
            max_attempts: 3,
            retry_base_delay: std::time::Duration::from_millis(10),
            ..SyncOptions::default()
        };
        let e = store
            .enroll("http://127.0.0.1:9", Some("CODE"), "test phone", &options)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Network(_)), "{e:?}");
        assert!(store.enrollment().unwrap().is_none());
    }

    #[test]
    fn the_sync_future_can_move_between_threads() {
        fn assert_send<T: Send>(_: &T) {}
        let (_dir, store) = store();
        let options = SyncOptions::default();
        let cancel = CancelToken::new();
        let sync = store.sync(&options, None, &cancel);
        assert_send(&sync);
        let enroll = store.enroll("https://h.example.org", Some("c"), "n", &options);
        assert_send(&enroll);
        let fetch = store.fetch_brochure_files(&options, &cancel);
        assert_send(&fetch);
    }
}
