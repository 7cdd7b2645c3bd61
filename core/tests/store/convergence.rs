//! Property tests: three replicas make random interleavings of partner edits, status changes,
//! set additions, office hours and their dated exceptions, and visit logs, then merge in random
//! orders; every replica ends with identical documents and identical query results, and `open
//! at` answers as the entries' hours say.

use chrono::Timelike;
use outreach_core::doc::{LocationEdit, PartnerEdit};
use outreach_core::model::{
    Activity, HoursException, Lang, LocationId, OrgKind, PartOfDay, Partner, PartnerId, PartnerStatus,
    Region, Setting, Theme, VisitDetails,
};
use outreach_core::store::{PartnerQuery, VisitQuery};
use proptest::prelude::*;

use super::{open_new, TestStore};

const PARTNERS: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Name(usize, u8),
    Status(usize, u8),
    AddTheme(usize, u8),
    RemoveTheme(usize, u8),
    AddLanguage(usize, u8),
    Notes(usize, u8),
    /// New weekly hours for the partner's office.
    Hours(usize, u8),
    /// A dated exception for the partner's office (a closure or special hours).
    Exception(usize, u8),
    /// The exception starting on a day removed.
    RemoveException(usize, u8),
    /// The office's status.
    OfficeStatus(usize, u8),
    Visit(u8, u8),
    /// Merge everything replica `.0` has into replica `.1`.
    Sync(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PARTNERS;
    prop_oneof![
        (p.clone(), any::<u8>()).prop_map(|(i, v)| Op::Name(i, v)),
        (p.clone(), any::<u8>()).prop_map(|(i, v)| Op::Status(i, v)),
        (p.clone(), any::<u8>()).prop_map(|(i, v)| Op::AddTheme(i, v)),
        (p.clone(), any::<u8>()).prop_map(|(i, v)| Op::RemoveTheme(i, v)),
        (p.clone(), any::<u8>()).prop_map(|(i, v)| Op::AddLanguage(i, v)),
        (p.clone(), any::<u8>()).prop_map(|(i, v)| Op::Notes(i, v)),
        (p.clone(), any::<u8>()).prop_map(|(i, v)| Op::Hours(i, v)),
        (p.clone(), any::<u8>()).prop_map(|(i, v)| Op::Exception(i, v)),
        (p.clone(), any::<u8>()).prop_map(|(i, v)| Op::RemoveException(i, v)),
        (p, any::<u8>()).prop_map(|(i, v)| Op::OfficeStatus(i, v)),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Visit(a, b)),
        (0..3usize, 0..3usize).prop_map(|(a, b)| Op::Sync(a, b)),
    ]
}

fn partner_ids() -> Vec<PartnerId> {
    (0..PARTNERS)
        .map(|i| PartnerId::from_uuid(uuid::Uuid::from_u128(0xAB00 + i as u128)))
        .collect()
}

fn office_ids() -> Vec<LocationId> {
    (0..PARTNERS)
        .map(|i| LocationId::from_uuid(uuid::Uuid::from_u128(0xCD00 + i as u128)))
        .collect()
}

const WEEKS: [&str; 4] = [
    "mon-fri 09:00-12:00",
    "mon-wed 09:00-17:00; sat 10:00-12:00",
    "thu,fri 13:00-16:00",
    "mon-sun 20:00-08:00",
];

/// A day of the Christmas weeks of 2026.
fn december(day: u8) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 17 + u32::from(day % 8)).unwrap()
}

fn exception(v: u8) -> HoursException {
    let from = december(v);
    let to = from + chrono::Days::new(u64::from(v / 8 % 4));
    let ranges = match v % 3 {
        0 => "10:00-12:00",
        1 => "22:00-02:00",
        _ => "",
    };
    HoursException {
        from,
        to,
        ranges: outreach_core::model::parse_ranges(ranges).unwrap(),
    }
}

