//! Brochure files, content-addressed by their SHA-256: on disk for the embedded backend, in the
//! database for PostgreSQL (see `db/blobs.rs`), so that every instance serves every file.
//!
//! On disk: `DIR/blobs/<sha256>`. A file is written under a temporary name in
//! `DIR/blobs/.partial/`, hashed as it arrives, synced, and renamed into place only once its
//! hash is checked, so a reader never sees a partial or wrong file. The directories are 0700
//! and the files 0600: only the hub's own user reads them.

use std::io;
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::Result;
use crate::owner_only::{self, Tightened};

/// Name of the directory of files being received.
const PARTIAL_DIR: &str = ".partial";

/// A file being received that was not written to for this long was left by a crash. Younger
/// ones may be uploads in progress in another hub process on the same directory (or an
/// `outreach-hub` command run while the hub serves): they are left alone.
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// The name of a brochure file: its SHA-256 in lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlobName(String);

impl BlobName {
    /// Parses 64 hex characters (either case); `None` otherwise.
    pub fn parse(s: &str) -> Option<BlobName> {
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| BlobName(s.to_ascii_lowercase()))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where brochure files are kept.
#[derive(Debug)]
pub(crate) enum BlobStore {
    /// In the data directory.
    Files(BlobDir),
    /// In the hub's (PostgreSQL) database.
    Database,
}

/// The blob directory.
#[derive(Debug)]
pub(crate) struct BlobDir {
    dir: PathBuf,
    partial: PathBuf,
}

impl BlobDir {
    /// Opens (creating) the blob directory, narrows files and directories that an older hub
    /// left open to others (adding them to `tightened`), and removes files left half-received by
    /// a crash.
    pub fn open(dir: PathBuf, tightened: &mut Tightened) -> Result<BlobDir> {
        let partial = dir.join(PARTIAL_DIR);
        owner_only::create_dir_all(&partial)?;
        tightened.dir(&dir)?;
        tightened.dir(&partial)?;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                tightened.file(&entry.path())?;
            }
        }
        for entry in std::fs::read_dir(&partial)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            let idle = meta.modified()?.elapsed().unwrap_or_default();
            if meta.is_file() && idle >= ABANDONED_AFTER {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(BlobDir { dir, partial })
    }

    /// The names of every stored file, sorted.
    pub fn names(&self) -> Result<Vec<BlobName>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                if let Some(name) = BlobName::parse(&entry.file_name().to_string_lossy()) {
                    out.push(name);
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Every stored file, by name, with its bytes.
    pub fn list(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.names()?
            .into_iter()
            .map(|name| Ok((name.0.clone(), std::fs::read(self.path(&name))?)))
            .collect()
    }

    /// Where a file is stored.
    pub fn path(&self, name: &BlobName) -> PathBuf {
        self.dir.join(name.as_str())
    }

    /// Starts receiving a file.
    pub async fn create_partial(&self) -> io::Result<Partial> {
        let path = self
            .partial
            .join(format!("{}.part", hex::encode(rand::random::<[u8; 16]>())));
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let file = options.open(&path).await?;
        Ok(Partial {
            file,
            path,
            hasher: Sha256::new(),
            len: 0,
            done: false,
        })
    }
}

/// A file being received: deleted if dropped before [`Partial::commit`].
#[derive(Debug)]
pub(crate) struct Partial {
    file: tokio::fs::File,
    path: PathBuf,
    hasher: Sha256,
    len: u64,
    done: bool,
}

impl Partial {
    /// Appends bytes.
    pub async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.hasher.update(data);
        self.len += data.len() as u64;
        self.file.write_all(data).await
    }

