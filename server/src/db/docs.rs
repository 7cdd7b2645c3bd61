//! Documents in the database: one row each with what the access rules and the fast path need
//! (kind, owner, current heads), and their bytes as a snapshot followed by incremental change
//! chunks, replaced by a fresh snapshot when the increments outweigh it.

use super::sql::Row;
use super::{params, time_of, Tx};
use crate::admin::DocumentInfo;
use crate::auth::Caller;
use crate::error::{Error, Result};
use automerge::ChangeHash;
use outreach_core::doc::{DocKind, DocMeta, Document};
use outreach_core::model::{DeviceId, DocId};

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

/// The document row in the first columns of `r` (those of [`ROW_COLUMNS`]).
fn parse_row(r: &Row) -> Result<DocRow> {
    let corrupt = |what: &str| Error::Corrupt(format!("a document row has an unreadable {what}"));
    Ok(DocRow {
        pk: r.get(0)?,
        id: r.get::<String>(1)?.parse().map_err(|_| corrupt("id"))?,
        kind: DocKind::parse(&r.get::<String>(2)?).ok_or_else(|| corrupt("kind"))?,
        owner_device: r
            .get::<Option<String>>(3)?
            .map(|d| d.parse().map_err(|_| corrupt("owner")))
            .transpose()?,
        owner_org: r.get(4)?,
        heads: decode_heads(&r.get::<Vec<u8>>(5)?)?,
        version: r.get(6)?,
        snapshot_bytes: r.get(7)?,
        incremental_bytes: r.get(8)?,
        incremental_count: r.get(9)?,
    })
}

/// The row of document `id`, if the hub holds it.
pub(crate) fn row(conn: &Tx<'_>, id: DocId) -> Result<Option<DocRow>> {
    conn.query_opt(
        &format!("SELECT {ROW_COLUMNS} FROM documents WHERE id = ?1"),
        params![id.to_string()],
    )?
    .as_ref()
    .map(parse_row)
    .transpose()
}

/// Locks the rows of the documents `ids` that exist until the transaction ends, in id order
/// (so that two writers never wait for each other's): no other writer can change them
/// meanwhile. On SQLite the write transaction holds the whole database already.
pub(crate) fn lock(conn: &Tx<'_>, ids: &[DocId]) -> Result<()> {
    if conn.dialect() == super::Dialect::Sqlite {
        return Ok(());
    }
    let mut ids: Vec<String> = ids.iter().map(DocId::to_string).collect();
    ids.sort_unstable();
    for id in ids {
        conn.query_opt("SELECT pk FROM documents WHERE id = ?1 FOR UPDATE", params![id])?;
    }
    Ok(())
}

/// The rows of every document `caller` may read, in a stable order: the rule of
/// `sync::access` as a query (the access tests of `tests/hub` check both).
pub(crate) fn readable_rows(conn: &Tx<'_>, caller: &Caller) -> Result<Vec<DocRow>> {
    // Suggestions go to every coordinator and admin: `?2` is their kind when the caller has
    // that role, and matches nothing otherwise. Visit logs go to their owner only.
    let answers = if caller.role.edits_directory() {
        "suggestions"
    } else {
        ""
    };
    conn.query(
        &format!(
            "SELECT {ROW_COLUMNS} FROM documents
             WHERE kind IN ('directory_section', 'brochure_catalog') OR owner_device = ?1 OR kind = ?2
             ORDER BY pk"
        ),
        params![caller.device.to_string(), answers],
    )?
    .iter()
    .map(parse_row)
    .collect()
}

/// The rows of every document of one kind, in a stable order.
pub(crate) fn rows_of_kind(conn: &Tx<'_>, kind: DocKind) -> Result<Vec<DocRow>> {
    conn.query(
        &format!("SELECT {ROW_COLUMNS} FROM documents WHERE kind = ?1 ORDER BY pk"),
        params![kind.as_str()],
    )?
    .iter()
    .map(parse_row)
    .collect()
}

/// The rows of the visit logs of the months `first..=last` (`YYYY-MM`), with the name of the
/// owner's organisation.
pub(crate) fn visit_log_rows_between(
    conn: &Tx<'_>,
    first: &str,
    last: &str,
) -> Result<Vec<(DocRow, String)>> {
    conn.query(
        &format!(
            "SELECT {ROW_COLUMNS},
                 COALESCE((SELECT o.name FROM organisations o WHERE o.id = documents.owner_org), '?')
             FROM documents WHERE kind = 'visit_log' AND month >= ?1 AND month <= ?2 ORDER BY pk"
        ),
        params![first, last],
    )?
    .iter()
    .map(|r| Ok((parse_row(r)?, r.get(10)?)))
    .collect()
}

