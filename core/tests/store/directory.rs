//! Directory: search with filters, detail, coordinator edits, conflicts, history, merges and
//! observers.

use std::sync::{Arc, Mutex};

use outreach_core::doc::PartnerEdit;
use outreach_core::model::{fields, Lang, OrgKind, Partner, PartnerStatus, Problem, Region, Theme};
use outreach_core::sample::conex_directory;
use outreach_core::store::PartnerQuery;
use outreach_core::{Error, StoreChanges};

use super::open_new;

fn lang(c: &str) -> Lang {
    Lang::code(c).unwrap()
}

fn names(r: &[outreach_core::store::PartnerSummary]) -> Vec<&str> {
    r.iter().map(|s| s.name.as_str()).collect()
}

/// Copies every document of `from` into `to`, as a first sync would.
fn copy_all(from: &super::TestStore, to: &super::TestStore) {
    for (doc, _) in from.store.documents().unwrap() {
        to.store
            .apply_remote(doc, &from.store.document_bytes(doc).unwrap())
            .unwrap();
    }
}

fn seeded() -> super::TestStore {
    let t = open_new();
    for p in conex_directory() {
        t.store.add_partner(&p).unwrap();
    }
    t
}

#[test]
fn free_text_ignores_accents_and_matches_prefixes_in_any_language() {
    let t = seeded();
    let q = |text: &str| PartnerQuery {
        text: Some(text.into()),
        ..Default::default()
    };
    assert_eq!(
        names(&t.store.search_partners(&q("liege")).unwrap()),
        ["Fedasil return desk Liège"]
    );
    assert_eq!(
        names(&t.store.search_partners(&q("LIÈ")).unwrap()),
        ["Fedasil return desk Liège"]
    );
    // Prefix as the user types, in the Dutch description.
    let r = t.store.search_partners(&q("regioh")).unwrap();
    assert_eq!(names(&r), ["CAW Limburg"]);
    // French description ("séances d'information").
    assert_eq!(
        names(&t.store.search_partners(&q("seances")).unwrap()),
        ["Caritas International"]
    );
    // The name ranks above a mention in a description.
    let r = t.store.search_partners(&q("caritas")).unwrap();
    assert_eq!(r[0].name, "Caritas International");
    assert!(r.len() > 1, "return desks mention Caritas too: {:?}", names(&r));
    assert!(t.store.search_partners(&q("zzzz")).unwrap().is_empty());
}

#[test]
fn filters_combine_and_order_by_freshness_without_text() {
    let t = seeded();
    let all = t.store.search_partners(&PartnerQuery::default()).unwrap();
    assert_eq!(all.len(), 8);
    let dates: Vec<_> = all.iter().map(|s| s.verified_on).collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted, "most recently verified first");

    let legal_ar = PartnerQuery {
        themes: vec![Theme::Legal],
        languages: vec![lang("ar")],
        ..Default::default()
    };
    assert_eq!(
        names(&t.store.search_partners(&legal_ar).unwrap()),
        ["Caritas International"]
    );

    let limburg = PartnerQuery {
        region: Some(Region::Limburg),
        ..Default::default()
    };
    // CAW Limburg's home, plus IOM and Caritas, which serve every region.
    let mut r = names(&t.store.search_partners(&limburg).unwrap())
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    r.sort();
    assert_eq!(
        r,
        [
            "CAW Limburg",
            "Caritas International",
            "IOM Belgium and Luxembourg"
        ]
    );

    let by_postcode = PartnerQuery {
        place: Some("9000".into()),
        ..Default::default()
    };
    assert_eq!(
        names(&t.store.search_partners(&by_postcode).unwrap()),
        ["Fedasil return desk Gent"]
    );
    let by_name = PartnerQuery {
        place: Some("liege".into()),
        ..Default::default()
    };
    assert_eq!(
        names(&t.store.search_partners(&by_name).unwrap()),
        ["Fedasil return desk Liège"]
    );
}

