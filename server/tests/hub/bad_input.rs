//! Bad input of every kind gets a 4xx with a reason, stores nothing, and leaves the hub serving.

use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};
use chrono::Utc;
use outreach_core::model::{DocId, Region};
use outreach_core::sync::protocol::{encode, ErrorBody, ErrorCode, Role, SyncRequest};
use outreach_hub::HubConfig;
use reqwest::StatusCode;

use crate::common::on_both_backends;
use crate::common::{TestDevice, TestHub};

/// A hub holding a coordinator's section and a worker's visit log, both in step.
async fn setup(config: HubConfig) -> (TestHub, TestDevice, TestDevice, DocId, DocId) {
    let hub = TestHub::start_with(config).await;
    let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
    let (section, _) = coordinator.add_partner(Region::Namur, "Espace social");
    coordinator.sync(&hub).await;
    let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
    let log = worker.log_visit("2026-11-02", "Info session", &[]);
    worker.sync_all(&hub).await;
    (hub, coordinator, worker, section, log)
}

/// Sends `body`, expects a refusal of the whole request, and checks that nothing changed and
/// the hub still serves.
async fn refused(hub: &TestHub, device: &TestDevice, body: Vec<u8>) -> (StatusCode, ErrorBody) {
    let before = hub.snapshot();
    let (status, err) = device.send_bytes(hub, body).await.unwrap_err();
    assert!(status.is_client_error(), "{status}");
    assert_eq!(hub.snapshot(), before, "a refused request stores nothing");
    hub.assert_still_serving().await;
    (status, err)
}

/// Sends `body`, expects document `doc` refused, and checks that nothing changed (the other
/// documents of these requests hold no new changes) and the hub still serves.
async fn refused_doc(
    hub: &TestHub,
    device: &TestDevice,
    body: Vec<u8>,
    doc: DocId,
) -> (StatusCode, ErrorCode, String) {
    let before = hub.snapshot();
    let outcome = device.refused_doc(hub, body, doc).await;
    assert!(outcome.0.is_client_error(), "{outcome:?}");
    assert_eq!(hub.snapshot(), before, "a refused document stores nothing");
    hub.assert_still_serving().await;
    outcome
}

