//! Property: any order of merging the same concurrent edits gives the same document, the same
//! partners and the same conflicts; weekly hours edited on two devices at once are a conflict,
//! never a mix that nobody entered.

use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;

use super::{DocMeta, Document, LocationEdit, PartnerEdit, ServiceEdit};
use crate::model::{
    DeviceId, HoursException, Lang, Location, LocationId, OrgKind, Partner, PartnerId, PartnerStatus, Region,
    Service, ServiceId, Theme, WeeklyHours,
};

/// The office and the service every partner of the property starts with.
fn office_id() -> LocationId {
    LocationId::from_uuid(uuid::Uuid::from_u128(0x10c))
}

fn service_id() -> ServiceId {
    ServiceId::from_uuid(uuid::Uuid::from_u128(0x5e5))
}

/// Weekly hours the edits choose from: each replaces the whole week.
const WEEKS: [&str; 4] = [
    "mon-fri 09:00-12:00",
    "mon-wed 09:00-17:00; sat 10:00-12:00",
    "tue,thu 13:00-16:00",
    "mon-sun 20:00-08:00",
];

fn week(i: usize) -> WeeklyHours {
    WEEKS[i].parse().unwrap_or_else(|_| unreachable!())
}

fn exception() -> impl Strategy<Value = HoursException> {
    (0u32..4, 0u32..3, prop::bool::ANY).prop_map(|(start, len, closed)| {
        let from = NaiveDate::from_ymd_opt(2026, 12, 22 + start).unwrap_or_default();
        let to = from + chrono::Days::new(u64::from(len));
        let ranges = match closed {
            true => Vec::new(),
            false => crate::model::parse_ranges("10:00-12:00").unwrap_or_default(),
        };
        HoursException { from, to, ranges }
    })
}

fn location_edit() -> impl Strategy<Value = LocationEdit> {
    prop_oneof![
        (0..WEEKS.len()).prop_map(|i| LocationEdit::Hours(week(i))),
        exception().prop_map(LocationEdit::PutException),
        (0u32..4).prop_map(|d| LocationEdit::RemoveException(
            NaiveDate::from_ymd_opt(2026, 12, 22 + d).unwrap_or_default()
        )),
        (0u8..3).prop_map(|v| LocationEdit::Street(Some(format!("Kerkstraat {v}")))),
        prop::sample::select(vec![(1000u16, "Brussel"), (3500, "Hasselt")])
            .prop_map(|(p, _)| LocationEdit::Postcode(p)),
        (0..PartnerStatus::ALL.len()).prop_map(|i| LocationEdit::Status(PartnerStatus::ALL[i])),
        Just(LocationEdit::Coordinates(Some((50.93, 5.34)))),
        Just(LocationEdit::Coordinates(None)),
    ]
}

fn service_edit() -> impl Strategy<Value = ServiceEdit> {
    prop_oneof![
        (0..WEEKS.len()).prop_map(|i| ServiceEdit::Hours(week(i))),
        exception().prop_map(ServiceEdit::PutException),
        (0u8..3).prop_map(|v| ServiceEdit::Fees(Some(format!("{v} euro")))),
        (0..Theme::ALL.len()).prop_map(|i| ServiceEdit::AddTheme(Theme::ALL[i])),
        (0..PartnerStatus::ALL.len()).prop_map(|i| ServiceEdit::Status(PartnerStatus::ALL[i])),
    ]
}

fn edit() -> impl Strategy<Value = PartnerEdit> {
    prop_oneof![
        (0u8..4).prop_map(|v| PartnerEdit::Name(format!("Partner {v}"))),
        (0..PartnerStatus::ALL.len()).prop_map(|i| PartnerEdit::Status(PartnerStatus::ALL[i])),
        (0..Theme::ALL.len()).prop_map(|i| PartnerEdit::AddTheme(Theme::ALL[i])),
        (0..Theme::ALL.len()).prop_map(|i| PartnerEdit::RemoveTheme(Theme::ALL[i])),
        prop::sample::select(vec!["nl", "fr", "ar", "ti"])
            .prop_map(|l| PartnerEdit::AddLanguage(Lang::code(l).unwrap_or_else(|| unreachable!()))),
        (0u8..3).prop_map(|v| PartnerEdit::Email(Some(format!("desk{v}@example.org")))),
        Just(PartnerEdit::Email(None)),
        (0u8..3).prop_map(|v| PartnerEdit::Description {
            lang: Lang::code("fr").unwrap_or_else(|| unreachable!()),
            text: Some(format!("Accueil {v}")),
        }),
        (0u8..3).prop_map(|v| {
            let mut s = Service::new(format!("Service {v}"));
            s.id = ServiceId::from_uuid(uuid::Uuid::from_u128(0x5e6 + u128::from(v % 2)));
            PartnerEdit::PutService(s)
        }),
        location_edit().prop_map(|edit| PartnerEdit::Location {
            id: office_id(),
            edit
        }),
        location_edit().prop_map(|edit| PartnerEdit::Location {
            id: office_id(),
            edit
        }),
        service_edit().prop_map(|edit| PartnerEdit::Service {
            id: service_id(),
            edit
        }),
    ]
}

