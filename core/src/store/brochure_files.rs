//! Brochure files on the device. They are public material, so they live outside the encrypted
//! database, in the store's brochure folder, named by their SHA-256 (`<sha256>.<ext>`, the
//! extension letting viewers recognise them). A file is written atomically (a temporary file,
//! flushed, renamed) and verified before use: the `brochure_files` table records each file whose
//! hash was checked, with its size and modification time then; a file that changed since is
//! hashed again, and discarded if it no longer matches.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::query::from_json;
use super::{lock, Store, Writer};
use crate::error::{Error, Result};
use crate::model::{Brochure, BrochureFile, BrochureId, Lang};

/// A verified brochure file on this device, ready to show or share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LocalBrochureFile {
    /// Where the file is.
    pub path: PathBuf,
    /// Its language.
    pub lang: Lang,
    /// Its media type (`application/pdf`, `image/png`...).
    pub media_type: String,
    /// The name to show and to use when sharing it.
    pub file_name: String,
    /// Size in bytes.
    pub size: i64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
}

/// A file recorded in the `brochure_files` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredFile {
    /// Hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub media_type: String,
}

/// Lower-case hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The file name extension for a media type.
fn extension(media_type: &str) -> &'static str {
    match media_type {
        "application/pdf" => "pdf",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "bin",
    }
}

/// Where a verified file lives.
pub(crate) fn file_path(dir: &Path, sha256: &str, media_type: &str) -> PathBuf {
    dir.join(format!("{sha256}.{}", extension(media_type)))
}

/// Where a download in progress lives.
pub(crate) fn part_path(dir: &Path, sha256: &str) -> PathBuf {
    dir.join(format!("{sha256}.part"))
}

/// Whether `s` is a lower-case hex SHA-256.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Hashes a file; returns its hex SHA-256 and size.
fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// A file's modification time in nanoseconds since the epoch, where the file system has one.
pub(crate) fn mtime_ns(path: &Path) -> Option<i64> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    i64::try_from(modified.duration_since(UNIX_EPOCH).ok()?.as_nanos()).ok()
}

/// Makes the brochure folder if needed.
pub(crate) fn ensure_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Flushes a folder's entries (a rename) to disk, where the platform allows it.
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Writes `bytes` as `path` atomically: a temporary file beside it, flushed, then renamed.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a file path has no folder"))?;
    ensure_dir(dir)?;
    let tmp = dir.join(format!(".tmp-{:016x}", rand::random::<u64>()));
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir);
    Ok(())
}

impl Store {
    /// Publishes a file for one language of a brochure (coordinators): the file is stored here
    /// by its SHA-256, the catalog entry's `files[lang]` and `updated_on` are updated, and the
    /// file is queued for upload; the next [`sync`](Store::sync) uploads it before pushing the
    /// catalog, so that no device sees an entry whose file the hub lacks.
    pub fn publish_brochure_file(
        &self,
        brochure: BrochureId,
        lang: Lang,
        bytes: &[u8],
        media_type: &str,
        file_name: &str,
    ) -> Result<()> {
        self.check_edits_directory()?;
        let mut entry = self.brochure(brochure)?;
        let file = BrochureFile {
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
            media_type: media_type.to_string(),
            file_name: file_name.to_string(),
        };
        entry.files.insert(lang, file.clone());
        entry.updated_on = entry.updated_on.max(self.today());
        entry.validate()?;

        let path = file_path(&self.brochure_dir, &file.sha256, &file.media_type);
        write_atomically(&path, bytes)?;
        {
            let mut guard = lock(&self.writer);
            let Writer { conn, .. } = guard.as_mut().ok_or(Error::Closed)?;
            let tx = conn.transaction()?;
            upsert_file_row(&tx, &file.sha256, file.size, &file.media_type, mtime_ns(&path))?;
            tx.execute(
                "INSERT INTO blob_uploads (sha256, queued_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![file.sha256, chrono::Utc::now().to_rfc3339()],
            )?;
            tx.commit()?;
        }
        // Queued before the catalog names the file: an upload can never be missed.
        self.put_brochure(&entry)
    }

