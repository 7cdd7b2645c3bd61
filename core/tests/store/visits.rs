//! Visits: logging, amending, listing, counting; refusals that leave the store unchanged; and
//! brochures in the worker's languages.

use outreach_core::model::{
    Activity, Gender, Lang, PartOfDay, Referral, Setting, Theme, VisitDetails, VisitId,
};
use outreach_core::privacy::PersonalDataKind;
use outreach_core::sample::{conex_directory, voluntary_return_brochure};
use outreach_core::store::VisitQuery;
use outreach_core::Error;

use super::open_new;

fn visit(date: &str, people: u32) -> VisitDetails {
    VisitDetails::new(
        date.parse().unwrap(),
        PartOfDay::Evening,
        3500,
        "Hasselt",
        Setting::Shelter,
        Activity::GroupSession,
        people,
    )
}

#[test]
fn log_list_amend_and_count() {
    let t = open_new();
    let caw = conex_directory()[5].clone();
    t.store.add_partner(&caw).unwrap();
    let brochure = voluntary_return_brochure();
    t.store.put_brochure(&brochure).unwrap();

    let mut a = visit("2026-10-30", 4);
    a.themes.extend([Theme::VoluntaryReturn, Theme::Shelter]);
    a.referrals.insert(Referral {
        partner: caw.id,
        theme: Theme::VoluntaryReturn,
    });
    a.brochures.insert(brochure.id, 3);
    a.by_gender.insert(Gender::Male, 3);
    a.languages.insert(Lang::code("ar").unwrap());
    a.note = "Info session 19:30-21:00, follow-up at the day centre on 03/12.".into();
    let ia = t.store.log_visit(&a).unwrap();
    let mut b = visit("2026-11-19", 1);
    b.themes.insert(Theme::VoluntaryReturn);
    let ib = t.store.log_visit(&b).unwrap();
    let ic = t.store.log_visit(&visit("2026-11-20", 2)).unwrap();

    let listed = t.store.visits(&VisitQuery::default()).unwrap();
    assert_eq!(listed.iter().map(|v| v.id).collect::<Vec<_>>(), vec![ic, ib, ia]);
    assert_eq!(listed[2].details, a);
    assert!(listed.iter().all(|v| v.device == t.store.device_id()));
    let november = t
        .store
        .visits(&VisitQuery {
            from: Some("2026-11-01".parse().unwrap()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(november.len(), 2);

    let counts = t.store.visit_counts().unwrap();
    let get = |m: &str, th: Option<Theme>| {
        counts
            .iter()
            .find(|c| c.month.to_string() == m && c.theme == th)
            .map(|c| (c.visits, c.people))
    };
    assert_eq!(get("2026-10", None), Some((1, 4)));
    assert_eq!(get("2026-11", None), Some((2, 3)));
    assert_eq!(get("2026-11", Some(Theme::VoluntaryReturn)), Some((1, 1)));
    assert_eq!(get("2026-10", Some(Theme::Shelter)), Some((1, 4)));
    assert_eq!(get("2026-11", Some(Theme::Shelter)), None);

    let mut b2 = b.clone();
    b2.people_reached = 2;
    b2.follow_up = true;
    t.store.amend_visit(ib, &b2).unwrap();
    assert_eq!(t.store.visit(ib).unwrap().details, b2);
    b2.date = "2026-10-31".parse().unwrap();
    let e = t.store.amend_visit(ib, &b2).unwrap_err();
    assert!(matches!(&e, Error::Invalid(v) if v.field == "date"), "{e:?}");
    assert!(matches!(
        t.store.amend_visit(VisitId::random(), &b),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(t.store.visit_log_months().unwrap().len(), 2);
}

#[test]
fn refused_visits_leave_the_store_unchanged() {
    let t = open_new();
    let first = t.store.log_visit(&visit("2026-11-20", 3)).unwrap();
    let docs_before: Vec<_> = t
        .store
        .documents()
        .unwrap()
        .into_iter()
        .map(|(d, _)| (d, t.store.document_bytes(d).unwrap()))
        .collect();
    let list_before = t.store.visits(&VisitQuery::default()).unwrap();

    let mut v = visit("2026-11-20", 2);
    v.note = "Man met at the station, asked to be called back on 0470 12 34 56 tomorrow.".into();
    match t.store.log_visit(&v).unwrap_err() {
        Error::PersonalData(spans) => {
            assert_eq!(spans.len(), 1);
            assert_eq!(spans[0].kind, PersonalDataKind::PhoneNumber);
            assert_eq!(&v.note[spans[0].start..spans[0].end], "0470 12 34 56");
        }
        other => panic!("{other:?}"),
    }
    let mut amended = visit("2026-11-20", 3);
    amended.note = "Contact: someone@example.org".into();
    assert!(matches!(
        t.store.amend_visit(first, &amended),
        Err(Error::PersonalData(_))
    ));

    let mut future = visit("2026-11-22", 1);
    future.note.clear();
    assert!(matches!(t.store.log_visit(&future), Err(Error::Invalid(e)) if e.field == "date"));
    let mut bad_ref = visit("2026-11-20", 1);
    bad_ref.referrals.insert(Referral {
        partner: outreach_core::model::PartnerId::random(),
        theme: Theme::Legal,
    });
    assert!(
        matches!(t.store.log_visit(&bad_ref), Err(Error::Invalid(e)) if e.field.starts_with("referrals."))
    );
    let mut too_many = visit("2026-11-20", 2);
    too_many.by_gender.insert(Gender::Female, 3);
    assert!(matches!(t.store.log_visit(&too_many), Err(Error::Invalid(e)) if e.field == "by_gender"));
    let mut where_digits = visit("2026-11-20", 1);
    where_digits.municipality = "Hasselt 0470123456".into();
    assert!(matches!(t.store.log_visit(&where_digits), Err(Error::Invalid(e)) if e.field == "municipality"));

    let docs_after: Vec<_> = t
        .store
        .documents()
        .unwrap()
        .into_iter()
        .map(|(d, _)| (d, t.store.document_bytes(d).unwrap()))
        .collect();
    assert_eq!(docs_after, docs_before);
    assert_eq!(t.store.visits(&VisitQuery::default()).unwrap(), list_before);
}

#[test]
fn brochures_follow_the_language_chain_and_hide_retired_ones() {
    let t = open_new();
    let mut b = voluntary_return_brochure();
    t.store.put_brochure(&b).unwrap();
    let ar = Lang::code("ar").unwrap();
    let fr = Lang::code("fr").unwrap();
    let ti = Lang::code("ti").unwrap();
    let shown = t.store.brochures(&[ar.clone(), fr.clone()]).unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(
        (shown[0].title.as_str(), &shown[0].title_lang),
        ("العودة الطوعية", &ar)
    );
    assert_eq!(
        shown[0].file.as_ref().unwrap().0,
        fr,
        "no Arabic file: the French one"
    );
    let shown = t.store.brochures(&[ti]).unwrap();
    assert_eq!(
        shown[0].title_lang.as_str(),
        "ar",
        "no Tigrinya: a deterministic fallback"
    );
    b.retired = true;
    t.store.put_brochure(&b).unwrap();
    assert!(t.store.brochures(&[fr]).unwrap().is_empty());
    assert!(t.store.brochure(b.id).unwrap().retired);
}