#[test]
fn open_at_uses_local_opening_hours_including_overnight_ranges() {
    let t = seeded();
    let at = |s: &str| PartnerQuery {
        open_at: Some(s.parse().unwrap()),
        ..Default::default()
    };
    // Friday 2026-11-20 at 12:45: return desks close at 12:00, CAW Limburg too (12:30); IOM is open.
    let r = t.store.search_partners(&at("2026-11-20T12:45:00")).unwrap();
    assert_eq!(names(&r), ["IOM Belgium and Luxembourg"]);
    // Friday 10:00: everyone but Caritas (Monday to Thursday).
    assert_eq!(
        t.store.search_partners(&at("2026-11-20T10:00:00")).unwrap().len(),
        7
    );
    // Sunday: nobody.
    assert!(t
        .store
        .search_partners(&at("2026-11-22T10:00:00"))
        .unwrap()
        .is_empty());

    let mut shelter = Partner::new(Region::Brussels, "Night shelter", OrgKind::Ngo);
    let mut l = outreach_core::model::Location::new(1000, "Brussel");
    l.hours = "mon-sun 20:00-08:00".parse().unwrap();
    shelter.locations.insert(l.id, l);
    shelter.themes.insert(Theme::Shelter);
    t.store.add_partner(&shelter).unwrap();
    let r = t.store.search_partners(&at("2026-11-22T06:30:00")).unwrap();
    assert_eq!(names(&r), ["Night shelter"], "open since Saturday evening");
    // A temporarily closed partner is not open.
    t.store
        .set_partner_status(shelter.id, PartnerStatus::TemporarilyClosed)
        .unwrap();
    assert!(t
        .store
        .search_partners(&at("2026-11-22T06:30:00"))
        .unwrap()
        .is_empty());
}

#[test]
fn near_orders_by_distance_and_closed_partners_are_hidden_by_default() {
    let t = seeded();
    let q = PartnerQuery {
        themes: vec![Theme::VoluntaryReturn],
        near: Some((50.93, 5.33)), // Hasselt
        ..Default::default()
    };
    let r = t.store.search_partners(&q).unwrap();
    assert_eq!(r[0].name, "CAW Limburg");
    assert!(r[0].distance_km.unwrap() < 1.0);
    assert_eq!(r[1].name, "Fedasil return desk Liège");
    assert!(
        r.last().unwrap().distance_km.is_none(),
        "partners without coordinates come last"
    );

    let caw = conex_directory()[5].id;
    t.store.set_partner_status(caw, PartnerStatus::Defunct).unwrap();
    let r = t.store.search_partners(&q).unwrap();
    assert!(r.iter().all(|s| s.id != caw));
    let r = t
        .store
        .search_partners(&PartnerQuery {
            include_closed: true,
            ..q
        })
        .unwrap();
    assert!(r
        .iter()
        .any(|s| s.id == caw && s.status == PartnerStatus::Defunct));
}

