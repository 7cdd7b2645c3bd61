//! The access rules: who may write and read which document.

use chrono::Utc;
use outreach_core::doc::{DocMeta, Document, PartnerEdit};
use outreach_core::model::{DocId, Month, PartnerStatus, Region, VisitId};
use outreach_core::sync::protocol::{encode, ErrorCode, Role, SyncResponse};
use reqwest::StatusCode;

use crate::common::on_both_backends;
use crate::common::{date, visit, TestHub};

fn ids(resp: &SyncResponse) -> Vec<DocId> {
    resp.docs.iter().map(|d| d.id).collect()
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_field_worker_may_not_write_the_directory() {
        let hub = TestHub::start().await;
        let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        let (section, partner) = coordinator.add_partner(Region::Namur, "Espace social");
        coordinator.sync(&hub).await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        worker.sync(&hub).await;
        let before = hub.snapshot();

        // An edit of an existing section.
        worker
            .doc(section)
            .edit_partner(partner, &[PartnerEdit::Status(PartnerStatus::Defunct)])
            .unwrap();
        worker.doc(section).commit(Utc::now());
        let req = worker.request();
        let (status, code, _) = worker.refused_doc(&hub, encode(&req), section).await;
        assert_eq!((status, code), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
        assert_eq!(hub.snapshot(), before);

        // A new section.
        let mut other = hub.device(&hub.org_a, Role::Fieldworker).await;
        let (new_section, _) = other.add_partner(Region::Liege, "Invented partner");
        let req = other.request();
        let (status, code, _) = other.refused_doc(&hub, encode(&req), new_section).await;
        assert_eq!((status, code), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
        assert_eq!(hub.snapshot(), before);

        // A visit log of another device.
        let mut coordinator_log = Document::create(
            DocMeta::VisitLog {
                owner: coordinator.id,
                month: Month::parse("2026-11").unwrap(),
            },
            other.id,
        )
        .unwrap();
        coordinator_log
            .put_visit(VisitId::random(), &visit("2026-11-02", "", &[]))
            .unwrap();
        coordinator_log.commit(Utc::now());
        let log_id = coordinator_log.id();
        other.docs.clear();
        other.docs.insert(log_id, coordinator_log);
        let req = other.request();
        let (status, code, _) = other.refused_doc(&hub, encode(&req), log_id).await;
        assert_eq!((status, code), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
        assert_eq!(hub.snapshot(), before);
        hub.assert_still_serving().await;
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn changes_under_another_devices_actor_are_refused() {
        let hub = TestHub::start().await;
        let mut alice = hub.device(&hub.org_a, Role::Coordinator).await;
        let mut bob = hub.device(&hub.org_a, Role::Coordinator).await;
        let (section, _) = alice.add_partner(Region::Hainaut, "Partner");
        alice.sync(&hub).await;
        bob.sync(&hub).await;
        let before = hub.snapshot();

        // Alice edits offline; Bob relays her change as his own push.
        alice.add_partner(Region::Hainaut, "Second partner");
        let relayed = alice.push(section);
        let mut req = bob.request();
        req.docs.retain(|d| d.id != section);
        req.docs.push(relayed);
        let (status, code, reason) = bob.refused_doc(&hub, encode(&req), section).await;
        assert_eq!((status, code), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
        assert!(reason.contains("another device"), "{reason}");
        assert_eq!(hub.snapshot(), before);

        // A new visit log of Bob's written under Alice's actor.
        let mut forged = Document::create(
            DocMeta::VisitLog {
                owner: bob.id,
                month: Month::of(date("2026-11-02")),
            },
            alice.id,
        )
        .unwrap();
        forged
            .put_visit(VisitId::random(), &visit("2026-11-02", "", &[]))
            .unwrap();
        forged.commit(Utc::now());
        let forged_id = forged.id();
        bob.docs.insert(forged_id, forged);
        let req = bob.request();
        let (status, code, _) = bob.refused_doc(&hub, encode(&req), forged_id).await;
        assert_eq!((status, code), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
        assert_eq!(hub.snapshot(), before);

        // Alice's own push goes through.
        alice.sync(&hub).await;
        assert!(alice.in_step_with(&hub, section));
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_field_worker_never_gets_another_devices_visit_log() {
        let hub = TestHub::start().await;
        let mut ann = hub.device(&hub.org_a, Role::Fieldworker).await;
        let mut ben = hub.device(&hub.org_a, Role::Fieldworker).await;
        let ann_log = ann.log_visit("2026-11-02", "", &[]);
        ann.sync(&hub).await;
        let ben_log = ben.log_visit("2026-11-02", "", &[]);
        let resp = ben.sync(&hub).await;
        assert_eq!(ids(&resp), vec![ben_log]);

        // Holding it anyway (say, from before a role change), Ben is told to drop it.
        let copy = Document::load(
            ann_log,
            &hub.hub.document_bytes(ann_log).unwrap().unwrap(),
            ben.id,
        )
        .unwrap();
        ben.docs.insert(ann_log, copy);
        let resp = ben.sync(&hub).await;
        assert_eq!(resp.drop, vec![ann_log]);
        assert!(!ids(&resp).contains(&ann_log));
        assert!(!ben.docs.contains_key(&ann_log));
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_visit_log_is_read_by_its_owner_only_and_dropped_by_any_other_holder() {
        let hub = TestHub::start().await;
        let mut worker_a = hub.device(&hub.org_a, Role::Fieldworker).await;
        let mut worker_b = hub.device(&hub.org_b, Role::Fieldworker).await;
        let log_a = worker_a.log_visit("2026-11-02", "", &[]);
        worker_b.log_visit("2026-11-02", "", &[]);
        worker_a.sync(&hub).await;
        worker_b.sync(&hub).await;

        // Coordinators and admins, of the owner's organisation or not, receive no raw visit log.
        let mut coordinator_a = hub.device(&hub.org_a, Role::Coordinator).await;
        assert_eq!(ids(&coordinator_a.sync(&hub).await), vec![]);
        let mut admin_b = hub.device(&hub.org_b, Role::Admin).await;
        assert_eq!(ids(&admin_b.sync(&hub).await), vec![]);
        // The owner gets its own back (a reinstalled app).
        assert_eq!(worker_a.doc(log_a).visits().unwrap().len(), 1);

        // A coordinator's phone still holding a colleague's log (received from an older hub) is
        // told to drop it, and what it sends of it is not stored.
        let bytes = worker_a.doc(log_a).automerge_mut().save();
        let mut copy = Document::load(log_a, &bytes, coordinator_a.id).unwrap();
        copy.put_visit(VisitId::random(), &visit("2026-11-05", "", &[])).unwrap();
        copy.commit(Utc::now());
        coordinator_a.docs.insert(log_a, copy);
        let before = hub.snapshot();
        let resp = coordinator_a.sync(&hub).await;
        assert_eq!(resp.drop, vec![log_a]);
        assert_eq!(ids(&resp), vec![]);
        assert_eq!(hub.snapshot(), before);
    }
}
