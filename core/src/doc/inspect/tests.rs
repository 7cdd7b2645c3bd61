//! Tests of the inspection: what the writers write passes, and each rule refuses what it
//! should.

use std::collections::HashSet;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ObjType, ReadDoc, ROOT};
use chrono::Utc;

use super::*;
use crate::doc::wire::parse_changes;
use crate::doc::PartnerEdit;
use crate::model::{
    Activity, Brochure, BrochureFile, DeviceId, Lang, Location, Month, OrgKind, PartOfDay, Partner, Phone,
    Region, Service, Setting, VisitDetails, VisitId,
};

fn visit(note: &str) -> VisitDetails {
    let mut v = VisitDetails::new(
        "2026-11-02".parse().unwrap(),
        PartOfDay::Morning,
        1000,
        "Brussel",
        Setting::Street,
        Activity::IndividualContact,
        2,
    );
    v.note = note.into();
    v
}

fn log(dev: DeviceId) -> Document {
    let meta = DocMeta::VisitLog {
        owner: dev,
        month: Month::parse("2026-11").unwrap(),
    };
    Document::create(meta, dev).unwrap()
}

fn full_partner() -> Partner {
    let mut p = Partner::new(Region::Limburg, "CAW Limburg", OrgKind::WelfareCentre);
    p.description.insert(Lang::code("nl").unwrap(), "Welzijn".into());
    p.themes.insert(crate::model::Theme::Shelter);
    p.languages.insert(Lang::code("ar").unwrap());
    p.regions_served.insert(Region::Antwerp);
    p.email = Some("info@caw.example.org".into());
    p.website = Some("https://caw.example.org".into());
    p.verified_on = Some("2026-11-01".parse().unwrap());
    p.verified_by = Some("Coordination Limburg".into());
    p.worker_notes = Some("Call 011 23 45 67 before you come".into());
    p.phones.push(Phone {
        number: "011 23 45 67".into(),
        label: Some("desk".into()),
    });
    let mut s = Service::new("Opvang");
    s.schedule = "mon-fri 09:00-12:00".parse().unwrap();
    s.fees = Some("free".into());
    p.services.insert(s.id, s);
    let mut l = Location::new(3500, "Hasselt");
    l.latitude = Some(50.93);
    l.longitude = Some(5.34);
    l.hours = "mon-sat 09:00-17:00".parse().unwrap();
    p.locations.insert(l.id, l);
    p
}

/// What a hub's copy says of `device`'s new changes in `doc` since `since`.
fn inspect_new(hub: &mut Document, doc: &mut Document, since: &[ChangeHash]) -> Result<Findings, DocError> {
    let changes = parse_changes(&doc.changes_since(since).unwrap()).unwrap();
    let new: Vec<Change> = changes
        .into_iter()
        .filter(|c| hub.automerge_mut().get_change_by_hash(&c.hash()).is_none())
        .collect();
    hub.inspect(&new, &HashSet::new(), &mut Rules::default())
}

#[test]
fn what_the_writers_write_fits_the_layout() {
    let dev = DeviceId::random();
    let meta = DocMeta::DirectorySection {
        region: Region::Limburg,
    };
    let mut d = Document::create(meta, dev).unwrap();
    let p = full_partner();
    d.insert_partner(&p).unwrap();
    d.commit(Utc::now());
    let mut hub = Document::create(meta, DeviceId::random()).unwrap();
    let findings = inspect_new(&mut hub, &mut d, &[]).unwrap();
    assert_eq!(
        findings.contacts.len(),
        1,
        "the partner's own number in the notes"
    );
    assert!(partner_contacts(&p).contains(&findings.contacts[0].tagged()));

    let mut catalog = Document::create(DocMeta::BrochureCatalog, dev).unwrap();
    let mut b = Brochure::new("2026-11-01".parse().unwrap());
    b.title.insert(Lang::code("fr").unwrap(), "Retour".into());
    b.files.insert(
        Lang::code("fr").unwrap(),
        BrochureFile {
            sha256: "a".repeat(64),
            size: 1000,
            media_type: "application/pdf".into(),
            file_name: "retour.pdf".into(),
        },
    );
    catalog.put_brochure(&b).unwrap();
    catalog.commit(Utc::now());
    let mut hub = Document::create(DocMeta::BrochureCatalog, DeviceId::random()).unwrap();
    assert!(inspect_new(&mut hub, &mut catalog, &[])
        .unwrap()
        .contacts
        .is_empty());

    let mut l = log(dev);
    l.put_visit(VisitId::random(), &visit("Info session at 20:00, 12 people"))
        .unwrap();
    l.commit(Utc::now());
    let mut hub = log(dev);
    assert!(inspect_new(&mut hub, &mut l, &[]).unwrap().contacts.is_empty());
}