#[test]
fn edits_are_validated_and_a_bad_edit_changes_nothing() {
    let t = seeded();
    let p = conex_directory()[5].clone();
    t.store
        .edit_partner(
            p.id,
            &[
                PartnerEdit::Name("CAW Limburg vzw".into()),
                PartnerEdit::AddLanguage(lang("ar")),
                PartnerEdit::Description {
                    lang: lang("fr"),
                    text: Some("Centre d'aide sociale".into()),
                },
            ],
        )
        .unwrap();
    let got = t.store.partner(p.id).unwrap();
    assert_eq!(got.name, "CAW Limburg vzw");
    assert!(got.languages.contains(&lang("ar")));
    let before = got;
    let e = t
        .store
        .edit_partner(
            p.id,
            &[
                PartnerEdit::AddTheme(Theme::Legal),
                PartnerEdit::Email(Some("not an address".into())),
            ],
        )
        .unwrap_err();
    match e {
        Error::Invalid(v) => assert_eq!(v.field, "email"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        t.store.partner(p.id).unwrap(),
        before,
        "the valid half of a refused edit is not kept"
    );
    let history = t.store.partner_history(p.id, "themes").unwrap();
    assert!(history.iter().all(|h| h.key != "legal"));
    assert!(matches!(
        t.store.edit_partner(
            outreach_core::model::PartnerId::random(),
            &[PartnerEdit::Name("x".into())]
        ),
        Err(Error::NotFound { .. })
    ));
    t.store
        .mark_verified(p.id, "2026-11-20".parse().unwrap(), "CONEX Limburg")
        .unwrap();
    assert_eq!(
        t.store.partner(p.id).unwrap().verified_on,
        Some("2026-11-20".parse().unwrap())
    );
}

#[test]
fn merging_two_stores_keeps_both_edits_and_surfaces_a_same_field_conflict() {
    let a = seeded();
    let b = open_new();
    copy_all(&a, &b);
    assert_eq!(b.store.partner_count().unwrap(), 8);
    let id = conex_directory()[3].id; // Liège
    a.store
        .edit_partner(
            id,
            &[PartnerEdit::WorkerNotes(Some(
                "Bring the person's papers if any".into(),
            ))],
        )
        .unwrap();
    a.store
        .edit_partner(id, &[PartnerEdit::Email(Some("retour.liege@example.org".into()))])
        .unwrap();
    b.store
        .edit_partner(id, &[PartnerEdit::Email(Some("liege@example.org".into()))])
        .unwrap();
    b.store
        .edit_partner(id, &[PartnerEdit::AddTheme(Theme::Legal)])
        .unwrap();

    let seen = Arc::new(Mutex::new(Vec::<StoreChanges>::new()));
    let sink = seen.clone();
    let sub = a.store.subscribe(Arc::new(move |c: &StoreChanges| {
        sink.lock().unwrap().push(c.clone())
    }));
    for (doc, _) in b.store.documents().unwrap() {
        a.store
            .apply_remote(doc, &b.store.document_changes_since(doc, &[]).unwrap())
            .unwrap();
    }
    for (doc, _) in a.store.documents().unwrap() {
        b.store
            .apply_remote(doc, &a.store.document_changes_since(doc, &[]).unwrap())
            .unwrap();
    }
    let pa = a.store.partner(id).unwrap();
    assert_eq!(pa, b.store.partner(id).unwrap());
    assert!(pa.themes.contains(&Theme::Legal));
    assert_eq!(
        pa.worker_notes.as_deref(),
        Some("Bring the person's papers if any")
    );
    let conflicts = a.store.partner_conflicts(id).unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].path, "email");
    let authors: Vec<_> = conflicts[0].values.iter().map(|v| v.author).collect();
    assert!(authors.contains(&a.store.device_id()) && authors.contains(&b.store.device_id()));
    assert_eq!(conflicts, b.store.partner_conflicts(id).unwrap());
    let flagged = a.store.partners_with_conflicts().unwrap();
    assert_eq!(flagged.iter().map(|s| s.id).collect::<Vec<_>>(), vec![id]);
    {
        let seen = seen.lock().unwrap();
        assert!(
            seen.iter().any(|c| c.partners.contains(&id)),
            "observer told about the merged partner"
        );
    }
    drop(sub);
    // A coordinator resolves by writing; the observer is gone.
    let n = seen.lock().unwrap().len();
    a.store
        .edit_partner(id, &[PartnerEdit::Email(Some("info@fedasil.be".into()))])
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), n);
    assert!(a.store.partner_conflicts(id).unwrap().is_empty());
    assert!(a.store.partners_with_conflicts().unwrap().is_empty());
    let history = a.store.partner_history(id, "email").unwrap();
    assert_eq!(history.len(), 4, "{history:?}");
}

