//! The PostgreSQL backend (`--database postgres://...`), for a network that outgrows one
//! machine: several hub processes may serve one database, any of them any request.
//!
//! The driver is tokio-postgres (rust-postgres), waited for synchronously: the hub's storage
//! work already runs on blocking threads (every request's database work is one closure on
//! `spawn_blocking`), so the queries of [`super::sql`] run unchanged on both backends, without
//! an async rewrite of the sync path or a second copy of its SQL. The connections' socket work
//! runs on a small runtime of the backend's own, so that a query may also be waited for from
//! an async context (the administration API in tests, a command): rust-postgres's blocking
//! client refuses that. No compile-time query checking (sqlx's) is wanted here: the SQL is
//! shared with SQLite and checked by the tests on both.
//!
//! Concurrency: every write transaction is SERIALIZABLE. PostgreSQL then guarantees what
//! SQLite's single writer did, across instances: the outcome is that of the transactions run
//! one after the other, or one of them fails with a serialization failure (SQLSTATE 40001, or a
//! deadlock, 40P01) and is run again from the start, up to [`WRITE_ATTEMPTS`] times. Reads are
//! REPEATABLE READ, READ ONLY: one consistent snapshot. Documents also carry a row version
//! that each write checks (see `docs::update`), so validation can run outside any transaction.
//!
//! Schema: the same versions as the embedded backend (`sql/pg/vN.sql` beside `sql/vN.sql`),
//! recorded in `hub_schema`; the migration takes a transaction-level advisory lock, so that
//! instances starting together migrate once.

use std::cell::RefCell;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use outreach_core::model::DeviceId;

use super::sql::{params, PgConn, Tx};
use crate::error::{Error, Result};

/// Connections one instance opens at most: PostgreSQL's default `max_connections` (100) leaves
/// room for several instances and the operator's own sessions.
pub(crate) const MAX_CONNECTIONS: usize = 16;

/// How long a request waits for a free connection before the hub answers that it is busy.
const CONNECTION_WAIT: Duration = Duration::from_secs(10);

/// How many times a write transaction is tried when PostgreSQL refuses to serialise it.
pub(crate) const WRITE_ATTEMPTS: u32 = 12;

/// The schema steps, version by version, as for the embedded backend (`schema::STEPS`).
pub(crate) const STEPS: &[&str] = &[
    include_str!("sql/pg/v1.sql"),
    include_str!("sql/pg/v2.sql"),
    include_str!("sql/pg/v3.sql"),
    include_str!("sql/pg/v4.sql"),
    include_str!("sql/pg/v5.sql"),
    include_str!("sql/pg/v6.sql"),
];

/// The key of the advisory lock the migration holds.
const MIGRATION_LOCK: i64 = 0x6f75_7472_6561_6368;

/// A pool of connections to one PostgreSQL database.
pub(crate) struct PgDb {
    config: tokio_postgres::Config,
    pool: Mutex<Pool>,
    freed: Condvar,
    /// Runs the connections' socket work; shut down (without waiting) when the pool goes.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[derive(Default)]
struct Pool {
    idle: Vec<PgConn>,
    open: usize,
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("PgDb").finish_non_exhaustive()
    }
}