#[test]
fn an_extra_root_key_or_an_unknown_field_is_refused() {
    let dev = DeviceId::random();
    let mut l = log(dev);
    l.automerge_mut().put(ROOT, "name", "Jan Peeters").unwrap();
    l.commit(Utc::now());
    let mut hub = log(dev);
    assert!(matches!(
        inspect_new(&mut hub, &mut l, &[]),
        Err(DocError::UnknownField { path }) if path == "name"
    ));

    let meta = DocMeta::DirectorySection {
        region: Region::Namur,
    };
    let mut d = Document::create(meta, dev).unwrap();
    let p = Partner::new(Region::Namur, "Espace social", OrgKind::Ngo);
    d.insert_partner(&p).unwrap();
    d.commit(Utc::now());
    let base = d.heads();
    let mut hub = Document::load(meta.id(), &d.automerge_mut().save(), DeviceId::random()).unwrap();
    let obj = d.partner_object(p.id).unwrap().unwrap();
    d.automerge_mut()
        .put(&obj, "iban", "BE71 0961 2345 6769")
        .unwrap();
    d.commit(Utc::now());
    let e = inspect_new(&mut hub, &mut d, &base).unwrap_err();
    assert!(
        matches!(&e, DocError::UnknownField { path } if path.ends_with(".iban")),
        "{e}"
    );
    assert!(!e.to_string().contains("0961"), "never the value");
}

#[test]
fn a_value_overwritten_later_is_still_checked() {
    let dev = DeviceId::random();
    let mut l = log(dev);
    let id = VisitId::random();
    l.put_visit(id, &visit("His number is 0470 12 34 56")).unwrap();
    l.commit(Utc::now());
    l.put_visit(id, &visit("Info session")).unwrap();
    l.commit(Utc::now());
    assert_eq!(l.visit(id).unwrap().unwrap().details.note, "Info session");
    let mut hub = log(dev);
    let findings = inspect_new(&mut hub, &mut l, &[]).unwrap();
    assert!(matches!(
        findings.check_contacts(|_| false),
        Err(DocError::PersonalData { path }) if path.ends_with(".note")
    ));

    // A visit with a field the model does not have, even if a later change fixes it.
    let mut l = log(dev);
    let mut json = serde_json::to_value(visit("")).unwrap();
    json["name"] = "Jan".into();
    let coll = l.collection().unwrap();
    l.automerge_mut()
        .put(&coll, id.to_string(), json.to_string())
        .unwrap();
    l.commit(Utc::now());
    l.put_visit(id, &visit("")).unwrap();
    l.commit(Utc::now());
    let mut hub = log(dev);
    assert!(matches!(
        inspect_new(&mut hub, &mut l, &[]),
        Err(DocError::UnknownField { .. })
    ));
}

#[test]
fn messages_extra_bytes_and_exact_visit_times_are_refused() {
    let dev = DeviceId::random();
    let mut l = log(dev);
    l.put_visit(VisitId::random(), &visit("")).unwrap();
    l.automerge_mut().commit_with(
        CommitOptions::default()
            .with_message("met Jan at 21:47")
            .with_time(1_790_000_000 - 1_790_000_000 % 86_400),
    );
    let mut hub = log(dev);
    assert!(matches!(
        inspect_new(&mut hub, &mut l, &[]),
        Err(DocError::ChangeMetadata(_))
    ));

    let mut l = log(dev);
    l.put_visit(VisitId::random(), &visit("")).unwrap();
    l.automerge_mut()
        .commit_with(CommitOptions::default().with_time(1_790_000_123));
    let mut hub = log(dev);
    assert!(matches!(
        inspect_new(&mut hub, &mut l, &[]),
        Err(DocError::ChangeMetadata(_))
    ));
}

