//! [`Hub`]: a data directory opened for serving and administration, and [`HubKeys`], the keys
//! that protect it at rest.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::blobs::{BlobDir, BlobStore};
use crate::config::HubConfig;
use crate::db::cipher::DbKey;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::owner_only::{self, Tightened};
use crate::seal::{KeyPlace, SealKeySource};

/// Name of the database file in the data directory.
pub const DATABASE_FILE: &str = "hub.db";

/// Name of the brochure files' directory in the data directory.
pub const BLOBS_DIR: &str = "blobs";

/// Where a hub keeps its data: the embedded default, or a PostgreSQL database that several hub
/// instances may share.
#[derive(Clone, PartialEq, Eq)]
pub enum Storage {
    /// A data directory: `DIR/hub.db` (SQLite), `DIR/blobs/` and, by default, `DIR/seal.key`.
    Embedded(PathBuf),
    /// A PostgreSQL database, `postgres://user[:password]@host[:port]/database` (or the
    /// key=value form): documents, devices and brochure files are all in it.
    Postgres(String),
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Storage::Embedded(dir) => f.debug_tuple("Embedded").field(dir).finish(),
            // The URL may hold a password.
            Storage::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

/// The keys that protect a hub's data at rest, given when it is opened (kept apart from
/// [`HubConfig`], which holds limits). The default is what [`Hub::open`] uses: a plaintext
/// `hub.db` and the seal key in `DIR/seal.key`.
#[derive(Debug, Clone, Default)]
pub struct HubKeys {
    /// The SQLCipher key of `hub.db`; `None` for a plaintext database. A new database is
    /// encrypted with it; an existing one must have been made with it.
    pub db_key: Option<DbKey>,
    /// Where the key of the hub's seals over document heads is kept.
    pub seal_key: SealKeySource,
}

/// A hub's data directory, opened: `DIR/hub.db`, `DIR/blobs/` and (by default) `DIR/seal.key`. Cheap to clone; clones share
/// the connection pool. Nothing about devices or documents is kept in memory between
/// requests, so several hubs (in one process or several) may serve the same directory.
#[derive(Debug, Clone)]
pub struct Hub {
    pub(crate) inner: Arc<Inner>,
}

/// What a [`Hub`] holds.
#[derive(Debug)]
pub(crate) struct Inner {
    /// The data directory (of an embedded hub; empty on PostgreSQL).
    pub dir: PathBuf,
    pub db: Db,
    pub blobs: BlobStore,
    pub config: HubConfig,
    pub counters: Counters,
    pub tightened: Vec<PathBuf>,
    /// Validates pushed documents where the CRDT library's failures cannot reach this process.
    pub validator: crate::validate::Validator,
    /// Who the administration calls of this process are recorded as, in the audit log.
    pub actor: crate::db::audit::Actor,
    /// Each organisation's report, as its coordinators receive it.
    pub reports: crate::org_report::ReportCache,
}

/// Running totals of this hub instance, for `/metrics`, benchmarks and tests.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub syncs: AtomicU64,
    pub documents_loaded: AtomicU64,
    pub documents_written: AtomicU64,
    /// Changes stored by those writes.
    pub changes_accepted: AtomicU64,
    pub documents_refused: AtomicU64,
    pub documents_validated: AtomicU64,
    pub write_conflicts: AtomicU64,
    pub states_unknown: AtomicU64,
    /// Pushed documents refused, by code.
    pub refused_by_code: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
    /// HTTP requests answered, for `/metrics`.
    pub http: crate::metrics::HttpCounters,
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
    /// Changes stored by those writes.
    pub changes_accepted: u64,
    /// Pushed documents refused (each with its code, in the answer).
    pub documents_refused: u64,
    /// Pushed documents handed to a validator.
    pub documents_validated: u64,
    /// Syncs that found a document written by another request between validating and writing,
    /// and validated again under the write lock.
    pub write_conflicts: u64,
    /// Syncs whose device named a state this hub did not know (see `SyncRequest::known`): it
    /// lists every document in its next round.
    pub states_unknown: u64,
}

