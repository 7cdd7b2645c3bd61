//! Documents from elsewhere (a hub, another device), merged into the store one at a time
//! within the caller's transaction ([`merge_in`]), or through the public [`Store::apply_remote`].
//!
//! A first sync brings every section of the directory whole: loading a document and reading
//! its entities is work on the CPU alone, which [`prepare`] does on a helper thread while the
//! writer stores the document before it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rusqlite::{Connection, TransactionBehavior};

use super::docs::DocCache;
use super::index::{self, Entities};
use super::{docs, persist_and_index, Store, StoreChanges, Writer};
use crate::doc::{DeviceActor, DocError, Document};
use crate::error::{Error, Result};
use crate::model::DocId;

/// A document new to this device, loaded from a hub's bytes, with all its entities read.
pub(crate) struct Prepared {
    doc: Document,
    entities: Entities,
}

/// Loads `bytes`, a hub's whole document, and reads every entity it holds; `Ok(None)` when the
/// bytes are not one plain document (see `Document::load_plain`): [`merge_in`] then reads them
/// change by change. A panic of the CRDT library is a refusal of the bytes.
pub(crate) fn prepare(doc_id: DocId, bytes: &[u8], actor: DeviceActor) -> Result<Option<Prepared>> {
    let read = catch_unwind(AssertUnwindSafe(|| -> Result<Option<Prepared>> {
        let Some(doc) = Document::load_plain(doc_id, bytes, actor)? else {
            return Ok(None);
        };
        let keys = index::all_keys(&doc)?;
        let entities = index::read_entities(&doc, &keys)?;
        Ok(Some(Prepared { doc, entities }))
    }));
    read.unwrap_or(Err(Error::Document(DocError::LibraryFailed)))
}

/// Merges `bytes` (changes, or a whole document) into document `doc_id` and updates the read
/// model, writing through `conn`, which the caller commits: a transaction, or a savepoint of
/// one. `prepared` is what [`prepare`] read of the same bytes, if it ran. On an error the
/// document's cached copy is dropped (it is read again from storage) and the caller rolls back
/// what was written; a panic of the CRDT library is a refusal of the bytes.
pub(crate) fn merge_in(
    conn: &Connection,
    docs: &mut DocCache,
    device: DeviceActor,
    doc_id: DocId,
    bytes: &[u8],
    prepared: Option<Prepared>,
) -> Result<StoreChanges> {
    let merged = catch_unwind(AssertUnwindSafe(|| match prepared {
        Some(p) => store_prepared(conn, docs, device, doc_id, bytes, p),
        None => merge_bytes(conn, docs, device, doc_id, bytes),
    }));
    let result = merged.unwrap_or(Err(Error::Document(DocError::LibraryFailed)));
    if result.is_err() {
        docs.evict(doc_id);
    }
    result
}

/// Stores a document new to this device from what [`prepare`] read: the hub's bytes as its
/// snapshot, its entities in the read model. A document stored meanwhile is merged as any
/// other.
fn store_prepared(
    conn: &Connection,
    docs: &mut DocCache,
    device: DeviceActor,
    doc_id: DocId,
    bytes: &[u8],
    prepared: Prepared,
) -> Result<StoreChanges> {
    if docs.get(conn, doc_id, device, None)?.is_some() {
        return merge_bytes(conn, docs, device, doc_id, bytes);
    }
    let Prepared { mut doc, entities } = prepared;
    doc.set_actor(device);
    docs.insert_new(doc);
    let cached = docs
        .get(conn, doc_id, device, None)?
        .ok_or(Error::NotFound { what: "document" })?;
    docs::persist_loaded(conn, cached, bytes)?;
    let changes = index::write_entities(conn, &cached.doc, entities)?;
    cached.doc.mark_saved();
    Ok(changes)
}

/// Merges bytes into the document held here, or loads a document new to this device.
fn merge_bytes(
    conn: &Connection,
    docs: &mut DocCache,
    device: DeviceActor,
    doc_id: DocId,
    bytes: &[u8],
) -> Result<StoreChanges> {
    let mut loaded_whole = false;
    let before = match docs.get(conn, doc_id, device, None)? {
        Some(cached) => {
            let doc = &mut cached.doc;
            let meta = *doc.meta();
            let before = doc.merge_bytes(bytes)?;
            doc.check_meta(&meta)?;
            before
        }
        None => {
            // A whole document as a hub stores it loads in one pass, and is stored as it came;
            // anything else is read change by change.
            let doc = match Document::load_plain(doc_id, bytes, device)? {
                Some(doc) => {
                    loaded_whole = true;
                    doc
                }
                None => Document::load(doc_id, bytes, device)?,
            };
            docs.insert_new(doc);
            Vec::new()
        }
    };
    let cached = docs
        .get(conn, doc_id, device, None)?
        .ok_or(Error::NotFound { what: "document" })?;
    if !before.is_empty() && cached.doc.heads() == before {
        return Ok(StoreChanges::default());
    }
    // Stored (and so acknowledged at the next sync) only if the merged document saves and
    // loads back: a hub validates the same, this guards against one that did not. (A document
    // new to this device is stored as a snapshot that `persist` checks.)
    if !before.is_empty() {
        cached.doc.check_reloads()?;
    }
    let keys = cached.doc.changed_entities(&before)?;
    let snapshot = loaded_whole.then_some(bytes);
    let changes = persist_and_index(conn, cached, &keys, snapshot)?;
    cached.doc.mark_saved();
    Ok(changes)
}

impl Store {
    /// Merges changes (or a whole document) from elsewhere into document `doc_id` and updates the
    /// read model. Bytes that do not parse, belong to another document, or leave an entity that
    /// does not fit the model are refused, and the store is left as it was.
    pub fn apply_remote(&self, doc_id: DocId, bytes: &[u8]) -> Result<StoreChanges> {
        self.write(|w, device| {
            let Writer { conn, docs, .. } = w;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changes = merge_in(&tx, docs, device, doc_id, bytes, None)?;
            if let Err(e) = tx.commit() {
                docs.evict(doc_id);
                return Err(e.into());
            }
            Ok((changes.clone(), changes))
        })
    }

    /// The actor this device writes changes with.
    pub(crate) fn actor(&self) -> Result<DeviceActor> {
        Ok(super::lock(&self.writer).as_ref().ok_or(Error::Closed)?.actor)
    }
}
