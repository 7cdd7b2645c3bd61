//! The hub hardened: bounded work before trust (decompression bombs, access decided before
//! parsing), every operation validated (tampered changes of every kind refused with a typed
//! code, stored documents byte-identical), and outcomes per document (one refused document
//! among five, a document from a newer app).

use std::io::Write as _;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ReadDoc, ROOT};
use chrono::Utc;
use outreach_core::doc::{DocMeta, Document, SCHEMA_VERSION};
use outreach_core::model::{DeviceId, DocId, Month, OrgKind, Partner, Phone, Region, VisitId};
use outreach_core::sync::protocol::{encode, ErrorCode, Role, SyncRequest, PROTOCOL_VERSION};
use reqwest::StatusCode;

use crate::common::on_both_backends;
use crate::common::process::HubProcess;
use crate::common::{answer, chunks, refusal_of, visit, TestDevice, TestHub};

/// The stored bytes of `doc`, `None` if the hub does not hold it.
fn stored(hub: &TestHub, doc: DocId) -> Option<Vec<u8>> {
    hub.hub.document_bytes(doc).unwrap()
}

/// Sends `device`'s request, expects `doc` refused with `code`, and checks that the hub's copy
/// of `doc` is byte-identical.
async fn refused_with(hub: &TestHub, device: &mut TestDevice, doc: DocId, code: ErrorCode) {
    let before = stored(hub, doc);
    let req = device.request();
    let (_, got, reason) = device.refused_doc(hub, encode(&req), doc).await;
    assert_eq!(got, code, "{reason}");
    assert_eq!(stored(hub, doc), before, "the stored document is byte-identical");
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn tampered_visit_logs_are_refused_with_typed_codes() {
        let hub = TestHub::start().await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        let log = worker.log_visit("2026-11-02", "Info session", &[]);
        worker.sync(&hub).await;
        let clean = worker.doc(log).automerge_mut().save();
        let reset = |w: &mut TestDevice| {
            let d = Document::load(log, &clean, w.id).unwrap();
            w.docs.insert(log, d);
        };

        // A root key the layout does not have, holding a name.
        worker
            .doc(log)
            .automerge_mut()
            .put(ROOT, "name", "Jan Peeters")
            .unwrap();
        worker.doc(log).commit(Utc::now());
        refused_with(&hub, &mut worker, log, ErrorCode::UnknownField).await;

        // A note with a phone number that a later change overwrites: it stays in the history.
        reset(&mut worker);
        let id = VisitId::random();
        let doc = worker.doc(log);
        doc.put_visit(id, &visit("2026-11-03", "Bel hem op 0470 12 34 56", &[]))
            .unwrap();
        doc.commit(Utc::now());
        doc.put_visit(id, &visit("2026-11-03", "Info", &[])).unwrap();
        doc.commit(Utc::now());
        refused_with(&hub, &mut worker, log, ErrorCode::PersonalData).await;

        // A change message with a name and the time of a contact.
        reset(&mut worker);
        let doc = worker.doc(log);
        doc.put_visit(VisitId::random(), &visit("2026-11-03", "", &[]))
            .unwrap();
        let day = Utc::now().timestamp() - Utc::now().timestamp().rem_euclid(86_400);
        doc.automerge_mut().commit_with(
            CommitOptions::default()
                .with_message("met Jan Peeters at 21:47")
                .with_time(day),
        );
        refused_with(&hub, &mut worker, log, ErrorCode::ChangeMetadata).await;

        // The exact time of a change in a visit log.
        reset(&mut worker);
        let doc = worker.doc(log);
        doc.put_visit(VisitId::random(), &visit("2026-11-03", "", &[]))
            .unwrap();
        doc.automerge_mut()
            .commit_with(CommitOptions::default().with_time(day + 21 * 3600 + 47 * 60));
        refused_with(&hub, &mut worker, log, ErrorCode::ChangeMetadata).await;

        // A visit with a field the model does not have.
        reset(&mut worker);
        let mut json = serde_json::to_value(visit("2026-11-03", "", &[])).unwrap();
        json["name"] = "Jan Peeters".into();
        let doc = worker.doc(log);
        let coll = doc.automerge().get(ROOT, "visits").unwrap().unwrap().1;
        doc.automerge_mut()
            .put(&coll, VisitId::random().to_string(), json.to_string())
            .unwrap();
        doc.commit(Utc::now());
        refused_with(&hub, &mut worker, log, ErrorCode::UnknownField).await;

        // The honest device still syncs.
        reset(&mut worker);
        worker.log_visit("2026-11-04", "Info session", &[]);
        worker.sync(&hub).await;
        assert!(worker.in_step_with(&hub, log));
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_coordinators_extra_keys_in_a_directory_section_are_refused() {
        let hub = TestHub::start().await;
        let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        let (section, partner) = coordinator.add_partner(Region::Namur, "Espace social");
        coordinator.sync(&hub).await;
        let clean = coordinator.doc(section).automerge_mut().save();

        // A key of its own in a partner entry (every device of every organisation reads it).
        let doc = coordinator.doc(section);
        let coll = doc.automerge().get(ROOT, "partners").unwrap().unwrap().1;
        let entry = doc
            .automerge()
            .get(&coll, partner.to_string())
            .unwrap()
            .unwrap()
            .1;
        doc.automerge_mut()
            .put(&entry, "contact_person", "Jan Peeters, 0470 12 34 56")
            .unwrap();
        doc.commit(Utc::now());
        refused_with(&hub, &mut coordinator, section, ErrorCode::UnknownField).await;

        // A new root key.
        let d = Document::load(section, &clean, coordinator.id).unwrap();
        coordinator.docs.insert(section, d);
        let doc = coordinator.doc(section);
        doc.automerge_mut()
            .put(ROOT, "iban", "BE71 0961 2345 6769")
            .unwrap();
        doc.commit(Utc::now());
        refused_with(&hub, &mut coordinator, section, ErrorCode::UnknownField).await;

        // Personal data in the notes for workers.
        let d = Document::load(section, &clean, coordinator.id).unwrap();
        coordinator.docs.insert(section, d);
        let doc = coordinator.doc(section);
        doc.edit_partner(
            partner,
            &[outreach_core::doc::PartnerEdit::WorkerNotes(Some(
                "Ask for Jan, jan.peeters@example.org".into(),
            ))],
        )
        .unwrap();
        doc.commit(Utc::now());
        refused_with(&hub, &mut coordinator, section, ErrorCode::PersonalData).await;
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn device_ids_must_be_random_and_never_the_genesis_actor() {
        let hub = TestHub::start().await;
        let nil = DeviceId::from_uuid(uuid::Uuid::nil());
        let time_based = DeviceId::from_uuid(uuid::Uuid::from_u128(0x1e8f_0d2c_9a3b_11ef_8000_0000_0000_0001));
        for id in [nil, time_based] {
            let code = hub.code(&hub.org_a, Role::Coordinator);
            let (status, err) = hub.try_enroll(&code, id).await.unwrap_err();
            assert_eq!(
                (status, err.code),
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
            );
            // The code was not used up by the refusal.
            hub.try_enroll(&code, DeviceId::random()).await.unwrap();
        }
        assert_eq!(
            nil.as_bytes(),
            &outreach_core::doc::GENESIS_ACTOR,
            "the nil id is the genesis actor"
        );
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_field_worker_is_refused_a_directory_section_before_its_changes_are_read() {
        let hub = TestHub::start().await;
        let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        let (section, _) = coordinator.add_partner(Region::Namur, "Espace social");
        coordinator.sync(&hub).await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        worker.sync(&hub).await;
        let before = hub.snapshot();
        // Bytes that are not Automerge at all: refused as forbidden, not as malformed, so the
        // decision came before any parsing.
        let mut req = worker.request();
        req.docs.iter_mut().find(|d| d.id == section).unwrap().changes = b"not even automerge".to_vec();
        let (_, code, _) = worker.refused_doc(&hub, encode(&req), section).await;
        assert_eq!(code, ErrorCode::Forbidden);
        // The same for a section new to the hub, described by the push.
        let liege = DocMeta::DirectorySection {
            region: Region::Liege,
        };
        let mut req = worker.request();
        req.docs.push(outreach_core::sync::protocol::DocPush {
            meta: Some(liege),
            ..outreach_core::sync::protocol::DocPush::new(liege.id(), Vec::new(), vec![0x85; 64])
        });
        let (_, code, _) = worker.refused_doc(&hub, encode(&req), liege.id()).await;
        assert_eq!(code, ErrorCode::Forbidden);
        // A description that does not derive to the document's id is refused.
        let mut req = worker.request();
        req.docs.push(outreach_core::sync::protocol::DocPush {
            meta: Some(DocMeta::VisitLog {
                owner: worker.id,
                month: Month::parse("2026-11").unwrap(),
            }),
            ..outreach_core::sync::protocol::DocPush::new(liege.id(), Vec::new(), vec![0x85; 64])
        });
        let (_, code, _) = worker.refused_doc(&hub, encode(&req), liege.id()).await;
        assert_eq!(code, ErrorCode::BadRequest);
        assert_eq!(hub.snapshot(), before);
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn one_refused_document_among_five_does_not_stop_the_others() {
        let hub = TestHub::start().await;
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        let logs: Vec<DocId> = [
            "2026-07-02",
            "2026-08-02",
            "2026-09-02",
            "2026-10-02",
            "2026-11-02",
        ]
        .iter()
        .map(|day| worker.log_visit(day, "Info", &[]))
        .collect();
        // The third month carries a phone number in a note.
        worker.log_visit("2026-09-03", "Tel 0470 12 34 56", &[]);
        let req = worker.request();
        let resp = worker.send(&hub, &req).await.unwrap();
        worker.apply(&resp);
        assert_eq!(resp.refused.len(), 1);
        assert_eq!(refusal_of(&resp, logs[2]).unwrap().code, ErrorCode::PersonalData);
        assert!(stored(&hub, logs[2]).is_none());
        for (i, log) in logs.iter().enumerate() {
            if i != 2 {
                assert!(
                    worker.in_step_with(&hub, *log),
                    "month {i} stored and acknowledged"
                );
                assert!(resp.docs.iter().any(|d| d.id == *log));
            }
        }

        // A document from a newer app: "upgrade needed" for it alone.
        let mut other = hub.device(&hub.org_a, Role::Fieldworker).await;
        let newer = other.log_visit("2026-11-02", "", &[]);
        let fine = other.log_visit("2026-10-02", "", &[]);
        other
            .doc(newer)
            .automerge_mut()
            .put(ROOT, "schema", SCHEMA_VERSION + 1)
            .unwrap();
        other.doc(newer).commit(Utc::now());
        let req = other.request();
        let resp = other.send(&hub, &req).await.unwrap();
        other.apply(&resp);
        assert_eq!(refusal_of(&resp, newer).unwrap().code, ErrorCode::UpgradeNeeded);
        assert!(stored(&hub, newer).is_none());
        assert!(other.in_step_with(&hub, fine));
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_partners_public_number_may_be_named_in_a_note() {
        let hub = TestHub::start().await;
        let mut coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        let section = coordinator.section(Region::Brussels);
        let mut fedasil = Partner::new(Region::Brussels, "Fedasil", OrgKind::PublicAgency);
        fedasil.phones.push(Phone {
            number: "+32 2 213 44 00".into(),
            label: None,
        });
        fedasil.email = Some("info@fedasil.example.org".into());
        coordinator.doc(section).insert_partner(&fedasil).unwrap();
        coordinator.doc(section).commit(Utc::now());
        coordinator.sync(&hub).await;

        let mut worker = hub.device(&hub.org_b, Role::Fieldworker).await;
        let log = worker.log_visit(
            "2026-11-02",
            "Referred to Fedasil 02/213.44.00, info@fedasil.example.org",
            &[],
        );
        worker.sync(&hub).await;
        assert!(worker.in_step_with(&hub, log));
        worker.log_visit("2026-11-03", "Referred, his own number 0470 12 34 56", &[]);
        refused_with(&hub, &mut worker, log, ErrorCode::PersonalData).await;
    }
}

/// DEFLATE data of `n` zero bytes.
fn deflated_zeros(n: usize) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; 1 << 20];
    for _ in 0..n / block.len() {
        enc.write_all(&block).unwrap();
    }
    enc.finish().unwrap()
}

/// A valid bundle whose first op column is replaced by a compressed column inflating to
/// `inflated` bytes, framed with a good checksum.
fn bundle_bomb(bundle: &[u8], inflated: usize) -> Vec<u8> {
    let bomb = deflated_zeros(inflated);
    chunks::rewrite_op_column(bundle, |spec| Some(spec | chunks::DEFLATE), &bomb)
}

#[tokio::test(flavor = "multi_thread")]
async fn decompression_bombs_are_refused_without_the_memory_they_claim() {
    const GIB: usize = 1 << 30;
    let hub = HubProcess::start();
    let http = crate::common::client();
    let (device, token) = hub.enroll(&http).await;
    let meta = DocMeta::VisitLog {
        owner: device,
        month: Month::parse("2026-11").unwrap(),
    };
    let mut log = Document::create(meta, device).unwrap();
    for day in 2..12 {
        log.put_visit(
            VisitId::random(),
            &visit(&format!("2026-11-{day:02}"), "Info", &[]),
        )
        .unwrap();
        log.commit(Utc::now());
    }
    let bundle = log.changes_since(&[]).unwrap();
    let send = |changes: Vec<u8>| {
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            known: None,
            roster: None,
            report: None,
            format: outreach_core::sync::protocol::AUTOMERGE_FORMAT.into(),
            docs: vec![outreach_core::sync::protocol::DocPush {
                meta: Some(meta),
                ..outreach_core::sync::protocol::DocPush::new(meta.id(), Vec::new(), changes)
            }],
        };
        let body = encode(&req);
        assert!(body.len() <= 1 << 20, "a body of at most 1 MiB: {}", body.len());
        http.post(format!("{}/v1/sync", hub.url))
            .bearer_auth(&token)
            .body(body)
            .send()
    };
    let peak_before = hub.peak_rss();

    // A compressed change chunk whose DEFLATE data inflates to 1 GiB: refused unread.
    let compressed = chunks::frame(chunks::COMPRESSED_CHANGE, &deflated_zeros(GIB));
    let resp: outreach_core::sync::protocol::SyncResponse =
        answer(send(compressed).await.unwrap()).await.unwrap();
    let r = refusal_of(&resp, meta.id()).unwrap();
    assert_eq!(
        outreach_hub::status_of(r.code),
        StatusCode::UNPROCESSABLE_ENTITY,
        "{r:?}"
    );

    // A bundle whose compressed column inflates to 1 GiB: inflated only up to the budget.
    let bomb = bundle_bomb(&bundle, GIB);
    let resp: outreach_core::sync::protocol::SyncResponse = answer(send(bomb).await.unwrap()).await.unwrap();
    let r = refusal_of(&resp, meta.id()).unwrap();
    assert_eq!(r.code, ErrorCode::TooLarge, "{r:?}");
    assert_eq!(outreach_hub::status_of(r.code), StatusCode::PAYLOAD_TOO_LARGE);

    let growth = hub.peak_rss().saturating_sub(peak_before);
    println!("hub peak resident memory grew by {} kB", growth / 1024);
    assert!(growth < 64 << 20, "the hub's peak memory grew by {growth} bytes");

    // The hub still serves, and takes the honest bundle.
    let resp: outreach_core::sync::protocol::SyncResponse =
        answer(send(bundle).await.unwrap()).await.unwrap();
    assert!(resp.refused.is_empty(), "{:?}", resp.refused);
    assert_eq!(resp.docs.len(), 1);
}
