//! Documents in the database: one row each with what the access rules and the fast path need
//! (kind, owner, current heads), and their bytes as a snapshot followed by incremental change
//! chunks, replaced by a fresh snapshot when the increments outweigh it.

use automerge::ChangeHash;
use outreach_core::doc::{DocKind, DocMeta, Document};
use outreach_core::model::{DeviceId, DocId};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::time_of;
use crate::admin::DocumentInfo;
use crate::auth::Caller;
use crate::error::{Error, Result};

/// Increments below this many bytes never trigger a compaction, however small the snapshot.
const COMPACT_MIN_BYTES: i64 = 64 * 1024;

/// Compact when a document has this many increments, whatever their size.
const COMPACT_MAX_CHUNKS: i64 = 512;

/// A document's row, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocRow {
    pub pk: i64,
    pub id: DocId,
    pub kind: DocKind,
    /// The device owning a visit log.
    pub owner_device: Option<DeviceId>,
    /// The organisation of that device.
    pub owner_org: Option<String>,
    /// Current heads, sorted.
    pub heads: Vec<ChangeHash>,
    /// Grows with every write.
    pub version: i64,
    pub snapshot_bytes: i64,
    pub incremental_bytes: i64,
    pub incremental_count: i64,
}

impl DocRow {
    /// Bytes of the stored chunks, that is of the whole document as sent to a device lacking it.
    pub fn stored_bytes(&self) -> i64 {
        self.snapshot_bytes + self.incremental_bytes
    }
}

/// Sorted, deduplicated heads: two devices with the same heads hold the same history.
pub(crate) fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort_unstable();
    heads.dedup();
    heads
}

/// Encodes heads as concatenated 32-byte hashes.
pub(crate) fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

/// Decodes heads written by [`encode_heads`].
pub(crate) fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>> {
    if bytes.len() % 32 != 0 {
        return Err(Error::Corrupt("stored heads are not whole hashes".into()));
    }
    bytes
        .chunks(32)
        .map(|c| {
            ChangeHash::try_from(c).map_err(|_| Error::Corrupt("stored heads are not whole hashes".into()))
        })
        .collect()
}

const ROW_COLUMNS: &str = "pk, id, kind, owner_device, owner_org, heads, version, snapshot_bytes, \
                           incremental_bytes, incremental_count";

type RawRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Vec<u8>,
    i64,
    i64,
    i64,
    i64,
);

fn raw_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn parse_row(raw: RawRow) -> Result<DocRow> {
    let (pk, id, kind, owner_device, owner_org, heads, version, snapshot_bytes, incremental_bytes, count) =
        raw;
    let corrupt = |what: &str| Error::Corrupt(format!("a document row has an unreadable {what}"));
    Ok(DocRow {
        pk,
        id: id.parse().map_err(|_| corrupt("id"))?,
        kind: DocKind::parse(&kind).ok_or_else(|| corrupt("kind"))?,
        owner_device: owner_device
            .map(|d| d.parse().map_err(|_| corrupt("owner")))
            .transpose()?,
        owner_org,
        heads: decode_heads(&heads)?,
        version,
        snapshot_bytes,
        incremental_bytes,
        incremental_count: count,
    })
}

/// The row of document `id`, if the hub holds it.
pub(crate) fn row(conn: &Connection, id: DocId) -> Result<Option<DocRow>> {
    let raw = conn
        .prepare_cached(&format!("SELECT {ROW_COLUMNS} FROM documents WHERE id = ?1"))?
        .query_row([id.to_string()], raw_row)
        .optional()?;
    raw.map(parse_row).transpose()
}

/// The rows of every document `caller` may read, in a stable order.
pub(crate) fn readable_rows(conn: &Connection, caller: &Caller) -> Result<Vec<DocRow>> {
    let org = if caller.role.edits_directory() {
        Some(caller.org.as_str())
    } else {
        None
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM documents
         WHERE kind <> 'visit_log' OR owner_device = ?1 OR owner_org = ?2
         ORDER BY pk"
    ))?;
    let rows = stmt.query_map(params![caller.device.to_string(), org], raw_row)?;
    let mut out = Vec::new();
    for raw in rows {
        out.push(parse_row(raw?)?);
    }
    Ok(out)
}

/// The rows of every document of one kind, in a stable order.
pub(crate) fn rows_of_kind(conn: &Connection, kind: DocKind) -> Result<Vec<DocRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM documents WHERE kind = ?1 ORDER BY pk"
    ))?;
    let rows = stmt.query_map([kind.as_str()], raw_row)?;
    let mut out = Vec::new();
    for raw in rows {
        out.push(parse_row(raw?)?);
    }
    Ok(out)
}

