//! The hub's database: organisations, devices, enrollment codes and the documents' bytes, in
//! one of two backends that run the same queries (see [`sql`]): embedded SQLite (`DIR/hub.db`,
//! the default) or PostgreSQL (see [`postgres`]).
//!
//! The workspace's SQLite is SQLCipher: with a database key (see
//! [`cipher`]) every page is encrypted, without one it is plain SQLite. WAL lets readers run
//! beside the writer; `synchronous = FULL` makes every committed write durable before the hub
//! answers. The file, its -wal and -shm are the owner's only (0600).
//!
//! Connections are pooled, nothing else is kept between requests: every request reads what it
//! needs from the database, so several hub processes may share one.

pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod blobs;
pub(crate) mod cipher;
pub(crate) mod devices;
pub(crate) mod docs;
pub(crate) mod dump;
pub(crate) mod postgres;
pub(crate) mod schema;
pub(crate) mod sql;
pub(crate) mod states;
pub(crate) mod stewards;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use outreach_core::model::DeviceId;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, Result};
use crate::owner_only::{self, Tightened};
use crate::seal::{KeyPlace, Sealer};
use cipher::DbKey;
pub(crate) use sql::{params, Dialect, Tx};

/// Connections kept open for reuse.
const MAX_IDLE: usize = 16;

/// How long a statement waits for another writer before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The files SQLite keeps beside the database: its write-ahead log and its shared memory.
const SIDE_FILES: [&str; 2] = ["-wal", "-shm"];

/// The hub database: a pool of connections to one of its two backends, the hub's id and its
/// sealer.
#[derive(Debug)]
pub(crate) struct Db {
    backend: Backend,
    hub_id: DeviceId,
    sealer: Sealer,
}

#[derive(Debug)]
enum Backend {
    Sqlite(SqliteDb),
    Postgres(Box<postgres::PgDb>),
}

/// The embedded backend: a pool of connections to `hub.db`.
#[derive(Debug)]
pub(crate) struct SqliteDb {
    path: PathBuf,
    key: Option<DbKey>,
    idle: Mutex<Vec<Connection>>,
}

/// `path` with `suffix` appended to its file name (`hub.db-wal`).
pub(crate) fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Opens a connection to the existing file at `path` with `key` applied and the hub's settings.
fn connect(path: &Path, key: Option<&DbKey>, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    cipher::apply_key(&conn, key)?;
    configure(&conn)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")?;
    Ok(())
}

