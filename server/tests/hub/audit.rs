//! The audit log: every administrative act, by whom and from where, written with the act; read
//! with `Hub::audit_log` and `outreach-hub audit`.

use std::process::Command;

use outreach_core::sync::protocol::Role;
use outreach_hub::{AuditEntry, Storage};

use crate::common::{on_both_backends, TestHub};

const BIN: &str = env!("CARGO_BIN_EXE_outreach-hub");

fn actions(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn acts_on_organisations_codes_and_devices_are_logged_with_who_and_from_where() {
        let hub = TestHub::start().await;
        let start = hub.hub.audit_log(chrono::DateTime::UNIX_EPOCH).unwrap();
        assert_eq!(actions(&start), ["organisation_added", "organisation_added"], "the two organisations");
        assert!(start[0].actor.starts_with("operator "), "{:?}", start[0]);
        assert!(start[0].origin.starts_with("host "), "{:?}", start[0]);
        assert_eq!(start[0].organisation.as_deref(), Some("Fedasil"));

        let code = hub.hub.create_labelled_code(&hub.org_a.id, Role::Coordinator, std::time::Duration::from_secs(600), Some("Phone 7")).unwrap();
        let device = hub.device(&hub.org_a, Role::Fieldworker).await;
        hub.hub.cancel_code(&code.id).unwrap();
        hub.hub.revoke_device(device.id).unwrap();
        let other = hub.device(&hub.org_b, Role::Fieldworker).await;
        hub.hub.retire_device(other.id).unwrap();
        hub.hub.rename_device(other.id, "Namur phone 3").unwrap();
        assert_eq!(hub.hub.find_device("namur phone 3").unwrap().id, other.id);

        let entries = hub.hub.audit_log(chrono::DateTime::UNIX_EPOCH).unwrap();
        assert_eq!(
            actions(&entries[2..]),
            [
                "code_issued",
                "code_issued",
                "device_enrolled",
                "code_cancelled",
                "device_revoked",
                "code_issued",
                "device_enrolled",
                "device_retired",
                "device_renamed",
            ]
        );
        assert_eq!(entries[10].detail.as_deref(), Some("from \"Test phone\" to \"Namur phone 3\""));
        let issued = &entries[2];
        assert_eq!(issued.subject.as_deref(), Some(code.id.as_str()));
        assert_eq!(issued.detail.as_deref(), Some("role coordinator, for Phone 7"));
        let enrolled = &entries[4];
        assert_eq!(enrolled.actor, format!("device {}", device.id));
        assert_eq!(enrolled.origin, "127.0.0.1", "from the client's address");
        assert_eq!(enrolled.organisation.as_deref(), Some("Fedasil"));
        assert_eq!(enrolled.detail.as_deref(), Some("role fieldworker"));
        assert_eq!(entries[6].subject, Some(device.id.to_string()));
        assert_eq!(entries[9].subject, Some(other.id.to_string()));

        // No secret in it: neither codes nor tokens.
        let text = format!("{entries:?}");
        for secret in [&code.code, &device.token, &other.token] {
            assert!(!text.contains(secret.as_str()), "the audit log holds a secret");
        }

        // `--since` in the future shows nothing; the command prints JSON lines.
        let later = chrono::Utc::now() + chrono::Duration::hours(1);
        assert!(hub.hub.audit_log(later).unwrap().is_empty());
        let mut cmd = Command::new(BIN);
        cmd.args(["audit", "--json", "--since", "2000-01-01"]);
        match (&hub.storage, &hub.keys.seal_key) {
            (Storage::Embedded(dir), _) => {
                cmd.args(["--data", dir.to_str().unwrap()]);
            }
            (Storage::Postgres(url), outreach_hub::SealKeySource::File(key)) => {
                cmd.args(["--database", url, "--seal-key-file", key.to_str().unwrap()]);
            }
            _ => unreachable!(),
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), entries.len());
        assert_eq!(lines[4]["action"], "device_enrolled");
        assert_eq!(lines[4]["origin"], "127.0.0.1");
    }
}