/// A tampering of a document, made on a device's copy.
type Tamper<'a> = Box<dyn Fn(&mut automerge::AutoCommit) + 'a>;

/// Each tampering, made on a copy of `saved` by `dev` and committed, is refused by a hub that
/// holds `saved` (at `base`).
fn assert_each_refused(
    meta: DocMeta,
    saved: &[u8],
    base: &[ChangeHash],
    dev: DeviceId,
    cases: &[Tamper<'_>],
) {
    for (i, case) in cases.iter().enumerate() {
        let mut copy = Document::load(meta.id(), saved, dev).unwrap();
        case(copy.automerge_mut());
        copy.commit(Utc::now());
        let mut hub = Document::load(meta.id(), saved, DeviceId::random()).unwrap();
        assert!(inspect_new(&mut hub, &mut copy, base).is_err(), "case {i} passed");
    }
}

#[test]
fn wrong_types_deletions_lists_and_counters_are_refused() {
    let dev = DeviceId::random();
    let meta = DocMeta::DirectorySection {
        region: Region::Namur,
    };
    let mut d = Document::create(meta, dev).unwrap();
    let p = Partner::new(Region::Namur, "Espace social", OrgKind::Ngo);
    d.insert_partner(&p).unwrap();
    d.commit(Utc::now());
    let base = d.heads();
    let saved = d.automerge_mut().save();
    let obj = d.partner_object(p.id).unwrap().unwrap();
    let coll = d.collection().unwrap();

    let cases: Vec<Tamper<'_>> = vec![
        Box::new(|am| {
            am.put(&obj, "status", 7).unwrap();
        }),
        Box::new(|am| {
            am.put(&obj, "status", "astrology").unwrap();
        }),
        Box::new(|am| {
            am.put_object(&obj, "name", ObjType::List).unwrap();
        }),
        Box::new(|am| {
            am.put_object(&obj, "notes", ObjType::Text).unwrap();
        }),
        Box::new(|am| {
            am.put(&obj, "verified_on", automerge::ScalarValue::counter(3))
                .unwrap();
        }),
        Box::new(|am| {
            am.delete(&coll, p.id.to_string()).unwrap();
        }),
        Box::new(|am| {
            am.delete(&obj, "themes").unwrap();
        }),
    ];
    assert_each_refused(meta, &saved, &base, dev, &cases);
}

#[test]
fn a_raised_schema_version_is_an_upgrade_not_damage() {
    let dev = DeviceId::random();
    let mut l = log(dev);
    l.automerge_mut().put(ROOT, "schema", SCHEMA_VERSION + 1).unwrap();
    l.commit(Utc::now());
    let mut hub = log(dev);
    assert!(matches!(
        inspect_new(&mut hub, &mut l, &[]),
        Err(DocError::TooNew { .. })
    ));
    let mut l = log(dev);
    l.automerge_mut().put(ROOT, "kind", "brochure_catalog").unwrap();
    l.commit(Utc::now());
    let mut hub = log(dev);
    assert!(matches!(
        inspect_new(&mut hub, &mut l, &[]),
        Err(DocError::Malformed { .. })
    ));
    assert_eq!(
        hub.automerge().keys(ROOT).count(),
        5,
        "the hub's copy is unchanged"
    );
}

