//! Visits in a visit log (one device, one month): `visits/<id>` holds the visit as one JSON
//! value. Only the owning device ever writes its log, so a visit never meets a concurrent edit:
//! per-field maps would cost some thirty Automerge operations per visit, in time on the phone and
//! in bytes on the wire, for merges that cannot happen. The JSON is parsed strictly (unknown
//! fields and codes refused) and checked against the model's rules whenever it is read.

use automerge::{ObjId, ReadDoc};

use super::access::{get_scalar, malformed, put, Mode};
use super::{DocError, DocMeta, Document};
use crate::model::{Month, Visit, VisitDetails, VisitId};

impl Document {
    fn visit_log_owner(&self) -> Result<(crate::model::DeviceId, Month), DocError> {
        match self.meta {
            DocMeta::VisitLog { owner, month } => Ok((owner, month)),
            _ => Err(malformed("kind", "a visit log")),
        }
    }

    /// Every visit of the log.
    pub fn visits(&self) -> Result<Vec<Visit>, DocError> {
        let coll = self.collection()?;
        let mut out = Vec::new();
        for k in self.am.keys(&coll) {
            let id: VisitId = k
                .parse()
                .map_err(|_| malformed(format!("visits.{k}"), "a visit id"))?;
            if let Some(v) = self.visit(id)? {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// One visit.
    pub fn visit(&self, id: VisitId) -> Result<Option<Visit>, DocError> {
        let (owner, month) = self.visit_log_owner()?;
        let coll = self.collection()?;
        read_visit(&self.am, &coll, id, month).map(|d| {
            d.map(|details| Visit {
                id,
                device: owner,
                details,
            })
        })
    }

    /// Writes a visit, new or amended (uncommitted).
    pub fn put_visit(&mut self, id: VisitId, v: &VisitDetails) -> Result<(), DocError> {
        let (_, month) = self.visit_log_owner()?;
        if v.month() != month {
            return Err(malformed("date", "a date in the log's month"));
        }
        let coll = self.collection()?;
        let json = serde_json::to_string(v).map_err(|_| malformed(format!("visits.{id}"), "a visit"))?;
        put(&mut self.am, &coll, &id.to_string(), json, Mode::Resolve)
    }
}

fn read_visit<R: ReadDoc>(
    am: &R,
    coll: &ObjId,
    id: VisitId,
    month: Month,
) -> Result<Option<VisitDetails>, DocError> {
    let path = format!("visits.{id}");
    let Some(value) = get_scalar(am, coll, &id.to_string(), &path)? else {
        return Ok(None);
    };
    let automerge::ScalarValue::Str(json) = value else {
        return Err(malformed(path, "a visit"));
    };
    let details: VisitDetails =
        serde_json::from_str(&json).map_err(|_| malformed(path.clone(), "a visit"))?;
    details
        .check_invariants()
        .map_err(|_| malformed(path.clone(), "a valid visit"))?;
    if details.month() != month {
        return Err(malformed(format!("{path}.date"), "a date in the log's month"));
    }
    Ok(Some(details))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Activity, AgeBand, Country, DeviceId, Gender, Lang, PartOfDay, PartnerId, Referral, Setting, Theme,
    };
    use automerge::transaction::Transactable;
    use chrono::Utc;

    #[test]
    fn a_visit_round_trips_and_can_be_amended() {
        let dev = DeviceId::random();
        let date = "2026-11-20".parse().unwrap();
        let mut d = Document::create(
            DocMeta::VisitLog {
                owner: dev,
                month: Month::of(date),
            },
            dev,
        )
        .unwrap();
        let mut v = VisitDetails::new(
            date,
            PartOfDay::Night,
            1000,
            "Brussel",
            Setting::Shelter,
            Activity::GroupSession,
            12,
        );
        v.by_gender.insert(Gender::Male, 9);
        v.by_age.insert(AgeBand::From18To25, 4);
        v.origins.insert("ER".parse::<Country>().unwrap(), 5);
        v.languages.insert(Lang::code("ti").unwrap());
        v.themes.insert(Theme::Shelter);
        v.referrals.insert(Referral {
            partner: PartnerId::random(),
            theme: Theme::Medical,
        });
        v.note = "Info session, 20:00-21:30.".into();
        let id = VisitId::random();
        d.put_visit(id, &v).unwrap();
        d.commit(Utc::now());
        assert_eq!(d.visit(id).unwrap().unwrap().details, v);

        v.people_reached = 14;
        v.by_gender.clear();
        d.put_visit(id, &v).unwrap();
        d.commit(Utc::now());
        let loaded = Document::load(d.id(), &d.automerge_mut().save(), dev).unwrap();
        assert_eq!(
            loaded.visits().unwrap(),
            vec![Visit {
                id,
                device: dev,
                details: v.clone()
            }]
        );

        v.date = "2026-12-01".parse().unwrap();
        assert!(
            d.put_visit(id, &v).is_err(),
            "a visit cannot move to another month's log"
        );
    }

    #[test]
    fn a_visit_with_extra_fields_or_broken_rules_does_not_hydrate() {
        let dev = DeviceId::random();
        let month = Month::parse("2026-11").unwrap();
        let mut d = Document::create(DocMeta::VisitLog { owner: dev, month }, dev).unwrap();
        let coll = d.collection().unwrap();
        let ok = VisitDetails::new(
            "2026-11-02".parse().unwrap(),
            PartOfDay::Morning,
            1000,
            "Brussel",
            Setting::Street,
            Activity::IndividualContact,
            2,
        );
        let mut json: serde_json::Value = serde_json::to_value(&ok).unwrap();
        json["name"] = "someone".into();
        let id = VisitId::random();
        d.automerge_mut()
            .put(&coll, id.to_string(), json.to_string())
            .unwrap();
        assert!(d.visit(id).is_err(), "no field beyond the model's may ride along");
        let mut bad = ok.clone();
        bad.people_reached = 900;
        d.automerge_mut()
            .put(&coll, id.to_string(), serde_json::to_string(&bad).unwrap())
            .unwrap();
        assert!(d.visit(id).is_err());
        d.automerge_mut().put(&coll, id.to_string(), 5).unwrap();
        assert!(d.visit(id).is_err());
    }
}
