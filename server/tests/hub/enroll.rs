//! Enrollment: a code works once, for one device; reused, expired and unknown codes are refused.

use std::time::Duration;

use outreach_core::model::DeviceId;
use outreach_core::sync::protocol::{encode, EnrollRequest, ErrorCode, Role};
use reqwest::StatusCode;

use crate::common::on_both_backends;
use crate::common::{answer, TestHub};

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_code_enrolls_one_device_once() {
        let hub = TestHub::start().await;
        let code = hub.code(&hub.org_b, Role::Coordinator);
        let device = DeviceId::random();
        let creds = hub.try_enroll(&code, device).await.unwrap();
        assert_eq!(creds.device_id, device);
        assert_eq!(creds.role, Role::Coordinator);
        assert_eq!(creds.org_id, hub.org_b.id);
        assert_eq!(creds.org_name, "Caritas International");
        assert_eq!(creds.token.len(), 64);
        assert!(creds.token.bytes().all(|b| b.is_ascii_hexdigit()));

        // Used: refused, for another device too.
        let (status, err) = hub.try_enroll(&code, DeviceId::random()).await.unwrap_err();
        assert_eq!(
            (status, err.code),
            (StatusCode::FORBIDDEN, ErrorCode::InvalidCode)
        );
        assert!(err.reason.contains("already used"), "{}", err.reason);

        let devices = hub.hub.devices().unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].id, device);
        assert_eq!(devices[0].name, "Test phone");
        assert!(devices[0].revoked_at.is_none());
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn codes_are_forgiving_about_case_and_dashes() {
        let hub = TestHub::start().await;
        let code = hub.code(&hub.org_a, Role::Fieldworker);
        let sloppy = code.to_lowercase().replace('-', " ");
        hub.try_enroll(&sloppy, DeviceId::random()).await.unwrap();
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn expired_unknown_and_malformed_codes_are_refused() {
        let hub = TestHub::start().await;
        let expired = hub
            .hub
            .create_enrollment_code("Fedasil", Role::Fieldworker, Duration::ZERO)
            .unwrap();
        let (status, err) = hub
            .try_enroll(&expired.code, DeviceId::random())
            .await
            .unwrap_err();
        assert_eq!(
            (status, err.code),
            (StatusCode::FORBIDDEN, ErrorCode::InvalidCode)
        );
        assert!(err.reason.contains("expired"), "{}", err.reason);

        for code in ["AAAA-BBBB-CCCC-DDDD", "not a code", ""] {
            let (status, err) = hub.try_enroll(code, DeviceId::random()).await.unwrap_err();
            assert_eq!(
                (status, err.code),
                (StatusCode::FORBIDDEN, ErrorCode::InvalidCode)
            );
        }
        assert!(hub.hub.devices().unwrap().is_empty());
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn an_enrolled_device_id_is_refused_and_the_code_stays_usable() {
        let hub = TestHub::start().await;
        let device = hub.device(&hub.org_a, Role::Fieldworker).await;
        let code = hub.code(&hub.org_a, Role::Admin);
        let (status, err) = hub.try_enroll(&code, device.id).await.unwrap_err();
        assert_eq!(
            (status, err.code),
            (StatusCode::CONFLICT, ErrorCode::AlreadyEnrolled)
        );
        // Nothing changed: the device keeps its role, and the code still works for another device.
        let devices = hub.hub.devices().unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].role, Role::Fieldworker);
        hub.try_enroll(&code, DeviceId::random()).await.unwrap();
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn bad_enroll_bodies_are_refused() {
        let hub = TestHub::start().await;
        let resp = hub.post("/v1/enroll", None, b"\xff\x00 not cbor".to_vec()).await;
        let (status, err) = answer::<()>(resp).await.unwrap_err();
        assert_eq!(
            (status, err.code),
            (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
        );

        let code = hub.code(&hub.org_a, Role::Fieldworker);
        let mut req = EnrollRequest {
            protocol: 99,
            code: code.clone(),
            device_id: DeviceId::random(),
            device_name: "phone".into(),
        };
        let (status, err) = answer::<()>(hub.post("/v1/enroll", None, encode(&req)).await)
            .await
            .unwrap_err();
        assert_eq!(
            (status, err.code),
            (StatusCode::BAD_REQUEST, ErrorCode::Unsupported)
        );

        req.protocol = 1;
        req.device_name = "  ".into();
        let (status, err) = answer::<()>(hub.post("/v1/enroll", None, encode(&req)).await)
            .await
            .unwrap_err();
        assert_eq!(
            (status, err.code),
            (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
        );
        // The refusals did not use the code.
        hub.try_enroll(&code, DeviceId::random()).await.unwrap();
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_revoked_device_is_told_to_wipe_on_every_endpoint() {
        let hub = TestHub::start().await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        let coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        worker.log_visit("2026-11-02", "", &[]);
        worker.sync(&hub).await;
        hub.hub.revoke_device(worker.id).unwrap();
        hub.hub.revoke_device(coordinator.id).unwrap();
        hub.hub.revoke_device(coordinator.id).unwrap(); // idempotent
        let before = hub.snapshot();

        // A large body too: the refusal is read, not lost in a reset connection.
        worker.log_visit("2026-11-03", "", &[]);
        let mut req = worker.request();
        req.docs[0].changes = vec![7; 4 * 1024 * 1024];
        let (status, err) = worker.send(&hub, &req).await.unwrap_err();
        assert_eq!(
            (status, err.code, err.wipe),
            (StatusCode::UNAUTHORIZED, ErrorCode::Revoked, true)
        );

        let blob = "ab".repeat(32);
        let get = hub
            .http
            .get(format!("{}/v1/blobs/{blob}", hub.url))
            .bearer_auth(&worker.token)
            .send()
            .await
            .unwrap();
        let (status, err) = answer::<()>(get).await.unwrap_err();
        assert_eq!(
            (status, err.code, err.wipe),
            (StatusCode::UNAUTHORIZED, ErrorCode::Revoked, true)
        );

        let put = hub
            .http
            .put(format!("{}/v1/blobs/{blob}", hub.url))
            .bearer_auth(&coordinator.token)
            .body(vec![1u8; 3 * 1024 * 1024])
            .send()
            .await
            .unwrap();
        let (status, err) = answer::<()>(put).await.unwrap_err();
        assert_eq!(
            (status, err.code, err.wipe),
            (StatusCode::UNAUTHORIZED, ErrorCode::Revoked, true)
        );

        assert_eq!(hub.snapshot(), before);
        let listed = hub.hub.devices().unwrap();
        assert!(listed.iter().all(|d| d.revoked_at.is_some()));
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn unknown_or_missing_tokens_are_unauthorized() {
        let hub = TestHub::start().await;
        let mut device = hub.device(&hub.org_a, Role::Fieldworker).await;
        let req = device.request();
        for token in [Some("0".repeat(64)), Some("nonsense".into()), None] {
            let resp = hub.post("/v1/sync", token.as_deref(), encode(&req)).await;
            assert_eq!(
                resp.headers().get(reqwest::header::WWW_AUTHENTICATE).unwrap(),
                "Bearer"
            );
            let (status, err) = answer::<()>(resp).await.unwrap_err();
            assert_eq!(
                (status, err.code, err.wipe),
                (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, false)
            );
        }
        assert!(
            hub.hub.devices().unwrap()[0].last_seen.is_none(),
            "no request got through"
        );
        device.sync(&hub).await;
        assert!(hub.hub.devices().unwrap()[0].last_seen.is_some());
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_lost_answer_can_be_asked_again_by_the_same_device_until_it_first_syncs() {
        use outreach_core::sync::protocol::{SyncRequest, AUTOMERGE_FORMAT, PROTOCOL_VERSION};
        let hub = TestHub::start().await;
        let code = hub.code(&hub.org_a, Role::Fieldworker);
        let device = DeviceId::random();
        let lost = hub.try_enroll(&code, device).await.unwrap();
        // The answer never arrived; the device asks again with the same code.
        let again = hub.try_enroll(&code, device).await.unwrap();
        assert_eq!((again.device_id, again.role), (device, Role::Fieldworker));
        assert_ne!(again.token, lost.token, "a new token");
        let sync = encode(&SyncRequest {
            protocol: PROTOCOL_VERSION,
            known: None,
            roster: None,
            report: None,
            format: AUTOMERGE_FORMAT.into(),
            docs: Vec::new(),
        });
        let old = hub.post("/v1/sync", Some(&lost.token), sync.clone()).await;
        assert_eq!(
            old.status(),
            StatusCode::UNAUTHORIZED,
            "the lost token no longer works"
        );
        let ok = hub.post("/v1/sync", Some(&again.token), sync).await;
        assert_eq!(ok.status(), StatusCode::OK);
        // Once the device has synced, the code is spent for good, and never worked for others.
        let (status, err) = hub.try_enroll(&code, device).await.unwrap_err();
        assert_eq!(
            (status, err.code),
            (StatusCode::FORBIDDEN, ErrorCode::InvalidCode)
        );
        assert_eq!(hub.hub.devices().unwrap().len(), 1);
    }
}
