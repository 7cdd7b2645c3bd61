//! Every operation of every change from elsewhere, checked against the layout of its document
//! before it is merged: what a hub stores it forwards to every reader, history included, so a
//! value that a later change overwrites must be as clean as the final one.
//!
//! For each change: no message and no extra bytes (both travel with the history, and a message
//! could carry a name or the time of a contact), visit-log times rounded to the day, at most
//! [`Rules::max_ops_per_change`] operations. For each operation: it writes a key that the
//! layout defines for the map it targets (see `layout.rs`), with a value of the right type;
//! maps are created only where the layout has maps; nothing is inserted into lists, counted or
//! marked; entries are never deleted; free text and visit notes pass the privacy guard. Phone
//! numbers and e-mail addresses found in free text are returned to the caller, who accepts them
//! only when they are a partner's public contact (see [`Findings`]).
//!
//! The objects a change may write into are known from the operations that created them: the
//! registry maps each object's id to what it is in the layout. It is built from the document's
//! history once and kept up to date by each inspection.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{ActorId, Change, ChangeHash, ObjType};

use super::layout::{Field, Node, Slot, Value};
use super::{DocError, DocKind, DocMeta, Document, SCHEMA_VERSION};
use crate::model::{Partner, VisitDetails};
use crate::privacy::{self, PersonalDataKind};

/// Seconds in a day: visit-log change times are multiples of it.
const DAY: i64 = 86_400;

/// Most dependencies of one change (a merge of this many concurrent branches is not a change
/// any device makes).
const MAX_DEPS: usize = 1_000;

/// Bounds on what the changes of one request may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Most operations in one change.
    pub max_ops_per_change: usize,
    /// Operations left for the rest of the request; every inspection takes its share.
    pub ops_left: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            max_ops_per_change: 100_000,
            ops_left: 1_000_000,
        }
    }
}

/// A phone number or e-mail address found in free text: refused unless it is the public contact
/// of a partner of the directory. The key ([`privacy::contact_key`]) is personal data unless it
/// is a partner's: it is never logged or shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Contact {
    /// Phone number or e-mail address.
    pub kind: PersonalDataKind,
    /// Its canonical form.
    pub key: String,
    /// The field it was found in, for the refusal.
    pub path: String,
}

impl Contact {
    /// The contact as stored beside the partners' public contacts: `p:` and the digits of a
    /// phone number, `e:` and an e-mail address.
    pub fn tagged(&self) -> String {
        tagged(self.kind, &self.key)
    }
}

/// A canonical contact with its kind's tag (see [`Contact::tagged`]).
pub fn tagged(kind: PersonalDataKind, key: &str) -> String {
    match kind {
        PersonalDataKind::EmailAddress => format!("e:{key}"),
        _ => format!("p:{key}"),
    }
}

/// The public contacts of a partner, tagged: its phone numbers and its e-mail address, which
/// free text may name.
pub fn partner_contacts(p: &Partner) -> BTreeSet<String> {
    let phones = p
        .phones
        .iter()
        .filter_map(|ph| privacy::contact_key(PersonalDataKind::PhoneNumber, &ph.number))
        .map(|k| tagged(PersonalDataKind::PhoneNumber, &k));
    let email = p
        .email
        .iter()
        .filter_map(|e| privacy::contact_key(PersonalDataKind::EmailAddress, e))
        .map(|k| tagged(PersonalDataKind::EmailAddress, &k));
    phones.chain(email).collect()
}

/// What an inspection leaves to the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Contacts found in free text, to be accepted only if they are partners' public contacts.
    pub contacts: Vec<Contact>,
}

impl Findings {
    /// Refuses the first contact that `is_public` does not accept.
    pub fn check_contacts(&self, is_public: impl Fn(&Contact) -> bool) -> Result<(), DocError> {
        match self.contacts.iter().find(|c| !is_public(c)) {
            Some(c) => Err(DocError::PersonalData { path: c.path.clone() }),
            None => Ok(()),
        }
    }
}

/// What each object of a document is in the layout, by the id of the operation that made it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Registry {
    objects: HashMap<(u64, ActorId), (Node, String)>,
}

impl Registry {
    fn get(&self, obj: &ObjectId, kind: DocKind) -> Option<(Node, &str)> {
        match obj {
            ObjectId::Root => Some((Node::Root(kind), "")),
            ObjectId::Id(id) => self
                .objects
                .get(&(id.counter(), id.actor().clone()))
                .map(|(n, p)| (*n, p.as_str())),
        }
    }