impl Hub {
    /// Opens the hub in `data_dir`, creating the directory, the database and the blob directory
    /// if they do not exist, and upgrading an older database: a plaintext `hub.db` with the seal
    /// key in `DIR/seal.key` (see [`Hub::open_with`]).
    pub fn open(data_dir: impl AsRef<Path>, config: HubConfig) -> Result<Hub> {
        Hub::open_with(data_dir, config, HubKeys::default())
    }

    /// Opens the hub in `data_dir` with `keys`, as [`Hub::open`] does. Directories are made
    /// 0700 and files 0600, and those an older hub left open to others are narrowed (see
    /// [`Hub::tightened`]). A database key that does not fit `hub.db` (wrong, missing, or given
    /// for a plaintext file) is refused before anything is written.
    pub fn open_with(data_dir: impl AsRef<Path>, config: HubConfig, keys: HubKeys) -> Result<Hub> {
        check_config(&config)?;
        let dir = data_dir.as_ref().to_path_buf();
        owner_only::create_dir_all(&dir)?;
        let mut tightened = Tightened::default();
        tightened.dir(&dir)?;
        let seal_key = KeyPlace::resolve(&keys.seal_key, &dir);
        let db = Db::open(&dir.join(DATABASE_FILE), keys.db_key, &seal_key, &mut tightened)?;
        let blobs = BlobStore::Files(BlobDir::open(dir.join(BLOBS_DIR), &mut tightened)?);
        Ok(Hub::of(dir, db, blobs, config, tightened.0))
    }

    /// Opens the hub kept in `storage`, as [`Hub::open_with`] does for a data directory. A hub
    /// on PostgreSQL needs its seal key given ([`SealKeySource::File`] or
    /// [`SealKeySource::Key`]), the same for every instance, and takes no SQLCipher key (the
    /// database server protects its own files).
    pub fn open_storage(storage: &Storage, config: HubConfig, keys: HubKeys) -> Result<Hub> {
        let url = match storage {
            Storage::Embedded(dir) => return Hub::open_with(dir, config, keys),
            Storage::Postgres(url) => url,
        };
        check_config(&config)?;
        if keys.db_key.is_some() {
            return Err(Error::invalid(
                "database key",
                "it encrypts an embedded hub.db; a hub on PostgreSQL takes none",
            ));
        }
        if matches!(keys.seal_key, SealKeySource::DataDir) {
            return Err(Error::invalid(
                "seal key",
                "a hub on PostgreSQL has no data directory: give the seal key (--seal-key-file \
                 or OUTREACH_HUB_SEAL_KEY), the same for every instance",
            ));
        }
        let seal_key = KeyPlace::resolve(&keys.seal_key, Path::new(""));
        let db = Db::open_postgres(url, &seal_key)?;
        let removed = db.write(|tx| crate::db::blobs::remove_abandoned(tx, crate::db::now()))?;
        if removed > 0 {
            tracing::info!(target: crate::log_targets::STORAGE, chunks = removed, "removed abandoned brochure uploads");
        }
        Ok(Hub::of(
            PathBuf::new(),
            db,
            BlobStore::Database,
            config,
            Vec::new(),
        ))
    }