/// The weekly hours each replica holds at the end for the office and for the service of a
/// partner, where it wrote any (an edit to the hours a replica already holds writes nothing).
fn written_hours(edits: &[(usize, usize, PartnerEdit)], which: usize) -> [[Option<WeeklyHours>; 3]; 2] {
    let mut now = [
        [week(0), week(0), week(0)],
        [
            WeeklyHours::closed(),
            WeeklyHours::closed(),
            WeeklyHours::closed(),
        ],
    ];
    let mut wrote: [[Option<WeeklyHours>; 3]; 2] = Default::default();
    for (who, _, e) in edits.iter().filter(|(_, w, _)| *w == which) {
        let (k, h) = match e {
            PartnerEdit::Location {
                edit: LocationEdit::Hours(h),
                ..
            } => (0, h),
            PartnerEdit::Service {
                edit: ServiceEdit::Hours(h),
                ..
            } => (1, h),
            _ => continue,
        };
        if now[k][*who] != *h {
            now[k][*who] = h.clone();
            wrote[k][*who] = Some(h.clone());
        }
    }
    wrote
}

/// Three replicas of `base`, one per device.
fn replicas_of(meta: DocMeta, base: &[u8], devices: &[DeviceId]) -> Vec<Document> {
    devices
        .iter()
        .map(|d| Document::load(meta.id(), base, *d).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// Fresh copies of `base`, each merging every replica's `changes` in its own order.
fn merged_in_orders(meta: DocMeta, base: &[u8], changes: &[Vec<u8>], orders: &[Vec<usize>]) -> Vec<Document> {
    orders
        .iter()
        .map(|order| {
            let mut d = Document::load(meta.id(), base, DeviceId::random()).unwrap_or_else(|e| panic!("{e}"));
            for &i in order {
                d.merge_bytes(&changes[i]).unwrap_or_else(|e| panic!("{e}"));
            }
            d
        })
        .collect()
}

/// A hub's copy of `base` after taking each device's changes, in `order`, through the checks of
/// every operation: an honest change is never refused.
fn hub_after(
    meta: DocMeta,
    base: &[u8],
    changes: &[Vec<u8>],
    devices: &[DeviceId],
    order: &[usize],
) -> Document {
    let mut hub = Document::load(meta.id(), base, DeviceId::random()).unwrap_or_else(|e| panic!("{e}"));
    for &i in order {
        let batch = super::wire::parse_changes(&changes[i]).unwrap_or_else(|e| panic!("{e}"));
        let new: Vec<_> = batch
            .into_iter()
            .filter(|c| hub.automerge_mut().get_change_by_hash(&c.hash()).is_none())
            .collect();
        hub.accept(
            new,
            devices[i],
            &std::collections::HashSet::new(),
            &mut super::Rules::default(),
        )
        .unwrap_or_else(|e| panic!("an honest change was refused: {e}"));
    }
    hub
}

fn at(step: usize) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000 + step as i64, 0).unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn merge_order_does_not_matter(
        edits in prop::collection::vec((0..3usize, 0..2usize, edit()), 1..30),
        orders in prop::collection::vec(Just(()).prop_perturb(|_, mut rng| {
            let mut o = vec![0usize, 1, 2];
            for i in (1..3).rev() { o.swap(i, rng.random_range(0..=i)); }
            o
        }), 3),
    ) {
        let meta = DocMeta::DirectorySection { region: Region::Namur };
        let ids = [PartnerId::from_uuid(uuid::Uuid::from_u128(1)), PartnerId::from_uuid(uuid::Uuid::from_u128(2))];
        let mut origin = Document::create(meta, DeviceId::random()).unwrap_or_else(|e| panic!("{e}"));
        for id in ids {
            let mut p = Partner::new(Region::Namur, "Partner", OrgKind::Ngo);
            p.id = id;
            let mut office = Location::new(5000, "Namur");
            office.id = office_id();
            office.hours = week(0);
            p.locations.insert(office.id, office);
            let mut service = Service::new("Accueil");
            service.id = service_id();
            p.services.insert(service.id, service);
            origin.insert_partner(&p).unwrap_or_else(|e| panic!("{e}"));
        }
        origin.commit(at(0));
        let base = origin.automerge_mut().save();
        let devices: Vec<DeviceId> = (0..3).map(|_| DeviceId::random()).collect();
        let mut replicas = replicas_of(meta, &base, &devices);
        for (step, (who, which, e)) in edits.iter().enumerate() {
            replicas[*who].edit_partner(ids[*which], std::slice::from_ref(e)).unwrap_or_else(|e| panic!("{e}"));
            replicas[*who].commit(at(step + 1));
        }
        let changes: Vec<Vec<u8>> = replicas.iter_mut().map(|r| r.automerge_mut().save_after(&[])).collect();
        // Three fresh copies, each merging everyone's changes in its own order.
        let mut merged = merged_in_orders(meta, &base, &changes, &orders);
        let heads: Vec<_> = merged.iter_mut().map(|d| d.heads()).collect();
        prop_assert_eq!(&heads[0], &heads[1]);
        prop_assert_eq!(&heads[0], &heads[2]);
        // A hub checking every operation takes each device's changes, in any order.
        let mut hub = hub_after(meta, &base, &changes, &devices, &orders[0]);
        prop_assert_eq!(&hub.heads(), &heads[0]);
        for id in ids {
            let p: Vec<_> = merged.iter().map(|d| d.partner_and_conflict_flag(id).unwrap_or_else(|e| panic!("{e}"))).collect();
            prop_assert_eq!(&p[0], &p[1]);
            prop_assert_eq!(&p[0], &p[2]);
            let c: Vec<_> = merged.iter_mut().map(|d| d.partner_conflicts(id).unwrap_or_else(|e| panic!("{e}"))).collect();
            prop_assert_eq!(&c[0], &c[1]);
            prop_assert_eq!(&c[0], &c[2]);
            // The conflict flag and the conflict list agree.
            prop_assert_eq!(p[0].as_ref().map(|(_, flag)| *flag), Some(!c[0].is_empty()));
            // Hours are what one replica entered (or the first hours), never a mix; replicas
            // that entered different hours leave a conflict for a coordinator.
            let Some((partner, _)) = &p[0] else { unreachable!() };
            let which = ids.iter().position(|i| *i == id).unwrap_or_default();
            let last = written_hours(&edits, which);
            let shown = [
                partner.locations[&office_id()].hours.clone(),
                partner.services[&service_id()].schedule.clone(),
            ];
            let paths = [format!("locations.{}.weekly", office_id()), format!("services.{}.weekly", service_id())];
            for k in 0..2 {
                let entered: Vec<&WeeklyHours> = last[k].iter().flatten().collect();
                let base = if k == 0 { week(0) } else { WeeklyHours::closed() };
                prop_assert!(
                    entered.contains(&&shown[k]) || (entered.is_empty() && shown[k] == base),
                    "hours nobody entered: {}", shown[k]
                );
                let distinct: std::collections::BTreeSet<String> = entered.iter().map(|h| h.to_string()).collect();
                let conflicted = c[0].iter().any(|f| f.path == paths[k]);
                if distinct.len() > 1 {
                    prop_assert!(conflicted, "{}: {:?}", paths[k], distinct);
                } else if entered.len() < 2 {
                    prop_assert!(!conflicted, "{}: {:?}", paths[k], distinct);
                }
            }
        }
    }
}