impl Db {
    /// Opens the database at `path`, creating (0600) and migrating it if needed. An existing
    /// file is first checked against `key` without writing to it; files left wider than 0600
    /// are narrowed and added to `tightened`. `seal_key` is where the hub's seal key is kept.
    pub(crate) fn open(
        path: &Path,
        key: Option<DbKey>,
        seal_key: &KeyPlace,
        tightened: &mut Tightened,
    ) -> Result<Db> {
        let existing = match std::fs::metadata(path) {
            Ok(meta) => meta.len() > 0,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e.into()),
        };
        if existing {
            cipher::check_key(path, key.as_ref())?;
        } else {
            // SQLite gives the -wal and -shm files the main file's mode.
            owner_only::create_file_if_missing(path)?;
        }
        tightened.file(path)?;
        for suffix in SIDE_FILES {
            tightened.file(&side_file(path, suffix))?;
        }
        let mut conn = connect(path, key.as_ref(), true)?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Corrupt(format!(
                "the database refused write-ahead logging (journal mode {mode})"
            )));
        }
        // Whatever the migration deletes (a seal key) is overwritten, not left in a free slot.
        let secure_delete: i64 = conn.query_row("PRAGMA secure_delete", [], |r| r.get(0))?;
        conn.pragma_update(None, "secure_delete", 1)?;
        let (hub_id, upgrade) = schema::migrate(&mut conn, seal_key)?;
        conn.pragma_update(None, "secure_delete", secure_delete)?;
        if upgrade.moved_seal_key {
            // Copy the pages without the key into the main file and empty the log, so that
            // neither file holds the key any more.
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            tracing::warn!(
                target: crate::log_targets::STORAGE, checkpointed = busy == 0,
                "moved the seal key out of the database into its key file"
            );
        }
        let sealer = seal_key.load_or_create()?;
        Ok(Db {
            backend: Backend::Sqlite(SqliteDb {
                path: path.to_path_buf(),
                key,
                idle: Mutex::new(vec![conn]),
            }),
            hub_id,
            sealer,
        })
    }

    /// Opens the PostgreSQL database at `url`, migrating it if needed (see [`postgres`]).
    /// `seal_key` must be given: every instance on the database needs the same one.
    pub(crate) fn open_postgres(url: &str, seal_key: &KeyPlace) -> Result<Db> {
        let (pg, hub_id) = postgres::PgDb::open(url)?;
        Ok(Db {
            backend: Backend::Postgres(Box::new(pg)),
            hub_id,
            sealer: seal_key.load_or_create()?,
        })
    }

    /// Seals and checks document heads (see `seal.rs`).
    pub(crate) fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The hub's own id: the actor documents are loaded with (the hub never writes a change).
    pub(crate) fn hub_id(&self) -> DeviceId {
        self.hub_id
    }

    /// The embedded backend, for what only it has (its backup); `None` on PostgreSQL.
    pub(crate) fn sqlite(&self) -> Option<&SqliteDb> {
        match &self.backend {
            Backend::Sqlite(db) => Some(db),
            Backend::Postgres(_) => None,
        }
    }

    /// The PostgreSQL backend; `None` for SQLite.
    pub(crate) fn postgres(&self) -> Option<&postgres::PgDb> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(db) => Some(db),
        }
    }

    /// Write transactions run again because a concurrent one overtook them (PostgreSQL's
    /// serialization failures; SQLite's single writer never needs it).
    pub(crate) fn retries(&self) -> u64 {
        self.postgres().map_or(0, postgres::PgDb::retries)
    }

    /// Which backend this is.
    pub(crate) fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `f` in a read transaction: it sees one consistent state of the database.
    pub(crate) fn read<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.run(TransactionBehavior::Deferred, false, |tx| f(&Tx::sqlite(tx))),
            Backend::Postgres(db) => db.read(f),
        }
    }

    /// Runs `f` in a write transaction, committed only if `f` returns `Ok`. Writers are
    /// serialised: on SQLite by its write lock (IMMEDIATE), on PostgreSQL by SERIALIZABLE
    /// transactions, where `f` runs again when the database finds that a concurrent
    /// transaction (of any instance) overtook it.
    pub(crate) fn write<T, E>(&self, mut f: impl FnMut(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.run(TransactionBehavior::Immediate, true, |tx| f(&Tx::sqlite(tx))),
            Backend::Postgres(db) => db.write(f),
        }
    }
}

impl Db {
    /// Runs `f` in a write transaction whose correctness rests on row versions and row locks
    /// rather than on serialisation (the sync's writes: every document update checks the
    /// version it was validated at, a new document's insert finds one inserted meanwhile):
    /// on PostgreSQL READ COMMITTED, where writers to different documents never wait for or
    /// abort each other; on SQLite the one writer, as [`Db::write`].
    pub(crate) fn write_rows<T, E>(&self, mut f: impl FnMut(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.run(TransactionBehavior::Immediate, true, |tx| f(&Tx::sqlite(tx))),
            Backend::Postgres(db) => db.write_rows(f),
        }
    }
}

impl SqliteDb {
    fn take(&self) -> Result<Connection> {
        let pooled = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => {
                // Never re-create a database that disappeared under a running hub.
                connect(&self.path, self.key.as_ref(), false)
            }
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    fn run<T, E>(
        &self,
        behavior: TransactionBehavior,
        commit: bool,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<Error>,
    {
        let mut conn = self.take()?;
        let result = (|| {
            let tx = conn.transaction_with_behavior(behavior).map_err(Error::from)?;
            let value = f(&tx)?;
            if commit {
                tx.commit().map_err(Error::from)?;
            }
            Ok(value)
        })();
        self.give_back(conn);
        result
    }
}

/// Seconds since the Unix epoch, the hub's unit of time in the database.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A stored time, for people.
pub(crate) fn time_of(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}
