//! The encrypted local store: one SQLCipher database holding the documents' bytes and a read
//! model, one writer and one reader connection each behind a mutex, observers told what changed
//! after each commit.

pub(crate) mod brochure_files;
mod checkpoint;
mod commands;
mod docs;
mod exchange;
mod file_plan;
pub(crate) mod incoming;
mod index;
mod open;
mod query;
mod recover;
mod report;
mod roster;
mod suggestions;
pub use roster::EditRight;
pub use suggestions::Proposal;
pub mod schema;
pub(crate) mod sync_state;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use rusqlite::{Connection, TransactionBehavior};

use crate::doc::{DeviceActor, DocMeta, Document, EntityKey};
use crate::error::{Error, Result};
use crate::model::{BrochureId, DeviceId, DocId, PartnerId, VisitId};

pub use brochure_files::LocalBrochureFile;
#[doc(hidden)]
pub use commands::Clock;
pub use index::PartnerSummary;
pub use open::{StoreKey, CIPHER_SETTINGS};
pub use query::{BrochureView, Entry, MonthlyCount, PartnerQuery, StaleEntry, VisitQuery};
#[doc(hidden)]
pub use sync_state::testing;

use docs::DocCache;
use open::Cipher;

/// Options for opening a store.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Leave the first 32 bytes of the file unencrypted, as iOS needs to recognise a SQLite file
    /// in a shared container (SQLCipher's `cipher_plaintext_header_size`). The salt is derived
    /// from the key. Must be the same every time the store is opened.
    pub plaintext_header: bool,
    /// Where brochure files live; default: a `<file>-brochures` folder beside the database.
    pub brochure_dir: Option<PathBuf>,
}

/// What a commit changed, as told to observers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreChanges {
    /// Partners added or changed.
    pub partners: Vec<PartnerId>,
    /// Brochures added or changed.
    pub brochures: Vec<BrochureId>,
    /// Visits logged or amended.
    pub visits: Vec<VisitId>,
    /// Suggestions made or answered.
    pub suggestions: Vec<crate::model::SuggestionId>,
    /// Documents written.
    pub documents: Vec<DocId>,
    /// The organisation's report was replaced by a new one from the hub
    /// ([`Store::org_report`]).
    pub report: bool,
}

impl StoreChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty() && self.only_documents()
    }

    /// Whether nothing changed but documents written: sync bookkeeping, nothing an app shows.
    pub fn only_documents(&self) -> bool {
        self.partners.is_empty()
            && self.brochures.is_empty()
            && self.visits.is_empty()
            && self.suggestions.is_empty()
            && !self.report
    }

    fn extend(&mut self, other: StoreChanges) {
        self.partners.extend(other.partners);
        self.brochures.extend(other.brochures);
        self.visits.extend(other.visits);
        self.suggestions.extend(other.suggestions);
        self.documents.extend(other.documents);
        self.report |= other.report;
    }
}

/// Told after every commit, local or from sync, what changed. Called on the thread that made
/// the change, after the store's locks are released; a panicking observer is contained.
pub trait StoreObserver: Send + Sync {
    /// Called once per commit.
    fn on_change(&self, changes: &StoreChanges);
}

impl<F: Fn(&StoreChanges) + Send + Sync> StoreObserver for F {
    fn on_change(&self, changes: &StoreChanges) {
        self(changes)
    }
}

type ObserverList = Mutex<Vec<(u64, Arc<dyn StoreObserver>)>>;

/// An observer registration; dropping it (or calling [`Subscription::cancel`]) stops the calls.
pub struct Subscription {
    list: Weak<ObserverList>,
    id: u64,
}

impl Subscription {
    /// Stops the calls now.
    pub fn cancel(self) {}
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(list) = self.list.upgrade() {
            lock(&list).retain(|(id, _)| *id != self.id);
        }
    }
}

/// Locks a mutex, recovering it if a panic poisoned it: the guarded state is a connection or a
/// cache, both consistent between statements.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The writer connection, the documents it has loaded, and the actor of this device's changes.
pub(crate) struct Writer {
    conn: Connection,
    docs: DocCache,
    actor: DeviceActor,
}

/// The device's store. Every method is safe to call from any thread.
pub struct Store {
    path: PathBuf,
    brochure_dir: PathBuf,
    device: DeviceId,
    // The checkpointer and the reader are declared (and so dropped) before the writer: the last
    // connection to close checkpoints the WAL and removes it, which only the writer may do.
    checkpointer: Mutex<Option<checkpoint::Checkpointer>>,
    reader: Mutex<Option<Connection>>,
    writer: Mutex<Option<Writer>>,
    observers: Arc<ObserverList>,
    next_observer: AtomicU64,
    clock: Clock,
    /// Held by enrollment, sync and file fetches: one network task at a time per store.
    network: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store at `path` with its raw 32-byte key. A missing key, a key of
    /// the wrong length, a wrong key, a plain SQLite file and a store from a newer app are each
    /// their own error, and an existing file is left exactly as it was.
    pub fn open(path: impl AsRef<Path>, key: &[u8], options: StoreOptions) -> Result<Store> {
        let key = StoreKey::from_bytes(key)?;
        Self::open_with(
            path.as_ref(),
            &key,
            Cipher::Key {
                plaintext_header: options.plaintext_header,
            },
            options,
        )
    }

