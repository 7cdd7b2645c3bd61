//! The registry of a document's objects: what each map is in the layout, by the id of the
//! operation that made it, built from the document's history once and kept up to date by each
//! inspection.

use std::collections::HashMap;

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{ActorId, ObjType};

use super::decode;
use crate::doc::layout::{Field, Node, Slot};
use crate::doc::{DocError, DocKind, Document};

/// What each object of a document is in the layout, by the id of the operation that made it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Registry {
    pub(super) objects: HashMap<(u64, ActorId), (Node, String)>,
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
pub(super) fn observe_into(
    base: &Registry,
    overlay: &mut Overlay,
    change: &automerge::ExpandedChange,
    kind: DocKind,
) {
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
pub(super) fn lookup(
    base: &Registry,
    overlay: &Overlay,
    obj: &ObjectId,
    kind: DocKind,
) -> Option<(Node, String)> {
    if let ObjectId::Id(id) = obj {
        if let Some((n, p)) = overlay.get(&(id.counter(), id.actor().clone())) {
            return Some((*n, p.clone()));
        }
    }
    base.get(obj, kind).map(|(n, p)| (n, p.to_string()))
}

pub(super) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The maps a batch creates, by the id of the operation that made each.
pub(super) type Overlay = HashMap<(u64, ActorId), (Node, String)>;

impl Document {
    /// The registry of this document's objects, built from its history on first use.
    pub(super) fn registry(&mut self) -> Result<&mut Registry, DocError> {
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
            .ok_or_else(|| crate::doc::malformed("", "a registry"))
    }
}