/// Whether any visit log of a month from `first` to `last` (`YYYY-MM`) is stored.
pub(crate) fn has_visit_logs_between(conn: &Tx<'_>, first: &str, last: &str) -> Result<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM documents WHERE kind = 'visit_log' AND month >= ?1 AND month <= ?2 LIMIT 1",
            params![first, last],
        )?
        .is_some())
}

/// The stored chunks of a document, concatenated: a valid Automerge document.
pub(crate) fn bytes(conn: &Tx<'_>, pk: i64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    conn.for_each(
        "SELECT bytes FROM chunks WHERE doc_pk = ?1 ORDER BY seq",
        params![pk],
        |mut row| {
            let chunk = row.take_blob(0)?;
            if out.is_empty() {
                out = chunk;
            } else {
                out.extend_from_slice(&chunk);
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// Loads a stored document, refusing anything that does not parse.
pub(crate) fn load(conn: &Tx<'_>, row: &DocRow, hub: DeviceId) -> Result<Document> {
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
    conn: &Tx<'_>,
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
        DocMeta::Suggestions { owner } => (None, Some(owner.to_string()), None),
    };
    let inserted = conn.query_opt(
        "INSERT INTO documents (id, kind, region, owner_device, owner_org, month, heads, version,
             snapshot_bytes, incremental_bytes, incremental_count, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, 0, 0, ?9, ?9)
         ON CONFLICT (id) DO NOTHING
         RETURNING pk",
        params![
            meta.id().to_string(),
            meta.kind().as_str(),
            region,
            owner,
            owner_org,
            month,
            encode_heads(heads),
            snapshot.len() as i64,
            now
        ],
    )?;
    let Some(inserted) = inserted else {
        return Ok(false);
    };
    let pk: i64 = inserted.get(0)?;
    conn.execute(
        "INSERT INTO chunks (doc_pk, seq, snapshot, bytes) VALUES (?1, 0, 1, ?2)",
        params![pk, snapshot],
    )?;
    Ok(true)
}

/// Writes new bytes and heads of a document loaded at `row.version`; `false` (and nothing
/// written) if another request wrote it since.
pub(crate) fn update(
    conn: &Tx<'_>,
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
    let changed = conn.execute(
        "UPDATE documents SET heads = ?1, version = version + 1, snapshot_bytes = ?2,
             incremental_bytes = ?3, incremental_count = ?4, updated_at = ?5
         WHERE pk = ?6 AND version = ?7",
        params![
            encode_heads(heads),
            snapshot_bytes,
            incremental_bytes,
            incremental_count,
            now,
            row.pk,
            row.version
        ],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    match chunk {
        Chunk::Snapshot(bytes) => {
            conn.execute("DELETE FROM chunks WHERE doc_pk = ?1", params![row.pk])?;
            conn.execute(
                "INSERT INTO chunks (doc_pk, seq, snapshot, bytes) VALUES (?1, 0, 1, ?2)",
                params![row.pk, bytes],
            )?;
        }
        Chunk::Increment(bytes) => {
            conn.execute(
                "INSERT INTO chunks (doc_pk, seq, snapshot, bytes)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chunks WHERE doc_pk = ?1), 0, ?2)",
                params![row.pk, bytes],
            )?;
        }
    }
    Ok(true)
}

/// Every stored document, for administration and tests.
pub(crate) fn list(conn: &Tx<'_>) -> Result<Vec<DocumentInfo>> {
    let rows = conn.query(
        &format!("SELECT {ROW_COLUMNS}, region, month, updated_at FROM documents ORDER BY pk"),
        params![],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let (region, month, updated_at): (Option<String>, Option<String>, i64) =
            (r.get(10)?, r.get(11)?, r.get(12)?);
        let row = parse_row(&r)?;
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

    fn chunk_count(conn: &Tx<'_>, pk: i64) -> i64 {
        conn.query_one("SELECT count(*) FROM chunks WHERE doc_pk = ?1", params![pk])
            .unwrap()
            .get(0)
            .unwrap()
    }

    #[test]
    fn increments_are_appended_then_compacted_into_a_snapshot() {
        let mut sqlite = rusqlite::Connection::open_in_memory().unwrap();
        let keys = tempfile::tempdir().unwrap();
        let seal_key = crate::seal::KeyPlace::resolve(&Default::default(), keys.path());
        let (hub, _) = super::super::schema::migrate(&mut sqlite, &seal_key).unwrap();
        let conn = Tx::sqlite(&sqlite);
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
