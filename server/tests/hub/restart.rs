//! A restart on the same data directory keeps everything; TLS.

use outreach_core::model::Region;
use outreach_core::sync::protocol::{Role, SyncRequest, AUTOMERGE_FORMAT, PROTOCOL_VERSION};
use outreach_hub::TlsConfig;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::common::on_both_backends;
use crate::common::TestHub;

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_restart_keeps_devices_documents_and_files() {
        let mut hub = TestHub::start().await;
        let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        let (section, _) = coordinator.add_partner(Region::Limburg, "CAW Limburg");
        let log = worker.log_visit("2026-11-02", "", &[]);
        coordinator.sync(&hub).await;
        worker.sync_all(&hub).await;
        coordinator.sync_all(&hub).await;
        let file = b"%PDF-1.7 brochure".to_vec();
        let hash = hex::encode(Sha256::digest(&file));
        let put = hub
            .http
            .put(format!("{}/v1/blobs/{hash}", hub.url))
            .bearer_auth(&coordinator.token)
            .body(file.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::CREATED);
        let revoked = hub.device(&hub.org_b, Role::Fieldworker).await;
        hub.hub.revoke_device(revoked.id).unwrap();
        let code = hub.code(&hub.org_b, Role::Coordinator);
        let before = hub.snapshot();
        let devices = hub.hub.devices().unwrap();
        let orgs = hub.hub.organisations().unwrap();

        hub.restart().await;

        assert_eq!(hub.snapshot(), before);
        assert_eq!(hub.hub.devices().unwrap(), devices);
        assert_eq!(hub.hub.organisations().unwrap(), orgs);
        // Tokens still work, and the devices are in step: nothing to exchange.
        for device in [&mut coordinator, &mut worker] {
            let resp = device.sync(&hub).await;
            assert!(resp.docs.iter().all(|d| d.changes.is_empty()));
        }
        assert!(worker.in_step_with(&hub, section) && worker.in_step_with(&hub, log));
        let got = hub
            .http
            .get(format!("{}/v1/blobs/{hash}", hub.url))
            .bearer_auth(&worker.token)
            .send()
            .await
            .unwrap();
        assert_eq!(got.bytes().await.unwrap().to_vec(), file);
        let (status, err) = revoked.send(&hub, &empty_request()).await.unwrap_err();
        assert!(status == StatusCode::UNAUTHORIZED && err.wipe);
        // An unused code survives too.
        hub.try_enroll(&code, outreach_core::model::DeviceId::random())
            .await
            .unwrap();
    }
}

fn empty_request() -> SyncRequest {
    SyncRequest {
        protocol: PROTOCOL_VERSION,
        known: None,
        roster: None,
        report: None,
        format: AUTOMERGE_FORMAT.into(),
        docs: Vec::new(),
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn the_hub_serves_https() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut hub = TestHub::start().await;
        let server = hub.serve_fixture_tls().await;
        assert!(server.url().starts_with("https://"));
        let cert =
            reqwest::Certificate::from_pem(&std::fs::read(crate::common::fixture("localhost.cert.pem")).unwrap()).unwrap();
        let client = reqwest::Client::builder().tls_certs_only([cert]).build().unwrap();
        let url = format!("https://localhost:{}/v1/health", server.local_addr().port());
        let resp = client.get(url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.text().await.unwrap(), "ok");
        server.shutdown().await.unwrap();
        hub.stop().await;

        assert!(TlsConfig::from_pem(b"not pem", b"not pem").is_err());
    }
}
