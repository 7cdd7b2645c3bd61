//! `outreach-hub migrate --from-sqlite`: an embedded hub moved to PostgreSQL, whose devices
//! then sync as before: nothing resent in full, nothing lost.

use std::process::Command;

use outreach_core::model::Region;
use outreach_core::sync::protocol::Role;
use outreach_hub::{HubConfig, HubKeys, SealKeySource, Storage};
use sha2::{Digest, Sha256};

use crate::common::{new_database, TestHub};

const BIN: &str = env!("CARGO_BIN_EXE_outreach-hub");

#[tokio::test(flavor = "multi_thread")]
async fn an_embedded_hub_moves_to_postgresql_and_its_devices_sync_on_unchanged() {
    let mut hub = TestHub::start().await;
    let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
    let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
    for i in 0..20 {
        coordinator.add_partner(Region::Brussels, &format!("Partner {i}"));
    }
    coordinator.sync_all(&hub).await;
    worker.log_visit("2026-11-02", "", &[]);
    worker.log_visit("2026-10-12", "", &[]);
    worker.sync_all(&hub).await;
    // Both in step with the hub before it moves.
    coordinator.sync_all(&hub).await;
    let file: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let name = hex::encode(Sha256::digest(&file));
    let put = hub
        .http
        .put(format!("{}/v1/blobs/{name}", hub.url))
        .bearer_auth(&coordinator.token)
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let before = hub.snapshot();
    let devices_before = hub.hub.devices().unwrap();
    hub.close().await;

    let url = new_database();
    let seal_key = hub.dir.parent().unwrap().join("postgres-seal.key");
    let migrate = || {
        Command::new(BIN)
            .args([
                "migrate",
                "--from-sqlite",
                hub.dir.to_str().unwrap(),
                "--database",
                &url,
            ])
            .args(["--seal-key-file", seal_key.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let out = migrate();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("brochure files: 1 (300000 bytes)"), "{stdout}");
    assert!(stdout.contains("devices: 2 rows"), "{stdout}");
    assert_eq!(
        std::fs::read(&seal_key).unwrap(),
        std::fs::read(hub.dir.join(outreach_hub::SEAL_KEY_FILE)).unwrap(),
        "the same seals"
    );

    // A second migration into the same database is refused, and changes nothing.
    let again = migrate();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("holds a hub already"));

    // The devices go on with the hub on PostgreSQL as if nothing happened.
    hub.storage = Storage::Postgres(url);
    hub.keys = HubKeys {
        db_key: None,
        seal_key: SealKeySource::File(seal_key),
    };
    hub.config = HubConfig::default();
    hub.restart().await;
    assert_eq!(hub.snapshot(), before, "every document and file, byte for byte");
    assert_eq!(
        hub.hub.devices().unwrap(),
        devices_before,
        "every device, with its token"
    );
    for device in [&mut coordinator, &mut worker] {
        let rounds = device.sync_all(&hub).await;
        assert_eq!(rounds.len(), 1, "one round");
        assert!(rounds[0].resend.is_empty(), "nothing asked again in full");
        assert!(
            rounds[0].docs.iter().all(|d| d.changes.is_empty()),
            "nothing sent again"
        );
    }
    assert_eq!(hub.snapshot(), before, "and nothing written");
    let got = hub
        .http
        .get(format!("{}/v1/blobs/{name}", hub.url))
        .bearer_auth(&worker.token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().to_vec(), file);
    // New work lands on PostgreSQL.
    worker.log_visit("2026-11-03", "", &[]);
    worker.sync_all(&hub).await;
    assert_ne!(hub.snapshot(), before);
}