    /// Opens a store without encryption, only to measure SQLCipher's overhead.
    #[cfg(feature = "bench-plaintext")]
    pub fn open_unencrypted_for_benchmark(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        Self::open_with(path.as_ref(), &StoreKey::random(), Cipher::None, options)
    }

    fn open_with(path: &Path, key: &StoreKey, cipher: Cipher, options: StoreOptions) -> Result<Store> {
        let exists = std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
        let result = Self::open_inner(path, key, cipher, &options, !exists);
        if result.is_err() && !exists {
            // A store we were creating: leave nothing half-made behind.
            remove_db_files(path);
        }
        result
    }

    fn open_inner(
        path: &Path,
        key: &StoreKey,
        cipher: Cipher,
        options: &StoreOptions,
        create: bool,
    ) -> Result<Store> {
        if !create {
            open::verify_key(path, key, cipher)?;
        }
        let mut conn = open::connect(path, key, cipher, create, false)?;
        open::configure(&conn, true)?;
        let migrated = schema::migrate(&mut conn)?;
        let reader = open::connect(path, key, cipher, false, true)?;
        open::configure(&reader, false)?;
        let checkpointer_conn = open::connect(path, key, cipher, false, false)?;
        checkpointer_conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let checkpointer = checkpoint::Checkpointer::start(checkpointer_conn)?;
        let brochure_dir = options
            .brochure_dir
            .clone()
            .unwrap_or_else(|| default_brochure_dir(path));
        let store = Store {
            path: path.to_path_buf(),
            brochure_dir,
            device: migrated.device,
            checkpointer: Mutex::new(Some(checkpointer)),
            reader: Mutex::new(Some(reader)),
            writer: Mutex::new(Some(Writer {
                conn,
                docs: DocCache::default(),
                actor: DeviceActor::new(migrated.device, migrated.epoch),
            })),
            observers: Arc::new(Mutex::new(Vec::new())),
            next_observer: AtomicU64::new(1),
            clock: Clock::system(),
            network: tokio::sync::Mutex::new(()),
        };
        tracing::debug!(target: crate::log_targets::STORE, rebuild = migrated.rebuild, "store opened");
        if migrated.rebuild {
            store.rebuild_read_model()?;
        }
        Ok(store)
    }

    /// This device's id: the author of every change it makes.
    pub fn device_id(&self) -> DeviceId {
        self.device
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Folder of brochure files.
    pub fn brochure_dir(&self) -> &Path {
        &self.brochure_dir
    }

    /// The lock held by network tasks (enrollment, sync, file fetches), so that two never
    /// interleave on one store.
    pub(crate) fn network_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.network
    }

