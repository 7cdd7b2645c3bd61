//! Document bytes in SQLite: one snapshot plus incremental change chunks per document, compacted
//! into a fresh snapshot once the increments outweigh it; and a small cache of loaded documents
//! so that a write neither reloads its document nor rereads its chunk list.

use std::collections::HashMap;

use automerge::ChangeHash;
use rusqlite::{params, Connection, OptionalExtension};

use crate::doc::{DeviceActor, DocKind, DocMeta, Document};
use crate::error::{Error, Result};
use crate::model::DocId;

/// Compact when the increments exceed the snapshot and this many bytes...
const COMPACT_MIN_BYTES: usize = 256 * 1024;
/// ...or when there are this many increments, whatever their size.
const COMPACT_MAX_CHUNKS: usize = 2000;
/// Compact a document on load when it comes in more chunks than this.
const COMPACT_ON_LOAD_CHUNKS: usize = 64;
/// Documents kept loaded in memory.
const CACHE_CAPACITY: usize = 16;

/// Encodes heads as concatenated 32-byte hashes.
pub(crate) fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

/// Decodes heads written by [`encode_heads`].
pub(crate) fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>> {
    if bytes.len() % 32 != 0 {
        return Err(Error::Corrupt("stored heads are not whole hashes"));
    }
    bytes
        .chunks(32)
        .map(|c| ChangeHash::try_from(c).map_err(|_| Error::Corrupt("stored heads are not whole hashes")))
        .collect()
}

/// How a document is laid out in the `chunks` table, known from loading it and kept up to date
/// by each write, so that writes need not read it back.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChunkStats {
    /// The `documents` row's key, once it exists.
    doc_pk: Option<i64>,
    /// Keys of the document's chunks, in chain order.
    chain: Vec<i64>,
    snapshot_bytes: usize,
    incremental_bytes: usize,
    incremental_count: usize,
}

/// A loaded document and its storage layout.
pub(crate) struct Cached {
    pub doc: Document,
    pub stats: ChunkStats,
}

/// Most chunks a chain may have: compaction keeps chains far shorter, so a longer one is a
/// corrupted (looping) chain.
const MAX_CHAIN: usize = 100_000;

fn corrupt() -> Error {
    Error::Corrupt("a document's chunk chain is broken")
}