    /// Records the maps a change created where the layout has maps; other operations are
    /// ignored (the change was checked when it was accepted, or is the genesis).
    fn observe(&mut self, change: &automerge::ExpandedChange, kind: DocKind) {
        let mut added = Overlay::new();
        observe_into(self, &mut added, change, kind);
        self.objects.extend(added);
    }
}

/// Adds to `overlay` the maps `change` creates where the layout has maps, with their paths;
/// parents are looked up in `overlay`, then in `base`.
fn observe_into(base: &Registry, overlay: &mut Overlay, change: &automerge::ExpandedChange, kind: DocKind) {
    let start = change.start_op.get();
    for (i, op) in change.operations.iter().enumerate() {
        let (OpType::Make(ObjType::Map), Key::Map(key)) = (&op.action, &op.key) else {
            continue;
        };
        let Some((parent, parent_path)) = lookup(base, overlay, &op.obj, kind) else {
            continue;
        };
        let node = match parent.field(key) {
            Some(Field {
                slot: Slot::Map(node),
                ..
            }) => node,
            _ if parent == Node::Root(kind) && key.as_str() == kind.collection() => Node::collection(kind),
            _ => continue,
        };
        overlay.insert(
            (start + i as u64, change.actor_id.clone()),
            (node, join(&parent_path, key)),
        );
    }
}

