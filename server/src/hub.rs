//! [`Hub`]: a data directory opened for serving and administration.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::blobs::BlobStore;
use crate::config::HubConfig;
use crate::db::Db;
use crate::error::{Error, Result};

/// Name of the database file in the data directory.
pub const DATABASE_FILE: &str = "hub.db";

/// Name of the brochure files' directory in the data directory.
pub const BLOBS_DIR: &str = "blobs";

/// A hub's data directory, opened: `DIR/hub.db` and `DIR/blobs/`. Cheap to clone; clones share
/// the connection pool. Nothing about devices or documents is kept in memory between
/// requests, so several hubs (in one process or several) may serve the same directory.
#[derive(Debug, Clone)]
pub struct Hub {
    pub(crate) inner: Arc<Inner>,
}

/// What a [`Hub`] holds.
#[derive(Debug)]
pub(crate) struct Inner {
    pub dir: PathBuf,
    pub db: Db,
    pub blobs: BlobStore,
    pub config: HubConfig,
    pub counters: Counters,
}

/// Running totals of this hub instance, for benchmarks and tests.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub syncs: AtomicU64,
    pub documents_loaded: AtomicU64,
    pub documents_written: AtomicU64,
    pub write_conflicts: AtomicU64,
}

impl Counters {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// What this hub instance did since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Sync requests answered successfully.
    pub syncs: u64,
    /// Documents loaded from the database into Automerge (the fast path loads none).
    pub documents_loaded: u64,
    /// Documents created or changed.
    pub documents_written: u64,
    /// Syncs that found a document written by another request between validating and writing,
    /// and validated again under the write lock.
    pub write_conflicts: u64,
}

impl Hub {
    /// Opens the hub in `data_dir`, creating the directory, the database and the blob directory
    /// if they do not exist, and upgrading an older database.
    pub fn open(data_dir: impl AsRef<Path>, config: HubConfig) -> Result<Hub> {
        check_config(&config)?;
        let dir = data_dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let db = Db::open(&dir.join(DATABASE_FILE))?;
        let blobs = BlobStore::open(dir.join(BLOBS_DIR))?;
        Ok(Hub {
            inner: Arc::new(Inner {
                dir,
                db,
                blobs,
                config,
                counters: Counters::default(),
            }),
        })
    }

    /// Opens the hub in `data_dir`, which must have been initialised (see [`Hub::initialise`]):
    /// a mistyped path is an error rather than a new, empty hub.
    pub fn open_existing(data_dir: impl AsRef<Path>, config: HubConfig) -> Result<Hub> {
        let dir = data_dir.as_ref();
        if !dir.join(DATABASE_FILE).is_file() {
            return Err(Error::NotInitialised(dir.display().to_string()));
        }
        Hub::open(dir, config)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The limits in force.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// What this instance did since it was opened.
    pub fn metrics(&self) -> Metrics {
        let c = &self.inner.counters;
        Metrics {
            syncs: c.syncs.load(Ordering::Relaxed),
            documents_loaded: c.documents_loaded.load(Ordering::Relaxed),
            documents_written: c.documents_written.load(Ordering::Relaxed),
            write_conflicts: c.write_conflicts.load(Ordering::Relaxed),
        }
    }
}

fn check_config(config: &HubConfig) -> Result<()> {
    let bounds = [
        ("max_body_bytes", config.max_body_bytes),
        ("max_docs", config.max_docs),
        ("max_changes", config.max_changes),
        ("max_response_bytes", config.max_response_bytes),
    ];
    for (name, value) in bounds {
        if value == 0 {
            return Err(Error::invalid("limit", format!("{name} must be at least 1")));
        }
    }
    Ok(())
}