/// Reads a document from its chunks; `None` if the store does not hold it.
pub(crate) fn load(conn: &Connection, id: DocId, actor: DeviceActor) -> Result<Option<Cached>> {
    let row: Option<(i64, Option<i64>)> = conn
        .prepare_cached("SELECT pk, first_chunk FROM documents WHERE id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((doc_pk, Some(first))) = row else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached("SELECT next, snapshot, bytes FROM chunks WHERE pk = ?1")?;
    let mut bytes = Vec::new();
    let mut stats = ChunkStats {
        doc_pk: Some(doc_pk),
        ..ChunkStats::default()
    };
    let mut next = Some(first);
    while let Some(pk) = next {
        if stats.chain.len() >= MAX_CHAIN {
            return Err(corrupt());
        }
        let mut rows = stmt.query([pk])?;
        let row = rows.next()?.ok_or_else(corrupt)?;
        next = row.get(0)?;
        let snapshot: bool = row.get(1)?;
        let chunk = row.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?;
        bytes.extend_from_slice(chunk);
        if snapshot {
            stats.snapshot_bytes += chunk.len();
        } else {
            stats.incremental_bytes += chunk.len();
            stats.incremental_count += 1;
        }
        stats.chain.push(pk);
    }
    let mut doc = Document::load_stored(id, &bytes, actor)?;
    doc.mark_saved();
    Ok(Some(Cached { doc, stats }))
}

/// Ids and kinds of every stored document.
pub(crate) fn list(conn: &Connection) -> Result<Vec<(DocId, DocKind)>> {
    let mut stmt = conn.prepare_cached("SELECT id, kind FROM documents ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind) = row?;
        let id = id
            .parse()
            .map_err(|_| Error::Corrupt("a document row has an unreadable id"))?;
        let kind = DocKind::parse(&kind).ok_or(Error::Corrupt("a document row has an unknown kind"))?;
        out.push((id, kind));
    }
    Ok(out)
}

/// Writes the document's unsaved changes as a new chunk (creating its row if new), compacting
/// when due. The caller commits the transaction, then calls [`Document::mark_saved`]; if the
/// transaction fails, the caller evicts the document, whose `stats` are then stale.
pub(crate) fn persist(tx: &Connection, cached: &mut Cached) -> Result<()> {
    let doc_pk = persist_row(tx, cached)?;
    let bytes = cached.doc.unsaved_changes();
    if bytes.is_empty() {
        return Ok(());
    }
    let incremental = cached.stats.incremental_bytes + bytes.len();
    // A new document is written as one snapshot that loads back, or not at all. For one
    // already stored, a snapshot that does not load back is not written: the increment is, as
    // any other.
    let new = cached.stats.chain.is_empty();
    let due = new
        || (incremental > cached.stats.snapshot_bytes && incremental > COMPACT_MIN_BYTES)
        || cached.stats.incremental_count + 1 > COMPACT_MAX_CHUNKS;
    if due && compact(tx, cached)? {
        return Ok(());
    }
    if new {
        return Err(Error::Document(crate::doc::DocError::NotReloadable));
    }
    let stats = &mut cached.stats;
    tx.prepare_cached("INSERT INTO chunks (next, snapshot, bytes) VALUES (NULL, 0, ?1)")?
        .execute(params![bytes])?;
    let pk = tx.last_insert_rowid();
    match stats.chain.last() {
        Some(&last) => tx
            .prepare_cached("UPDATE chunks SET next = ?1 WHERE pk = ?2")?
            .execute([pk, last])?,
        None => tx
            .prepare_cached("UPDATE documents SET first_chunk = ?1 WHERE pk = ?2")?
            .execute([pk, doc_pk])?,
    };
    stats.chain.push(pk);
    stats.incremental_bytes = incremental;
    stats.incremental_count += 1;
    Ok(())
}

/// The document's row, created if new; returns its key.
fn persist_row(tx: &Connection, cached: &mut Cached) -> Result<i64> {
    Ok(match cached.stats.doc_pk {
        Some(pk) => pk,
        None => {
            let doc = &cached.doc;
            let (region, owner, month) = match doc.meta() {
                DocMeta::DirectorySection { region } => (Some(region.to_string()), None, None),
                DocMeta::BrochureCatalog => (None, None, None),
                DocMeta::VisitLog { owner, month } => {
                    (None, Some(owner.to_string()), Some(month.to_string()))
                }
                DocMeta::Suggestions { owner } => (None, Some(owner.to_string()), None),
            };
            let pk: i64 = tx
                .prepare_cached(
                    "INSERT INTO documents (id, kind, region, owner, month) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(id) DO UPDATE SET kind = excluded.kind RETURNING pk",
                )?
                .query_row(
                    params![
                        doc.id().to_string(),
                        doc.meta().kind().as_str(),
                        region,
                        owner,
                        month
                    ],
                    |r| r.get(0),
                )?;
            cached.stats.doc_pk = Some(pk);
            pk
        }
    })
}

/// Replaces every chunk of the document with one snapshot, if the snapshot loads back to the
/// same heads (a save that Automerge cannot load back would lose the document; the chunks,
/// which replay its changes, are then kept, and `false` says so).
pub(crate) fn compact(tx: &Connection, cached: &mut Cached) -> Result<bool> {
    let Cached { doc, stats } = cached;
    let Some(doc_pk) = stats.doc_pk else {
        return Err(Error::NotFound { what: "document" });
    };
    let snapshot = doc.automerge_mut().save();
    if !doc.loads_back(&snapshot) {
        return Ok(false);
    }
    replace_chunks(tx, doc_pk, stats, &snapshot)?;
    Ok(true)
}

/// Stores a document new to this device as `snapshot`, bytes it was loaded from as they are
/// (see `Document::load_plain`), which therefore load back to it: no save, no second load.
pub(crate) fn persist_loaded(tx: &Connection, cached: &mut Cached, snapshot: &[u8]) -> Result<()> {
    if !cached.stats.chain.is_empty() {
        return Err(Error::Corrupt("a document loaded whole was already stored"));
    }
    persist_row(tx, cached)?;
    let Cached { stats, .. } = cached;
    let Some(doc_pk) = stats.doc_pk else {
        return Err(Error::NotFound { what: "document" });
    };
    replace_chunks(tx, doc_pk, stats, snapshot)
}

/// Replaces every chunk of a document with one snapshot.
fn replace_chunks(tx: &Connection, doc_pk: i64, stats: &mut ChunkStats, snapshot: &[u8]) -> Result<()> {
    let mut delete = tx.prepare_cached("DELETE FROM chunks WHERE pk = ?1")?;
    for pk in &stats.chain {
        delete.execute([pk])?;
    }
    tx.prepare_cached("INSERT INTO chunks (next, snapshot, bytes) VALUES (NULL, 1, ?1)")?
        .execute(params![snapshot])?;
    let pk = tx.last_insert_rowid();
    tx.prepare_cached("UPDATE documents SET first_chunk = ?1 WHERE pk = ?2")?
        .execute([pk, doc_pk])?;
    *stats = ChunkStats {
        doc_pk: Some(doc_pk),
        chain: vec![pk],
        snapshot_bytes: snapshot.len(),
        incremental_bytes: 0,
        incremental_count: 0,
    };
    Ok(())
}

/// Heads the hub last acknowledged for a document (empty if never).
pub(crate) fn acked_heads(conn: &Connection, id: DocId) -> Result<Vec<ChangeHash>> {
    let bytes: Option<Vec<u8>> = conn
        .query_row(
            "SELECT heads FROM hub_acks WHERE doc_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    bytes.map_or(Ok(Vec::new()), |b| decode_heads(&b))
}

/// Records the heads the hub acknowledged for a document.
pub(crate) fn set_acked_heads(conn: &Connection, id: DocId, heads: &[ChangeHash]) -> Result<()> {
    conn.execute(
        "INSERT INTO hub_acks (doc_id, heads) VALUES (?1, ?2)
         ON CONFLICT(doc_id) DO UPDATE SET heads = excluded.heads",
        params![id.to_string(), encode_heads(heads)],
    )?;
    Ok(())
}

/// Records heads the hub answered with, and its seal over them.
pub(crate) fn set_attestation(conn: &Connection, id: DocId, heads: &[ChangeHash], seal: &[u8]) -> Result<()> {
    conn.execute(
        "UPDATE hub_acks SET attested_heads = ?2, attestation = ?3 WHERE doc_id = ?1",
        params![id.to_string(), encode_heads(heads), seal],
    )?;
    Ok(())
}

/// The last heads the hub sealed for a document, with the seal (`None` if never).
pub(crate) fn attestation(conn: &Connection, id: DocId) -> Result<Option<(Vec<ChangeHash>, Vec<u8>)>> {
    let row = conn
        .query_row(
            "SELECT attested_heads, attestation FROM hub_acks WHERE doc_id = ?1",
            [id.to_string()],
            |r| Ok((r.get::<_, Option<Vec<u8>>>(0)?, r.get::<_, Option<Vec<u8>>>(1)?)),
        )
        .optional()?;
    match row {
        Some((Some(heads), Some(seal))) => Ok(Some((decode_heads(&heads)?, seal))),
        _ => Ok(None),
    }
}

/// Loaded documents, least recently used evicted first.
#[derive(Default)]
pub(crate) struct DocCache {
    docs: HashMap<DocId, (u64, Cached)>,
    tick: u64,
}

impl DocCache {
    /// The document `id`: from the cache, else from storage, else (with `create`) a new one.
    pub fn get<'a>(
        &'a mut self,
        conn: &Connection,
        id: DocId,
        actor: DeviceActor,
        create: Option<DocMeta>,
    ) -> Result<Option<&'a mut Cached>> {
        self.tick += 1;
        let tick = self.tick;
        if !self.docs.contains_key(&id) {
            let cached = match load(conn, id, actor)? {
                Some(mut cached) => {
                    if cached.stats.incremental_count > COMPACT_ON_LOAD_CHUNKS {
                        // Loading many small chunks is slow; this load has paid for it once.
                        let tx = conn.unchecked_transaction()?;
                        compact(&tx, &mut cached)?;
                        tx.commit()?;
                    }
                    cached
                }
                None => match create {
                    Some(meta) => Cached {
                        doc: Document::create(meta, actor)?,
                        stats: ChunkStats::default(),
                    },
                    None => return Ok(None),
                },
            };
            self.make_room();
            self.docs.insert(id, (tick, cached));
        }
        Ok(self.docs.get_mut(&id).map(|(t, c)| {
            *t = tick;
            c
        }))
    }

    fn make_room(&mut self) {
        if self.docs.len() >= CACHE_CAPACITY {
            if let Some(oldest) = self.docs.iter().min_by_key(|(_, (t, _))| *t).map(|(k, _)| *k) {
                self.docs.remove(&oldest);
            }
        }
    }

    /// Puts a document received from elsewhere, not yet stored, in the cache.
    pub fn insert_new(&mut self, doc: Document) {
        self.tick += 1;
        self.make_room();
        self.docs.insert(
            doc.id(),
            (
                self.tick,
                Cached {
                    doc,
                    stats: ChunkStats::default(),
                },
            ),
        );
    }

    /// Puts a document just written to storage in the cache.
    pub fn insert_cached(&mut self, cached: Cached) {
        self.tick += 1;
        self.make_room();
        self.docs.insert(cached.doc.id(), (self.tick, cached));
    }

    /// Forgets a document whose in-memory state may differ from storage.
    pub fn evict(&mut self, id: DocId) {
        self.docs.remove(&id);
    }

    /// Forgets every document.
    pub fn clear(&mut self) {
        self.docs.clear();
    }

    /// Makes `actor` the author of later changes to every loaded document.
    pub fn set_actor(&mut self, actor: DeviceActor) {
        for (_, cached) in self.docs.values_mut() {
            cached.doc.set_actor(actor);
        }
    }
}