impl PgDb {
    /// The connection settings (for `pg_dump`).
    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// Connects to `url` and brings its schema to the newest version; returns the hub's id.
    pub(crate) fn open(url: &str) -> Result<(PgDb, DeviceId)> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|_| {
            Error::invalid("database", "it is not a PostgreSQL URL (postgres://user@host/db)")
        })?;
        config.application_name("outreach-hub");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("outreach-hub-postgres")
            .enable_io()
            .enable_time()
            .build()?;
        let db = PgDb {
            config,
            pool: Mutex::new(Pool::default()),
            freed: Condvar::new(),
            runtime: Some(runtime),
        };
        let conn = db.take()?;
        let (conn, hub_id) = PgDb::once(conn, "BEGIN", migrate);
        db.give_back(conn);
        Ok((db, hub_id?))
    }

    fn connect(&self) -> Result<PgConn> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| Error::Server("the database pool is closed".into()))?;
        let config = self.config.clone();
        let connecting = runtime.spawn(async move {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(target: crate::log_targets::STORAGE, error = %e, "a PostgreSQL connection ended");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        });
        let client = super::sql::wait(connecting)
            .map_err(|e| Error::Server(format!("connecting to PostgreSQL failed: {e}")))??;
        Ok(PgConn::new(client))
    }

    fn take(&self) -> Result<PgConn> {
        let deadline = Instant::now() + CONNECTION_WAIT;
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = pool.idle.pop() {
                if !conn.is_closed() {
                    return Ok(conn);
                }
                pool.open -= 1;
                continue;
            }
            if pool.open < MAX_CONNECTIONS {
                pool.open += 1;
                drop(pool);
                return self.connect().inspect_err(|_| {
                    self.pool.lock().unwrap_or_else(PoisonError::into_inner).open -= 1;
                    self.freed.notify_one();
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Busy("every database connection stayed in use"));
            }
            pool = self
                .freed
                .wait_timeout(pool, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Returns a connection to the pool; one that failed (or is in a transaction still) is
    /// closed instead.
    fn give_back(&self, conn: PgConn) {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if conn.is_closed() || conn.broken {
            pool.open -= 1;
        } else {
            pool.idle.push(conn);
        }
        drop(pool);
        self.freed.notify_one();
    }

    /// Runs `f` in one transaction begun with `begin`, committed if `f` succeeds.
    fn once<T, E>(
        conn: PgConn,
        begin: &str,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> (PgConn, Result<T, E>)
    where
        E: From<Error>,
    {
        let cell = RefCell::new(conn);
        let result = (|| {
            cell.borrow_mut().batch_execute(begin)?;
            cell.borrow_mut().broken = true;
            let value = f(&Tx::postgres(&cell));
            let mut conn = cell.borrow_mut();
            let end = if value.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let ended = conn.batch_execute(end);
            conn.broken = ended.is_err();
            drop(conn);
            let value = value?;
            ended?;
            Ok(value)
        })();
        (cell.into_inner(), result)
    }

    pub(crate) fn read<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        let conn = self.take()?;
        let (conn, result) = PgDb::once(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", f);
        self.give_back(conn);
        result
    }

    pub(crate) fn write<T, E>(&self, mut f: impl FnMut(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        let mut conn = self.take()?;
        let mut attempt = 1;
        let result = loop {
            conn.serialization_failed = false;
            let (back, result) = PgDb::once(conn, "BEGIN ISOLATION LEVEL SERIALIZABLE", &mut f);
            conn = back;
            let retry = result.is_err() && attempt < WRITE_ATTEMPTS && conn.serialization_failed;
            if !retry {
                break result;
            }
            attempt += 1;
            // Back off a little, at random, so that the same transactions do not meet again.
            let pause = rand::random_range(1..=(2u64 << attempt.min(6)));
            std::thread::sleep(Duration::from_millis(pause));
        };
        self.give_back(conn);
        result
    }
}

/// Brings the schema to the last version of [`STEPS`] in one transaction under an advisory lock
/// and returns the hub's id, made for a new database.
fn migrate(tx: &Tx<'_>) -> Result<DeviceId> {
    tx.query_one("SELECT pg_advisory_xact_lock(?1)::text", params![MIGRATION_LOCK])?;
    tx.batch("CREATE TABLE IF NOT EXISTS hub_schema (version BIGINT NOT NULL)")?;
    let found: Option<i64> = tx
        .query_opt("SELECT version FROM hub_schema", params![])?
        .map(|r| r.get(0))
        .transpose()?;
    let found = found.unwrap_or(0);
    let supported = STEPS.len() as i64;
    if found > supported {
        return Err(Error::SchemaTooNew {
            found: u32::try_from(found).unwrap_or(u32::MAX),
            supported: supported as u32,
        });
    }
    for step in &STEPS[found as usize..] {
        tx.batch(step)?;
    }
    if found == 0 {
        tx.execute("INSERT INTO hub_schema (version) VALUES (?1)", params![supported])?;
    } else if found < supported {
        tx.execute("UPDATE hub_schema SET version = ?1", params![supported])?;
    }
    let hub_id = match super::schema::get_meta(tx, "hub_id")? {
        Some(id) => id
            .parse()
            .map_err(|_| Error::Corrupt("the hub id is unreadable".into()))?,
        None => {
            let id = DeviceId::random();
            super::schema::set_meta(tx, "hub_id", &id.to_string())?;
            super::schema::set_meta(tx, "created_at", &chrono::Utc::now().to_rfc3339())?;
            id
        }
    };
    Ok(hub_id)
}