/// Local times `open at` is asked about: before, in and after the exceptions' days, at night.
fn times() -> Vec<chrono::NaiveDateTime> {
    [
        "2026-12-16T10:00:00",
        "2026-12-18T11:00:00",
        "2026-12-19T01:00:00",
        "2026-12-21T15:00:00",
        "2026-12-24T10:30:00",
        "2026-12-24T23:00:00",
        "2026-12-25T01:30:00",
        "2026-12-26T11:00:00",
        "2026-12-28T10:00:00",
        "2026-12-29T07:00:00",
    ]
    .iter()
    .map(|t| t.parse().unwrap())
    .collect()
}

fn sync(from: &TestStore, to: &TestStore) {
    for (doc, _) in from.store.documents().unwrap() {
        let bytes = from.store.document_changes_since(doc, &[]).unwrap();
        to.store.apply_remote(doc, &bytes).unwrap();
    }
}

fn apply(replicas: &[TestStore], who: usize, op: &Op) {
    let s = &replicas[who].store;
    let ids = partner_ids();
    let themes = Theme::ALL;
    let langs = ["nl", "fr", "en", "ar", "ti", "fa"];
    match *op {
        Op::Name(i, v) => s
            .edit_partner(ids[i], &[PartnerEdit::Name(format!("Partner {v}"))])
            .unwrap(),
        Op::Status(i, v) => s
            .set_partner_status(ids[i], PartnerStatus::ALL[v as usize % PartnerStatus::ALL.len()])
            .unwrap(),
        Op::AddTheme(i, v) => s
            .edit_partner(
                ids[i],
                &[PartnerEdit::AddTheme(themes[v as usize % themes.len()])],
            )
            .unwrap(),
        Op::RemoveTheme(i, v) => s
            .edit_partner(
                ids[i],
                &[PartnerEdit::RemoveTheme(themes[v as usize % themes.len()])],
            )
            .unwrap(),
        Op::AddLanguage(i, v) => s
            .edit_partner(
                ids[i],
                &[PartnerEdit::AddLanguage(
                    Lang::code(langs[v as usize % langs.len()]).unwrap(),
                )],
            )
            .unwrap(),
        Op::Notes(i, v) => s
            .edit_partner(ids[i], &[PartnerEdit::WorkerNotes(Some(format!("Note {v}")))])
            .unwrap(),
        Op::Hours(i, v) => office(s, i, LocationEdit::Hours(WEEKS[v as usize % 4].parse().unwrap())),
        Op::Exception(i, v) => office(s, i, LocationEdit::PutException(exception(v))),
        Op::RemoveException(i, v) => office(s, i, LocationEdit::RemoveException(december(v))),
        Op::OfficeStatus(i, v) => office(
            s,
            i,
            LocationEdit::Status(PartnerStatus::ALL[v as usize % PartnerStatus::ALL.len()]),
        ),
        Op::Visit(d, n) => {
            let mut v = VisitDetails::new(
                chrono::NaiveDate::from_ymd_opt(2026, 10 + u32::from(d % 2), 1 + u32::from(d % 20)).unwrap(),
                PartOfDay::ALL[n as usize % 4],
                1000 + u16::from(n) * 30,
                "Gemeente",
                Setting::ALL[d as usize % Setting::ALL.len()],
                Activity::IndividualContact,
                1 + u32::from(n % 9),
            );
            v.themes.insert(themes[n as usize % themes.len()]);
            v.referrals.insert(outreach_core::model::Referral {
                partner: ids[d as usize % PARTNERS],
                theme: Theme::Legal,
            });
            s.log_visit(&v).unwrap();
        }
        Op::Sync(a, b) => {
            if a != b {
                sync(&replicas[a], &replicas[b]);
            }
        }
    }
}

fn office(s: &outreach_core::Store, i: usize, edit: LocationEdit) {
    s.edit_partner(
        partner_ids()[i],
        &[PartnerEdit::Location {
            id: office_ids()[i],
            edit,
        }],
    )
    .unwrap()
}

