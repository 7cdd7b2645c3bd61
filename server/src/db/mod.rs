//! The hub's SQLite database (`DIR/hub.db`): organisations, devices, enrollment codes and the
//! documents' bytes. The workspace's SQLite is SQLCipher, used here without a key, that is as
//! plain SQLite. WAL lets readers run beside the writer; `synchronous = FULL` makes every
//! committed write durable before the hub answers.
//!
//! Connections are pooled, nothing else is kept between requests: every request reads what it
//! needs from the database, so several hub processes may share one.

pub(crate) mod devices;
pub(crate) mod docs;
pub(crate) mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use outreach_core::model::DeviceId;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, Result};
use crate::seal::Sealer;

/// Connections kept open for reuse.
const MAX_IDLE: usize = 16;

/// How long a statement waits for another writer before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A pool of connections to the hub database.
#[derive(Debug)]
pub(crate) struct Db {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    hub_id: DeviceId,
    sealer: Sealer,
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")?;
    Ok(())
}

impl Db {
    /// Opens the database at `path`, creating and migrating it if needed.
    pub(crate) fn open(path: &Path) -> Result<Db> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        configure(&conn)?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Corrupt(format!(
                "the database refused write-ahead logging (journal mode {mode})"
            )));
        }
        let hub_id = schema::migrate(&mut conn)?;
        let sealer = Sealer::load_or_create(&conn)?;
        Ok(Db {
            path: path.to_path_buf(),
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
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(&self.path, flags)?;
                configure(&conn)?;
                Ok(conn)
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