    /// A hub over an opened database and blob store.
    fn of(dir: PathBuf, db: Db, blobs: BlobStore, config: HubConfig, tightened: Vec<PathBuf>) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                dir,
                db,
                blobs,
                validator: crate::validate::Validator::new(&config.isolation, config.validator),
                config,
                counters: Counters::default(),
                tightened,
                actor: crate::db::audit::Actor::operator(),
                reports: Default::default(),
            }),
        }
    }

    /// Opens the hub in `data_dir`, which must have been initialised (see [`Hub::initialise`]):
    /// a mistyped path is an error rather than a new, empty hub.
    pub fn open_existing(data_dir: impl AsRef<Path>, config: HubConfig) -> Result<Hub> {
        Hub::open_existing_with(data_dir, config, HubKeys::default())
    }

    /// [`Hub::open_existing`] with `keys`, as [`Hub::open_with`].
    pub fn open_existing_with(data_dir: impl AsRef<Path>, config: HubConfig, keys: HubKeys) -> Result<Hub> {
        let dir = data_dir.as_ref();
        if !dir.join(DATABASE_FILE).is_file() {
            return Err(Error::NotInitialised(dir.display().to_string()));
        }
        Hub::open_with(dir, config, keys)
    }

    /// Writes a consistent copy of the database to `target` while the hub goes on serving: every
    /// write committed before the call is in it. The copy is 0600 and appears at `target` only
    /// once complete; returns its size in bytes. Of an embedded hub, a copy of `hub.db`,
    /// encrypted with the hub's database key if it has one, without the brochure files
    /// (`blobs/`); on PostgreSQL, `pg_dump`'s custom format of the hub's database, brochure
    /// files included. Neither holds the seal key.
    pub fn backup_to(&self, target: impl AsRef<Path>) -> Result<u64> {
        let target = target.as_ref();
        let size = match (self.inner.db.sqlite(), self.inner.db.postgres()) {
            (Some(db), _) => db.backup_to(target)?,
            (None, Some(db)) => crate::db::dump::dump(db, target)?,
            (None, None) => return Err(Error::Server("a hub without a database".into())),
        };
        let detail = format!("{} ({size} bytes)", target.display());
        self.inner.db.write(|tx| {
            crate::db::audit::record(
                tx,
                &self.inner.actor,
                crate::db::audit::Action::BackupTaken,
                crate::db::audit::Record {
                    detail: Some(&detail),
                    ..Default::default()
                },
                crate::db::now(),
            )
        })?;
        Ok(size)
    }

    /// Encrypts the plaintext `hub.db` of the stopped hub in `data_dir` with `key`, in place (a
    /// new encrypted file renamed over the old one). Refused, with nothing changed, while the
    /// database is open elsewhere (a serving hub) or if it is encrypted already. Backups made
    /// before stay plaintext.
    pub fn encrypt(data_dir: impl AsRef<Path>, key: &DbKey) -> Result<()> {
        let dir = data_dir.as_ref();
        let path = dir.join(DATABASE_FILE);
        if !path.is_file() {
            return Err(Error::NotInitialised(dir.display().to_string()));
        }
        crate::db::cipher::encrypt_in_place(&path, key)
    }

    /// Files and directories this open found readable by group or others and narrowed to the
    /// owner only (a data directory made by an older hub).
    pub fn tightened(&self) -> &[PathBuf] {
        &self.inner.tightened
    }

    /// The data directory (empty for a hub on PostgreSQL).
    pub fn data_dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Where the hub's data is, for people: its data directory, or "its PostgreSQL database"
    /// (never the URL, which may hold a password).
    pub fn location(&self) -> String {
        match self.inner.db.dialect() {
            crate::db::Dialect::Sqlite => self.inner.dir.display().to_string(),
            crate::db::Dialect::Postgres => "its PostgreSQL database".to_string(),
        }
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
            changes_accepted: c.changes_accepted.load(Ordering::Relaxed),
            documents_refused: c.documents_refused.load(Ordering::Relaxed),
            documents_validated: c.documents_validated.load(Ordering::Relaxed),
            write_conflicts: c.write_conflicts.load(Ordering::Relaxed),
            states_unknown: c.states_unknown.load(Ordering::Relaxed),
        }
    }
}

/// Runs blocking work (the database, Automerge) on the blocking pool; a task that failed there is
/// the hub's error.
pub(crate) async fn blocking<T, E, F>(f: F) -> std::result::Result<T, E>
where
    T: Send + 'static,
    E: From<Error> + Send + 'static,
    F: FnOnce() -> std::result::Result<T, E> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => Err(E::from(Error::Server(format!("a request task failed: {e}")))),
    }
}

fn check_config(config: &HubConfig) -> Result<()> {
    let bounds = [
        ("max_body_bytes", config.max_body_bytes),
        ("max_docs", config.max_docs),
        ("max_changes", config.max_changes),
        ("max_response_bytes", config.max_response_bytes),
        ("max_inflated_bytes", config.max_inflated_bytes),
        ("max_ops_per_change", config.max_ops_per_change),
        ("max_ops_per_request", config.max_ops_per_request),
    ];
    for (name, value) in bounds {
        if value == 0 {
            return Err(Error::invalid("limit", format!("{name} must be at least 1")));
        }
    }
    Ok(())
}
