//! Regional stewardship: the coordinators of a region's steward organisations edit its section
//! of the directory, the hub's admins edit everywhere, every other coordinator is refused (and
//! suggests instead); a region without a steward is edited by every coordinator.

use chrono::Utc;
use outreach_core::doc::PartnerEdit;
use outreach_core::model::Region;
use outreach_core::sync::protocol::{encode, ErrorCode, Role, Stewardship};
use reqwest::StatusCode;

use crate::common::on_both_backends;
use crate::common::TestHub;

on_both_backends! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_stewarded_section_is_edited_by_its_stewards_and_admins_only() {
        let hub = TestHub::start().await;
        hub.hub.set_steward(Region::Limburg, "Fedasil").unwrap();
        assert_eq!(
            hub.hub.stewards().unwrap().iter().map(|(r, orgs)| (*r, orgs[0].name.clone())).collect::<Vec<_>>(),
            vec![(Region::Limburg, "Fedasil".to_string())]
        );

        // A coordinator of the steward edits its region.
        let mut steward = hub.device(&hub.org_a, Role::Coordinator).await;
        let (section, partner) = steward.add_partner(Region::Limburg, "CAW Limburg");
        let answer = steward.sync(&hub).await;
        assert!(answer.refused.is_empty(), "{:?}", answer.refused);
        assert_eq!(
            answer.roster.unwrap().stewardship,
            vec![Stewardship { region: Region::Limburg, stewards: vec!["Fedasil".into()], may_edit: true }]
        );

        // A coordinator of another organisation is refused, and nothing is stored.
        let mut other = hub.device(&hub.org_b, Role::Coordinator).await;
        let answer = other.sync(&hub).await;
        assert_eq!(
            answer.roster.unwrap().stewardship,
            vec![Stewardship { region: Region::Limburg, stewards: vec!["Fedasil".into()], may_edit: false }]
        );
        let before = hub.snapshot();
        other.doc(section).edit_partner(partner, &[PartnerEdit::Name("Renamed by another".into())]).unwrap();
        other.doc(section).commit(Utc::now());
        let req = other.request();
        let (status, code, reason) = other.refused_doc(&hub, encode(&req), section).await;
        assert_eq!((status, code), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
        assert!(reason.contains("limburg section") && reason.contains("suggest"), "{reason}");
        assert_eq!(hub.snapshot(), before, "the documents are byte-identical");
        // A new partner in a stewarded section is refused too.
        let mut newcomer = hub.device(&hub.org_b, Role::Coordinator).await;
        let (fresh, _) = newcomer.add_partner(Region::Limburg, "Invented partner");
        let req = newcomer.request();
        let (_, code, _) = newcomer.refused_doc(&hub, encode(&req), fresh).await;
        assert_eq!(code, ErrorCode::Forbidden);
        assert_eq!(hub.snapshot(), before);

        // An admin edits anywhere, even of an organisation that is no steward.
        let mut admin = hub.device(&hub.org_b, Role::Admin).await;
        admin.sync(&hub).await;
        admin.doc(section).edit_partner(partner, &[PartnerEdit::Email(Some("info@caw.example.org".into()))]).unwrap();
        admin.doc(section).commit(Utc::now());
        let answer = admin.sync(&hub).await;
        assert!(answer.refused.is_empty(), "{:?}", answer.refused);
        assert_ne!(hub.snapshot(), before);

        // A region without a steward behaves as before: every coordinator edits it.
        let (namur, _) = other.add_partner(Region::Namur, "Espace social");
        let answer = other.sync(&hub).await;
        assert!(answer.refused.iter().all(|r| r.id != namur), "{:?}", answer.refused);
        assert!(answer.docs.iter().any(|d| d.id == namur));

        // The stewardship ended, the other coordinator edits again.
        hub.hub.remove_steward(Region::Limburg, "Fedasil").unwrap();
        let mut again = hub.device(&hub.org_b, Role::Coordinator).await;
        let answer = again.sync(&hub).await;
        assert!(answer.roster.unwrap().stewardship.is_empty());
        again.doc(section).edit_partner(partner, &[PartnerEdit::Name("CAW Limburg vzw".into())]).unwrap();
        again.doc(section).commit(Utc::now());
        let answer = again.sync(&hub).await;
        assert!(answer.refused.is_empty(), "{:?}", answer.refused);
        hub.assert_still_serving().await;
    }
}
