//! Recovery of a document whose local history regressed.
//!
//! When a device loses commits that the hub already holds (a power cut before the disk held
//! them, a phone restored from a backup) and then writes again, its new changes reuse change
//! numbers the hub has seen with other content, and Automerge can never merge the two copies.
//! The device then takes the hub's copy, which holds everything that was acknowledged, and
//! writes on top of it what it did since the last state both sides share, as one new change
//! under a new actor epoch (see `actor.rs`): nothing acknowledged is lost, and nothing the
//! worker did since is either.

use automerge::transaction::Transactable;
use automerge::{ChangeHash, ObjId, ObjType, PatchAction, Prop, ReadDoc, Value, ROOT};
use chrono::{DateTime, Utc};

use super::access::{put, Mode};
use super::{DeviceActor, DocError, Document};

impl Document {
    /// Writes onto `base` (the hub's copy of this document) what this copy changed since
    /// `since` (heads both held), as one change by `actor` at `now`, and returns the result.
    /// Map writes are replayed by path: a value set here is set there, a map created here is
    /// created there if missing, a key removed here is removed there.
    pub fn replay_onto(
        &mut self,
        mut base: Document,
        since: &[ChangeHash],
        actor: DeviceActor,
        now: DateTime<Utc>,
    ) -> Result<Document, DocError> {
        if base.id != self.id {
            return Err(DocError::IdMismatch);
        }
        let heads = self.am.get_heads();
        let known: Vec<ChangeHash> = since
            .iter()
            .filter(|h| self.am.get_change_by_hash(h).is_some())
            .copied()
            .collect();
        let patches = self.am.diff(&known, &heads);
        self.am.reset_diff_cursor();
        base.set_actor(actor);
        base.registry = None;
        for patch in patches {
            let obj = resolve(&mut base, &patch.path)?;
            match patch.action {
                PatchAction::PutMap {
                    key,
                    value: (Value::Scalar(v), _),
                    ..
                } => put(&mut base.am, &obj, &key, v.into_owned(), Mode::Reconcile)?,
                PatchAction::PutMap {
                    key,
                    value: (Value::Object(ObjType::Map), _),
                    ..
                } => {
                    map_at(&mut base, &obj, &key)?;
                }
                PatchAction::DeleteMap { key } => {
                    if base.am.get(&obj, key.as_str())?.is_some() {
                        base.am.delete(&obj, key.as_str())?;
                    }
                }
                PatchAction::Conflict { .. } => {}
                _ => return Err(super::malformed("", "map operations only")),
            }
        }
        base.commit(now);
        Ok(base)
    }
}

/// The map at `key` of `obj` in `doc`, created if missing.
fn map_at(doc: &mut Document, obj: &ObjId, key: &str) -> Result<ObjId, DocError> {
    match doc.am.get(obj, key)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Ok(doc.am.put_object(obj, key, ObjType::Map)?),
    }
}

/// The object at the end of a patch's path, in `doc`, its maps created where missing.
fn resolve(doc: &mut Document, path: &[(ObjId, Prop)]) -> Result<ObjId, DocError> {
    let mut obj = ROOT;
    for (_, prop) in path {
        let Prop::Map(key) = prop else {
            return Err(super::malformed("", "map keys only"));
        };
        obj = map_at(doc, &obj, key)?;
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::DocMeta;
    use crate::doc::PartnerEdit;
    use crate::model::{
        Activity, DeviceId, Month, OrgKind, PartOfDay, Partner, Region, Setting, Theme, VisitDetails, VisitId,
    };

    fn visit(day: &str, people: u32) -> VisitDetails {
        VisitDetails::new(
            day.parse().unwrap(),
            PartOfDay::Evening,
            1000,
            "Brussel",
            Setting::Shelter,
            Activity::GroupSession,
            people,
        )
    }

    #[test]
    fn visits_written_after_a_restore_land_on_the_hubs_copy() {
        let dev = DeviceId::random();
        let meta = DocMeta::VisitLog {
            owner: dev,
            month: Month::parse("2026-11").unwrap(),
        };
        let mut d = Document::create(meta, dev).unwrap();
        let (v1, v2, v3) = (VisitId::random(), VisitId::random(), VisitId::random());
        d.put_visit(v1, &visit("2026-11-02", 3)).unwrap();
        d.commit(Utc::now());
        let shared = d.heads();
        let backup = d.automerge_mut().save();
        // Synced, then lost by the restore.
        d.put_visit(v2, &visit("2026-11-03", 4)).unwrap();
        d.commit(Utc::now());
        let hub = Document::load(d.id(), &d.automerge_mut().save(), DeviceId::random()).unwrap();
        // The restored device writes again: same actor, same change number, other content.
        let mut restored = Document::load(d.id(), &backup, dev).unwrap();
        restored.put_visit(v3, &visit("2026-11-04", 5)).unwrap();
        restored.commit(Utc::now());
        let mut merged = hub.clone();
        assert!(matches!(
            merged.merge_bytes(&restored.automerge_mut().save()),
            Err(DocError::HistoryRegressed)
        ));

        let epoch = DeviceActor::new(dev, 1);
        let mut rebuilt = restored.replay_onto(hub, &shared, epoch, Utc::now()).unwrap();
        let ids: Vec<VisitId> = rebuilt.visits().unwrap().iter().map(|v| v.id).collect();
        assert_eq!(ids.len(), 3);
        for v in [v1, v2, v3] {
            assert!(ids.contains(&v));
        }
        let last = rebuilt.automerge_mut().get_last_local_change().unwrap();
        assert_eq!(last.actor_id(), &epoch.actor_id());
    }

    #[test]
    fn partner_edits_are_replayed_field_by_field() {
        let dev = DeviceId::random();
        let meta = DocMeta::DirectorySection {
            region: Region::Namur,
        };
        let mut d = Document::create(meta, dev).unwrap();
        let p = Partner::new(Region::Namur, "Espace social", OrgKind::Ngo);
        d.insert_partner(&p).unwrap();
        d.commit(Utc::now());
        let shared = d.heads();
        let mut hub = Document::load(d.id(), &d.automerge_mut().save(), DeviceId::random()).unwrap();
        hub.edit_partner(p.id, &[PartnerEdit::AddTheme(Theme::Legal)])
            .unwrap();
        hub.commit(Utc::now());
        d.edit_partner(
            p.id,
            &[
                PartnerEdit::Name("Espace social asbl".into()),
                PartnerEdit::AddTheme(Theme::Shelter),
            ],
        )
        .unwrap();
        d.commit(Utc::now());
        let rebuilt = d
            .replay_onto(hub, &shared, DeviceActor::new(dev, 1), Utc::now())
            .unwrap();
        let merged = rebuilt.partner(p.id).unwrap().unwrap();
        assert_eq!(merged.name, "Espace social asbl");
        assert!(merged.themes.contains(&Theme::Legal) && merged.themes.contains(&Theme::Shelter));
    }
}
