//! The rules a hub applies to changes a device sends, shared with the device so both agree:
//! every change must be the sending device's own (in any of its epochs), the document's
//! genesis, or one the hub vouches for; every operation must fit the document's layout (see
//! `inspect/`); and after merging, every entity the changes touched must still hydrate into
//! the model.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, AutomergeError, Change, ChangeHash};

use super::inspect::{Findings, Rules};
use super::{DeviceActor, DocError, DocMeta, Document, EntityKey, GENESIS_ACTOR};
use crate::model::DeviceId;

/// Automerge's refusal of changes, with the one that means a sender's history regressed told
/// apart.
pub(crate) fn apply_error(e: AutomergeError) -> DocError {
    match e {
        AutomergeError::DuplicateSeqNumber(..) => DocError::HistoryRegressed,
        other => DocError::Automerge(other),
    }
}

/// Checks that every change in `changes` was made by `device`, is the genesis change of the
/// document described by `meta`, or is in `attested`: changes the hub vouches it accepted
/// before (see [`ancestors`]), which a device may send again for a hub restored from a backup.
pub fn check_authors(
    meta: &DocMeta,
    changes: &[Change],
    device: DeviceId,
    attested: &HashSet<ChangeHash>,
) -> Result<(), DocError> {
    let genesis = ActorId::from(&GENESIS_ACTOR[..]);
    let mut genesis_hash: Option<ChangeHash> = None;
    for change in changes {
        let actor = change.actor_id();
        if DeviceActor::belongs_to(actor, device) || attested.contains(&change.hash()) {
            continue;
        }
        if actor == &genesis {
            let expected = match genesis_hash {
                Some(h) => h,
                None => *genesis_hash.insert(meta.genesis_hash()?),
            };
            if change.hash() == expected {
                continue;
            }
        }
        return Err(DocError::ForeignActor);
    }
    Ok(())
}

/// The changes among `changes` that `heads` depend on (the heads included): the history a set of
/// heads stands for, within a batch.
pub fn ancestors(changes: &[Change], heads: &[ChangeHash]) -> HashSet<ChangeHash> {
    let deps: HashMap<ChangeHash, &[ChangeHash]> = changes.iter().map(|c| (c.hash(), c.deps())).collect();
    let mut seen = HashSet::new();
    let mut todo: Vec<ChangeHash> = heads.to_vec();
    while let Some(h) = todo.pop() {
        if let Some(ds) = deps.get(&h) {
            if seen.insert(h) {
                todo.extend(ds.iter().copied());
            }
        }
    }
    seen
}

impl Document {
    /// Merges changes received from `device`, which must all be its own, the genesis, or in
    /// `attested` (see [`check_authors`]), after checking every operation against the layout
    /// within `rules`, then checks every entity they touched. On error the document may hold
    /// part of the changes: callers discard this copy. Returns the heads before the merge and
    /// the contacts found in free text, which the caller accepts only if they are partners'.
    pub fn accept(
        &mut self,
        changes: Vec<Change>,
        device: DeviceId,
        attested: &HashSet<ChangeHash>,
        rules: &mut Rules,
    ) -> Result<(Vec<ChangeHash>, Findings), DocError> {
        check_authors(&self.meta, &changes, device, attested)?;
        // Changes that build on history this copy lacks cannot be checked (the maps they write
        // into are unknown here): the sender sends the whole document instead.
        let batch: HashSet<ChangeHash> = changes.iter().map(Change::hash).collect();
        let missing = changes
            .iter()
            .flat_map(|c| c.deps())
            .filter(|d| !batch.contains(d) && self.am.get_change_by_hash(d).is_none())
            .count();
        if missing > 0 {
            return Err(DocError::MissingDependencies(missing));
        }
        let findings = self.inspect(&changes, attested, rules)?;
        let meta = self.meta;
        super::guarded(|| {
            let before = self.heads();
            self.am.apply_changes(changes).map_err(apply_error)?;
            let missing = self.am.get_missing_deps(&[]);
            if !missing.is_empty() {
                return Err(DocError::MissingDependencies(missing.len()));
            }
            self.check_meta(&meta)?;
            self.check_entities(&before)?;
            Ok((before, findings))
        })
    }

    /// Checks every entity changed since `before`: it hydrates into the model and was not
    /// deleted; visits keep their invariants.
    pub fn check_entities(&mut self, before: &[ChangeHash]) -> Result<(), DocError> {
        for key in self.changed_entities(before)? {
            // Partners are closed with a status and brochures retired, never deleted; a
            // suggestion is answered, not removed.
            let held = match key {
                EntityKey::Partner(id) => self.partner(id)?.is_some(),
                EntityKey::Brochure(id) => self.brochure(id)?.is_some(),
                EntityKey::Visit(id) => self.visit(id)?.is_some(),
                EntityKey::Suggestion(id) => self.suggestion(id)?.is_some(),
            };
            if !held {
                return Err(DocError::Deleted);
            }
        }
        Ok(())
    }