/// One coordinator's edit of a catalog entry, made on the entry as that replica holds it and
/// written back whole.
#[derive(Debug, Clone)]
enum CatalogEdit {
    Title(&'static str, u8),
    Summary(&'static str, Option<u8>),
    Theme(usize, bool),
    Audience(bool),
    /// A new edition: the version raised and a new file in a language.
    NewEdition(&'static str, u8),
    Retired(bool),
}

fn catalog_edit() -> impl Strategy<Value = CatalogEdit> {
    let lang = prop::sample::select(vec!["fr", "nl", "ar"]);
    prop_oneof![
        (lang.clone(), 0u8..3).prop_map(|(l, v)| CatalogEdit::Title(l, v)),
        (lang.clone(), prop::option::of(0u8..3)).prop_map(|(l, v)| CatalogEdit::Summary(l, v)),
        (0..Theme::ALL.len(), prop::bool::ANY).prop_map(|(t, on)| CatalogEdit::Theme(t, on)),
        prop::bool::ANY.prop_map(CatalogEdit::Audience),
        (lang, 0u8..4).prop_map(|(l, v)| CatalogEdit::NewEdition(l, v)),
        prop::bool::ANY.prop_map(CatalogEdit::Retired),
    ]
}

fn apply_catalog_edit(b: &mut crate::model::Brochure, edit: &CatalogEdit) {
    let lang = |l: &str| Lang::code(l).unwrap_or_else(|| unreachable!());
    match edit {
        CatalogEdit::Title(l, v) => {
            b.title.insert(lang(l), format!("Titre {v}"));
        }
        CatalogEdit::Summary(l, Some(v)) => {
            b.summary.insert(lang(l), format!("Résumé {v}"));
        }
        CatalogEdit::Summary(l, None) => {
            b.summary.remove(&lang(l));
        }
        CatalogEdit::Theme(t, true) => {
            b.themes.insert(Theme::ALL[*t]);
        }
        CatalogEdit::Theme(t, false) => {
            b.themes.remove(&Theme::ALL[*t]);
        }
        CatalogEdit::Audience(on) => {
            let a = crate::model::Audience::FrontlineStaff;
            if *on {
                b.audience.insert(a);
            } else {
                b.audience.remove(&a);
            }
        }
        CatalogEdit::NewEdition(l, v) => {
            b.version += 1;
            b.files.insert(
                lang(l),
                crate::model::BrochureFile {
                    sha256: format!("{v:x}").repeat(64),
                    size: 1000 + u64::from(*v),
                    media_type: "application/pdf".into(),
                    file_name: format!("edition-{v}.pdf"),
                },
            );
        }
        CatalogEdit::Retired(r) => b.retired = *r,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Catalog entries edited on three replicas, merged in any order: the same document, the
    /// same entries and the same conflicts everywhere, and every change one a hub accepts.
    #[test]
    fn catalog_edits_merge_the_same_in_any_order(
        edits in prop::collection::vec((0..3usize, catalog_edit()), 1..24),
        orders in prop::collection::vec(Just(()).prop_perturb(|_, mut rng| {
            let mut o = vec![0usize, 1, 2];
            for i in (1..3).rev() { o.swap(i, rng.random_range(0..=i)); }
            o
        }), 3),
    ) {
        let meta = DocMeta::BrochureCatalog;
        let mut origin = Document::create(meta, DeviceId::random()).unwrap_or_else(|e| panic!("{e}"));
        let mut first = crate::model::Brochure::new(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default());
        first.id = crate::model::BrochureId::from_uuid(uuid::Uuid::from_u128(0xb0));
        first.title.insert(Lang::code("fr").unwrap_or_else(|| unreachable!()), "Retour volontaire".into());
        origin.put_brochure(&first).unwrap_or_else(|e| panic!("{e}"));
        origin.commit(at(0));
        let base = origin.automerge_mut().save();
        let devices: Vec<DeviceId> = (0..3).map(|_| DeviceId::random()).collect();
        let mut replicas = replicas_of(meta, &base, &devices);
        for (step, (who, e)) in edits.iter().enumerate() {
            let r = &mut replicas[*who];
            let mut b = r.brochure(first.id).unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| unreachable!());
            apply_catalog_edit(&mut b, e);
            r.put_brochure(&b).unwrap_or_else(|e| panic!("{e}"));
            r.commit(at(step + 1));
        }
        let changes: Vec<Vec<u8>> = replicas.iter_mut().map(|r| r.automerge_mut().save_after(&[])).collect();
        let mut merged = merged_in_orders(meta, &base, &changes, &orders);
        let heads: Vec<_> = merged.iter_mut().map(|d| d.heads()).collect();
        prop_assert_eq!(&heads[0], &heads[1]);
        prop_assert_eq!(&heads[0], &heads[2]);
        let read: Vec<_> = merged.iter().map(|d| d.brochure(first.id).unwrap_or_else(|e| panic!("{e}"))).collect();
        prop_assert_eq!(&read[0], &read[1]);
        prop_assert_eq!(&read[0], &read[2]);
        let conflicts: Vec<_> = merged.iter_mut().map(|d| d.brochure_conflicts(first.id).unwrap_or_else(|e| panic!("{e}"))).collect();
        prop_assert_eq!(&conflicts[0], &conflicts[1]);
        prop_assert_eq!(&conflicts[0], &conflicts[2]);
        let mut hub = hub_after(meta, &base, &changes, &devices, &orders[0]);
        prop_assert_eq!(&hub.heads(), &heads[0]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A field worker's suggestions, made on its device, answered concurrently by two
    /// coordinators, merged in any order: the same document and the same suggestions with the
    /// same answers everywhere, and every change one a hub accepts from its author.
    #[test]
    fn suggestions_and_their_answers_merge_the_same_in_any_order(
        ops in prop::collection::vec((0..3usize, 0..6u128, prop::bool::ANY), 1..24),
        orders in prop::collection::vec(Just(()).prop_perturb(|_, mut rng| {
            let mut o = vec![0usize, 1, 2];
            for i in (1..3).rev() { o.swap(i, rng.random_range(0..=i)); }
            o
        }), 3),
    ) {
        use crate::model::{Answer, Outcome, Suggestion, SuggestionId};
        let devices: Vec<DeviceId> = (0..3).map(|_| DeviceId::random()).collect();
        let author = devices[0];
        let meta = DocMeta::Suggestions { owner: author };
        let suggestion = |n: u128| Suggestion {
            id: SuggestionId::from_uuid(uuid::Uuid::from_u128(0x5a + n)),
            author,
            partner: PartnerId::from_uuid(uuid::Uuid::from_u128(1 + n % 2)),
            region: Region::Namur,
            field: Some("notes".into()),
            value: Some(format!("Note {n}")),
            comment: format!("Seen on the door, {n}"),
            made_on: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
            answer: None,
        };
        // The author's device starts the document with three suggestions.
        let mut origin = Document::create(meta, author).unwrap_or_else(|e| panic!("{e}"));
        for n in 0..3 {
            origin.put_suggestion(&suggestion(n)).unwrap_or_else(|e| panic!("{e}"));
        }
        origin.commit(at(0));
        let base = origin.automerge_mut().save();
        let mut replicas = replicas_of(meta, &base, &devices);
        for (step, (who, n, accept)) in ops.iter().enumerate() {
            let r = &mut replicas[*who];
            if *who == 0 {
                // The author makes more; one already made is left as it is.
                let s = suggestion(*n);
                if r.suggestion(s.id).unwrap_or_else(|e| panic!("{e}")).is_none() {
                    r.put_suggestion(&s).unwrap_or_else(|e| panic!("{e}"));
                }
            } else if *n < 3 {
                let outcome = if *accept { Outcome::Accepted } else { Outcome::Dismissed };
                let answer = Answer {
                    outcome,
                    reason: Some(format!("Answer {step}")),
                    on: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap_or_default(),
                    by: devices[*who],
                };
                r.answer_suggestion(suggestion(*n).id, &answer).unwrap_or_else(|e| panic!("{e}"));
            }
            r.commit(at(step + 1));
        }
        let changes: Vec<Vec<u8>> = replicas.iter_mut().map(|r| r.automerge_mut().save_after(&[])).collect();
        let mut merged = merged_in_orders(meta, &base, &changes, &orders);
        let heads: Vec<_> = merged.iter_mut().map(|d| d.heads()).collect();
        prop_assert_eq!(&heads[0], &heads[1]);
        prop_assert_eq!(&heads[0], &heads[2]);
        let read: Vec<_> = merged.iter().map(|d| d.suggestions().unwrap_or_else(|e| panic!("{e}"))).collect();
        prop_assert_eq!(&read[0], &read[1]);
        prop_assert_eq!(&read[0], &read[2]);
        // An answer is one a coordinator gave, whole: its outcome and author agree.
        for s in &read[0] {
            if let Some(a) = &s.answer {
                prop_assert!(a.by == devices[1] || a.by == devices[2], "answered by {}", a.by);
            }
        }
        let mut hub = hub_after(meta, &base, &changes, &devices, &orders[0]);
        prop_assert_eq!(&hub.heads(), &heads[0]);
    }
}