/// What an object is, from the registry or the maps of the batch so far.
fn lookup(base: &Registry, overlay: &Overlay, obj: &ObjectId, kind: DocKind) -> Option<(Node, String)> {
    if let ObjectId::Id(id) = obj {
        if let Some((n, p)) = overlay.get(&(id.counter(), id.actor().clone())) {
            return Some((*n, p.clone()));
        }
    }
    base.get(obj, kind).map(|(n, p)| (n, p.to_string()))
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Decodes a change into its operations. Automerge's decoder assumes well-formed input; a
/// panic on a crafted change is refused like any malformed data.
fn decode(change: &Change) -> Result<automerge::ExpandedChange, DocError> {
    catch_unwind(AssertUnwindSafe(|| change.decode()))
        .map_err(|_| super::malformed("", "changes that decode"))
}

/// The changes of a batch in an order where each comes after those of the batch it depends
/// on (Automerge merges in any order; the registry needs the maps before what writes in them).
fn causal_order(changes: &[Change]) -> Vec<usize> {
    let index: HashMap<ChangeHash, usize> = changes.iter().enumerate().map(|(i, c)| (c.hash(), i)).collect();
    let mut waiting: Vec<usize> = changes
        .iter()
        .map(|c| c.deps().iter().filter(|d| index.contains_key(d)).count())
        .collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
    for (i, c) in changes.iter().enumerate() {
        for d in c.deps() {
            if let Some(&j) = index.get(d) {
                dependents[j].push(i);
            }
        }
    }
    let mut ready: Vec<usize> = (0..changes.len()).rev().filter(|&i| waiting[i] == 0).collect();
    let mut out = Vec::with_capacity(changes.len());
    while let Some(i) = ready.pop() {
        out.push(i);
        for &k in dependents[i].iter().rev() {
            waiting[k] -= 1;
            if waiting[k] == 0 {
                ready.push(k);
            }
        }
    }
    // A cycle cannot occur between hashes; anything left is appended as it came.
    if out.len() < changes.len() {
        let seen: HashSet<usize> = out.iter().copied().collect();
        out.extend((0..changes.len()).filter(|i| !seen.contains(i)));
    }
    out
}

impl Document {
    /// The registry of this document's objects, built from its history on first use.
    fn registry(&mut self) -> Result<&mut Registry, DocError> {
        if self.registry.is_none() {
            let kind = self.meta.kind();
            let mut registry = Registry::default();
            // The collection map comes from the genesis, which every document has.
            let coll = self.collection()?;
            if let automerge::ObjId::Id(counter, actor, _) = &coll {
                registry.objects.insert(
                    (*counter, actor.clone()),
                    (Node::collection(kind), kind.collection().to_string()),
                );
            }
            if kind != DocKind::VisitLog {
                // A visit log has no other map; elsewhere every map ever made is known.
                for change in self.am.get_changes(&[]) {
                    registry.observe(&decode(&change)?, kind);
                }
            }
            self.registry = Some(registry);
        }
        self.registry
            .as_mut()
            .ok_or_else(|| super::malformed("", "a registry"))
    }

    /// Checks `changes` (not yet merged) against the layout of this document. Changes in
    /// `trusted` (the genesis, or changes the hub vouches it accepted before) are only read for
    /// the maps they create. Returns the contacts found in free text, for the caller to accept
    /// or refuse. Nothing is merged here.
    pub fn inspect(
        &mut self,
        changes: &[Change],
        trusted: &HashSet<ChangeHash>,
        rules: &mut Rules,
    ) -> Result<Findings, DocError> {
        let meta = self.meta;
        let genesis = meta.genesis_hash()?;
        // The maps the batch creates go in an overlay, added to the registry only once the
        // whole batch passed: a refused batch leaves it as it was.
        self.registry()?;
        let mut registry = self.registry.take().unwrap_or_default();
        let checked = inspect_batch(&meta, &registry, changes, trusted, rules, genesis);
        let checked = checked.map(|(findings, overlay)| {
            registry.objects.extend(overlay);
            findings
        });
        self.registry = Some(registry);
        checked
    }

    /// Checks the change this device just committed, as the hub will: an honest device never
    /// has a change refused. Contacts found are checked with `is_public`.
    pub(crate) fn inspect_last_local(
        &mut self,
        is_public: impl Fn(&Contact) -> bool,
    ) -> Result<(), DocError> {
        let Some(change) = self.am.get_last_local_change() else {
            return Ok(());
        };
        let mut rules = Rules::default();
        let findings = self.inspect(&[change], &HashSet::new(), &mut rules)?;
        findings.check_contacts(is_public)
    }
}

/// The maps a batch creates, by the id of the operation that made each.
type Overlay = HashMap<(u64, ActorId), (Node, String)>;

/// Checks a batch against the layout, with the maps it creates in an overlay of `registry`.
fn inspect_batch(
    meta: &DocMeta,
    registry: &Registry,
    changes: &[Change],
    trusted: &HashSet<ChangeHash>,
    rules: &mut Rules,
    genesis: ChangeHash,
) -> Result<(Findings, Overlay), DocError> {
    let kind = meta.kind();
    let mut findings = Findings::default();
    let mut overlay = Overlay::new();
    for i in causal_order(changes) {
        let change = &changes[i];
        let expanded = decode(change)?;
        if change.hash() == genesis || trusted.contains(&change.hash()) {
            observe_into(registry, &mut overlay, &expanded, kind);
            continue;
        }
        check_change(change, kind, rules)?;
        let start = expanded.start_op.get();
        for (n, op) in expanded.operations.iter().enumerate() {
            check_op(
                meta,
                registry,
                &mut overlay,
                op,
                (start + n as u64, &expanded.actor_id),
                &mut findings,
            )?;
        }
    }
    Ok((findings, overlay))
}

/// The rules on a change as a whole.
fn check_change(change: &Change, kind: DocKind, rules: &mut Rules) -> Result<(), DocError> {
    if change.message().is_some_and(|m| !m.is_empty()) {
        return Err(DocError::ChangeMetadata("a change message"));
    }
    if !change.extra_bytes().is_empty() {
        return Err(DocError::ChangeMetadata("extra bytes after a change"));
    }
    if kind == DocKind::VisitLog && change.timestamp().rem_euclid(DAY) != 0 {
        return Err(DocError::ChangeMetadata(
            "a visit-log change time not rounded to the day",
        ));
    }
    if change.deps().len() > MAX_DEPS {
        return Err(DocError::TooLarge(format!(
            "a change with more than {MAX_DEPS} dependencies"
        )));
    }
    let ops = change.len();
    if ops > rules.max_ops_per_change {
        return Err(DocError::TooLarge(format!(
            "a change of {ops} operations, more than the {} allowed",
            rules.max_ops_per_change
        )));
    }
    if ops > rules.ops_left {
        return Err(DocError::TooLarge(
            "more operations than one sync may carry; send fewer documents at once".into(),
        ));
    }
    rules.ops_left -= ops;
    Ok(())
}

/// The rules on one operation.
fn check_op(
    meta: &DocMeta,
    registry: &Registry,
    overlay: &mut Overlay,
    op: &automerge::legacy::Op,
    id: (u64, &ActorId),
    findings: &mut Findings,
) -> Result<(), DocError> {
    let kind = meta.kind();
    let (node, parent_path) = lookup(registry, overlay, &op.obj, kind)
        .ok_or_else(|| super::malformed("", "an object of the document's layout"))?;
    let Key::Map(key) = &op.key else {
        return Err(super::malformed(
            parent_path,
            "a map key (lists and text are not used)",
        ));
    };
    if op.insert {
        return Err(super::malformed(
            parent_path,
            "a map key (lists and text are not used)",
        ));
    }
    let path = join(&parent_path, key);
    let field = node
        .field(key)
        .ok_or_else(|| DocError::UnknownField { path: path.clone() })?;
    match (&op.action, field.slot) {
        (OpType::Delete, _) if field.removable => Ok(()),
        (OpType::Delete, Slot::Map(Node::Partner | Node::Brochure))
        | (OpType::Delete, Slot::Value(Value::VisitJson)) => Err(DocError::Deleted),
        (OpType::Delete, _) => Err(super::malformed(path, "a field that is kept, not removed")),
        (OpType::Make(ObjType::Map), Slot::Map(child)) => {
            overlay.insert((id.0, id.1.clone()), (child, path));
            Ok(())
        }
        (OpType::Put(v), Slot::Value(rule)) => {
            let text = rule
                .check(v)
                .map_err(|expected| super::malformed(path.clone(), expected))?;
            match (rule, text) {
                (Value::FreeText(_), Some(t)) => scan(t, &path, findings),
                (Value::VisitJson, Some(t)) => check_visit_json(meta, t, &path, findings),
                _ => Ok(()),
            }
        }
        (OpType::Put(v), Slot::SchemaVersion) => match v {
            automerge::ScalarValue::Uint(n) if *n > SCHEMA_VERSION => Err(DocError::TooNew { schema: *n }),
            automerge::ScalarValue::Int(n) if *n > SCHEMA_VERSION as i64 => {
                Err(DocError::TooNew { schema: *n as u64 })
            }
            _ => Err(super::malformed(path, "a schema version above this document's")),
        },
        (_, Slot::Fixed) | (_, Slot::SchemaVersion) => Err(super::malformed(
            path,
            "a field written once, when the document is created",
        )),
        (OpType::Make(_), _) => Err(super::malformed(path, "a field of the layout (no other object)")),
        (OpType::Increment(_) | OpType::MarkBegin(_) | OpType::MarkEnd(_), _) => {
            Err(super::malformed(path, "a plain value (no counters or marks)"))
        }
        (OpType::Put(_), Slot::Map(_)) => Err(super::malformed(path, "a map")),
    }
}

/// Runs the privacy guard on free text: an identifier other than a phone number or an e-mail
/// address refuses at once; those two are left to [`Findings::check_contacts`].
fn scan(text: &str, path: &str, findings: &mut Findings) -> Result<(), DocError> {
    for span in privacy::scan_note(text) {
        let found = text.get(span.start..span.end).unwrap_or_default();
        match span.kind {
            PersonalDataKind::PhoneNumber | PersonalDataKind::EmailAddress => {
                let key = privacy::contact_key(span.kind, found).ok_or_else(|| DocError::PersonalData {
                    path: path.to_string(),
                })?;
                findings.contacts.push(Contact {
                    kind: span.kind,
                    key,
                    path: path.to_string(),
                });
            }
            _ => {
                return Err(DocError::PersonalData {
                    path: path.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// A visit written into a log: strict JSON of the model, its invariants, the log's month, and
/// a clean note.
fn check_visit_json(meta: &DocMeta, json: &str, path: &str, findings: &mut Findings) -> Result<(), DocError> {
    let DocMeta::VisitLog { month, .. } = meta else {
        return Err(super::malformed(path, "a visit log"));
    };
    let details: VisitDetails = serde_json::from_str(json).map_err(|_| DocError::UnknownField {
        path: path.to_string(),
    })?;
    details
        .check_invariants()
        .map_err(|_| super::malformed(path, "a valid visit"))?;
    if details.month() != *month {
        return Err(super::malformed(
            format!("{path}.date"),
            "a date in the log's month",
        ));
    }
    scan(&details.note, &format!("{path}.note"), findings)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use automerge::transaction::{CommitOptions, Transactable};
    use automerge::{ObjType, ReadDoc, ROOT};
    use chrono::Utc;

    use super::*;
    use crate::doc::wire::parse_changes;
    use crate::model::{
        Activity, Brochure, BrochureFile, DeviceId, Lang, Location, Month, OrgKind, PartOfDay, Partner,
        Phone, Region, Service, Setting, VisitId,
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
    fn inspect_new(
        hub: &mut Document,
        doc: &mut Document,
        since: &[ChangeHash],
    ) -> Result<Findings, DocError> {
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

        type Tamper<'a> = Box<dyn Fn(&mut automerge::AutoCommit) + 'a>;
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
        for (i, case) in cases.iter().enumerate() {
            let mut copy = Document::load(meta.id(), &saved, dev).unwrap();
            case(copy.automerge_mut());
            copy.commit(Utc::now());
            let mut hub = Document::load(meta.id(), &saved, DeviceId::random()).unwrap();
            assert!(
                inspect_new(&mut hub, &mut copy, &base).is_err(),
                "case {i} passed"
            );
        }
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
}
