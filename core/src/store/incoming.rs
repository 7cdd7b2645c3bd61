//! Documents new to this device, read ahead. A first sync brings every section of the
//! directory whole: loading a document and reading its entities is work on the CPU alone, which
//! [`prepare`] does on a helper thread while the writer stores the document before it
//! ([`Store::apply_prepared`]).

use rusqlite::TransactionBehavior;

use super::index::{self, Entities};
use super::{docs, lock, Store, StoreChanges, Writer};
use crate::doc::{DeviceActor, DocError, Document};
use crate::error::{Error, Result};
use crate::model::DocId;

/// A document new to this device, loaded from a hub's bytes, with all its entities read.
pub(crate) struct Prepared {
    doc: Document,
    entities: Entities,
}

/// Loads `bytes`, a hub's whole document, and reads every entity it holds; `Ok(None)` when the
/// bytes are not one plain document (see `Document::load_plain`): [`Store::apply_remote`] then
/// reads them change by change. A panic of the CRDT library is a refusal of the bytes.
pub(crate) fn prepare(doc_id: DocId, bytes: &[u8], actor: DeviceActor) -> Result<Option<Prepared>> {
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<Option<Prepared>> {
        let Some(doc) = Document::load_plain(doc_id, bytes, actor)? else {
            return Ok(None);
        };
        let keys = index::all_keys(&doc)?;
        let entities = index::read_entities(&doc, &keys)?;
        Ok(Some(Prepared { doc, entities }))
    }));
    read.unwrap_or(Err(Error::Document(DocError::LibraryFailed)))
}

impl Store {
    /// The actor this device writes changes with.
    pub(crate) fn actor(&self) -> Result<DeviceActor> {
        Ok(lock(&self.writer).as_ref().ok_or(Error::Closed)?.actor)
    }

    /// Stores a document new to this device as [`Store::apply_remote`] would, from what
    /// [`prepare`] read of `bytes`: the bytes as its snapshot, its entities in the read model,
    /// in one transaction. A document stored meanwhile is merged as any other.
    pub(crate) fn apply_prepared(
        &self,
        doc_id: DocId,
        bytes: &[u8],
        prepared: Prepared,
    ) -> Result<StoreChanges> {
        self.write(|w, device| {
            if w.docs.get(&w.conn, doc_id, device, None)?.is_some() {
                return Self::apply_remote_in(w, device, doc_id, bytes);
            }
            let Writer { conn, docs, .. } = w;
            let Prepared { mut doc, entities } = prepared;
            doc.set_actor(device);
            docs.insert_new(doc);
            let cached = docs
                .get(conn, doc_id, device, None)?
                .ok_or(Error::NotFound { what: "document" })?;
            let stored = (|| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                docs::persist_loaded(&tx, cached, bytes)?;
                let changes = index::write_entities(&tx, &cached.doc, entities)?;
                tx.commit()?;
                Ok(changes)
            })();
            match stored {
                Ok(changes) => {
                    cached.doc.mark_saved();
                    Ok((changes.clone(), changes))
                }
                Err(e) => {
                    docs.evict(doc_id);
                    Err(e)
                }
            }
        })
    }
}