#[test]
fn a_conflict_settled_on_the_value_shown_passes_and_a_removal_of_a_kept_field_does_not() {
    let meta = DocMeta::DirectorySection {
        region: Region::Namur,
    };
    let (a, b) = (DeviceId::random(), DeviceId::random());
    let mut da = Document::create(meta, a).unwrap();
    let p = Partner::new(Region::Namur, "Espace social", OrgKind::Ngo);
    da.insert_partner(&p).unwrap();
    da.commit(Utc::now());
    let mut db = Document::load(meta.id(), &da.automerge_mut().save(), b).unwrap();
    da.edit_partner(p.id, &[PartnerEdit::Name("Espace A".into())])
        .unwrap();
    da.commit(Utc::now());
    db.edit_partner(p.id, &[PartnerEdit::Name("Espace B".into())])
        .unwrap();
    db.commit(Utc::now());
    da.merge_bytes(&db.automerge_mut().save()).unwrap();
    let both = da.heads();
    let merged = da.automerge_mut().save();
    let shown = da.partner(p.id).unwrap().unwrap().name;
    // Automerge records the value shown, set again, as a delete of the other one.
    da.edit_partner(p.id, &[PartnerEdit::Name(shown.clone())])
        .unwrap();
    da.commit(Utc::now());
    assert!(da.inspect_last_local(|_| true).is_ok(), "the device's own check");
    let mut hub = Document::load(meta.id(), &merged, DeviceId::random()).unwrap();
    inspect_new(&mut hub, &mut da, &both).unwrap();
    assert!(da.partner_conflicts(p.id).unwrap().is_empty());
    assert_eq!(da.partner(p.id).unwrap().unwrap().name, shown);

    // Deleting every value of a kept field is refused, on the device and on the hub.
    let obj = da.partner_object(p.id).unwrap().unwrap();
    let before = da.heads();
    let saved = da.automerge_mut().save();
    da.automerge_mut().delete(&obj, "name").unwrap();
    da.commit(Utc::now());
    assert!(da.inspect_last_local(|_| true).is_err());
    let mut hub = Document::load(meta.id(), &saved, DeviceId::random()).unwrap();
    assert!(inspect_new(&mut hub, &mut da, &before).is_err());
}

#[test]
fn hours_as_one_value_exceptions_and_the_raised_layout_pass_and_bad_ones_do_not() {
    let dev = DeviceId::random();
    let meta = DocMeta::DirectorySection {
        region: Region::Limburg,
    };
    let mut d = Document::create(meta, dev).unwrap();
    let mut p = full_partner();
    let lid = *p.locations.keys().next().unwrap();
    p.locations.get_mut(&lid).unwrap().exceptions = vec!["2026-12-24..2027-01-01 closed".parse().unwrap()];
    d.insert_partner(&p).unwrap();
    d.commit(Utc::now());
    assert_eq!(
        d.automerge()
            .get(ROOT, "schema")
            .unwrap()
            .unwrap()
            .0
            .as_scalar()
            .cloned(),
        Some(automerge::ScalarValue::Uint(crate::doc::directory::HOURS_SCHEMA))
    );
    let mut hub = Document::create(meta, DeviceId::random()).unwrap();
    inspect_new(&mut hub, &mut d, &[]).unwrap();
    let base = d.heads();
    let saved = d.automerge_mut().save();
    let loc = {
        let obj = d.partner_object(p.id).unwrap().unwrap();
        let locs = d.automerge().get(&obj, "locations").unwrap().unwrap().1;
        d.automerge().get(&locs, lid.to_string()).unwrap().unwrap().1
    };
    let cases: Vec<Tamper<'_>> = vec![
        Box::new(|am| {
            am.put(&loc, "weekly", "mon 09:00-25:00").unwrap();
        }),
        Box::new(|am| {
            let ex = am.get(&loc, "exceptions").unwrap().unwrap().1;
            am.put(&ex, "2026-12-24", "2028-01-01 closed").unwrap();
        }),
        Box::new(|am| {
            let ex = am.get(&loc, "exceptions").unwrap().unwrap().1;
            am.put(&ex, "2026-12-24", "2026-12-01 closed").unwrap();
        }),
        Box::new(|am| {
            let ex = am.get(&loc, "exceptions").unwrap().unwrap().1;
            am.put(&ex, "24/12/2026", "2026-12-26 closed").unwrap();
        }),
        Box::new(|am| {
            am.put(&loc, "status", "gone").unwrap();
        }),
        Box::new(|am| {
            am.put(ROOT, "schema", 1u64).unwrap();
        }),
    ];
    assert_each_refused(meta, &saved, &base, dev, &cases);
}

