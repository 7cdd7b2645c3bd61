//! `outreach-hub migrate --from-sqlite DIR --database URL`: an embedded hub moved to
//! PostgreSQL whole, so that its devices go on syncing as if nothing happened.
//!
//! Everything is copied as stored, in one read transaction of the source (one consistent
//! state: stop the source hub first, or what it writes after the copy began stays behind) and
//! one write transaction of the target (all or nothing): the hub's settings and id,
//! organisations, enrollment codes, devices with their token hashes, documents with their row
//! ids, versions and chunks byte for byte, what the hub last answered each device (so that a
//! device naming its state digest is understood, and nobody lists or resends everything), and
//! the brochure files, read from `DIR/blobs/` in chunks. The seal key must be the same: the
//! target's is made from the source's, or checked against it. Then both hubs are read back and
//! compared; the copy is refused into a database that holds a hub already.

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::blobs::BlobStore;
use crate::db::{self, params, Tx};
use crate::error::{Error, Result};
use crate::hub::{Hub, HubKeys, Storage};
use crate::seal::{KeyPlace, SealKeySource};
use crate::HubConfig;

/// The tables copied, with their columns, in an order that satisfies their references.
const TABLES: &[(&str, &str)] = &[
    ("meta", "key, value"),
    ("organisations", "id, name, created_at"),
    (
        "enrollment_codes",
        "code_hash, org_id, role, created_at, expires_at, used_at, used_by, label, cancelled_at",
    ),
    (
        "devices",
        "id, org_id, role, name, token_hash, enrolled_at, revoked_at, last_seen, retired_at",
    ),
    (
        "documents",
        "pk, id, kind, region, owner_device, owner_org, month, heads, version, snapshot_bytes, \
         incremental_bytes, incremental_count, created_at, updated_at",
    ),
    ("chunks", "doc_pk, seq, snapshot, bytes"),
    ("device_states", "device_id, digest, docs, updated_at"),
    (
        "audit_log",
        "id, at, action, actor, origin, subject, org_id, detail",
    ),
    ("stewards", "region, org_id"),
    ("report_releases", "table_key, release, released_at, body"),
];

/// What a migration copied, each figure checked on both sides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Rows copied, per table, in copy order.
    pub rows: Vec<(&'static str, u64)>,
    /// Brochure files copied.
    pub files: u64,
    /// Their bytes.
    pub file_bytes: u64,
}

impl Hub {
    /// Copies the stopped embedded hub in `source_dir` (opened with `source_keys`) into the
    /// empty PostgreSQL database at `url`, whose instances will use the seal key in
    /// `target_seal_key` (made there from the source's if it is a key file that does not exist
    /// yet, else checked against it), then compares the two. Returns what was copied.
    pub fn migrate_to_postgres(
        source_dir: &std::path::Path,
        source_keys: HubKeys,
        url: &str,
        target_seal_key: SealKeySource,
    ) -> Result<Migrated> {
        let source = Hub::open_existing_with(source_dir, HubConfig::default(), source_keys)?;
        if matches!(target_seal_key, SealKeySource::DataDir) {
            return Err(Error::invalid(
                "seal key",
                "give the PostgreSQL hub's seal key file (--seal-key-file) or key (OUTREACH_HUB_SEAL_KEY)",
            ));
        }
        KeyPlace::resolve(&target_seal_key, std::path::Path::new(""))
            .adopt(source.inner.db.sealer().key())?;
        let keys = HubKeys {
            db_key: None,
            seal_key: target_seal_key,
        };
        let target = Hub::open_storage(&Storage::Postgres(url.to_string()), HubConfig::default(), keys)?;
        let BlobStore::Files(blob_dir) = &source.inner.blobs else {
            return Err(Error::invalid("source", "it is not an embedded hub"));
        };
        let migrated = source.inner.db.read(|src| {
            target.inner.db.write(|dst| {
                refuse_unless_empty(dst)?;
                let mut migrated = Migrated::default();
                for (table, columns) in TABLES {
                    migrated.rows.push((table, copy_table(src, dst, table, columns)?));
                }
                // The next rows made on PostgreSQL take ids after the copied ones.
                for (table, column) in [("documents", "pk"), ("audit_log", "id")] {
                    dst.query_one(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
                             (SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}), false)::text"
                        ),
                        params![],
                    )?;
                }
                let (files, bytes) = copy_files(blob_dir, dst)?;
                migrated.files = files;
                migrated.file_bytes = bytes;
                let detail = format!("from the embedded hub in {}", source_dir.display());
                let what = db::audit::Record {
                    detail: Some(&detail),
                    ..Default::default()
                };
                db::audit::record(
                    dst,
                    &source.inner.actor,
                    db::audit::Action::HubMigrated,
                    what,
                    db::now(),
                )?;
                Ok::<_, Error>(migrated)
            })
        })?;
        compare(&source, &target)?;
        Ok(migrated)
    }
}