    /// Whether `stored` (a whole save, or chunks as a store keeps them) loads back to this
    /// document's heads: Automerge accepts some change sets that it then cannot read back, and
    /// storing one would lose the document. A panic in the library is a `false`.
    pub fn loads_back(&mut self, stored: &[u8]) -> bool {
        let mut heads = self.am.get_heads();
        heads.sort();
        let reloaded = super::guarded(|| {
            let mut d = Document::load_stored(self.id, stored, DeviceId::random())?;
            let mut h = d.heads();
            h.sort();
            Ok(h)
        });
        reloaded.ok() == Some(heads)
    }

    /// Checks that this document saves and loads back to its heads ([`Document::loads_back`]
    /// on a fresh save); [`DocError::NotReloadable`] otherwise.
    pub fn check_reloads(&mut self) -> Result<(), DocError> {
        let am = &mut self.am;
        let saved = super::guarded(|| Ok(am.save()))?;
        // (`save` cannot fail otherwise.)
        if self.loads_back(&saved) {
            Ok(())
        } else {
            Err(DocError::NotReloadable)
        }
    }

    /// The changes this document has beyond `heads`, as one compact Automerge bundle (empty when
    /// there are none). Automerge 0.12's bundle encoder panics on some histories (fuzzing found
    /// one that its own decoder had accepted): then the changes go as plain change chunks, which
    /// every reader takes too.
    pub fn changes_since(&mut self, heads: &[ChangeHash]) -> Result<Vec<u8>, DocError> {
        let hashes: Vec<ChangeHash> = self.am.get_changes(heads).iter().map(|c| c.hash()).collect();
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let am = &self.am;
        let bundle = super::guarded(|| Ok(am.bundle(hashes)?.bytes().to_vec()));
        match bundle {
            Ok(bytes) => Ok(bytes),
            Err(_) => Ok(self.am.save_after(heads)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{wire::parse_changes, PartnerEdit};
    use crate::model::{
        Activity, Month, OrgKind, PartOfDay, Partner, Region, Setting, VisitDetails, VisitId,
    };
    use automerge::transaction::Transactable;
    use automerge::ReadDoc;
    use chrono::Utc;

    #[test]
    fn only_the_senders_own_changes_and_the_genesis_are_accepted() {
        let (a, b) = (DeviceId::random(), DeviceId::random());
        let meta = DocMeta::DirectorySection {
            region: Region::Namur,
        };
        let mut da = Document::create(meta, a).unwrap();
        let p = Partner::new(Region::Namur, "Maison de l'emploi", OrgKind::CityService);
        da.insert_partner(&p).unwrap();
        da.commit(Utc::now());
        let changes = parse_changes(&da.changes_since(&[]).unwrap()).unwrap();
        assert_eq!(changes.len(), 2, "genesis and the device's change");
        let none = HashSet::new();
        check_authors(&meta, &changes, a, &none).unwrap();
        assert!(matches!(
            check_authors(&meta, &changes, b, &none),
            Err(DocError::ForeignActor)
        ));
        // Unless the hub vouches for them: changes up to heads it sealed.
        let vouched = ancestors(&changes, &da.heads());
        assert_eq!(vouched.len(), 2);
        check_authors(&meta, &changes, b, &vouched).unwrap();
        assert!(ancestors(&changes, &[]).is_empty());
        // A forged "genesis" for another document is not a genesis.
        let other = DocMeta::DirectorySection {
            region: Region::Liege,
        };
        let forged = parse_changes(&Document::create(other, a).unwrap().changes_since(&[]).unwrap()).unwrap();
        assert!(matches!(
            check_authors(&meta, &forged, b, &none),
            Err(DocError::ForeignActor)
        ));
        // The hub's copy accepts A's changes from A.
        let mut hub = Document::create(meta, DeviceId::random()).unwrap();
        hub.accept(changes, a, &none, &mut Rules::default()).unwrap();
        assert_eq!(hub.partner(p.id).unwrap().unwrap(), p);
    }

    #[test]
    fn only_what_loads_back_to_the_same_heads_passes_the_round_trip() {
        let meta = DocMeta::DirectorySection {
            region: Region::Namur,
        };
        let mut d = Document::create(meta, DeviceId::random()).unwrap();
        let before = d.automerge_mut().save();
        d.insert_partner(&Partner::new(Region::Namur, "CAW", OrgKind::CityService))
            .unwrap();
        d.commit(Utc::now());
        let saved = d.automerge_mut().save();
        assert!(d.loads_back(&saved));
        d.check_reloads().unwrap();
        // Stored chunks then an increment, as a store keeps them.
        let increment = d.automerge_mut().save_after(&ancestors_heads(&before));
        assert!(d.loads_back(&[before.as_slice(), increment.as_slice()].concat()));
        // A save from before the change holds other heads; a cut save does not load.
        assert!(!d.loads_back(&before));
        assert!(!d.loads_back(&saved[..saved.len() - 3]));
        assert!(!d.loads_back(b"not automerge"));
        // Another document's bytes are not this one.
        let other = Document::create(DocMeta::BrochureCatalog, DeviceId::random())
            .unwrap()
            .automerge_mut()
            .save();
        assert!(!d.loads_back(&other));
    }

    fn ancestors_heads(saved: &[u8]) -> Vec<ChangeHash> {
        automerge::AutoCommit::load(saved).unwrap().get_heads()
    }

    #[test]
    fn deleting_a_partner_or_a_wrong_type_is_refused() {
        let dev = DeviceId::random();
        let meta = DocMeta::DirectorySection {
            region: Region::Namur,
        };
        let mut d = Document::create(meta, dev).unwrap();
        let p = Partner::new(Region::Namur, "Espace social", OrgKind::Ngo);
        d.insert_partner(&p).unwrap();
        d.commit(Utc::now());
        let base = d.automerge_mut().save();
        let mut hub = Document::load(meta.id(), &base, DeviceId::random()).unwrap();

        let coll = d.collection().unwrap();
        d.automerge_mut().delete(&coll, p.id.to_string()).unwrap();
        d.commit(Utc::now());
        let heads = hub.heads();
        let deletion = parse_changes(&d.changes_since(&heads).unwrap()).unwrap();
        assert!(matches!(
            hub.clone()
                .accept(deletion, dev, &HashSet::new(), &mut Rules::default()),
            Err(DocError::Deleted)
        ));

        let mut e = Document::load(meta.id(), &base, dev).unwrap();
        e.edit_partner(p.id, &[PartnerEdit::Name("Espace social asbl".into())])
            .unwrap();
        let (_, obj) = e.automerge().get(&coll, p.id.to_string()).unwrap().unwrap();
        e.automerge_mut().put(&obj, "kind", "astrology").unwrap();
        e.commit(Utc::now());
        let bad = parse_changes(&e.changes_since(&heads).unwrap()).unwrap();
        assert!(matches!(
            hub.accept(bad, dev, &HashSet::new(), &mut Rules::default()),
            Err(DocError::Malformed { .. })
        ));
    }

    #[test]
    fn a_note_with_personal_data_is_refused_even_if_a_device_skipped_its_own_check() {
        let dev = DeviceId::random();
        let date = "2026-11-02".parse().unwrap();
        let meta = DocMeta::VisitLog {
            owner: dev,
            month: Month::of(date),
        };
        let mut d = Document::create(meta, dev).unwrap();
        let mut v = VisitDetails::new(
            date,
            PartOfDay::Morning,
            1000,
            "Brussel",
            Setting::Street,
            Activity::IndividualContact,
            1,
        );
        v.note = "Mail him at someone@example.org".into();
        d.put_visit(VisitId::random(), &v).unwrap();
        d.commit(Utc::now());
        let changes = parse_changes(&d.changes_since(&[]).unwrap()).unwrap();
        // An e-mail address is left to the caller, who knows the partners' public ones...
        let (_, findings) = Document::create(meta, DeviceId::random())
            .unwrap()
            .accept(changes.clone(), dev, &HashSet::new(), &mut Rules::default())
            .unwrap();
        assert_eq!(findings.contacts.len(), 1);
        assert_eq!(
            findings.contacts[0].kind,
            crate::privacy::PersonalDataKind::EmailAddress
        );
        assert!(matches!(
            findings.check_contacts(|_| false),
            Err(DocError::PersonalData { .. })
        ));
        findings
            .check_contacts(|c| c.tagged() == "e:someone@example.org")
            .unwrap();
        // ...an IBAN or a birth date is refused at once.
        let mut d = Document::create(meta, dev).unwrap();
        v.note = "IBAN BE71 0961 2345 6769".into();
        d.put_visit(VisitId::random(), &v).unwrap();
        d.commit(Utc::now());
        let changes = parse_changes(&d.changes_since(&[]).unwrap()).unwrap();
        assert!(matches!(
            Document::create(meta, DeviceId::random()).unwrap().accept(
                changes,
                dev,
                &HashSet::new(),
                &mut Rules::default()
            ),
            Err(DocError::PersonalData { .. })
        ));
    }
}
