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
//!
//! The registry lives in `registry.rs`, the privacy checks of free text and what they leave to
//! the caller in `findings.rs`; this file holds the rules on changes and operations.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::legacy::{Key, OpType};
use automerge::{ActorId, Change, ChangeHash, ObjType};

use super::layout::{Node, Slot, Value};
use super::{DocError, DocKind, DocMeta, Document, GENESIS_SCHEMA, SCHEMA_VERSION};

mod findings;
mod registry;
#[cfg(test)]
mod tests;

pub use findings::{partner_contacts, tagged, Contact, Findings};
pub(crate) use registry::Registry;

use findings::{check_visit_json, scan};
use registry::{join, lookup, observe_into, Overlay};

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
        let checked = inspect_batch(&meta, &registry, &self.am, changes, trusted, rules, genesis);
        let checked = checked.map(|(findings, overlay)| {
            registry.objects.extend(overlay);
            findings
        });
        self.registry = Some(registry);
        checked
    }

    /// Checks the change this device just committed, as the hub will: an honest device never
    /// has a change refused. Contacts found are checked with `is_public`.
    #[cfg(feature = "device")]
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

/// Checks a batch against the layout, with the maps it creates in an overlay of `registry`.
fn inspect_batch(
    meta: &DocMeta,
    registry: &Registry,
    am: &automerge::AutoCommit,
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
                am,
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

/// Whether a delete leaves the key a value: it removes the losing values of a conflict, which is
/// how Automerge records a field set again to the value that was shown. `am` holds the document
/// before the change (the hub) or after it (the device's own change just committed): either
/// way a value that the delete does not name survives it. A map this document does not hold yet
/// has no such value.
fn keeps_a_value(am: &automerge::AutoCommit, op: &automerge::legacy::Op, key: &str) -> bool {
    use automerge::ReadDoc;
    let obj = match &op.obj {
        automerge::legacy::ObjectId::Root => automerge::ROOT,
        automerge::legacy::ObjectId::Id(id) => match am.import(&id.to_string()) {
            Ok((obj, _)) => obj,
            Err(_) => return false,
        },
    };
    let deleted: HashSet<String> = op.pred.iter().map(|p| p.to_string()).collect();
    am.get_all(&obj, key)
        .is_ok_and(|values| values.iter().any(|(_, id)| !deleted.contains(&id.to_string())))
}

/// The rules on one operation.
fn check_op(
    meta: &DocMeta,
    registry: &Registry,
    am: &automerge::AutoCommit,
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
    if let DocMeta::Suggestions { owner } = meta {
        // Its author makes a suggestion and writes its fields; another device answers it.
        let by_author = crate::doc::DeviceActor::belongs_to(id.1, *owner);
        let author_writes = match node {
            Node::Suggestions => true,
            Node::Suggestion => crate::doc::suggestions::AUTHOR_KEYS.contains(&key.as_str()),
            _ => by_author,
        };
        if author_writes != by_author {
            return Err(DocError::ForeignActor);
        }
    }
    match (&op.action, field.slot) {
        (OpType::Delete, _) if field.removable => Ok(()),
        (OpType::Delete, Slot::Value(_)) if keeps_a_value(am, op, key) => Ok(()),
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
                (Value::FreeText(_) | Value::Answer, Some(t)) => scan(t, &path, findings),
                (Value::VisitJson, Some(t)) => check_visit_json(meta, t, &path, findings),
                (Value::Exception, Some(t)) => key
                    .parse()
                    .ok()
                    .and_then(|from| crate::model::HoursException::from_stored(from, t).ok())
                    .map(|_| ())
                    .ok_or_else(|| super::malformed(path.clone(), "a last day and its hours, or closed")),
                _ => Ok(()),
            }
        }
        (OpType::Put(v), Slot::SchemaVersion) => match v {
            automerge::ScalarValue::Uint(n) if *n > SCHEMA_VERSION => Err(DocError::TooNew { schema: *n }),
            automerge::ScalarValue::Int(n) if *n > SCHEMA_VERSION as i64 => {
                Err(DocError::TooNew { schema: *n as u64 })
            }
            // A raise by a writer of a later layout this code knows (see `SCHEMA_VERSION`).
            automerge::ScalarValue::Uint(n) if *n > GENESIS_SCHEMA => Ok(()),
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
