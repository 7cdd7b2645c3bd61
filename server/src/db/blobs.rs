//! Brochure files in the database, for the PostgreSQL backend: every instance serves every file
//! without a shared disk. A file is stored in [`CHUNK_BYTES`] chunks (`blob_chunks`) under the
//! id of its upload, and becomes visible only when its `blobs` row is written, after its hash
//! was checked: a reader never sees a partial or wrong file. A download reads only the chunks
//! its range covers, one at a time; an upload writes each chunk as it arrives. Neither holds a
//! whole file in memory.

use super::{params, Tx};
use crate::error::Result;

/// Bytes per stored chunk.
pub(crate) const CHUNK_BYTES: usize = 256 * 1024;

/// An upload left unfinished (a crash, a cut connection) this long ago is removed.
pub(crate) const ABANDONED_AFTER_SECONDS: i64 = 3600;

/// The length of the file named `name`, if the hub holds it.
pub(crate) fn len(tx: &Tx<'_>, name: &str) -> Result<Option<u64>> {
    let len: Option<i64> = tx
        .query_opt("SELECT len FROM blobs WHERE name = ?1", params![name])?
        .map(|r| r.get(0))
        .transpose()?;
    Ok(len.map(|n| u64::try_from(n).unwrap_or(0)))
}

/// Chunk `seq` of the file named `name`.
pub(crate) fn chunk(tx: &Tx<'_>, name: &str, seq: u64) -> Result<Option<Vec<u8>>> {
    let row = tx.query_opt(
        "SELECT c.bytes FROM blobs b JOIN blob_chunks c ON c.upload = b.upload
         WHERE b.name = ?1 AND c.seq = ?2",
        params![name, seq as i64],
    )?;
    row.map(|mut r| r.take_blob(0)).transpose()
}

/// Stores chunk `seq` of upload `upload`.
pub(crate) fn put_chunk(tx: &Tx<'_>, upload: &str, seq: u64, bytes: &[u8], now: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO blob_chunks (upload, seq, bytes, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![upload, seq as i64, bytes, now],
    )?;
    Ok(())
}

/// Makes upload `upload` the file `name` of `len` bytes; `false` (and the upload removed) if
/// the hub held the file already.
pub(crate) fn commit(tx: &Tx<'_>, upload: &str, name: &str, len: u64, now: i64) -> Result<bool> {
    let inserted = tx.execute(
        "INSERT INTO blobs (name, upload, len, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO NOTHING",
        params![name, upload, len as i64, now],
    )?;
    if inserted == 0 {
        discard(tx, upload)?;
    }
    Ok(inserted > 0)
}

/// Removes the chunks of an upload that will not be committed.
pub(crate) fn discard(tx: &Tx<'_>, upload: &str) -> Result<()> {
    tx.execute("DELETE FROM blob_chunks WHERE upload = ?1", params![upload])?;
    Ok(())
}

/// Removes the chunks of uploads abandoned before `now - ABANDONED_AFTER_SECONDS`; younger ones
/// may be in progress on another instance.
pub(crate) fn remove_abandoned(tx: &Tx<'_>, now: i64) -> Result<u64> {
    tx.execute(
        "DELETE FROM blob_chunks
         WHERE created_at < ?1 AND upload NOT IN (SELECT upload FROM blobs)",
        params![now - ABANDONED_AFTER_SECONDS],
    )
}

/// Every stored file's name and length, by name.
pub(crate) fn list(tx: &Tx<'_>) -> Result<Vec<(String, u64)>> {
    tx.query("SELECT name, len FROM blobs ORDER BY name", params![])?
        .iter()
        .map(|r| Ok((r.get(0)?, u64::try_from(r.get::<i64>(1)?).unwrap_or(0))))
        .collect()
}
