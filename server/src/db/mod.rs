//! The hub's SQLite database (`DIR/hub.db`): organisations, devices, enrollment codes and the
//! documents' bytes. The workspace's SQLite is SQLCipher: with a database key (see
//! [`cipher`]) every page is encrypted, without one it is plain SQLite. WAL lets readers run
//! beside the writer; `synchronous = FULL` makes every committed write durable before the hub
//! answers. The file, its -wal and -shm are the owner's only (0600).
//!
//! Connections are pooled, nothing else is kept between requests: every request reads what it
//! needs from the database, so several hub processes may share one.

pub(crate) mod backup;
pub(crate) mod cipher;
pub(crate) mod devices;
pub(crate) mod docs;
pub(crate) mod schema;
pub(crate) mod states;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use outreach_core::model::DeviceId;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, Result};
use crate::owner_only::{self, Tightened};
use crate::seal::{KeyPlace, Sealer};
use cipher::DbKey;

/// Connections kept open for reuse.
const MAX_IDLE: usize = 16;

/// How long a statement waits for another writer before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The files SQLite keeps beside the database: its write-ahead log and its shared memory.
const SIDE_FILES: [&str; 2] = ["-wal", "-shm"];

/// A pool of connections to the hub database.
#[derive(Debug)]
pub(crate) struct Db {
    path: PathBuf,
    key: Option<DbKey>,
    idle: Mutex<Vec<Connection>>,
    hub_id: DeviceId,
    sealer: Sealer,
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
            path: path.to_path_buf(),
            key,
            idle: Mutex::new(vec![conn]),
            hub_id,
            sealer,
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

    /// Runs `f` in a read transaction: it sees one consistent state of the database.
    pub(crate) fn read<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        self.run(TransactionBehavior::Deferred, false, f)
    }

    /// Runs `f` in an IMMEDIATE write transaction, committed only if `f` returns `Ok`.
    pub(crate) fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        self.run(TransactionBehavior::Immediate, true, f)
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