#[test]
fn history_and_conflicts_name_fields_as_the_cli_does_and_an_unknown_name_lists_the_valid_ones() {
    let a = seeded();
    let b = open_new();
    copy_all(&a, &b);
    let id = conex_directory()[0].id;
    a.store
        .edit_partner(id, &[PartnerEdit::WorkerNotes(Some("Ring twice".into()))])
        .unwrap();
    b.store
        .edit_partner(id, &[PartnerEdit::WorkerNotes(Some("Side door".into()))])
        .unwrap();
    copy_all(&b, &a);

    let conflicts = a.store.partner_conflicts(id).unwrap();
    assert_eq!(
        conflicts.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
        vec!["notes"]
    );
    let history = a.store.partner_history(id, "notes").unwrap();
    assert!(history.len() >= 2, "{history:?}");
    assert!(history.iter().all(|c| c.key == "notes"), "{history:?}");
    assert!(history
        .iter()
        .any(|c| c.value.as_deref() == Some("Side door") && c.author == b.store.device_id()));

    // The document's own key is not a name the CLI or the apps use.
    let stored = || -> Vec<Vec<u8>> {
        let docs = a.store.documents().unwrap();
        docs.iter()
            .map(|(d, _)| a.store.document_bytes(*d).unwrap())
            .collect()
    };
    let before = stored();
    match a.store.partner_history(id, "worker_notes") {
        Err(Error::Invalid(e)) => {
            assert_eq!(e.field, "field");
            assert_eq!(e.problem, Problem::UnknownField(fields::partner_field_names()));
            let text = e.to_string();
            for name in ["name", "notes", "alternate-name", "services", "locations"] {
                assert!(text.contains(name), "{text}");
            }
        }
        other => panic!("expected an invalid field, got {other:?}"),
    }
    match a.store.partner_history(id, "services.x.price") {
        Err(Error::Invalid(e)) => {
            assert_eq!(e.field, "services.x.price");
            assert!(e.to_string().contains("how-to-apply"), "{e}");
        }
        other => panic!("expected an invalid field, got {other:?}"),
    }
    assert_eq!(before, stored(), "a refused query changes nothing");

    // Settling the conflict shows as such, in the field's history and the partner's.
    a.store
        .edit_partner(
            id,
            &[PartnerEdit::WorkerNotes(Some("Side door, ring twice".into()))],
        )
        .unwrap();
    let history = a.store.partner_history(id, "notes").unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.value.as_deref(), Some("Side door, ring twice"));
    assert!(last.settles_conflict, "{history:?}");
    assert_eq!(
        history.iter().filter(|c| c.settles_conflict).count(),
        1,
        "{history:?}"
    );
    let all = a.store.partner_changes(id).unwrap();
    assert_eq!(all[0], *last, "newest first");
    assert!(all.windows(2).all(|w| w[0].time >= w[1].time), "{all:?}");
    let named: std::collections::BTreeSet<&str> = all.iter().map(|c| c.field.as_str()).collect();
    for field in ["name", "notes", "themes", "description"] {
        assert!(named.contains(field), "{field} in {named:?}");
    }
    assert!(named.iter().any(|f| f.starts_with("locations.")), "{named:?}");
    assert!(
        !named.iter().any(|f| f.contains('_')),
        "document keys leak: {named:?}"
    );
}

