//! Property: any order of merging the same concurrent edits gives the same document, the same
//! partners and the same conflicts.

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::{DocMeta, Document, PartnerEdit};
use crate::model::{DeviceId, Lang, OrgKind, Partner, PartnerId, PartnerStatus, Region, Service, Theme};

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
            s.id = crate::model::ServiceId::from_uuid(uuid::Uuid::from_u128(0x5e5 + u128::from(v % 2)));
            PartnerEdit::PutService(s)
        }),
    ]
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
            origin.insert_partner(&p).unwrap_or_else(|e| panic!("{e}"));
        }
        origin.commit(at(0));
        let base = origin.automerge_mut().save();
        let devices: Vec<DeviceId> = (0..3).map(|_| DeviceId::random()).collect();
        let mut replicas: Vec<Document> = devices
            .iter()
            .map(|d| Document::load(meta.id(), &base, *d).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        for (step, (who, which, e)) in edits.iter().enumerate() {
            replicas[*who].edit_partner(ids[*which], std::slice::from_ref(e)).unwrap_or_else(|e| panic!("{e}"));
            replicas[*who].commit(at(step + 1));
        }
        let changes: Vec<Vec<u8>> = replicas.iter_mut().map(|r| r.automerge_mut().save_after(&[])).collect();
        // Three fresh copies, each merging everyone's changes in its own order.
        let mut merged: Vec<Document> = orders
            .iter()
            .map(|order| {
                let mut d = Document::load(meta.id(), &base, DeviceId::random()).unwrap_or_else(|e| panic!("{e}"));
                for &i in order {
                    d.merge_bytes(&changes[i]).unwrap_or_else(|e| panic!("{e}"));
                }
                d
            })
            .collect();
        let heads: Vec<_> = merged.iter_mut().map(|d| d.heads()).collect();
        prop_assert_eq!(&heads[0], &heads[1]);
        prop_assert_eq!(&heads[0], &heads[2]);
        // A hub checking every operation takes each device's changes, in any order.
        let mut hub = Document::load(meta.id(), &base, DeviceId::random()).unwrap_or_else(|e| panic!("{e}"));
        for &i in &orders[0] {
            let batch = super::wire::parse_changes(&changes[i]).unwrap_or_else(|e| panic!("{e}"));
            let new: Vec<_> = batch
                .into_iter()
                .filter(|c| hub.automerge_mut().get_change_by_hash(&c.hash()).is_none())
                .collect();
            hub.accept(new, devices[i], &std::collections::HashSet::new(), &mut super::Rules::default())
                .unwrap_or_else(|e| panic!("an honest change was refused: {e}"));
        }
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
        }
    }
}