fn refuse_unless_empty(dst: &Tx<'_>) -> Result<()> {
    for table in ["organisations", "devices", "documents", "blobs"] {
        let n: i64 = dst
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), params![])?
            .get(0)?;
        if n > 0 {
            return Err(Error::invalid(
                "database",
                "it holds a hub already: migrate into a new, empty database",
            ));
        }
    }
    // The target made its own id and creation time when it was opened: the source's replace them.
    dst.execute("DELETE FROM meta", params![])?;
    Ok(())
}

fn copy_table(src: &Tx<'_>, dst: &Tx<'_>, table: &str, columns: &str) -> Result<u64> {
    let count = columns.split(',').count();
    let placeholders: Vec<String> = (1..=count).map(|i| format!("?{i}")).collect();
    let overriding = if matches!(table, "documents" | "audit_log") {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    let insert = format!(
        "INSERT INTO {table} ({columns}){overriding} VALUES ({})",
        placeholders.join(", ")
    );
    let mut copied = 0;
    src.for_each(&format!("SELECT {columns} FROM {table}"), params![], |row| {
        let values: Vec<&dyn db::sql::ToValue> =
            row.cells().iter().map(|c| c as &dyn db::sql::ToValue).collect();
        dst.execute(&insert, &values)?;
        copied += 1;
        Ok(())
    })?;
    Ok(copied)
}

/// Copies every brochure file of `dir` in chunks, checking each against its name.
fn copy_files(dir: &crate::blobs::BlobDir, dst: &Tx<'_>) -> Result<(u64, u64)> {
    let (mut files, mut total) = (0, 0);
    for name in dir.names()? {
        let mut file = std::fs::File::open(dir.path(&name))?;
        let upload = hex::encode(rand::random::<[u8; 16]>());
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; db::blobs::CHUNK_BYTES];
        let (mut seq, mut len) = (0u64, 0u64);
        loop {
            let n = read_full(&mut file, &mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            db::blobs::put_chunk(dst, &upload, seq, &buffer[..n], db::now())?;
            seq += 1;
            len += n as u64;
        }
        if hex::encode(hasher.finalize()) != name.as_str() {
            return Err(Error::Corrupt(format!(
                "the brochure file {} does not hash to its name",
                name.as_str()
            )));
        }
        db::blobs::commit(dst, &upload, name.as_str(), len, db::now())?;
        files += 1;
        total += len;
    }
    Ok((files, total))
}

/// Fills `buffer` as far as the file goes; the bytes read.
fn read_full(file: &mut std::fs::File, buffer: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Reads both hubs back and refuses any difference.
fn compare(source: &Hub, target: &Hub) -> Result<()> {
    let differs = |what: &str| {
        Error::Corrupt(format!(
            "the PostgreSQL hub's {what} differ from the embedded hub's"
        ))
    };
    if source.organisations()? != target.organisations()? {
        return Err(differs("organisations"));
    }
    if source.devices()? != target.devices()? {
        return Err(differs("devices"));
    }
    if source.enrollment_codes()? != target.enrollment_codes()? {
        return Err(differs("enrollment codes"));
    }
    let documents = source.documents()?;
    if documents != target.documents()? {
        return Err(differs("documents"));
    }
    for doc in &documents {
        if source.document_bytes(doc.id)? != target.document_bytes(doc.id)? {
            return Err(differs("document bytes"));
        }
    }
    let states = |hub: &Hub| {
        hub.inner.db.read(|tx| {
            tx.query(
                "SELECT device_id, digest, docs FROM device_states ORDER BY device_id",
                params![],
            )
        })
    };
    if states(source)? != states(target)? {
        return Err(differs("device states"));
    }
    // Byte for byte; the source's files were checked against their names as they were copied.
    if source.brochure_files()? != target.brochure_files()? {
        return Err(differs("brochure files"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::TABLES;
    use crate::db::schema::{END_VERSION, STEPS};

    /// A table added to the schema and not to [`TABLES`] would be left behind by a migration.
    #[test]
    fn every_table_of_the_schema_is_copied() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        outreach_core::migrate::build_at_version(&conn, STEPS, END_VERSION).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        let mut tables: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut copied: Vec<String> = TABLES.iter().map(|(t, _)| t.to_string()).collect();
        tables.sort();
        copied.sort();
        assert_eq!(tables, copied);
    }
}
