//! Sync semantics: new documents, more changes, what a device lacks, the steady state,
//! pagination and resending after the hub lost history.

use outreach_core::doc::DocKind;
use outreach_core::model::{Region, Theme};
use outreach_core::sync::protocol::{
    to_wire, ErrorCode, Role, SyncRequest, AUTOMERGE_FORMAT, PROTOCOL_VERSION,
};
use outreach_hub::HubConfig;
use reqwest::StatusCode;

use crate::common::on_both_backends;
use crate::common::TestHub;

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_new_visit_log_then_more_changes() {
        let hub = TestHub::start().await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        let log = worker.log_visit("2026-11-02", "Info session at the day centre", &[Theme::Shelter]);

        let resp = worker.sync(&hub).await;
        assert_eq!(resp.docs.len(), 1);
        assert_eq!(resp.docs[0].id, log);
        assert!(resp.docs[0].changes.is_empty(), "the device lacks nothing");
        assert!(!resp.more && resp.drop.is_empty() && resp.resend.is_empty());
        assert!(worker.in_step_with(&hub, log));
        let stored = hub.hub.documents().unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].kind, DocKind::VisitLog);
        assert_eq!(stored[0].owner_device, Some(worker.id));
        assert_eq!(stored[0].owner_org.as_deref(), Some(hub.org_a.id.as_str()));
        assert_eq!(stored[0].month.as_deref(), Some("2026-11"));

        // More visits: only the new changes travel, and the hub stores them.
        let before = hub.hub.document_bytes(log).unwrap().unwrap();
        worker.log_visit("2026-11-03", "", &[Theme::Medical]);
        worker.log_visit("2026-11-04", "", &[]);
        let push = worker.push(log);
        assert!(!push.changes.is_empty() && push.changes.len() < before.len() + 2000);
        let resp = worker.sync(&hub).await;
        assert_eq!(resp.docs.len(), 1);
        assert!(worker.in_step_with(&hub, log));
        let after = hub.hub.document_bytes(log).unwrap().unwrap();
        assert!(after.len() > before.len());
        let stored = outreach_core::doc::Document::load(log, &after, worker.id).unwrap();
        assert_eq!(stored.visits().unwrap().len(), 3);
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn devices_get_what_they_lack_and_documents_new_to_them() {
        let hub = TestHub::start().await;
        let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        let (namur, _) = coordinator.add_partner(Region::Namur, "Espace social");
        let (liege, _) = coordinator.add_partner(Region::Liege, "Maison de l'emploi");
        coordinator.sync(&hub).await;

        // A new device gets both sections whole.
        let mut worker = hub.device(&hub.org_b, Role::Fieldworker).await;
        let resp = worker.sync(&hub).await;
        let mut ids: Vec<_> = resp.docs.iter().map(|d| d.id).collect();
        ids.sort();
        let mut expected = vec![namur, liege];
        expected.sort();
        assert_eq!(ids, expected);
        assert_eq!(worker.doc(namur).partners().unwrap().len(), 1);
        assert!(worker.in_step_with(&hub, namur) && worker.in_step_with(&hub, liege));

        // An edit by the coordinator reaches the worker as a bundle of what it lacks.
        coordinator.add_partner(Region::Namur, "CPAS de Namur");
        coordinator.sync(&hub).await;
        let resp = worker.sync(&hub).await;
        let pull = resp.docs.iter().find(|d| d.id == namur).unwrap();
        assert!(!pull.changes.is_empty());
        assert!(resp
            .docs
            .iter()
            .find(|d| d.id == liege)
            .unwrap()
            .changes
            .is_empty());
        assert_eq!(worker.doc(namur).partners().unwrap().len(), 2);
        assert!(worker.in_step_with(&hub, namur));
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_steady_state_sync_loads_no_document() {
        let hub = TestHub::start().await;
        let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        coordinator.add_partner(Region::Brussels, "CAW Brussel");
        coordinator.add_partner(Region::Antwerp, "CAW Antwerpen");
        coordinator.log_visit("2026-10-30", "", &[]);
        coordinator.sync(&hub).await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        worker.log_visit("2026-11-01", "", &[]);
        worker.sync_all(&hub).await;
        coordinator.sync_all(&hub).await;

        let before = hub.hub.metrics();
        let snapshot = hub.snapshot();
        for device in [&mut worker, &mut coordinator] {
            let resp = device.sync(&hub).await;
            assert!(!resp.docs.is_empty());
            assert!(
                resp.docs.iter().all(|d| d.changes.is_empty()),
                "nothing new anywhere"
            );
            assert!(!resp.more && resp.drop.is_empty() && resp.resend.is_empty());
        }
        let after = hub.hub.metrics();
        assert_eq!(
            after.documents_loaded, before.documents_loaded,
            "the fast path loads nothing"
        );
        assert_eq!(after.documents_written, before.documents_written);
        assert_eq!(after.syncs, before.syncs + 2);
        assert_eq!(hub.snapshot(), snapshot);
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_long_answer_is_paginated() {
        let config = HubConfig {
            max_response_bytes: 1,
            ..HubConfig::default()
        };
        let hub = TestHub::start_with(config).await;
        let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        for region in [Region::Namur, Region::Liege, Region::Hainaut, Region::Limburg] {
            coordinator.add_partner(region, "Partner");
        }
        // Four new documents pushed at once: the pushes are all accepted, the answer stays small.
        let resp = coordinator.sync(&hub).await;
        assert_eq!(hub.hub.documents().unwrap().len(), 4);
        assert!(resp.docs.iter().all(|d| d.changes.is_empty()));

        let mut worker = hub.device(&hub.org_b, Role::Fieldworker).await;
        let rounds = worker.sync_all(&hub).await;
        assert_eq!(rounds.len(), 4, "one whole document per answer");
        for (i, round) in rounds.iter().enumerate() {
            let with_payload = round.docs.iter().filter(|d| !d.changes.is_empty()).count();
            assert_eq!(with_payload, 1);
            assert_eq!(round.more, i < 3);
        }
        assert_eq!(worker.docs.len(), 4);
        let ids: Vec<_> = worker.docs.keys().copied().collect();
        for id in ids {
            assert!(worker.in_step_with(&hub, id));
        }

        // Changes a device lacks are paginated the same way.
        for region in [Region::Namur, Region::Liege] {
            coordinator.add_partner(region, "Another partner");
        }
        coordinator.sync_all(&hub).await;
        let rounds = worker.sync_all(&hub).await;
        assert_eq!(rounds.len(), 2);
        assert!(rounds[0].more && !rounds[1].more);
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn the_hub_asks_for_history_it_lost_and_gets_it_whole() {
        let mut hub = TestHub::start().await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        let log = worker.log_visit("2026-11-02", "", &[]);
        worker.sync(&hub).await;

        // Back up the hub, sync more, restore the backup: the hub forgot what it acknowledged.
        let backup = hub.dir.with_extension("backup");
        hub.back_up(&backup).await;
        if let outreach_hub::Storage::Postgres(_) = &hub.storage {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the dump is its owner's only");
            let audit = hub.hub.audit_log(chrono::DateTime::UNIX_EPOCH).unwrap();
            assert_eq!(audit.last().unwrap().action, "backup_taken");
        }
        worker.log_visit("2026-11-03", "", &[]);
        worker.sync(&hub).await;
        assert!(worker.in_step_with(&hub, log));
        hub.restore(&backup).await;
        let restored = hub.snapshot();

        // The device sends only what it thinks the hub lacks: the hub cannot apply it.
        worker.log_visit("2026-11-04", "", &[]);
        let resp = worker.sync(&hub).await;
        assert_eq!(resp.resend, vec![log]);
        assert!(resp.docs.iter().all(|d| d.id != log));
        assert_eq!(hub.snapshot(), restored, "nothing stored for that document");

        // Next round the device sends it whole.
        let resp = worker.sync(&hub).await;
        assert!(resp.resend.is_empty());
        assert!(worker.in_step_with(&hub, log));
        let bytes = hub.hub.document_bytes(log).unwrap().unwrap();
        let stored = outreach_core::doc::Document::load(log, &bytes, worker.id).unwrap();
        assert_eq!(stored.visits().unwrap().len(), 3);
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_document_the_hub_never_had_is_asked_for_whole() {
        let hub = TestHub::start().await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        let log = worker.log_visit("2026-11-02", "", &[]);
        worker.sync(&hub).await;
        let other = worker.log_visit("2026-12-01", "", &[]);
        // The device believes the hub holds `other` already (heads acknowledged, nothing to send).
        let heads = worker.doc(other).heads();
        worker.acked.insert(other, heads);
        let resp = worker.sync(&hub).await;
        assert_eq!(resp.resend, vec![other]);
        assert!(hub.hub.document_bytes(other).unwrap().is_none());
        let resp = worker.sync(&hub).await;
        assert!(resp.resend.is_empty());
        assert!(worker.in_step_with(&hub, other) && worker.in_step_with(&hub, log));
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn another_protocol_or_format_is_unsupported() {
        let hub = TestHub::start().await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        worker.log_visit("2026-11-02", "", &[]);
        let mut req = worker.request();
        req.protocol = PROTOCOL_VERSION + 1;
        let (status, err) = worker.send(&hub, &req).await.unwrap_err();
        assert_eq!(
            (status, err.code),
            (StatusCode::BAD_REQUEST, ErrorCode::Unsupported)
        );
        let req = SyncRequest {
            format: "automerge-9".into(),
            ..worker.request()
        };
        let (status, err) = worker.send(&hub, &req).await.unwrap_err();
        assert_eq!(
            (status, err.code),
            (StatusCode::BAD_REQUEST, ErrorCode::Unsupported)
        );
        assert!(hub.snapshot().docs.is_empty());
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            known: None,
            roster: None,
            report: None,
            format: AUTOMERGE_FORMAT.into(),
            docs: Vec::new(),
        };
        worker.send(&hub, &req).await.unwrap();
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn unknown_device_heads_without_changes_do_not_break_the_hub() {
        let hub = TestHub::start().await;
        let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        let (section, _) = coordinator.add_partner(Region::Namur, "Partner");
        coordinator.sync(&hub).await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        let mut req = worker.request();
        req.docs.push(outreach_core::sync::protocol::DocPush::new(
            section,
            to_wire(&[automerge::ChangeHash([7; 32])]),
            Vec::new(),
        ));
        let resp = worker.send(&hub, &req).await.unwrap();
        assert_eq!(resp.resend, vec![section]);
        hub.assert_still_serving().await;
    }
}
