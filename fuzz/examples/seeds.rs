//! Writes the seed corpora of the fuzz targets, made by the project's own encoders: what honest
//! devices push (new and stored documents, as bundles, plain changes and whole documents), a
//! few tampered changes, and protocol bodies. `cargo run --release --example seeds` in `fuzz/`.

use std::path::Path;

use automerge::transaction::{CommitOptions, Transactable};
use outreach_core::doc::{DocMeta, Document, PartnerEdit};
use outreach_core::model::{
    Brochure, BrochureFile, Lang, Location, OrgKind, Partner, Phone, Region, Service, Theme, VisitId,
};
use outreach_core::sync::protocol::{
    encode, DocPush, SyncRequest, SyncResponse, AUTOMERGE_FORMAT, PROTOCOL_VERSION,
};
use outreach_fuzz::{at, stored_log_doc, stored_section_doc, visit, COORDINATOR, WORKER};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("a folder");
    std::fs::write(dir.join(name), bytes).expect("a seed");
}

/// An input of the push targets: the scenario's two bytes, then the pushed bytes.
fn push(selector: u8, arg: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![selector, arg];
    out.extend_from_slice(bytes);
    out
}

fn lang(code: &str) -> Lang {
    Lang::code(code).unwrap_or_else(|| unreachable!("a known language"))
}

fn full_partner(region: Region) -> Partner {
    let mut p = Partner::new(region, "CAW Limburg", OrgKind::WelfareCentre);
    p.themes.insert(Theme::Shelter);
    p.languages.insert(lang("ar"));
    p.email = Some("info@caw.example.org".into());
    p.worker_notes = Some("Call 011 23 45 67 first".into());
    p.phones.push(Phone {
        number: "011 23 45 67".into(),
        label: None,
    });
    let mut s = Service::new("Opvang");
    s.schedule = "mon-fri 09:00-12:00".parse().unwrap_or_default();
    p.services.insert(s.id, s);
    let mut l = Location::new(3500, "Hasselt");
    l.latitude = Some(50.93);
    l.longitude = Some(5.34);
    p.locations.insert(l.id, l);
    p
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut pushes: Vec<(&str, Vec<u8>)> = Vec::new();

    // The stored log, with more visits: as a bundle, as plain changes, and whole.
    let mut log = stored_log_doc();
    let base = log.heads();
    for day in 10..14u32 {
        log.put_visit(VisitId::random(), &visit(day))
            .unwrap_or_else(|e| panic!("{e}"));
        log.commit(at(i64::from(day)));
    }
    pushes.push((
        "log-bundle",
        push(0, 0, &log.changes_since(&base).unwrap_or_default()),
    ));
    pushes.push(("log-changes", push(0, 0, &log.automerge_mut().save_after(&base))));
    pushes.push(("log-whole", push(0, 0, &log.save_for_push())));
    // A new month.
    let mut new_log = Document::create(
        DocMeta::VisitLog {
            owner: WORKER,
            month: outreach_fuzz::month(2),
        },
        WORKER,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut v = visit(2);
    v.date = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
    v.note = "Info session, 12 people".into();
    new_log
        .put_visit(VisitId::random(), &v)
        .unwrap_or_else(|e| panic!("{e}"));
    new_log.commit(at(100));
    pushes.push((
        "new-log",
        push(1, 2, &new_log.changes_since(&[]).unwrap_or_default()),
    ));
    // Tampered: a change message, an exact time, a root key.
    let mut tampered = stored_log_doc();
    let tbase = tampered.heads();
    tampered
        .put_visit(VisitId::random(), &visit(20))
        .unwrap_or_else(|e| panic!("{e}"));
    tampered.automerge_mut().commit_with(
        CommitOptions::default()
            .with_message("met Jan")
            .with_time(1_793_000_123),
    );
    tampered
        .automerge_mut()
        .put(automerge::ROOT, "name", "Jan")
        .unwrap_or_else(|e| panic!("{e}"));
    tampered.commit(at(21));
    pushes.push((
        "log-tampered",
        push(0, 0, &tampered.changes_since(&tbase).unwrap_or_default()),
    ));

    // The stored section, edited: names, a full partner, services, locations, phones.
    let mut section = stored_section_doc();
    let sbase = section.heads();
    let first = section.partner_ids().unwrap_or_default()[0];
    section
        .edit_partner(
            first,
            &[
                PartnerEdit::Name("Espace social asbl".into()),
                PartnerEdit::AddTheme(Theme::Legal),
                PartnerEdit::Email(Some("accueil@example.org".into())),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    section.commit(at(30));
    section
        .insert_partner(&full_partner(Region::Namur))
        .unwrap_or_else(|e| panic!("{e}"));
    section.commit(at(31));
    let edits = section.changes_since(&sbase).unwrap_or_default();
    pushes.push(("section-edits", push(2, 0, &edits)));
    pushes.push(("worker-section", push(5, 0, &edits)));
    // A new section.
    let mut new_section = Document::create(
        DocMeta::DirectorySection {
            region: Region::Limburg,
        },
        COORDINATOR,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    new_section
        .insert_partner(&full_partner(Region::Limburg))
        .unwrap_or_else(|e| panic!("{e}"));
    new_section.commit(at(40));
    let limburg = Region::ALL
        .iter()
        .position(|r| *r == Region::Limburg)
        .unwrap_or(0) as u8;
    pushes.push((
        "new-section",
        push(3, limburg, &new_section.changes_since(&[]).unwrap_or_default()),
    ));
    // The catalog.
    let mut catalog =
        Document::create(DocMeta::BrochureCatalog, COORDINATOR).unwrap_or_else(|e| panic!("{e}"));
    let mut b = Brochure::new(chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default());
    b.title.insert(lang("fr"), "Le retour volontaire".into());
    b.files.insert(
        lang("fr"),
        BrochureFile {
            sha256: "a".repeat(64),
            size: 1000,
            media_type: "application/pdf".into(),
            file_name: "retour.pdf".into(),
        },
    );
    catalog.put_brochure(&b).unwrap_or_else(|e| panic!("{e}"));
    catalog.commit(at(50));
    pushes.push((
        "catalog",
        push(4, 0, &catalog.changes_since(&[]).unwrap_or_default()),
    ));
    // The document chunk that panics in Automerge 0.12 (see README.md).
    pushes.push((
        "tiny-document",
        push(1, 0, &hex("856f4a83d1ed895700050100000000")),
    ));

    for target in ["hub_push", "accept"] {
        for (name, bytes) in &pushes {
            write(&root.join(target), name, bytes);
        }
    }
    for (name, bytes) in &pushes {
        write(&root.join("wire"), name, &bytes[2..]);
        write(&root.join("device_apply"), name, &bytes[1..]);
    }
    let request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        known: None,
        roster: None,
        report: None,
        format: AUTOMERGE_FORMAT.into(),
        docs: vec![DocPush {
            meta: Some(DocMeta::BrochureCatalog),
            ..DocPush::new(
                DocMeta::BrochureCatalog.id(),
                Vec::new(),
                pushes[0].1[2..].to_vec(),
            )
        }],
    };
    write(&root.join("cbor_bodies"), "sync-request", &encode(&request));
    write(
        &root.join("cbor_bodies"),
        "sync-response",
        &encode(&SyncResponse::default()),
    );
    println!("wrote the seeds under {}", root.display());
}