/// The rows of every visit log, with the name of the owner's organisation.
pub(crate) fn visit_log_rows(conn: &Connection) -> Result<Vec<(DocRow, String)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS},
             COALESCE((SELECT o.name FROM organisations o WHERE o.id = documents.owner_org), '?')
         FROM documents WHERE kind = 'visit_log' ORDER BY pk"
    ))?;
    let rows = stmt.query_map([], |r| Ok((raw_row(r)?, r.get::<_, String>(10)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (raw, org) = row?;
        out.push((parse_row(raw)?, org));
    }
    Ok(out)
}

/// The stored chunks of a document, concatenated: a valid Automerge document.
pub(crate) fn bytes(conn: &Connection, pk: i64) -> Result<Vec<u8>> {
    let mut stmt = conn.prepare_cached("SELECT bytes FROM chunks WHERE doc_pk = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([pk])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let chunk = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
        out.extend_from_slice(chunk);
    }
    Ok(out)
}

/// Loads a stored document, refusing anything that does not parse.
pub(crate) fn load(conn: &Connection, row: &DocRow, hub: DeviceId) -> Result<Document> {
    let bytes = bytes(conn, row.pk)?;
    let mut doc = Document::load_stored(row.id, &bytes, hub)
        .map_err(|e| Error::Corrupt(format!("stored document {} does not load: {e}", row.id)))?;
    doc.mark_saved();
    Ok(doc)
}

/// How a write stores a document's bytes.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// Replace every chunk with this snapshot (a new document, or a compaction).
    Snapshot(Vec<u8>),
    /// Append these change chunks.
    Increment(Vec<u8>),
}

/// How a document's bytes are laid out, to decide whether new changes are appended or the
/// whole document is stored as a new snapshot (when the increments would outweigh the current
/// one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Compaction {
    snapshot_bytes: i64,
    incremental_bytes: i64,
    incremental_count: i64,
}

impl Compaction {
    /// The layout of a stored document.
    pub(crate) fn of(row: &DocRow) -> Compaction {
        Compaction {
            snapshot_bytes: row.snapshot_bytes,
            incremental_bytes: row.incremental_bytes,
            incremental_count: row.incremental_count,
        }
    }

    /// Whether an increment of `len` bytes should rather be stored as a new snapshot.
    pub(crate) fn due(&self, len: usize) -> bool {
        let incremental = self.incremental_bytes.saturating_add(len as i64);
        (incremental > self.snapshot_bytes && incremental > COMPACT_MIN_BYTES)
            || self.incremental_count + 1 > COMPACT_MAX_CHUNKS
    }
}

/// Creates a document from its first snapshot; `false` if another request created it first.
pub(crate) fn insert(
    conn: &Connection,
    meta: &DocMeta,
    owner_org: Option<&str>,
    heads: &[ChangeHash],
    snapshot: &[u8],
    now: i64,
) -> Result<bool> {
    let (region, owner, month) = match meta {
        DocMeta::DirectorySection { region } => (Some(region.to_string()), None, None),
        DocMeta::BrochureCatalog => (None, None, None),
        DocMeta::VisitLog { owner, month } => (None, Some(owner.to_string()), Some(month.to_string())),
    };
    let inserted = conn
        .prepare_cached(
            "INSERT INTO documents (id, kind, region, owner_device, owner_org, month, heads, version,
                 snapshot_bytes, incremental_bytes, incremental_count, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, 0, 0, ?9, ?9)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            meta.id().to_string(),
            meta.kind().as_str(),
            region,
            owner,
            owner_org,
            month,
            encode_heads(heads),
            snapshot.len() as i64,
            now
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    let pk = conn.last_insert_rowid();
    conn.prepare_cached("INSERT INTO chunks (doc_pk, seq, snapshot, bytes) VALUES (?1, 0, 1, ?2)")?
        .execute(params![pk, snapshot])?;
    Ok(true)
}

/// Writes new bytes and heads of a document loaded at `row.version`; `false` (and nothing
/// written) if another request wrote it since.
pub(crate) fn update(
    conn: &Connection,
    row: &DocRow,
    heads: &[ChangeHash],
    chunk: &Chunk,
    now: i64,
) -> Result<bool> {
    let (snapshot_bytes, incremental_bytes, incremental_count) = match chunk {
        Chunk::Snapshot(b) => (b.len() as i64, 0, 0),
        Chunk::Increment(b) => (
            row.snapshot_bytes,
            row.incremental_bytes + b.len() as i64,
            row.incremental_count + 1,
        ),
    };
    let changed = conn
        .prepare_cached(
            "UPDATE documents SET heads = ?1, version = version + 1, snapshot_bytes = ?2,
                 incremental_bytes = ?3, incremental_count = ?4, updated_at = ?5
             WHERE pk = ?6 AND version = ?7",
        )?
        .execute(params![
            encode_heads(heads),
            snapshot_bytes,
            incremental_bytes,
            incremental_count,
            now,
            row.pk,
            row.version
        ])?;
    if changed == 0 {
        return Ok(false);
    }
    match chunk {
        Chunk::Snapshot(bytes) => {
            conn.prepare_cached("DELETE FROM chunks WHERE doc_pk = ?1")?
                .execute([row.pk])?;
            conn.prepare_cached("INSERT INTO chunks (doc_pk, seq, snapshot, bytes) VALUES (?1, 0, 1, ?2)")?
                .execute(params![row.pk, bytes])?;
        }
        Chunk::Increment(bytes) => {
            conn.prepare_cached(
                "INSERT INTO chunks (doc_pk, seq, snapshot, bytes)
                 SELECT ?1, COALESCE(MAX(seq), 0) + 1, 0, ?2 FROM chunks WHERE doc_pk = ?1",
            )?
            .execute(params![row.pk, bytes])?;
        }
    }
    Ok(true)
}