    /// Replaces the clock (tests and demos that log visits on fixed days). Not the app's API:
    /// hidden from the docs.
    #[doc(hidden)]
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// Runs `f` on the reader connection.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let guard = lock(&self.reader);
        let conn = guard.as_ref().ok_or(Error::Closed)?;
        f(conn)
    }

    /// Runs `f` with the writer and this device's actor, then tells observers what changed.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Writer, DeviceActor) -> Result<(T, StoreChanges)>,
    ) -> Result<T> {
        let (value, changes) = {
            let mut guard = lock(&self.writer);
            let writer = guard.as_mut().ok_or(Error::Closed)?;
            let actor = writer.actor;
            f(writer, actor)?
        };
        if !changes.is_empty() {
            if let Some(c) = lock(&self.checkpointer).as_ref() {
                c.committed();
            }
            self.notify(&changes);
        }
        Ok(value)
    }

    fn notify(&self, changes: &StoreChanges) {
        let observers: Vec<Arc<dyn StoreObserver>> =
            lock(&self.observers).iter().map(|(_, o)| o.clone()).collect();
        for o in observers {
            // An observer is app code: its panic must not unwind into the store's caller.
            if catch_unwind(AssertUnwindSafe(|| o.on_change(changes))).is_err() {
                tracing::warn!(target: crate::log_targets::STORE, "an observer panicked; ignored");
            }
        }
    }

    /// Registers an observer; it is called after every commit until the subscription is dropped.
    pub fn subscribe(&self, observer: Arc<dyn StoreObserver>) -> Subscription {
        let id = self.next_observer.fetch_add(1, Ordering::Relaxed);
        lock(&self.observers).push((id, observer));
        Subscription {
            list: Arc::downgrade(&self.observers),
            id,
        }
    }

    /// Rebuilds the whole read model from the documents, in one transaction.
    pub fn rebuild_read_model(&self) -> Result<()> {
        self.write(|w, device| {
            w.docs.clear();
            let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            index::clear_all(&tx)?;
            let mut changes = StoreChanges::default();
            for (id, _) in docs::list(&tx)? {
                if let Some(mut cached) = docs::load(&tx, id, device)? {
                    let keys = index::all_keys(&cached.doc)?;
                    changes.extend(index::index_entities(&tx, &mut cached.doc, &keys)?);
                }
            }
            tx.commit()?;
            Ok(((), changes))
        })
    }

    /// Compacts every document into one snapshot each (for example after a large sync).
    pub fn compact(&self) -> Result<()> {
        self.write(|w, device| {
            let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (id, _) in docs::list(&tx)? {
                if let Some(mut cached) = docs::load(&tx, id, device)? {
                    docs::compact(&tx, &mut cached)?;
                }
            }
            tx.commit()?;
            w.docs.clear();
            Ok(((), StoreChanges::default()))
        })
    }

    /// Deletes the store: the database, its -wal and -shm files and the brochure files. Every
    /// later call on this store answers [`Error::Closed`].
    pub fn wipe(&self) -> Result<()> {
        let mut w = lock(&self.writer);
        let mut r = lock(&self.reader);
        if let Some(mut c) = lock(&self.checkpointer).take() {
            c.stop();
        }
        *r = None;
        *w = None;
        Self::wipe_files(&self.path, &self.brochure_dir)
    }

    /// Deletes a store's files without opening it (for a store whose key is lost).
    pub fn wipe_files(path: &Path, brochure_dir: &Path) -> Result<()> {
        remove_db_files(path);
        if brochure_dir.exists() {
            std::fs::remove_dir_all(brochure_dir)?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let p = with_suffix(path, suffix);
            if p.exists() {
                return Err(Error::Io(std::io::Error::other(
                    "a store file could not be deleted",
                )));
            }
        }
        Ok(())
    }

    /// Runs one document write: `edit` changes the document (and validates) and returns the
    /// entities as it wrote them, for the read model. The change is committed as one Automerge
    /// change, checked as the hub will check it (see
    /// [`Document::inspect`]), and persisted with its read-model rows in one SQLite
    /// transaction. On any error nothing is stored and the in-memory document is discarded.
    ///
    /// `edit` also gets the writer connection, for checks against the read model: its page cache
    /// stays valid across the store's own writes, unlike the reader's.
    pub(crate) fn commit_edit<T>(
        &self,
        meta: DocMeta,
        create: bool,
        edit: impl FnOnce(&Connection, &mut Document) -> Result<(T, index::Entities)>,
    ) -> Result<T> {
        let now = self.clock.now();
        self.write(|w, device| {
            let id = meta.id();
            let Writer { conn, docs, .. } = w;
            let cached = docs
                .get(conn, id, device, create.then_some(meta))?
                .ok_or(Error::NotFound { what: "document" })?;
            let (value, entities) = match edit(conn, &mut cached.doc) {
                Ok(v) => v,
                Err(e) => {
                    cached.doc.rollback();
                    return Err(e);
                }
            };
            if cached.doc.commit(now).is_none() {
                return Ok((value, StoreChanges::default()));
            }
            let checked = cached
                .doc
                .inspect_last_local(|c| index::is_partner_contact(conn, c.kind, &c.key).unwrap_or(false));
            if let Err(e) = checked {
                // The change exists only in memory: dropping the copy drops it.
                docs.evict(id);
                return Err(e.into());
            }
            let stored = (|| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                docs::persist(&tx, cached)?;
                let changes = index::write_entities(&tx, &cached.doc, entities)?;
                tx.commit()?;
                Ok(changes)
            })();
            match stored {
                Ok(changes) => {
                    cached.doc.mark_saved();
                    Ok((value, changes))
                }
                Err(e) => {
                    docs.evict(id);
                    Err(e)
                }
            }
        })
    }
}

/// Stores a document's new chunk and its read-model rows through `conn`, within the caller's
/// transaction (or savepoint); a document new to this device and `loaded_from` bytes that load
/// back to it as they are is stored as them.
pub(crate) fn persist_and_index(
    conn: &Connection,
    cached: &mut docs::Cached,
    keys: &[EntityKey],
    loaded_from: Option<&[u8]>,
) -> Result<StoreChanges> {
    match loaded_from {
        Some(snapshot) => docs::persist_loaded(conn, cached, snapshot)?,
        None => docs::persist(conn, cached)?,
    }
    index::index_entities(conn, &mut cached.doc, keys)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn default_brochure_dir(path: &Path) -> PathBuf {
    with_suffix(path, "-brochures")
}

fn remove_db_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(with_suffix(path, suffix));
    }
}