    /// Bytes received so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// SHA-256 of the bytes received, in lower-case hex.
    pub fn digest(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// Makes the file durable and moves it to its place.
    pub async fn commit(mut self, store: &BlobDir, name: &BlobName) -> io::Result<()> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let target = store.path(name);
        tokio::fs::rename(&self.path, &target).await?;
        self.done = true;
        let dir = store.dir.clone();
        tokio::task::spawn_blocking(move || owner_only::sync_dir(&dir))
            .await
            .map_err(io::Error::other)?
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            // Best effort: a leftover is removed at the next start anyway.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A file being received into the database: written chunk by chunk as it arrives, visible
/// once committed; its chunks are removed if it is dropped before.
#[derive(Debug)]
pub(crate) struct DbUpload {
    hub: crate::Hub,
    id: String,
    buffer: Vec<u8>,
    next_seq: u64,
    hasher: Sha256,
    len: u64,
    done: bool,
}

impl DbUpload {
    /// Starts receiving a file for `hub`.
    pub fn new(hub: crate::Hub) -> DbUpload {
        DbUpload {
            hub,
            id: hex::encode(rand::random::<[u8; 16]>()),
            buffer: Vec::new(),
            next_seq: 0,
            hasher: Sha256::new(),
            len: 0,
            done: false,
        }
    }

    /// Appends bytes, storing every chunk filled.
    pub async fn write(&mut self, mut data: &[u8]) -> Result<()> {
        use crate::db::blobs::CHUNK_BYTES;
        self.hasher.update(data);
        self.len += data.len() as u64;
        while !data.is_empty() {
            let room = CHUNK_BYTES - self.buffer.len();
            let (head, rest) = data.split_at(room.min(data.len()));
            self.buffer.extend_from_slice(head);
            data = rest;
            if self.buffer.len() == CHUNK_BYTES {
                self.flush().await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        let bytes = std::mem::take(&mut self.buffer);
        let (hub, id, seq) = (self.hub.clone(), self.id.clone(), self.next_seq);
        self.next_seq += 1;
        crate::hub::blocking(move || {
            hub.inner
                .db
                .write(|tx| crate::db::blobs::put_chunk(tx, &id, seq, &bytes, crate::db::now()))
        })
        .await
    }

    /// Bytes received so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// SHA-256 of the bytes received, in lower-case hex.
    pub fn digest(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// Stores the last chunk and makes the file visible as `name`; `false` if the hub held it
    /// already (this upload is then removed).
    pub async fn commit(mut self, name: &BlobName) -> Result<bool> {
        if !self.buffer.is_empty() {
            self.flush().await?;
        }
        let (hub, id, name, len) = (
            self.hub.clone(),
            self.id.clone(),
            name.as_str().to_string(),
            self.len,
        );
        self.done = true;
        crate::hub::blocking(move || {
            hub.inner
                .db
                .write(|tx| crate::db::blobs::commit(tx, &id, &name, len, crate::db::now()))
        })
        .await
    }
}

impl Drop for DbUpload {
    fn drop(&mut self) {
        if self.done || self.next_seq == 0 {
            return;
        }
        // Best effort: what is left is removed at the next start of any instance.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (hub, id) = (self.hub.clone(), self.id.clone());
            runtime.spawn_blocking(move || hub.inner.db.write(|tx| crate::db::blobs::discard(tx, &id)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_64_hex_characters() {
        let upper = "AB".repeat(32);
        assert_eq!(BlobName::parse(&upper).unwrap().as_str(), "ab".repeat(32));
        assert!(BlobName::parse("ab").is_none());
        assert!(BlobName::parse(&"zz".repeat(32)).is_none());
        assert!(BlobName::parse(&format!("../{}", "a".repeat(61))).is_none());
    }

    #[test]
    fn only_abandoned_partial_files_are_removed_on_open() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("blobs");
        BlobDir::open(dir.clone(), &mut Tightened::default()).unwrap();
        let (fresh, stale) = (dir.join(".partial/fresh.part"), dir.join(".partial/stale.part"));
        std::fs::write(&fresh, b"uploading").unwrap();
        std::fs::write(&stale, b"left by a crash").unwrap();
        let long_ago = std::time::SystemTime::now() - ABANDONED_AFTER - std::time::Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        BlobDir::open(dir, &mut Tightened::default()).unwrap();
        assert!(fresh.exists(), "an upload in progress elsewhere is left alone");
        assert!(!stale.exists());
    }
}