/// The device's request with one document's changes replaced.
fn with_changes(device: &mut TestDevice, id: DocId, changes: Vec<u8>) -> Vec<u8> {
    let mut req = device.request();
    let push = req.docs.iter_mut().find(|d| d.id == id).unwrap();
    push.changes = changes;
    encode(&req)
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn garbage_truncated_and_corrupted_changes_are_refused() {
        let (hub, _, mut worker, _, log) = setup(HubConfig::default()).await;
        worker.log_visit("2026-11-03", "", &[]);
        let good = worker.push(log).changes;
        assert!(good.len() > 40);

        let random: Vec<u8> = (0..500u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let truncated = good[..good.len() / 2].to_vec();
        let mut corrupted = good.clone();
        let middle = corrupted.len() / 2;
        corrupted[middle] ^= 0x10;
        for bad in [random, truncated, corrupted] {
            let body = with_changes(&mut worker, log, bad);
            let (status, code, _) = refused_doc(&hub, &worker, body, log).await;
            assert_eq!(
                (status, code),
                (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidDocument)
            );
        }

        // A new document made of garbage too.
        let mut other = hub.device(&hub.org_a, Role::Fieldworker).await;
        let new_log = other.log_visit("2026-12-01", "", &[]);
        let body = with_changes(&mut other, new_log, b"\x85\x6f\x4a\x83 but then garbage".to_vec());
        let (status, code, _) = refused_doc(&hub, &other, body, new_log).await;
        assert_eq!(
            (status, code),
            (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidDocument)
        );

        // The good changes still go through.
        worker.sync(&hub).await;
        assert!(worker.in_step_with(&hub, log));
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn malformed_cbor_is_a_bad_request() {
        let (hub, _, mut worker, _, _) = setup(HubConfig::default()).await;
        let good = encode(&worker.request());
        for body in [
            b"\xff\x00 definitely not cbor".to_vec(),
            good[..good.len() - 3].to_vec(),
            encode(&"a string, not a request"),
            Vec::new(),
        ] {
            let (status, err) = refused(&hub, &worker, body).await;
            assert_eq!(
                (status, err.code),
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
            );
        }
        // The same document twice.
        let mut req = worker.request();
        req.docs.push(req.docs[0].clone());
        let (status, err) = refused(&hub, &worker, encode(&req)).await;
        assert_eq!(
            (status, err.code),
            (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
        );
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn bounds_on_body_documents_and_changes_are_enforced() {
        let config = HubConfig {
            max_body_bytes: 64 * 1024,
            max_docs: 3,
            max_changes: 5,
            ..HubConfig::default()
        };
        let (hub, _, mut worker, _, log) = setup(config).await;

        let big = with_changes(&mut worker, log, vec![0x85; 100 * 1024]);
        let (status, err) = refused(&hub, &worker, big).await;
        assert_eq!(err.doc, None, "the body is refused before it is read");
        assert_eq!(
            (status, err.code),
            (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge)
        );

        let mut req = worker.request();
        let template = req.docs[0].clone();
        for _ in 0..3 {
            let mut extra = template.clone();
            extra.id = DocId::random();
            extra.changes.clear();
            req.docs.push(extra);
        }
        let (status, err) = refused(&hub, &worker, encode(&req)).await;
        assert_eq!(
            (status, err.code),
            (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge)
        );

        for day in 3..10 {
            worker.log_visit(&format!("2026-11-{day:02}"), "", &[]);
        }
        let req = worker.request();
        let (status, code, _) = refused_doc(&hub, &worker, encode(&req), log).await;
        assert_eq!(
            (status, code),
            (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge)
        );
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_change_that_breaks_the_model_is_refused() {
        let (hub, mut coordinator, _, section, _) = setup(HubConfig::default()).await;
        let partner = coordinator.doc(section).partner_ids().unwrap()[0];
        let am = coordinator.doc(section).automerge_mut();
        let (_, partners) = am.get(ROOT, "partners").unwrap().unwrap();
        let (_, entry) = am.get(&partners, partner.to_string()).unwrap().unwrap();
        am.put(&entry, "status", 5).unwrap();
        coordinator.doc(section).commit(Utc::now());
        let req = coordinator.request();
        let (status, code, reason) = refused_doc(&hub, &coordinator, encode(&req), section).await;
        assert_eq!(
            (status, code),
            (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidDocument)
        );
        assert!(reason.contains("status"), "the reason names the field: {reason}");
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_visit_note_with_a_phone_number_is_refused_and_nothing_is_stored() {
        let (hub, _, mut worker, _, log) = setup(HubConfig::default()).await;
        // A good new document in the same request is stored: only the bad one is refused.
        let other_month = worker.log_visit("2026-12-01", "Fine note", &[]);
        worker.log_visit("2026-11-05", "Bel hem terug op +32 470 12 34 56", &[]);
        let stored_log = hub.hub.document_bytes(log).unwrap();
        let req: SyncRequest = worker.request();
        let resp = worker.send(&hub, &req).await.unwrap();
        let refusal = crate::common::refusal_of(&resp, log).unwrap();
        assert_eq!(refusal.code, ErrorCode::PersonalData);
        assert!(
            !refusal.reason.contains("470 12") && !refusal.reason.contains("+32"),
            "the reason never repeats the personal data: {}",
            refusal.reason
        );
        assert_eq!(
            hub.hub.document_bytes(log).unwrap(),
            stored_log,
            "the refused log is unchanged"
        );
        assert!(hub.hub.document_bytes(other_month).unwrap().is_some());
        assert!(resp.docs.iter().any(|d| d.id == other_month), "and acknowledged");
    }
}