#[test]
fn bad_remote_bytes_are_refused_and_leave_the_store_unchanged() {
    let a = seeded();
    let b = open_new();
    copy_all(&a, &b);
    let id = conex_directory()[0].id;
    let doc = a.store.documents().unwrap()[0].0;
    let before = a.store.document_bytes(doc).unwrap();
    let search_before = a.store.search_partners(&PartnerQuery::default()).unwrap();

    assert!(matches!(
        a.store.apply_remote(doc, b"not automerge at all"),
        Err(Error::Document(_))
    ));
    let mut corrupted = b.store.document_changes_since(doc, &[]).unwrap();
    let mid = corrupted.len() / 2;
    corrupted[mid] ^= 0x55;
    assert!(a.store.apply_remote(doc, &corrupted).is_err());
    // A whole different document under this id.
    let other = a.store.documents().unwrap()[1].0;
    assert!(a
        .store
        .apply_remote(doc, &b.store.document_bytes(other).unwrap())
        .is_err());

    // A change that breaks the model's types: a partner status that is a number.
    let region = a.store.partner(id).unwrap().region;
    let meta = outreach_core::doc::DocMeta::DirectorySection { region };
    let mut evil = outreach_core::doc::Document::load(
        meta.id(),
        &b.store.document_bytes(meta.id()).unwrap(),
        b.store.device_id(),
    )
    .unwrap();
    {
        use automerge::transaction::Transactable;
        use automerge::ReadDoc;
        let am = evil.automerge_mut();
        let (_, partners) = am.get(automerge::ROOT, "partners").unwrap().unwrap();
        let (_, p) = am.get(&partners, id.to_string()).unwrap().unwrap();
        am.put(&p, "status", 42).unwrap();
    }
    evil.commit(chrono::Utc::now());
    let e = a
        .store
        .apply_remote(meta.id(), &evil.automerge_mut().save())
        .unwrap_err();
    assert!(e.to_string().contains(".status"), "{e}");

    assert_eq!(a.store.document_bytes(doc).unwrap(), before);
    assert_eq!(
        a.store.search_partners(&PartnerQuery::default()).unwrap(),
        search_before
    );
    // The store still takes good changes afterwards.
    b.store
        .edit_partner(id, &[PartnerEdit::AddTheme(Theme::Legal)])
        .unwrap();
    a.store
        .apply_remote(
            meta.id(),
            &b.store.document_changes_since(meta.id(), &[]).unwrap(),
        )
        .unwrap();
    assert!(a.store.partner(id).unwrap().themes.contains(&Theme::Legal));
}

#[test]
fn a_panicking_observer_does_not_break_the_store() {
    let t = open_new();
    let calls = Arc::new(Mutex::new(0));
    let c = calls.clone();
    let _bad = t
        .store
        .subscribe(Arc::new(|_: &StoreChanges| panic!("observer bug")));
    let _good = t
        .store
        .subscribe(Arc::new(move |_: &StoreChanges| *c.lock().unwrap() += 1));
    for p in conex_directory() {
        t.store.add_partner(&p).unwrap();
    }
    assert_eq!(*calls.lock().unwrap(), 8);
    assert_eq!(t.store.partner_count().unwrap(), 8);
}

#[test]
fn stale_entries_are_listed_oldest_first_and_verified_in_bulk() {
    let t = seeded();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let ids: Vec<_> = conex_directory().iter().map(|p| p.id).collect();
    let (a, b) = (ids[0], ids[1]);
    let age = |s: &outreach_core::store::PartnerSummary| (s.verified_on.is_some(), s.verified_on);
    let stale = t.store.stale_partners(today).unwrap();
    assert!(
        stale.windows(2).all(|w| age(&w[0]) <= age(&w[1])),
        "oldest first, never first"
    );
    assert!(stale.iter().all(|s| s.verified_on.is_none_or(|d| d < today)));
    assert!(stale.iter().all(|s| s.status != PartnerStatus::Defunct));

    // One unknown id: nothing is recorded.
    let before = t.store.partner(a).unwrap();
    let unknown = Partner::new(Region::Brussels, "Nowhere", OrgKind::Other).id;
    assert!(matches!(
        t.store.mark_all_verified(&[a, unknown], today, "coordinator"),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(t.store.partner(a).unwrap(), before);

    t.store.mark_all_verified(&[a, b], today, "coordinator").unwrap();
    let stale = t.store.stale_partners(today).unwrap();
    assert!(!stale.iter().any(|s| s.id == a || s.id == b), "verified today");
    let tomorrow = today.succ_opt().unwrap();
    let later = t.store.stale_partners(tomorrow).unwrap();
    assert_eq!(
        later.iter().filter(|s| s.id == a || s.id == b).count(),
        2,
        "verified before tomorrow"
    );
    assert_eq!(
        t.store.partner(b).unwrap().verified_by.as_deref(),
        Some("coordinator")
    );
}