fn queries() -> Vec<PartnerQuery> {
    vec![
        PartnerQuery {
            include_closed: true,
            ..Default::default()
        },
        PartnerQuery::default(),
        PartnerQuery {
            text: Some("partner".into()),
            include_closed: true,
            ..Default::default()
        },
        PartnerQuery {
            themes: vec![Theme::Legal, Theme::Shelter],
            ..Default::default()
        },
        PartnerQuery {
            languages: vec![Lang::code("ar").unwrap()],
            include_closed: true,
            ..Default::default()
        },
        PartnerQuery {
            open_at: Some("2026-11-18T10:00:00".parse().unwrap()),
            ..Default::default()
        },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge(ops in prop::collection::vec((0..3usize, op()), 1..24), order in Just(()).prop_perturb(|_, mut rng| {
        let mut o = vec![0usize, 1, 2];
        for i in (1..3).rev() { o.swap(i, rng.random_range(0..=i)); }
        o
    })) {
        let replicas: Vec<TestStore> = (0..3).map(|_| open_new()).collect();
        // Replica 0 creates the partners; the others start from its documents.
        for (i, id) in partner_ids().into_iter().enumerate() {
            let mut p = Partner::new(Region::ALL[i % 3], format!("Partner {i}"), OrgKind::Ngo);
            p.id = id;
            let mut l = outreach_core::model::Location::new(1000 + i as u16, "Gemeente");
            l.id = office_ids()[i];
            l.hours = "mon-fri 09:00-12:00".parse().unwrap();
            p.locations.insert(l.id, l);
            replicas[0].store.add_partner(&p).unwrap();
        }
        sync(&replicas[0], &replicas[1]);
        sync(&replicas[0], &replicas[2]);
        for (who, op) in &ops {
            apply(&replicas, *who, op);
        }
        // Final merge in a random order: a full round, then one more to spread the last news.
        for _ in 0..2 {
            for &a in &order {
                for &b in &order {
                    if a != b { sync(&replicas[a], &replicas[b]); }
                }
            }
        }
        let docs: Vec<_> = replicas.iter().map(|r| r.store.documents().unwrap()).collect();
        prop_assert_eq!(&docs[0], &docs[1]);
        prop_assert_eq!(&docs[0], &docs[2]);
        for (doc, _) in &docs[0] {
            let heads: Vec<_> = replicas.iter().map(|r| r.store.document_heads(*doc).unwrap()).collect();
            prop_assert_eq!(&heads[0], &heads[1]);
            prop_assert_eq!(&heads[0], &heads[2]);
        }
        for q in queries() {
            let r0 = replicas[0].store.search_partners(&q).unwrap();
            prop_assert_eq!(&r0, &replicas[1].store.search_partners(&q).unwrap());
            prop_assert_eq!(&r0, &replicas[2].store.search_partners(&q).unwrap());
        }
        // `open at` lists exactly the active partners with an active office that the entry's
        // hours and exceptions say is open, on every replica.
        for at in times() {
            let q = PartnerQuery { open_at: Some(at), ..Default::default() };
            let mut expected: Vec<PartnerId> = partner_ids()
                .into_iter()
                .filter(|id| {
                    let p = replicas[0].store.partner(*id).unwrap();
                    p.status == PartnerStatus::Active
                        && p.locations.values().any(|l| {
                            l.status == PartnerStatus::Active && l.opening().is_open(at.date(), (at.time().num_seconds_from_midnight() / 60) as u16)
                        })
                })
                .collect();
            expected.sort();
            for r in &replicas {
                let mut found: Vec<PartnerId> = r.store.search_partners(&q).unwrap().into_iter().map(|p| p.id).collect();
                found.sort();
                prop_assert_eq!(&found, &expected, "open at {}", at);
            }
        }
        for id in partner_ids() {
            let p0 = replicas[0].store.partner(id).unwrap();
            prop_assert_eq!(&p0, &replicas[1].store.partner(id).unwrap());
            prop_assert_eq!(&p0, &replicas[2].store.partner(id).unwrap());
            let c0 = replicas[0].store.partner_conflicts(id).unwrap();
            prop_assert_eq!(&c0, &replicas[1].store.partner_conflicts(id).unwrap());
        }
        // Every visit logged anywhere is everywhere, once.
        let logged = ops.iter().filter(|(_, o)| matches!(o, Op::Visit(..))).count();
        let mut all: Vec<_> = replicas.iter().flat_map(|r| r.store.visits(&VisitQuery::default()).unwrap()).map(|v| v.id).collect();
        all.sort();
        all.dedup();
        prop_assert_eq!(all.len(), logged);
    }
}