#[test]
fn a_suggestion_is_written_by_its_author_and_answered_by_another_device_only() {
    use crate::model::{Answer, Outcome, PartnerId, Suggestion, SuggestionId};
    let (author, coordinator) = (DeviceId::random(), DeviceId::random());
    let meta = DocMeta::Suggestions { owner: author };
    let suggestion = |id| Suggestion {
        id,
        author,
        partner: PartnerId::random(),
        region: Region::Limburg,
        field: Some("notes".into()),
        value: Some("Ring twice".into()),
        comment: "The bell is broken".into(),
        made_on: "2026-12-01".parse().unwrap(),
        answer: None,
    };
    let answer = |by| Answer {
        outcome: Outcome::Dismissed,
        reason: Some("Already known".into()),
        on: "2026-12-02".parse().unwrap(),
        by,
    };
    // The author makes it; a coordinator answers it: both pass.
    let mut mine = Document::create(meta, author).unwrap();
    let id = SuggestionId::random();
    mine.put_suggestion(&suggestion(id)).unwrap();
    mine.commit(Utc::now());
    let mut hub = Document::create(meta, DeviceId::random()).unwrap();
    inspect_new(&mut hub, &mut mine, &[]).unwrap();
    let saved = mine.automerge_mut().save();
    let base = mine.heads();
    let mut theirs = Document::load(meta.id(), &saved, coordinator).unwrap();
    theirs.answer_suggestion(id, &answer(coordinator)).unwrap();
    theirs.commit(Utc::now());
    let mut hub = Document::load(meta.id(), &saved, DeviceId::random()).unwrap();
    inspect_new(&mut hub, &mut theirs, &base).unwrap();
    let read = theirs.suggestion(id).unwrap().unwrap();
    assert_eq!(
        read.answer.map(|a| (a.outcome, a.by)),
        Some((Outcome::Dismissed, coordinator))
    );

    // The author answering its own, or another device writing a suggestion or changing one
    // of the author's fields, is refused.
    let mut own = Document::load(meta.id(), &saved, author).unwrap();
    own.answer_suggestion(id, &answer(author)).unwrap();
    own.commit(Utc::now());
    let mut hub = Document::load(meta.id(), &saved, DeviceId::random()).unwrap();
    assert!(matches!(
        inspect_new(&mut hub, &mut own, &base),
        Err(DocError::ForeignActor)
    ));
    let mut forged = Document::load(meta.id(), &saved, coordinator).unwrap();
    forged
        .put_suggestion(&suggestion(SuggestionId::random()))
        .unwrap();
    forged.commit(Utc::now());
    let mut hub = Document::load(meta.id(), &saved, DeviceId::random()).unwrap();
    assert!(matches!(
        inspect_new(&mut hub, &mut forged, &base),
        Err(DocError::ForeignActor)
    ));
    let cases: Vec<Tamper<'_>> = vec![Box::new(|am| {
        let coll = am.get(ROOT, "suggestions").unwrap().unwrap().1;
        let s = am.get(&coll, id.to_string()).unwrap().unwrap().1;
        am.put(&s, "value", "Ring three times").unwrap();
    })];
    assert_each_refused(meta, &saved, &base, coordinator, &cases);
    // A field the vocabulary does not know, or personal data in the comment, is refused.
    let cases: Vec<Tamper<'_>> = vec![
        Box::new(|am| {
            let coll = am.get(ROOT, "suggestions").unwrap().unwrap().1;
            let s = am.get(&coll, id.to_string()).unwrap().unwrap().1;
            am.put(&s, "field", "worker_notes").unwrap();
        }),
        Box::new(|am| {
            let coll = am.get(ROOT, "suggestions").unwrap().unwrap().1;
            let s = am.get(&coll, id.to_string()).unwrap().unwrap().1;
            am.put(&s, "comment", "Pay to BE68 5390 0754 7034").unwrap();
        }),
    ];
    assert_each_refused(meta, &saved, &base, author, &cases);
}