/// Every stored document, for administration and tests.
pub(crate) fn list(conn: &Connection) -> Result<Vec<DocumentInfo>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS}, region, month, updated_at FROM documents ORDER BY pk"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            raw_row(r)?,
            r.get::<_, Option<String>>(10)?,
            r.get::<_, Option<String>>(11)?,
            r.get::<_, i64>(12)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (raw, region, month, updated_at) = row?;
        let row = parse_row(raw)?;
        out.push(DocumentInfo {
            id: row.id,
            kind: row.kind,
            region,
            owner_device: row.owner_device,
            owner_org: row.owner_org.clone(),
            month,
            heads: outreach_core::sync::protocol::to_wire(&row.heads),
            stored_bytes: u64::try_from(row.stored_bytes()).unwrap_or_default(),
            updated_at: time_of(updated_at),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use outreach_core::model::{OrgKind, Partner, Region};

    fn chunk_count(conn: &Connection, pk: i64) -> i64 {
        conn.query_row("SELECT count(*) FROM chunks WHERE doc_pk = ?1", [pk], |r| {
            r.get(0)
        })
        .unwrap()
    }

    #[test]
    fn increments_are_appended_then_compacted_into_a_snapshot() {
        let mut conn = Connection::open_in_memory().unwrap();
        let keys = tempfile::tempdir().unwrap();
        let seal_key = crate::seal::KeyPlace::resolve(&Default::default(), keys.path());
        let (hub, _) = super::super::schema::migrate(&mut conn, &seal_key).unwrap();
        let device = DeviceId::random();
        let meta = DocMeta::DirectorySection {
            region: Region::Namur,
        };
        let mut doc = Document::create(meta, device).unwrap();
        let snapshot = doc.automerge_mut().save();
        doc.mark_saved();
        assert!(insert(&conn, &meta, None, &sorted(doc.heads()), &snapshot, 1).unwrap());
        assert!(
            !insert(&conn, &meta, None, &sorted(doc.heads()), &snapshot, 1).unwrap(),
            "exists"
        );

        let mut max_chunks = 0;
        let mut compactions = 0;
        for i in 0..700 {
            let stored = row(&conn, meta.id()).unwrap().unwrap();
            doc.insert_partner(&Partner::new(Region::Namur, format!("Partner {i}"), OrgKind::Ngo))
                .unwrap();
            doc.commit(chrono::Utc::now());
            let increment = doc.unsaved_changes();
            doc.mark_saved();
            let chunk = if Compaction::of(&stored).due(increment.len()) {
                Chunk::Snapshot(doc.automerge_mut().save())
            } else {
                Chunk::Increment(increment)
            };
            compactions += usize::from(matches!(chunk, Chunk::Snapshot(_)));
            assert!(update(&conn, &stored, &sorted(doc.heads()), &chunk, 2).unwrap());
            assert!(
                !update(&conn, &stored, &sorted(doc.heads()), &chunk, 2).unwrap(),
                "stale version"
            );
            max_chunks = max_chunks.max(chunk_count(&conn, stored.pk));
        }
        assert!(compactions >= 1);
        assert!(max_chunks <= COMPACT_MAX_CHUNKS + 1, "{max_chunks}");
        let stored = row(&conn, meta.id()).unwrap().unwrap();
        assert_eq!(stored.heads, sorted(doc.heads()));
        assert_eq!(stored.version, 701);
        assert_eq!(
            stored.stored_bytes() as usize,
            bytes(&conn, stored.pk).unwrap().len()
        );
        let loaded = load(&conn, &stored, hub).unwrap();
        assert_eq!(loaded.partners().unwrap().len(), 700);
    }

    #[test]
    fn heads_round_trip_and_damaged_heads_are_refused() {
        let heads = sorted(vec![
            ChangeHash([2; 32]),
            ChangeHash([1; 32]),
            ChangeHash([2; 32]),
        ]);
        assert_eq!(heads.len(), 2);
        assert_eq!(decode_heads(&encode_heads(&heads)).unwrap(), heads);
        assert!(decode_heads(&[0; 33]).is_err());
    }
}