    /// The verified local file of a brochure, in the first of `languages` available here, else
    /// in any language available here; `None` when no file of it is on the device.
    pub fn brochure_file(
        &self,
        brochure: BrochureId,
        languages: &[Lang],
    ) -> Result<Option<LocalBrochureFile>> {
        let entry = self.brochure(brochure)?;
        let preferred = languages.iter().filter_map(|l| entry.files.get_key_value(l));
        let others = entry.files.iter().filter(|(l, _)| !languages.contains(l));
        for (lang, f) in preferred.chain(others) {
            if let Some(path) = self.verified_file(&f.sha256)? {
                return Ok(Some(LocalBrochureFile {
                    path,
                    lang: lang.clone(),
                    media_type: f.media_type.clone(),
                    file_name: f.file_name.clone(),
                    size: crate::sync::signed(f.size),
                    sha256: f.sha256.clone(),
                }));
            }
        }
        Ok(None)
    }

    /// The path of a recorded file if it still matches its hash; a file that no longer does is
    /// discarded.
    fn verified_file(&self, sha256: &str) -> Result<Option<PathBuf>> {
        let row: Option<(i64, String, Option<i64>)> = self.read(|c| {
            Ok(c.query_row(
                "SELECT size, media_type, verified_mtime_ns FROM brochure_files WHERE sha256 = ?1",
                [sha256],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })?;
        let Some((size, media_type, verified)) = row else {
            return Ok(None);
        };
        let path = file_path(&self.brochure_dir, sha256, &media_type);
        let len = fs::metadata(&path).map(|m| m.len()).ok();
        let mtime = mtime_ns(&path);
        if len == Some(size as u64) && mtime.is_some() && mtime == verified {
            return Ok(Some(path));
        }
        match hash_file(&path) {
            Ok((hash, n)) if hash == sha256 && n == size as u64 => {
                self.record_file(sha256, n, &media_type)?;
                Ok(Some(path))
            }
            _ => {
                self.forget_file(sha256)?;
                Ok(None)
            }
        }
    }

    /// Records a file just verified and moved into place.
    pub(crate) fn record_file(&self, sha256: &str, size: u64, media_type: &str) -> Result<()> {
        let path = file_path(&self.brochure_dir, sha256, media_type);
        let mut guard = lock(&self.writer);
        let Writer { conn, .. } = guard.as_mut().ok_or(Error::Closed)?;
        upsert_file_row(conn, sha256, size, media_type, mtime_ns(&path))
    }

    /// Removes a file, its record and any upload of it still queued.
    pub(crate) fn forget_file(&self, sha256: &str) -> Result<()> {
        let media_type: Option<String> = {
            let mut guard = lock(&self.writer);
            let Writer { conn, .. } = guard.as_mut().ok_or(Error::Closed)?;
            let tx = conn.transaction()?;
            let media_type = tx
                .query_row(
                    "SELECT media_type FROM brochure_files WHERE sha256 = ?1",
                    [sha256],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute("DELETE FROM blob_uploads WHERE sha256 = ?1", [sha256])?;
            tx.execute("DELETE FROM brochure_files WHERE sha256 = ?1", [sha256])?;
            tx.commit()?;
            media_type
        };
        if let Some(m) = media_type {
            remove_if_exists(&file_path(&self.brochure_dir, sha256, &m))?;
        }
        Ok(())
    }

    /// Files recorded on this device.
    pub(crate) fn stored_files(&self) -> Result<Vec<StoredFile>> {
        self.files_where("SELECT sha256, size, media_type FROM brochure_files ORDER BY sha256")
    }

    /// Files published here and not yet uploaded, oldest first.
    pub(crate) fn pending_uploads(&self) -> Result<Vec<StoredFile>> {
        self.files_where(
            "SELECT f.sha256, f.size, f.media_type FROM blob_uploads u
             JOIN brochure_files f ON f.sha256 = u.sha256 ORDER BY u.queued_at, u.sha256",
        )
    }

    fn files_where(&self, sql: &str) -> Result<Vec<StoredFile>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(sql)?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (sha256, size, media_type) = row?;
                out.push(StoredFile {
                    sha256,
                    size: u64::try_from(size).map_err(|_| Error::Corrupt("a file size is negative"))?,
                    media_type,
                });
            }
            Ok(out)
        })
    }

    /// Reads a queued file for upload, verified; `None` (and the file forgotten) if it is gone
    /// or damaged.
    pub(crate) fn read_upload(&self, file: &StoredFile) -> Result<Option<Vec<u8>>> {
        let path = file_path(&self.brochure_dir, &file.sha256, &file.media_type);
        match fs::read(&path) {
            Ok(bytes) if bytes.len() as u64 == file.size && sha256_hex(&bytes) == file.sha256 => {
                Ok(Some(bytes))
            }
            Ok(_) | Err(_) => {
                self.forget_file(&file.sha256)?;
                Ok(None)
            }
        }
    }

    /// Marks a queued file as uploaded.
    pub(crate) fn upload_done(&self, sha256: &str) -> Result<()> {
        let mut guard = lock(&self.writer);
        let Writer { conn, .. } = guard.as_mut().ok_or(Error::Closed)?;
        conn.execute("DELETE FROM blob_uploads WHERE sha256 = ?1", [sha256])?;
        Ok(())
    }

    /// Every brochure in force, with all its files.
    pub(crate) fn brochures_in_force(&self) -> Result<Vec<Brochure>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT data FROM brochures WHERE retired = 0 ORDER BY id")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|r| from_json(&r?)).collect()
        })
    }
}

fn upsert_file_row(
    conn: &rusqlite::Connection,
    sha256: &str,
    size: u64,
    media_type: &str,
    mtime: Option<i64>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO brochure_files (sha256, size, media_type, stored_at, verified_mtime_ns)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(sha256) DO UPDATE SET size = excluded.size, media_type = excluded.media_type,
           verified_mtime_ns = excluded.verified_mtime_ns",
        params![
            sha256,
            i64::try_from(size).map_err(|_| Error::Corrupt("a file size is too large"))?,
            media_type,
            chrono::Utc::now().to_rfc3339(),
            mtime
        ],
    )?;
    Ok(())
}

/// Removes a file; one already gone is fine.
pub(crate) fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Brochure;
    use crate::StoreKey;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("s.db"),
            StoreKey::random().as_bytes(),
            Default::default(),
        )
        .unwrap();
        (dir, store)
    }

    fn lang(code: &str) -> Lang {
        Lang::code(code).unwrap()
    }

    #[test]
    fn a_published_file_is_stored_queued_and_verified_before_use() {
        let (_dir, store) = store();
        let mut b = Brochure::new("2026-01-05".parse().unwrap());
        b.title.insert(lang("fr"), "Le retour volontaire".into());
        store.put_brochure(&b).unwrap();
        let fr = b"%PDF-1.7 retour volontaire".to_vec();
        let nl = b"%PDF-1.7 vrijwillige terugkeer".to_vec();
        store
            .publish_brochure_file(b.id, lang("fr"), &fr, "application/pdf", "retour.pdf")
            .unwrap();
        store
            .publish_brochure_file(b.id, lang("nl"), &nl, "application/pdf", "terugkeer.pdf")
            .unwrap();
        let entry = store.brochure(b.id).unwrap();
        assert_eq!(entry.files[&lang("fr")].sha256, sha256_hex(&fr));
        assert_eq!(entry.updated_on, store.today());
        assert_eq!(store.pending_uploads().unwrap().len(), 2);

        let got = store
            .brochure_file(b.id, &[lang("ar"), lang("nl")])
            .unwrap()
            .unwrap();
        assert_eq!(
            (got.lang.as_str(), got.file_name.as_str()),
            ("nl", "terugkeer.pdf")
        );
        assert_eq!(fs::read(&got.path).unwrap(), nl);
        assert!(got.path.starts_with(store.brochure_dir()));
        assert_eq!(got.path.extension().unwrap(), "pdf");
        let any = store.brochure_file(b.id, &[lang("ar")]).unwrap().unwrap();
        assert_eq!(
            any.lang.as_str(),
            "fr",
            "another language when none asked for is here"
        );

        // A file changed on disk is hashed again, found wrong and discarded.
        let mut bad = nl.clone();
        bad[0] = b'#';
        fs::write(&got.path, &bad).unwrap();
        let fallback = store.brochure_file(b.id, &[lang("nl")]).unwrap().unwrap();
        assert_eq!(fallback.lang.as_str(), "fr");
        assert!(!got.path.exists());
        assert_eq!(
            store.pending_uploads().unwrap().len(),
            1,
            "a damaged file is not uploaded"
        );

        assert!(matches!(
            store.publish_brochure_file(b.id, lang("fr"), &fr, "text/html", "x.html"),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            store.publish_brochure_file(BrochureId::random(), lang("fr"), &fr, "application/pdf", "x.pdf"),
            Err(Error::NotFound { .. })
        ));
    }
}
